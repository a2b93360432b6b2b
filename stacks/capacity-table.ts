import type { MemoryFit } from "../gpu/memory";
import { memoryFit, replicaOverheadGiB } from "../gpu/memory";
import { draClaimMode, GPU_DEVICE_CLASS, MIG_DEVICE_CLASS } from "../gpu/dra";
import type { PoolConfig, ServerConfig, StackConfig } from "./config/parse";

/** One row of the capacity table: a pool's resource, what it offers, what servers may claim. */
export interface PoolCapacityRow {
  readonly pool: string;
  readonly gpu: string;
  readonly mode: string;
  readonly resource: string;
  readonly perNode: number;
  readonly atMaxNodes: number;
  /** Pods the pool's servers can run at their max replicas. */
  readonly claimedAtMaxReplicas: number;
  /** atMaxNodes − claimedAtMaxReplicas: slots left for other workloads. */
  readonly headroom: number;
}

/** The capacity table of a stack: one row per pool and advertised resource. */
export function capacityTable(config: StackConfig): PoolCapacityRow[] {
  const rows: PoolCapacityRow[] = [];
  for (const pool of config.pools) {
    for (const [resource, perNode] of Object.entries(pool.perNode)) {
      const atMaxNodes = pool.atMaxNodes[resource] ?? 0;
      const claimed = config.servers
        .filter((s) => s.pool.name === pool.name && s.resource === resource)
        .reduce((n, s) => n + s.maxReplicas, 0);
      rows.push({
        pool: pool.name,
        gpu: pool.gpu.name,
        mode: pool.mode,
        resource,
        perNode,
        atMaxNodes,
        claimedAtMaxReplicas: claimed,
        headroom: atMaxNodes - claimed,
      });
    }
  }
  return rows;
}

/** One server's memory per replica: the fit rule of `gpu/memory.ts` on the device it requests. */
export interface ServerMemoryRow extends MemoryFit {
  readonly server: string;
  readonly pool: string;
  readonly resource: string;
  /** How the device is shared, and by how many pods. */
  readonly sharing: string;
  readonly podsPerDevice: number;
  /** Memory of one device (whole GPU or MIG slice) as nvidia-smi reports it, GiB. */
  readonly deviceGiB: number;
}

/** A server's memory fit, or `undefined` when it declares no `modelMemoryGiB`. */
export function serverMemory(s: ServerConfig): MemoryFit | undefined {
  const model = s.raw.modelMemoryGiB;
  if (model === undefined) return undefined;
  return memoryFit(s.device, model, replicaOverheadGiB(s.pool.gpu, s.raw.overheadGiB));
}

/** The memory table of a stack: one row per server that declares its model's memory. */
export function serverMemoryTable(config: StackConfig): ServerMemoryRow[] {
  return config.servers.flatMap((s) => {
    const fit = serverMemory(s);
    if (fit === undefined) return [];
    return [
      {
        server: s.name,
        pool: s.pool.name,
        resource: s.resource,
        sharing: s.device.sharing,
        podsPerDevice: s.device.replicas,
        deviceGiB: s.device.memoryGiB,
        ...fit,
      },
    ];
  });
}

/**
 * What a DRA pool's count of `resource` per node is made of, for the capacity table: devices × consumable shares
 * (time-slicing), or devices × MPS clients of one shared claim; "" for a device-plugin pool or an unshared device.
 */
export function draCapacityNote(pool: PoolConfig, resource: string): string {
  const device = pool.devices.find((d) => d.resource === resource);
  if (pool.allocation !== "dra" || device === undefined || device.sharing === "none") return "";
  const devices = `${device.physicalPerNode} device${device.physicalPerNode === 1 ? "" : "s"}`;
  return draClaimMode(device) === "shared"
    ? ` (${devices} × ${device.replicas} MPS clients of one claim)`
    : ` (${devices} × ${device.replicas} shares)`;
}

/**
 * A DRA pool's part of `capacity --json`: per device kind its DeviceClass, devices and shares per node, and the
 * claim that takes it; nothing for a device-plugin pool, whose JSON stays as it was.
 */
export function draPoolJson(pool: PoolConfig): Record<string, unknown> {
  if (pool.allocation !== "dra") return {};
  return {
    allocation: "dra",
    dra: {
      consumableShares: pool.draConsumableShares ?? null,
      devices: pool.devices.map((d) => ({
        name: d.resource,
        deviceClass: d.migProfile === undefined ? GPU_DEVICE_CLASS : MIG_DEVICE_CLASS,
        ...(d.migProfile === undefined ? {} : { profile: d.migProfile }),
        devicesPerNode: d.physicalPerNode,
        sharesPerDevice: d.replicas,
        sharing: d.sharing,
        claim: draClaimMode(d) === "shared" ? "one ResourceClaim per server" : "a ResourceClaim per pod (template)",
      })),
    },
  };
}
