import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { TritonServer } from "../../../components/k8s/triton-server";
import { gpuMetricsAllowed, toQuantity, tritonArgs } from "../../../components/k8s/triton-spec";
import { parseStackConfig, type ServerConfig } from "../../../stacks/config";
import type { RecordedResource } from "../../../scripts/mock-runtime";
import { at, minimalConfig, one, ofType, resolve, runFailing, runProgram, stackFileConfig } from "../../helpers";

type Obj = Record<string, unknown>;

function serverOf(stack: string, name: string): ServerConfig {
  const server = stackFileConfig(stack).servers.find((s) => s.name === name);
  if (server === undefined) throw new Error(`stack ${stack} has no server ${name}`);
  return server;
}

const MONITOR_LABELS = { release: "kube-prometheus-stack" };
const METRIC = "avg_time_queue_us";

interface Built {
  readonly resources: RecordedResource[];
  readonly endpoint: string;
  readonly clusterEndpoint: string;
}

async function build(server: ServerConfig, monitorLabels: Record<string, string> = MONITOR_LABELS): Promise<Built> {
  let triton: TritonServer | undefined;
  const resources = await runProgram(() => {
    triton = new TritonServer(`gpushare-${server.name}`, {
      server,
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

  it(`requests and limits exactly one ${shape.resource}, with CPU and memory requests`, async () => {
    const { resources } = await built();
    const res = container(one(resources, "kubernetes:apps/v1:Deployment")).resources as Obj;
    const gpuKeys = (o: unknown): string[] => Object.keys(o as Obj).filter((k) => GPU_LIKE.test(k));
    expect(gpuKeys(res.limits)).toEqual([shape.resource]);
    expect(gpuKeys(res.requests)).toEqual([shape.resource]);
    expect(at(res, "limits", shape.resource)).toBe("1");
    expect(at(res, "requests", shape.resource)).toBe("1");
    expect(res.requests).toMatchObject({ cpu: "1", memory: "4Gi" });
    expect(at(res, "limits", "cpu")).toBeUndefined();
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
    expect(at(c, "startupProbe", "httpGet")).toEqual({ path: "/v2/health/ready", port: "http" });
    expect(at(c, "readinessProbe", "httpGet")).toEqual({ path: "/v2/health/ready", port: "http" });
    expect(at(c, "livenessProbe", "httpGet")).toEqual({ path: "/v2/health/live", port: "http" });
    // 10 minutes to load models over NFS before the kubelet gives up.
    expect(Number(at(c, "startupProbe", "periodSeconds")) * Number(at(c, "startupProbe", "failureThreshold"))).toBe(
      600,
    );
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
    expect(podSpec(deployment).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(podSpec(deployment).automountServiceAccountToken).toBe(false);
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
    // The mock cloud gives every LoadBalancer Service the address 192.0.2.30.
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

/** A pool with room to spare: two whole T4s per pool at max, one unshared replica. */
function roomyServer(server: Obj = {}): ServerConfig {
  const config = parseStackConfig(
    minimalConfig({
      gpuPools: { t4: { gpu: "T4", nodes: { min: 1, max: 2 } } },
      servers: { solo: { pool: "t4", replicas: 1, ...server } },
    }),
  );
  return config.servers[0];
}

describe("TritonServer choices", () => {
  it("surges one pod before removing one when the pool has a device to spare at max replicas", async () => {
    const { resources } = await build(roomyServer());
    expect(at(one(resources, "kubernetes:apps/v1:Deployment").inputs, "spec", "strategy")).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
  });

  it("reports GPU metrics from a whole unshared GPU only", () => {
    expect(gpuMetricsAllowed(roomyServer().device)).toBe(true);
    expect(gpuMetricsAllowed(serverOf("staging", "triton-t4").device)).toBe(false);
    expect(gpuMetricsAllowed(serverOf("prod", "triton-mig").device)).toBe(false);
    expect(gpuMetricsAllowed(serverOf("staging", "triton-a100").device)).toBe(false);
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
  });

  it("exposes the metrics port through a ClusterIP Service when asked", async () => {
    const { resources } = await build(roomyServer({ service: { type: "ClusterIP", exposeMetrics: true } }));
    const ports = at(one(resources, "kubernetes:core/v1:Service").inputs, "spec", "ports") as Obj[];
    expect(ports.map((p) => [p.name, p.port])).toEqual([
      ["http", 8000],
      ["grpc", 8001],
      ["metrics", 8002],
    ]);
  });

  it("fails when metrics would go through a LoadBalancer", async () => {
    const base = roomyServer();
    const server: ServerConfig = {
      ...base,
      raw: { ...base.raw, service: { ...base.raw.service, exposeMetrics: true } },
    };
    const { error, resources } = await runFailing(
      () =>
        new TritonServer("t", {
          server,
          namespace: "inference",
          claimName: "models",
          monitorLabels: {},
          metricName: METRIC,
        }),
    );
    expect(pulumi.InputPropertiesError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(
      "servers.solo.service.exposeMetrics: true would publish Triton's metrics port through a LoadBalancer; set it to false or use service.type ClusterIP",
    );
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
});
