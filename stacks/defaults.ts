/**
 * Every default gpushare applies, named, in one place. Versions were current when written; each can be
 * overridden per stack.
 */

/** @default - the NVIDIA GPU operator release the device-plugin and mig-manager facts were checked against. */
export const DEFAULT_GPU_OPERATOR_CHART_VERSION = "v26.7.0";
export const DEFAULT_GPU_OPERATOR_REPOSITORY = "https://helm.ngc.nvidia.com/nvidia";
export const DEFAULT_GPU_OPERATOR_NAMESPACE = "gpu-operator";

export const DEFAULT_KUBE_PROMETHEUS_STACK_CHART_VERSION = "88.5.3";
export const DEFAULT_PROMETHEUS_COMMUNITY_REPOSITORY = "https://prometheus-community.github.io/helm-charts";
export const DEFAULT_MONITORING_NAMESPACE = "monitoring";

export const DEFAULT_PROMETHEUS_ADAPTER_CHART_VERSION = "5.3.0";
/** @default - the metric the article's HPA scales on: Triton queue time per successful request, µs. */
export const DEFAULT_CUSTOM_METRIC_NAME = "avg_time_queue_us";
/** @default - the article's window: queue time averaged over the last 30 seconds. */
export const DEFAULT_METRIC_WINDOW = "30s";

/** @default - Triton release of the write-up's era would be 23.05; this one is newer and still CUDA 12. */
export const DEFAULT_TRITON_IMAGE = "nvcr.io/nvidia/tritonserver:24.08-py3";
export const DEFAULT_INFERENCE_NAMESPACE = "inference";
/** @default - the article's HPA target: 50 µs of queue time per request, averaged over pods. */
export const DEFAULT_TARGET_QUEUE_TIME_US = 50;

/** Image the seed Job downloads models with; it needs only a shell and curl. */
export const DEFAULT_SEED_IMAGE = "curlimages/curl:8.11.1";
export const DEFAULT_MODEL_STORE_MOUNT_PATH = "/models";

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

/** Label every node of a pool carries and every server of the pool selects on. */
export const POOL_LABEL = "gpushare.io/pool";
