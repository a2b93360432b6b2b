import { stringify } from "yaml";
import { defaultDevicePluginConfig, devicePluginConfig } from "../../gpu/device-plugin-config";
import type { MigStrategy } from "../../gpu/capacity";
import type { LayoutUse, MigConfigEntry, MigManagerConfig } from "../../gpu/mig-manager-config";
import { migManagerConfig } from "../../gpu/mig-manager-config";
import type { PoolConfig, StackConfig } from "../../stacks/config";
import { POOL_LABEL } from "../../stacks/defaults";
import { deepMerge, type OwnedValue, type Values } from "./helm-values";

/**
 * Pure builders behind the `GpuOperator` component: the Helm values of the NVIDIA GPU operator chart, the data
 * of the device-plugin and mig-manager ConfigMaps, and the node-feature-discovery rules that label each pool's
 * nodes. No Pulumi import: everything here can be tested and previewed without a cluster.
 */

/**
 * Name of the ConfigMap holding one device-plugin config per pool. A contract: the chart's
 * `devicePlugin.config.name` points at it, and so must an operator installed outside gpushare.
 */
export const DEVICE_PLUGIN_CONFIG_MAP = "gpushare-device-plugin-configs";
/**
 * Name of the ConfigMap holding mig-manager's config. A contract: the chart's `migManager.config.name` points
 * at it, and so must an operator installed outside gpushare.
 */
export const MIG_CONFIG_MAP = "gpushare-mig-configs";
/** The key mig-manager reads its config from; the chart requires exactly this one. */
export const MIG_CONFIG_KEY = "config.yaml";
/** The device-plugin config key of nodes that carry no `nvidia.com/device-plugin.config` label. */
export const DEFAULT_DEVICE_PLUGIN_CONFIG_KEY = "default";
/** The MIG layout of MIG-capable nodes that carry no layout of their own: MIG off. */
export const DEFAULT_MIG_CONFIG = "all-disabled";

/** The node label that picks a node's key in the device-plugin ConfigMap. */
export const DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config";
/** The node label that picks a node's layout in the mig-manager config. */
export const MIG_CONFIG_LABEL = "nvidia.com/mig.config";
/** The node label mig-manager reports a layout change on: pending, rebooting, success or failed. */
export const MIG_CONFIG_STATE_LABEL = "nvidia.com/mig.config.state";
/** NVIDIA's PCI vendor id, lowercase hex without 0x, as node-feature-discovery reports it. */
export const NVIDIA_PCI_VENDOR = "10de";
export const NODE_FEATURE_RULE_API_VERSION = "nfd.k8s-sigs.io/v1alpha1";

/** The label namespace of the pool label (`gpushare.io`), which node-feature-discovery must be allowed to write. */
export const POOL_LABEL_NAMESPACE = POOL_LABEL.slice(0, POOL_LABEL.indexOf("/"));

/**
 * The `gpu-operator` chart values gpushare owns; `parseStackConfig` refuses them in the stack's
 * `gpuOperator.values`.
 */
export const OWNED_OPERATOR_VALUES: readonly OwnedValue[] = [
  { path: ["mig", "strategy"], use: "cluster.migStrategy" },
  { path: ["devicePlugin", "config", "name"], use: "gpuPools.<pool>.timeSlicing / mps (gpushare names the ConfigMap)" },
  { path: ["devicePlugin", "config", "default"], use: "gpuPools.<pool> (gpushare sets the default config)" },
  { path: ["devicePlugin", "config", "create"], use: "gpuPools.<pool> (gpushare creates the ConfigMap)" },
  { path: ["devicePlugin", "config", "data"], use: "gpuPools.<pool>.timeSlicing / mps" },
  { path: ["migManager", "config", "name"], use: "gpuPools.<pool>.mig (gpushare names the ConfigMap)" },
  { path: ["migManager", "config", "create"], use: "gpuPools.<pool>.mig" },
  { path: ["migManager", "config", "data"], use: "gpuPools.<pool>.mig" },
  { path: ["driver", "enabled"], use: "gpuOperator.driverEnabled" },
];

/** Knobs of the values that come from other components rather than from stack config. */
export interface GpuOperatorValuesOptions {
  /** Labels the DCGM exporter's ServiceMonitor needs for the cluster's Prometheus to select it. */
  readonly serviceMonitorLabels?: Readonly<Record<string, string>>;
}

/**
 * Helm values of the `gpu-operator` chart: the cluster's MIG strategy, the two ConfigMaps gpushare writes,
 * the driver and DCGM switches, and node-feature-discovery allowed to write the pool label. The stack's
 * `gpuOperator.values` are merged last, so they win; `parseStackConfig` already refuses the keys gpushare owns.
 * @see https://github.com/NVIDIA/gpu-operator/blob/main/deployments/gpu-operator/values.yaml
 */
export function gpuOperatorValues(config: StackConfig, options: GpuOperatorValuesOptions = {}): Values {
  const settings = config.raw.gpuOperator;
  const serviceMonitor: Values = { enabled: settings.dcgmServiceMonitor };
  if (options.serviceMonitorLabels !== undefined && Object.keys(options.serviceMonitorLabels).length > 0) {
    serviceMonitor.additionalLabels = { ...options.serviceMonitorLabels };
  }
  const migManager: Values = { config: { name: MIG_CONFIG_MAP, default: DEFAULT_MIG_CONFIG } };
  // mig-manager reads WITH_REBOOT as false when unset; cloud VMs often need the reboot to toggle MIG mode.
  if (settings.rebootOnMigChange) migManager.env = [{ name: "WITH_REBOOT", value: "true" }];
  const values: Values = {
    mig: { strategy: config.migStrategy },
    migManager,
    devicePlugin: { config: { name: DEVICE_PLUGIN_CONFIG_MAP, default: DEFAULT_DEVICE_PLUGIN_CONFIG_KEY } },
    driver: { enabled: settings.driverEnabled },
    dcgmExporter: { serviceMonitor },
    // The rules in nodeFeatureRuleSpec need the NodeFeatureRule CRD and an nfd-master, which this subchart brings.
    nfd: { enabled: true },
    "node-feature-discovery": {
      master: {
        config: {
          // A list replaces the chart's own, so nvidia.com (the chart's default) is repeated. NFD 0.19 denies
          // only *.kubernetes.io by default; naming gpushare.io keeps the pool label allowed even if a
          // denyLabelNs is added later.
          extraLabelNs: ["nvidia.com", POOL_LABEL_NAMESPACE],
        },
      },
    },
  };
  return deepMerge(values, settings.values);
}

/**
 * The device-plugin ConfigMap's data: one key per pool (`<pool>-<content hash>`, which the pool's nodes carry in
 * `nvidia.com/device-plugin.config`), `default` for every other node, and the `retained` keys of the previous
 * generation that no pool uses any more (see {@link retainedConfigs}).
 * @see https://github.com/NVIDIA/k8s-device-plugin#multiple-config-file-example
 */
export function devicePluginConfigData(
  config: StackConfig,
  retained: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const data: Record<string, string> = {
    [DEFAULT_DEVICE_PLUGIN_CONFIG_KEY]: stringify(defaultDevicePluginConfig(config.migStrategy)),
  };
  for (const pool of config.pools) {
    data[pool.devicePluginConfig] = stringify(devicePluginConfig(pool.sharing, config.migStrategy));
  }
  for (const key of Object.keys(retained).sort()) data[key] ??= retained[key];
  return data;
}

/** The MIG layouts the pools use, named as their nodes' `nvidia.com/mig.config` label. */
export function migLayoutUses(config: StackConfig): LayoutUse[] {
  const uses: LayoutUse[] = [];
  for (const pool of config.pools) {
    const mig = pool.sharing.mig;
    if (mig === undefined) continue;
    uses.push({ name: mig.configName, gpu: pool.gpu, migEnabled: mig.migEnabled, counts: mig.counts });
  }
  return uses;
}

/**
 * The mig-manager ConfigMap's data: `config.yaml` with every layout a pool uses, `all-disabled`, and the
 * `retained` layouts of the previous generation. A custom config replaces mig-manager's generated ones, so
 * nothing else is available to nodes.
 * @see https://github.com/NVIDIA/mig-parted#configuration-file-format
 */
export function migManagerConfigData(
  config: StackConfig,
  retained: Readonly<Record<string, readonly MigConfigEntry[]>> = {},
): Record<string, string> {
  return { [MIG_CONFIG_KEY]: stringify(migManagerConfig(migLayoutUses(config), retained)) };
}

/**
 * What a deployment leaves for the next one to read (the stack output `sharing`): the cluster's MIG strategy,
 * per pool the labels its nodes carry and what it advertises at max nodes, and the content of every config a
 * node label can name. The next `pulumi up` keeps these configs while it moves the labels, and its preview
 * compares capacity against them.
 */
export interface SharingState {
  readonly migStrategy: MigStrategy;
  readonly pools: Readonly<
    Record<
      string,
      { readonly labels: Readonly<Record<string, string>>; readonly atMaxNodes: Readonly<Record<string, number>> }
    >
  >;
  /** Device-plugin ConfigMap keys of the pools (not `default`) → config YAML. */
  readonly devicePluginConfigs: Readonly<Record<string, string>>;
  /** mig-manager layouts (not `all-disabled`) → their entries. */
  readonly migConfigs: Readonly<Record<string, readonly MigConfigEntry[]>>;
}

export function sharingState(config: StackConfig): SharingState {
  const dp = devicePluginConfigData(config);
  delete dp[DEFAULT_DEVICE_PLUGIN_CONFIG_KEY];
  const mig = { ...migManagerConfig(migLayoutUses(config))["mig-configs"] };
  delete mig[DEFAULT_MIG_CONFIG];
  return {
    migStrategy: config.migStrategy,
    pools: Object.fromEntries(
      config.pools.map((p) => [p.name, { labels: poolNodeLabels(p), atMaxNodes: { ...p.atMaxNodes } }]),
    ),
    devicePluginConfigs: dp,
    migConfigs: mig,
  };
}

/** Configs of the previous generation to keep while node labels move to the current one. */
export interface RetainedConfigs {
  readonly devicePlugin: Readonly<Record<string, string>>;
  readonly mig: Readonly<Record<string, readonly MigConfigEntry[]>>;
}

/**
 * The configs of the previous deployment that the current one no longer names. Until node-feature-discovery has
 * moved every node's labels (after this `pulumi up` updated the rules), nodes still point at them; if the
 * device plugin or mig-manager restarts meanwhile it must find them. The next `pulumi up` drops them.
 *
 * `previous` is the previous deployment's `sharing` output; `legacyPools` are the pools of a deployment made
 * before configs were named after their content (it exported `capacity` but no `sharing`): their nodes point at
 * `<pool>` and `gpushare-<pool>`, kept here with the current content until the labels have moved.
 */
export function retainedConfigs(
  config: StackConfig,
  previous: SharingState | undefined,
  legacyPools: readonly string[] = [],
): RetainedConfigs {
  const currentDp = devicePluginConfigData(config);
  const currentMig = migManagerConfig(migLayoutUses(config))["mig-configs"];
  const devicePlugin: Record<string, string> = {};
  const mig: Record<string, MigConfigEntry[]> = {};
  for (const [key, content] of Object.entries(previous?.devicePluginConfigs ?? {})) {
    if (currentDp[key] === undefined) devicePlugin[key] = content;
  }
  for (const [name, entries] of Object.entries(previous?.migConfigs ?? {})) {
    if (currentMig[name] === undefined) mig[name] = entries.map((e) => ({ ...e }));
  }
  for (const name of legacyPools) {
    const pool = config.pools.find((p) => p.name === name);
    if (pool === undefined) continue;
    if (currentDp[name] === undefined) devicePlugin[name] = currentDp[pool.devicePluginConfig];
    const legacyLayout = pool.raw.mig?.name ?? `gpushare-${name}`;
    if (pool.sharing.mig !== undefined && currentMig[legacyLayout] === undefined) {
      mig[legacyLayout] = currentMig[pool.sharing.mig.configName].map((e) => ({ ...e }));
    }
  }
  return { devicePlugin, mig };
}

/**
 * Label values the pools' nodes would carry that their ConfigMaps lack, as messages (empty when none): a node
 * pointing at a missing config makes config-manager fail ("specified config ... does not exist") or mig-manager
 * mark the node `failed`.
 */
export function danglingConfigNames(
  labels: Readonly<Record<string, Readonly<Record<string, string>>>>,
  devicePluginData: Readonly<Record<string, string>>,
  migConfig: MigManagerConfig,
): string[] {
  const problems: string[] = [];
  for (const [pool, l] of Object.entries(labels)) {
    const dp = l[DEVICE_PLUGIN_CONFIG_LABEL];
    if (dp !== undefined && devicePluginData[dp] === undefined) {
      problems.push(
        `gpuPools.${pool}: its nodes would carry ${DEVICE_PLUGIN_CONFIG_LABEL}=${dp}, but ${DEVICE_PLUGIN_CONFIG_MAP} has no key ${dp} (keys: ${Object.keys(devicePluginData).sort().join(", ")})`,
      );
    }
    const layout = l[MIG_CONFIG_LABEL];
    if (layout !== undefined && migConfig["mig-configs"][layout] === undefined) {
      problems.push(
        `gpuPools.${pool}: its nodes would carry ${MIG_CONFIG_LABEL}=${layout}, but ${MIG_CONFIG_MAP} defines no layout ${layout} (layouts: ${Object.keys(migConfig["mig-configs"]).sort().join(", ")})`,
      );
    }
  }
  return problems;
}

/**
 * The labels every node of a pool gets: the pool label servers select on, the device-plugin config key and,
 * on MIG-capable GPUs, the MIG layout (`all-disabled` for a pool without a `mig` section, so that removing
 * one turns MIG off visibly instead of leaving the last layout in place).
 */
export function poolNodeLabels(pool: PoolConfig): Record<string, string> {
  const labels: Record<string, string> = {
    [POOL_LABEL]: pool.name,
    [DEVICE_PLUGIN_CONFIG_LABEL]: pool.devicePluginConfig,
  };
  if (pool.sharing.mig !== undefined) labels[MIG_CONFIG_LABEL] = pool.sharing.mig.configName;
  else if (pool.gpu.mig !== undefined) labels[MIG_CONFIG_LABEL] = DEFAULT_MIG_CONFIG;
  return labels;
}

function sharesPciIds(a: PoolConfig, b: PoolConfig): boolean {
  return a.gpu.pciDeviceIds.some((id) => b.gpu.pciDeviceIds.includes(id));
}

/** Other pools whose GPUs node-feature-discovery cannot tell from this pool's by PCI id. */
function sameGpuPools(config: StackConfig, pool: PoolConfig): PoolConfig[] {
  return config.pools.filter((p) => p.name !== pool.name && sharesPciIds(p, pool));
}

/** Whether two label selectors can never match the same node: some key they both name has different values. */
function selectorsExclude(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  return Object.entries(a).some(([key, value]) => b[key] !== undefined && b[key] !== value);
}

/**
 * Pools whose labels gpushare cannot apply and whose node groups must carry `poolNodeLabels` themselves: they
 * share a GPU model with another pool and have no node-name pattern, only a `nodeSelector` (existing-cluster
 * mode). node-feature-discovery sees PCI ids and node names, never existing node labels, so a rule by PCI id
 * would label the other pool's nodes too.
 */
export function poolsLabelledByNodeGroup(config: StackConfig, hasNamePattern: (pool: PoolConfig) => boolean): string[] {
  return config.pools.filter((p) => !hasNamePattern(p) && sameGpuPools(config, p).length > 0).map((p) => p.name);
}

/**
 * Why the pools of a stack cannot be labelled apart, one message per problem (empty when they can). Pools
 * of one GPU model look the same to node-feature-discovery; each needs a node-name pattern (OpenStack mode)
 * or a `nodeSelector` its node group already carries, and two pools told apart by `nodeSelector` need a label
 * key with different values. `parseStackConfig` (or the platform, which knows the name patterns) reports these
 * with the other config problems.
 */
export function poolLabelConflicts(config: StackConfig, hasNamePattern: (pool: PoolConfig) => boolean): string[] {
  const problems: string[] = [];
  const identified = (p: PoolConfig): boolean => hasNamePattern(p) || p.raw.nodeSelector !== undefined;
  config.pools.forEach((pool, i) => {
    const same = sameGpuPools(config, pool);
    if (same.length === 0) return;
    const at = `gpuPools.${pool.name}`;
    if (!identified(pool)) {
      problems.push(
        `${at}.nodeSelector: missing, but pool${same.length > 1 ? "s" : ""} ${same.map((p) => p.name).join(", ")} ${same.length > 1 ? "run" : "runs"} the same GPU (${pool.gpu.name}) and node-feature-discovery cannot tell their nodes apart by PCI id, nor by node name in existing-cluster mode; set ${at}.nodeSelector to a label this pool's node group already carries with a value the other pools' nodes do not have, or merge the pools`,
      );
      return;
    }
    for (const other of config.pools.slice(0, i)) {
      if (!same.includes(other) || hasNamePattern(pool) || hasNamePattern(other)) continue;
      const mine = pool.raw.nodeSelector;
      const theirs = other.raw.nodeSelector;
      if (mine === undefined || theirs === undefined || selectorsExclude(mine, theirs)) continue;
      problems.push(
        `${at}.nodeSelector: ${JSON.stringify(mine)} and gpuPools.${other.name}.nodeSelector ${JSON.stringify(theirs)} can both match one node, and both pools run ${pool.gpu.name}; give both a label key with different values (e.g. the node group's name label) so that each node belongs to one pool`,
      );
    }
  });
  return problems;
}

/** A NodeFeatureRule's `spec`, with the node-name pattern left as whatever type the caller holds (an Output). */
export interface NodeFeatureRuleSpec<P> {
  rules: {
    name: string;
    labels: Record<string, string>;
    matchFeatures: {
      feature: string;
      matchExpressions: Record<string, { op: string; value: (string | P)[] }>;
    }[];
  }[];
}

/**
 * The node-feature-discovery rule that labels a pool's nodes, including nodes an autoscaler adds later: it
 * matches an NVIDIA PCI device of the pool's GPU model and, when given, a node name matching `namePattern`.
 * Both terms must hold; within the `pci.device` term vendor and device must hold for the same device.
 * @see https://kubernetes-sigs.github.io/node-feature-discovery/stable/usage/customization-guide.html#nodefeaturerule-custom-resource
 */
export function nodeFeatureRuleSpec<P = never>(pool: PoolConfig, namePattern?: P): NodeFeatureRuleSpec<P> {
  const matchFeatures: NodeFeatureRuleSpec<P>["rules"][number]["matchFeatures"] = [
    {
      feature: "pci.device",
      matchExpressions: {
        vendor: { op: "In", value: [NVIDIA_PCI_VENDOR] },
        device: { op: "In", value: [...pool.gpu.pciDeviceIds] },
      },
    },
  ];
  if (namePattern !== undefined) {
    matchFeatures.push({
      feature: "system.name",
      matchExpressions: { nodename: { op: "InRegexp", value: [namePattern] } },
    });
  }
  return { rules: [{ name: `gpushare-pool-${pool.name}`, labels: poolNodeLabels(pool), matchFeatures }] };
}
