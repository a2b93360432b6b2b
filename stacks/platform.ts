import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ModelShare } from "../components/cloud/model-share";
import { OpenStackCluster } from "../components/cloud/openstack-cluster";
import { DraDriver } from "../components/k8s/dra-driver";
import { GpuOperator } from "../components/k8s/gpu-operator";
import { MetricsAdapter } from "../components/k8s/metrics-adapter";
import { ModelStore } from "../components/k8s/model-store";
import { Monitoring } from "../components/k8s/monitoring";
import { type MonitoringArgs, monitorLabelsFor } from "../components/k8s/monitoring-values";
import type { PreviousSharing, SharingState } from "../components/k8s/gpu-operator-sharing-state";
import { TritonServer } from "../components/k8s/triton-server";
import {
  draDriverArgs,
  gpuOperatorSettings,
  metricsAdapterSettings,
  modelShareArgs,
  modelStoreSettings,
  monitoringArgs,
  openStackClusterArgs,
  tritonServerSpec,
} from "./args";
import type { StackConfig } from "./config/parse";
import { capacityTable, type PoolCapacityRow } from "./capacity-table";
import { compareCapacity, comparisonMatters, comparisonText, snapshotFromOutputs } from "./capacity-change";
import { type PreviousDeployment, previousSharing } from "./previous";

/**
 * The platform's logical name in `index.ts`. A contract: every URN of the stack starts with it (the golden lists of
 * test/stacks/urns hold them), so renaming it would replace every resource.
 */
export const PLATFORM_NAME = "gpushare";

export interface GpuInferencePlatformArgs {
  /** The validated stack config. */
  readonly config: StackConfig;
  /** kubeconfig of an existing cluster; the ambient kubeconfig (and cluster.existing.context) when unset. */
  readonly kubeconfig?: pulumi.Input<string>;
  /**
   * The outputs of this stack's previous deployment (`readPreviousDeployment`): the configs nodes may still point
   * at are kept while their labels move, and the preview warns what the change does to capacity.
   * @default - a first deployment: nothing kept, nothing compared.
   */
  readonly previous?: pulumi.Input<PreviousDeployment>;
}

export interface ServerEndpoint {
  readonly pool: string;
  readonly resource: string;
  /** `http://<address>:8000` once the load balancer has an address; the in-cluster DNS name before. */
  readonly endpoint: pulumi.Output<string>;
}

/** What the GPU operator is built on: the cluster's connection, the previous sharing, monitoring's labels. */
interface OperatorDependencies {
  readonly connection: k8s.ProviderArgs;
  readonly prior: pulumi.Output<PreviousSharing>;
  readonly nodeNamePatterns: Record<string, pulumi.Output<string>> | undefined;
  readonly monitoringSettings: MonitoringArgs;
  readonly monitoring: Monitoring;
  readonly k8sOpts: pulumi.ComponentResourceOptions;
}

/** How the platform's Kubernetes provider reaches the cluster. */
function kubernetesConnection(kubeconfig: pulumi.Output<string> | undefined, config: StackConfig): k8s.ProviderArgs {
  const context = config.raw.cluster.existing?.context;
  return {
    ...(kubeconfig === undefined ? {} : { kubeconfig }),
    ...(context === undefined ? {} : { context }),
    // Server-side apply: fields other controllers own (HPA replicas, injected CA bundles) stay theirs.
    enableServerSideApply: true,
  };
}

/**
 * The whole GPU-shared inference platform: the cluster (created on OpenStack or an existing one), the NFS
 * model store, the GPU operator that splits the GPUs, monitoring and the custom metric, and the Triton
 * servers with their autoscalers.
 */
export class GpuInferencePlatform extends pulumi.ComponentResource {
  /** kubeconfig of the cluster the platform runs on (secret). */
  public readonly kubeconfig: pulumi.Output<string> | undefined;
  public readonly servers: Record<string, ServerEndpoint>;
  /** Per pool: what the device plugin advertises, what servers claim at max replicas, the headroom. */
  public readonly capacity: PoolCapacityRow[];
  public readonly grafanaAdminPassword: pulumi.Output<string> | undefined;
  /** What the GPU operator was configured with, for the next deployment to keep and compare against. */
  public readonly sharing: SharingState;
  /**
   * The provider of the platform's cluster (server-side apply), for resources of your own next to the platform's:
   * `new k8s.core.v1.ConfigMap(name, args, { provider: platform.provider })`.
   */
  public readonly provider: k8s.Provider;

  constructor(name: string, args: GpuInferencePlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    const { config } = args;
    // Recorded as the platform's inputs: the stack file as validated (secret values are stand-ins there) and the
    // kubeconfig, which stays secret.
    super(
      "gpushare:stack:GpuInferencePlatform",
      name,
      { config: config.raw, ...(args.kubeconfig === undefined ? {} : { kubeconfig: pulumi.secret(args.kubeconfig) }) },
      opts,
    );

    // The order below is the order of registration; each step's names are part of the stack's URNs.
    const cluster = this.cluster(name, config, args.kubeconfig);
    this.kubeconfig = cluster.kubeconfig === undefined ? undefined : pulumi.secret(cluster.kubeconfig);
    const nfs = this.modelShare(name, config);
    const connection = kubernetesConnection(this.kubeconfig, config);
    this.provider = new k8s.Provider(`${name}-k8s`, connection, { parent: this });
    const k8sOpts: pulumi.ComponentResourceOptions = { parent: this, providers: { kubernetes: this.provider } };

    // Monitoring first: its chart brings the ServiceMonitor CRD the operator's DCGM exporter monitor needs.
    const monitoringSettings = monitoringArgs(config);
    const monitoring = new Monitoring(`${name}-monitoring`, monitoringSettings, k8sOpts);
    const prior = this.priorSharing(config, args.previous);
    const operator = this.gpuOperator(name, config, {
      connection,
      prior,
      nodeNamePatterns: cluster.nodeNamePatterns,
      monitoringSettings,
      monitoring,
      k8sOpts,
    });
    // NVIDIA's DRA driver, beside the operator, when a pool allocates through it.
    const draArgs = draDriverArgs(config);
    const draDriver = draArgs === undefined ? undefined : new DraDriver(`${name}-dra-driver`, draArgs, k8sOpts);
    const adapter = this.metricsAdapter(name, config, monitoringSettings, monitoring, k8sOpts);
    const store = new ModelStore(`${name}-model-store`, { ...modelStoreSettings(config), ...nfs }, k8sOpts);
    this.servers = this.tritonServers(name, config, { operator, draDriver, monitoring, adapter, store }, k8sOpts);

    this.capacity = capacityTable(config);
    this.grafanaAdminPassword = monitoring.grafanaAdminPassword;
    this.sharing = operator.sharing;
    this.registerOutputs({
      kubeconfig: this.kubeconfig,
      servers: this.servers,
      capacity: this.capacity,
      grafanaAdminPassword: this.grafanaAdminPassword,
      sharing: this.sharing,
    });
  }

  /** The OpenStack cluster when the stack creates one; else the kubeconfig given, or none (the ambient one). */
  private cluster(
    name: string,
    config: StackConfig,
    kubeconfig: pulumi.Input<string> | undefined,
  ): { kubeconfig?: pulumi.Input<string>; nodeNamePatterns?: Record<string, pulumi.Output<string>> } {
    const clusterArgs = openStackClusterArgs(config);
    if (clusterArgs === undefined) return kubeconfig === undefined ? {} : { kubeconfig };
    const cluster = new OpenStackCluster(`${name}-cluster`, clusterArgs, { parent: this });
    return { kubeconfig: cluster.kubeconfig, nodeNamePatterns: cluster.nodeNamePatterns };
  }

  /** The NFS export the model store mounts: a Manila share the stack creates, or the server and path it names. */
  private modelShare(
    name: string,
    config: StackConfig,
  ): { nfsServer: pulumi.Input<string>; nfsPath: pulumi.Input<string> } {
    const shareArgs = modelShareArgs(config);
    if (shareArgs !== undefined) {
      const share = new ModelShare(`${name}-models`, shareArgs, { parent: this });
      return { nfsServer: share.server, nfsPath: share.path };
    }
    const nfs = config.raw.modelStore.nfs;
    if (nfs !== undefined) return { nfsServer: nfs.server, nfsPath: nfs.path };
    // parseStackConfig refuses a stack without model storage; this keeps the compiler honest.
    throw new pulumi.InputPropertiesError({
      message: "modelStore needs manila or nfs",
      errors: [{ propertyPath: "modelStore", reason: "give modelStore.nfs or modelStore.manila" }],
    });
  }

  /**
   * What the GPU operator was configured with in the previous deployment. Shown by `pulumi preview` (and the pull
   * request's comment) before anything changes on the nodes: what the update does to capacity, when it matters.
   */
  private priorSharing(
    config: StackConfig,
    previousDeployment: pulumi.Input<PreviousDeployment> | undefined,
  ): pulumi.Output<PreviousSharing> {
    const previous = pulumi.output(previousDeployment ?? {});
    const prior = previous.apply(previousSharing);
    pulumi.all([previous, prior]).apply(([p, sharing]) => {
      const before = snapshotFromOutputs(sharing.state, p.capacity);
      if (before === undefined) return;
      const comparison = compareCapacity(before, config);
      if (comparisonMatters(comparison)) {
        pulumi.log.warn(`GPU sharing changes with this update:\n${comparisonText(comparison)}`, this);
      }
    });
    return prior;
  }

  private gpuOperator(name: string, config: StackConfig, deps: OperatorDependencies): GpuOperator {
    const { nodeNamePatterns, monitoring } = deps;
    return new GpuOperator(
      `${name}-gpu-operator`,
      {
        ...gpuOperatorSettings(config),
        providerArgs: deps.connection,
        previous: deps.prior,
        // The platform created this provider itself before the operator did: the same provider, not a new one.
        configMapProviderAliases: [{ name: `${name}-k8s-node-configs`, parent: this }],
        ...(nodeNamePatterns === undefined ? {} : { nodeNamePatterns }),
        // The DCGM exporter's ServiceMonitor carries the labels the platform's Prometheus selects.
        serviceMonitorLabels: monitorLabelsFor(deps.monitoringSettings),
      },
      { ...deps.k8sOpts, dependsOn: [monitoring] },
    );
  }

  private metricsAdapter(
    name: string,
    config: StackConfig,
    monitoringSettings: MonitoringArgs,
    monitoring: Monitoring,
    k8sOpts: pulumi.ComponentResourceOptions,
  ): MetricsAdapter {
    const adapterSettings = metricsAdapterSettings(config);
    return new MetricsAdapter(
      `${name}-metrics-adapter`,
      {
        ...adapterSettings,
        prometheusUrl: monitoring.prometheusUrl,
        // Sharing monitoring's namespace, the adapter waits for it rather than creating it.
        ...(adapterSettings.namespace === monitoringSettings.namespace
          ? { namespaceReady: monitoring.namespaceReady }
          : {}),
      },
      k8sOpts,
    );
  }

  /** One Triton server per server of the stack, in the stack's order, and where each answers. */
  private tritonServers(
    name: string,
    config: StackConfig,
    deps: {
      operator: GpuOperator;
      draDriver: DraDriver | undefined;
      monitoring: Monitoring;
      adapter: MetricsAdapter;
      store: ModelStore;
    },
    k8sOpts: pulumi.ComponentResourceOptions,
  ): Record<string, ServerEndpoint> {
    const { operator, draDriver, monitoring, adapter, store } = deps;
    const servers: Record<string, ServerEndpoint> = {};
    for (const server of config.servers) {
      const triton = new TritonServer(
        `${name}-${server.name}`,
        {
          ...tritonServerSpec(server),
          namespace: store.namespace,
          claimName: store.claimName,
          monitorLabels: monitoring.monitorLabels,
          metricName: adapter.metricName,
        },
        // The PodMonitor needs monitoring's CRDs; pods need the operator's devices (or the DRA driver's device
        // classes) and the store's claim.
        {
          ...k8sOpts,
          dependsOn: [operator, ...(draDriver === undefined ? [] : [draDriver]), monitoring, store, adapter],
        },
      );
      servers[server.name] = { pool: server.pool.name, resource: server.resource, endpoint: triton.endpoint };
    }
    return servers;
  }
}
