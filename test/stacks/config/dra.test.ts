import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../../stacks/config/parse";
import { configuredPool, poolNodeLabels } from "../../../components/k8s/gpu-operator-values";
import { draDriverArgs, gpuOperatorSettings, tritonServerSpec } from "../../../stacks/args";
import { minimalConfig, problemsOf } from "../../support/config";

/** DRA pools (`allocation: dra`): what they offer, and every refusal, in its exact words. */

const TS_GATES = { TimeSlicingSettings: true, ConsumableShares: true };

function dra(
  pools: Record<string, Record<string, unknown>>,
  extra: Record<string, unknown> = {},
  kubernetesVersion = "1.36",
): Record<string, unknown> {
  const gpuPools = Object.fromEntries(
    Object.entries(pools).map(([n, p]) => [n, { nodes: { min: 1, max: 2 }, allocation: "dra", ...p }]),
  );
  return minimalConfig({ cluster: { kubernetesVersion }, gpuPools, ...extra });
}

describe("a DRA pool", () => {
  it("offers its MIG devices by DeviceClass and profile, whatever the cluster's MIG strategy", () => {
    const config = parseStackConfig(
      dra({ h200: { gpu: "H200-141GB", mig: { profiles: { "1g.18gb": 3, "2g.35gb": 2 } } } }),
    );
    const pool = config.pools[0];
    expect(pool.allocation).toBe("dra");
    expect(config.migStrategy).toBe("single");
    expect(pool.perNode).toEqual({ "mig.nvidia.com/1g.18gb": 3, "mig.nvidia.com/2g.35gb": 2 });
    expect(pool.atMaxNodes).toEqual({ "mig.nvidia.com/1g.18gb": 6, "mig.nvidia.com/2g.35gb": 4 });
    expect(pool.draConsumableShares).toBeUndefined();
  });

  it("offers a time-sliced GPU as its consumable shares, which every DRA pool's devices then carry", () => {
    const config = parseStackConfig(
      dra(
        { t4: { gpu: "T4", timeSlicing: { replicas: 4 } }, l4: { gpu: "L4" } },
        { draDriver: { featureGates: TS_GATES } },
      ),
    );
    expect(config.pools.map((p) => [p.name, p.perNode, p.draConsumableShares])).toEqual([
      ["t4", { "gpu.nvidia.com": 4 }, 4],
      ["l4", { "gpu.nvidia.com": 1 }, 4],
    ]);
  });

  it("takes the Kubernetes version from the Magnum template's kube_tag in OpenStack mode", () => {
    const problems = problemsOf(
      minimalConfig({
        cluster: {
          kind: "openstack",
          openstack: {
            nodeSubnetCidr: "10.0.0.0/24",
            template: {
              image: "ubuntu-2204",
              externalNetworkId: "ext",
              masterFlavor: "m1",
              flavor: "m1",
              labels: { kube_tag: "v1.30.4" },
            },
          },
        },
        gpuPools: { t4: { gpu: "T4", flavor: "g1", nodes: { min: 1, max: 1 }, allocation: "dra" } },
      }),
    );
    expect(problems).toContain(
      `cluster.openstack.template.labels.kube_tag: "v1.30.4" is not allowed with allocation "dra" (gpuPools.t4); resource.k8s.io/v1, which the claims use, is GA from Kubernetes 1.34; upgrade the cluster to 1.34 or later, or set their allocation to "devicePlugin"`,
    );
  });

  it("runs MPS on MIG devices, which the device plugin refuses", () => {
    const config = parseStackConfig(
      dra(
        { h200: { gpu: "H200-141GB", mig: { layout: "all-1g.18gb" }, mps: { replicas: 4 } } },
        { draDriver: { featureGates: { MPSSupport: true } } },
      ),
    );
    expect(config.pools[0].perNode).toEqual({ "mig.nvidia.com/1g.18gb": 28 });
  });

  it("turns the operator's device plugin off on the pool's nodes, and only there", () => {
    const config = parseStackConfig({
      ...dra({ h100: { gpu: "H100-80GB" } }),
      gpuPools: {
        h100: { gpu: "H100-80GB", nodes: { min: 1, max: 1 }, allocation: "dra" },
        t4: { gpu: "T4", nodes: { min: 1, max: 1 } },
      },
    });
    const pools = gpuOperatorSettings(config).pools;
    expect(pools.map((p) => [p.name, p.allocation])).toEqual([
      ["h100", "dra"],
      ["t4", undefined],
    ]);
    const labels = pools.map((p) => poolNodeLabels(configuredPool(p, config.migStrategy)));
    expect(labels.map((l) => l["nvidia.com/gpu.deploy.device-plugin"])).toEqual(["false", undefined]);
    // What the DRA driver's kubelet plugin selects: only the DRA pool's nodes.
    expect(labels.map((l) => l["gpushare.io/gpu-allocation"])).toEqual(["dra", undefined]);
  });

  it("gives the driver's release its gates and the time-sliced pools' replicas as consumable shares", () => {
    const config = parseStackConfig(
      dra({ t4: { gpu: "T4", timeSlicing: { replicas: 4 } } }, { draDriver: { featureGates: TS_GATES } }),
    );
    expect(draDriverArgs(config)).toEqual({
      installed: false,
      namespace: "dra-driver-nvidia-gpu",
      chart: "oci://registry.k8s.io/dra-driver-nvidia/charts/dra-driver-nvidia-gpu",
      chartVersion: "0.5.0",
      featureGates: TS_GATES,
      consumableShares: 4,
      values: {},
    });
    expect(draDriverArgs(parseStackConfig(minimalConfig()))).toBeUndefined();
  });

  it("refuses driver values gpushare sets itself, naming the key to use", () => {
    const problems = problemsOf(
      dra(
        { t4: { gpu: "T4" } },
        { draDriver: { values: { consumableShares: "8", resources: { gpus: { enabled: false } } } } },
      ),
    );
    expect(problems).toEqual([
      "draDriver.values.consumableShares: gpushare sets this value itself; remove it and use the replicas of the time-sliced DRA pools (gpuPools.<pool>.timeSlicing.replicas)",
      "draDriver.values.resources.gpus.enabled: gpushare sets this value itself; remove it and use gpuPools.<pool>.allocation (GPU allocation is on while a pool allocates through DRA)",
    ]);
  });

  it("hands its servers the driver's consumable shares", () => {
    const config = parseStackConfig(
      dra(
        { t4: { gpu: "T4", timeSlicing: { replicas: 4 } } },
        { draDriver: { featureGates: TS_GATES }, servers: { s: { pool: "t4", replicas: 8 } } },
      ),
    );
    expect(config.servers[0].resource).toBe("gpu.nvidia.com");
    expect(tritonServerSpec(config.servers[0]).dra).toEqual({ consumableShares: 4 });
  });

  it("warns that driver gates without a DRA pool are ignored", () => {
    const config = parseStackConfig(minimalConfig({ draDriver: { featureGates: { MPSSupport: true } } }));
    expect(config.warnings).toEqual([`draDriver.featureGates: ignored, since no pool has allocation "dra"`]);
  });

  it("warns that driver values without a DRA pool are ignored", () => {
    const config = parseStackConfig(minimalConfig({ draDriver: { values: { logVerbosity: "6" } } }));
    expect(config.warnings).toEqual([`draDriver.values: ignored, since no pool has allocation "dra"`]);
  });
});

describe("DRA refusals", () => {
  it("fails when the cluster's Kubernetes version is not known", () => {
    expect(
      problemsOf(minimalConfig({ gpuPools: { t4: { gpu: "T4", nodes: { min: 1, max: 1 }, allocation: "dra" } } })),
    ).toEqual([
      `cluster.kubernetesVersion: missing; gpuPools.t4 allocate through DRA, whose resource.k8s.io/v1 API needs Kubernetes 1.34 or later; set cluster.kubernetesVersion to the cluster's version (e.g. "1.36")`,
    ]);
  });

  it.each([
    [
      "the version is below 1.34",
      dra({ t4: { gpu: "T4" } }, {}, "1.33"),
      `cluster.kubernetesVersion: "1.33" is not allowed with allocation "dra" (gpuPools.t4); resource.k8s.io/v1, which the claims use, is GA from Kubernetes 1.34; upgrade the cluster to 1.34 or later, or set their allocation to "devicePlugin"`,
    ],
    [
      "the version is no version",
      dra({ t4: { gpu: "T4" } }, {}, "latest"),
      `cluster.kubernetesVersion: "latest" is not allowed; it is not a Kubernetes version; give major.minor as the API server reports it (e.g. "1.36" or "v1.36.1")`,
    ],
    [
      "consumable shares need a Kubernetes without consumable capacity on",
      dra({ t4: { gpu: "T4", timeSlicing: { replicas: 4 } } }, { draDriver: { featureGates: TS_GATES } }, "1.35"),
      `cluster.kubernetesVersion: "1.35" is not allowed with the time-sliced DRA pool gpuPools.t4; consumable capacity (DRAConsumableCapacity), through which claims share a device, is beta and on by default from Kubernetes 1.36; upgrade the cluster, or set gpuPools.t4.allocation to "devicePlugin"`,
    ],
    [
      "time-slicing lacks the TimeSlicingSettings gate",
      dra(
        { t4: { gpu: "T4", timeSlicing: { replicas: 4 } } },
        { draDriver: { featureGates: { ConsumableShares: true } } },
      ),
      `gpuPools.t4.timeSlicing: {"replicas":4} is not allowed on a DRA pool while draDriver.featureGates.TimeSlicingSettings is off; the driver refuses the "TimeSlicing" strategy without that (alpha) gate; set draDriver.featureGates.TimeSlicingSettings: true, or set gpuPools.t4.allocation to "devicePlugin"`,
    ],
    [
      "time-slicing replicas lack the ConsumableShares gate",
      dra(
        { t4: { gpu: "T4", timeSlicing: { replicas: 4 } } },
        { draDriver: { featureGates: { TimeSlicingSettings: true } } },
      ),
      `gpuPools.t4.timeSlicing.replicas: 4 is not allowed on a DRA pool while draDriver.featureGates.ConsumableShares is off; DRA has no replicas: the pods of a Deployment share a GPU only as its consumable shares (the driver's alpha ConsumableShares gate, --consumable-shares=4); set draDriver.featureGates.ConsumableShares: true, or set gpuPools.t4.allocation to "devicePlugin"`,
    ],
    [
      "time-slicing replicas differ per MIG profile",
      dra(
        {
          a100: {
            gpu: "A100-SXM4-40GB",
            mig: { layout: "all-balanced" },
            timeSlicing: { replicas: { "1g.5gb": 4, "2g.10gb": 2 } },
          },
        },
        { draDriver: { featureGates: TS_GATES } },
      ),
      `gpuPools.a100.timeSlicing.replicas: {"1g.5gb":4,"2g.10gb":2} is not allowed on a DRA pool; the driver gives every device of its nodes the same number of consumable shares, so give one number (e.g. replicas: 4), or set gpuPools.a100.allocation to "devicePlugin"`,
    ],
    [
      "time-sliced DRA pools differ in replicas",
      dra(
        { t4: { gpu: "T4", timeSlicing: { replicas: 4 } }, l4: { gpu: "L4", timeSlicing: { replicas: 2 } } },
        { draDriver: { featureGates: TS_GATES } },
      ),
      `gpuPools: time-slicing replicas 4 (gpuPools.t4), 2 (gpuPools.l4) are not allowed together on DRA pools; the driver's kubelet plugin takes one --consumable-shares for every node it runs on; use the same replicas on every time-sliced DRA pool, or move some to allocation "devicePlugin"`,
    ],
    [
      "a device plugin setting is given",
      dra(
        { t4: { gpu: "T4", timeSlicing: { replicas: 4, renameByDefault: true } } },
        { draDriver: { featureGates: TS_GATES } },
      ),
      `gpuPools.t4.timeSlicing.renameByDefault: true is not allowed on a DRA pool; it shapes the device plugin's extended resources, which claims do not use; remove it`,
    ],
    [
      "MPS lacks the MPSSupport gate",
      dra({ h100: { gpu: "H100-80GB", mps: { replicas: 4 } } }),
      `gpuPools.h100.mps: {"replicas":4} is not allowed on a DRA pool while draDriver.featureGates.MPSSupport is off; the driver refuses the "MPS" strategy without that (alpha) gate; set draDriver.featureGates.MPSSupport: true, or set gpuPools.h100.allocation to "devicePlugin"`,
    ],
    [
      "MPS meets consumable shares",
      dra(
        { h100: { gpu: "H100-80GB", mps: { replicas: 4 } }, t4: { gpu: "T4", timeSlicing: { replicas: 4 } } },
        { draDriver: { featureGates: { ...TS_GATES, MPSSupport: true } } },
      ),
      `gpuPools.h100.mps: {"replicas":4} is not allowed while the time-sliced DRA pools gpuPools.t4 turn the driver's consumable shares on; the driver refuses MPS sharing when consumable shares is enabled; time-slice gpuPools.h100 too, or move gpuPools.t4 or gpuPools.h100 to allocation "devicePlugin"`,
    ],
    [
      "dynamic MIG meets MPS",
      dra({ h100: { gpu: "H100-80GB" } }, { draDriver: { featureGates: { DynamicMIG: true, MPSSupport: true } } }),
      `draDriver.featureGates: DynamicMIG and MPSSupport both on is not allowed; the driver refuses to start with them (feature gate DynamicMIG is currently mutually exclusive with MPSSupport); turn one of them off`,
    ],
    [
      "dynamic MIG meets passthrough",
      dra(
        { h100: { gpu: "H100-80GB" } },
        { draDriver: { featureGates: { DynamicMIG: true, PassthroughSupport: true } } },
      ),
      `draDriver.featureGates: DynamicMIG and PassthroughSupport both on is not allowed; the driver refuses to start with them (feature gate DynamicMIG is currently mutually exclusive with PassthroughSupport); turn one of them off`,
    ],
    [
      "dynamic MIG meets NVML health checks",
      dra(
        { h100: { gpu: "H100-80GB" } },
        { draDriver: { featureGates: { DynamicMIG: true, NVMLDeviceHealthCheck: true } } },
      ),
      `draDriver.featureGates: DynamicMIG and NVMLDeviceHealthCheck both on is not allowed; the driver refuses to start with them (feature gate DynamicMIG is currently mutually exclusive with NVMLDeviceHealthCheck); turn one of them off`,
    ],
    [
      "passthrough meets NVML health checks",
      dra(
        { h100: { gpu: "H100-80GB" } },
        { draDriver: { featureGates: { PassthroughSupport: true, NVMLDeviceHealthCheck: true } } },
      ),
      `draDriver.featureGates: PassthroughSupport and NVMLDeviceHealthCheck both on is not allowed; the driver refuses to start with them (feature gate PassthroughSupport is currently mutually exclusive with NVMLDeviceHealthCheck); turn one of them off`,
    ],
    [
      "device metadata lacks passthrough",
      dra({ h100: { gpu: "H100-80GB" } }, { draDriver: { featureGates: { DeviceMetadata: true } } }),
      `draDriver.featureGates: DeviceMetadata on with PassthroughSupport off is not allowed; the driver refuses to start (feature gate DeviceMetadata requires PassthroughSupport to also be enabled); turn PassthroughSupport on or DeviceMetadata off`,
    ],
    [
      "compute domain cliques lack DNS names",
      dra({ h100: { gpu: "H100-80GB" } }, { draDriver: { featureGates: { IMEXDaemonsWithDNSNames: false } } }),
      `draDriver.featureGates: ComputeDomainCliques on with IMEXDaemonsWithDNSNames off is not allowed; the driver refuses to start (feature gate ComputeDomainCliques requires IMEXDaemonsWithDNSNames to also be enabled); turn IMEXDaemonsWithDNSNames on or ComputeDomainCliques off`,
    ],
    [
      "a gate is unknown",
      dra({ h100: { gpu: "H100-80GB" } }, { draDriver: { featureGates: { MpsSupport: true } } }),
      `draDriver.featureGates.MpsSupport: "MpsSupport" is not allowed; it is not a feature gate of NVIDIA's DRA driver 0.5.0; use one of TimeSlicingSettings, MPSSupport, IMEXDaemonsWithDNSNames, PassthroughSupport, NVMLDeviceHealthCheck, DynamicMIG, ComputeDomainCliques, CrashOnNVLinkFabricErrors, DeviceMetadata, FabricManagerPartitioning, HostManagedIMEXDaemon, DRAListTypeAttributes, ConsumableShares, ContextualLogging, LoggingAlphaOptions, LoggingBetaOptions`,
    ],
    [
      "an MPS server's pods outnumber one device's clients",
      dra(
        { h100: { gpu: "H100-80GB", mps: { replicas: 4 } } },
        {
          draDriver: { featureGates: { MPSSupport: true } },
          servers: { s: { pool: "h100", autoscaling: { maxReplicas: 6 } } },
        },
      ),
      `servers.s.autoscaling.maxReplicas: 6 is not allowed on gpuPools.h100 (DRA, MPS 4); the driver starts MPS per claim, so every pod of the server references one ResourceClaim and shares its one device: at most 4 pods; lower autoscaling.maxReplicas to 4, or time-slice the pool`,
    ],
  ])("fails when %s", (_, input, message) => {
    expect(problemsOf(input)).toEqual([message]);
  });

  it("leaves device-plugin pools as they were: MPS on MIG is still refused there", () => {
    const problems = problemsOf(
      minimalConfig({
        gpuPools: {
          h200: { gpu: "H200-141GB", nodes: { min: 1, max: 1 }, mig: { layout: "all-1g.18gb" }, mps: { replicas: 4 } },
        },
      }),
    );
    expect(problems[0]).toMatch(/^gpuPools\.h200\.mps: MPS does not run on MIG devices/);
  });
});

describe("DRA refusals, one at a time", () => {
  it("names every DRA pool when the version is missing, and says nothing of consumable capacity then", () => {
    const missing = (pools: string) =>
      `cluster.kubernetesVersion: missing; ${pools} allocate through DRA, whose resource.k8s.io/v1 API needs Kubernetes 1.34 or later; set cluster.kubernetesVersion to the cluster's version (e.g. "1.36")`;
    const pools = (p: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(p).map(([n, v]) => [n, { nodes: { min: 1, max: 1 }, allocation: "dra", ...(v as object) }]),
      );
    expect(problemsOf(minimalConfig({ gpuPools: pools({ a: { gpu: "T4" }, b: { gpu: "L4" } }) }))).toEqual([
      missing("gpuPools.a, gpuPools.b"),
    ]);
    expect(
      problemsOf(
        minimalConfig({
          gpuPools: pools({ t4: { gpu: "T4", timeSlicing: { replicas: 4 } } }),
          draDriver: { featureGates: TS_GATES },
        }),
      ),
    ).toEqual([missing("gpuPools.t4")]);
  });

  it("says only that an unreadable version is unreadable, even for a time-sliced pool", () => {
    expect(
      problemsOf(
        dra({ t4: { gpu: "T4", timeSlicing: { replicas: 4 } } }, { draDriver: { featureGates: TS_GATES } }, "latest"),
      ),
    ).toEqual([
      `cluster.kubernetesVersion: "latest" is not allowed; it is not a Kubernetes version; give major.minor as the API server reports it (e.g. "1.36" or "v1.36.1")`,
    ]);
  });

  it("refuses the device plugin's renameByDefault on an MPS DRA pool", () => {
    expect(
      problemsOf(
        dra(
          { t4: { gpu: "T4", mps: { replicas: 2, renameByDefault: true } } },
          { draDriver: { featureGates: { MPSSupport: true } } },
        ),
      ),
    ).toEqual([
      "gpuPools.t4.mps.renameByDefault: true is not allowed on a DRA pool; it shapes the device plugin's extended resources, which claims do not use; remove it",
    ]);
  });

  it("reports a pool with both timeSlicing and mps once, as MPS, not also as a time-sliced DRA pool", () => {
    expect(
      problemsOf(
        dra(
          { t4: { gpu: "T4", mps: { replicas: 2 }, timeSlicing: { replicas: 4 } } },
          { draDriver: { featureGates: { MPSSupport: true } } },
        ),
      ),
    ).toEqual([
      "gpuPools.t4: both timeSlicing and mps are set and the device plugin would silently use MPS; keep one of gpuPools.t4.timeSlicing or gpuPools.t4.mps",
    ]);
  });

  it("leaves an MPS server on a device-plugin pool free to spread over the pool's GPUs", () => {
    const config = parseStackConfig(
      minimalConfig({
        gpuPools: { t4: { gpu: "T4", nodes: { min: 1, max: 2 }, mps: { replicas: 2 } } },
        servers: { s: { pool: "t4", replicas: 4 } },
      }),
    );
    expect(config.servers[0].maxReplicas).toBe(4);
  });

  it("lets an MPS server run exactly as many pods as the device's clients", () => {
    const config = parseStackConfig(
      dra(
        { t4: { gpu: "T4", mps: { replicas: 2 } } },
        { draDriver: { featureGates: { MPSSupport: true } }, servers: { s: { pool: "t4", replicas: 2 } } },
      ),
    );
    expect(config.servers[0].maxReplicas).toBe(2);
  });

  it("shortens a long value it quotes", () => {
    const replicas = { "1g.18gb": 2, "1g.18gb+me": 2, "1g.35gb": 2, "2g.35gb": 2, "3g.71gb": 2, "4g.71gb": 2 };
    const problems = problemsOf(
      dra({ h: { gpu: "H200-141GB", mig: { profiles: { "1g.18gb": 1 } }, timeSlicing: { replicas } } }),
    );
    const gate = problems.find((p) => p.includes("TimeSlicingSettings is off")) ?? "";
    // 77 characters of the JSON, then an ellipsis.
    expect(gate).toMatch(
      /^gpuPools\.h\.timeSlicing: \{"replicas":\{"1g\.18gb":2,"1g\.18gb\+me":2,"1g\.35gb":2,"2g\.35gb":2,"3g\.71gb":2,"… is not allowed /,
    );
  });
});
