import type { GpuModel } from "../gpu/catalog";
import { maxMpsClients } from "../gpu/catalog";
import type { MigCounts } from "../gpu/layouts";
import { nonZeroProfiles } from "../gpu/layouts";
import { maxInstancesOf, placeMigLayout } from "../gpu/placement";
import { DEFAULT_MAX_PODS_PER_NODE, gpuPodBudget, type MigStrategy, type NodePodLimit } from "../gpu/capacity";
import { maxReplicasByMemory, type SharingMode } from "../gpu/memory";
import type { GpuOffer, WorkloadServer } from "./input";
import { replicaNeedGiB } from "./input";
import type { CurveReading, SharingCurve } from "../gpu/sharing-curve";
import { curveAt, kneeOf } from "../gpu/sharing-curve";

export type { SharingMode };

/** A kind of physical device of a node shape: whole GPUs, or the MIG instances of one profile. */
export interface DeviceKind {
  /** The MIG profile, absent for whole GPUs. */
  readonly profile?: string;
  /** Physical devices of this kind per node. */
  readonly perNode: number;
  /** Memory of one device, GiB. */
  readonly memoryGiB: number;
  /**
   * Pods one device may hold so that a node of the shape stays within its pod budget whatever the sharing of its
   * other kinds: ⌊(maxPods − system pods) ÷ devices per node⌋, and at most the kubelet's default maxPods.
   */
  readonly maxPods: number;
}

/**
 * A node shape: an offer's GPUs, whole or cut by one MIG layout, and the MIG strategy the shape needs (none for
 * whole GPUs). Sharing is chosen per kind later.
 */
export interface NodeShape {
  readonly offer: number;
  readonly strategy?: MigStrategy;
  /** MIG instances per GPU; absent for whole GPUs. */
  readonly counts?: MigCounts;
  readonly kinds: readonly DeviceKind[];
  /** Stable identity: offer, strategy and layout. */
  readonly key: string;
}

/** How one device kind of a pool is shared: the mode and the pods per device (1 without sharing). */
export interface Sharing {
  readonly mode: SharingMode;
  readonly replicas: number;
}

export const UNSHARED: Sharing = { mode: "none", replicas: 1 };

/**
 * The most pods per device of `kind` that `server` tolerates in `mode`, or 0 when it cannot run there. The rules
 * of the stack validation: a replica needs its model and its process's overhead (`gpu/memory.ts`, the one fit rule);
 * time-sliced pods share the device's memory and are only for `shared` isolation; MPS splits a whole GPU's memory
 * evenly, takes 2 to `maxMpsClients` clients and is not for `full` isolation; sharing needs at least 2 pods per
 * device; a device holds at most `kind.maxPods` pods (the node's pod budget). A server planned on requests runs only
 * where it has a curve for the device and the mode ({@link servingAt} says at which counts its objective holds).
 */
export function sharingLimit(server: WorkloadServer, gpu: GpuModel, kind: DeviceKind, mode: SharingMode): number {
  const need = replicaNeedGiB(server, gpu);
  if (kind.maxPods < 1 || maxReplicasByMemory(kind.memoryGiB, "none", need, 1) === 0) return 0;
  if (server.serving !== undefined && curvesFor(server, gpu, kind, mode).length === 0) return 0;
  if (mode === "none") return 1;
  if (mode === "timeSlicing" && server.isolation !== "shared") return 0;
  if (mode === "mps" && (server.isolation === "full" || kind.profile !== undefined)) return 0;
  const cap = mode === "mps" ? Math.min(kind.maxPods, maxMpsClients(gpu)) : kind.maxPods;
  const n = maxReplicasByMemory(kind.memoryGiB, mode, need, cap);
  return n >= 2 ? n : 0;
}

/** A server's curves measured on `kind` of `gpu` in `mode`; unshared, any mode's (only its 1-pod point is read). */
function curvesFor(server: WorkloadServer, gpu: GpuModel, kind: DeviceKind, mode: SharingMode): SharingCurve[] {
  return (server.serving?.curves ?? []).filter(
    (c) => c.gpu === gpu.name && c.migProfile === kind.profile && (mode === "none" || c.sharing === mode),
  );
}

/** How a server planned on requests is served on devices of one kind and sharing. */
export interface ServingPlan {
  /** The curve read: the one that needs the fewest devices. */
  readonly curve: SharingCurve;
  /** What one device serves with the pods per device of the sharing. */
  readonly reading: CurveReading;
  /** Devices the objective needs: ⌈requests/s ÷ what one serves⌉, and enough for minReplicas. */
  readonly devices: number;
  /** devices × pods per device: the server's max replicas. */
  readonly replicas: number;
}

/**
 * How `server`, planned on requests, meets its objective on devices of `kind` shared as `sharing`, or `undefined`
 * when it cannot there: no curve for the device and mode, a p99 at these pods per device above the objective's, or
 * more pods per device than the curve's measured knee (past it a pod adds latency and almost no requests, and the
 * stack warns about such a bound). The memory and pod limits are {@link sharingLimit}'s.
 */
export function servingAt(
  server: WorkloadServer,
  gpu: GpuModel,
  kind: DeviceKind,
  sharing: Sharing,
): ServingPlan | undefined {
  const serving = server.serving;
  if (serving === undefined) return undefined;
  const n = sharing.mode === "none" ? 1 : sharing.replicas;
  let best: ServingPlan | undefined;
  for (const curve of curvesFor(server, gpu, kind, sharing.mode)) {
    const knee = kneeOf(curve);
    if (n > 1 && knee.measured && n > knee.pods) continue;
    const reading = curveAt(curve, n);
    if (reading.requestsPerSecond <= 0 || reading.p99Ms > serving.slo.p99Ms + 1e-9) continue;
    const devices = Math.max(
      Math.ceil(serving.slo.requestsPerSecond / reading.requestsPerSecond - 1e-9),
      Math.ceil(server.minReplicas / n),
    );
    if (best === undefined || devices < best.devices) best = { curve, reading, devices, replicas: devices * n };
  }
  return best;
}

/**
 * The replicas `server` needs at its peak on devices of `kind` shared as `sharing`: its `maxReplicas`, or, planned
 * on requests, devices × pods per device ({@link servingAt}); Infinity where its objective cannot be met there.
 */
export function demandAt(server: WorkloadServer, gpu: GpuModel, kind: DeviceKind, sharing: Sharing): number {
  if (server.serving === undefined) return server.maxReplicas ?? Infinity;
  return servingAt(server, gpu, kind, sharing)?.replicas ?? Infinity;
}

/** Whether `server` may run on a device of `kind` shared as `sharing`. */
export function hosts(server: WorkloadServer, gpu: GpuModel, kind: DeviceKind, sharing: Sharing): boolean {
  if (sharing.replicas > sharingLimit(server, gpu, kind, sharing.mode)) return false;
  return server.serving === undefined || servingAt(server, gpu, kind, sharing) !== undefined;
}

/**
 * The sharings worth considering for a kind, given the servers: unshared, and for each mode each server's own
 * limit (a resource shared by several servers in replicas is as shared as its least tolerant one allows, so no other
 * count can be better). Servers planned on requests need devices, not slots, and those need not fall as the pods per
 * device grow (a p99 above the objective, a curve that dips): every count is kept that no larger count beats for
 * every server it hosts (hosting them all, with no more devices for any).
 * MPS only for whole GPUs under `single`.
 */
export function sharingsFor(
  gpu: GpuModel,
  kind: DeviceKind,
  strategy: MigStrategy | undefined,
  servers: readonly WorkloadServer[],
): Sharing[] {
  const out: Sharing[] = [];
  if (servers.some((s) => hosts(s, gpu, kind, UNSHARED))) out.push(UNSHARED);
  const modes: SharingMode[] = ["timeSlicing"];
  if (kind.profile === undefined && strategy !== "mixed") modes.push("mps");
  for (const mode of modes) {
    const limits = servers.map((s) => sharingLimit(s, gpu, kind, mode));
    const counted = servers.flatMap((s, i) => (s.serving === undefined && limits[i] >= 2 ? [limits[i]] : []));
    const requests = servers.flatMap((s, i) => (s.serving !== undefined && limits[i] >= 2 ? [i] : []));
    if (requests.length === 0) {
      for (const n of [...new Set(counted)].sort((a, b) => a - b)) out.push({ mode, replicas: n });
      continue;
    }
    const top = Math.max(...limits);
    // devices[j][n]: devices request server j needs at n pods per device, Infinity where it cannot run.
    const devices = requests.map((i) =>
      Array.from({ length: top + 1 }, (_, n) =>
        n >= 2 && n <= limits[i]
          ? (servingAt(servers[i], gpu, kind, { mode, replicas: n })?.devices ?? Infinity)
          : Infinity,
      ),
    );
    for (let n = 2; n <= top; n++) {
      const hosted = devices.flatMap((d, j) => (d[n] < Infinity ? [j] : []));
      const slotCap = Math.min(...counted.filter((l) => l >= n));
      if (hosted.length === 0 && slotCap === Infinity) continue;
      // Every server counted in replicas that runs at n runs at any count up to slotCap, with fewer devices.
      const reach = Math.min(top, slotCap);
      let beaten = false;
      for (let m = n + 1; m <= reach && !beaten; m++) beaten = hosted.every((j) => devices[j][m] <= devices[j][n]);
      if (!beaten) out.push({ mode, replicas: n });
    }
  }
  return out;
}

function computeOf(gpu: GpuModel, counts: MigCounts): number {
  return nonZeroProfiles(counts).reduce(
    (n, p) => n + (gpu.mig?.profiles.find((q) => q.name === p)?.computeSlices ?? 0) * counts[p],
    0,
  );
}

function memoryOf(gpu: GpuModel, profile: string): number {
  const p = gpu.mig?.profiles.find((q) => q.name === profile);
  if (p === undefined) throw new Error(`${gpu.name} has no MIG profile ${profile}`);
  return p.memoryGiB;
}

function profileNames(gpu: GpuModel): string[] {
  return (gpu.mig?.profiles ?? []).map((p) => p.name);
}

/**
 * One-profile layouts, one per slice size: the profile that fits the most instances on a GPU, and among those the
 * one with the most compute (`all-1g.10gb` holds 4 slices of 9.62 GiB where `all-2g.10gb` holds 3).
 */
export function homogeneousLayouts(gpu: GpuModel): MigCounts[] {
  const mig = gpu.mig;
  if (mig === undefined) return [];
  const best = new Map<number, { profile: string; count: number; compute: number }>();
  for (const name of profileNames(gpu)) {
    const count = maxInstancesOf(mig, name);
    const compute = count * (mig.profiles.find((p) => p.name === name)?.computeSlices ?? 0);
    const memory = memoryOf(gpu, name);
    // A single instance (the largest profile, or a media-extension one) is a whole GPU with less memory.
    if (count < 2) continue;
    const seen = best.get(memory);
    if (seen === undefined || count > seen.count || (count === seen.count && compute > seen.compute)) {
      best.set(memory, { profile: name, count, compute });
    }
  }
  return [...best.values()].map((b) => ({ [b.profile]: b.count }));
}

/**
 * Layouts of two or more profiles to which no instance can be added (a smaller layout offers less of the same),
 * one per signature of (slice memory, count) per profile — the most compute among equals, since the planner
 * measures memory and the replicas get the compute.
 */
export function mixedLayouts(gpu: GpuModel): MigCounts[] {
  const mig = gpu.mig;
  if (mig === undefined) return [];
  // Media-extension (`+me`) profiles included: under `mixed` they are resources of their own, so one slice can be
  // shared differently from its siblings.
  const names = profileNames(gpu);
  const legal: Record<string, number>[] = [];
  const walk = (i: number, counts: Record<string, number>): void => {
    if (i === names.length) {
      if (nonZeroProfiles(counts).length > 0) legal.push({ ...counts });
      return;
    }
    for (let c = 0; ; c++) {
      const next = { ...counts, [names[i]]: c };
      if (c > 0 && placeMigLayout(mig, next) === undefined) break;
      walk(i + 1, next);
    }
  };
  walk(0, {});
  const maximal = legal.filter(
    (l) =>
      nonZeroProfiles(l).length >= 2 &&
      names.every((p) => placeMigLayout(mig, { ...l, [p]: (l[p] ?? 0) + 1 }) === undefined),
  );
  const bySignature = new Map<string, MigCounts>();
  for (const l of maximal) {
    const counts = Object.fromEntries(nonZeroProfiles(l).map((p) => [p, l[p]]));
    const signature = nonZeroProfiles(counts)
      .map((p) => `${memoryOf(gpu, p)}x${counts[p]}`)
      .sort()
      .join(",");
    const seen = bySignature.get(signature);
    if (seen === undefined || computeOf(gpu, counts) > computeOf(gpu, seen)) bySignature.set(signature, counts);
  }
  return [...bySignature.values()];
}

const layoutCache = new Map<string, { homogeneous: MigCounts[]; mixed: MigCounts[] }>();

function layoutsOf(gpu: GpuModel): { homogeneous: MigCounts[]; mixed: MigCounts[] } {
  let l = layoutCache.get(gpu.name);
  if (l === undefined) {
    l = { homogeneous: homogeneousLayouts(gpu), mixed: mixedLayouts(gpu) };
    layoutCache.set(gpu.name, l);
  }
  return l;
}

function layoutKey(counts: MigCounts): string {
  return nonZeroProfiles(counts)
    .map((p) => `${counts[p]}x${p}`)
    .join("+");
}

/**
 * Pods per device that keep a node of `devicesPerNode` devices within its pod budget, at most the kubelet's default
 * maxPods per device (NVIDIA's plugin sets no maximum; more pods than a default node runs can never all be used).
 */
export function maxPodsPerDevice(devicesPerNode: number, limit: NodePodLimit): number {
  return Math.min(DEFAULT_MAX_PODS_PER_NODE, Math.floor(gpuPodBudget(limit) / devicesPerNode));
}

function shapeOf(
  offers: readonly GpuOffer[],
  offer: number,
  strategy: MigStrategy,
  counts: MigCounts,
  limit: NodePodLimit,
): NodeShape {
  const o = offers[offer];
  const devices = nonZeroProfiles(counts).reduce((n, p) => n + counts[p] * o.gpusPerNode, 0);
  return {
    offer,
    strategy,
    counts,
    kinds: nonZeroProfiles(counts).map((p) => ({
      profile: p,
      perNode: counts[p] * o.gpusPerNode,
      memoryGiB: memoryOf(o.gpu, p),
      maxPods: maxPodsPerDevice(devices, limit),
    })),
    key: `${o.gpu.name}/${strategy}/${layoutKey(counts)}`,
  };
}

/**
 * Every node shape worth planning with under the allowed strategies: whole GPUs of each offer; one-profile MIG
 * layouts under each strategy (they advertise `nvidia.com/gpu` under `single`, `nvidia.com/mig-<profile>` under
 * `mixed`); and, under `mixed`, the maximal layouts of several profiles.
 */
export function nodeShapes(
  offers: readonly GpuOffer[],
  strategies: readonly MigStrategy[],
  limit: NodePodLimit,
): NodeShape[] {
  const shapes: NodeShape[] = [];
  offers.forEach((o, i) => {
    shapes.push({
      offer: i,
      kinds: [{ perNode: o.gpusPerNode, memoryGiB: o.gpu.memoryGiB, maxPods: maxPodsPerDevice(o.gpusPerNode, limit) }],
      key: `${o.gpu.name}/whole`,
    });
    const { homogeneous, mixed } = layoutsOf(o.gpu);
    for (const strategy of strategies) {
      for (const counts of homogeneous) shapes.push(shapeOf(offers, i, strategy, counts, limit));
      if (strategy === "mixed") for (const counts of mixed) shapes.push(shapeOf(offers, i, strategy, counts, limit));
    }
  });
  // A shape whose devices alone exceed the node's pod budget can host nothing.
  return shapes.filter((s) => s.kinds.every((k) => k.maxPods >= 1));
}
