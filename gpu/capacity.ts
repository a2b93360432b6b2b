import type { GpuModel } from "./catalog";
import { findMigProfile } from "./catalog";
import type { MigCounts } from "./layouts";
import { nonZeroProfiles } from "./layouts";

/** The cluster-wide MIG strategy the GPU operator hands to its device plugin. */
export type MigStrategy = "single" | "mixed";

export const GPU_RESOURCE = "nvidia.com/gpu";

/**
 * Pods a node runs at most: the kubelet's default `maxPods`, and the per-node figure of Kubernetes' tested limits.
 * @see https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/
 * @see https://kubernetes.io/docs/setup/best-practices/cluster-large/
 */
export const DEFAULT_MAX_PODS_PER_NODE = 110;

/**
 * Pods a GPU node runs besides the servers': the GPU operator's DaemonSets (driver, container toolkit, device
 * plugin, GPU feature discovery, DCGM exporter, MIG manager, operator validator, node-feature-discovery worker),
 * the cluster's (kube-proxy, CNI, CSI node plugins) and the node exporter of kube-prometheus-stack — 13 on a MIG
 * node of a Magnum cluster — with a few to spare.
 */
export const DEFAULT_SYSTEM_PODS_PER_NODE = 16;

/** The most pods per node a stack or workloads file may set: the kubelet has no hard limit; no cluster is tested past it. */
export const MAX_PODS_PER_NODE_SETTING = 1000;

/** How many pods of GPU resources a node may hold: its pod limit less its system pods. */
export interface NodePodLimit {
  readonly maxPodsPerNode: number;
  readonly systemPodsPerNode: number;
}

/**
 * What is wrong with a pod limit, each key after `prefix` (`cluster.` in a stack file, nothing in a workloads file):
 * whole numbers, at most {@link MAX_PODS_PER_NODE_SETTING} pods, and fewer system pods than pods. The one owner of the
 * rule, for the stack validation and the planner alike.
 */
export function nodePodLimitProblems(prefix: string, limit: NodePodLimit): string[] {
  const { maxPodsPerNode, systemPodsPerNode } = limit;
  if (!Number.isInteger(maxPodsPerNode) || maxPodsPerNode < 1 || maxPodsPerNode > MAX_PODS_PER_NODE_SETTING) {
    return [
      `${prefix}maxPodsPerNode: ${String(maxPodsPerNode)} is not allowed; use a whole number from 1 to ${MAX_PODS_PER_NODE_SETTING} (the kubelet's --max-pods on the GPU nodes; its default is ${DEFAULT_MAX_PODS_PER_NODE})`,
    ];
  }
  if (!Number.isInteger(systemPodsPerNode) || systemPodsPerNode < 0 || systemPodsPerNode >= maxPodsPerNode) {
    return [
      `${prefix}systemPodsPerNode: ${String(systemPodsPerNode)} is not allowed; use a whole number from 0 to ${maxPodsPerNode - 1} (pods each GPU node runs besides the servers', fewer than ${prefix}maxPodsPerNode)`,
    ];
  }
  return [];
}

/** Pods of GPU resources one node can run under `limit`. */
export function gpuPodBudget(limit: NodePodLimit): number {
  return limit.maxPodsPerNode - limit.systemPodsPerNode;
}

/** Pods a node of the pool advertises room for, over every device kind: physical devices × pods per device. */
export function podsPerNode(devices: readonly Pick<AdvertisedDevice, "physicalPerNode" | "replicas">[]): number {
  return devices.reduce((n, d) => n + d.physicalPerNode * d.replicas, 0);
}

/** A pool's MIG layout, resolved to counts per GPU. */
export interface PoolMig {
  /** The `nvidia.com/mig.config` value nodes of the pool carry. */
  readonly configName: string;
  readonly migEnabled: boolean;
  readonly counts: MigCounts;
}

export interface PoolTimeSlicing {
  /** Replicas for every advertised resource, or per MIG profile (mixed strategy). */
  readonly replicas: number | Readonly<Record<string, number>>;
  readonly renameByDefault: boolean;
  readonly failRequestsGreaterThanOne: boolean;
}

export interface PoolMps {
  readonly replicas: number;
  readonly renameByDefault: boolean;
}

/** Everything about a pool that decides what its nodes advertise. */
export interface PoolSharingSpec {
  readonly gpu: GpuModel;
  /** Physical GPUs per node. */
  readonly gpusPerNode: number;
  readonly mig?: PoolMig;
  readonly timeSlicing?: PoolTimeSlicing;
  readonly mps?: PoolMps;
}

/** One kind of device the device plugin advertises on a node of the pool. */
export interface AdvertisedDevice {
  /** The resource before sharing, e.g. `nvidia.com/mig-1g.5gb`. */
  readonly baseResource: string;
  /** The resource pods request, e.g. `nvidia.com/gpu.shared` with `renameByDefault`. */
  readonly resource: string;
  /** The MIG profile behind the device, if any. */
  readonly migProfile?: string;
  /** Physical devices (whole GPUs or MIG instances) per node. */
  readonly physicalPerNode: number;
  /** Pods that share one physical device (1 without sharing). */
  readonly replicas: number;
  /** Memory of one physical device, GiB; shared by all its replicas. */
  readonly memoryGiB: number;
  /** How the device is shared. */
  readonly sharing: "none" | "timeSlicing" | "mps";
}

/** The resource name mixed strategy gives a MIG profile (`1g.5gb+me` → `nvidia.com/mig-1g.5gb.me`). */
export function migResourceName(profileName: string): string {
  return `nvidia.com/mig-${profileName.replace(/\+/g, ".")}`;
}

function physicalDevices(
  pool: PoolSharingSpec,
  strategy: MigStrategy,
): { baseResource: string; migProfile?: string; perNode: number; memoryGiB: number }[] {
  const mig = pool.mig;
  if (mig === undefined || !mig.migEnabled) {
    return [{ baseResource: GPU_RESOURCE, perNode: pool.gpusPerNode, memoryGiB: pool.gpu.memoryGiB }];
  }
  return nonZeroProfiles(mig.counts).map((name) => {
    const profile = findMigProfile(pool.gpu, name);
    if (profile === undefined) throw new Error(`${pool.gpu.name} has no MIG profile ${name}`);
    return {
      // Under `single` every slice is an `nvidia.com/gpu`; validation keeps single layouts homogeneous.
      baseResource: strategy === "single" ? GPU_RESOURCE : migResourceName(name),
      migProfile: name,
      perNode: mig.counts[name] * pool.gpusPerNode,
      memoryGiB: profile.memoryGiB,
    };
  });
}

function timeSlicingReplicas(ts: PoolTimeSlicing, migProfile: string | undefined): number {
  if (typeof ts.replicas === "number") return ts.replicas;
  return migProfile === undefined ? 1 : (ts.replicas[migProfile] ?? 1);
}

/** What the device plugin advertises per node of the pool, device kind by device kind. */
export function advertisedDevices(pool: PoolSharingSpec, strategy: MigStrategy): AdvertisedDevice[] {
  return physicalDevices(pool, strategy).map((d) => {
    let replicas = 1;
    let rename = false;
    let sharing: AdvertisedDevice["sharing"] = "none";
    if (pool.mps !== undefined) {
      replicas = pool.mps.replicas;
      rename = pool.mps.renameByDefault;
      sharing = "mps";
    } else if (pool.timeSlicing !== undefined) {
      replicas = timeSlicingReplicas(pool.timeSlicing, d.migProfile);
      rename = pool.timeSlicing.renameByDefault && replicas > 1;
      sharing = replicas > 1 ? "timeSlicing" : "none";
    }
    return {
      baseResource: d.baseResource,
      resource: rename ? `${d.baseResource}.shared` : d.baseResource,
      ...(d.migProfile === undefined ? {} : { migProfile: d.migProfile }),
      physicalPerNode: d.perNode,
      replicas,
      memoryGiB: d.memoryGiB,
      sharing,
    };
  });
}

/** resource name → count, summed over the device kinds of one node, in name order. */
export function capacityPerNode(devices: readonly AdvertisedDevice[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of [...devices].sort((a, b) => a.resource.localeCompare(b.resource))) {
    out[d.resource] = (out[d.resource] ?? 0) + d.physicalPerNode * d.replicas;
  }
  return out;
}

export function scaleCapacity(perNode: Readonly<Record<string, number>>, nodes: number): Record<string, number> {
  return Object.fromEntries(Object.entries(perNode).map(([r, n]) => [r, n * nodes]));
}
