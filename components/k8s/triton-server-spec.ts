import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { AdvertisedDevice } from "../../gpu/capacity";
import { generationName } from "../../gpu/config-names";
import type { DraClaimMode } from "../../gpu/dra";
import { CLAIM_REQUEST_NAME, draClaimMode, draClaimSpec, RESOURCE_API_VERSION } from "../../gpu/dra";
import {
  DEFAULT_MIN_REPLICAS,
  DEFAULT_SCALE_DOWN_PERIOD_SECONDS,
  DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS,
  DEFAULT_TRITON_CPU,
  DEFAULT_TRITON_IMAGE,
  DEFAULT_TRITON_MEMORY,
  DEFAULT_TRITON_REPLICAS,
  DEFAULT_TRITON_SERVICE_TYPE,
} from "../defaults";
import { POOL_LABEL } from "./gpu-operator-values";

/**
 * Pure builders of a Triton server's pod spec, Service ports and HPA behaviour from its spec. No resource is
 * created here; `triton-server.ts` puts these into the Deployment, Service and HPA.
 */

/**
 * One Triton server as plain data: what it serves, on which device of which pool, how many pods and how they are
 * reached. `TritonServerArgs` adds the objects it runs with (namespace, claim, metric).
 */
export interface TritonServerSpec {
  /**
   * The name of the server's Deployment, Service, PodDisruptionBudget, PodMonitor and HPA, and its pods'
   * `app.kubernetes.io/instance` label; a DNS-1123 label. A contract: the Service's DNS name, and a renamed
   * Service is a new load balancer with a new address.
   */
  readonly serverName: string;
  /**
   * The GPU pool the pods run in: its name (the pods' `gpushare.io/pool` label) and the node labels that select its
   * nodes.
   */
  readonly pool: {
    readonly name: string;
    /**
     * Node labels that select the pool's nodes.
     * @default - `{"gpushare.io/pool": <name>}`, the label the `GpuOperator` component gives the pool's nodes.
     */
    readonly nodeSelector?: Readonly<Record<string, string>>;
  };
  /**
   * The device each pod requests (exactly one), as the pool advertises it: its resource name (e.g.
   * `nvidia.com/mig-1g.5gb`), MIG profile and sharing, which decide whether Triton may read GPU metrics.
   */
  readonly device: AdvertisedDevice;
  /**
   * Devices of the device's resource the pool advertises at its maximum node count. With one to spare at
   * the server's maximum replicas, a rollout adds a new pod before removing an old one.
   * @default - unknown: rollouts replace one pod at a time, never waiting for a device that may not exist.
   */
  readonly poolCapacity?: number;
  /**
   * The pool allocates through DRA: each pod gets `device` through a ResourceClaim (from the server's
   * ResourceClaimTemplate, or the server's one shared claim under MPS) instead of an extended resource.
   * @default - none: the device plugin's extended resource `device.resource`.
   * @see docs/dra.md
   */
  readonly dra?: {
    /**
     * The DRA driver's consumable shares per device (`--consumable-shares`), when it runs with them.
     * @default - none: the driver allocates each device to one claim.
     */
    readonly consumableShares?: number;
  };
  /**
   * The Triton image, pinned by tag or digest.
   * @default - `DEFAULT_TRITON_IMAGE` (components/defaults.ts)
   */
  readonly image?: string;
  /**
   * Models to load (explicit model control), by their directory in the repository.
   * @default - every model of the repository, loaded once at start.
   */
  readonly models?: readonly string[];
  /** CPU and memory of each pod besides its device: CPU requested, memory requested and limited alike. */
  readonly resources?: {
    /**
     * CPU each pod requests (not limited: a CPU limit throttles the request path).
     * @default "1"
     */
    readonly cpu?: string;
    /**
     * Memory each pod requests and is limited to.
     * @default "4Gi"
     */
    readonly memory?: string;
  };
  /**
   * Pods without autoscaling; with it, the count the Deployment starts at (clamped into the HPA's bounds).
   * @default 1
   */
  readonly replicas?: number;
  /**
   * An HPA on the custom metric, averaged over the pods.
   * @default - none: `replicas` pods, always.
   */
  readonly autoscaling?: {
    /**
     * Fewest pods the HPA keeps.
     * @default 1
     */
    readonly minReplicas?: number;
    /** Most pods the HPA runs; the pool must have a device for each. */
    readonly maxReplicas: number;
    /**
     * Target of the metric per pod (µs of queue time per request).
     * @default 50
     */
    readonly targetAverageValue?: number;
    /** How fast pods are given back when the load drops (the HPA's `behavior.scaleDown`). */
    readonly scaleDown?: {
      /**
       * Seconds the HPA looks back for the highest recommendation before it scales down (0-3600).
       * @default 300
       */
      readonly stabilizationWindowSeconds?: number;
      /**
       * One pod is removed per this many seconds (1-1800).
       * @default 60
       */
      readonly periodSeconds?: number;
    };
  };
  /** The Service in front of the pods. */
  readonly service?: {
    /**
     * How the Service is reached.
     * @default "LoadBalancer"
     */
    readonly type?: "LoadBalancer" | "ClusterIP" | "NodePort";
    /**
     * Annotations of the Service (a cloud's load-balancer settings, say).
     * @default {}
     */
    readonly annotations?: Readonly<Record<string, string>>;
    /**
     * Expose the metrics port through the Service too; refused for a LoadBalancer.
     * @default false
     */
    readonly exposeMetrics?: boolean;
  };
}

/**
 * Triton's ports: HTTP/REST, gRPC, Prometheus metrics (Triton's defaults).
 * @see https://github.com/triton-inference-server/server/blob/main/docs/user_guide/metrics.md
 */
export const TRITON_PORTS = { http: 8000, grpc: 8001, metrics: 8002 } as const;
/** The `triton-server` user of the NGC image (uid and gid 1000; the image's build asserts both). */
export const TRITON_USER_ID = 1000;
export const TRITON_APP_NAME = "triton";
/** Where every pod mounts the model repository, read-only. */
export const MODEL_REPOSITORY_PATH = "/models";
/** Taint the GPU operator and managed GPU node groups put on GPU nodes. */
export const GPU_TAINT_KEY = "nvidia.com/gpu";

/** The health endpoints of Triton's HTTP API (KServe v2 protocol). */
export const TRITON_LIVE_PATH = "/v2/health/live";
export const TRITON_READY_PATH = "/v2/health/ready";

/**
 * How long a pod may take to load its models before the kubelet gives up: 60 × 10 s. Models come over NFS, and a
 * first start on a node also warms the page cache.
 */
export const STARTUP_PROBE_PERIOD_SECONDS = 10;
export const STARTUP_PROBE_FAILURE_THRESHOLD = 60;

/** Labels that select one server's pods (the Deployment selector: immutable, so nothing that can change). */
export function tritonSelectorLabels(server: TritonServerSpec): Record<string, string> {
  return { "app.kubernetes.io/name": TRITON_APP_NAME, "app.kubernetes.io/instance": server.serverName };
}

/** Labels of a server's pods: the selector plus the pool they run in. */
export function tritonPodLabels(server: TritonServerSpec): Record<string, string> {
  return { ...tritonSelectorLabels(server), [POOL_LABEL]: server.pool.name };
}

/**
 * Whether Triton reports GPU metrics (`nv_gpu_*`) for this device. Only for a whole, unshared GPU:
 * - on a MIG device Triton cannot read GPU metrics at all (a known limitation of its embedded DCGM);
 * - under time-slicing or MPS every replica would report the same physical GPU under its own pod, and N embedded
 *   DCGM instances would poll one GPU.
 * In both cases the GPU operator's DCGM exporter is the source of GPU metrics.
 * @see https://github.com/triton-inference-server/server/issues/5324
 */
export function gpuMetricsAllowed(device: AdvertisedDevice): boolean {
  return device.migProfile === undefined && device.sharing === "none" && device.replicas === 1;
}

/**
 * `tritonserver` and its flags. Models listed in the config are loaded explicitly (and only they); without a
 * list Triton loads every model of the repository once at start (`none`: no polling, no load API).
 * @see https://github.com/triton-inference-server/server/blob/main/docs/user_guide/model_management.md
 */
export function tritonArgs(server: TritonServerSpec): string[] {
  const models = server.models;
  return [
    "tritonserver",
    `--model-repository=${MODEL_REPOSITORY_PATH}`,
    `--model-control-mode=${models === undefined ? "none" : "explicit"}`,
    ...(models ?? []).map((m) => `--load-model=${m}`),
    // Ready only when every model is ready: the readiness probe then means "can serve".
    "--strict-readiness=true",
    `--http-port=${TRITON_PORTS.http}`,
    `--grpc-port=${TRITON_PORTS.grpc}`,
    "--allow-metrics=true",
    `--allow-gpu-metrics=${gpuMetricsAllowed(server.device)}`,
    `--metrics-port=${TRITON_PORTS.metrics}`,
    // Latency quantiles per model (nv_inference_request_summary_us): the p99 of a sharing curve (npm run advise).
    "--metrics-config=summary_latencies=true",
  ];
}

/**
 * Exactly one device of the server's resource, requested and limited alike (extended resources must be equal);
 * CPU requested but not limited (a CPU limit throttles the request path); memory limited at its request so that
 * the pods packed onto one GPU node cannot starve each other.
 */
export function tritonResources(server: TritonServerSpec): k8s.types.input.core.v1.ResourceRequirements {
  const cpu = server.resources?.cpu ?? DEFAULT_TRITON_CPU;
  const memory = server.resources?.memory ?? DEFAULT_TRITON_MEMORY;
  if (server.dra !== undefined) {
    // The device comes through the pod's claim; `claims` names it for this container.
    return { requests: { cpu, memory }, limits: { memory }, claims: [{ name: CLAIM_REQUEST_NAME }] };
  }
  const resource = server.device.resource;
  return {
    requests: { cpu, memory, [resource]: "1" },
    limits: { memory, [resource]: "1" },
  };
}

/** A server's DRA claim object: a ResourceClaimTemplate (a claim per pod) or one ResourceClaim its pods share. */
export interface TritonDeviceClaim {
  readonly apiVersion: typeof RESOURCE_API_VERSION;
  readonly kind: "ResourceClaimTemplate" | "ResourceClaim";
  readonly mode: DraClaimMode;
  /**
   * `<server>-<hash of the spec>`. Claims and templates are immutable: a changed spec is a new object under a new
   * name, created before the old one goes, and the Deployment rolls over to it.
   */
  readonly name: string;
  readonly spec: Record<string, unknown>;
}

/** The claim object of a server on a DRA pool, or `undefined` on a device-plugin pool. */
export function tritonDeviceClaim(server: TritonServerSpec): TritonDeviceClaim | undefined {
  if (server.dra === undefined) return undefined;
  const mode = draClaimMode(server.device);
  const claimSpec = draClaimSpec(server.device, server.dra.consumableShares);
  const spec = mode === "template" ? { spec: claimSpec } : claimSpec;
  return {
    apiVersion: RESOURCE_API_VERSION,
    kind: mode === "template" ? "ResourceClaimTemplate" : "ResourceClaim",
    mode,
    name: generationName(server.serverName, JSON.stringify(spec)),
    spec,
  };
}

/** The pod's reference to its claim: through the template (a claim of its own) or to the shared claim. */
export function tritonPodResourceClaim(
  mode: DraClaimMode,
  name: pulumi.Input<string>,
): k8s.types.input.core.v1.PodResourceClaim {
  return mode === "template"
    ? { name: CLAIM_REQUEST_NAME, resourceClaimTemplateName: name }
    : { name: CLAIM_REQUEST_NAME, resourceClaimName: name };
}

/** Pods the server may run: its fixed count, or the larger of the HPA's maximum and the starting count. */
export function maxReplicas(server: TritonServerSpec): number {
  const replicas = server.replicas ?? DEFAULT_TRITON_REPLICAS;
  return server.autoscaling === undefined ? replicas : Math.max(server.autoscaling.maxReplicas, replicas);
}

/**
 * Rolling updates that cannot deadlock on GPUs. A surge pod needs a free device: with one to spare even at the
 * server's maximum replicas, add the new pod before removing an old one (no capacity lost). When the server may
 * use every device of its pool — all of the article's shapes — a surge pod would stay Pending and the rollout
 * would never finish, so replace one pod at a time instead.
 */
export function tritonRolloutStrategy(server: TritonServerSpec): k8s.types.input.apps.v1.DeploymentStrategy {
  const spare = (server.poolCapacity ?? 0) - maxReplicas(server);
  return {
    type: "RollingUpdate",
    rollingUpdate: spare >= 1 ? { maxUnavailable: 0, maxSurge: 1 } : { maxUnavailable: 1, maxSurge: 0 },
  };
}

/** Replicas the Deployment starts with: the fixed count, or the HPA's floor (clamped into its bounds). */
export function initialReplicas(server: TritonServerSpec): number {
  const replicas = server.replicas ?? DEFAULT_TRITON_REPLICAS;
  const auto = server.autoscaling;
  if (auto === undefined) return replicas;
  return Math.min(Math.max(replicas, auto.minReplicas ?? DEFAULT_MIN_REPLICAS), auto.maxReplicas);
}

const RESTRICTED_CONTAINER_SECURITY: k8s.types.input.core.v1.SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  runAsNonRoot: true,
  runAsUser: TRITON_USER_ID,
  runAsGroup: TRITON_USER_ID,
  seccompProfile: { type: "RuntimeDefault" },
};

/** The pod spec of a Triton server: the models mounted read-only, probes on Triton's health API, non-root. */
export function tritonPodSpec(
  server: TritonServerSpec,
  claimName: pulumi.Input<string>,
  deviceClaim?: k8s.types.input.core.v1.PodResourceClaim,
): k8s.types.input.core.v1.PodSpec {
  const httpGet = (path: string): k8s.types.input.core.v1.HTTPGetAction => ({ path, port: "http" });
  return {
    nodeSelector: { ...(server.pool.nodeSelector ?? { [POOL_LABEL]: server.pool.name }) },
    tolerations: [{ key: GPU_TAINT_KEY, operator: "Exists", effect: "NoSchedule" }],
    // Triton talks to no Kubernetes API and needs no service environment variables.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: TRITON_USER_ID,
      runAsGroup: TRITON_USER_ID,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers: [
      {
        name: "triton",
        image: server.image ?? DEFAULT_TRITON_IMAGE,
        // No `command`: the image's entrypoint (NVIDIA's environment checks) runs and then execs these.
        args: tritonArgs(server),
        ports: [
          { name: "http", containerPort: TRITON_PORTS.http, protocol: "TCP" },
          { name: "grpc", containerPort: TRITON_PORTS.grpc, protocol: "TCP" },
          { name: "metrics", containerPort: TRITON_PORTS.metrics, protocol: "TCP" },
        ],
        resources: tritonResources(server),
        volumeMounts: [{ name: "models", mountPath: MODEL_REPOSITORY_PATH, readOnly: true }],
        startupProbe: {
          httpGet: httpGet(TRITON_READY_PATH),
          periodSeconds: STARTUP_PROBE_PERIOD_SECONDS,
          timeoutSeconds: 5,
          failureThreshold: STARTUP_PROBE_FAILURE_THRESHOLD,
        },
        livenessProbe: {
          httpGet: httpGet(TRITON_LIVE_PATH),
          periodSeconds: 10,
          timeoutSeconds: 5,
          failureThreshold: 3,
        },
        readinessProbe: {
          httpGet: httpGet(TRITON_READY_PATH),
          periodSeconds: 5,
          timeoutSeconds: 5,
          failureThreshold: 3,
        },
        securityContext: RESTRICTED_CONTAINER_SECURITY,
      },
    ],
    // Read-only twice: the claim as a volume and the mount. Only the model store's seed Job writes.
    volumes: [{ name: "models", persistentVolumeClaim: { claimName, readOnly: true } }],
    ...(deviceClaim === undefined ? {} : { resourceClaims: [deviceClaim] }),
  };
}

/**
 * What is wrong with a server's Service settings, each with the key of `service` it is about: the metrics port is
 * never published through a LoadBalancer. The one owner of the rule; the component and the stack layer put their own
 * path before the key.
 */
export function tritonServiceProblems(
  service: { readonly type?: string; readonly exposeMetrics?: boolean } | undefined,
): { readonly key: "exposeMetrics"; readonly reason: string }[] {
  const type = service?.type ?? DEFAULT_TRITON_SERVICE_TYPE;
  if (service?.exposeMetrics === true && type === "LoadBalancer") {
    return [
      {
        key: "exposeMetrics",
        reason:
          "true would publish Triton's metrics port through a LoadBalancer; Prometheus scrapes pods directly, so set it to false or use service.type ClusterIP",
      },
    ];
  }
  return [];
}

/** Service ports: HTTP and gRPC, plus metrics only when asked for (and never through a load balancer). */
export function tritonServicePorts(exposeMetrics: boolean): k8s.types.input.core.v1.ServicePort[] {
  return [
    { name: "http", port: TRITON_PORTS.http, targetPort: "http", protocol: "TCP" },
    { name: "grpc", port: TRITON_PORTS.grpc, targetPort: "grpc", protocol: "TCP" },
    ...(exposeMetrics ? [{ name: "metrics", port: TRITON_PORTS.metrics, targetPort: "metrics", protocol: "TCP" }] : []),
  ];
}

/** The first address of a Service's load balancer, as Kubernetes reports it in `status.loadBalancer.ingress`. */
export interface LoadBalancerIngress {
  readonly ip?: string;
  readonly hostname?: string;
}

/**
 * A server's HTTP endpoint: `http://<load balancer address>:8000` once a LoadBalancer Service has an address (an
 * IPv6 address in brackets), the in-cluster URL otherwise.
 */
export function tritonEndpoint(
  serviceType: string,
  ingress: LoadBalancerIngress | undefined,
  inClusterEndpoint: string,
): string {
  const address = serviceType === "LoadBalancer" ? (ingress?.ip ?? ingress?.hostname) : undefined;
  if (address === undefined || address === "") return inClusterEndpoint;
  return `http://${address.includes(":") ? `[${address}]` : address}:${TRITON_PORTS.http}`;
}

/**
 * Seconds between Prometheus scrapes of Triton (the PodMonitor's interval), which is also the resolution of the
 * HPA's metric. The metric's window must span at least two of them (see `queueTimeRule`).
 */
export const SCRAPE_INTERVAL_SECONDS = 10;

/**
 * Scale up at once and fast, down slowly. Up: no stabilization, and within one 15 s HPA sync the larger of
 * 4 pods or doubling — a queue builds up in seconds. Down: by default the highest recommendation of the last 5
 * minutes, then at most one pod a minute, so a lull between bursts does not shed capacity that is needed again (no
 * flapping); `scaleDown` shortens or lengthens both.
 * @see https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#configurable-scaling-behavior
 */
export function tritonHpaBehavior(
  scaleDown: NonNullable<TritonServerSpec["autoscaling"]>["scaleDown"] = {},
): k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerBehavior {
  return {
    scaleUp: {
      stabilizationWindowSeconds: 0,
      selectPolicy: "Max",
      policies: [
        { type: "Pods", value: 4, periodSeconds: 15 },
        { type: "Percent", value: 100, periodSeconds: 15 },
      ],
    },
    scaleDown: {
      stabilizationWindowSeconds: scaleDown.stabilizationWindowSeconds ?? DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS,
      selectPolicy: "Min",
      policies: [
        { type: "Pods", value: 1, periodSeconds: scaleDown.periodSeconds ?? DEFAULT_SCALE_DOWN_PERIOD_SECONDS },
      ],
    },
  };
}

/**
 * A positive number as a Kubernetes quantity string: integers as they are, fractions in milli-units (rounded up,
 * so a target never becomes 0).
 */
export function toQuantity(value: number): string {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${value} is not a positive quantity`);
  if (Number.isInteger(value)) return String(value);
  // toFixed drops float noise (0.05 × 1000 = 50.000000000000007) before rounding up.
  return `${Math.ceil(Number((value * 1000).toFixed(6)))}m`;
}
