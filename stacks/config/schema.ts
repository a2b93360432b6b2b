import { z } from "zod";
import { DEFAULT_MAX_PODS_PER_NODE, DEFAULT_SYSTEM_PODS_PER_NODE } from "../../gpu/capacity";
import { DEFAULT_KNEE_FRACTION, servingObjectiveSchema, sharingCurveSchema } from "../../gpu/sharing-curve";
import {
  DEFAULT_CLUSTER_COE,
  DEFAULT_CLUSTER_CREATE_TIMEOUT_MINUTES,
  DEFAULT_CLUSTER_NETWORK_DRIVER,
  DEFAULT_CUSTOM_METRIC_NAME,
  DEFAULT_DCGM_SERVICE_MONITOR,
  DEFAULT_DRA_DRIVER_CHART,
  DEFAULT_DRA_DRIVER_CHART_VERSION,
  DEFAULT_DRA_DRIVER_NAMESPACE,
  DEFAULT_GPU_DRIVER_ENABLED,
  DEFAULT_GPU_OPERATOR_CHART_VERSION,
  DEFAULT_GPU_OPERATOR_NAMESPACE,
  DEFAULT_GPU_OPERATOR_REPOSITORY,
  DEFAULT_GRAFANA_ENABLED,
  DEFAULT_INFERENCE_NAMESPACE,
  DEFAULT_KUBE_PROMETHEUS_STACK_CHART_VERSION,
  DEFAULT_MASTER_COUNT,
  DEFAULT_METRIC_WINDOW,
  DEFAULT_MIN_REPLICAS,
  DEFAULT_MONITORING_NAMESPACE,
  DEFAULT_PROMETHEUS_ADAPTER_CHART_VERSION,
  DEFAULT_PROMETHEUS_COMMUNITY_REPOSITORY,
  DEFAULT_REBOOT_ON_MIG_CHANGE,
  DEFAULT_SCALE_DOWN_PERIOD_SECONDS,
  DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS,
  DEFAULT_SEED_IMAGE,
  DEFAULT_SEED_MODELS,
  DEFAULT_TARGET_QUEUE_TIME_US,
  DEFAULT_TRITON_CPU,
  DEFAULT_TRITON_IMAGE,
  DEFAULT_TRITON_MEMORY,
  DEFAULT_TRITON_REPLICAS,
  DEFAULT_TRITON_SERVICE_TYPE,
  DEFAULT_WORKER_COUNT,
} from "./defaults";

/**
 * The shape of everything a stack can set, under the `gpushare:` namespace of `Pulumi.<stack>.yaml`.
 * Structure only: what needs knowledge of GPUs or of other fields is checked by `parseStackConfig` in
 * `config.ts`, the one validation pass.
 * Numbers that have rules of their own (replicas, node counts) are plain numbers here so that the
 * semantic check can say what is wrong with them in the project's words.
 */

const stringMap = z.record(z.string(), z.string());
const looseValues = z.record(z.string(), z.unknown());

const migStrategySchema = z.enum(["single", "mixed"]);

const openstackTemplateSchema = z.strictObject({
  /** Glance image of the cluster nodes (e.g. a Fedora CoreOS image Magnum supports). */
  image: z.string().min(1),
  /** Neutron network for floating IPs / the API load balancer. */
  externalNetworkId: z.string().min(1),
  masterFlavor: z.string().min(1),
  /** Flavor of the default (non-GPU) worker node group. */
  flavor: z.string().min(1),
  coe: z.literal(DEFAULT_CLUSTER_COE).default(DEFAULT_CLUSTER_COE),
  networkDriver: z.string().default(DEFAULT_CLUSTER_NETWORK_DRIVER),
  dockerVolumeSize: z.number().optional(),
  dnsNameserver: z.string().optional(),
  /** Magnum labels of the template (kube_tag, container_runtime, ...). */
  labels: stringMap.default({}),
});

const openstackClusterSchema = z.strictObject({
  /** An existing Magnum cluster template; otherwise `template` describes one gpushare creates. */
  clusterTemplateId: z.string().min(1).optional(),
  template: openstackTemplateSchema.optional(),
  keypair: z.string().min(1).optional(),
  masterCount: z.number().default(DEFAULT_MASTER_COUNT),
  /** Nodes of the default worker group (system workloads: Prometheus, adapter, operator controllers). */
  workerCount: z.number().default(DEFAULT_WORKER_COUNT),
  fixedNetwork: z.string().optional(),
  fixedSubnet: z.string().optional(),
  /** The subnet the cluster's nodes live in: the NFS share admits it and nothing wider. */
  nodeSubnetCidr: z.string().min(1),
  /** Minutes Magnum may take to create the cluster. */
  createTimeoutMinutes: z.number().default(DEFAULT_CLUSTER_CREATE_TIMEOUT_MINUTES),
});

const clusterSchema = z.strictObject({
  /** `openstack`: gpushare creates a Magnum cluster; `existing`: it uses the cluster a kubeconfig points to. */
  kind: z.enum(["openstack", "existing"]).default("existing"),
  /** MIG strategy of the whole cluster: the GPU operator applies one to every node. */
  migStrategy: migStrategySchema.optional(),
  openstack: openstackClusterSchema.optional(),
  /**
   * The cluster's Kubernetes version (`1.36`, `v1.36.1`); @default in OpenStack mode the template's `kube_tag`
   * label. Needed by DRA pools, whose claims use `resource.k8s.io/v1` (Kubernetes ≥ 1.34).
   */
  kubernetesVersion: z.string().min(1).optional(),
  /** Pods a node may run: the kubelet's `maxPods` on the GPU nodes. */
  maxPodsPerNode: z.number().default(DEFAULT_MAX_PODS_PER_NODE),
  /** Pods every GPU node runs besides the servers' (DaemonSets: GPU operator, CNI, CSI, kube-proxy, node exporter). */
  systemPodsPerNode: z.number().default(DEFAULT_SYSTEM_PODS_PER_NODE),
  existing: z
    .strictObject({
      /** kubeconfig context to use; the current one if unset. */
      context: z.string().min(1).optional(),
    })
    .optional(),
});

const migSchema = z.strictObject({
  /** A layout mig-manager names (`all-1g.5gb`, `all-balanced`, `all-disabled`, ...). */
  layout: z.string().optional(),
  /** An explicit layout: profile → instances per GPU. */
  profiles: z.record(z.string(), z.number()).optional(),
  /** Name of an explicit layout in mig-manager's config. @default gpushare-<pool> */
  name: z.string().optional(),
  /** The strategy this pool was designed for; must agree with every other pool and the cluster. */
  strategy: migStrategySchema.optional(),
});

const timeSlicingSchema = z.strictObject({
  /** Pods per device: one number for every resource, or per MIG profile under `mixed`. */
  replicas: z.union([z.number(), z.record(z.string(), z.number())]),
  renameByDefault: z.boolean().default(false),
  failRequestsGreaterThanOne: z.boolean().default(false),
});

const mpsSchema = z.strictObject({
  replicas: z.number(),
  renameByDefault: z.boolean().default(false),
});

const nodesSchema = z.strictObject({
  min: z.number(),
  max: z.number(),
  /** Nodes at creation; @default min (at least 1). */
  initial: z.number().optional(),
});

const poolSchema = z.strictObject({
  gpu: z.string(),
  gpusPerNode: z.number().default(1),
  nodes: nodesSchema,
  /** Nova flavor of the node group (OpenStack mode). */
  flavor: z.string().min(1).optional(),
  /** Glance image of the node group; the cluster template's if unset (OpenStack mode). */
  image: z.string().min(1).optional(),
  /** Node labels that select the pool's nodes in existing-cluster mode. @default {gpushare.io/pool: <pool>} */
  nodeSelector: stringMap.optional(),
  mig: migSchema.optional(),
  timeSlicing: timeSlicingSchema.optional(),
  mps: mpsSchema.optional(),
  /**
   * How pods get the pool's devices: the device plugin's extended resources (`nvidia.com/...`), or DRA
   * ResourceClaims served by NVIDIA's DRA driver (docs/dra.md). @default devicePlugin
   */
  allocation: z.enum(["devicePlugin", "dra"]).default("devicePlugin"),
});

const manilaSchema = z.strictObject({
  sizeGiB: z.number(),
  shareType: z.string().min(1).optional(),
  shareNetworkId: z.string().min(1).optional(),
  availabilityZone: z.string().min(1).optional(),
  /** Who may mount the share; @default the cluster's nodeSubnetCidr in OpenStack mode. */
  accessCidr: z.string().min(1).optional(),
});

const seedModelSchema = z.strictObject({
  name: z.string().min(1),
  files: z.array(z.strictObject({ path: z.string().min(1), url: z.string().min(1) })).min(1),
});

const modelStoreSchema = z.strictObject({
  /** A Manila NFS share gpushare creates. */
  manila: manilaSchema.optional(),
  /** Or an NFS export that exists: server address and exported path. */
  nfs: z.strictObject({ server: z.string().min(1), path: z.string().min(1) }).optional(),
  /** Sub-directory of the export that is the model repository. */
  subPath: z.string().default(""),
  /** Let `pulumi destroy` or a replacing change delete the share and its models. */
  allowDestroy: z.boolean().default(false),
  seed: z
    .strictObject({
      enabled: z.boolean().default(true),
      image: z.string().default(DEFAULT_SEED_IMAGE),
      models: z.array(seedModelSchema).default(DEFAULT_SEED_MODELS),
    })
    .prefault({}),
});

const gpuOperatorSchema = z.strictObject({
  /** The operator is already installed: gpushare manages only its configs and node labels. */
  installed: z.boolean().default(false),
  namespace: z.string().default(DEFAULT_GPU_OPERATOR_NAMESPACE),
  chartVersion: z.string().default(DEFAULT_GPU_OPERATOR_CHART_VERSION),
  repository: z.string().default(DEFAULT_GPU_OPERATOR_REPOSITORY),
  /** Install NVIDIA's driver container; false where drivers are preinstalled on the image. */
  driverEnabled: z.boolean().default(DEFAULT_GPU_DRIVER_ENABLED),
  /** Reboot the node when toggling MIG mode needs it (most cloud VMs). */
  rebootOnMigChange: z.boolean().default(DEFAULT_REBOOT_ON_MIG_CHANGE),
  dcgmServiceMonitor: z.boolean().default(DEFAULT_DCGM_SERVICE_MONITOR),
  /** Helm values merged last; keys gpushare owns are refused. */
  values: looseValues.default({}),
});

const draDriverSchema = z.strictObject({
  /**
   * Feature gates of NVIDIA's DRA driver (its chart's `featureGates`): TimeSlicingSettings, MPSSupport and
   * ConsumableShares are what DRA pools' sharing needs (all alpha).
   */
  featureGates: z.record(z.string(), z.boolean()).default({}),
  /** The driver is already installed: gpushare creates nothing for it (docs/dra.md says what it must run with). */
  installed: z.boolean().default(false),
  namespace: z.string().default(DEFAULT_DRA_DRIVER_NAMESPACE),
  /** An OCI chart reference, or a chart name in `repository`. */
  chart: z.string().default(DEFAULT_DRA_DRIVER_CHART),
  /** A Helm repository (a mirror) to take `chart` from; unset for an OCI reference. */
  repository: z.string().optional(),
  chartVersion: z.string().default(DEFAULT_DRA_DRIVER_CHART_VERSION),
  /** Helm values merged last; keys gpushare owns are refused. */
  values: looseValues.default({}),
});

const monitoringSchema = z.strictObject({
  installed: z.boolean().default(false),
  namespace: z.string().default(DEFAULT_MONITORING_NAMESPACE),
  chartVersion: z.string().default(DEFAULT_KUBE_PROMETHEUS_STACK_CHART_VERSION),
  repository: z.string().default(DEFAULT_PROMETHEUS_COMMUNITY_REPOSITORY),
  /** With `installed`: the Prometheus URL the adapter queries. */
  prometheusUrl: z.string().optional(),
  /** With `installed`: labels that Prometheus's monitor selectors match. */
  monitorLabels: stringMap.optional(),
  grafana: z.strictObject({ enabled: z.boolean().default(DEFAULT_GRAFANA_ENABLED) }).prefault({}),
  values: looseValues.default({}),
});

const metricsAdapterSchema = z.strictObject({
  installed: z.boolean().default(false),
  namespace: z.string().default(DEFAULT_MONITORING_NAMESPACE),
  chartVersion: z.string().default(DEFAULT_PROMETHEUS_ADAPTER_CHART_VERSION),
  repository: z.string().default(DEFAULT_PROMETHEUS_COMMUNITY_REPOSITORY),
  metricName: z.string().default(DEFAULT_CUSTOM_METRIC_NAME),
  window: z.string().default(DEFAULT_METRIC_WINDOW),
  values: looseValues.default({}),
});

const serverSchema = z.strictObject({
  pool: z.string(),
  /** The resource each pod requests; @default the pool's only advertised resource. */
  resource: z.string().optional(),
  image: z.string().default(DEFAULT_TRITON_IMAGE),
  replicas: z.number().default(DEFAULT_TRITON_REPLICAS),
  autoscaling: z
    .strictObject({
      minReplicas: z.number().default(DEFAULT_MIN_REPLICAS),
      /**
       * The most pods the HPA scales to; @default with a `sharingCurve`, every device filled to the knee (or its
       * slots when fewer): pods past the knee add latency, not requests. Required without a curve.
       */
      maxReplicas: z.number().optional(),
      /** With a curve and no `maxReplicas`: stop at the knee (true), or fill every slot (false). */
      stopAtKnee: z.boolean().default(true),
      /** Target of the custom metric per pod (µs of queue time per request). */
      targetAverageValue: z.number().default(DEFAULT_TARGET_QUEUE_TIME_US),
      /** How fast the HPA gives pods back when the load drops (its `behavior.scaleDown`). */
      scaleDown: z
        .strictObject({
          /** Seconds the HPA looks back for the highest recommendation before it scales down. */
          stabilizationWindowSeconds: z.number().default(DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS),
          /** One pod is removed per this many seconds. */
          periodSeconds: z.number().default(DEFAULT_SCALE_DOWN_PERIOD_SECONDS),
        })
        .prefault({}),
    })
    .optional(),
  /** GPU memory one model instance needs, GiB; checked against the device it shares. */
  modelMemoryGiB: z.number().positive().optional(),
  /**
   * GPU memory each replica process takes besides its model, GiB (CUDA context, framework libraries, Triton's
   * memory pool); @default the GPU architecture's measured figure (gpu/memory.ts).
   */
  overheadGiB: z.number().optional(),
  /**
   * What one device serves at 1, 2, … N pods of this server: requests/s in total and p99 latency, measured on the
   * device and sharing mode the server runs on (`npm run advise` learns it from the running platform). With it,
   * capacity and the preview count requests, and the HPA stops at the knee.
   */
  sharingCurve: sharingCurveSchema.optional(),
  /** The server's objective at its peak: requests/s it must serve, each within a p99 latency (ms). */
  slo: servingObjectiveSchema.optional(),
  /** Models to load (explicit model control); all models of the repository if unset. */
  models: z.array(z.string().min(1)).optional(),
  resources: z
    .strictObject({ cpu: z.string().default(DEFAULT_TRITON_CPU), memory: z.string().default(DEFAULT_TRITON_MEMORY) })
    .prefault({}),
  service: z
    .strictObject({
      type: z.enum(["LoadBalancer", "ClusterIP", "NodePort"]).default(DEFAULT_TRITON_SERVICE_TYPE),
      annotations: stringMap.default({}),
      /** Expose the metrics port through the Service too (refused for LoadBalancer). */
      exposeMetrics: z.boolean().default(false),
    })
    .prefault({}),
});

export const stackConfigSchema = z.strictObject({
  cluster: clusterSchema.prefault({}),
  /** kubeconfig of an existing cluster; the ambient one if unset. A credential: the stack file must hold it encrypted. */
  kubeconfig: z.string().min(1).optional().meta({ secret: true }),
  gpuPools: z.record(z.string(), poolSchema).default({}),
  modelStore: modelStoreSchema.prefault({}),
  inference: z.strictObject({ namespace: z.string().default(DEFAULT_INFERENCE_NAMESPACE) }).prefault({}),
  gpuOperator: gpuOperatorSchema.prefault({}),
  /** NVIDIA's DRA driver, which serves the pools with `allocation: dra`. */
  draDriver: draDriverSchema.prefault({}),
  monitoring: monitoringSchema.prefault({}),
  metricsAdapter: metricsAdapterSchema.prefault({}),
  servers: z.record(z.string(), serverSchema).default({}),
  validation: z
    .strictObject({
      /** What oversubscribed GPU memory under time-slicing does: warn, or fail the preview. */
      memoryOversubscription: z.enum(["warn", "fail"]).default("warn"),
      /** The knee of a sharing curve: the pod count past which one more pod adds less than this fraction of one alone. */
      kneeFraction: z.number().default(DEFAULT_KNEE_FRACTION),
    })
    .prefault({}),
});

export type RawStackConfig = z.infer<typeof stackConfigSchema>;
export type RawPool = z.infer<typeof poolSchema>;
export type RawServer = RawStackConfig["servers"][string];

/**
 * What a secret config value (`gpushare:kubeconfig`) is replaced by before parsing: the parser needs to know it
 * is set, never what it is.
 */
export const SECRET_STAND_IN = "(secret)";

/** The config keys, in the order `Pulumi.yaml` declares them. */
const STACK_CONFIG_KEYS = Object.keys(stackConfigSchema.shape) as (keyof RawStackConfig)[];

/**
 * The `gpushare:` keys the schema marks `secret`: credentials, which a stack file must hold encrypted
 * (`pulumi config set --secret`).
 */
export const SECRET_STACK_CONFIG_KEYS: readonly string[] = STACK_CONFIG_KEYS.filter(
  (key) => stackConfigSchema.shape[key].meta()?.secret === true,
);
