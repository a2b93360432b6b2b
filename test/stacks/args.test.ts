import { describe, expect, it } from "vitest";
import { configuredPools } from "../../components/k8s/gpu-operator-values";
import {
  gpuOperatorSettings,
  metricsAdapterSettings,
  modelShareArgs,
  modelStoreSettings,
  monitoringArgs,
  openStackClusterArgs,
  tritonServerSpec,
} from "../../stacks/args";
import { parseStackConfig, type StackConfig } from "../../stacks/config/parse";
import { minimalConfig } from "../support/config";

/** An OpenStack stack of the prod shape: an A100 split all-balanced and time-sliced, a T4 time-sliced 14 ways. */
const OPENSTACK: StackConfig = parseStackConfig({
  cluster: {
    kind: "openstack",
    migStrategy: "mixed",
    openstack: {
      template: {
        image: "ubuntu-2204-kube-v1.30.4",
        externalNetworkId: "public",
        masterFlavor: "m1.large",
        flavor: "m1.xlarge",
        labels: { kube_tag: "v1.30.4" },
      },
      keypair: "gpushare-prod",
      masterCount: 3,
      workerCount: 2,
      nodeSubnetCidr: "10.0.0.0/24",
    },
  },
  gpuPools: {
    a100: {
      gpu: "A100-SXM4-40GB",
      flavor: "gpu.a100.1",
      nodes: { min: 1, max: 1 },
      mig: { layout: "all-balanced" },
      timeSlicing: { replicas: { "1g.5gb": 4, "2g.10gb": 3, "3g.20gb": 4 } },
    },
    t4: {
      gpu: "T4",
      flavor: "gpu.t4.1",
      image: "ubuntu-2204-nvidia",
      nodes: { min: 1, max: 3, initial: 2 },
      timeSlicing: { replicas: 14 },
    },
  },
  modelStore: { manila: { sizeGiB: 100, shareType: "default" }, seed: { enabled: false } },
  servers: {
    "triton-mig": { pool: "a100", resource: "nvidia.com/mig-1g.5gb", replicas: 8 },
    "triton-t4": { pool: "t4", replicas: 4, autoscaling: { minReplicas: 4, maxReplicas: 14 }, models: ["densenet"] },
  },
});

/** An existing cluster with an NFS export and Prometheus, GPU operator and adapter installed already. */
const EXISTING: StackConfig = parseStackConfig(
  minimalConfig({
    gpuPools: { t4: { gpu: "T4", nodes: { min: 1, max: 1 }, nodeSelector: { group: "t4" } } },
    modelStore: { nfs: { server: "10.0.0.5", path: "/models" }, subPath: "repo" },
    inference: { namespace: "serving" },
    gpuOperator: { installed: true },
    monitoring: {
      installed: true,
      prometheusUrl: "http://prometheus-operated.monitoring.svc:9090",
      monitorLabels: { release: "kube-prometheus-stack" },
    },
    metricsAdapter: { installed: true, namespace: "custom-metrics" },
  }),
);

describe("the stack config, mapped to the components' arguments", () => {
  it("gives the cluster its template, counts and one node group per pool", () => {
    expect(openStackClusterArgs(OPENSTACK)).toEqual({
      template: {
        image: "ubuntu-2204-kube-v1.30.4",
        externalNetworkId: "public",
        masterFlavor: "m1.large",
        flavor: "m1.xlarge",
        coe: "kubernetes",
        networkDriver: "calico",
        labels: { kube_tag: "v1.30.4" },
      },
      keypair: "gpushare-prod",
      masterCount: 3,
      workerCount: 2,
      createTimeoutMinutes: 60,
      nodeGroups: [
        { name: "a100", flavor: "gpu.a100.1", nodes: { min: 1, max: 1, initial: 1 } },
        { name: "t4", flavor: "gpu.t4.1", image: "ubuntu-2204-nvidia", nodes: { min: 1, max: 3, initial: 2 } },
      ],
    });
    expect(openStackClusterArgs(EXISTING)).toBeUndefined();
  });

  it("gives the share the cluster's node subnet unless the stack names its own access CIDR", () => {
    expect(modelShareArgs(OPENSTACK)).toEqual({
      sizeGiB: 100,
      shareType: "default",
      accessCidr: "10.0.0.0/24",
      allowDestroy: false,
    });
    const own = parseStackConfig(minimalConfig({ modelStore: { manila: { sizeGiB: 5, accessCidr: "10.1.0.0/24" } } }));
    expect(modelShareArgs(own)).toEqual({ sizeGiB: 5, accessCidr: "10.1.0.0/24", allowDestroy: false });
    expect(modelShareArgs(EXISTING)).toBeUndefined();
  });

  it("sizes the store's volumes after the share, and seeds only when seeding is on", () => {
    expect(modelStoreSettings(OPENSTACK)).toEqual({ subPath: "", namespace: "inference", capacity: "100Gi" });
    expect(modelStoreSettings(EXISTING)).toEqual({
      subPath: "repo",
      namespace: "serving",
      seed: {
        image: "curlimages/curl:8.11.1",
        models: [expect.objectContaining({ name: "densenet_onnx" })],
      },
    });
  });

  it("gives the GPU operator the pools, with the node selector only where the stack file sets one", () => {
    const settings = gpuOperatorSettings(OPENSTACK);
    expect(settings).toMatchObject({
      migStrategy: "mixed",
      installed: false,
      namespace: "gpu-operator",
      chartVersion: "v26.7.0",
      repository: "https://helm.ngc.nvidia.com/nvidia",
      driverEnabled: true,
      rebootOnMigChange: false,
      dcgmServiceMonitor: true,
      values: {},
    });
    // Intent only: what each pool shares and how big it grows; the component derives names and capacity.
    expect(settings.pools.map((p) => [p.name, p.maxNodes, p.nodeSelector, p.sharing])).toEqual(
      OPENSTACK.pools.map((p) => [p.name, p.nodes.max, undefined, p.sharing]),
    );
    expect(configuredPools(settings).pools.map((p) => [p.name, p.devicePluginConfig, p.atMaxNodes])).toEqual([
      [
        "a100",
        "a100-5b97f72f",
        { "nvidia.com/mig-1g.5gb": 8, "nvidia.com/mig-2g.10gb": 3, "nvidia.com/mig-3g.20gb": 4 },
      ],
      ["t4", "t4-b108b941", { "nvidia.com/gpu": 42 }],
    ]);
    // The stack config's own figures (the capacity table, the planner) agree with the component's.
    expect(configuredPools(settings).pools.map((p) => [p.devicePluginConfig, p.atMaxNodes])).toEqual(
      OPENSTACK.pools.map((p) => [p.devicePluginConfig, p.atMaxNodes]),
    );
    expect("nodeSelector" in settings.pools[0]).toBe(false);
    expect(gpuOperatorSettings(EXISTING).pools[0].nodeSelector).toEqual({ group: "t4" });
    expect(gpuOperatorSettings(EXISTING).installed).toBe(true);
  });

  it("shows the pools on the dashboard by the selector that finds their nodes", () => {
    expect(monitoringArgs(OPENSTACK).dashboard).toEqual({
      inferenceNamespace: "inference",
      metricName: "avg_time_queue_us",
      metricWindow: "30s",
      pools: [
        {
          name: "a100",
          nodeSelector: { "gpushare.io/pool": "a100" },
          resources: ["nvidia.com/mig-1g.5gb", "nvidia.com/mig-2g.10gb", "nvidia.com/mig-3g.20gb"],
          mig: true,
        },
        { name: "t4", nodeSelector: { "gpushare.io/pool": "t4" }, resources: ["nvidia.com/gpu"], mig: false },
      ],
    });
    expect(monitoringArgs(EXISTING).dashboard.pools[0].nodeSelector).toEqual({ group: "t4" });
  });

  it("passes an installed Prometheus's URL and labels to monitoring", () => {
    const { dashboard, ...args } = monitoringArgs(EXISTING);
    expect(args).toEqual({
      installed: true,
      namespace: "monitoring",
      chartVersion: "88.5.3",
      repository: "https://prometheus-community.github.io/helm-charts",
      prometheusUrl: "http://prometheus-operated.monitoring.svc:9090",
      monitorLabels: { release: "kube-prometheus-stack" },
      grafanaEnabled: true,
      values: {},
    });
    expect(dashboard.inferenceNamespace).toBe("serving");
    expect(monitoringArgs(OPENSTACK)).not.toHaveProperty("prometheusUrl");
  });

  it("passes the adapter its settings", () => {
    expect(metricsAdapterSettings(EXISTING)).toEqual({
      installed: true,
      namespace: "custom-metrics",
      chartVersion: "5.3.0",
      repository: "https://prometheus-community.github.io/helm-charts",
      metricName: "avg_time_queue_us",
      window: "30s",
      values: {},
    });
  });

  it("gives each server its device, its pool's capacity of it and its settings", () => {
    const [mig, t4] = OPENSTACK.servers;
    expect(tritonServerSpec(mig)).toEqual({
      serverName: "triton-mig",
      pool: { name: "a100", nodeSelector: { "gpushare.io/pool": "a100" } },
      device: {
        baseResource: "nvidia.com/mig-1g.5gb",
        resource: "nvidia.com/mig-1g.5gb",
        migProfile: "1g.5gb",
        physicalPerNode: 2,
        replicas: 4,
        memoryGiB: 4.75,
        sharing: "timeSlicing",
      },
      poolCapacity: 8,
      image: "nvcr.io/nvidia/tritonserver:24.08-py3",
      resources: { cpu: "1", memory: "4Gi" },
      replicas: 8,
      service: { type: "LoadBalancer", annotations: {}, exposeMetrics: false },
    });
    expect(tritonServerSpec(t4)).toMatchObject({
      serverName: "triton-t4",
      poolCapacity: 42,
      models: ["densenet"],
      replicas: 4,
      autoscaling: { minReplicas: 4, maxReplicas: 14, targetAverageValue: 50 },
    });
  });
});
