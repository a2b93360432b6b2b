/**
 * Every default the components apply to an argument left unset, named, in one place. Versions were current when
 * written. No import, so that whatever fills in arguments for the components can apply the same values.
 */

/** @default - the NVIDIA GPU operator release the device-plugin and mig-manager facts were checked against. */
export const DEFAULT_GPU_OPERATOR_CHART_VERSION = "v26.7.0";
export const DEFAULT_GPU_OPERATOR_REPOSITORY = "https://helm.ngc.nvidia.com/nvidia";
export const DEFAULT_GPU_OPERATOR_NAMESPACE = "gpu-operator";

export const DEFAULT_KUBE_PROMETHEUS_STACK_CHART_VERSION = "88.5.3";
/** @default - the operator installs NVIDIA's driver as a container (images without a preinstalled driver). */
export const DEFAULT_GPU_DRIVER_ENABLED = true;
/** @default - mig-manager toggles MIG mode without rebooting the node. */
export const DEFAULT_REBOOT_ON_MIG_CHANGE = false;
/** @default - the DCGM exporter's ServiceMonitor is created, so GPU utilisation reaches Prometheus. */
export const DEFAULT_DCGM_SERVICE_MONITOR = true;

export const DEFAULT_PROMETHEUS_COMMUNITY_REPOSITORY = "https://prometheus-community.github.io/helm-charts";
export const DEFAULT_MONITORING_NAMESPACE = "monitoring";
/** @default - Grafana with gpushare's dashboard is installed with kube-prometheus-stack. */
export const DEFAULT_GRAFANA_ENABLED = true;

export const DEFAULT_PROMETHEUS_ADAPTER_CHART_VERSION = "5.3.0";
/** @default - the metric the article's HPA scales on: Triton queue time per successful request, µs. */
export const DEFAULT_CUSTOM_METRIC_NAME = "avg_time_queue_us";
/** @default - the article's window: queue time averaged over the last 30 seconds. */
export const DEFAULT_METRIC_WINDOW = "30s";

/** @default - Triton release of the write-up's era would be 23.05; this one is newer and still CUDA 12. */
export const DEFAULT_TRITON_IMAGE = "nvcr.io/nvidia/tritonserver:24.08-py3";
export const DEFAULT_INFERENCE_NAMESPACE = "inference";
/** @default - one Triton pod (the initial count under autoscaling). */
export const DEFAULT_TRITON_REPLICAS = 1;
/** @default - the HPA never scales a server below one pod. */
export const DEFAULT_MIN_REPLICAS = 1;
/** @default - the article's HPA target: 50 µs of queue time per request, averaged over pods. */
export const DEFAULT_TARGET_QUEUE_TIME_US = 50;
/**
 * @default - the HPA scales down on the highest recommendation of the last 5 minutes (Kubernetes' own default),
 * so a short lull does not give back pods the next burst needs.
 */
export const DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS = 300;
/** @default - then one pod per minute. */
export const DEFAULT_SCALE_DOWN_PERIOD_SECONDS = 60;
/** @default - what each Triton pod requests (and, for memory, is limited to) besides its GPU device. */
export const DEFAULT_TRITON_CPU = "1";
export const DEFAULT_TRITON_MEMORY = "4Gi";
/** @default - a Triton server reachable from outside the cluster, as in the article. */
export const DEFAULT_TRITON_SERVICE_TYPE = "LoadBalancer";

/** Image the seed Job downloads models with; it needs only a shell and curl. */
export const DEFAULT_SEED_IMAGE = "curlimages/curl:8.11.1";

/** @default - one master: etcd keeps quorum with any odd count. */
export const DEFAULT_MASTER_COUNT = 1;
/** @default - one node in the default (non-GPU) worker group, for system workloads. */
export const DEFAULT_WORKER_COUNT = 1;
/** @default - minutes Magnum may take to create the cluster and each node group. */
export const DEFAULT_CLUSTER_CREATE_TIMEOUT_MINUTES = 60;
/** @default - the only container orchestration engine gpushare deploys. */
export const DEFAULT_CLUSTER_COE = "kubernetes";
/** @default - Magnum's network driver with NetworkPolicy support. */
export const DEFAULT_CLUSTER_NETWORK_DRIVER = "calico";

/** @default - the release of NVIDIA's DRA driver for GPUs whose rules `gpu/dra.ts` holds (tools/versions.env). */
export const DEFAULT_DRA_DRIVER_CHART_VERSION = "0.5.0";
/** @default - the driver's chart as its project publishes it (an OCI chart: no repository index). */
export const DEFAULT_DRA_DRIVER_CHART = "oci://registry.k8s.io/dra-driver-nvidia/charts/dra-driver-nvidia-gpu";
/** @default - the namespace the driver's own install scripts use. */
export const DEFAULT_DRA_DRIVER_NAMESPACE = "dra-driver-nvidia-gpu";
