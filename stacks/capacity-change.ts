import { MIG_CONFIG_LABEL, poolMigLayout } from "../components/k8s/gpu-operator-values";
import { isDraResource } from "../gpu/dra";
import type { SharingState } from "../components/k8s/gpu-operator-sharing-state";
import type { PoolCapacityRow } from "./capacity-table";
import { serverMemory } from "./capacity-table";
import type { StackConfig } from "./config/parse";
import { serverServing } from "./config/serving-rules";
import { alignedRows } from "./text";

export { alignedRows };

/**
 * What a change of stack config does to capacity: per pool and resource the advertised count before → after,
 * per server whether its replicas still fit, and which servers a MIG change disrupts. Used by
 * `capacity --compare` (two stack files) and by the program's preview (the previous deployment's outputs).
 */

/** What one side of a comparison advertised: per pool its resources at max nodes and its MIG layout label. */
export interface CapacitySnapshot {
  /** Unknown, as are the layouts, for deployments that exported no `sharing` output. */
  readonly migStrategy?: string;
  readonly pools: Readonly<
    Record<string, { readonly atMaxNodes: Readonly<Record<string, number>>; readonly migLayout?: string }>
  >;
}

export interface CapacityChange {
  readonly pool: string;
  readonly resource: string;
  /** Advertised by the pool at max nodes; 0 where the resource does not exist on that side. */
  readonly before: number;
  readonly after: number;
}

export interface ServerFit {
  readonly name: string;
  readonly resource: string;
  readonly maxReplicas: number;
  /** Whether the pool's resource held this server's and its neighbours' max replicas before / holds them after. */
  readonly fitsBefore: boolean;
  readonly fitsAfter: boolean;
  /**
   * After the change, what one replica can count on and what it needs (model + overhead), GiB; absent without
   * `modelMemoryGiB`. The previous deployment's outputs hold no memory, so there is no before.
   */
  readonly memoryAfter?: { readonly perReplicaGiB: number; readonly needGiB: number; readonly fits: boolean };
  /**
   * After the change, in requests, where the server has a sharing curve: what its max replicas serve, at which p99,
   * and the knee they are measured against. The previous deployment's outputs hold no curve, so there is no before.
   */
  readonly servingAfter?: {
    readonly requestsPerSecond: number;
    readonly p99Ms: number;
    readonly podsPerDevice: number;
    readonly kneePodsPerDevice: number;
    readonly pastKnee: boolean;
  };
}

export interface Disruption {
  readonly pool: string;
  /** Why the pool's GPUs are repartitioned, for people. */
  readonly reason: string;
  /** Servers whose pods hold the pool's GPUs and must be drained first. */
  readonly servers: readonly string[];
  /**
   * The pool moves between the device plugin and DRA (told apart by the names of what it offers), and its
   * servers' pods are replaced (docs/dra.md, "Moving a pool").
   */
  readonly allocation?: { readonly before: Allocation; readonly after: Allocation };
}

type Allocation = "devicePlugin" | "dra";

/** How a pool's devices were allocated, from what it offered: DRA device names or extended resources. */
function allocationOf(atMaxNodes: Readonly<Record<string, number>>): Allocation | undefined {
  const names = Object.keys(atMaxNodes);
  if (names.length === 0) return undefined;
  return names.every(isDraResource) ? "dra" : "devicePlugin";
}

const ALLOCATION_WORDS: Readonly<Record<Allocation, string>> = { devicePlugin: "device plugin", dra: "DRA" };

export interface CapacityComparison {
  readonly changes: readonly CapacityChange[];
  readonly servers: readonly ServerFit[];
  readonly disruptions: readonly Disruption[];
}

export function snapshotOf(config: StackConfig): CapacitySnapshot {
  return {
    migStrategy: config.migStrategy,
    pools: Object.fromEntries(
      config.pools.map((p) => {
        // The layout the pool's nodes are labelled with, as the GPU operator labels them.
        const layout = poolMigLayout(p.sharing);
        return [p.name, { atMaxNodes: { ...p.atMaxNodes }, ...(layout === undefined ? {} : { migLayout: layout }) }];
      }),
    ),
  };
}

/**
 * The snapshot of a previous deployment from its stack outputs: `sharing` when it has one, else its `capacity`
 * table (MIG layouts and strategy unknown); `undefined` for a stack never deployed.
 */
export function snapshotFromOutputs(
  sharing: SharingState | undefined,
  capacity: readonly PoolCapacityRow[] | undefined,
): CapacitySnapshot | undefined {
  if (sharing !== undefined) {
    return {
      migStrategy: sharing.migStrategy,
      pools: Object.fromEntries(
        Object.entries(sharing.pools).map(([name, p]) => {
          const layout = p.labels[MIG_CONFIG_LABEL];
          return [name, { atMaxNodes: { ...p.atMaxNodes }, ...(layout === undefined ? {} : { migLayout: layout }) }];
        }),
      ),
    };
  }
  if (capacity === undefined) return undefined;
  const pools: Record<string, { atMaxNodes: Record<string, number> }> = {};
  for (const row of capacity) {
    pools[row.pool] ??= { atMaxNodes: {} };
    pools[row.pool].atMaxNodes[row.resource] = row.atMaxNodes;
  }
  return { pools };
}

export function compareCapacity(before: CapacitySnapshot, after: StackConfig): CapacityComparison {
  const now = snapshotOf(after);
  const changes: CapacityChange[] = [];
  for (const pool of [...new Set([...Object.keys(before.pools), ...Object.keys(now.pools)])].sort()) {
    const b = before.pools[pool]?.atMaxNodes ?? {};
    const a = now.pools[pool]?.atMaxNodes ?? {};
    for (const resource of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) {
      const was = b[resource] ?? 0;
      const is = a[resource] ?? 0;
      if (was !== is) changes.push({ pool, resource, before: was, after: is });
    }
  }

  // Servers that share a pool's resource compete for it: they fit together or not at all.
  const claimed = new Map<string, number>();
  const key = (pool: string, resource: string): string => `${pool}\u0000${resource}`;
  for (const s of after.servers) {
    const k = key(s.pool.name, s.resource);
    claimed.set(k, (claimed.get(k) ?? 0) + s.maxReplicas);
  }
  const servers: ServerFit[] = after.servers.map((s) => {
    const total = claimed.get(key(s.pool.name, s.resource)) ?? 0;
    const memory = serverMemory(s);
    const serving = serverServing(s, after.raw.validation.kneeFraction);
    return {
      name: s.name,
      resource: s.resource,
      maxReplicas: s.maxReplicas,
      fitsBefore: (before.pools[s.pool.name]?.atMaxNodes[s.resource] ?? 0) >= total,
      fitsAfter: (now.pools[s.pool.name]?.atMaxNodes[s.resource] ?? 0) >= total,
      ...(memory === undefined
        ? {}
        : { memoryAfter: { perReplicaGiB: memory.perReplicaGiB, needGiB: memory.needGiB, fits: memory.fits } }),
      ...(serving === undefined
        ? {}
        : {
            servingAfter: {
              requestsPerSecond: serving.atMax.requestsPerSecond,
              p99Ms: serving.atMax.p99Ms,
              podsPerDevice: serving.atMax.podsPerDevice,
              kneePodsPerDevice: serving.knee.pods,
              pastKnee: serving.knee.measured && serving.atMax.podsPerDevice > serving.knee.pods,
            },
          }),
    };
  });

  const disruptions: Disruption[] = [];
  const strategyChanged = before.migStrategy !== undefined && before.migStrategy !== now.migStrategy;
  for (const pool of after.pools) {
    const was = before.pools[pool.name];
    if (was === undefined) continue;
    const layoutBefore = was.migLayout;
    const layoutAfter = now.pools[pool.name].migLayout;
    const reasons: string[] = [];
    // A snapshot without a strategy (a capacity table) does not know layouts either.
    const layoutsKnown = before.migStrategy !== undefined;
    if (layoutsKnown && layoutBefore !== layoutAfter) {
      reasons.push(
        `MIG layout ${layoutBefore ?? "(none)"} → ${layoutAfter ?? "(none)"}${pool.allocation === "dra" ? " (the DRA driver's kubelet plugin finds static MIG devices only when it starts: restart it on the pool's nodes afterwards)" : ""}`,
      );
    }
    // DRA publishes every MIG device with its profile: the device plugin's strategy does not reach a DRA pool.
    if (strategyChanged && pool.gpu.mig !== undefined && pool.allocation !== "dra") {
      reasons.push(`MIG strategy ${before.migStrategy} → ${now.migStrategy}`);
    }
    const allocationBefore = allocationOf(was.atMaxNodes);
    const moved = allocationBefore !== undefined && allocationBefore !== pool.allocation;
    if (reasons.length === 0 && !moved) continue;
    disruptions.push({
      pool: pool.name,
      reason: reasons.join(", "),
      servers: after.servers.filter((s) => s.pool.name === pool.name).map((s) => s.name),
      ...(moved ? { allocation: { before: allocationBefore, after: pool.allocation } } : {}),
    });
  }
  return { changes, servers, disruptions };
}

/** Whether a comparison has anything a reviewer must see. */
export function comparisonMatters(c: CapacityComparison): boolean {
  return (
    c.changes.length > 0 ||
    c.disruptions.length > 0 ||
    c.servers.some((s) => !s.fitsAfter || s.memoryAfter?.fits === false || s.servingAfter?.pastKnee === true)
  );
}

/** The comparison as text: capacity changes, server fits, disruptions. */
export function comparisonText(c: CapacityComparison): string {
  const lines: string[] = [];
  if (c.changes.length === 0) {
    lines.push("Advertised capacity at max nodes: unchanged.");
  } else {
    lines.push("Advertised capacity at max nodes:");
    lines.push(
      ...alignedRows([
        ["POOL", "RESOURCE", "BEFORE", "AFTER"],
        ...c.changes.map((x) => [x.pool, x.resource, String(x.before), `${x.after} (${signed(x.after - x.before)})`]),
      ]).map((l) => `  ${l}`),
    );
  }
  if (c.servers.length > 0) {
    lines.push("Servers at max replicas:");
    // Memory columns only where some server declares its model's memory.
    const memory = c.servers.some((s) => s.memoryAfter !== undefined);
    // Request columns only where some server has a sharing curve.
    const serving = c.servers.some((s) => s.servingAfter !== undefined);
    const head = ["SERVER", "RESOURCE", "MAX REPLICAS", "FITS BEFORE", "FITS AFTER"];
    lines.push(
      ...alignedRows([
        [
          ...head,
          ...(memory ? ["GiB PER REPLICA AFTER", "NEEDS GiB"] : []),
          ...(serving ? ["REQ/S AFTER", "P99 ms AFTER", "PODS PER DEVICE / KNEE"] : []),
        ],
        ...c.servers.map((s) => [
          s.name,
          s.resource,
          String(s.maxReplicas),
          yes(s.fitsBefore),
          yes(s.fitsAfter),
          ...(memory ? memoryCells(s) : []),
          ...(serving ? servingCells(s) : []),
        ]),
      ]).map((l) => `  ${l}`),
    );
  }
  for (const d of c.disruptions) {
    if (d.allocation !== undefined) {
      const servers = d.servers.length === 0 ? "no gpushare server" : d.servers.join(", ");
      lines.push(
        `Pool ${d.pool}: allocation ${ALLOCATION_WORDS[d.allocation.before]} → ${ALLOCATION_WORDS[d.allocation.after]} replaces every pod of ${servers} (new pod templates: ${d.allocation.after === "dra" ? "ResourceClaims instead of extended resources" : "extended resources instead of ResourceClaims"}); the pool's GPUs are offered by neither path between the ${d.allocation.before === "dra" ? "DRA driver's kubelet plugin leaving its nodes and the device plugin starting" : "device plugin leaving its nodes and the DRA driver's kubelet plugin publishing them"}, so expect an outage of the pool's servers (docs/dra.md, "Moving a pool").`,
      );
    }
    if (d.reason === "") continue;
    lines.push(
      `Pool ${d.pool}: ${d.reason} repartitions its GPUs; mig-manager needs them free of clients, so ${
        d.servers.length === 0
          ? "no gpushare server is affected, but drain other GPU pods of the pool first"
          : `drain ${d.servers.join(", ")} first (scale to 0), or expect an outage of ${d.servers.length === 1 ? "it" : "them"} (README: "Changing sharing on a live cluster")`
      }.`,
    );
  }
  return lines.join("\n");
}

function memoryCells(s: ServerFit): string[] {
  const m = s.memoryAfter;
  if (m === undefined) return ["-", "-"];
  return [`${m.perReplicaGiB.toFixed(2)}${m.fits ? "" : " (too little)"}`, m.needGiB.toFixed(2)];
}

function servingCells(s: ServerFit): string[] {
  const v = s.servingAfter;
  if (v === undefined) return ["(slots)", "-", "-"];
  return [
    String(Math.round(v.requestsPerSecond)),
    v.p99Ms.toFixed(1),
    `${v.podsPerDevice} / ${v.kneePodsPerDevice}${v.pastKnee ? " (past the knee)" : ""}`,
  ];
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

function yes(b: boolean): string {
  return b ? "yes" : "NO";
}
