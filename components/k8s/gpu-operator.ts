import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { inputPropertyErrors } from "../../problems";
import { migManagerConfig } from "../../gpu/mig-manager-config";
import {
  DEFAULT_GPU_OPERATOR_CHART_VERSION,
  DEFAULT_GPU_OPERATOR_NAMESPACE,
  DEFAULT_GPU_OPERATOR_REPOSITORY,
} from "../defaults";
import {
  DEVICE_PLUGIN_CONFIG_MAP,
  MIG_CONFIG_MAP,
  NODE_FEATURE_RULE_API_VERSION,
  OWNED_GPU_OPERATOR_VALUES,
  POOL_LABEL,
  configuredPools,
  type ConfiguredPools,
  danglingConfigNames,
  devicePluginConfigData,
  gpuOperatorValues,
  migLayoutUses,
  migManagerConfigData,
  nodeFeatureRuleSpec,
  poolLabelConflicts,
  poolNodeLabels,
  poolsLabelledByNodeGroup,
  type GpuOperatorSettings,
} from "./gpu-operator-values";
import { ownedValuesSet } from "./helm-values";
import { type PreviousSharing, retainedConfigs, type SharingState, sharingState } from "./gpu-operator-sharing-state";

/** The chart gpushare installs from the `repository` argument. */
export const GPU_OPERATOR_CHART = "gpu-operator";
/**
 * Helm release name. Fixed rather than auto-named because the chart derives its objects' names from it
 * (`<release>-node-feature-discovery-master`, ...) and those must stay within 63 characters; a cluster runs one
 * operator anyway, and `gpu-operator` is the name NVIDIA's install guide uses.
 */
export const GPU_OPERATOR_RELEASE_NAME = "gpu-operator";
/**
 * @default - seconds Helm waits for the operator, node-feature-discovery and their CRDs to be ready. The GPU
 * operands (driver, device plugin) are created later by the operator itself and are not waited for.
 */
export const DEFAULT_GPU_OPERATOR_TIMEOUT_SECONDS = 600;

/**
 * The GPU operator's settings (`GpuOperatorSettings`: the MIG strategy, the pools, the chart and its switches) and
 * what only a deployment knows.
 * @see https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/getting-started.html
 */
export interface GpuOperatorArgs extends GpuOperatorSettings {
  /**
   * Pool name → regular expression (RE2, as node-feature-discovery's `InRegexp` reads it) matching the names of
   * the pool's nodes. Known in OpenStack mode, where node groups name their nodes; a pool with a pattern is
   * labelled only on nodes whose name matches, which tells apart pools of one GPU model.
   * @default - no pattern: a pool's nodes are recognised by its GPU's PCI device id alone.
   * @see https://kubernetes-sigs.github.io/node-feature-discovery/stable/usage/customization-guide.html#available-features
   */
  readonly nodeNamePatterns?: Record<string, pulumi.Input<string>>;
  /**
   * What the previous deployment left (`readPreviousSharing` of `./gpu-operator-sharing-state`, from the stack's outputs). The
   * configs it names that this deployment no longer does stay in the ConfigMaps until the next update, so that
   * nodes whose labels are still moving find them.
   * @default - nothing: a first deployment.
   */
  readonly previous?: pulumi.Input<PreviousSharing>;
  /**
   * How to reach the cluster: the arguments of the Kubernetes provider this component is given (through
   * `providers`). The component writes its two ConfigMaps through a provider of its own built from them, with
   * `enableConfigMapMutable`: the Kubernetes provider otherwise replaces a ConfigMap whose data changes, and one
   * with a fixed name is replaced by deleting it first — for that moment every node's label would name a config
   * that does not exist.
   * @default - `{}`: the ambient kubeconfig and context, as the default Kubernetes provider reads them.
   * @see https://www.pulumi.com/registry/packages/kubernetes/api-docs/provider/#enableconfigmapmutable_nodejs
   */
  readonly providerArgs?: k8s.ProviderArgs;
  /**
   * URNs the ConfigMap provider had before this component created it (e.g. where a caller created it under
   * another name), so that existing stacks update it rather than replace it and both ConfigMaps with it.
   * @default - none.
   */
  readonly configMapProviderAliases?: pulumi.Input<pulumi.URN | pulumi.Alias>[];
}

/**
 * The NVIDIA GPU operator, configured to split each pool's GPUs as its `sharing` says.
 *
 * It writes two ConfigMaps in the operator's namespace — `gpushare-device-plugin-configs` (one device-plugin
 * config per pool, keyed `<pool>-<content hash>`, plus `default`) and `gpushare-mig-configs` (mig-manager's
 * `config.yaml` with every layout a pool uses plus `all-disabled`; explicit layouts are named
 * `<mig.name or gpushare-pool>-<content hash>`) — installs the `gpu-operator` chart pointing at them, and adds one
 * node-feature-discovery `NodeFeatureRule` per pool that gives the pool's nodes, including nodes an autoscaler
 * adds later, `gpushare.io/pool=<pool>`, `nvidia.com/device-plugin.config=<key>` and, on MIG GPUs,
 * `nvidia.com/mig.config=<layout>`.
 *
 * **Why the names carry a content hash.** NVIDIA's config-manager (the device plugin's sidecar) and mig-manager
 * act only when a node's label value changes; a ConfigMap rewritten under the same key is never read again. A
 * changed config is a changed name, so the rule moves the label and the node acts. The ConfigMaps are written
 * before the rules (a label never names a key that is not there yet), and keep the previous generation's keys
 * (from `previous`) until the next update, so a plugin restarting while labels move still finds its config.
 *
 * **An operator installed outside gpushare** (`installed: true`): no namespace and no Helm release
 * are created, only the two ConfigMaps (in `namespace`, which must exist) and the rules. The
 * existing release must then reference the ConfigMaps by name, or the pools' sharing never takes effect:
 * ```
 * helm upgrade <release> nvidia/gpu-operator -n <namespace> --reuse-values \
 *   --set devicePlugin.config.name=gpushare-device-plugin-configs --set devicePlugin.config.default=default \
 *   --set migManager.config.name=gpushare-mig-configs --set migManager.config.default=all-disabled \
 *   --set mig.strategy=<migStrategy>
 * ```
 * The names are the component's `devicePluginConfigMap` and `migConfigMap` outputs. The rules need that
 * release's node-feature-discovery (or another deployment of it that serves the NodeFeatureRule CRD).
 *
 * **Changing a pool's layout on a live cluster.** `pulumi preview` shows the change as field diffs: the pool's
 * NodeFeatureRule label `nvidia.com/mig.config` and, for explicit layouts or new time-slicing, the keys of the
 * two ConfigMaps. On `pulumi up`, node-feature-discovery relabels every node of the pool; mig-manager on each
 * node sees the new label, sets `nvidia.com/mig.config.state=pending`, stops the operator's GPU clients on the
 * node (device plugin, GFD, DCGM exporter: `nvidia.com/gpu.deploy.*=paused-for-mig-change`), repartitions the
 * GPUs — rebooting the node first when `rebootOnMigChange` is set (state `rebooting`) — restarts the
 * clients and sets the state to `success`, or to `failed` keeping the old layout. It evicts no pods: a server
 * pod still holding a GPU makes the repartitioning fail, and pods asking for resources the new layout no longer
 * advertises stay Pending. Scale the pool's servers down first, or expect an outage on that pool.
 * @see https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/gpu-operator-mig.html
 */
export class GpuOperator extends pulumi.ComponentResource {
  /** The operator's namespace; resolves once it exists (when gpushare creates it). */
  public readonly namespace: pulumi.Output<string>;
  /** Name of the device-plugin ConfigMap (`devicePlugin.config.name` of the chart). */
  public readonly devicePluginConfigMap: pulumi.Output<string>;
  /** Name of the mig-manager ConfigMap (`migManager.config.name` of the chart). */
  public readonly migConfigMap: pulumi.Output<string>;
  /** Per pool, the labels its nodes get. */
  public readonly nodeLabels: Record<string, Record<string, string>>;
  /**
   * Pools gpushare cannot label (same GPU model as another pool, no node-name pattern): their node groups must
   * carry `nodeLabels[pool]` themselves.
   */
  public readonly poolsLabelledByNodeGroup: string[];
  /** What this deployment configured, for the next one to keep and compare against (stack output `sharing`). */
  public readonly sharing: SharingState;

  constructor(name: string, args: GpuOperatorArgs, opts?: pulumi.ComponentResourceOptions) {
    const configured = configuredPools(args);
    const { pools } = configured;
    const patterns = args.nodeNamePatterns ?? {};
    const hasNamePattern = (pool: string): boolean => patterns[pool] !== undefined;
    // Before super(): bad arguments register nothing, not even the component.
    throwOnUnlabellablePools(name, args, configured, hasNamePattern);
    const labels = Object.fromEntries(pools.map((p) => [p.name, poolNodeLabels(p)]));
    throwOnDanglingLabels(name, configured, labels);
    // Recorded as the component's inputs: the intent, not the connection (a kubeconfig) nor the previous state.
    super("gpushare:k8s:GpuOperator", name, componentInputs(args), opts);
    const installed = args.installed ?? false;
    const configMapOpts = this.configMapOptions(name, args);
    const namespaceName = args.namespace ?? DEFAULT_GPU_OPERATOR_NAMESPACE;
    this.namespace = installed ? pulumi.output(namespaceName) : this.ownNamespace(name, namespaceName);
    const configMaps = this.configMaps(name, args, configured, configMapOpts);
    const release = installed ? undefined : this.release(name, args, configMaps);

    this.poolsLabelledByNodeGroup = poolsLabelledByNodeGroup(pools, hasNamePattern);
    this.nodeFeatureRules(name, configured, patterns, [...configMaps, ...(release === undefined ? [] : [release])]);
    this.devicePluginConfigMap = configMaps[0].metadata.name;
    this.migConfigMap = configMaps[1].metadata.name;
    this.nodeLabels = labels;
    this.sharing = sharingState(configured);
    this.registerOutputs({
      namespace: this.namespace,
      devicePluginConfigMap: this.devicePluginConfigMap,
      migConfigMap: this.migConfigMap,
      nodeLabels: this.nodeLabels,
      poolsLabelledByNodeGroup: this.poolsLabelledByNodeGroup,
      sharing: this.sharing,
    });
  }

  /** The options of both ConfigMaps: a provider of their own that updates a ConfigMap in place (`providerArgs`). */
  private configMapOptions(name: string, args: GpuOperatorArgs): pulumi.CustomResourceOptions {
    const configMapProvider = new k8s.Provider(
      `${name}-configmaps`,
      { ...args.providerArgs, enableConfigMapMutable: true },
      { parent: this, aliases: args.configMapProviderAliases ?? [] },
    );
    return { parent: this, provider: configMapProvider };
  }

  private ownNamespace(name: string, namespaceName: string): pulumi.Output<string> {
    return new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          // A contract: the operator's own config and the ConfigMaps below live here.
          name: namespaceName,
          // Driver, toolkit and device-plugin pods are privileged; NVIDIA asks for this label where
          // Pod Security Admission is enforced.
          labels: { "pod-security.kubernetes.io/enforce": "privileged" },
        },
      },
      { parent: this },
    ).metadata.name;
  }

  /** The device-plugin and mig-manager ConfigMaps, with the configs the previous deployment's labels may name. */
  private configMaps(
    name: string,
    args: GpuOperatorArgs,
    configured: ConfiguredPools,
    configMapOpts: pulumi.CustomResourceOptions,
  ): [k8s.core.v1.ConfigMap, k8s.core.v1.ConfigMap] {
    const retained = pulumi.output(args.previous ?? {}).apply((p) => retainedConfigs(configured, p));
    const devicePluginConfigs = new k8s.core.v1.ConfigMap(
      `${name}-device-plugin-configs`,
      {
        metadata: { name: DEVICE_PLUGIN_CONFIG_MAP, namespace: this.namespace },
        data: retained.apply((r) => devicePluginConfigData(configured, r.devicePlugin)),
      },
      configMapOpts,
    );
    const migConfigs = new k8s.core.v1.ConfigMap(
      `${name}-mig-configs`,
      {
        metadata: { name: MIG_CONFIG_MAP, namespace: this.namespace },
        data: retained.apply((r) => migManagerConfigData(configured.pools, r.mig)),
      },
      configMapOpts,
    );
    return [devicePluginConfigs, migConfigs];
  }

  private release(name: string, args: GpuOperatorArgs, configMaps: k8s.core.v1.ConfigMap[]): k8s.helm.v3.Release {
    return new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: GPU_OPERATOR_RELEASE_NAME,
        chart: GPU_OPERATOR_CHART,
        version: args.chartVersion ?? DEFAULT_GPU_OPERATOR_CHART_VERSION,
        repositoryOpts: { repo: args.repository ?? DEFAULT_GPU_OPERATOR_REPOSITORY },
        namespace: this.namespace,
        createNamespace: false,
        values: gpuOperatorValues(args),
        // Wait: the NodeFeatureRules below need the CRD and a running nfd-master, and the servers that
        // depend on this component need the operator; a failed install must fail `pulumi up`, not pass
        // silently. Only the operator and NFD are waited for, not the operands it creates per GPU node.
        skipAwait: false,
        timeout: DEFAULT_GPU_OPERATOR_TIMEOUT_SECONDS,
      },
      {
        parent: this,
        // The operator reads both ConfigMaps when it renders the device plugin and mig-manager.
        dependsOn: configMaps,
        // The release name is fixed: a replacement must remove the old release first.
        deleteBeforeReplace: true,
      },
    );
  }

  /** One NodeFeatureRule per pool gpushare can label; a warning for each pool its node group must label. */
  private nodeFeatureRules(
    name: string,
    { pools }: ConfiguredPools,
    patterns: Record<string, pulumi.Input<string>>,
    dependsOn: pulumi.Resource[],
  ): void {
    for (const pool of pools) {
      if (this.poolsLabelledByNodeGroup.includes(pool.name)) {
        pulumi.log.warn(
          `pool ${pool.name}: shares its GPU model with another pool, so gpushare cannot label its nodes; its node group must carry ${JSON.stringify(poolNodeLabels(pool))}`,
          this,
        );
        continue;
      }
      // Cluster-scoped, like every NodeFeatureRule; auto-named, since nothing refers to it by name.
      new k8s.apiextensions.CustomResource(
        `${name}-${pool.name}-labels`,
        {
          apiVersion: NODE_FEATURE_RULE_API_VERSION,
          kind: "NodeFeatureRule",
          metadata: { labels: { "app.kubernetes.io/managed-by": "gpushare", [POOL_LABEL]: pool.name } },
          spec: nodeFeatureRuleSpec(pool, patterns[pool.name]),
        },
        // The configs a rule names are written before the rule moves any node's label to them. Without
        // `installed`, the CRD arrives with the release's node-feature-discovery subchart.
        { parent: this, dependsOn },
      );
    }
  }
}

/** Throws when a pool's nodes cannot be labelled, or `values` sets what the component owns. */
function throwOnUnlabellablePools(
  name: string,
  args: GpuOperatorArgs,
  { pools }: ConfiguredPools,
  hasNamePattern: (pool: string) => boolean,
): void {
  const patterns = args.nodeNamePatterns ?? {};
  const problems = poolLabelConflicts(pools, hasNamePattern);
  const unknown = Object.keys(patterns).filter((p) => !pools.some((pool) => pool.name === p));
  const owned = ownedValuesSet(args.values ?? {}, OWNED_GPU_OPERATOR_VALUES, "values");
  if (problems.length === 0 && unknown.length === 0 && owned.length === 0) return;
  throw new pulumi.InputPropertiesError({
    message: `GpuOperator ${name}: ${[
      ...(problems.length + unknown.length > 0 ? ["the pools' nodes cannot be labelled"] : []),
      ...(owned.length > 0 ? ["values sets values the component owns"] : []),
    ].join("; ")}`,
    errors: [
      ...problems.map((reason) => ({ propertyPath: "pools", reason })),
      ...unknown.map((p) => ({
        propertyPath: `nodeNamePatterns.${p}`,
        reason: `"${p}" is not one of the pools; use one of ${pools.map((x) => x.name).join(", ")}`,
      })),
      ...inputPropertyErrors(owned),
    ],
  });
}

/** Throws when a label value a rule would set names a config this component does not write (retained ones aside). */
function throwOnDanglingLabels(
  name: string,
  configured: ConfiguredPools,
  labels: Record<string, Record<string, string>>,
): void {
  const dangling = danglingConfigNames(
    labels,
    devicePluginConfigData(configured),
    migManagerConfig(migLayoutUses(configured.pools)),
  );
  if (dangling.length === 0) return;
  throw new pulumi.InputPropertiesError({
    message: `GpuOperator ${name}: node labels would name configs that do not exist`,
    errors: dangling.map((reason) => ({ propertyPath: "pools", reason })),
  });
}

/** The arguments worth recording: the intent, without the connection (a kubeconfig) and the previous state. */
function componentInputs(args: GpuOperatorArgs): pulumi.Inputs {
  const recorded: Record<string, unknown> = { ...args };
  for (const key of ["providerArgs", "previous", "configMapProviderAliases"]) delete recorded[key];
  return recorded;
}
