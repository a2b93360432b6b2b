import { describe, expect, it } from "vitest";
import { parseStackConfig, parseStackSettings, StackConfigError } from "../../../stacks/config/parse";
import { problemFromText, problemText } from "../../../problems";
import { a100, minimalConfig, problemsOf, server, stackFileConfig, t4 } from "../../support/config";

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
      "a server name cannot name a Service (a DNS-1035 label)",
      { gpuPools: { t4: t4() }, servers: { "Triton.A": { pool: "t4" } } },
      'servers: "Triton.A" cannot name a Kubernetes Service; use a DNS-1035 label: lowercase letters, digits and "-", starting with a letter, at most 63 characters',
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
      "modelStore.manila.sizeGiB: 0.5 is not allowed; Manila shares are whole GiB, from 1 to 1048576 (1 PiB, far past any model repository and Manila's default project quota of 1000 GiB)",
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
    expect(problemsOf(minimalConfig(input))).toEqual([message]);
  });

  it("warns, naming MIG and MPS, when time-sliced replicas outgrow the GPU's memory", () => {
    const config = parseStackConfig(
      minimalConfig({
        gpuPools: { t4: t4({ timeSlicing: { replicas: 14 } }) },
        servers: { s: { pool: "t4", replicas: 4, modelMemoryGiB: 2 } },
      }),
    );
    expect(config.warnings).toEqual([
      "servers.s.modelMemoryGiB: 14 time-sliced replicas × (2.00 GiB model + 0.49 GiB per-replica overhead (the turing default: CUDA context, libraries, Triton's pool) = 2.49 GiB) = 34.86 GiB exceeds one T4 (14.73 GiB as nvidia-smi reports it; its name says 16 GB), and time-sliced pods share memory, so one OOM kills them all; lower gpuPools.t4.timeSlicing.replicas to at most 5, or isolate memory with MIG slices or MPS",
    ]);
  });

  it("warns about a T4 time-sliced 14 ways only when the overhead tips it over the real memory", () => {
    // 14 × (0.5 + 0.49) = 13.86 GiB fits the 14.73 GiB a T4 really has; 14 × (0.5 + 0.6) = 15.4 GiB does not,
    // though it fits the 16 GB of its name.
    const at = (overheadGiB?: number): readonly string[] =>
      parseStackConfig(
        minimalConfig({
          gpuPools: { t4: t4({ timeSlicing: { replicas: 14 } }) },
          servers: { s: { pool: "t4", modelMemoryGiB: 0.5, ...(overheadGiB === undefined ? {} : { overheadGiB }) } },
        }),
      ).warnings;
    expect(at()).toEqual([]);
    expect(at(0.6)).toEqual([
      "servers.s.modelMemoryGiB: 14 time-sliced replicas × (0.50 GiB model + 0.60 GiB per-replica overhead (servers' overheadGiB) = 1.10 GiB) = 15.40 GiB exceeds one T4 (14.73 GiB as nvidia-smi reports it; its name says 16 GB), and time-sliced pods share memory, so one OOM kills them all; lower gpuPools.t4.timeSlicing.replicas to at most 13, or isolate memory with MIG slices or MPS",
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
      "servers.s.modelMemoryGiB: 4 time-sliced replicas × (2.00 GiB model + 0.49 GiB per-replica overhead (the ampere default: CUDA context, libraries, Triton's pool) = 2.49 GiB) = 9.96 GiB exceeds one 1g.5gb slice (4.75 GiB), and time-sliced pods share memory, so one OOM kills them all; the device holds fewer than 2 replicas: do not share it, or isolate memory with MIG slices or MPS",
    ]);
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>, string]>([
    [
      "a model larger than its MIG slice",
      { cluster: { migStrategy: "mixed" }, gpuPools: { a100: a100({ mig: { layout: "all-balanced" } }) } },
      { pool: "a100", resource: "nvidia.com/mig-1g.5gb", modelMemoryGiB: 40 },
      "servers.s.modelMemoryGiB: 40.00 GiB model + 0.49 GiB per-replica overhead (the ampere default: CUDA context, libraries, Triton's pool) = 40.49 GiB does not fit one 1g.5gb slice (4.75 GiB); use a GPU or MIG slice with more memory, or a smaller model",
    ],
    [
      "a 39.5 GiB model on a whole A100-40GB, which holds 39.59 GiB",
      { gpuPools: { a100: a100() } },
      { pool: "a100", modelMemoryGiB: 39.5 },
      "servers.s.modelMemoryGiB: 39.50 GiB model + 0.49 GiB per-replica overhead (the ampere default: CUDA context, libraries, Triton's pool) = 39.99 GiB does not fit one A100-SXM4-40GB (39.59 GiB as nvidia-smi reports it; its name says 40 GB); use a GPU or MIG slice with more memory, or a smaller model",
    ],
    [
      "a 39.5 GiB model on the A100-40GB's 7g.40gb",
      { gpuPools: { a100: a100({ mig: { layout: "all-7g.40gb" } }) } },
      { pool: "a100", modelMemoryGiB: 39.5 },
      "servers.s.modelMemoryGiB: 39.50 GiB model + 0.49 GiB per-replica overhead (the ampere default: CUDA context, libraries, Triton's pool) = 39.99 GiB does not fit one 7g.40gb slice (39.25 GiB); use a GPU or MIG slice with more memory, or a smaller model",
    ],
    [
      "a 15 GiB model on a whole T4 (16 GB by name, 14.73 GiB usable)",
      { gpuPools: { t4: t4() } },
      { pool: "t4", modelMemoryGiB: 15 },
      "servers.s.modelMemoryGiB: 15.00 GiB model + 0.49 GiB per-replica overhead (the turing default: CUDA context, libraries, Triton's pool) = 15.49 GiB does not fit one T4 (14.73 GiB as nvidia-smi reports it; its name says 16 GB); use a GPU or MIG slice with more memory, or a smaller model",
    ],
    [
      "a model that outgrows its MPS client's share, whatever memoryOversubscription says",
      { gpuPools: { t4: t4({ mps: { replicas: 4 } }) } },
      { pool: "t4", modelMemoryGiB: 4 },
      "servers.s.modelMemoryGiB: 4.00 GiB model + 0.49 GiB per-replica overhead (the turing default: CUDA context, libraries, Triton's pool) = 4.49 GiB exceeds the 3.67 GiB each of 4 MPS clients can count on ((14.73 GiB of T4 − 0.06 GiB MPS server) ÷ 4; the device plugin enforces each client's share); lower gpuPools.t4.mps.replicas to at most 3, or use MIG slices large enough for the model",
    ],
    [
      "an overhead that is not a size",
      { gpuPools: { t4: t4() } },
      { pool: "t4", modelMemoryGiB: 1, overheadGiB: -0.5 },
      "servers.s.overheadGiB: -0.5 is not allowed; use a number from 0 to 64 (GiB each replica process takes besides its model), or remove it for T4's default of 0.49 GiB",
    ],
  ])("fails when %s", (_, stack, server, message) => {
    expect(problemsOf(minimalConfig({ ...stack, servers: { s: server } }))).toEqual([message]);
  });

  it("does not warn when the model fits its share of the device", () => {
    const config = parseStackConfig(
      minimalConfig({
        gpuPools: { t4: t4({ timeSlicing: { replicas: 14 } }) },
        servers: { s: { pool: "t4", modelMemoryGiB: 0.5 } },
      }),
    );
    expect(config.warnings).toEqual([]);
  });

  it("warns that an overhead without a model's memory checks nothing", () => {
    const config = parseStackConfig(
      minimalConfig({ gpuPools: { t4: t4() }, servers: { s: { pool: "t4", overheadGiB: 1 } } }),
    );
    expect(config.warnings).toEqual([
      "servers.s.overheadGiB: ignored without servers.s.modelMemoryGiB; set the model's memory so it is checked",
    ]);
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
        template: { image: "ubuntu-2204", externalNetworkId: "public", masterFlavor: "m1", flavor: "m1", labels },
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
    [
      "mig.name ends with a dot",
      { a100: a100({ mig: { profiles: { "3g.20gb": 2 }, name: "halves." } }) },
      'gpuPools.a100.mig.name: "halves." cannot prefix a label value; use lowercase letters, digits, "-" and ".", at most 54 characters (gpushare appends "-" and an 8-digit content hash)',
    ],
    [
      "mig.name starts like mig-manager's layouts",
      { a100: a100({ mig: { profiles: { "3g.20gb": 2 }, name: "all-mine" } }) },
      'gpuPools.a100.mig.name: "all-mine" looks like one of mig-manager\'s own layout names (all-*), which mean fixed layouts per GPU model; pick another name, or use gpuPools.a100.mig.layout "all-mine" instead of profiles',
    ],
  ])("fails when %s, and its server is not checked against the pool", (_, gpuPools, message) => {
    // Three 3g.20gb pods would not fit the two slices: a pool whose name is wrong is not judged further.
    const servers = { s: { pool: "a100", resource: "nvidia.com/mig-3g.20gb", replicas: 3 } };
    expect(problemsOf(minimalConfig({ cluster: { migStrategy: "mixed" }, gpuPools, servers }))).toEqual([message]);
  });

  it("accepts a 54-character mig.name, its own pool's default, and names beside other pools", () => {
    const mig = (name: string) => ({ profiles: { "3g.20gb": 2 }, name });
    const config = parseStackConfig(
      minimalConfig({
        cluster: { migStrategy: "mixed" },
        gpuPools: {
          a100: a100({ nodeSelector: { g: "a" }, mig: mig("gpushare-a100") }),
          b: a100({ nodeSelector: { g: "b" }, mig: mig("x".repeat(54)) }),
          c: a100({ nodeSelector: { g: "c" }, mig: mig("two.halves") }),
        },
      }),
    );
    expect(config.pools.map((p) => [p.mode, p.sharing.mig?.migEnabled])).toEqual([
      ["mig", true],
      ["mig", true],
      ["mig", true],
    ]);
  });
});

/** An OpenStack-mode stack with an existing template, `openstack` merged into cluster.openstack. */
const onOpenStack = (openstack: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) => ({
  cluster: { kind: "openstack", openstack: { clusterTemplateId: "tpl", nodeSubnetCidr: "10.0.0.0/24", ...openstack } },
  modelStore: { manila: { sizeGiB: 10 } },
  ...rest,
});
const template = (extra: Record<string, unknown> = {}) => ({
  clusterTemplateId: undefined,
  template: {
    image: "ubuntu-2204-kube-v1.30.4",
    externalNetworkId: "public",
    masterFlavor: "m1",
    flavor: "m1",
    ...extra,
  },
});
const PODS = "(Kubernetes supports at most 150000 pods per cluster)";
const NODES = "(Kubernetes supports at most 5000 nodes per cluster)";
const FCOS_FIX =
  "is Fedora CoreOS, where NVIDIA's GPU operator cannot install its driver container, and gpuOperator.driverEnabled is true; use an image of an OS the operator supports (e.g. Ubuntu 22.04: ubuntu-2204-kube-v1.30.4), or an image with the NVIDIA driver preinstalled and gpuOperator.driverEnabled: false";

describe("every rule, one bad value at a time", () => {
  it.each<[string, unknown, string]>([
    // Structure (schema.ts): one case per kind of problem zod reports.
    [
      "a top-level key is unknown",
      minimalConfig({ foo: 1 }),
      'gpushare: unknown key "foo"; remove it or check the spelling against the README\'s config reference',
    ],
    [
      "two keys of a section are unknown",
      minimalConfig({ inference: { namespace: "x", name: "y", labels: {} } }),
      'inference: unknown keys "name", "labels"; remove them or check the spelling against the README\'s config reference',
    ],
    [
      "a value has the wrong type",
      minimalConfig({ gpuPools: { t4: t4({ nodes: { min: 1, max: "three" } }) } }),
      'gpuPools.t4.nodes.max: "three" is not allowed (a number, not a string); set gpuPools.t4.nodes.max in the stack file to a number',
    ],
    [
      "a required value is missing",
      minimalConfig({ gpuPools: { t4: { nodes: { min: 1, max: 1 } } } }),
      "gpuPools.t4.gpu: missing; set gpuPools.t4.gpu in the stack file to a string",
    ],
    [
      "a value is not one of the choices",
      minimalConfig({ cluster: { kind: "aws" } }),
      'cluster.kind: "aws" is not allowed (Invalid option: expected one of "openstack"|"existing"); set cluster.kind in the stack file to a valid value',
    ],
    [
      "a string is empty",
      { modelStore: { nfs: { server: "", path: "/m" } } },
      'modelStore.nfs.server: "" is not allowed (Too small: expected string to have >=1 characters); set modelStore.nfs.server in the stack file to a valid value',
    ],
    [
      "a model's memory is not positive",
      minimalConfig(server({ modelMemoryGiB: 0 })),
      "servers.s.modelMemoryGiB: 0 is not allowed (Too small: expected number to be >0); set servers.s.modelMemoryGiB in the stack file to a valid value",
    ],
    [
      "a seeded model has no files",
      minimalConfig({ modelStore: { nfs: { server: "a", path: "/m" }, seed: { models: [{ name: "m", files: [] }] } } }),
      "modelStore.seed.models[0].files: [] is not allowed (Too small: expected array to have >=1 items); set modelStore.seed.models[0].files in the stack file to a valid value",
    ],
    [
      "a count is infinite (YAML .inf)",
      minimalConfig({ gpuPools: { t4: t4({ nodes: { min: 1, max: Infinity } }) } }),
      "gpuPools.t4.nodes.max: Infinity is not allowed (a finite number, not Infinity); set gpuPools.t4.nodes.max in the stack file to a finite number",
    ],
    [
      "the config is not a mapping",
      42,
      "gpushare: 42 is not allowed (a mapping, not a number); set gpushare in the stack file to a mapping",
    ],
    // The cluster.
    [
      "OpenStack mode has no cluster.openstack",
      { cluster: { kind: "openstack" }, modelStore: { manila: { sizeGiB: 10 } } },
      "cluster.openstack: missing; OpenStack mode needs it (at least nodeSubnetCidr, and clusterTemplateId or template)",
    ],
    [
      "cluster.openstack is set in existing-cluster mode",
      minimalConfig({ cluster: { openstack: { clusterTemplateId: "tpl", nodeSubnetCidr: "10.0.0.0/24" } } }),
      'cluster.openstack: set, but cluster.kind is "existing"; set cluster.kind to "openstack" or remove cluster.openstack',
    ],
    [
      "an existing cluster's context is given with an OpenStack cluster",
      onOpenStack(
        {},
        {
          cluster: {
            kind: "openstack",
            existing: {},
            openstack: { clusterTemplateId: "tpl", nodeSubnetCidr: "10.0.0.0/24" },
          },
        },
      ),
      'cluster: both an OpenStack cluster (cluster.kind "openstack") and an existing cluster (cluster.existing) are given; remove one: kind "existing" uses the kubeconfig, kind "openstack" creates the cluster',
    ],
    [
      "neither a template nor a template id is given",
      onOpenStack({ clusterTemplateId: undefined }),
      "cluster.openstack: give exactly one of clusterTemplateId (an existing Magnum template) or template (one gpushare creates); it has neither",
    ],
    [
      "both a template and a template id are given",
      onOpenStack({ ...template(), clusterTemplateId: "tpl" }),
      "cluster.openstack: give exactly one of clusterTemplateId (an existing Magnum template) or template (one gpushare creates); it has both",
    ],
    [
      "the master count is even",
      onOpenStack({ masterCount: 2 }),
      "cluster.openstack.masterCount: 2 is not allowed; use an odd whole number from 1 to 7 (1, 3, 5 or 7) so etcd keeps quorum (etcd advises at most 7 members)",
    ],
    [
      "the master count is below 1",
      onOpenStack({ masterCount: -1 }),
      "cluster.openstack.masterCount: -1 is not allowed; use an odd whole number from 1 to 7 (1, 3, 5 or 7) so etcd keeps quorum (etcd advises at most 7 members)",
    ],
    [
      "the master count is not whole",
      onOpenStack({ masterCount: 1.5 }),
      "cluster.openstack.masterCount: 1.5 is not allowed; use an odd whole number from 1 to 7 (1, 3, 5 or 7) so etcd keeps quorum (etcd advises at most 7 members)",
    ],
    [
      "the worker count is below 1",
      onOpenStack({ workerCount: 0 }),
      "cluster.openstack.workerCount: 0 is not allowed; use a whole number from 1 to 5000 for the system node group (Kubernetes supports at most 5000 nodes per cluster)",
    ],
    [
      "the worker count is not whole",
      onOpenStack({ workerCount: 1.5 }),
      "cluster.openstack.workerCount: 1.5 is not allowed; use a whole number from 1 to 5000 for the system node group (Kubernetes supports at most 5000 nodes per cluster)",
    ],
    [
      "the create timeout is below a minute",
      onOpenStack({ createTimeoutMinutes: 0 }),
      "cluster.openstack.createTimeoutMinutes: 0 is not allowed; use a whole number of minutes ≥ 1 (e.g. the default 60)",
    ],
    [
      "the create timeout is not whole",
      onOpenStack({ createTimeoutMinutes: 1.5 }),
      "cluster.openstack.createTimeoutMinutes: 1.5 is not allowed; use a whole number of minutes ≥ 1 (e.g. the default 60)",
    ],
    [
      "the docker volume is not whole GiB",
      onOpenStack(template({ dockerVolumeSize: 0.5 })),
      "cluster.openstack.template.dockerVolumeSize: 0.5 is not allowed; Cinder volumes are whole GiB, at least 1 (or remove it to use the node's disk)",
    ],
    [
      "the docker volume is below 1 GiB",
      onOpenStack(template({ dockerVolumeSize: 0 })),
      "cluster.openstack.template.dockerVolumeSize: 0 is not allowed; Cinder volumes are whole GiB, at least 1 (or remove it to use the node's disk)",
    ],
    [
      "the node subnet is not a CIDR",
      onOpenStack({ nodeSubnetCidr: "not-a-cidr" }),
      'cluster.openstack.nodeSubnetCidr: "not-a-cidr" is not a CIDR (address/prefix length); give the nodes\' subnet, e.g. 10.0.0.0/24',
    ],
    [
      "the node subnet has a prefix longer than 32",
      onOpenStack({ nodeSubnetCidr: "10.0.0.0/33" }),
      'cluster.openstack.nodeSubnetCidr: "10.0.0.0/33" has no valid prefix length; use /1 to /32 for an IPv4 address, e.g. 10.0.0.0/24',
    ],
    [
      "the node subnet is one address",
      onOpenStack({ nodeSubnetCidr: "10.0.0.0" }),
      'cluster.openstack.nodeSubnetCidr: "10.0.0.0" is not a CIDR (address/prefix length); give the nodes\' subnet, e.g. 10.0.0.0/24',
    ],
    [
      "the node subnet is every address",
      onOpenStack({ nodeSubnetCidr: "0.0.0.0/0" }),
      'cluster.openstack.nodeSubnetCidr: "0.0.0.0/0" admits every address; give the nodes\' subnet, e.g. 10.0.0.0/24',
    ],
    // Node images.
    [
      "the template's image is Fedora CoreOS and the operator installs the driver",
      onOpenStack(template({ image: "fedora-coreos-40" })),
      `cluster.openstack.template.image: "fedora-coreos-40" ${FCOS_FIX}`,
    ],
    [
      "a pool's image is Fedora CoreOS and the operator installs the driver",
      onOpenStack({}, { gpuPools: { t4: t4({ flavor: "g", image: "FCOS-39" }) } }),
      `gpuPools.t4.image: "FCOS-39" ${FCOS_FIX}`,
    ],
    // The model store.
    [
      "both a Manila share and an NFS export are given",
      { modelStore: { nfs: { server: "a", path: "/m" }, manila: { sizeGiB: 1, accessCidr: "10.0.0.0/24" } } },
      "modelStore: both manila (a share gpushare creates) and nfs (an existing export) are given; keep one",
    ],
    [
      "the sub-path is absolute",
      minimalConfig({ modelStore: { nfs: { server: "a", path: "/m" }, subPath: "/abs" } }),
      'modelStore.subPath: "/abs" is absolute; give it relative to the export (modelStore.nfs.path or the Manila share)',
    ],
    [
      "the sub-path leaves the export, with seeding off",
      minimalConfig({ modelStore: { nfs: { server: "a", path: "/m" }, subPath: "a/../..", seed: { enabled: false } } }),
      'modelStore.subPath: "a/../.." contains "." or ".." segments; give a relative directory inside the model repository',
    ],
    [
      "a Manila share in existing-cluster mode has no accessCidr",
      { modelStore: { manila: { sizeGiB: 1 } } },
      "modelStore.manila.accessCidr: missing; in existing-cluster mode name the nodes' subnet (e.g. 10.0.0.0/24) the share admits",
    ],
    [
      "the share admits every address",
      { modelStore: { manila: { sizeGiB: 1, accessCidr: "0.0.0.0/0" } } },
      'modelStore.manila.accessCidr: "0.0.0.0/0" admits every address; give the nodes\' subnet, e.g. 10.0.0.0/24',
    ],
    [
      "the share's access is not an address",
      { modelStore: { manila: { sizeGiB: 1, accessCidr: "nodes" } } },
      'modelStore.manila.accessCidr: "nodes" is not an IP address or CIDR; give the nodes\' subnet, e.g. 10.0.0.0/24',
    ],
    [
      "the share's size is not whole",
      { modelStore: { manila: { sizeGiB: 1.5, accessCidr: "10.0.0.0/24" } } },
      "modelStore.manila.sizeGiB: 1.5 is not allowed; Manila shares are whole GiB, from 1 to 1048576 (1 PiB, far past any model repository and Manila's default project quota of 1000 GiB)",
    ],
    [
      "the seed image is not lowercase",
      minimalConfig({ modelStore: { nfs: { server: "a", path: "/m" }, seed: { image: "Curlimages/curl:8.11.1" } } }),
      'modelStore.seed.image: "Curlimages/curl:8.11.1" is not an image reference: the registry and repository must be lowercase; use "curlimages/curl:8.11.1"',
    ],
    [
      "the seed image is not pinned",
      minimalConfig({ modelStore: { nfs: { server: "a", path: "/m" }, seed: { image: "curlimages/curl" } } }),
      'modelStore.seed.image: "curlimages/curl" has no tag or digest; pin it, e.g. nvcr.io/nvidia/tritonserver:24.08-py3',
    ],
    // The monitoring stack and namespaces.
    [
      "a namespace is longer than a DNS label",
      minimalConfig({ monitoring: { namespace: "n".repeat(64) } }),
      `monitoring.namespace: "${"n".repeat(64)}" is not a DNS-1123 label; use lowercase letters, digits and "-", at most 63 characters`,
    ],
    [
      "a namespace has capitals",
      minimalConfig({ gpuOperator: { namespace: "GPU" } }),
      'gpuOperator.namespace: "GPU" is not a DNS-1123 label; use lowercase letters, digits and "-", at most 63 characters',
    ],
    [
      "the adapter's namespace is kube-system",
      minimalConfig({ metricsAdapter: { namespace: "kube-system" } }),
      "metricsAdapter.namespace: \"kube-system\" is reserved for the cluster's own components; use a namespace of gpushare's own (e.g. the default)",
    ],
    [
      "the window has a unit Prometheus lacks",
      minimalConfig({ metricsAdapter: { window: "1min" } }),
      'metricsAdapter.window: "1min" is not a Prometheus duration; use e.g. 30s, 1m or 1m30s',
    ],
    [
      "the window is empty",
      minimalConfig({ metricsAdapter: { window: "" } }),
      'metricsAdapter.window: "" is not a Prometheus duration; use e.g. 30s, 1m or 1m30s',
    ],
    [
      "the metric name starts with a digit",
      minimalConfig({ metricsAdapter: { metricName: "1queue" } }),
      'metricsAdapter.metricName: "1queue" is not a Prometheus metric name; use letters, digits, "_" and ":", not starting with a digit (e.g. avg_time_queue_us)',
    ],
    // Pools alone.
    [
      "a pool name is reserved",
      minimalConfig({ gpuPools: { default: t4() } }),
      'gpuPools: "default" is reserved for the device plugin\'s default config; pick another pool name',
    ],
    [
      "a pool name is longer than a DNS label",
      minimalConfig({ gpuPools: { ["p".repeat(64)]: t4() } }),
      `gpuPools: "${"p".repeat(64)}" is not a DNS-1123 label; use lowercase letters, digits and "-", at most 63 characters`,
    ],
    [
      "a pool is named after a node group Magnum creates",
      onOpenStack({}, { gpuPools: { "default-worker": t4({ flavor: "g" }) } }),
      'gpuPools.default-worker: "default-worker" is the name of a node group Magnum creates with every cluster; rename the pool',
    ],
    [
      "a pool's minimum nodes are negative",
      minimalConfig({ gpuPools: { t4: t4({ nodes: { min: -1, max: 1 } }) } }),
      `gpuPools.t4.nodes.min: -1 is not allowed; use a whole number from 0 to 5000 ${NODES}`,
    ],
    [
      "a pool's minimum nodes are not whole",
      minimalConfig({ gpuPools: { t4: t4({ nodes: { min: 0.5, max: 1 } }) } }),
      `gpuPools.t4.nodes.min: 0.5 is not allowed; use a whole number from 0 to 5000 ${NODES}`,
    ],
    [
      "a pool's maximum nodes are 0",
      minimalConfig({ gpuPools: { t4: t4({ nodes: { min: 0, max: 0 } }) } }),
      `gpuPools.t4.nodes.max: 0 is not allowed; use a whole number from 1 to 5000 ${NODES}`,
    ],
    [
      "a pool's maximum nodes exceed what a cluster holds",
      minimalConfig({ gpuPools: { t4: t4({ nodes: { min: 1, max: 1e9 } }) } }),
      `gpuPools.t4.nodes.max: 1000000000 is not allowed; use a whole number from 1 to 5000 ${NODES}`,
    ],
    [
      "a pool's initial nodes exceed its maximum",
      minimalConfig({ gpuPools: { t4: t4({ nodes: { min: 1, max: 2, initial: 3 } }) } }),
      "gpuPools.t4.nodes.initial: 3 is not allowed; use a whole number between nodes.min 1 and nodes.max 2",
    ],
    [
      "a pool's initial nodes are below its minimum",
      minimalConfig({ gpuPools: { t4: t4({ nodes: { min: 1, max: 2, initial: 0 } }) } }),
      "gpuPools.t4.nodes.initial: 0 is not allowed; use a whole number between nodes.min 1 and nodes.max 2",
    ],
    [
      "a pool's initial nodes are not whole",
      minimalConfig({ gpuPools: { t4: t4({ nodes: { min: 1, max: 2, initial: 1.5 } }) } }),
      "gpuPools.t4.nodes.initial: 1.5 is not allowed; use a whole number between nodes.min 1 and nodes.max 2",
    ],
    [
      "a node holds more than 16 GPUs",
      minimalConfig({ gpuPools: { t4: t4({ gpusPerNode: 17 }) } }),
      "gpuPools.t4.gpusPerNode: 17 is not allowed; use a whole number from 1 to 16 (GPUs one server holds)",
    ],
    [
      "a node holds no GPU",
      minimalConfig({ gpuPools: { t4: t4({ gpusPerNode: 0 }) } }),
      "gpuPools.t4.gpusPerNode: 0 is not allowed; use a whole number from 1 to 16 (GPUs one server holds)",
    ],
    // MIG sections.
    [
      "a MIG section has neither layout nor profiles",
      minimalConfig({ gpuPools: { a100: a100({ mig: {} }) } }),
      'gpuPools.a100.mig: give exactly one of layout (e.g. "all-balanced") or profiles (e.g. {"3g.20gb": 2}); it has neither',
    ],
    [
      "a MIG section has both layout and profiles",
      minimalConfig({ gpuPools: { a100: a100({ mig: { layout: "all-1g.5gb", profiles: { "1g.5gb": 7 } } }) } }),
      'gpuPools.a100.mig: give exactly one of layout (e.g. "all-balanced") or profiles (e.g. {"3g.20gb": 2}); it has both',
    ],
    [
      "a MIG count is negative",
      minimalConfig({ gpuPools: { a100: a100({ mig: { profiles: { "1g.5gb": -1 } } }) } }),
      "gpuPools.a100.mig.profiles.1g.5gb: -1 is not a count; use a whole number ≥ 0",
    ],
    [
      "a MIG count is not whole",
      minimalConfig({ gpuPools: { a100: a100({ mig: { profiles: { "1g.5gb": 1.5 } } }) } }),
      "gpuPools.a100.mig.profiles.1g.5gb: 1.5 is not a count; use a whole number ≥ 0",
    ],
    [
      "explicit MIG profiles have no instances",
      minimalConfig({ gpuPools: { a100: a100({ mig: { profiles: { "1g.5gb": 0 } } }) } }),
      'gpuPools.a100.mig.profiles: no instances; list at least one profile with a count ≥ 1, or use layout "all-disabled"',
    ],
    // Sharing.
    [
      "time-slicing replicas exceed the pods a node runs",
      minimalConfig({ gpuPools: { t4: t4({ timeSlicing: { replicas: 10000 } }) } }),
      "gpuPools.t4.timeSlicing.replicas: 10000 is not allowed; every replica is a pod on the GPU's node, and a node runs at most 110 pods (the kubelet's default maxPods), so use at most 110",
    ],
    [
      "per-profile time-slicing replicas exceed the pods a node runs",
      {
        ...minimalConfig({ cluster: { migStrategy: "mixed" } }),
        gpuPools: { a100: a100({ mig: { layout: "all-balanced" }, timeSlicing: { replicas: { "1g.5gb": 111 } } }) },
      },
      "gpuPools.a100.timeSlicing.replicas.1g.5gb: 111 is not allowed; every replica is a pod on the GPU's node, and a node runs at most 110 pods (the kubelet's default maxPods), so use at most 110",
    ],
    [
      "per-profile time-slicing replicas are below 2",
      minimalConfig({
        cluster: { migStrategy: "mixed" },
        gpuPools: { a100: a100({ mig: { layout: "all-balanced" }, timeSlicing: { replicas: { "1g.5gb": 1 } } }) },
      }),
      "gpuPools.a100.timeSlicing.replicas.1g.5gb: 1 is not allowed; time-slicing replicas are a whole number ≥ 2 (remove gpuPools.a100.timeSlicing to not share)",
    ],
    [
      "per-profile time-slicing replicas are given for whole GPUs",
      minimalConfig({ gpuPools: { t4: t4({ timeSlicing: { replicas: { "1g.5gb": 2 } } }) } }),
      "gpuPools.t4.timeSlicing.replicas: per-profile replicas need MIG slices, and this pool shares whole GPUs; give one number, e.g. replicas: 4",
    ],
    [
      "per-profile time-slicing replicas are given with MIG disabled",
      minimalConfig({
        gpuPools: { a100: a100({ mig: { layout: "all-disabled" }, timeSlicing: { replicas: { "1g.5gb": 2 } } }) },
      }),
      "gpuPools.a100.timeSlicing.replicas: per-profile replicas need MIG slices, and this pool shares whole GPUs; give one number, e.g. replicas: 4",
    ],
    [
      "MPS replicas are below 2",
      minimalConfig({ gpuPools: { t4: t4({ mps: { replicas: 1 } }) } }),
      "gpuPools.t4.mps.replicas: 1 is not allowed; T4 (compute capability 7.5) takes 2 to 48 MPS clients per GPU, as a whole number",
    ],
    [
      "MPS replicas are not whole",
      minimalConfig({ gpuPools: { t4: t4({ mps: { replicas: 2.5 } }) } }),
      "gpuPools.t4.mps.replicas: 2.5 is not allowed; T4 (compute capability 7.5) takes 2 to 48 MPS clients per GPU, as a whole number",
    ],
    [
      "MPS replicas exceed what a Volta GPU allows",
      minimalConfig({ gpuPools: { v100: { gpu: "V100-16GB", nodes: { min: 1, max: 1 }, mps: { replicas: 17 } } } }),
      "gpuPools.v100.mps.replicas: 17 is not allowed; V100-16GB (compute capability 7.0) takes 2 to 16 MPS clients per GPU, as a whole number",
    ],
    // Servers.
    [
      "a server name is longer than a DNS label",
      minimalConfig({ gpuPools: { t4: t4() }, servers: { ["s".repeat(64)]: { pool: "t4" } } }),
      // A long value is quoted cut short, with its length.
      `servers: "${"s".repeat(59)}…" (64 characters) cannot name a Kubernetes Service; use a DNS-1035 label: lowercase letters, digits and "-", starting with a letter, at most 63 characters`,
    ],
    [
      "an image's registry and repository are not lowercase",
      minimalConfig(server({ image: "NVCR.io/NVIDIA/Triton:latest" })),
      'servers.s.image: "NVCR.io/NVIDIA/Triton:latest" is not an image reference: the registry and repository must be lowercase; use "nvcr.io/nvidia/triton:latest"',
    ],
    [
      "an image is not a reference at all",
      minimalConfig(server({ image: "nvcr.io/nvidia/triton server:1" })),
      'servers.s.image: "nvcr.io/nvidia/triton server:1" is not an image reference ([registry[:port]/]repository[:tag][@sha256:digest], the repository in lowercase letters, digits, ".", "_" and "-"); use e.g. nvcr.io/nvidia/tritonserver:24.08-py3',
    ],
    [
      "replicas are negative",
      minimalConfig(server({ replicas: -1 })),
      `servers.s.replicas: -1 is not allowed; use a whole number from 0 to 150000 ${PODS}`,
    ],
    [
      "replicas are not whole",
      minimalConfig(server({ replicas: 1.5 })),
      `servers.s.replicas: 1.5 is not allowed; use a whole number from 0 to 150000 ${PODS}`,
    ],
    [
      "replicas exceed the pods of a cluster",
      minimalConfig(server({ replicas: 150001 })),
      `servers.s.replicas: 150001 is not allowed; use a whole number from 0 to 150000 ${PODS}`,
    ],
    [
      "minReplicas is 0",
      minimalConfig(server({ autoscaling: { minReplicas: 0, maxReplicas: 2 } })),
      `servers.s.autoscaling.minReplicas: 0 is not allowed; use a whole number from 1 to 150000 ${PODS}`,
    ],
    [
      "maxReplicas is 0",
      minimalConfig(server({ autoscaling: { minReplicas: 1, maxReplicas: 0 } })),
      `servers.s.autoscaling.maxReplicas: 0 is not allowed; use a whole number from 1 to 150000 ${PODS}`,
    ],
    [
      "maxReplicas exceeds the pods of a cluster",
      minimalConfig(server({ autoscaling: { maxReplicas: 200000 } })),
      `servers.s.autoscaling.maxReplicas: 200000 is not allowed; use a whole number from 1 to 150000 ${PODS}`,
    ],
    [
      "replicas are above the HPA's maximum, which is blamed on replicas, not on the maximum",
      minimalConfig(server({ replicas: 6, autoscaling: { maxReplicas: 2 } })),
      "servers.s.replicas: 6 is more than autoscaling.maxReplicas 2, and the HPA would scale it down at once; lower servers.s.replicas to at most 2 or raise autoscaling.maxReplicas",
    ],
    [
      "the autoscaling target is 0",
      minimalConfig(server({ autoscaling: { maxReplicas: 2, targetAverageValue: 0 } })),
      "servers.s.autoscaling.targetAverageValue: 0 is not allowed; use a number > 0 (µs)",
    ],
    [
      "the autoscaling target is negative",
      minimalConfig(server({ autoscaling: { maxReplicas: 2, targetAverageValue: -5 } })),
      "servers.s.autoscaling.targetAverageValue: -5 is not allowed; use a number > 0 (µs)",
    ],
    [
      "the scale-down window is longer than the HPA API allows",
      minimalConfig(server({ autoscaling: { maxReplicas: 2, scaleDown: { stabilizationWindowSeconds: 3601 } } })),
      "servers.s.autoscaling.scaleDown.stabilizationWindowSeconds: 3601 is not allowed; use a whole number from 0 to 3600 (the HPA API's limit: one hour)",
    ],
    [
      "the scale-down window is negative",
      minimalConfig(server({ autoscaling: { maxReplicas: 2, scaleDown: { stabilizationWindowSeconds: -1 } } })),
      "servers.s.autoscaling.scaleDown.stabilizationWindowSeconds: -1 is not allowed; use a whole number from 0 to 3600 (the HPA API's limit: one hour)",
    ],
    [
      "the scale-down period is 0",
      minimalConfig(server({ autoscaling: { maxReplicas: 2, scaleDown: { periodSeconds: 0 } } })),
      "servers.s.autoscaling.scaleDown.periodSeconds: 0 is not allowed; use a whole number from 1 to 1800 (the HPA API's limit for a scaling policy's period: 30 minutes)",
    ],
    [
      "the scale-down period is longer than the HPA API allows",
      minimalConfig(server({ autoscaling: { maxReplicas: 2, scaleDown: { periodSeconds: 1801 } } })),
      "servers.s.autoscaling.scaleDown.periodSeconds: 1801 is not allowed; use a whole number from 1 to 1800 (the HPA API's limit for a scaling policy's period: 30 minutes)",
    ],
    [
      "the scale-down period is a fraction",
      minimalConfig(server({ autoscaling: { maxReplicas: 2, scaleDown: { periodSeconds: 7.5 } } })),
      "servers.s.autoscaling.scaleDown.periodSeconds: 7.5 is not allowed; use a whole number from 1 to 1800 (the HPA API's limit for a scaling policy's period: 30 minutes)",
    ],
    [
      "a server does not name the resource of a pool that advertises several",
      minimalConfig({
        cluster: { migStrategy: "mixed" },
        gpuPools: { a100: a100({ mig: { layout: "all-balanced" } }) },
        servers: { s: { pool: "a100" } },
      }),
      "servers.s.resource: pool a100 advertises nvidia.com/mig-1g.5gb, nvidia.com/mig-2g.10gb, nvidia.com/mig-3g.20gb; name the one this server requests",
    ],
    [
      "a server runs on a pool whose GPUs are all MIG-disabled... and the stack has no pools",
      minimalConfig({ servers: { s: { pool: "t4" } } }),
      'servers.s.pool: "t4" is not a pool of this stack; use one of (no pools defined: add gpuPools)',
    ],
    [
      "a model outgrows its share of an MPS GPU and the stack opts into failing",
      minimalConfig({
        validation: { memoryOversubscription: "fail" },
        gpuPools: { t4: t4({ mps: { replicas: 4 } }) },
        servers: { s: { pool: "t4", modelMemoryGiB: 5 } },
      }),
      "servers.s.modelMemoryGiB: 5.00 GiB model + 0.49 GiB per-replica overhead (the turing default: CUDA context, libraries, Triton's pool) = 5.49 GiB exceeds the 3.67 GiB each of 4 MPS clients can count on ((14.73 GiB of T4 − 0.06 GiB MPS server) ÷ 4; the device plugin enforces each client's share); lower gpuPools.t4.mps.replicas to at most 2, or use MIG slices large enough for the model",
    ],
    [
      "a node advertises more GPU pods than its pod limit leaves",
      minimalConfig({ gpuPools: { t4: t4({ gpusPerNode: 8, timeSlicing: { replicas: 110 } }) } }),
      "gpuPools.t4: each node advertises 880 pods of GPU resources (8 × GPU × 110 replicas), but a node runs at most 110 pods (cluster.maxPodsPerNode) of which 16 are system pods (cluster.systemPodsPerNode), leaving 94; lower the pool's sharing replicas or gpusPerNode, or raise cluster.maxPodsPerNode together with the kubelet's --max-pods",
    ],
    [
      "a MIG node's slices, time-sliced, advertise more pods than the node runs",
      minimalConfig({
        cluster: { migStrategy: "mixed", maxPodsPerNode: 60, systemPodsPerNode: 10 },
        gpuPools: {
          a100: a100({ mig: { layout: "all-balanced" }, timeSlicing: { replicas: { "1g.5gb": 20, "2g.10gb": 11 } } }),
        },
      }),
      "gpuPools.a100: each node advertises 52 pods of GPU resources (2 × 1g.5gb × 20 replicas + 1 × 2g.10gb × 11 replicas + 1 × 3g.20gb), but a node runs at most 60 pods (cluster.maxPodsPerNode) of which 10 are system pods (cluster.systemPodsPerNode), leaving 50; lower the pool's sharing replicas or gpusPerNode, or raise cluster.maxPodsPerNode together with the kubelet's --max-pods",
    ],
    [
      "the pod limit per node is not a count",
      minimalConfig({ cluster: { maxPodsPerNode: 0 } }),
      "cluster.maxPodsPerNode: 0 is not allowed; use a whole number from 1 to 1000 (the kubelet's --max-pods on the GPU nodes; its default is 110)",
    ],
    [
      "the system pods take every pod a node runs",
      minimalConfig({ cluster: { maxPodsPerNode: 20, systemPodsPerNode: 20 } }),
      "cluster.systemPodsPerNode: 20 is not allowed; use a whole number from 0 to 19 (pods each GPU node runs besides the servers', fewer than cluster.maxPodsPerNode)",
    ],
  ])("fails when %s", (_, input, message) => {
    expect(problemsOf(input)).toEqual([message]);
  });

  it("accepts what each rule allows at its bounds", () => {
    const config = parseStackConfig(
      minimalConfig({
        gpuPools: {
          t4: t4({ nodes: { min: 0, max: 4996, initial: 4996 }, timeSlicing: { replicas: 110 } }),
          wide: { gpu: "A10", nodes: { min: 1, max: 1 }, gpusPerNode: 16 },
          ["p".repeat(63)]: { gpu: "L4", nodes: { min: 1, max: 2, initial: 1 }, timeSlicing: { replicas: 2 } },
          v100: { gpu: "V100-16GB", nodes: { min: 1, max: 1 }, mps: { replicas: 16 } },
        },
        servers: {
          ["s".repeat(63)]: { pool: "t4", replicas: 0, autoscaling: { minReplicas: 1, maxReplicas: 150000 } },
          m: { pool: "v100", replicas: 2, image: "registry.local:5000/team/triton__server@sha256:" + "a".repeat(64) },
        },
        monitoring: { namespace: "n".repeat(63) },
        cluster: { maxPodsPerNode: 1000, systemPodsPerNode: 0 },
      }),
    );
    expect(config.pools.map((p) => p.atMaxNodes)).toEqual([
      { "nvidia.com/gpu": 549_560 },
      { "nvidia.com/gpu": 16 },
      { "nvidia.com/gpu": 4 },
      { "nvidia.com/gpu": 16 },
    ]);
    expect(config.servers.map((s) => s.maxReplicas)).toEqual([150000, 2]);
  });

  it("accepts a Fedora CoreOS image when the driver is preinstalled or the operator is installed already", () => {
    for (const gpuOperator of [{ driverEnabled: false }, { installed: true }]) {
      const config = parseStackConfig(onOpenStack(template({ image: "fedora-coreos-40" }), { gpuOperator }));
      expect(config.raw.cluster.openstack?.template?.image).toBe("fedora-coreos-40");
    }
  });

  it("leaves a pool's image alone in existing-cluster mode, where gpushare creates no nodes", () => {
    const config = parseStackConfig(minimalConfig({ gpuPools: { t4: t4({ image: "fedora-coreos-40" }) } }));
    expect(config.pools[0].raw.image).toBe("fedora-coreos-40");
  });

  it("leaves the seed image alone when nothing is seeded", () => {
    const config = parseStackConfig(
      minimalConfig({ modelStore: { nfs: { server: "a", path: "/m" }, seed: { enabled: false, image: "Curl" } } }),
    );
    expect(config.raw.modelStore.seed.image).toBe("Curl");
  });

  it("warns that a flavor means nothing in existing-cluster mode", () => {
    expect(parseStackConfig(minimalConfig({ gpuPools: { t4: t4({ flavor: "g" }) } })).warnings).toEqual([
      "gpuPools.t4.flavor: ignored in existing-cluster mode; nodes are found by gpuPools.t4.nodeSelector",
    ]);
  });
});

describe("a value that is wrong is reported once", () => {
  const withServer = (pool: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    minimalConfig({ gpuPools: { t4: pool }, servers: { s: { pool: "t4", ...extra } } });

  it.each<[string, Record<string, unknown>, string]>([
    [
      "an unknown GPU does not also make its server's pool unknown",
      withServer({ gpu: "T5", nodes: { min: 1, max: 1 } }),
      'gpuPools.t4.gpu: "T5" is not a known GPU model; use one of A100-SXM4-40GB, A100-80GB, H100-80GB, H200-141GB, A30-24GB, T4, L4, A10, A40, L40S, V100-16GB, V100-32GB',
    ],
    [
      "time-slicing replicas of 1 do not also make the server's pool unknown",
      withServer(t4({ timeSlicing: { replicas: 1 } }), { replicas: 4 }),
      "gpuPools.t4.timeSlicing.replicas: 1 is not allowed; time-slicing replicas are a whole number ≥ 2 (remove gpuPools.t4.timeSlicing to not share)",
    ],
    [
      "MPS under mixed does not also make the server's pool unknown",
      minimalConfig({
        cluster: { migStrategy: "mixed" },
        gpuPools: { t4: t4({ mps: { replicas: 4 } }) },
        servers: { s: { pool: "t4" } },
      }),
      'gpuPools.t4.mps: the device plugin rejects MPS under the mixed MIG strategy this cluster uses; use timeSlicing on this pool or run MPS pools in a cluster with cluster.migStrategy "single"',
    ],
    [
      "an unplaceable layout does not also make per-profile time-slicing or the server wrong",
      minimalConfig({
        cluster: { migStrategy: "mixed" },
        gpuPools: {
          a100: a100({ mig: { profiles: { "3g.20gb": 2, "1g.5gb": 1 } }, timeSlicing: { replicas: { "1g.5gb": 2 } } }),
        },
        servers: { s: { pool: "a100", resource: "nvidia.com/mig-1g.5gb" } },
      }),
      'gpuPools.a100.mig.profiles: {"3g.20gb":2,"1g.5gb":1} has no legal placement on A100-SXM4-40GB (instances overlap on its 8 memory slices or exceed its 7 compute slices); remove an instance or use a named layout such as all-balanced',
    ],
    [
      "nodes.max 0 does not also compare min with it or ask to lower maxReplicas to 0",
      withServer(t4({ nodes: { min: 1, max: 0 }, timeSlicing: { replicas: 4 } }), { autoscaling: { maxReplicas: 4 } }),
      `gpuPools.t4.nodes.max: 0 is not allowed; use a whole number from 1 to 5000 ${NODES}`,
    ],
    [
      "a bad minReplicas is not also compared with maxReplicas",
      withServer(t4({ timeSlicing: { replicas: 4 } }), { autoscaling: { minReplicas: -3, maxReplicas: -5 } }),
      `servers.s.autoscaling.minReplicas: -3 is not allowed; use a whole number from 1 to 150000 ${PODS}\u0000servers.s.autoscaling.maxReplicas: -5 is not allowed; use a whole number from 1 to 150000 ${PODS}`,
    ],
    [
      "replicas beyond a cluster's pods are not also measured against the pool",
      withServer(t4(), { replicas: 1e9 }),
      `servers.s.replicas: 1000000000 is not allowed; use a whole number from 0 to 150000 ${PODS}`,
    ],
    [
      "disagreeing MIG strategies do not also judge a layout against one of them",
      minimalConfig({
        gpuPools: {
          a: a100({ mig: { layout: "all-1g.5gb", strategy: "single" } }),
          b: a100({ nodeSelector: { g: "b" }, mig: { layout: "all-balanced", strategy: "mixed" } }),
        },
        servers: { s: { pool: "b", resource: "nvidia.com/mig-1g.5gb" } },
      }),
      'MIG strategy: gpuPools.a.mig.strategy "single", gpuPools.b.mig.strategy "mixed" disagree, but the GPU operator applies one strategy to every node of a cluster; set the same value everywhere (or only cluster.migStrategy), and run the other shape as a separate stack',
    ],
    [
      "a server that does not fit alone is not also summed with the others",
      minimalConfig({
        gpuPools: { t4: t4({ timeSlicing: { replicas: 4 } }) },
        servers: { a: { pool: "t4", replicas: 5 }, b: { pool: "t4", replicas: 1 } },
      }),
      "servers.a.replicas: 5 pods of nvidia.com/gpu do not fit pool t4: at its 1 max node it advertises 4, 1 short; lower replicas to 4 or raise gpuPools.t4.nodes.max",
    ],
    [
      "an image that is not a reference is not also said to lack a tag",
      withServer(t4(), { image: "NVCR.io/NVIDIA/Triton" }),
      'servers.s.image: "NVCR.io/NVIDIA/Triton" is not an image reference: the registry and repository must be lowercase; use "nvcr.io/nvidia/triton"',
    ],
  ])("%s", (_, input, messages) => {
    expect(problemsOf(input)).toEqual(messages.split("\u0000"));
  });

  it("does not compare node-group names that are not DNS labels already", () => {
    expect(
      problemsOf(onOpenStack({}, { gpuPools: { Inference_a: t4({ flavor: "g" }), Inference_b: t4({ flavor: "g" }) } })),
    ).toEqual([
      'gpuPools: "Inference_a" is not a DNS-1123 label; use lowercase letters, digits and "-", at most 63 characters',
      'gpuPools: "Inference_b" is not a DNS-1123 label; use lowercase letters, digits and "-", at most 63 characters',
    ]);
  });

  it("keeps checking a pool's sharing when its node counts are wrong", () => {
    expect(
      problemsOf(minimalConfig({ gpuPools: { t4: t4({ nodes: { min: 2, max: 1 }, timeSlicing: { replicas: 1 } }) } })),
    ).toEqual([
      "gpuPools.t4.nodes: min 2 is greater than max 1; raise nodes.max or lower nodes.min",
      "gpuPools.t4.timeSlicing.replicas: 1 is not allowed; time-slicing replicas are a whole number ≥ 2 (remove gpuPools.t4.timeSlicing to not share)",
    ]);
  });
});

describe("the whole config of a stack", () => {
  const nfs = { "gpushare:modelStore": { nfs: { server: "10.0.0.5", path: "/models" } } };

  it("fails when a gpushare: key is unknown, and says nothing of what it might have meant", () => {
    expect(() => parseStackSettings({ config: { "gpushare:config": 42 }, secretKeys: new Set() })).toThrow(
      new StackConfigError([
        {
          path: "gpushare",
          reason: 'unknown key "config"; remove it or check the spelling against the README\'s config reference',
        },
      ]),
    );
  });

  it.each([
    ["gpushare:kubeconfig", "run pulumi config set --secret gpushare:kubeconfig < path/to/kubeconfig"],
    [
      "openstack:password",
      "run pulumi config set --secret openstack:password (it prompts for the value, which keeps it out of shell history), or remove it and export OS_PASSWORD",
    ],
    [
      "openstack:token",
      "run pulumi config set --secret openstack:token (it prompts for the value, which keeps it out of shell history), or remove it and export OS_TOKEN",
    ],
    [
      "openstack:applicationCredentialSecret",
      "run pulumi config set --secret openstack:applicationCredentialSecret (it prompts for the value, which keeps it out of shell history), or remove it and export OS_APPLICATION_CREDENTIAL_SECRET",
    ],
    [
      "openstack:key",
      "run pulumi config set --secret openstack:key (it prompts for the value, which keeps it out of shell history), or remove it and export OS_KEY",
    ],
  ])("fails when %s is in plain text", (key, fix) => {
    let error: unknown;
    try {
      parseStackSettings({ config: { ...nfs, [key]: "value" }, secretKeys: new Set() });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StackConfigError);
    expect((error as StackConfigError).problems.map(problemText)).toEqual([
      `${key}: a credential in plain text in the stack file; encrypt it: ${fix}`,
    ]);
  });

  it("reports plain-text credentials with the config's other problems", () => {
    expect(() =>
      parseStackSettings({ config: { "openstack:password": "p", "gpushare:foo": 1 }, secretKeys: new Set() }),
    ).toThrow(
      new StackConfigError(
        [
          "openstack:password: a credential in plain text in the stack file; encrypt it: run pulumi config set --secret openstack:password (it prompts for the value, which keeps it out of shell history), or remove it and export OS_PASSWORD",
          'gpushare: unknown key "foo"; remove it or check the spelling against the README\'s config reference',
        ].map(problemFromText),
      ),
    );
  });

  it("accepts secrets, never reads their values, and treats Pulumi.yaml's empty kubeconfig as unset", () => {
    const secret = parseStackSettings({
      config: { ...nfs, "gpushare:kubeconfig": "apiVersion: v1", "openstack:password": "p", "openstack:region": "r" },
      secretKeys: new Set(["gpushare:kubeconfig", "openstack:password"]),
    });
    expect(secret.raw.kubeconfig).toBe("(secret)");
    const unset = parseStackSettings({ config: { ...nfs, "gpushare:kubeconfig": "" }, secretKeys: new Set() });
    expect(unset.raw.kubeconfig).toBeUndefined();
  });
});

describe("what a stack leaves out", () => {
  it("is filled in with the documented defaults", () => {
    const config = parseStackConfig({
      cluster: {
        kind: "openstack",
        openstack: {
          template: {
            image: "ubuntu-2204-kube-v1.30.4",
            externalNetworkId: "public",
            masterFlavor: "m1",
            flavor: "m2",
          },
          nodeSubnetCidr: "10.0.0.0/24",
        },
      },
      gpuPools: {
        t4: { gpu: "T4", flavor: "g", nodes: { min: 1, max: 1 }, timeSlicing: { replicas: 4 } },
        v100: { gpu: "V100-16GB", flavor: "v", nodes: { min: 1, max: 1 }, mps: { replicas: 2 } },
      },
      modelStore: { manila: { sizeGiB: 10 } },
      servers: {
        a: { pool: "t4", service: { type: "ClusterIP" }, autoscaling: { maxReplicas: 2 } },
        b: { pool: "t4", service: { type: "NodePort" } },
        c: { pool: "v100" },
      },
    });
    const { models, ...seed } = config.raw.modelStore.seed;
    expect(models.map((m) => [m.name, m.files.map((f) => f.path)])).toEqual([
      ["densenet_onnx", ["config.pbtxt", "densenet_labels.txt", "1/model.onnx"]],
    ]);
    const triton = {
      image: "nvcr.io/nvidia/tritonserver:24.08-py3",
      replicas: 1,
      resources: { cpu: "1", memory: "4Gi" },
    };
    const service = { annotations: {}, exposeMetrics: false };
    expect({ ...config.raw, modelStore: { ...config.raw.modelStore, seed } }).toEqual({
      cluster: {
        kind: "openstack",
        maxPodsPerNode: 110,
        systemPodsPerNode: 16,
        openstack: {
          template: {
            image: "ubuntu-2204-kube-v1.30.4",
            externalNetworkId: "public",
            masterFlavor: "m1",
            flavor: "m2",
            coe: "kubernetes",
            networkDriver: "calico",
            labels: {},
          },
          masterCount: 1,
          workerCount: 1,
          nodeSubnetCidr: "10.0.0.0/24",
          createTimeoutMinutes: 60,
        },
      },
      gpuPools: {
        t4: {
          gpu: "T4",
          gpusPerNode: 1,
          nodes: { min: 1, max: 1 },
          flavor: "g",
          timeSlicing: { replicas: 4, renameByDefault: false, failRequestsGreaterThanOne: false },
          allocation: "devicePlugin",
        },
        v100: {
          gpu: "V100-16GB",
          gpusPerNode: 1,
          nodes: { min: 1, max: 1 },
          flavor: "v",
          mps: { replicas: 2, renameByDefault: false },
          allocation: "devicePlugin",
        },
      },
      modelStore: {
        manila: { sizeGiB: 10 },
        subPath: "",
        allowDestroy: false,
        seed: { enabled: true, image: "curlimages/curl:8.11.1" },
      },
      inference: { namespace: "inference" },
      gpuOperator: {
        installed: false,
        namespace: "gpu-operator",
        chartVersion: "v26.7.0",
        repository: "https://helm.ngc.nvidia.com/nvidia",
        driverEnabled: true,
        rebootOnMigChange: false,
        dcgmServiceMonitor: true,
        values: {},
      },
      draDriver: {
        featureGates: {},
        installed: false,
        namespace: "dra-driver-nvidia-gpu",
        chart: "oci://registry.k8s.io/dra-driver-nvidia/charts/dra-driver-nvidia-gpu",
        chartVersion: "0.5.0",
        values: {},
      },
      monitoring: {
        installed: false,
        namespace: "monitoring",
        chartVersion: "88.5.3",
        repository: "https://prometheus-community.github.io/helm-charts",
        grafana: { enabled: true },
        values: {},
      },
      metricsAdapter: {
        installed: false,
        namespace: "monitoring",
        chartVersion: "5.3.0",
        repository: "https://prometheus-community.github.io/helm-charts",
        metricName: "avg_time_queue_us",
        window: "30s",
        values: {},
      },
      servers: {
        a: {
          pool: "t4",
          ...triton,
          autoscaling: {
            minReplicas: 1,
            maxReplicas: 2,
            stopAtKnee: true,
            targetAverageValue: 50,
            scaleDown: { stabilizationWindowSeconds: 300, periodSeconds: 60 },
          },
          service: { type: "ClusterIP", ...service },
        },
        b: { pool: "t4", ...triton, service: { type: "NodePort", ...service } },
        c: { pool: "v100", ...triton, service: { type: "LoadBalancer", ...service } },
      },
      validation: { memoryOversubscription: "warn", kneeFraction: 0.1 },
    });
    expect(config.pools.map((p) => p.nodes.initial)).toEqual([1, 1]);
  });

  it("starts a pool of min 0 with one node", () => {
    const config = parseStackConfig(minimalConfig({ gpuPools: { t4: t4({ nodes: { min: 0, max: 2 } }) } }));
    expect(config.pools[0].nodes).toEqual({ min: 0, max: 2, initial: 1 });
  });
});

describe("the error", () => {
  it("counts and lists its problems", () => {
    const a = { path: "a", reason: "1" };
    expect(new StackConfigError([a, { path: "b", reason: "2" }]).message).toBe(
      "gpushare stack config has 2 problems:\n  - a: 1\n  - b: 2",
    );
    expect(new StackConfigError([a]).message).toBe("gpushare stack config has 1 problem:\n  - a: 1");
    expect(new StackConfigError([]).name).toBe("StackConfigError");
  });
});

describe("rules at their edges", () => {
  it.each<[string, unknown, string]>([
    [
      "a share's size is 0",
      { modelStore: { manila: { sizeGiB: 0, accessCidr: "10.0.0.0/24" } } },
      "modelStore.manila.sizeGiB: 0 is not allowed; Manila shares are whole GiB, from 1 to 1048576 (1 PiB, far past any model repository and Manila's default project quota of 1000 GiB)",
    ],
    [
      "a name starts as a DNS label and goes on as none",
      minimalConfig({ inference: { namespace: "inference_ns" } }),
      'inference.namespace: "inference_ns" is not a DNS-1123 label; use lowercase letters, digits and "-", at most 63 characters',
    ],
    ...["xy", "xw", "xd", "1.5m"].map((window): [string, unknown, string] => [
      `the window is ${window}`,
      minimalConfig({ metricsAdapter: { window } }),
      `metricsAdapter.window: "${window}" is not a Prometheus duration; use e.g. 30s, 1m or 1m30s`,
    ]),
    [
      "cluster.migStrategy and a pool's mig.strategy disagree",
      minimalConfig({
        cluster: { migStrategy: "mixed" },
        gpuPools: { a: a100({ mig: { layout: "all-1g.5gb", strategy: "single" } }) },
      }),
      'MIG strategy: cluster.migStrategy "mixed", gpuPools.a.mig.strategy "single" disagree, but the GPU operator applies one strategy to every node of a cluster; set the same value everywhere (or only cluster.migStrategy), and run the other shape as a separate stack',
    ],
    [
      "a server names a pool of several that does not exist",
      minimalConfig({
        gpuPools: { a: t4(), b: { gpu: "L4", nodes: { min: 1, max: 1 } } },
        servers: { s: { pool: "c" } },
      }),
      'servers.s.pool: "c" is not a pool of this stack; use one of a, b',
    ],
    [
      "a server's pool has MIG on and no instances",
      minimalConfig({
        cluster: { migStrategy: "mixed" },
        gpuPools: { a: a100({ mig: { layout: "all-enabled" } }) },
        servers: { s: { pool: "a" } },
      }),
      "servers.s.resource: pool a advertises no resources; name the one this server requests",
    ],
    [
      "a server requests a resource of a pool that advertises none",
      minimalConfig({
        cluster: { migStrategy: "mixed" },
        gpuPools: { a: a100({ mig: { layout: "all-enabled" } }) },
        servers: { s: { pool: "a", resource: "nvidia.com/gpu" } },
      }),
      'servers.s.resource: "nvidia.com/gpu" is not advertised by pool a (A100-SXM4-40GB, mig, MIG strategy mixed); use one of (none)',
    ],
  ])("fails when %s", (_, input, message) => {
    expect(problemsOf(input)).toEqual([message]);
  });

  it("accepts what sits on each edge", () => {
    const config = parseStackConfig(
      onOpenStack(template({ dockerVolumeSize: 1 }), {
        cluster: {
          kind: "openstack",
          openstack: { ...template({ dockerVolumeSize: 1 }), nodeSubnetCidr: "10.0.0.0/24", createTimeoutMinutes: 1 },
        },
        metricsAdapter: { window: "10y10w10d10h10m" },
        gpuPools: { "default-worker-x": t4({ flavor: "g", timeSlicing: { replicas: 4 } }) },
        servers: {
          a: { pool: "default-worker-x", replicas: 2 },
          b: { pool: "default-worker-x", replicas: 2, service: { type: "ClusterIP", exposeMetrics: true } },
        },
      }),
    );
    expect(config.raw.cluster.openstack?.createTimeoutMinutes).toBe(1);
    expect(config.servers.map((s) => s.maxReplicas)).toEqual([2, 2]);
    for (const window of ["1y", "1w", "52w", "1d"]) {
      expect(parseStackConfig(minimalConfig({ metricsAdapter: { window } })).raw.metricsAdapter.window).toBe(window);
    }
    expect(
      parseStackConfig(onOpenStack(template({ dockerVolumeSize: 50 }))).raw.cluster.openstack?.template
        ?.dockerVolumeSize,
    ).toBe(50);
    // Magnum's own node groups are a concern of OpenStack mode only.
    expect(parseStackConfig(minimalConfig({ gpuPools: { "default-worker": t4() } })).pools[0].name).toBe(
      "default-worker",
    );
  });

  it("names each pool's sharing and builds its spec from what the pool sets", () => {
    const config = parseStackConfig(
      minimalConfig({
        gpuPools: {
          l4: { gpu: "L4", nodes: { min: 1, max: 1 } },
          t4: t4({ timeSlicing: { replicas: 2 } }),
          a: a100({ mig: { layout: "all-1g.5gb" } }),
          b: {
            gpu: "A100-80GB",
            nodes: { min: 1, max: 1 },
            mig: { layout: "all-1g.10gb" },
            timeSlicing: { replicas: 2 },
          },
          v: { gpu: "V100-16GB", nodes: { min: 1, max: 1 }, mps: { replicas: 2 } },
        },
      }),
    );
    expect(config.pools.map((p) => [p.name, p.mode, Object.keys(p.sharing)])).toEqual([
      ["l4", "none", ["gpu", "gpusPerNode"]],
      ["t4", "timeSlicing", ["gpu", "gpusPerNode", "timeSlicing"]],
      ["a", "mig", ["gpu", "gpusPerNode", "mig"]],
      ["b", "mig+timeSlicing", ["gpu", "gpusPerNode", "mig", "timeSlicing"]],
      ["v", "mps", ["gpu", "gpusPerNode", "mps"]],
    ]);
  });

  it("takes the strategy a pool asks for when the cluster names none", () => {
    const config = parseStackConfig(
      minimalConfig({ gpuPools: { a: a100({ mig: { layout: "all-balanced", strategy: "mixed" } }) } }),
    );
    expect(config.migStrategy).toBe("mixed");
  });

  it("keeps checking servers on whole-GPU pools when the MIG strategies disagree", () => {
    expect(
      problemsOf(
        minimalConfig({
          cluster: { migStrategy: "mixed" },
          gpuPools: { a: a100({ mig: { layout: "all-1g.5gb", strategy: "single" } }), t4: t4() },
          servers: { s: { pool: "t4", replicas: 2 } },
        }),
      ),
    ).toEqual([
      'MIG strategy: cluster.migStrategy "mixed", gpuPools.a.mig.strategy "single" disagree, but the GPU operator applies one strategy to every node of a cluster; set the same value everywhere (or only cluster.migStrategy), and run the other shape as a separate stack',
      "servers.s.replicas: 2 pods of nvidia.com/gpu do not fit pool t4: at its 1 max node it advertises 1, 1 short; lower replicas to 1 or raise gpuPools.t4.nodes.max",
    ]);
  });

  it("does not measure replicas that are not a count against the pool, with autoscaling too", () => {
    expect(problemsOf(minimalConfig(server({ replicas: 1e9, autoscaling: { maxReplicas: 2 } })))).toEqual([
      `servers.s.replicas: 1000000000 is not allowed; use a whole number from 0 to 150000 ${PODS}`,
    ]);
  });

  it("accepts an autoscaler whose minimum is its maximum", () => {
    const config = parseStackConfig(minimalConfig(server({ autoscaling: { minReplicas: 2, maxReplicas: 2 } })));
    expect(config.servers.map((s) => [s.minReplicas, s.maxReplicas])).toEqual([[2, 2]]);
  });

  it("resolves a server's replicas, and the minimum its autoscaler keeps", () => {
    const config = parseStackConfig(
      minimalConfig({
        gpuPools: { t4: t4({ timeSlicing: { replicas: 4 } }) },
        servers: { a: { pool: "t4", replicas: 2, autoscaling: { minReplicas: 1, maxReplicas: 3 } } },
      }),
    );
    expect(config.servers.map((s) => [s.replicas, s.minReplicas, s.maxReplicas])).toEqual([[2, 1, 3]]);
  });

  // A T4 holds 15079 MiB; the Turing overhead is 502 MiB; the MPS server takes 66 MiB.
  const T4_GIB = 15079 / 1024;
  const TURING_OVERHEAD_GIB = 502 / 1024;
  const MPS_SERVER_GIB = 66 / 1024;
  it.each<[string, Record<string, unknown>, number]>([
    ["a model that fills a whole GPU with its overhead exactly", t4(), T4_GIB - TURING_OVERHEAD_GIB],
    [
      "a model that fills its MPS share exactly",
      t4({ mps: { replicas: 4 } }),
      (T4_GIB - MPS_SERVER_GIB) / 4 - TURING_OVERHEAD_GIB,
    ],
    ["a small model on an MPS GPU", t4({ mps: { replicas: 4 } }), 1],
    [
      "time-sliced replicas that fill the GPU exactly",
      t4({ timeSlicing: { replicas: 4 } }),
      T4_GIB / 4 - TURING_OVERHEAD_GIB,
    ],
  ])("does not warn about memory for %s", (_, pool, modelMemoryGiB) => {
    const config = parseStackConfig(
      minimalConfig({ gpuPools: { t4: pool }, servers: { s: { pool: "t4", modelMemoryGiB } } }),
    );
    expect(config.warnings).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, number]>([
    ["a whole GPU", t4(), T4_GIB - TURING_OVERHEAD_GIB],
    ["an MPS share", t4({ mps: { replicas: 4 } }), (T4_GIB - MPS_SERVER_GIB) / 4 - TURING_OVERHEAD_GIB],
  ])("refuses a model 1 MiB larger than %s holds", (_, pool, fill) => {
    const problems = problemsOf(
      minimalConfig({ gpuPools: { t4: pool }, servers: { s: { pool: "t4", modelMemoryGiB: fill + 1 / 1024 } } }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^servers\.s\.modelMemoryGiB: .* (does not fit|exceeds)/);
  });

  it("warns about time-sliced replicas 1 MiB over the GPU", () => {
    const config = parseStackConfig(
      minimalConfig({
        gpuPools: { t4: t4({ timeSlicing: { replicas: 4 } }) },
        servers: { s: { pool: "t4", modelMemoryGiB: T4_GIB / 4 - TURING_OVERHEAD_GIB + 1 / 1024 } },
      }),
    );
    expect(config.warnings).toHaveLength(1);
  });

  it("warns only where seeding is the only source of models: a new Manila share", () => {
    const config = parseStackConfig(
      minimalConfig({ gpuPools: { t4: t4() }, servers: { s: { pool: "t4", models: ["resnet50"] } } }),
    );
    expect(config.warnings).toEqual([]);
  });

  it("warns of every autoscaled pool on a template without Magnum's autoscaler, and of none with a template id", () => {
    const pools = {
      t4: t4({ flavor: "g", nodes: { min: 1, max: 3 } }),
      l4: { gpu: "L4", flavor: "l", nodes: { min: 0, max: 2 } },
    };
    expect(parseStackConfig(onOpenStack(template(), { gpuPools: pools })).warnings).toEqual([
      'cluster.openstack.template.labels.auto_scaling_enabled: not "true", so Magnum runs no cluster autoscaler and gpuPools.t4, gpuPools.l4 stay at nodes.initial; set auto_scaling_enabled: "true" or make nodes.min equal nodes.max',
    ]);
    expect(parseStackConfig(onOpenStack({}, { gpuPools: pools })).warnings).toEqual([]);
  });

  it("accepts every optional key spelled out", () => {
    const config = parseStackConfig({
      cluster: {
        kind: "openstack",
        openstack: { ...template({ coe: "kubernetes" }), nodeSubnetCidr: "10.0.0.0/24" },
      },
      modelStore: {
        manila: { sizeGiB: 10, shareType: "default", shareNetworkId: "net-1234", availabilityZone: "nova-az1" },
        seed: { models: [{ name: "resnet50", files: [{ path: "config.pbtxt", url: "https://example.com/c" }] }] },
      },
      servers: {},
      validation: { memoryOversubscription: "warn" },
    });
    expect(config.raw.modelStore.manila?.availabilityZone).toBe("nova-az1");
    const existing = parseStackConfig(
      minimalConfig({
        cluster: { existing: { context: "admin@cluster" } },
        gpuPools: { t4: t4() },
        servers: { s: { pool: "t4", service: { type: "LoadBalancer" } } },
      }),
    );
    expect(existing.raw.cluster.existing?.context).toBe("admin@cluster");
  });

  it("lets an error that is not a config problem through, as the bug it is", () => {
    const servers = Object.defineProperty({}, "s", {
      enumerable: true,
      get() {
        throw new TypeError("boom");
      },
    });
    expect(() => parseStackSettings({ config: { "gpushare:servers": servers }, secretKeys: new Set() })).toThrow(
      new TypeError("boom"),
    );
  });

  it("accepts two servers that fill their pool's resource exactly", () => {
    const config = parseStackConfig(
      minimalConfig({
        gpuPools: { t4: t4({ timeSlicing: { replicas: 4 } }) },
        servers: { a: { pool: "t4", replicas: 2 }, b: { pool: "t4", replicas: 2 } },
      }),
    );
    expect(config.servers.map((s) => s.name)).toEqual(["a", "b"]);
  });
});

describe("servers' rules at their edges", () => {
  it("fails when a server's memory request is not a quantity", () => {
    expect(
      problemsOf(
        minimalConfig({ gpuPools: { t4: t4() }, servers: { s: { pool: "t4", resources: { memory: "lots" } } } }),
      ),
    ).toEqual([
      'servers.s.resources.memory: "lots" is not a Kubernetes quantity; use a number with an optional suffix (Ki, Mi, Gi, m, k, M, G, ...), e.g. "4Gi"',
    ]);
  });

  it("accepts replicas equal to the autoscaler's maximum", () => {
    const config = parseStackConfig(
      minimalConfig({
        gpuPools: { t4: t4({ timeSlicing: { replicas: 4 } }) },
        servers: { s: { pool: "t4", replicas: 2, autoscaling: { maxReplicas: 2 } } },
      }),
    );
    expect(config.servers.map((s) => [s.replicas, s.maxReplicas])).toEqual([[2, 2]]);
  });

  it("counts the MPS server in the most MPS clients it suggests", () => {
    // A third of the T4 fits 3 replicas by memory alone, only 2 once the MPS server's 66 MiB are taken.
    const modelMemoryGiB = 15079 / 1024 / 3 - 502 / 1024;
    expect(
      problemsOf(
        minimalConfig({
          gpuPools: { t4: t4({ mps: { replicas: 4 } }) },
          servers: { s: { pool: "t4", modelMemoryGiB } },
        }),
      ),
    ).toEqual([
      "servers.s.modelMemoryGiB: 4.42 GiB model + 0.49 GiB per-replica overhead (the turing default: CUDA context, libraries, Triton's pool) = 4.91 GiB exceeds the 3.67 GiB each of 4 MPS clients can count on ((14.73 GiB of T4 − 0.06 GiB MPS server) ÷ 4; the device plugin enforces each client's share); lower gpuPools.t4.mps.replicas to at most 2, or use MIG slices large enough for the model",
    ]);
  });
});
