import type { MigStrategy, PoolSharingSpec } from "./capacity";
import { advertisedDevices } from "./capacity";

/**
 * NVIDIA device plugin config file, version v1. Only the keys the plugin reads are generated: unknown keys
 * are ignored by the plugin without a word, so a typo would silently drop a setting.
 * @see https://github.com/NVIDIA/k8s-device-plugin#shared-access-to-gpus
 */
export interface DevicePluginConfig {
  version: "v1";
  flags: { migStrategy: MigStrategy | "none" };
  sharing?: {
    timeSlicing?: SharingSection;
    mps?: SharingSection;
  };
}

export interface SharingSection {
  renameByDefault: boolean;
  failRequestsGreaterThanOne: boolean;
  resources: { name: string; replicas: number }[];
}

/** The config a node gets when it carries no `nvidia.com/device-plugin.config` label of a pool. */
export function defaultDevicePluginConfig(strategy: MigStrategy): DevicePluginConfig {
  return { version: "v1", flags: { migStrategy: strategy } };
}

/**
 * The device plugin config for one pool. `flags.migStrategy` repeats the cluster's strategy: the operator
 * overrides it with its own `MIG_STRATEGY` anyway, and writing the same value keeps the file honest.
 */
export function devicePluginConfig(pool: PoolSharingSpec, strategy: MigStrategy): DevicePluginConfig {
  const config = defaultDevicePluginConfig(strategy);
  const devices = advertisedDevices(pool, strategy);
  const shared = devices.filter((d) => d.sharing !== "none");
  if (shared.length === 0) return config;
  // Several MIG profiles can map to one base resource only under `single`, where validation keeps the
  // layout homogeneous; dedupe so the plugin never sees a resource twice.
  const resources = [...new Map(shared.map((d) => [d.baseResource, d.replicas])).entries()].map(([name, replicas]) => ({
    name,
    replicas,
  }));
  if (pool.mps !== undefined) {
    config.sharing = {
      mps: {
        renameByDefault: pool.mps.renameByDefault,
        // The plugin's own default for MPS: a pod asking for two MPS replicas gets no more GPU.
        failRequestsGreaterThanOne: true,
        resources,
      },
    };
  } else if (pool.timeSlicing !== undefined) {
    config.sharing = {
      timeSlicing: {
        renameByDefault: pool.timeSlicing.renameByDefault,
        failRequestsGreaterThanOne: pool.timeSlicing.failRequestsGreaterThanOne,
        resources,
      },
    };
  }
  return config;
}
