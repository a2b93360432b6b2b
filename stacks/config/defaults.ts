/**
 * The defaults a stack file gets for what it leaves out. The components own the defaults of their arguments
 * (components/defaults.ts); the schema applies the same ones, so these are re-exported here. What only a stack
 * has a default for (the example model it seeds) lives here.
 */
export {
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
  DEFAULT_TARGET_QUEUE_TIME_US,
  DEFAULT_TRITON_CPU,
  DEFAULT_TRITON_IMAGE,
  DEFAULT_TRITON_MEMORY,
  DEFAULT_TRITON_REPLICAS,
  DEFAULT_TRITON_SERVICE_TYPE,
  DEFAULT_WORKER_COUNT,
} from "../../components/defaults";
/** The label the GPU operator component puts on every node of a pool, and every server of the pool selects on. */
export { POOL_LABEL } from "../../components/k8s/gpu-operator-values";

/**
 * The article's example model, `densenet_onnx`, as Triton's quick start fetches it.
 * @see https://github.com/triton-inference-server/server/tree/main/docs/examples/model_repository/densenet_onnx
 */
export const DEFAULT_SEED_MODELS = [
  {
    name: "densenet_onnx",
    files: [
      {
        path: "config.pbtxt",
        url: "https://raw.githubusercontent.com/triton-inference-server/server/r24.08/docs/examples/model_repository/densenet_onnx/config.pbtxt",
      },
      {
        path: "densenet_labels.txt",
        url: "https://raw.githubusercontent.com/triton-inference-server/server/r24.08/docs/examples/model_repository/densenet_onnx/densenet_labels.txt",
      },
      {
        path: "1/model.onnx",
        url: "https://contentmamluswest001.blob.core.windows.net/content/14b2744cf8d6418c87ffddc3f3127242/9502630827244d60a1214f250e3bbca7/08aed7327d694b8dbaee2c97b8d0fcba/densenet121-1.2.onnx",
      },
    ],
  },
];
