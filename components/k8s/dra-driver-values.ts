/**
 * The Helm values gpushare gives NVIDIA's DRA driver for GPUs (chart `dra-driver-nvidia-gpu`), as plain data. Read
 * from the chart's `values.yaml` and templates at the release `gpu/dra.ts` names. No Pulumi import.
 * @see docs/dra.md
 */

import { type OwnedValue, type Values, deepMerge } from "./helm-values";

/**
 * The label every node of a DRA pool carries (through the pool's NodeFeatureRule, like its other labels), and that
 * the driver's kubelet plugin DaemonSet selects: the plugin publishes the GPUs of those nodes only, so it never runs
 * beside the GPU operator's device plugin (which those nodes switch off).
 */
export const DRA_NODE_LABEL = "gpushare.io/gpu-allocation";
export const DRA_NODE_LABEL_VALUE = "dra";

export interface DraDriverSettings {
  /**
   * The driver's feature gates (its chart's `featureGates`), e.g. `{ TimeSlicingSettings: true, ConsumableShares:
   * true }`. The stack's config checks them against the driver's rules first (`draGateProblems` of `gpu/dra`).
   * @default {}
   */
  readonly featureGates?: Readonly<Record<string, boolean>>;
  /**
   * The kubelet plugin's `--consumable-shares=<N>` (chart value `consumableShares`): every device it publishes
   * takes N claims at once. Needs the `ConsumableShares` gate.
   * @default - disabled: a device holds one claim.
   */
  readonly consumableShares?: number;
  /**
   * Helm values merged last, over gpushare's; the values in {@link OWNED_DRA_DRIVER_VALUES} are refused.
   * @default {}
   */
  readonly values?: Values;
}

/** The values gpushare sets itself, and what the user sets instead. */
export const OWNED_DRA_DRIVER_VALUES: readonly OwnedValue[] = [
  { path: ["featureGates"], use: "draDriver.featureGates" },
  {
    path: ["consumableShares"],
    use: "the replicas of the time-sliced DRA pools (gpuPools.<pool>.timeSlicing.replicas)",
  },
  {
    path: ["gpuResourcesEnabledOverride"],
    use: "gpuPools.<pool>.allocation (GPU allocation is on while a pool allocates through DRA)",
  },
  {
    path: ["resources", "gpus", "enabled"],
    use: "gpuPools.<pool>.allocation (GPU allocation is on while a pool allocates through DRA)",
  },
  {
    path: ["kubeletPlugin", "nodeSelector"],
    use: `gpuPools.<pool>.allocation: the plugin runs on the nodes labelled ${DRA_NODE_LABEL}=${DRA_NODE_LABEL_VALUE}`,
  },
];

/**
 * The chart's values:
 * - GPU allocation on (`resources.gpus.enabled`), with `gpuResourcesEnabledOverride`: the chart refuses GPU allocation
 *   without it, since the driver's README does not call it supported yet;
 * - ComputeDomains (multi-node NVLink, IMEX) off: gpushare does not use them, and they need IMEX on the nodes;
 * - the kubelet plugin only on DRA pools' nodes ({@link DRA_NODE_LABEL}); the chart's own affinity (an NVIDIA PCI
 *   device or `nvidia.com/gpu.present`) still applies;
 * - the gates and consumable shares the stack's DRA pools need.
 */
export function draDriverValues(settings: DraDriverSettings): Values {
  const base: Values = {
    gpuResourcesEnabledOverride: true,
    resources: { gpus: { enabled: true }, computeDomains: { enabled: false } },
    featureGates: { ...(settings.featureGates ?? {}) },
    // The chart writes it into the plugin's environment as a string; "" leaves it off.
    consumableShares: settings.consumableShares === undefined ? "" : String(settings.consumableShares),
    kubeletPlugin: { nodeSelector: { [DRA_NODE_LABEL]: DRA_NODE_LABEL_VALUE } },
  };
  return deepMerge(base, settings.values ?? {});
}
