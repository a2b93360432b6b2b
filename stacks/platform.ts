import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ModelShare } from "../components/cloud/model-share";
import { OpenStackCluster } from "../components/cloud/openstack-cluster";
import { DraDriver } from "../components/k8s/dra-driver";
import { GpuOperator } from "../components/k8s/gpu-operator";
import { MetricsAdapter } from "../components/k8s/metrics-adapter";
import { ModelStore } from "../components/k8s/model-store";
import { Monitoring } from "../components/k8s/monitoring";
import { monitorLabelsFor } from "../components/k8s/monitoring-values";
import type { SharingState } from "../components/k8s/sharing-state";
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
    const raw = config.raw;
    // Recorded as the platform's inputs: the stack file as validated (secret values are stand-ins there) and the
    // kubeconfig, which stays secret.
    super(
      "gpushare:stack:GpuInferencePlatform",
      name,
      { config: raw, ...(args.kubeconfig === undefined ? {} : { kubeconfig: pulumi.secret(args.kubeconfig) }) },
      opts,
    );

    let kubeconfig: pulumi.Input<string> | undefined = args.kubeconfig;
    let nodeNamePatterns: Record<string, pulumi.Output<string>> | undefined;
    const clusterArgs = openStackClusterArgs(config);
    if (clusterArgs !== undefined) {
      const cluster = new OpenStackCluster(`${name}-cluster`, clusterArgs, { parent: this });
      kubeconfig = cluster.kubeconfig;
      nodeNamePatterns = cluster.nodeNamePatterns;
    }
    this.kubeconfig = kubeconfig === undefined ? undefined : pulumi.secret(kubeconfig);

    let nfsServer: pulumi.Input<string>;
    let nfsPath: pulumi.Input<string>;
    const shareArgs = modelShareArgs(config);
    if (shareArgs !== undefined) {
      const share = new ModelShare(`${name}-models`, shareArgs, { parent: this });
      nfsServer = share.server;
      nfsPath = share.path;
    } else if (raw.modelStore.nfs !== undefined) {
      nfsServer = raw.modelStore.nfs.server;
      nfsPath = raw.modelStore.nfs.path;
    } else {
      // parseStackConfig refuses a stack without model storage; this keeps the compiler honest.
      throw new pulumi.InputPropertiesError({
        message: "modelStore needs manila or nfs",
        errors: [{ propertyPath: "modelStore", reason: "give modelStore.nfs or modelStore.manila" }],
      });
    }

    const connection: k8s.ProviderArgs = {
      ...(this.kubeconfig === undefined ? {} : { kubeconfig: this.kubeconfig }),
      ...(raw.cluster.existing?.context === undefined ? {} : { context: raw.cluster.existing.context }),
      // Server-side apply: fields other controllers own (HPA replicas, injected CA bundles) stay theirs.
      enableServerSideApply: true,
    };
    const provider = new k8s.Provider(`${name}-k8s`, connection, { parent: this });
    this.provider = provider;
    const k8sOpts: pulumi.ComponentResourceOptions = { parent: this, providers: { kubernetes: provider } };

    // Monitoring first: its chart brings the ServiceMonitor CRD the operator's DCGM exporter monitor needs.
    const monitoringSettings = monitoringArgs(config);
    const monitoring = new Monitoring(`${name}-monitoring`, monitoringSettings, k8sOpts);
    const previous = pulumi.output(args.previous ?? {});
    const prior = previous.apply(previousSharing);
    // Shown by `pulumi preview` (and the pull request's comment) before anything changes on the nodes.
    pulumi.all([previous, prior]).apply(([p, sharing]) => {
      const before = snapshotFromOutputs(sharing.state, p.capacity);
      if (before === undefined) return;
      const comparison = compareCapacity(before, config);
      if (comparisonMatters(comparison)) {
        pulumi.log.warn(`GPU sharing changes with this update:\n${comparisonText(comparison)}`, this);
      }
    });
    const operator = new GpuOperator(
      `${name}-gpu-operator`,
      {
        ...gpuOperatorSettings(config),
        providerArgs: connection,
        previous: prior,
        // The platform created this provider itself before the operator did: the same provider, not a new one.
        configMapProviderAliases: [{ name: `${name}-k8s-node-configs`, parent: this }],
        ...(nodeNamePatterns === undefined ? {} : { nodeNamePatterns }),
        // The DCGM exporter's ServiceMonitor carries the labels the platform's Prometheus selects.
        serviceMonitorLabels: monitorLabelsFor(monitoringSettings),
      },
      { ...k8sOpts, dependsOn: [monitoring] },
    );
    // NVIDIA's DRA driver, beside the operator, when a pool allocates through it.
    const draArgs = draDriverArgs(config);
    const draDriver = draArgs === undefined ? undefined : new DraDriver(`${name}-dra-driver`, draArgs, k8sOpts);
    const adapterSettings = metricsAdapterSettings(config);
    const adapter = new MetricsAdapter(
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
    const store = new ModelStore(`${name}-model-store`, { ...modelStoreSettings(config), nfsServer, nfsPath }, k8sOpts);

    this.servers = {};
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
      this.servers[server.name] = { pool: server.pool.name, resource: server.resource, endpoint: triton.endpoint };
    }
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
}
