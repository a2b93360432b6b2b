import type { Pair } from "yaml";
import { Document, isMap, isScalar } from "yaml";
import type { Plan, PlannedPool, PlannedServer } from "../planner/plan";
import { DEFAULT_MAX_PODS_PER_NODE, DEFAULT_SYSTEM_PODS_PER_NODE } from "../gpu/capacity";
import { nonZeroProfiles } from "../gpu/layouts";
import { round } from "../stacks/text";

/**
 * The model store a plan's stack file names so that it validates alone (`npm run capacity -- --config`): an NFS
 * export on a reserved `.invalid` host, never reachable. Replace it, or merge the planned keys into a stack file.
 */
export const PLACEHOLDER_MODEL_STORE = { nfs: { server: "model-store.invalid", path: "/models" } } as const;

/**
 * What a plan for OpenStack mode names where only the user knows the value, so that its stack file validates alone:
 * a Magnum template id to replace, the documentation network 192.0.2.0/24 (RFC 5737, never routed) as the nodes'
 * subnet, and a Nova flavor per pool.
 */
export const PLACEHOLDER_OPENSTACK = {
  clusterTemplateId: "replace-with-a-magnum-cluster-template-id",
  nodeSubnetCidr: "192.0.2.0/24",
} as const;

/** The placeholder Nova flavor of a planned pool in OpenStack mode. */
export function placeholderFlavor(p: PlannedPool): string {
  return `replace-with-a-flavor-with-${p.offer.gpusPerNode}x-${p.offer.gpu.name.toLowerCase()}`;
}

/** Decimals of a cost as the plan prints it. */
const COST_DIGITS = 4;

function poolConfig(p: PlannedPool, openstack: boolean): Record<string, unknown> {
  return {
    gpu: p.offer.gpu.name,
    gpusPerNode: p.offer.gpusPerNode,
    ...(openstack ? { flavor: placeholderFlavor(p) } : {}),
    nodes: { min: p.nodes.min, max: p.nodes.max },
    ...(p.nodeSelector === undefined ? {} : { nodeSelector: { ...p.nodeSelector } }),
    ...(p.migProfiles === undefined ? {} : { mig: { profiles: { ...p.migProfiles } } }),
    ...(p.timeSlicing === undefined
      ? {}
      : { timeSlicing: { replicas: typeof p.timeSlicing === "number" ? p.timeSlicing : { ...p.timeSlicing } } }),
    ...(p.mps === undefined ? {} : { mps: { replicas: p.mps } }),
  };
}

/**
 * The plan as the `config:` mapping of a stack file, in the stack-file schema (`stacks/config/schema.ts`): the cluster's
 * MIG strategy, the pools, the servers (pool, resource, model memory, autoscaling bounds) and the placeholder model
 * store.
 */
export function stackConfigOf(plan: Plan): Record<string, unknown> {
  const openstack = plan.clusterKind === "openstack";
  const { maxPodsPerNode, systemPodsPerNode } = plan.nodePods;
  return {
    "gpushare:cluster": {
      ...(openstack ? { kind: "openstack" } : {}),
      migStrategy: plan.migStrategy,
      ...(maxPodsPerNode === DEFAULT_MAX_PODS_PER_NODE ? {} : { maxPodsPerNode }),
      ...(systemPodsPerNode === DEFAULT_SYSTEM_PODS_PER_NODE ? {} : { systemPodsPerNode }),
      ...(openstack ? { openstack: { ...PLACEHOLDER_OPENSTACK } } : {}),
    },
    "gpushare:gpuPools": Object.fromEntries(plan.pools.map((p) => [p.name, poolConfig(p, openstack)])),
    "gpushare:servers": Object.fromEntries(
      plan.servers.map((s) => [
        s.name,
        {
          pool: s.pool,
          resource: s.resource,
          modelMemoryGiB: s.modelMemoryGiB,
          ...(s.declaredOverheadGiB === undefined ? {} : { overheadGiB: s.declaredOverheadGiB }),
          replicas: s.minReplicas,
          autoscaling: { minReplicas: s.minReplicas, maxReplicas: s.maxReplicas },
          // Planned on requests: the curve the plan read and the objective, so that the stack checks them too.
          ...(s.serving === undefined
            ? {}
            : { slo: { ...s.serving.slo }, sharingCurve: structuredClone(s.serving.curve) }),
        },
      ]),
    ),
    "gpushare:modelStore": structuredClone(PLACEHOLDER_MODEL_STORE),
  };
}

/**
 * A stack file (`Pulumi.<stack>.yaml`) holding the plan, with comments saying where it came from; `written` is the
 * plan's config as written (@default - {@link stackConfigOf}; `plan --allocation dra` passes its DRA form).
 */
export function stackFileText(
  plan: Plan,
  source: string,
  written: Record<string, unknown> = stackConfigOf(plan),
): string {
  const doc = new Document({ config: written });
  doc.commentBefore = [
    ` Planned by \`npm run plan -- --workloads ${source}\`: cost ${round(plan.cost, COST_DIGITS)} for ${plan.gpus} GPU${plan.gpus === 1 ? "" : "s"}, lower bound ${round(plan.lowerBound, COST_DIGITS)}${plan.provenOptimal ? " (optimal with each server on one resource of one pool)" : ""}.`,
    ` Merge gpushare:cluster.migStrategy, gpushare:gpuPools and gpushare:servers into a stack file; alone, this file`,
    ` passes \`npm run capacity -- --config\`.`,
  ].join("\n");
  const config = doc.get("config", true);
  const entry = (map: unknown, key: string): Pair | undefined =>
    isMap(map) ? map.items.find((i) => isScalar(i.key) && i.key.value === key) : undefined;
  const cluster = entry(config, "gpushare:cluster")?.value;
  const openstack = entry(cluster, "openstack");
  if (openstack !== undefined && isScalar(openstack.key)) {
    openstack.key.commentBefore =
      " Placeholders, so that this file validates alone: your Magnum template (or template:) and your nodes' subnet; and each pool's flavor below.";
  }
  const store = entry(config, "gpushare:modelStore");
  if (store !== undefined && isScalar(store.key)) {
    store.key.commentBefore = " A placeholder, so that this file validates alone: replace it with your model store.";
  }
  const pools = entry(config, "gpushare:gpuPools")?.value;
  for (const p of plan.pools) {
    const pool = entry(pools, p.name);
    if (p.nodeSelector === undefined || pool === undefined || !isScalar(pool.key)) continue;
    pool.key.commentBefore = ` Another pool runs ${p.offer.gpu.name} too: label this pool's node group ${Object.entries(
      p.nodeSelector,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(",")}.`;
  }
  return doc.toString({ lineWidth: 0 });
}

function layoutText(p: PlannedPool): string {
  if (p.migProfiles === undefined) return "whole GPUs";
  return nonZeroProfiles(p.migProfiles)
    .map((name) => `${p.migProfiles?.[name]}×${name}`)
    .join("+");
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** For a server planned on requests: requests/s and p99 at its peak, next to its objective. */
function servedText(s: PlannedServer): string {
  const v = s.serving;
  if (v === undefined) return "-";
  return `${Math.floor(v.requestsPerSecond)}/s p99 ${v.p99Ms.toFixed(2)} ms on ${v.devices} × ${v.podsPerDevice} pods (${v.slo.requestsPerSecond}/s ≤ ${v.slo.p99Ms} ms)`;
}

/** What a person reads: the cost against its lower bound, each pool's resources advertised vs claimed, each server. */
export function planText(plan: Plan): string {
  const nodes = plan.pools.reduce((n, p) => n + p.nodes.max, 0);
  const gap = plan.lowerBound > 0 ? (plan.cost / plan.lowerBound - 1) * 100 : 0;
  const source = plan.lowerBoundSource === "exact" ? "integer program" : "LP relaxation";
  const proof = plan.provenOptimal
    ? `optimal among plans that put each server on one resource of one pool, proven by the ${source}`
    : `${plan.search} plan, ${gap.toFixed(1)} % above the bound from the ${source}`;
  const head = `cost ${round(plan.cost, COST_DIGITS)} for ${plan.gpus} GPU${plan.gpus === 1 ? "" : "s"} on ${nodes} node${nodes === 1 ? "" : "s"}; lower bound ${round(plan.lowerBound, COST_DIGITS)} (${proof}); MIG strategy ${plan.migStrategy}`;
  const pools: string[][] = [
    ["POOL", "GPU", "NODES", "GPUS", "COST", "LAYOUT", "RESOURCE", "SHARING", "ADVERTISED", "CLAIMED"],
  ];
  for (const p of plan.pools) {
    for (const r of p.resources) {
      pools.push([
        p.name,
        p.offer.gpu.name,
        `${p.nodes.min}..${p.nodes.max}`,
        String(p.gpus),
        String(round(p.cost, COST_DIGITS)),
        layoutText(p),
        r.resource,
        r.sharing === "none" ? "none" : `${r.sharing} × ${r.replicas}`,
        String(r.advertised),
        String(r.claimed),
      ]);
    }
  }
  const servers: string[][] = [
    [
      "SERVER",
      "POOL",
      "RESOURCE",
      "ISOLATION",
      "MAX REPLICAS",
      "MODEL GiB",
      "OVERHEAD GiB",
      "GiB PER REPLICA",
      "HEADROOM GiB",
    ],
  ];
  // Only where a server is planned on requests: what it serves at its peak, next to its objective.
  const requests = plan.servers.some((s) => s.serving !== undefined);
  if (requests) servers[0].push("SERVED AT PEAK (OBJECTIVE)");
  for (const s of plan.servers) {
    servers.push([
      s.name,
      s.pool,
      s.resource,
      s.isolation,
      String(s.maxReplicas),
      String(s.modelMemoryGiB),
      s.overheadGiB.toFixed(2),
      s.memoryPerReplicaGiB.toFixed(2),
      s.headroomGiB.toFixed(2),
      ...(requests ? [servedText(s)] : []),
    ]);
  }
  return `${head}\n\n${table(pools)}\n\n${table(servers)}\n`;
}

/** The plan for machines: totals, bound, pools, servers and the stack config. */
export function planJson(plan: Plan): Record<string, unknown> {
  return {
    cost: round(plan.cost, COST_DIGITS),
    gpus: plan.gpus,
    lowerBound: round(plan.lowerBound, COST_DIGITS),
    lowerBoundSource: plan.lowerBoundSource,
    search: plan.search,
    provenOptimal: plan.provenOptimal,
    migStrategy: plan.migStrategy,
    pools: plan.pools.map((p) => ({
      name: p.name,
      gpu: p.offer.gpu.name,
      gpusPerNode: p.offer.gpusPerNode,
      nodes: p.nodes,
      cost: round(p.cost, COST_DIGITS),
      gpus: p.gpus,
      ...(p.migProfiles === undefined ? {} : { migProfiles: p.migProfiles }),
      ...(p.timeSlicing === undefined ? {} : { timeSlicing: p.timeSlicing }),
      ...(p.mps === undefined ? {} : { mps: p.mps }),
      resources: p.resources,
    })),
    servers: plan.servers,
    config: stackConfigOf(plan),
  };
}
