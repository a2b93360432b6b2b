import { stringify } from "yaml";
import { DEFAULT_DCGM_SERVICE_MONITOR, DEFAULT_GPU_DRIVER_ENABLED, DEFAULT_REBOOT_ON_MIG_CHANGE } from "../defaults";
import { defaultDevicePluginConfig, devicePluginConfig } from "../../gpu/device-plugin-config";
import { advertisedDevices, capacityPerNode, scaleCapacity } from "../../gpu/capacity";
import type { MigStrategy, PoolSharingSpec } from "../../gpu/capacity";
import { generationName } from "../../gpu/config-names";
import { draAdvertisedDevices } from "../../gpu/dra";
import type { LayoutUse, MigConfigEntry, MigManagerConfig } from "../../gpu/mig-manager-config";
import { migManagerConfig } from "../../gpu/mig-manager-config";
import { DRA_NODE_LABEL, DRA_NODE_LABEL_VALUE } from "./dra-driver-values";
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
/** NVIDIA's PCI vendor id, lowercase hex without 0x, as node-feature-discovery reports it. */
const NVIDIA_PCI_VENDOR = "10de";
export const NODE_FEATURE_RULE_API_VERSION = "nfd.k8s-sigs.io/v1alpha1";

/**
 * The label every node of a pool gets (value: the pool's name), and the one Triton servers select their pool's nodes
 * by. A contract: changing it would orphan every node's label and every server's node selector.
 */
export const POOL_LABEL = "gpushare.io/pool";
/** The label namespace of the pool label (`gpushare.io`), which node-feature-discovery must be allowed to write. */
const POOL_LABEL_NAMESPACE = POOL_LABEL.slice(0, POOL_LABEL.indexOf("/"));

/** The `gpu-operator` chart values the `GpuOperator` component owns; its `values` argument may not set them. */
export const OWNED_GPU_OPERATOR_VALUES: readonly OwnedValue[] = [
  { path: ["mig", "strategy"], use: "the migStrategy argument" },
  { path: ["devicePlugin", "config", "name"], use: "the pools' sharing (the component names the ConfigMap)" },
  { path: ["devicePlugin", "config", "default"], use: "the pools argument (the component sets the default config)" },
  { path: ["devicePlugin", "config", "create"], use: "the pools argument (the component creates the ConfigMap)" },
  { path: ["devicePlugin", "config", "data"], use: "the pools' sharing" },
  { path: ["migManager", "config", "name"], use: "the pools' MIG layouts (the component names the ConfigMap)" },
  { path: ["migManager", "config", "create"], use: "the pools' MIG layouts" },
  { path: ["migManager", "config", "data"], use: "the pools' MIG layouts" },
  { path: ["driver", "enabled"], use: "the driverEnabled argument" },
];

/**
 * A GPU pool as the GPU operator is asked to configure it: what it runs and how it shares it, and how its nodes are
 * recognised. Names, labels and capacity follow from it ({@link configuredPool}).
 */
export interface GpuOperatorPool {
  /** The pool's name: the value of its nodes' `gpushare.io/pool` label and the prefix of its config names. */
  readonly name: string;
  /** The pool's GPU model, GPUs per node and sharing (MIG layout, time-slicing, MPS), as `gpu/capacity` models it. */
  readonly sharing: PoolSharingSpec;
  /** The most nodes the pool scales to; its capacity in the `sharing` output is counted at this size. */
  readonly maxNodes: number;
  /**
   * Labels the pool's nodes already carry, with values the nodes of other pools of the same GPU model do not have.
   * @default - none: the pool's nodes are recognised by their GPU's PCI device id (and, given one, a node-name
   * pattern) alone, which tells apart only pools of different GPU models.
   */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /**
   * The name the stack file gives the pool's explicit MIG layout (`mig.name`), which deployments made before
   * configs were named after their content used as the layout's label value.
   * @default - `gpushare-<pool>` (`defaultMigLayoutPrefix` of `gpu/config-names`).
   */
  readonly migName?: string;
  /**
   * `dra`: the pool's devices are allocated by NVIDIA's DRA driver, so the operator's device plugin must not run on
   * its nodes (the driver's chart refuses to share a node with it); they get `nvidia.com/gpu.deploy.device-plugin:
   * "false"`, and `gpushare.io/gpu-allocation: dra`, which the driver's kubelet plugin selects. MIG layouts are still
   * mig-manager's.
   * @default "devicePlugin"
   * @see docs/dra.md
   */
  readonly allocation?: "devicePlugin" | "dra";
}

/** A pool with what follows from it: the name of its device-plugin config and its capacity at max nodes. */
export interface ConfiguredPool extends GpuOperatorPool {
  /**
   * The pool's key in the device-plugin ConfigMap and the value of its nodes' `nvidia.com/device-plugin.config`
   * label: `<pool>-<hash of the config>`, since the device plugin re-reads a config only when the label's value
   * changes.
   */
  readonly devicePluginConfig: string;
  /** Devices the pool advertises at its maximum node count, per resource. */
  readonly atMaxNodes: Readonly<Record<string, number>>;
}

/**
 * A pool's config names and capacity, derived from what it shares under the cluster's MIG strategy; a DRA pool's
 * capacity is what the DRA driver publishes, by DeviceClass.
 */
export function configuredPool(pool: GpuOperatorPool, migStrategy: MigStrategy): ConfiguredPool {
  const devices =
    pool.allocation === "dra" ? draAdvertisedDevices(pool.sharing) : advertisedDevices(pool.sharing, migStrategy);
  const perNode = capacityPerNode(devices);
  return {
    ...pool,
    // Named after its content: config-manager re-reads a config only when the node's label value changes.
    devicePluginConfig: generationName(pool.name, stringify(devicePluginConfig(pool.sharing, migStrategy))),
    atMaxNodes: scaleCapacity(perNode, pool.maxNodes),
  };
}

/**
 * What the GPU operator is configured with, as plain data: the builders below take it (its pools configured by
 * {@link configuredPools}), and `GpuOperatorArgs` extends it with what only a deployment has (the cluster's
 * provider, node-name patterns, what the previous deployment left).
 */
export interface GpuOperatorSettings {
  /**
   * The cluster's MIG strategy: the operator applies one to every node.
   * @see https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/gpu-operator-mig.html
   */
  readonly migStrategy: MigStrategy;
  /** The GPU pools whose device-plugin configs, MIG layouts and node labels the component writes. */
  readonly pools: readonly GpuOperatorPool[];
  /**
   * The operator is installed already: write only the two ConfigMaps and the node-labelling rules, no namespace
   * and no Helm release.
   * @default false
   */
  readonly installed?: boolean;
  /**
   * The operator's namespace; created unless `installed`. A contract: the ConfigMaps live here.
   * @default "gpu-operator"
   */
  readonly namespace?: string;
  /**
   * Version of the `gpu-operator` chart.
   * @default - `DEFAULT_GPU_OPERATOR_CHART_VERSION` (components/defaults.ts), the release gpushare was checked against.
   */
  readonly chartVersion?: string;
  /**
   * Helm repository of the chart.
   * @default - NVIDIA's, `DEFAULT_GPU_OPERATOR_REPOSITORY` (components/defaults.ts).
   */
  readonly repository?: string;
  /**
   * Install NVIDIA's driver container; false where the node image has the driver preinstalled.
   * @default true
   */
  readonly driverEnabled?: boolean;
  /**
   * Let mig-manager reboot a node when toggling MIG mode needs it (most cloud VMs).
   * @default false
   */
  readonly rebootOnMigChange?: boolean;
  /**
   * Have the chart create a ServiceMonitor for the DCGM exporter's GPU metrics.
   * @default true
   */
  readonly dcgmServiceMonitor?: boolean;
  /**
   * Labels the DCGM exporter's ServiceMonitor carries so that the cluster's Prometheus selects it (e.g.
   * `{release: <kube-prometheus-stack release>}`). Ignored with `installed`.
   * @default - none: only a Prometheus that selects every ServiceMonitor scrapes GPU metrics.
   */
  readonly serviceMonitorLabels?: Readonly<Record<string, string>>;
  /**
   * Chart values merged over the component's own; the values it owns ({@link OWNED_GPU_OPERATOR_VALUES}) are
   * refused.
   * @default {}
   * @see https://github.com/NVIDIA/gpu-operator/blob/main/deployments/gpu-operator/values.yaml
   */
  readonly values?: Values;
}

/** The cluster-wide part of the settings: what every pool's configs depend on. */
export type GpuOperatorPools = Pick<GpuOperatorSettings, "migStrategy" | "pools">;

/** The pools with their config names and capacity, under the cluster's MIG strategy. */
export interface ConfiguredPools {
  readonly migStrategy: MigStrategy;
  readonly pools: readonly ConfiguredPool[];
}

/** Every pool configured under the settings' MIG strategy. */
export function configuredPools(settings: GpuOperatorPools): ConfiguredPools {
  return {
    migStrategy: settings.migStrategy,
    pools: settings.pools.map((p) => configuredPool(p, settings.migStrategy)),
  };
}

/**
 * Helm values of the `gpu-operator` chart: the cluster's MIG strategy, the two ConfigMaps gpushare writes,
 * the driver and DCGM switches, and node-feature-discovery allowed to write the pool label. The extra `values`
 * are merged last, so they win; the component refuses the keys it owns before this is called.
 * @see https://github.com/NVIDIA/gpu-operator/blob/main/deployments/gpu-operator/values.yaml
 */
export function gpuOperatorValues(settings: GpuOperatorSettings): Values {
  const serviceMonitor: Values = { enabled: settings.dcgmServiceMonitor ?? DEFAULT_DCGM_SERVICE_MONITOR };
  if (settings.serviceMonitorLabels !== undefined && Object.keys(settings.serviceMonitorLabels).length > 0) {
    serviceMonitor.additionalLabels = { ...settings.serviceMonitorLabels };
  }
  const migManager: Values = { config: { name: MIG_CONFIG_MAP, default: DEFAULT_MIG_CONFIG } };
  // mig-manager reads WITH_REBOOT as false when unset; cloud VMs often need the reboot to toggle MIG mode.
  if (settings.rebootOnMigChange ?? DEFAULT_REBOOT_ON_MIG_CHANGE)
    migManager.env = [{ name: "WITH_REBOOT", value: "true" }];
  const values: Values = {
    mig: { strategy: settings.migStrategy },
    migManager,
    devicePlugin: { config: { name: DEVICE_PLUGIN_CONFIG_MAP, default: DEFAULT_DEVICE_PLUGIN_CONFIG_KEY } },
    driver: { enabled: settings.driverEnabled ?? DEFAULT_GPU_DRIVER_ENABLED },
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
  return deepMerge(values, settings.values ?? {});
}

/**
 * The device-plugin ConfigMap's data: one key per pool (`<pool>-<content hash>`, which the pool's nodes carry in
 * `nvidia.com/device-plugin.config`), `default` for every other node, and the `retained` keys of the previous
 * generation that no pool uses any more (`retainedConfigs` of `./gpu-operator-sharing-state`).
 * @see https://github.com/NVIDIA/k8s-device-plugin#multiple-config-file-example
 */
export function devicePluginConfigData(
  settings: ConfiguredPools,
  retained: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const data: Record<string, string> = {
    [DEFAULT_DEVICE_PLUGIN_CONFIG_KEY]: stringify(defaultDevicePluginConfig(settings.migStrategy)),
  };
  for (const pool of settings.pools) {
    data[pool.devicePluginConfig] = stringify(devicePluginConfig(pool.sharing, settings.migStrategy));
  }
  for (const key of Object.keys(retained).sort()) data[key] ??= retained[key];
  return data;
}

/** The MIG layouts the pools use, named as their nodes' `nvidia.com/mig.config` label. */
export function migLayoutUses(pools: readonly GpuOperatorPool[]): LayoutUse[] {
  const uses: LayoutUse[] = [];
  for (const pool of pools) {
    const mig = pool.sharing.mig;
    if (mig === undefined) continue;
    uses.push({ name: mig.configName, gpu: pool.sharing.gpu, migEnabled: mig.migEnabled, counts: mig.counts });
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
  pools: readonly GpuOperatorPool[],
  retained: Readonly<Record<string, readonly MigConfigEntry[]>> = {},
): Record<string, string> {
  return { [MIG_CONFIG_KEY]: stringify(migManagerConfig(migLayoutUses(pools), retained)) };
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
        `pools.${pool}: its nodes would carry ${DEVICE_PLUGIN_CONFIG_LABEL}=${dp}, but ${DEVICE_PLUGIN_CONFIG_MAP} has no key ${dp} (keys: ${Object.keys(devicePluginData).sort().join(", ")})`,
      );
    }
    const layout = l[MIG_CONFIG_LABEL];
    if (layout !== undefined && migConfig["mig-configs"][layout] === undefined) {
      problems.push(
        `pools.${pool}: its nodes would carry ${MIG_CONFIG_LABEL}=${layout}, but ${MIG_CONFIG_MAP} defines no layout ${layout} (layouts: ${Object.keys(migConfig["mig-configs"]).sort().join(", ")})`,
      );
    }
  }
  return problems;
}

/** The operator's per-node switch of its device plugin DaemonSet. */
export const DEVICE_PLUGIN_DEPLOY_LABEL = "nvidia.com/gpu.deploy.device-plugin";

/**
 * The MIG layout a pool's nodes are labelled with: its own, `all-disabled` on a MIG-capable GPU without a `mig`
 * section (so that removing one turns MIG off visibly instead of leaving the last layout in place), none on others.
 */
export function poolMigLayout(sharing: Pick<PoolSharingSpec, "gpu" | "mig">): string | undefined {
  if (sharing.mig !== undefined) return sharing.mig.configName;
  return sharing.gpu.mig === undefined ? undefined : DEFAULT_MIG_CONFIG;
}

/**
 * The labels every node of a pool gets: the pool label servers select on, the device-plugin config key and,
 * on MIG-capable GPUs, the MIG layout (`all-disabled` for a pool without a `mig` section, so that removing
 * one turns MIG off visibly instead of leaving the last layout in place).
 */
export function poolNodeLabels(pool: ConfiguredPool): Record<string, string> {
  const labels: Record<string, string> = {
    [POOL_LABEL]: pool.name,
    [DEVICE_PLUGIN_CONFIG_LABEL]: pool.devicePluginConfig,
  };
  const layout = poolMigLayout(pool.sharing);
  if (layout !== undefined) labels[MIG_CONFIG_LABEL] = layout;
  if (pool.allocation === "dra") {
    labels[DEVICE_PLUGIN_DEPLOY_LABEL] = "false";
    labels[DRA_NODE_LABEL] = DRA_NODE_LABEL_VALUE;
  }
  return labels;
}

/** What {@link poolLabelConflicts} needs of a pool: its name, GPU model and the node labels it is known by. */
export type LabelledPool = Pick<GpuOperatorPool, "name" | "nodeSelector"> & {
  readonly sharing: Pick<PoolSharingSpec, "gpu">;
};

function sharesPciIds(a: LabelledPool, b: LabelledPool): boolean {
  return a.sharing.gpu.pciDeviceIds.some((id) => b.sharing.gpu.pciDeviceIds.includes(id));
}

/** Other pools whose GPUs node-feature-discovery cannot tell from this pool's by PCI id. */
function sameGpuPools<P extends LabelledPool>(pools: readonly P[], pool: P): P[] {
  return pools.filter((p) => p.name !== pool.name && sharesPciIds(p, pool));
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
export function poolsLabelledByNodeGroup(
  pools: readonly LabelledPool[],
  hasNamePattern: (pool: string) => boolean,
): string[] {
  return pools.filter((p) => !hasNamePattern(p.name) && sameGpuPools(pools, p).length > 0).map((p) => p.name);
}

/**
 * Why the pools cannot be labelled apart, one message per problem (empty when they can). Pools of one GPU model
 * look the same to node-feature-discovery; each needs a node-name pattern or a `nodeSelector` its node group
 * already carries, and two pools told apart by `nodeSelector` need a label key with different values.
 *
 * @param hasNamePattern whether the named pool's nodes are matched by a node-name pattern too.
 * @param at where the caller's input holds the pool, for the messages: `pools.<pool>` of the component's
 * arguments, or wherever the caller's own input holds it.
 */
export function poolLabelConflicts(
  pools: readonly LabelledPool[],
  hasNamePattern: (pool: string) => boolean,
  at: (pool: string) => string = (pool) => `pools.${pool}`,
): string[] {
  const problems: string[] = [];
  const identified = (p: LabelledPool): boolean => hasNamePattern(p.name) || p.nodeSelector !== undefined;
  pools.forEach((pool, i) => {
    const same = sameGpuPools(pools, pool);
    if (same.length === 0) return;
    const poolAt = at(pool.name);
    if (!identified(pool)) {
      problems.push(
        `${poolAt}.nodeSelector: missing, but pool${same.length > 1 ? "s" : ""} ${same.map((p) => p.name).join(", ")} ${same.length > 1 ? "run" : "runs"} the same GPU (${pool.sharing.gpu.name}) and node-feature-discovery cannot tell their nodes apart by PCI id, nor by node name in existing-cluster mode; set ${poolAt}.nodeSelector to a label this pool's node group already carries with a value the other pools' nodes do not have, or merge the pools`,
      );
      return;
    }
    for (const other of pools.slice(0, i)) {
      if (!same.includes(other) || hasNamePattern(pool.name) || hasNamePattern(other.name)) continue;
      const mine = pool.nodeSelector;
      const theirs = other.nodeSelector;
      if (mine === undefined || theirs === undefined || selectorsExclude(mine, theirs)) continue;
      problems.push(
        `${poolAt}.nodeSelector: ${JSON.stringify(mine)} and ${at(other.name)}.nodeSelector ${JSON.stringify(theirs)} can both match one node, and both pools run ${pool.sharing.gpu.name}; give both a label key with different values (e.g. the node group's name label) so that each node belongs to one pool`,
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
export function nodeFeatureRuleSpec<P = never>(pool: ConfiguredPool, namePattern?: P): NodeFeatureRuleSpec<P> {
  const matchFeatures: NodeFeatureRuleSpec<P>["rules"][number]["matchFeatures"] = [
    {
      feature: "pci.device",
      matchExpressions: {
        vendor: { op: "In", value: [NVIDIA_PCI_VENDOR] },
        device: { op: "In", value: [...pool.sharing.gpu.pciDeviceIds] },
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
