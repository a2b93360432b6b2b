import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { TritonServer } from "../../../components/k8s/triton-server";
import {
  gpuMetricsAllowed,
  initialReplicas,
  maxReplicas,
  toQuantity,
  tritonArgs,
  tritonEndpoint,
  tritonRolloutStrategy,
  type TritonServerSpec,
} from "../../../components/k8s/triton-server-spec";
import type { AdvertisedDevice } from "../../../gpu/capacity";
import { MOCK_LOAD_BALANCER_IP, type RecordedResource } from "../../../scripts/mock-runtime";
import { tritonServerSpec } from "../../../stacks/args";
import { at, one, ofType, resolve, runFailing, runProgram, stackFileConfig } from "../../helpers";

type Obj = Record<string, unknown>;

/** A server of a committed stack file, as the platform passes it. */
function serverOf(stack: string, name: string): TritonServerSpec {
  const server = stackFileConfig(stack).servers.find((s) => s.name === name);
  if (server === undefined) throw new Error(`stack ${stack} has no server ${name}`);
  return tritonServerSpec(server);
}

/** One whole, unshared T4 per pod. */
const WHOLE_T4: AdvertisedDevice = {
  baseResource: "nvidia.com/gpu",
  resource: "nvidia.com/gpu",
  physicalPerNode: 1,
  replicas: 1,
  memoryGiB: 16,
  sharing: "none",
};

const MONITOR_LABELS = { release: "kube-prometheus-stack" };
const METRIC = "avg_time_queue_us";

interface Built {
  readonly resources: RecordedResource[];
  readonly endpoint: string;
  readonly clusterEndpoint: string;
}

async function build(server: TritonServerSpec, monitorLabels: Record<string, string> = MONITOR_LABELS): Promise<Built> {
  let triton: TritonServer | undefined;
  const resources = await runProgram(() => {
    triton = new TritonServer(`gpushare-${server.serverName}`, {
      ...server,
      namespace: "inference",
      claimName: "models",
      monitorLabels,
      metricName: METRIC,
    });
  });
  if (triton === undefined) throw new Error("TritonServer was not constructed");
  return {
    resources,
    endpoint: await resolve(triton.endpoint),
    clusterEndpoint: await resolve(triton.clusterEndpoint),
  };
}

const container = (deployment: RecordedResource): Obj =>
  at(deployment.inputs, "spec", "template", "spec", "containers", 0) as Obj;
const podSpec = (deployment: RecordedResource): Obj => at(deployment.inputs, "spec", "template", "spec") as Obj;
const GPU_LIKE = /^nvidia\.com\//;

/** The article's three server shapes, as the project's stack files define them. */
const SHAPES = [
  {
    stack: "staging",
    server: "triton-a100",
    pool: "a100",
    resource: "nvidia.com/gpu",
    hpa: { min: 1, max: 7 },
    replicas: 1,
    gpuMetrics: false,
  },
  {
    stack: "dev",
    server: "triton-t4",
    pool: "t4",
    resource: "nvidia.com/gpu",
    hpa: { min: 4, max: 14 },
    replicas: 4,
    gpuMetrics: false,
  },
  {
    stack: "prod",
    server: "triton-t4",
    pool: "t4",
    resource: "nvidia.com/gpu",
    hpa: { min: 4, max: 14 },
    replicas: 4,
    gpuMetrics: false,
  },
  {
    stack: "prod",
    server: "triton-mig",
    pool: "a100",
    resource: "nvidia.com/mig-1g.5gb",
    hpa: undefined,
    replicas: 8,
    gpuMetrics: false,
  },
] as const;

describe.each(SHAPES)("TritonServer $server of stack $stack", (shape) => {
  const built = (): Promise<Built> => build(serverOf(shape.stack, shape.server));

  it(`requests and limits exactly one ${shape.resource}, requests CPU and requests and limits memory`, async () => {
    const { resources } = await built();
    const res = container(one(resources, "kubernetes:apps/v1:Deployment")).resources as Obj;
    const gpuKeys = (o: unknown): string[] => Object.keys(o as Obj).filter((k) => GPU_LIKE.test(k));
    expect(gpuKeys(res.limits)).toEqual([shape.resource]);
    expect(gpuKeys(res.requests)).toEqual([shape.resource]);
    // No CPU limit: it would throttle the request path.
    expect(res).toEqual({
      requests: { cpu: "1", memory: "4Gi", [shape.resource]: "1" },
      limits: { memory: "4Gi", [shape.resource]: "1" },
    });
  });

  it("names its objects after the server, and its resources after the component: names are a contract", async () => {
    const { resources } = await built();
    const component = `gpushare-${shape.server}`;
    const children = resources
      .filter((r) => r.custom)
      .map((r) => `${r.type} ${r.name}`)
      .sort();
    expect(children).toEqual(
      [
        `kubernetes:apps/v1:Deployment ${component}-deployment`,
        `kubernetes:core/v1:Service ${component}-service`,
        `kubernetes:policy/v1:PodDisruptionBudget ${component}-pdb`,
        `kubernetes:monitoring.coreos.com/v1:PodMonitor ${component}-podmonitor`,
        ...(shape.hpa === undefined ? [] : [`kubernetes:autoscaling/v2:HorizontalPodAutoscaler ${component}-hpa`]),
      ].sort(),
    );
    const parent = one(resources, "gpushare:k8s:TritonServer").urn;
    for (const r of resources.filter((x) => x.custom)) {
      expect(r.parent).toBe(parent);
      expect(at(r.inputs, "metadata", "name")).toBe(shape.server);
      expect(at(r.inputs, "metadata", "namespace")).toBe("inference");
    }
    expect(at(one(resources, "kubernetes:apps/v1:Deployment").inputs, "metadata", "labels")).toEqual({
      "app.kubernetes.io/name": "triton",
      "app.kubernetes.io/instance": shape.server,
      "gpushare.io/pool": shape.pool,
      "app.kubernetes.io/part-of": "gpushare",
    });
  });

  it("gives a rollout 20 minutes, past the startup probe's 10", async () => {
    const { resources } = await built();
    const deployment = one(resources, "kubernetes:apps/v1:Deployment");
    expect(at(deployment.inputs, "spec", "progressDeadlineSeconds")).toBe(900);
    expect(deployment.customTimeouts).toEqual({ create: "20m", update: "20m", delete: "" });
  });

  it("lands on its pool's nodes, tolerating the GPU taint", async () => {
    const { resources } = await built();
    const spec = podSpec(one(resources, "kubernetes:apps/v1:Deployment"));
    expect(spec.nodeSelector).toEqual({ "gpushare.io/pool": shape.pool });
    expect(spec.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  });

  it("labels its pods with the app, the server and the pool", async () => {
    const { resources } = await built();
    const deployment = one(resources, "kubernetes:apps/v1:Deployment");
    expect(at(deployment.inputs, "spec", "template", "metadata", "labels")).toEqual({
      "app.kubernetes.io/name": "triton",
      "app.kubernetes.io/instance": shape.server,
      "gpushare.io/pool": shape.pool,
    });
    expect(at(deployment.inputs, "spec", "selector", "matchLabels")).toEqual({
      "app.kubernetes.io/name": "triton",
      "app.kubernetes.io/instance": shape.server,
    });
    expect(at(deployment.inputs, "metadata")).toMatchObject({ name: shape.server, namespace: "inference" });
  });

  it("probes Triton's health API: startup and readiness on ready, liveness on live", async () => {
    const { resources } = await built();
    const c = container(one(resources, "kubernetes:apps/v1:Deployment"));
    // 10 minutes (60 × 10 s) to load models over NFS before the kubelet gives up.
    expect(c.startupProbe).toEqual({
      httpGet: { path: "/v2/health/ready", port: "http" },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 60,
    });
    expect(c.readinessProbe).toEqual({
      httpGet: { path: "/v2/health/ready", port: "http" },
      periodSeconds: 5,
      timeoutSeconds: 5,
      failureThreshold: 3,
    });
    expect(c.livenessProbe).toEqual({
      httpGet: { path: "/v2/health/live", port: "http" },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 3,
    });
    expect(c.ports).toEqual([
      { name: "http", containerPort: 8000, protocol: "TCP" },
      { name: "grpc", containerPort: 8001, protocol: "TCP" },
      { name: "metrics", containerPort: 8002, protocol: "TCP" },
    ]);
  });

  it("mounts the models read-only, on the volume and on the mount", async () => {
    const { resources } = await built();
    const deployment = one(resources, "kubernetes:apps/v1:Deployment");
    expect(podSpec(deployment).volumes).toEqual([
      { name: "models", persistentVolumeClaim: { claimName: "models", readOnly: true } },
    ]);
    expect(container(deployment).volumeMounts).toEqual([{ name: "models", mountPath: "/models", readOnly: true }]);
  });

  it("runs as the image's non-root user with no privileges", async () => {
    const { resources } = await built();
    const deployment = one(resources, "kubernetes:apps/v1:Deployment");
    expect(container(deployment).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(podSpec(deployment).securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(podSpec(deployment).automountServiceAccountToken).toBe(false);
    expect(podSpec(deployment).enableServiceLinks).toBe(false);
  });

  it("starts tritonserver on the repository with metrics on 8002 and GPU metrics only where they work", async () => {
    const { resources } = await built();
    expect(container(one(resources, "kubernetes:apps/v1:Deployment")).args).toEqual([
      "tritonserver",
      "--model-repository=/models",
      "--model-control-mode=none",
      "--strict-readiness=true",
      "--http-port=8000",
      "--grpc-port=8001",
      "--allow-metrics=true",
      `--allow-gpu-metrics=${shape.gpuMetrics}`,
      "--metrics-port=8002",
      "--metrics-config=summary_latencies=true",
    ]);
  });

  it("rolls one pod at a time without a surge pod, because its pool has no device to spare", async () => {
    const { resources } = await built();
    expect(at(one(resources, "kubernetes:apps/v1:Deployment").inputs, "spec", "strategy")).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
  });

  it("publishes HTTP and gRPC, and never the metrics port, through a LoadBalancer", async () => {
    const { resources, endpoint } = await built();
    const svc = one(resources, "kubernetes:core/v1:Service");
    expect(at(svc.inputs, "spec", "type")).toBe("LoadBalancer");
    expect(at(svc.inputs, "spec", "ports")).toEqual([
      { name: "http", port: 8000, targetPort: "http", protocol: "TCP" },
      { name: "grpc", port: 8001, targetPort: "grpc", protocol: "TCP" },
    ]);
    expect(at(svc.inputs, "spec", "selector")).toEqual({
      "app.kubernetes.io/name": "triton",
      "app.kubernetes.io/instance": shape.server,
    });
    expect(at(svc.inputs, "metadata", "annotations")).toEqual({});
    // The mock cloud gives every LoadBalancer Service this address.
    expect(MOCK_LOAD_BALANCER_IP).toBe("192.0.2.30");
    expect(endpoint).toBe("http://192.0.2.30:8000");
  });

  it("keeps at most one pod disrupted, and lets drains evict unready pods", async () => {
    const { resources } = await built();
    const pdb = one(resources, "kubernetes:policy/v1:PodDisruptionBudget");
    expect(at(pdb.inputs, "spec")).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: { "app.kubernetes.io/name": "triton", "app.kubernetes.io/instance": shape.server } },
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    });
  });

  it("is scraped by a PodMonitor on port metrics every 10s, carrying the Prometheus selector labels", async () => {
    const { resources } = await built();
    const pm = one(resources, "kubernetes:monitoring.coreos.com/v1:PodMonitor");
    expect(pm.inputs).toMatchObject({ apiVersion: "monitoring.coreos.com/v1", kind: "PodMonitor" });
    expect(at(pm.inputs, "metadata", "namespace")).toBe("inference");
    expect(at(pm.inputs, "metadata", "labels")).toMatchObject({
      release: "kube-prometheus-stack",
      "app.kubernetes.io/instance": shape.server,
    });
    expect(at(pm.inputs, "spec")).toEqual({
      selector: { matchLabels: { "app.kubernetes.io/name": "triton", "app.kubernetes.io/instance": shape.server } },
      podMetricsEndpoints: [{ port: "metrics", path: "/metrics", interval: "10s" }],
    });
  });

  if (shape.hpa !== undefined) {
    const hpa = shape.hpa;
    it(`scales ${hpa.min}..${hpa.max} on the custom metric's per-pod average, fast up and slow down`, async () => {
      const { resources } = await built();
      const h = one(resources, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
      expect(at(h.inputs, "spec")).toEqual({
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: shape.server },
        minReplicas: hpa.min,
        maxReplicas: hpa.max,
        metrics: [
          { type: "Pods", pods: { metric: { name: METRIC }, target: { type: "AverageValue", averageValue: "50" } } },
        ],
        behavior: {
          scaleUp: {
            stabilizationWindowSeconds: 0,
            selectPolicy: "Max",
            policies: [
              { type: "Pods", value: 4, periodSeconds: 15 },
              { type: "Percent", value: 100, periodSeconds: 15 },
            ],
          },
          scaleDown: {
            stabilizationWindowSeconds: 300,
            selectPolicy: "Min",
            policies: [{ type: "Pods", value: 1, periodSeconds: 60 }],
          },
        },
      });
    });

    it("starts at the HPA's floor and leaves the replica count to the HPA afterwards", async () => {
      const { resources } = await built();
      const deployment = one(resources, "kubernetes:apps/v1:Deployment");
      expect(at(deployment.inputs, "spec", "replicas")).toBe(hpa.min);
      expect(deployment.ignoreChanges).toEqual(["spec.replicas"]);
    });
  } else {
    it(`runs a fixed ${shape.replicas} replicas, owned by Pulumi, with no HPA`, async () => {
      const { resources } = await built();
      const deployment = one(resources, "kubernetes:apps/v1:Deployment");
      expect(at(deployment.inputs, "spec", "replicas")).toBe(shape.replicas);
      expect(deployment.ignoreChanges).toEqual([]);
      expect(ofType(resources, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")).toEqual([]);
    });
  }
});

/** A pool with room to spare: two whole T4s at max nodes, for one replica of a whole T4. */
function roomyServer(spec: Partial<TritonServerSpec> = {}): TritonServerSpec {
  return { serverName: "solo", pool: { name: "t4" }, device: WHOLE_T4, poolCapacity: 2, replicas: 1, ...spec };
}

describe("TritonServer choices", () => {
  it("gives pods back as fast as autoscaling.scaleDown says, and scales up as always", async () => {
    const spec = roomyServer({
      autoscaling: { maxReplicas: 3, scaleDown: { stabilizationWindowSeconds: 30, periodSeconds: 15 } },
    });
    const { resources } = await build(spec);
    const hpa = one(resources, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
    expect(at(hpa.inputs, "spec", "behavior", "scaleDown")).toEqual({
      stabilizationWindowSeconds: 30,
      selectPolicy: "Min",
      policies: [{ type: "Pods", value: 1, periodSeconds: 15 }],
    });
    const { resources: defaults } = await build(roomyServer({ autoscaling: { maxReplicas: 3 } }));
    const defaultHpa = one(defaults, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
    expect(at(hpa.inputs, "spec", "behavior", "scaleUp")).toEqual(at(defaultHpa.inputs, "spec", "behavior", "scaleUp"));
  });

  it("surges one pod before removing one when the pool has a device to spare at max replicas", async () => {
    const { resources } = await build(roomyServer());
    expect(at(one(resources, "kubernetes:apps/v1:Deployment").inputs, "spec", "strategy")).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
  });

  it("replaces one pod at a time when the pool's capacity is not given", async () => {
    const spec: TritonServerSpec = { ...roomyServer(), poolCapacity: undefined };
    expect(tritonRolloutStrategy(spec)).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
  });

  it.each([
    [
      { replicas: 2, poolCapacity: 3 },
      { maxUnavailable: 0, maxSurge: 1 },
    ],
    [
      { replicas: 2, poolCapacity: 2 },
      { maxUnavailable: 1, maxSurge: 0 },
    ],
    [
      { replicas: 1, autoscaling: { maxReplicas: 3 }, poolCapacity: 3 },
      { maxUnavailable: 1, maxSurge: 0 },
    ],
    [
      { replicas: 1, autoscaling: { maxReplicas: 3 }, poolCapacity: 4 },
      { maxUnavailable: 0, maxSurge: 1 },
    ],
  ])("rolls %j out with %j", (spec, rollingUpdate) => {
    expect(tritonRolloutStrategy(roomyServer(spec))).toEqual({ type: "RollingUpdate", rollingUpdate });
  });

  it.each([
    [{}, 1, 1],
    [{ replicas: 3 }, 3, 3],
    [{ replicas: 0 }, 0, 0],
    [{ replicas: 1, autoscaling: { minReplicas: 2, maxReplicas: 5 } }, 2, 5],
    [{ replicas: 4, autoscaling: { minReplicas: 2, maxReplicas: 5 } }, 4, 5],
    [{ replicas: 9, autoscaling: { minReplicas: 2, maxReplicas: 5 } }, 5, 9],
    [{ replicas: 1, autoscaling: { maxReplicas: 5 } }, 1, 5],
  ])("with %j starts at %d replicas and may run %d", (spec, initial, max) => {
    const server: TritonServerSpec = { ...roomyServer(), replicas: undefined, ...spec };
    expect(initialReplicas(server)).toBe(initial);
    expect(maxReplicas(server)).toBe(max);
  });

  it.each([
    [WHOLE_T4, true],
    [{ ...WHOLE_T4, sharing: "timeSlicing" as const, replicas: 4 }, false],
    [{ ...WHOLE_T4, sharing: "mps" as const, replicas: 2 }, false],
    [{ ...WHOLE_T4, replicas: 2 }, false],
    [{ ...WHOLE_T4, sharing: "mps" as const }, false],
    [{ ...WHOLE_T4, resource: "nvidia.com/mig-1g.5gb", migProfile: "1g.5gb" }, false],
  ])("reports GPU metrics from %j: %s", (device, allowed) => {
    expect(gpuMetricsAllowed(device)).toBe(allowed);
  });

  it("reports GPU metrics from the stack files' devices never: they are all shared or sliced", () => {
    expect(gpuMetricsAllowed(serverOf("staging", "triton-t4").device)).toBe(false);
    expect(gpuMetricsAllowed(serverOf("prod", "triton-mig").device)).toBe(false);
    expect(gpuMetricsAllowed(serverOf("staging", "triton-a100").device)).toBe(false);
  });

  it("runs the default image, requests and Service when the spec leaves them out", async () => {
    const { resources, endpoint } = await build(roomyServer());
    const deployment = one(resources, "kubernetes:apps/v1:Deployment");
    expect(container(deployment).name).toBe("triton");
    expect(container(deployment).image).toBe("nvcr.io/nvidia/tritonserver:24.08-py3");
    expect(container(deployment).resources).toEqual({
      requests: { cpu: "1", memory: "4Gi", "nvidia.com/gpu": "1" },
      limits: { memory: "4Gi", "nvidia.com/gpu": "1" },
    });
    expect(podSpec(deployment).nodeSelector).toEqual({ "gpushare.io/pool": "t4" });
    expect(at(one(resources, "kubernetes:core/v1:Service").inputs, "spec", "type")).toBe("LoadBalancer");
    expect(endpoint).toBe("http://192.0.2.30:8000");
  });

  it("selects the pool's nodes by the pool's own selector when given one", async () => {
    const { resources } = await build(roomyServer({ pool: { name: "t4", nodeSelector: { group: "gpu-t4" } } }));
    const deployment = one(resources, "kubernetes:apps/v1:Deployment");
    expect(podSpec(deployment).nodeSelector).toEqual({ group: "gpu-t4" });
    expect(at(deployment.inputs, "spec", "template", "metadata", "labels")).toMatchObject({ "gpushare.io/pool": "t4" });
  });

  it("requests and limits the CPU and memory it is given, and limits no CPU", async () => {
    const { resources } = await build(roomyServer({ resources: { cpu: "500m", memory: "2Gi" } }));
    expect(container(one(resources, "kubernetes:apps/v1:Deployment")).resources).toEqual({
      requests: { cpu: "500m", memory: "2Gi", "nvidia.com/gpu": "1" },
      limits: { memory: "2Gi", "nvidia.com/gpu": "1" },
    });
  });

  it("records its arguments as the component's inputs", async () => {
    const { resources } = await build(roomyServer());
    expect(one(resources, "gpushare:k8s:TritonServer").inputs).toEqual({
      serverName: "solo",
      pool: { name: "t4" },
      device: WHOLE_T4,
      poolCapacity: 2,
      replicas: 1,
      namespace: "inference",
      claimName: "models",
      monitorLabels: MONITOR_LABELS,
      metricName: METRIC,
    });
  });

  it("loads the listed models explicitly", () => {
    const args = tritonArgs(roomyServer({ models: ["densenet_onnx", "resnet50"] }));
    expect(args.slice(0, 5)).toEqual([
      "tritonserver",
      "--model-repository=/models",
      "--model-control-mode=explicit",
      "--load-model=densenet_onnx",
      "--load-model=resnet50",
    ]);
  });

  it("pins the image the config names", async () => {
    const { resources } = await build(roomyServer({ image: "nvcr.io/nvidia/tritonserver:24.08-py3" }));
    expect(container(one(resources, "kubernetes:apps/v1:Deployment")).image).toBe(
      "nvcr.io/nvidia/tritonserver:24.08-py3",
    );
  });

  it("passes Service annotations through and answers in-cluster without a load balancer", async () => {
    const annotations = { "loadbalancer.openstack.org/keep-floatingip": "true" };
    const lb = await build(roomyServer({ service: { annotations } }));
    expect(at(one(lb.resources, "kubernetes:core/v1:Service").inputs, "metadata", "annotations")).toEqual(annotations);

    const internal = await build(roomyServer({ service: { type: "ClusterIP" } }));
    expect(internal.endpoint).toBe("http://solo.inference.svc.cluster.local:8000");
    expect(internal.clusterEndpoint).toBe("http://solo.inference.svc.cluster.local:8000");
    // The mock cloud gives no ClusterIP Service a load balancer, as a cluster would not.
    const svc = one(internal.resources, "kubernetes:core/v1:Service");
    expect(at(svc.inputs, "spec", "type")).toBe("ClusterIP");
  });

  it.each([
    ["LoadBalancer", { ip: "203.0.113.7" }, "http://203.0.113.7:8000"],
    ["LoadBalancer", { ip: "2001:db8::7" }, "http://[2001:db8::7]:8000"],
    ["LoadBalancer", { hostname: "lb.example.org" }, "http://lb.example.org:8000"],
    ["LoadBalancer", { ip: "", hostname: "" }, "http://in.cluster:8000"],
    ["LoadBalancer", undefined, "http://in.cluster:8000"],
    ["ClusterIP", { ip: "203.0.113.7" }, "http://in.cluster:8000"],
    ["NodePort", undefined, "http://in.cluster:8000"],
  ])("answers a %s Service with ingress %j at %s", (type, ingress, endpoint) => {
    expect(tritonEndpoint(type, ingress, "http://in.cluster:8000")).toBe(endpoint);
  });

  it("exposes the metrics port through a ClusterIP Service when asked", async () => {
    const { resources } = await build(roomyServer({ service: { type: "ClusterIP", exposeMetrics: true } }));
    expect(at(one(resources, "kubernetes:core/v1:Service").inputs, "spec", "ports")).toEqual([
      { name: "http", port: 8000, targetPort: "http", protocol: "TCP" },
      { name: "grpc", port: 8001, targetPort: "grpc", protocol: "TCP" },
      { name: "metrics", port: 8002, targetPort: "metrics", protocol: "TCP" },
    ]);
  });

  it("fails when metrics would go through a LoadBalancer", async () => {
    const server = roomyServer({ service: { exposeMetrics: true } });
    const { error, resources } = await runFailing(
      () =>
        new TritonServer("t", {
          ...server,
          namespace: "inference",
          claimName: "models",
          monitorLabels: {},
          metricName: METRIC,
        }),
    );
    expect(pulumi.InputPropertiesError.isInstance(error)).toBe(true);
    // The stack validation says the same words, from the same rule (tritonServiceProblems).
    expect((error as Error).message).toBe(
      "TritonServer t: service.exposeMetrics: true would publish Triton's metrics port through a LoadBalancer; Prometheus scrapes pods directly, so set it to false or use service.type ClusterIP",
    );
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      {
        propertyPath: "service.exposeMetrics",
        reason:
          "true would publish Triton's metrics port through a LoadBalancer; Prometheus scrapes pods directly, so set it to false or use service.type ClusterIP",
      },
    ]);
    expect(resources).toEqual([]);
  });

  it("lets the Prometheus selector labels win over its own on a clash", async () => {
    const { resources } = await build(roomyServer(), {
      release: "kps",
      "app.kubernetes.io/part-of": "monitoring-stack",
    });
    const labels = at(one(resources, "kubernetes:monitoring.coreos.com/v1:PodMonitor").inputs, "metadata", "labels");
    expect(labels).toMatchObject({ release: "kps", "app.kubernetes.io/part-of": "monitoring-stack" });
  });

  it("scales from one pod on the article's 50 µs target when autoscaling gives only a maximum", async () => {
    const { resources } = await build(roomyServer({ autoscaling: { maxReplicas: 2 } }));
    const spec = at(one(resources, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs, "spec") as Obj;
    expect(spec.minReplicas).toBe(1);
    expect(spec.maxReplicas).toBe(2);
    expect(at(spec, "metrics", 0, "pods", "target")).toEqual({ type: "AverageValue", averageValue: "50" });
  });

  it("writes the HPA target as a Kubernetes quantity", async () => {
    const { resources } = await build(
      roomyServer({ autoscaling: { minReplicas: 1, maxReplicas: 1, targetAverageValue: 12.5 } }),
    );
    expect(
      at(
        one(resources, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs,
        "spec",
        "metrics",
        0,
        "pods",
        "target",
      ),
    ).toEqual({ type: "AverageValue", averageValue: "12500m" });
  });

  it.each([
    [50, "50"],
    [0.5, "500m"],
    [0.05, "50m"],
    [0.0001, "1m"],
  ])("writes %d as the quantity %s", (value, quantity) => {
    expect(toQuantity(value)).toBe(quantity);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])("refuses %d as a quantity", (value) => {
    expect(() => toQuantity(value)).toThrow(new RangeError(`${value} is not a positive quantity`));
  });
});
