import type { StackConfig } from "./config";

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
