import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../stacks/config";
import { minimalConfig, problemsOf, stackFileConfig } from "../helpers";

const a100 = (extra: Record<string, unknown> = {}) => ({ gpu: "A100-SXM4-40GB", nodes: { min: 1, max: 1 }, ...extra });
const t4 = (extra: Record<string, unknown> = {}) => ({ gpu: "T4", nodes: { min: 1, max: 1 }, ...extra });

describe("the project's stacks", () => {
  it.each([
    ["dev", { t4: { "nvidia.com/gpu": 14 } }],
    ["staging", { a100: { "nvidia.com/gpu": 7 }, t4: { "nvidia.com/gpu": 14 } }],
    [
      "prod",
      {
        a100: { "nvidia.com/mig-1g.5gb": 8, "nvidia.com/mig-2g.10gb": 3, "nvidia.com/mig-3g.20gb": 4 },
        t4: { "nvidia.com/gpu": 14 },
      },
    ],
  ])("%s validates and advertises the article's numbers", (stack, expected) => {
    const config = stackFileConfig(stack);
    expect(Object.fromEntries(config.pools.map((p) => [p.name, p.atMaxNodes]))).toEqual(expected);
    expect(config.warnings).toEqual([]);
  });

  it("runs single on staging and mixed on prod", () => {
    expect(stackFileConfig("staging").migStrategy).toBe("single");
    expect(stackFileConfig("prod").migStrategy).toBe("mixed");
  });
});

describe("defaults", () => {
  it("make a minimal stack short", () => {
    const config = parseStackConfig(
      minimalConfig({ gpuPools: { t4: t4({ timeSlicing: { replicas: 4 } }) }, servers: { triton: { pool: "t4" } } }),
    );
    expect(config.raw.cluster.kind).toBe("existing");
    expect(config.migStrategy).toBe("single");
    expect(config.raw.gpuOperator.chartVersion).toBe("v26.7.0");
    expect(config.raw.metricsAdapter.metricName).toBe("avg_time_queue_us");
    expect(config.raw.metricsAdapter.window).toBe("30s");
    expect(config.raw.inference.namespace).toBe("inference");
    expect(config.raw.modelStore.seed.enabled).toBe(true);
    expect(config.servers[0].resource).toBe("nvidia.com/gpu");
    expect(config.pools[0].nodeSelector).toEqual({ "gpushare.io/pool": "t4" });
  });
});

describe("bad input", () => {
  it("reports every problem at once", () => {
    const problems = problemsOf(
      minimalConfig({ gpuPools: { x: { gpu: "A200", nodes: { min: 2, max: 1 } } }, servers: { s: { pool: "nope" } } }),
    );
    expect(problems).toHaveLength(3);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      "the GPU model is unknown",
      { gpuPools: { x: { gpu: "A200", nodes: { min: 1, max: 1 } } } },
      'gpuPools.x.gpu: "A200" is not a known GPU model; use one of A100-SXM4-40GB, A100-80GB, H100-80GB, H200-141GB, A30-24GB, T4, L4, A10, A40, L40S, V100-16GB, V100-32GB',
    ],
    [
      "MIG is asked of a GPU without MIG",
      { gpuPools: { t4: t4({ mig: { layout: "all-1g.5gb" } }) } },
      "gpuPools.t4.mig: T4 has no MIG; remove gpuPools.t4.mig and share it with timeSlicing or mps, or use a MIG GPU (A100-SXM4-40GB, A100-80GB, H100-80GB, H200-141GB, A30-24GB)",
    ],
    [
      "a layout is not one of the model's",
      { gpuPools: { a100: a100({ mig: { layout: "all-2g.20gb" } }) } },
      'gpuPools.a100.mig.layout: "all-2g.20gb" is not a MIG layout of A100-SXM4-40GB; use one of all-disabled, all-enabled, all-1g.5gb, all-1g.5gb.me, all-1g.10gb, all-2g.10gb, all-3g.20gb, all-4g.20gb, all-7g.40gb, all-balanced or list profiles explicitly under gpuPools.a100.mig.profiles',
    ],
    [
      "a profile is not the model's",
      {
        cluster: { migStrategy: "mixed" },
        gpuPools: { a100: a100({ mig: { profiles: { "1g.10gb": 1, "2g.20gb": 1 } } }) },
      },
      'gpuPools.a100.mig.profiles: "2g.20gb" is not a MIG profile of A100-SXM4-40GB; use one of 1g.5gb, 1g.5gb+me, 1g.10gb, 2g.10gb, 3g.20gb, 4g.20gb, 7g.40gb',
    ],
    [
      "a layout has no legal placement",
      {
        cluster: { migStrategy: "mixed" },
        gpuPools: { a100: a100({ mig: { profiles: { "3g.20gb": 2, "1g.5gb": 1 } } }) },
      },
      'gpuPools.a100.mig.profiles: {"3g.20gb":2,"1g.5gb":1} has no legal placement on A100-SXM4-40GB (instances overlap on its 8 memory slices or exceed its 7 compute slices); remove an instance or use a named layout such as all-balanced',
    ],
    [
      "a heterogeneous layout runs under single",
      { gpuPools: { a100: a100({ mig: { layout: "all-balanced" } }) } },
      'gpuPools.a100.mig: layout all-balanced mixes 1g.5gb, 2g.10gb, 3g.20gb, but the single strategy needs identical slices; set cluster.migStrategy "mixed" or use one profile (e.g. all-1g.5gb)',
    ],
    [
      "MPS is asked of a MIG pool",
      { gpuPools: { a100: a100({ mig: { layout: "all-1g.5gb" }, mps: { replicas: 4 } }) } },
      "gpuPools.a100.mps: MPS does not run on MIG devices; remove gpuPools.a100.mig to share whole GPUs with MPS, or remove gpuPools.a100.mps and time-slice the MIG slices with gpuPools.a100.timeSlicing",
    ],
    [
      "MPS runs under the mixed strategy",
      { cluster: { migStrategy: "mixed" }, gpuPools: { t4: t4({ mps: { replicas: 4 } }) } },
      'gpuPools.t4.mps: the device plugin rejects MPS under the mixed MIG strategy this cluster uses; use timeSlicing on this pool or run MPS pools in a cluster with cluster.migStrategy "single"',
    ],
    [
      "time-slicing and MPS are both set",
      { gpuPools: { t4: t4({ mps: { replicas: 4 }, timeSlicing: { replicas: 4 } }) } },
      "gpuPools.t4: both timeSlicing and mps are set and the device plugin would silently use MPS; keep one of gpuPools.t4.timeSlicing or gpuPools.t4.mps",
    ],
    [
      "time-slicing replicas are below 2",
      { gpuPools: { t4: t4({ timeSlicing: { replicas: 1 } }) } },
      "gpuPools.t4.timeSlicing.replicas: 1 is not allowed; time-slicing replicas are a whole number ≥ 2 (remove gpuPools.t4.timeSlicing to not share)",
    ],
    [
      "time-slicing replicas are not whole",
      { gpuPools: { t4: t4({ timeSlicing: { replicas: 2.5 } }) } },
      "gpuPools.t4.timeSlicing.replicas: 2.5 is not allowed; time-slicing replicas are a whole number ≥ 2 (remove gpuPools.t4.timeSlicing to not share)",
    ],
    [
      "per-profile time-slicing names a slice the layout lacks",
      {
        cluster: { migStrategy: "mixed" },
        gpuPools: { a100: a100({ mig: { layout: "all-balanced" }, timeSlicing: { replicas: { "7g.40gb": 2 } } }) },
      },
      "gpuPools.a100.timeSlicing.replicas.7g.40gb: the pool's layout all-balanced has no 7g.40gb slices; use one of 1g.5gb, 2g.10gb, 3g.20gb",
    ],
    [
      "MPS replicas exceed what the GPU allows",
      { gpuPools: { t4: t4({ mps: { replicas: 49 } }) } },
      "gpuPools.t4.mps.replicas: 49 is not allowed; T4 (compute capability 7.5) takes 2 to 48 MPS clients per GPU, as a whole number",
    ],
    [
      "pools ask for different MIG strategies",
      {
        gpuPools: {
          a: a100({ mig: { layout: "all-1g.5gb", strategy: "single" } }),
          b: a100({ mig: { layout: "all-balanced", strategy: "mixed" } }),
        },
      },
      'MIG strategy: gpuPools.a.mig.strategy "single", gpuPools.b.mig.strategy "mixed" disagree, but the GPU operator applies one strategy to every node of a cluster; set the same value everywhere (or only cluster.migStrategy), and run the other shape as a separate stack',
    ],
    [
      "min nodes exceed max nodes",
      { gpuPools: { t4: { gpu: "T4", nodes: { min: 3, max: 2 } } } },
      "gpuPools.t4.nodes: min 3 is greater than max 2; raise nodes.max or lower nodes.min",
    ],
    [
      "a pool name is not a DNS-1123 label",
      { gpuPools: { T4_pool: t4() } },
      'gpuPools: "T4_pool" is not a DNS-1123 label; use lowercase letters, digits and "-", at most 63 characters',
    ],
    [
      "a server name is not a DNS-1123 label",
      { gpuPools: { t4: t4() }, servers: { "Triton.A": { pool: "t4" } } },
      'servers: "Triton.A" is not a DNS-1123 label; use lowercase letters, digits and "-", at most 63 characters',
    ],
    [
      "a server's pool does not exist",
      { gpuPools: { t4: t4() }, servers: { s: { pool: "a100" } } },
      'servers.s.pool: "a100" is not a pool of this stack; use one of t4',
    ],
    [
      "a server requests a resource its pool does not advertise",
      {
        cluster: { migStrategy: "mixed" },
        gpuPools: { a100: a100({ mig: { layout: "all-balanced" } }) },
        servers: { s: { pool: "a100", resource: "nvidia.com/gpu" } },
      },
      'servers.s.resource: "nvidia.com/gpu" is not advertised by pool a100 (A100-SXM4-40GB, mig, MIG strategy mixed); use one of nvidia.com/mig-1g.5gb, nvidia.com/mig-2g.10gb, nvidia.com/mig-3g.20gb',
    ],
    [
      "autoscaling min exceeds max",
      {
        gpuPools: { t4: t4({ timeSlicing: { replicas: 4 } }) },
        servers: { s: { pool: "t4", autoscaling: { minReplicas: 3, maxReplicas: 2 } } },
      },
      "servers.s.autoscaling: minReplicas 3 is greater than maxReplicas 2; raise maxReplicas or lower minReplicas",
    ],
    [
      "max replicas exceed the pool's capacity at max nodes",
      {
        gpuPools: { a100: a100({ nodes: { min: 1, max: 2 }, mig: { layout: "all-1g.5gb" } }) },
        servers: { s: { pool: "a100", autoscaling: { maxReplicas: 20 } } },
      },
      "servers.s.autoscaling.maxReplicas: 20 pods of nvidia.com/gpu do not fit pool a100: at its 2 max nodes it advertises 14, 6 short; lower autoscaling.maxReplicas to 14 or raise gpuPools.a100.nodes.max",
    ],
    [
      "replicas exceed capacity without autoscaling",
      { gpuPools: { t4: t4() }, servers: { s: { pool: "t4", replicas: 2 } } },
      "servers.s.replicas: 2 pods of nvidia.com/gpu do not fit pool t4: at its 1 max node it advertises 1, 1 short; lower replicas to 1 or raise gpuPools.t4.nodes.max",
    ],
    [
      "servers sharing a resource together outgrow it",
      {
        gpuPools: { t4: t4({ timeSlicing: { replicas: 4 } }) },
        servers: { a: { pool: "t4", replicas: 3 }, b: { pool: "t4", replicas: 2 } },
      },
      "servers: a, b together claim up to 5 of nvidia.com/gpu in pool t4, which advertises 4 at max nodes, 1 short; lower their maxReplicas or raise gpuPools.t4.nodes.max",
    ],
    [
      "an image has neither tag nor digest",
      { gpuPools: { t4: t4() }, servers: { s: { pool: "t4", image: "nvcr.io/nvidia/tritonserver" } } },
      'servers.s.image: "nvcr.io/nvidia/tritonserver" has no tag or digest; pin it, e.g. nvcr.io/nvidia/tritonserver:24.08-py3',
    ],
    [
      "metrics would be exposed through a LoadBalancer",
      { gpuPools: { t4: t4() }, servers: { s: { pool: "t4", service: { exposeMetrics: true } } } },
      "servers.s.service.exposeMetrics: true would publish Triton's metrics port through a LoadBalancer; Prometheus scrapes pods directly, so set it to false or use service.type ClusterIP",
    ],
    [
      "the metric name is not a Prometheus metric name",
      { metricsAdapter: { metricName: "avg-time" } },
      'metricsAdapter.metricName: "avg-time" is not a Prometheus metric name; use letters, digits, "_" and ":", not starting with a digit (e.g. avg_time_queue_us)',
    ],
    [
      "the window is not a Prometheus duration",
      { metricsAdapter: { window: "30 seconds" } },
      'metricsAdapter.window: "30 seconds" is not a Prometheus duration; use e.g. 30s, 1m or 1m30s',
    ],
    [
      "an operator values override sets the MIG strategy",
      { gpuOperator: { values: { mig: { strategy: "mixed" } } } },
      "gpuOperator.values.mig.strategy: gpushare sets this value itself; remove it and use cluster.migStrategy",
    ],
    [
      "a namespace is kube-system",
      { inference: { namespace: "kube-system" } },
      "inference.namespace: \"kube-system\" is reserved for the cluster's own components; use a namespace of gpushare's own (e.g. the default)",
    ],
    [
      "a pool has no flavor in OpenStack mode",
      {
        cluster: { kind: "openstack", openstack: { clusterTemplateId: "tpl", nodeSubnetCidr: "10.0.0.0/24" } },
        modelStore: { manila: { sizeGiB: 10 } },
        gpuPools: { t4: t4() },
      },
      "gpuPools.t4.flavor: missing; OpenStack mode creates a node group per pool and needs its Nova flavor (e.g. a GPU flavor with one T4)",
    ],
    [
      "a share is smaller than 1 GiB",
      { modelStore: { manila: { sizeGiB: 0.5, accessCidr: "10.0.0.0/24" } } },
      "modelStore.manila.sizeGiB: 0.5 is not allowed; Manila shares are whole GiB, at least 1",
    ],
    [
      "existing-cluster mode has no NFS server and path",
      { modelStore: {} },
      "modelStore: no model storage; give modelStore.nfs {server, path} of an existing NFS export, or modelStore.manila {sizeGiB} for a Manila share",
    ],
    [
      "both a kubeconfig and an OpenStack cluster are given",
      {
        kubeconfig: "(secret)",
        cluster: { kind: "openstack", openstack: { clusterTemplateId: "tpl", nodeSubnetCidr: "10.0.0.0/24" } },
        modelStore: { manila: { sizeGiB: 10 } },
      },
      'cluster: both an OpenStack cluster (cluster.kind "openstack") and an existing cluster (gpushare:kubeconfig) are given; remove one: kind "existing" uses the kubeconfig, kind "openstack" creates the cluster',
    ],
    [
      "a key is misspelled",
      { gpuPools: { t4: t4({ timeslicing: { replicas: 4 } }) } },
      'gpuPools.t4: unknown key "timeslicing"; remove it or check the spelling against the README\'s config reference',
    ],
  ])("fails when %s", (_, input, message) => {
    expect(problemsOf(minimalConfig(input))).toContain(message);
  });

  it("warns, naming MIG and MPS, when time-sliced replicas outgrow the GPU's memory", () => {
    const config = parseStackConfig(
      minimalConfig({
        gpuPools: { t4: t4({ timeSlicing: { replicas: 14 } }) },
        servers: { s: { pool: "t4", replicas: 4, modelMemoryGiB: 2 } },
      }),
    );
    expect(config.warnings).toEqual([
      "servers.s.modelMemoryGiB: 14 time-sliced replicas × 2 GiB = 28 GiB exceeds the 16 GiB of one T4, and time-sliced pods share memory, so one OOM kills them all; isolate memory with MIG slices or MPS, or lower the replicas of gpuPools.t4.timeSlicing",
    ]);
  });

  it("fails when memory is oversubscribed and the stack opts into failing", () => {
    const problems = problemsOf(
      minimalConfig({
        validation: { memoryOversubscription: "fail" },
        cluster: { migStrategy: "mixed" },
        gpuPools: { a100: a100({ mig: { layout: "all-balanced" }, timeSlicing: { replicas: { "1g.5gb": 4 } } }) },
        servers: { s: { pool: "a100", resource: "nvidia.com/mig-1g.5gb", modelMemoryGiB: 2 } },
      }),
    );
    expect(problems).toEqual([
      "servers.s.modelMemoryGiB: 4 time-sliced replicas × 2 GiB = 8 GiB exceeds the 4.75 GiB of one 1g.5gb slice, and time-sliced pods share memory, so one OOM kills them all; isolate memory with MIG slices or MPS, or lower the replicas of gpuPools.a100.timeSlicing",
    ]);
  });

  it("does not warn when the model fits its share of the device", () => {
    const config = parseStackConfig(
      minimalConfig({
        gpuPools: { t4: t4({ timeSlicing: { replicas: 14 } }) },
        servers: { s: { pool: "t4", modelMemoryGiB: 1 } },
      }),
    );
    expect(config.warnings).toEqual([]);
  });

  it("formats the thrown error with every problem on its own line", () => {
    expect(() => parseStackConfig(minimalConfig({ gpuPools: { t4: t4({ nodes: { min: 2, max: 1 } }) } }))).toThrow(
      "gpushare stack config has 1 problem:\n  - gpuPools.t4.nodes: min 2 is greater than max 1; raise nodes.max or lower nodes.min",
    );
  });
});

describe("pools of one GPU model", () => {
  it("fails when two pools of the same GPU cannot be told apart in existing-cluster mode", () => {
    const problems = problemsOf(
      minimalConfig({ gpuPools: { small: t4(), shared: t4({ timeSlicing: { replicas: 4 } }) } }),
    );
    expect(problems).toContain(
      "gpuPools.small.nodeSelector: missing, but pool shared runs the same GPU (T4) and node-feature-discovery cannot tell their nodes apart by PCI id, nor by node name in existing-cluster mode; set gpuPools.small.nodeSelector to a label this pool's node group already carries with a value the other pools' nodes do not have, or merge the pools",
    );
  });

  it("accepts them when each names its node group's label", () => {
    const config = parseStackConfig(
      minimalConfig({
        gpuPools: {
          small: t4({ nodeSelector: { nodegroup: "small" } }),
          shared: t4({ nodeSelector: { nodegroup: "shared" }, timeSlicing: { replicas: 4 } }),
        },
      }),
    );
    expect(config.pools.map((p) => p.nodeSelector)).toEqual([{ nodegroup: "small" }, { nodegroup: "shared" }]);
  });
});

describe("OpenStack node groups", () => {
  const openstack = (pools: Record<string, unknown>, labels: Record<string, string> = {}) => ({
    cluster: {
      kind: "openstack",
      openstack: {
        template: { image: "fcos", externalNetworkId: "public", masterFlavor: "m1", flavor: "m1", labels },
        nodeSubnetCidr: "10.0.0.0/24",
      },
    },
    modelStore: { manila: { sizeGiB: 10 } },
    gpuPools: pools,
  });

  it("fails when two pools share the 9 characters Magnum keeps in node names", () => {
    expect(
      problemsOf(
        openstack({
          "inference-a": { gpu: "T4", flavor: "g", nodes: { min: 1, max: 1 } },
          "inference-b": { gpu: "A10", flavor: "g", nodes: { min: 1, max: 1 } },
        }),
      ),
    ).toEqual([
      'gpuPools: "inference-a", "inference-b" start with the same 9 characters ("inference"), the only part of a node group\'s name Magnum keeps in node names; rename them so their first 9 characters differ',
    ]);
  });

  it("warns when pools autoscale but the template does not enable Magnum's autoscaler", () => {
    const config = parseStackConfig(openstack({ t4: { gpu: "T4", flavor: "g", nodes: { min: 1, max: 3 } } }));
    expect(config.warnings).toEqual([
      'cluster.openstack.template.labels.auto_scaling_enabled: not "true", so Magnum runs no cluster autoscaler and gpuPools.t4 stay at nodes.initial; set auto_scaling_enabled: "true" or make nodes.min equal nodes.max',
    ]);
    const enabled = parseStackConfig(
      openstack({ t4: { gpu: "T4", flavor: "g", nodes: { min: 1, max: 3 } } }, { auto_scaling_enabled: "true" }),
    );
    expect(enabled.warnings).toEqual([]);
  });
});

describe("the seed models", () => {
  it("fails when a seeded file path leaves its model directory", () => {
    const problems = problemsOf(
      minimalConfig({
        modelStore: {
          nfs: { server: "10.0.0.5", path: "/models" },
          seed: { models: [{ name: "m", files: [{ path: "../escape", url: "https://example.com/x" }] }] },
        },
      }),
    );
    expect(problems.some((p) => p.startsWith("modelStore.seed.models[0].files[0].path:"))).toBe(true);
  });
});

describe("Helm values and monitoring settings", () => {
  it("fails when monitoring.values sets values gpushare owns", () => {
    expect(
      problemsOf(minimalConfig({ monitoring: { values: { fullnameOverride: "kps", grafana: { enabled: false } } } })),
    ).toEqual([
      "monitoring.values.fullnameOverride: gpushare sets this value itself; remove it and use the release name gpushare-monitoring (the prometheusUrl contract)",
      "monitoring.values.grafana.enabled: gpushare sets this value itself; remove it and use monitoring.grafana.enabled",
    ]);
  });

  it("fails when metricsAdapter.values sets values gpushare owns", () => {
    expect(problemsOf(minimalConfig({ metricsAdapter: { values: { tls: { enable: false } } } }))).toEqual([
      "metricsAdapter.values.tls: gpushare sets this value itself; remove it and use nothing: gpushare issues the adapter's serving certificate",
    ]);
  });

  it("leaves the values of charts it does not install alone", () => {
    const config = parseStackConfig(
      minimalConfig({
        monitoring: {
          installed: true,
          prometheusUrl: "http://prometheus-operated.observability.svc:9090",
          values: { fullnameOverride: "kps" },
        },
        metricsAdapter: { installed: true, values: { rbac: { create: true } } },
      }),
    );
    expect(config.raw.monitoring.values).toEqual({ fullnameOverride: "kps" });
  });

  it("fails when monitoring is installed without a prometheusUrl", () => {
    expect(problemsOf(minimalConfig({ monitoring: { installed: true } }))).toEqual([
      "monitoring.prometheusUrl: missing; with monitoring.installed, name the Prometheus the adapter queries (e.g. http://prometheus-operated.monitoring.svc:9090)",
    ]);
  });

  it.each([
    [
      "prometheus:9090",
      '"prometheus:9090" is not an http(s) URL; give Prometheus\'s address, e.g. http://prometheus-operated.monitoring.svc:9090',
    ],
    [
      "http://prometheus.monitoring.svc:9090/?x=1",
      '"http://prometheus.monitoring.svc:9090/?x=1" has a query or fragment, which the adapter cannot use; give scheme, host, port and path only',
    ],
  ])("fails when the installed Prometheus's URL is %j", (prometheusUrl, reason) => {
    expect(problemsOf(minimalConfig({ monitoring: { installed: true, prometheusUrl } }))).toEqual([
      `monitoring.prometheusUrl: ${reason}`,
    ]);
  });

  it.each(["10s", "19s", "19s999ms", "0s"])(
    "fails when the window %j spans fewer than two Triton scrapes",
    (window) => {
      expect(problemsOf(minimalConfig({ metricsAdapter: { window } }))).toEqual([
        `metricsAdapter.window: "${window}" spans fewer than 2 scrapes of Triton (every 10s), so increase() has too few samples and the HPAs see no metric; use at least 20s (e.g. 30s)`,
      ]);
    },
  );

  it.each(["20s", "20000ms", "30s", "1m", "1h"])("accepts the window %j", (window) => {
    expect(parseStackConfig(minimalConfig({ metricsAdapter: { window } })).raw.metricsAdapter.window).toBe(window);
  });

  it("reports the values and monitoring problems with every other problem", () => {
    expect(
      problemsOf(
        minimalConfig({
          inference: { namespace: "kube-system" },
          gpuOperator: { values: { driver: { enabled: false } } },
          monitoring: { values: { namespaceOverride: "mon" } },
          metricsAdapter: { window: "15s", values: { rules: { custom: [] } } },
        }),
      ),
    ).toEqual([
      'metricsAdapter.window: "15s" spans fewer than 2 scrapes of Triton (every 10s), so increase() has too few samples and the HPAs see no metric; use at least 20s (e.g. 30s)',
      "inference.namespace: \"kube-system\" is reserved for the cluster's own components; use a namespace of gpushare's own (e.g. the default)",
      "gpuOperator.values.driver.enabled: gpushare sets this value itself; remove it and use gpuOperator.driverEnabled",
      "monitoring.values.namespaceOverride: gpushare sets this value itself; remove it and use monitoring.namespace",
      "metricsAdapter.values.rules.custom: gpushare sets this value itself; remove it and use metricsAdapter.metricName and metricsAdapter.window",
    ]);
  });
});

describe("servers' models", () => {
  it("warns when a server names a model that seeding, the only source of a new share, does not provide", () => {
    const config = parseStackConfig({
      modelStore: { manila: { sizeGiB: 10, accessCidr: "10.0.0.0/24" } },
      gpuPools: { t4: { gpu: "T4", nodes: { min: 1, max: 1 } } },
      servers: { s: { pool: "t4", models: ["densenet_onnx", "resnet50"] } },
    });
    expect(config.warnings).toEqual([
      'servers.s.models: "resnet50" is not provided by modelStore.seed, the only source of models in a new share; add it to modelStore.seed.models or copy it into the share yourself',
    ]);
  });
});

describe("names of generated configs", () => {
  const tsPool = (replicas: number) => ({ gpuPools: { t4: t4({ timeSlicing: { replicas } }) } });

  it("names a pool's device-plugin config after its content, so a replicas change renames it", () => {
    const fourteen = parseStackConfig(minimalConfig(tsPool(14))).pools[0].devicePluginConfig;
    const seven = parseStackConfig(minimalConfig(tsPool(7))).pools[0].devicePluginConfig;
    expect(fourteen).toBe("t4-5c3fa4b5");
    expect(seven).toMatch(/^t4-[0-9a-f]{8}$/);
    expect(seven).not.toBe(fourteen);
    expect(parseStackConfig(minimalConfig(tsPool(14))).pools[0].devicePluginConfig).toBe(fourteen);
  });

  it("renames an explicit MIG layout when its instances change, and keeps NVIDIA's names", () => {
    const layout = (profiles: Record<string, number>) =>
      parseStackConfig(minimalConfig({ gpuPools: { a100: a100({ mig: { profiles } }) } })).pools[0].sharing.mig
        ?.configName;
    expect(layout({ "3g.20gb": 2 })).toBe("gpushare-a100-56807bc4");
    expect(layout({ "3g.20gb": 1 })).toMatch(/^gpushare-a100-[0-9a-f]{8}$/);
    expect(layout({ "3g.20gb": 1 })).not.toBe(layout({ "3g.20gb": 2 }));
    const named = parseStackConfig(
      minimalConfig({
        cluster: { migStrategy: "mixed" },
        gpuPools: { a100: a100({ mig: { layout: "all-balanced" } }) },
      }),
    );
    expect(named.pools[0].sharing.mig?.configName).toBe("all-balanced");
  });

  it("uses mig.name as the prefix of an explicit layout's name", () => {
    const config = parseStackConfig(
      minimalConfig({ gpuPools: { a100: a100({ mig: { profiles: { "3g.20gb": 2 }, name: "two-halves" } }) } }),
    );
    expect(config.pools[0].sharing.mig?.configName).toBe("two-halves-56807bc4");
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      "mig.name is longer than a prefix can be",
      { a100: a100({ mig: { profiles: { "3g.20gb": 2 }, name: "x".repeat(55) } }) },
      `gpuPools.a100.mig.name: "${"x".repeat(55)}" cannot prefix a label value; use lowercase letters, digits, "-" and ".", at most 54 characters (gpushare appends "-" and an 8-digit content hash)`,
    ],
    [
      "mig.name is not a label value",
      { a100: a100({ mig: { profiles: { "3g.20gb": 2 }, name: "Two_Halves" } }) },
      'gpuPools.a100.mig.name: "Two_Halves" cannot prefix a label value; use lowercase letters, digits, "-" and ".", at most 54 characters (gpushare appends "-" and an 8-digit content hash)',
    ],
    [
      "mig.name looks like one of mig-manager's layouts",
      { a100: a100({ mig: { profiles: { "3g.20gb": 2 }, name: "all-balanced" } }) },
      'gpuPools.a100.mig.name: "all-balanced" looks like one of mig-manager\'s own layout names (all-*), which mean fixed layouts per GPU model; pick another name, or use gpuPools.a100.mig.layout "all-balanced" instead of profiles',
    ],
    [
      "mig.name collides with the name gpushare generates for another pool",
      {
        a100: a100({ mig: { profiles: { "3g.20gb": 2 }, name: "gpushare-other" } }),
        other: { gpu: "A100-80GB", nodes: { min: 1, max: 1 }, mig: { profiles: { "3g.40gb": 2 } } },
      },
      'gpuPools.a100.mig.name: "gpushare-other" is the name gpushare generates for pool other\'s layouts, so node labels would point readers at the wrong pool; pick another name or remove gpuPools.a100.mig.name',
    ],
  ])("fails when %s", (_, gpuPools, message) => {
    expect(problemsOf(minimalConfig({ cluster: { migStrategy: "mixed" }, gpuPools }))).toEqual([message]);
  });
});
