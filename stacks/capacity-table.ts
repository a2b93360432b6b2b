import type { MemoryFit } from "../gpu/memory";
import { memoryFit, replicaOverheadGiB } from "../gpu/memory";
import type { ServerConfig, StackConfig } from "./config/parse";

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
