import type { ModelShareArgs } from "../components/cloud/model-share";
import type { OpenStackClusterArgs } from "../components/cloud/openstack-cluster";
import type { DraDriverArgs } from "../components/k8s/dra-driver";
import type { GpuOperatorPool, GpuOperatorSettings } from "../components/k8s/gpu-operator-values";
import type { MetricsAdapterSettings } from "../components/k8s/metrics-adapter-values";
import type { ModelStoreArgs } from "../components/k8s/model-store";
import type { DashboardInput } from "../components/k8s/monitoring-dashboard";
import type { MonitoringArgs } from "../components/k8s/monitoring-values";
import type { TritonServerSpec } from "../components/k8s/triton-server-spec";
import { draConsumableShares } from "./config/dra";
import type { PoolConfig, ServerConfig, StackConfig } from "./config/parse";

/**
 * The stack config, mapped to the arguments of each component: the only place that knows both the stack file's
 * shape and the components'. Pure: the platform adds what only a deployment has (providers, other components'
 * outputs).
 */

/** The Magnum cluster and one GPU node group per pool; `undefined` for an existing cluster. */
export function openStackClusterArgs(config: StackConfig): OpenStackClusterArgs | undefined {
  const os = config.raw.cluster.openstack;
  if (config.raw.cluster.kind !== "openstack" || os === undefined) return undefined;
  return {
    ...(os.clusterTemplateId === undefined ? {} : { clusterTemplateId: os.clusterTemplateId }),
    ...(os.template === undefined ? {} : { template: os.template }),
    ...(os.keypair === undefined ? {} : { keypair: os.keypair }),
    masterCount: os.masterCount,
    workerCount: os.workerCount,
    ...(os.fixedNetwork === undefined ? {} : { fixedNetwork: os.fixedNetwork }),
    ...(os.fixedSubnet === undefined ? {} : { fixedSubnet: os.fixedSubnet }),
    createTimeoutMinutes: os.createTimeoutMinutes,
    nodeGroups: config.pools.map((pool) => {
      const flavor = pool.raw.flavor;
      // parseStackConfig refuses an OpenStack pool without a flavor; this keeps the compiler honest.
      if (flavor === undefined) throw new Error(`gpuPools.${pool.name}.flavor: missing in OpenStack mode`);
      return {
        name: pool.name,
        flavor,
        ...(pool.raw.image === undefined ? {} : { image: pool.raw.image }),
        nodes: pool.nodes,
      };
    }),
  };
}

/**
 * The Manila share of `modelStore.manila`, admitting `accessCidr` (its own, or the cluster's node subnet);
 * `undefined` for an existing NFS export.
 */
export function modelShareArgs(config: StackConfig): ModelShareArgs | undefined {
  const manila = config.raw.modelStore.manila;
  const accessCidr = manila?.accessCidr ?? config.raw.cluster.openstack?.nodeSubnetCidr;
  if (manila === undefined || accessCidr === undefined) return undefined;
  return {
    sizeGiB: manila.sizeGiB,
    ...(manila.shareType === undefined ? {} : { shareType: manila.shareType }),
    ...(manila.shareNetworkId === undefined ? {} : { shareNetworkId: manila.shareNetworkId }),
    ...(manila.availabilityZone === undefined ? {} : { availabilityZone: manila.availabilityZone }),
    accessCidr,
    allowDestroy: config.raw.modelStore.allowDestroy,
  };
}

/** A resolved pool as the GPU operator is asked to configure it: what it shares and how its nodes are known. */
function gpuOperatorPool(pool: PoolConfig): GpuOperatorPool {
  return {
    name: pool.name,
    sharing: pool.sharing,
    maxNodes: pool.nodes.max,
    ...(pool.raw.nodeSelector === undefined ? {} : { nodeSelector: pool.raw.nodeSelector }),
    ...(pool.raw.mig?.name === undefined ? {} : { migName: pool.raw.mig.name }),
    ...(pool.allocation === "dra" ? { allocation: pool.allocation } : {}),
  };
}

/** `gpuOperator`, the cluster's MIG strategy and the pools. */
export function gpuOperatorSettings(config: StackConfig): GpuOperatorSettings {
  const s = config.raw.gpuOperator;
  return {
    migStrategy: config.migStrategy,
    pools: config.pools.map(gpuOperatorPool),
    installed: s.installed,
    namespace: s.namespace,
    chartVersion: s.chartVersion,
    repository: s.repository,
    driverEnabled: s.driverEnabled,
    rebootOnMigChange: s.rebootOnMigChange,
    dcgmServiceMonitor: s.dcgmServiceMonitor,
    values: s.values,
  };
}

/**
 * NVIDIA's DRA driver, when a pool allocates through it (`allocation: dra`): `draDriver`, and the consumable shares
 * of the time-sliced DRA pools; `undefined` when every pool uses the device plugin.
 */
export function draDriverArgs(config: StackConfig): DraDriverArgs | undefined {
  if (!config.pools.some((p) => p.allocation === "dra")) return undefined;
  const d = config.raw.draDriver;
  const shares = draConsumableShares(config.raw);
  return {
    installed: d.installed,
    namespace: d.namespace,
    chart: d.chart,
    ...(d.repository === undefined ? {} : { repository: d.repository }),
    chartVersion: d.chartVersion,
    featureGates: d.featureGates,
    ...(shares === undefined ? {} : { consumableShares: shares }),
    values: d.values,
  };
}

/** What the dashboard shows of the stack: the inference namespace, the custom metric, the pools. */
function dashboardInput(config: StackConfig): DashboardInput {
  return {
    inferenceNamespace: config.raw.inference.namespace,
    metricName: config.raw.metricsAdapter.metricName,
    metricWindow: config.raw.metricsAdapter.window,
    pools: config.pools.map((pool) => ({
      name: pool.name,
      nodeSelector: pool.nodeSelector,
      resources: [...new Set(pool.devices.map((d) => d.resource))],
      mig: pool.sharing.mig?.migEnabled ?? false,
    })),
  };
}

/** `monitoring`, and the dashboard of the stack. */
export function monitoringArgs(config: StackConfig): MonitoringArgs {
  const m = config.raw.monitoring;
  return {
    installed: m.installed,
    namespace: m.namespace,
    chartVersion: m.chartVersion,
    repository: m.repository,
    ...(m.prometheusUrl === undefined ? {} : { prometheusUrl: m.prometheusUrl }),
    ...(m.monitorLabels === undefined ? {} : { monitorLabels: m.monitorLabels }),
    grafanaEnabled: m.grafana.enabled,
    values: m.values,
    dashboard: dashboardInput(config),
  };
}

/** `metricsAdapter`. */
export function metricsAdapterSettings(config: StackConfig): MetricsAdapterSettings {
  const a = config.raw.metricsAdapter;
  return {
    installed: a.installed,
    namespace: a.namespace,
    chartVersion: a.chartVersion,
    repository: a.repository,
    metricName: a.metricName,
    window: a.window,
    values: a.values,
  };
}

/** `modelStore` and the inference namespace; the NFS location comes from the share or `modelStore.nfs`. */
export function modelStoreSettings(config: StackConfig): Omit<ModelStoreArgs, "nfsServer" | "nfsPath"> {
  const store = config.raw.modelStore;
  return {
    subPath: store.subPath,
    namespace: config.raw.inference.namespace,
    // The share's size when gpushare creates it; an existing export's is unknown.
    ...(store.manila === undefined ? {} : { capacity: `${store.manila.sizeGiB}Gi` }),
    ...(store.seed.enabled ? { seed: { models: store.seed.models, image: store.seed.image } } : {}),
  };
}

/** A resolved server: its device in its pool, the pool's capacity of that device, and the rest as written. */
export function tritonServerSpec(server: ServerConfig): TritonServerSpec {
  const raw = server.raw;
  return {
    serverName: server.name,
    pool: { name: server.pool.name, nodeSelector: server.pool.nodeSelector },
    device: server.device,
    // Under DRA's MPS every pod joins the server's one claim on one device: a surge pod would be a client too many.
    poolCapacity:
      server.pool.allocation === "dra" && server.device.sharing === "mps"
        ? server.device.replicas
        : (server.pool.atMaxNodes[server.resource] ?? 0),
    ...(server.pool.allocation === "dra"
      ? {
          dra:
            server.pool.draConsumableShares === undefined ? {} : { consumableShares: server.pool.draConsumableShares },
        }
      : {}),
    image: raw.image,
    ...(raw.models === undefined ? {} : { models: raw.models }),
    resources: raw.resources,
    replicas: server.replicas,
    ...(raw.autoscaling === undefined
      ? {}
      : {
          autoscaling: {
            minReplicas: raw.autoscaling.minReplicas,
            // The resolved bound: the one set, or the sharing curve's knee.
            maxReplicas: server.maxReplicas,
            targetAverageValue: raw.autoscaling.targetAverageValue,
            scaleDown: raw.autoscaling.scaleDown,
          },
        }),
    service: raw.service,
  };
}
