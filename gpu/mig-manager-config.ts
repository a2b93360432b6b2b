import type { GpuModel } from "./catalog";
import type { MigCounts } from "./layouts";
import { nonZeroProfiles } from "./layouts";

/**
 * mig-manager (mig-parted) config, version v1. A custom config replaces every layout mig-manager would
 * generate from the hardware, so it must define each value a node's `nvidia.com/mig.config` label can hold.
 * @see https://github.com/NVIDIA/mig-parted#configuration-file-format
 */
export interface MigManagerConfig {
  version: "v1";
  "mig-configs": Record<string, MigConfigEntry[]>;
}

export interface MigConfigEntry {
  "device-filter"?: string[];
  devices: "all";
  "mig-enabled": boolean;
  "mig-devices"?: Record<string, number>;
}

/** A layout some pool uses: its label value, the GPU model it runs on and its counts. */
export interface LayoutUse {
  readonly name: string;
  readonly gpu: GpuModel;
  readonly migEnabled: boolean;
  readonly counts: MigCounts;
}

/** mig-parted's device filter for a PCI device: `0x<device><vendor>`, uppercase hex. */
export function deviceFilter(pciDeviceId: string): string {
  return `0x${pciDeviceId.toUpperCase()}10DE`;
}

function entry(use: LayoutUse, filtered: boolean): MigConfigEntry {
  const e: MigConfigEntry = { devices: "all", "mig-enabled": use.migEnabled };
  if (filtered) e["device-filter"] = use.gpu.pciDeviceIds.map(deviceFilter);
  if (use.migEnabled) {
    e["mig-devices"] = Object.fromEntries(nonZeroProfiles(use.counts).map((p) => [p, use.counts[p]]));
  }
  return e;
}

function sameLayout(a: LayoutUse, b: LayoutUse): boolean {
  const pa = nonZeroProfiles(a.counts);
  const pb = nonZeroProfiles(b.counts);
  return (
    a.migEnabled === b.migEnabled &&
    pa.length === pb.length &&
    pa.every((p, i) => p === pb[i] && a.counts[p] === b.counts[pb[i]])
  );
}

/**
 * The mig-manager config for the layouts a cluster's pools use. `all-disabled` is always present: it is the
 * value the operator gives MIG-capable nodes that carry no layout of their own. A name used by GPU models
 * whose layouts differ (`all-balanced` on A100-40GB and A100-80GB) gets one entry per model, told apart by
 * PCI device filter. `retained` adds layouts of the previous generation under their names, unless a current
 * layout has the name.
 */
export function migManagerConfig(
  uses: readonly LayoutUse[],
  retained: Readonly<Record<string, readonly MigConfigEntry[]>> = {},
): MigManagerConfig {
  const byName = new Map<string, LayoutUse[]>();
  for (const use of uses) {
    const list = byName.get(use.name) ?? [];
    if (!list.some((u) => u.gpu.name === use.gpu.name)) list.push(use);
    byName.set(use.name, list);
  }
  const configs: Record<string, MigConfigEntry[]> = {
    "all-disabled": [{ devices: "all", "mig-enabled": false }],
  };
  for (const name of [...byName.keys()].sort()) {
    const list = byName.get(name) ?? [];
    const uniform = list.every((u) => sameLayout(u, list[0]));
    configs[name] = uniform ? [entry(list[0], false)] : list.map((u) => entry(u, true));
  }
  // Layouts of the previous generation that no pool uses any more: nodes keep pointing at them until
  // node-feature-discovery has moved their labels, and mig-manager must find them if it restarts meanwhile.
  for (const name of Object.keys(retained).sort()) {
    if (configs[name] === undefined) configs[name] = retained[name].map((e) => ({ ...e }));
  }
  return { version: "v1", "mig-configs": configs };
}
