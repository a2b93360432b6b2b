import type { DeviceKind } from "../../planner/shapes";
import { describe, expect, it } from "vitest";
import type { GpuModel } from "../../gpu/catalog";
import { findGpuModel } from "../../gpu/catalog";
import { placeMigLayout } from "../../gpu/placement";
import type { Plan } from "../../planner/plan";
import { PlanError, planLayouts } from "../../planner/plan";
import { parseWorkloads } from "../../planner/input";
import type { WorkloadServer } from "../../planner/input";
import { homogeneousLayouts, mixedLayouts, sharingLimit } from "../../planner/shapes";
import { problemText } from "../../problems";
import { H200_RESNET50_BATCH1 } from "../../gpu/measured-curves";
import type { SharingCurve } from "../../gpu/sharing-curve";

function model(name: string): GpuModel {
  const m = findGpuModel(name);
  if (m === undefined) throw new Error(`no ${name}`);
  return m;
}

const a100 = model("A100-SXM4-40GB");
const A100 = { costPerNode: 3.2, maxNodes: 2 };
const T4 = { costPerNode: 0.55, maxNodes: 4 };

function plan(raw: unknown): Promise<Plan> {
  return planLayouts(parseWorkloads(raw));
}

/** What one pool advertises at its max nodes, resource by resource. */
function advertised(p: Plan, pool: string): Record<string, number> {
  const found = p.pools.find((x) => x.name === pool);
  if (found === undefined) throw new Error(`no pool ${pool} in ${p.pools.map((x) => x.name).join(", ")}`);
  return Object.fromEntries(found.resources.map((r) => [r.resource, r.advertised]));
}

async function planError(raw: unknown): Promise<readonly string[]> {
  try {
    await plan(raw);
  } catch (e) {
    if (e instanceof PlanError) return e.problems.map(problemText);
    throw e;
  }
  throw new Error("planned");
}

describe("the write-up's workloads", () => {
  it("7 isolated replicas of a small model get an A100 cut into 7 × 1g.5gb: one GPU, as the write-up", async () => {
    const p = await plan({
      migStrategy: "single",
      gpus: { "A100-SXM4-40GB": A100 },
      servers: { densenet: { modelMemoryGiB: 0.5, maxReplicas: 7, isolation: "full" } },
    });
    expect(p.gpus).toBe(1);
    expect(p.cost).toBe(3.2);
    expect(p.pools).toHaveLength(1);
    expect(p.pools[0]).toMatchObject({ migProfiles: { "1g.5gb": 7 }, nodes: { min: 1, max: 1 } });
    expect(p.pools[0].timeSlicing).toBeUndefined();
    expect(advertised(p, "a100-sxm4-40gb")).toEqual({ "nvidia.com/gpu": 7 });
    expect(p.servers).toMatchObject([{ name: "densenet", resource: "nvidia.com/gpu", sharing: "none" }]);
    expect(p.provenOptimal).toBe(true);
  });

  it("under the mixed strategy the same slices are nvidia.com/mig-1g.5gb", async () => {
    const p = await plan({
      migStrategy: "mixed",
      gpus: { "A100-SXM4-40GB": A100 },
      servers: { densenet: { modelMemoryGiB: 0.5, maxReplicas: 7, isolation: "full" } },
    });
    expect(p.migStrategy).toBe("mixed");
    expect(advertised(p, "a100-sxm4-40gb")).toEqual({ "nvidia.com/mig-1g.5gb": 7 });
  });

  it("14 shared replicas get one T4 time-sliced 14 ways, as the write-up", async () => {
    const p = await plan({
      gpus: { T4 },
      servers: { densenet: { modelMemoryGiB: 0.5, maxReplicas: 14, isolation: "shared" } },
    });
    expect(p.gpus).toBe(1);
    expect(p.cost).toBe(0.55);
    expect(p.pools[0]).toMatchObject({ timeSlicing: 14, nodes: { max: 1 } });
    expect(advertised(p, "t4")).toEqual({ "nvidia.com/gpu": 14 });
    // A T4 holds 15079 MiB; each replica pays the Turing overhead (502 MiB) besides its model.
    expect(p.servers[0]).toMatchObject({
      sharing: "timeSlicing",
      memoryPerReplicaGiB: 15079 / 1024 / 14,
      overheadGiB: 502 / 1024,
    });
    expect(p.servers[0].headroomGiB).toBeCloseTo(15079 / 1024 / 14 - 0.5 - 502 / 1024, 12);
  });

  it("the 8/3/4 mix fits one A100, as the write-up's all-balanced layout time-sliced 4/3/4 did", async () => {
    const p = await plan({
      migStrategy: "mixed",
      gpus: { "A100-SXM4-40GB": A100 },
      servers: {
        small: { modelMemoryGiB: 0.5, maxReplicas: 8, isolation: "shared" },
        medium: { modelMemoryGiB: 0.5, maxReplicas: 3, isolation: "shared" },
        large: { modelMemoryGiB: 0.5, maxReplicas: 4, isolation: "shared" },
      },
    });
    expect(p.gpus).toBeLessThanOrEqual(1);
    expect(p.cost).toBe(3.2);
    for (const pool of p.pools) for (const r of pool.resources) expect(r.claimed).toBeLessThanOrEqual(r.advertised);
    expect(p.servers.map((s) => s.maxReplicas)).toEqual([8, 3, 4]);
  });

  it("all of them together need no more GPUs than the write-up's A100 and T4", async () => {
    const p = await plan({
      gpus: { "A100-SXM4-40GB": A100, T4 },
      servers: {
        isolated: { modelMemoryGiB: 0.5, maxReplicas: 7, isolation: "full" },
        shared: { modelMemoryGiB: 0.5, maxReplicas: 14, isolation: "shared" },
      },
    });
    expect(p.gpus).toBeLessThanOrEqual(2);
    expect(p.cost).toBeCloseTo(3.75, 10);
  });
});

describe("the rules", () => {
  it("never puts a 20 GiB model on a 1g.5gb slice, whatever is cheaper", async () => {
    const p = await plan({
      gpus: { "A100-80GB": { costPerNode: 4, maxNodes: 2 }, "A100-SXM4-40GB": A100 },
      servers: {
        llm: { modelMemoryGiB: 20, maxReplicas: 2, isolation: "full" },
        tiny: { modelMemoryGiB: 0.5, maxReplicas: 5, isolation: "full" },
      },
    });
    const llm = p.servers.find((s) => s.name === "llm");
    expect(llm?.memoryPerReplicaGiB).toBeGreaterThanOrEqual(20);
    expect(llm?.resource).not.toMatch(/1g\.5gb/);
    const pool = p.pools.find((x) => x.name === llm?.pool);
    const resource = pool?.resources.find((r) => r.resource === llm?.resource);
    expect(resource?.memoryGiB).toBeGreaterThanOrEqual(20);
  });

  it("never time-slices a server that needs full isolation, even where sharing would be cheaper", async () => {
    const p = await plan({
      gpus: { T4 },
      servers: { densenet: { modelMemoryGiB: 0.5, maxReplicas: 3, isolation: "full" } },
    });
    expect(p.pools[0].timeSlicing).toBeUndefined();
    expect(p.pools[0].mps).toBeUndefined();
    expect(p.servers[0].sharing).toBe("none");
    expect(p.gpus).toBe(3);
  });

  it("gives memory isolation by MPS where MIG is not on offer", async () => {
    const p = await plan({
      gpus: { T4 },
      servers: { yolo: { modelMemoryGiB: 3, maxReplicas: 4, isolation: "memory" } },
    });
    expect(p.pools[0]).toMatchObject({ mps: 4, nodes: { max: 1 } });
    expect(p.migStrategy).toBe("single");
    // Each client's share: the T4's 15079 MiB less the MPS server's 66 MiB, in four.
    expect(p.servers[0]).toMatchObject({ sharing: "mps", memoryPerReplicaGiB: (15079 - 66) / 1024 / 4 });
  });

  it("does not use MPS when the cluster's strategy is mixed", async () => {
    const p = await plan({
      migStrategy: "mixed",
      gpus: { T4: { costPerNode: 0.55, maxNodes: 8 } },
      servers: { yolo: { modelMemoryGiB: 3, maxReplicas: 5, isolation: "memory" } },
    });
    expect(p.pools[0].mps).toBeUndefined();
    expect(p.gpus).toBe(5);
  });

  it("lets servers share a resource only within its advertised count", async () => {
    const p = await plan({
      gpus: { T4: { costPerNode: 1, maxNodes: 1 } },
      servers: {
        a: { modelMemoryGiB: 3, maxReplicas: 2, isolation: "shared" },
        b: { modelMemoryGiB: 3, maxReplicas: 2, isolation: "shared" },
      },
    });
    expect(p.pools).toHaveLength(1);
    expect(p.pools[0]).toMatchObject({ timeSlicing: 4 });
    expect(p.pools[0].resources).toEqual([expect.objectContaining({ advertised: 4, claimed: 4, servers: ["a", "b"] })]);
  });

  const twoT4Pools = {
    gpus: { T4 },
    servers: {
      isolated: { modelMemoryGiB: 14, maxReplicas: 1, isolation: "full" },
      shared: { modelMemoryGiB: 0.5, maxReplicas: 14, isolation: "shared" },
    },
  };

  it("labels two pools of one GPU model apart in an existing cluster, since node-feature-discovery cannot", async () => {
    const p = await plan(twoT4Pools);
    expect(p.pools.map((x) => [x.name, x.nodeSelector])).toEqual([
      ["t4", { "gpushare.io/node-group": "t4" }],
      ["t4-2", { "gpushare.io/node-group": "t4-2" }],
    ]);
  });

  it("leaves them to their node names in OpenStack mode, where nothing would apply a node-group label", async () => {
    const p = await plan({ ...twoT4Pools, cluster: "openstack" });
    expect(p.pools.map((x) => [x.name, x.nodeSelector])).toEqual([
      ["t4", undefined],
      ["t4-2", undefined],
    ]);
  });

  it("sizes the pool's minimum to the servers' minimum replicas", async () => {
    const p = await plan({
      gpus: { T4 },
      servers: { llm: { modelMemoryGiB: 14, minReplicas: 2, maxReplicas: 3, isolation: "full" } },
    });
    expect(p.pools[0].nodes).toEqual({ min: 2, max: 3 });
  });
});

describe("what the real card refutes", () => {
  it("never plans a 15 GiB model onto a T4, whose 16 GB name holds 14.73 GiB", async () => {
    const p = await plan({
      gpus: { T4, L4: { costPerNode: 0.8, maxNodes: 4 } },
      servers: { "llm-7b": { modelMemoryGiB: 15, maxReplicas: 2, isolation: "full" } },
    });
    expect(p.pools.map((x) => x.offer.gpu.name)).toEqual(["L4"]);
    expect(p.servers[0].headroomGiB).toBeGreaterThan(0);
    expect(
      await planError({
        gpus: { T4 },
        servers: { "llm-7b": { modelMemoryGiB: 15, maxReplicas: 2, isolation: "full" } },
      }),
    ).toEqual([
      "servers.llm-7b.modelMemoryGiB: 15 GiB fits no GPU or MIG slice on offer; the most a replica's model gets is 14.24 GiB (a whole T4: 14.73 GiB as nvidia-smi reports it, less 0.49 GiB per-replica overhead); offer a GPU with more memory under gpus, or a smaller model",
    ]);
  });

  it("fits a 39.5 GiB model neither on a whole A100-40GB nor on its 7g.40gb", async () => {
    expect(
      await planError({
        gpus: { "A100-SXM4-40GB": A100 },
        servers: { big: { modelMemoryGiB: 39.5, maxReplicas: 1, isolation: "full" } },
      }),
    ).toEqual([
      "servers.big.modelMemoryGiB: 39.5 GiB fits no GPU or MIG slice on offer; the most a replica's model gets is 39.10 GiB (a whole A100-SXM4-40GB: 39.59 GiB as nvidia-smi reports it, less 0.49 GiB per-replica overhead); offer a GPU with more memory under gpus, or a smaller model",
    ]);
  });

  it("counts a server's own overhead where it gives one", async () => {
    const p = await plan({
      gpus: { T4 },
      servers: { densenet: { modelMemoryGiB: 0.5, overheadGiB: 1.5, maxReplicas: 14, isolation: "shared" } },
    });
    // 2 GiB a replica: 7 fit a T4's 14.73 GiB, so two T4s.
    expect(p.pools[0]).toMatchObject({ timeSlicing: 7, nodes: { max: 2 } });
    expect(p.servers[0]).toMatchObject({ overheadGiB: 1.5, declaredOverheadGiB: 1.5 });
  });
});

describe("the node's pod limit", () => {
  it("shares one T4 by at most the pods a node runs: 120 replicas take two T4s of 60, never one of 120", async () => {
    const p = await plan({
      gpus: { T4 },
      servers: { tiny: { modelMemoryGiB: 0.1, overheadGiB: 0.01, maxReplicas: 120, isolation: "shared" } },
    });
    expect(p.pools[0]).toMatchObject({ timeSlicing: 60, nodes: { max: 2 } });
  });

  it("counts every GPU of a node: 400 replicas on 4-GPU T4 nodes stay within 94 pods a node", async () => {
    const p = await plan({
      gpus: { T4: { gpusPerNode: 4, costPerNode: 0.55, maxNodes: 8 } },
      servers: { tiny: { modelMemoryGiB: 0.1, overheadGiB: 0.01, maxReplicas: 400, isolation: "shared" } },
    });
    const pool = p.pools[0];
    expect(pool.offer.gpusPerNode * Number(pool.timeSlicing)).toBeLessThanOrEqual(94);
    expect(pool.resources[0].advertised).toBeGreaterThanOrEqual(400);
    expect(pool.nodes.max).toBe(5);
  });

  it("follows the workloads file's pod limit", async () => {
    const p = await plan({
      maxPodsPerNode: 250,
      systemPodsPerNode: 10,
      gpus: { T4: { gpusPerNode: 4, costPerNode: 0.55, maxNodes: 8 } },
      servers: { tiny: { modelMemoryGiB: 0.1, overheadGiB: 0.01, maxReplicas: 400, isolation: "shared" } },
    });
    expect(p.pools[0]).toMatchObject({ timeSlicing: 50, nodes: { max: 2 } });
  });

  it("fails, naming the pod limit, when the node limits and the pod budget hold too few", async () => {
    expect(
      await planError({
        gpus: { T4: { gpusPerNode: 4, costPerNode: 0.55, maxNodes: 4 } },
        servers: { tiny: { modelMemoryGiB: 0.1, overheadGiB: 0.01, maxReplicas: 400, isolation: "shared" } },
      }),
    ).toEqual([
      "servers.tiny.maxReplicas: 400 replicas (shared isolation, 0.1 GiB model each plus its process's overhead) fit no pool within the node limits; the most is 368 (4 × T4 nodes, whole GPUs with timeSlicing × 23; a node runs at most 94 GPU pods: maxPodsPerNode 110 less 16 system pods); gpushare puts each server on one resource of one pool, so raise maxNodes under gpus, or lower maxReplicas and split the server into two",
    ]);
  });
});

describe("one server, one pool", () => {
  it("calls 3 × 30 GiB on 2 A100-40GB and 1 A100-80GB infeasible, and says why: a server runs on one pool", async () => {
    const problems = await planError({
      gpus: { "A100-SXM4-40GB": A100, "A100-80GB": { costPerNode: 4.5, maxNodes: 1 } },
      servers: { big: { modelMemoryGiB: 30, maxReplicas: 3, isolation: "full" } },
    });
    expect(problems).toEqual([
      "servers.big.maxReplicas: 3 replicas (full isolation, 30 GiB model each plus its process's overhead) fit no pool within the node limits; the most is 2 (2 × A100-SXM4-40GB nodes, whole GPUs); gpushare puts each server on one resource of one pool, so raise maxNodes under gpus, or lower maxReplicas and split the server into two",
    ]);
  });
});

describe("what cannot be planned", () => {
  it("fails when a model fits no slice on offer, naming the server and the largest slice", async () => {
    expect(
      await planError({
        gpus: { T4, "A100-80GB": { costPerNode: 4, maxNodes: 2 } },
        servers: { llm: { modelMemoryGiB: 200, maxReplicas: 1, isolation: "shared" } },
      }),
    ).toEqual([
      "servers.llm.modelMemoryGiB: 200 GiB fits no GPU or MIG slice on offer; the most a replica's model gets is 78.91 GiB (a whole A100-80GB: 79.40 GiB as nvidia-smi reports it, less 0.49 GiB per-replica overhead); offer a GPU with more memory under gpus, or a smaller model",
    ]);
  });

  it("fails when a server's peak exceeds every pool the node limits allow", async () => {
    expect(
      await planError({
        gpus: { T4: { costPerNode: 0.55, maxNodes: 2 } },
        servers: { llm: { modelMemoryGiB: 10, maxReplicas: 3, isolation: "full" } },
      }),
    ).toEqual([
      "servers.llm.maxReplicas: 3 replicas (full isolation, 10 GiB model each plus its process's overhead) fit no pool within the node limits; the most is 2 (2 × T4 nodes, whole GPUs); gpushare puts each server on one resource of one pool, so raise maxNodes under gpus, or lower maxReplicas and split the server into two",
    ]);
  });

  it("fails when the servers fit alone but not together", async () => {
    expect(
      await planError({
        gpus: { T4: { costPerNode: 0.55, maxNodes: 1 } },
        servers: {
          a: { modelMemoryGiB: 10, maxReplicas: 1, isolation: "full" },
          b: { modelMemoryGiB: 10, maxReplicas: 1, isolation: "full" },
        },
      }),
    ).toEqual([
      "servers: together the servers need more than the node limits allow (gpus.T4.maxNodes 1); raise maxNodes or offer another GPU model",
    ]);
  });
});

describe("candidate layouts", () => {
  it("one-profile layouts keep, per slice size, the profile with the most instances", () => {
    expect(homogeneousLayouts(a100)).toEqual([{ "1g.5gb": 7 }, { "1g.10gb": 4 }, { "3g.20gb": 2 }]);
    expect(homogeneousLayouts(model("T4"))).toEqual([]);
  });

  it.each(["A100-SXM4-40GB", "A100-80GB", "H100-80GB", "H200-141GB", "A30-24GB"])(
    "multi-profile layouts of %s are legal placements to which nothing can be added",
    (name) => {
      const gpu = model(name);
      const mig = gpu.mig;
      if (mig === undefined) throw new Error("no MIG");
      const layouts = mixedLayouts(gpu);
      expect(layouts.length).toBeGreaterThan(0);
      for (const l of layouts) {
        expect(placeMigLayout(mig, l)).toBeDefined();
        expect(Object.keys(l).length).toBeGreaterThanOrEqual(2);
        for (const p of mig.profiles)
          expect(placeMigLayout(mig, { ...l, [p.name]: (l[p.name] ?? 0) + 1 })).toBeUndefined();
      }
    },
  );

  it("the write-up's all-balanced layout is a candidate", () => {
    expect(mixedLayouts(a100)).toContainEqual({ "1g.5gb": 2, "2g.10gb": 1, "3g.20gb": 1 });
  });

  const server = (
    modelMemoryGiB: number,
    isolation: WorkloadServer["isolation"],
    overheadGiB?: number,
  ): WorkloadServer => ({
    name: "s",
    modelMemoryGiB,
    ...(overheadGiB === undefined ? {} : { overheadGiB }),
    minReplicas: 1,
    maxReplicas: 1,
    isolation,
  });
  const t4 = model("T4");
  // A T4 as nvidia-smi reports it (15079 MiB usable) and a node of one, under the default pod budget (110 − 16).
  const wholeT4: DeviceKind = { perNode: 1, memoryGiB: 15079 / 1024, maxPods: 94 };
  const slice: DeviceKind = { profile: "1g.5gb", perNode: 7, memoryGiB: 4.75, maxPods: 13 };
  // Turing and Ampere default overhead: 256 MiB context + 182 MiB libraries + 64 MiB Triton pool.
  const overhead = 502 / 1024;
  it.each<[string, WorkloadServer, GpuModel, DeviceKind, "none" | "timeSlicing" | "mps", number]>([
    // 14 × (0.5 + 0.49) = 13.86 ≤ 14.73 < 15 × 0.99: the write-up's T4 shared 14 ways, exactly.
    ["time-sliced, memory shared with the overhead", server(0.5, "shared"), t4, wholeT4, "timeSlicing", 14],
    // (14.73 − 0.06 MPS server) ÷ 0.59 = 24.8.
    ["MPS, each client's share holds model and overhead", server(0.1, "memory"), t4, wholeT4, "mps", 24],
    ["MPS, capped by the clients a T4 takes", server(0.1, "memory", 0), t4, wholeT4, "mps", 48],
    ["MPS below compute capability 7.5", server(0.5, "memory", 0), model("V100-16GB"), wholeT4, "mps", 16],
    ["time-slicing capped by the node's pod budget", server(0.1, "shared", 0.01), t4, wholeT4, "timeSlicing", 94],
    [
      "a smaller pod budget caps it lower",
      server(0.1, "shared", 0.01),
      t4,
      { ...wholeT4, maxPods: 20 },
      "timeSlicing",
      20,
    ],
    ["a node over its pod budget hosts nothing", server(0.1, "full"), t4, { ...wholeT4, maxPods: 0 }, "none", 0],
    ["full isolation is never time-sliced", server(0.5, "full"), t4, wholeT4, "timeSlicing", 0],
    ["full isolation is never an MPS client", server(0.5, "full"), t4, wholeT4, "mps", 0],
    ["memory isolation is never time-sliced", server(0.5, "memory"), t4, wholeT4, "timeSlicing", 0],
    ["MPS does not run on MIG slices", server(0.5, "shared"), a100, slice, "mps", 0],
    ["a slice time-sliced by memory and overhead", server(0.5, "shared"), a100, slice, "timeSlicing", 4],
    ["model and overhead as large as the slice, alone", server(4.75 - overhead, "full"), a100, slice, "none", 1],
    [
      "model and overhead as large as the slice cannot share it",
      server(4.75 - overhead, "shared"),
      a100,
      slice,
      "timeSlicing",
      0,
    ],
    ["a model that fits the slice only without its overhead", server(4.5, "full"), a100, slice, "none", 0],
    ["a model larger than the slice", server(5, "full"), a100, slice, "none", 0],
  ])("sharingLimit: %s", (_, s, gpu, kind, mode, expected) => {
    expect(sharingLimit(s, gpu, kind, mode)).toBe(expected);
  });
});

describe("servers planned on requests", () => {
  const { timeSlicing, mps } = H200_RESNET50_BATCH1;
  const resnet = (p99Ms: number, curves: readonly SharingCurve[]) =>
    parseWorkloads({
      gpus: { "H200-141GB": { costPerNode: 10, maxNodes: 4 } },
      servers: {
        resnet: { modelMemoryGiB: 0.2, isolation: "shared", slo: { requestsPerSecond: 2000, p99Ms }, curves },
      },
    });

  it("fills one H200 under MPS with the fewest pods that serve the peak", async () => {
    // MPS at 11 pods: 1316 + 4/7 × (2628 − 1316) = 2065.7 requests/s ≥ 2000 at p99 8.86 + 4/7 × (6.45 − 8.86) = 7.48
    // ms; at 10 pods 1878 < 2000. Time-slicing serves at most 833 per device: 3 devices.
    const plan = await planLayouts(resnet(10, [timeSlicing, mps]));
    expect(plan.cost).toBe(10);
    expect(plan.pools.map((p) => [p.name, p.nodes.max, p.mps])).toEqual([["h200-141gb", 1, 11]]);
    const [s] = plan.servers;
    expect(s.maxReplicas).toBe(11);
    expect(s.serving?.curve.sharing).toBe("mps");
    expect(s.serving?.devices).toBe(1);
    expect(s.serving?.requestsPerSecond).toBeCloseTo(1316 + (4 / 7) * (2628 - 1316), 9);
    expect(s.serving?.p99Ms).toBeCloseTo(8.86 + (4 / 7) * (6.45 - 8.86), 9);
  });

  it("time-sliced alone takes 4 pods on each of 3 H200s: 3 × 670 = 2010 requests/s, p99 8.91 ms", async () => {
    // Past the knee (7 pods) time-slicing adds no requests; at 7 pods 833/s needs 3 devices too, and the plan keeps
    // the fewest pods per device that do: 3 pods serve 557.5/s, 4 devices.
    const plan = await planLayouts(resnet(10, [timeSlicing]));
    expect(plan.cost).toBe(30);
    expect(plan.pools.map((p) => [p.nodes.max, p.timeSlicing])).toEqual([[3, 4]]);
    expect(plan.servers[0].maxReplicas).toBe(12);
    expect(plan.provenOptimal).toBe(true);
  });

  it("prefers fewer time-sliced pods where more miss the p99, and MPS where it meets it on one device", async () => {
    // p99 ≤ 8 ms: time-sliced, 3 pods (7.70 ms, 557.5/s) is the most that meets it (4: 8.91; 7: 8.42; past the
    // knee, more): 4 devices of 3 pods. MPS at 11 pods meets it (7.48 ms) on one.
    const sliced = await planLayouts(resnet(8, [timeSlicing]));
    expect(sliced.cost).toBe(40);
    expect(sliced.servers[0].serving?.podsPerDevice).toBe(3);
    expect(sliced.servers[0].maxReplicas).toBe(12);
    const both = await planLayouts(resnet(8, [timeSlicing, mps]));
    expect(both.cost).toBe(10);
    expect(both.servers[0].sharing).toBe("mps");
  });

  it("fails when no curve was measured on a GPU on offer", async () => {
    const w = parseWorkloads({
      gpus: { T4: { costPerNode: 0.55, maxNodes: 4 } },
      servers: {
        resnet: { modelMemoryGiB: 0.2, isolation: "shared", slo: { requestsPerSecond: 100, p99Ms: 10 }, curves: [mps] },
      },
    });
    await expect(planLayouts(w)).rejects.toThrow(
      "servers.resnet.curves: measured on H200-141GB, none of which is on offer (gpus: T4); add a curve measured on a GPU on offer (npm run advise learns one), or offer a GPU the server was measured on",
    );
  });

  it("fails when the peak needs more devices than the node limit", async () => {
    const w = resnet(10, [timeSlicing]);
    await expect(planLayouts({ ...w, offers: [{ ...w.offers[0], maxNodes: 2 }] })).rejects.toThrow(
      "servers.resnet.slo: 2000 requests/s within p99 10 ms fits no pool within the node limits; the most is 1666 requests/s (2 × H200-141GB nodes, whole GPUs with timeSlicing × 7, p99 8.42 ms)",
    );
  });
});
