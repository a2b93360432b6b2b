import { describe, expect, it } from "vitest";
import type { GpuModel } from "../../gpu/catalog";
import { findGpuModel } from "../../gpu/catalog";
import { placeMigLayout } from "../../gpu/placement";
import type { Plan } from "../../gpu/planner";
import { PlanError, planLayouts } from "../../gpu/planner";
import { parseWorkloads } from "../../gpu/planner-input";
import type { WorkloadServer } from "../../gpu/planner-input";
import { homogeneousLayouts, mixedLayouts, sharingLimit } from "../../gpu/planner-shapes";

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
    if (e instanceof PlanError) return e.problems;
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
    expect(p.servers[0]).toMatchObject({ sharing: "timeSlicing", memoryPerReplicaGiB: 16 / 14 });
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
      servers: { yolo: { modelMemoryGiB: 3, maxReplicas: 5, isolation: "memory" } },
    });
    expect(p.pools[0]).toMatchObject({ mps: 5, nodes: { max: 1 } });
    expect(p.migStrategy).toBe("single");
    expect(p.servers[0]).toMatchObject({ sharing: "mps", memoryPerReplicaGiB: 16 / 5 });
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
        a: { modelMemoryGiB: 4, maxReplicas: 2, isolation: "shared" },
        b: { modelMemoryGiB: 4, maxReplicas: 2, isolation: "shared" },
      },
    });
    expect(p.pools).toHaveLength(1);
    expect(p.pools[0]).toMatchObject({ timeSlicing: 4 });
    expect(p.pools[0].resources).toEqual([expect.objectContaining({ advertised: 4, claimed: 4, servers: ["a", "b"] })]);
  });

  it("labels two pools of one GPU model apart, since node-feature-discovery cannot", async () => {
    const p = await plan({
      gpus: { T4 },
      servers: {
        isolated: { modelMemoryGiB: 15, maxReplicas: 1, isolation: "full" },
        shared: { modelMemoryGiB: 0.5, maxReplicas: 14, isolation: "shared" },
      },
    });
    expect(p.pools.map((x) => [x.name, x.nodeSelector])).toEqual([
      ["t4", { "gpushare.io/node-group": "t4" }],
      ["t4-2", { "gpushare.io/node-group": "t4-2" }],
    ]);
  });

  it("sizes the pool's minimum to the servers' minimum replicas", async () => {
    const p = await plan({
      gpus: { T4 },
      servers: { llm: { modelMemoryGiB: 15, minReplicas: 2, maxReplicas: 3, isolation: "full" } },
    });
    expect(p.pools[0].nodes).toEqual({ min: 2, max: 3 });
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
      "servers.llm.modelMemoryGiB: 200 GiB fits no GPU or MIG slice on offer; the largest is a whole A100-80GB (80 GiB); offer a GPU with more memory under gpus, or a smaller model",
    ]);
  });

  it("fails when a server's peak exceeds every pool the node limits allow", async () => {
    expect(
      await planError({
        gpus: { T4: { costPerNode: 0.55, maxNodes: 2 } },
        servers: { llm: { modelMemoryGiB: 10, maxReplicas: 3, isolation: "full" } },
      }),
    ).toEqual([
      "servers.llm.maxReplicas: 3 replicas (full isolation, 10 GiB each) fit no pool within the node limits; the most is 2 (2 × T4 nodes, whole GPUs); raise maxNodes under gpus or lower maxReplicas",
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

  const server = (modelMemoryGiB: number, isolation: WorkloadServer["isolation"]): WorkloadServer => ({
    name: "s",
    modelMemoryGiB,
    minReplicas: 1,
    maxReplicas: 1,
    isolation,
  });
  const t4 = model("T4");
  const wholeT4 = { perNode: 1, memoryGiB: 16 };
  const slice = { profile: "1g.5gb", perNode: 7, memoryGiB: 4.75 };
  it.each<[string, WorkloadServer, GpuModel, typeof wholeT4, "none" | "timeSlicing" | "mps", number]>([
    ["time-sliced, memory shared", server(0.5, "shared"), t4, wholeT4, "timeSlicing", 32],
    ["MPS, capped by the clients a T4 takes", server(0.1, "memory"), t4, wholeT4, "mps", 48],
    ["MPS below compute capability 7.5", server(0.5, "memory"), model("V100-16GB"), wholeT4, "mps", 16],
    ["full isolation is never time-sliced", server(0.5, "full"), t4, wholeT4, "timeSlicing", 0],
    ["full isolation is never an MPS client", server(0.5, "full"), t4, wholeT4, "mps", 0],
    ["memory isolation is never time-sliced", server(0.5, "memory"), t4, wholeT4, "timeSlicing", 0],
    ["MPS does not run on MIG slices", server(0.5, "shared"), a100, slice, "mps", 0],
    ["a slice time-sliced by memory", server(0.5, "shared"), a100, slice, "timeSlicing", 9],
    ["a model as large as the slice, alone", server(4.75, "full"), a100, slice, "none", 1],
    ["a model as large as the slice cannot share it", server(4.75, "shared"), a100, slice, "timeSlicing", 0],
    ["a model larger than the slice", server(5, "full"), a100, slice, "none", 0],
  ])("sharingLimit: %s", (_, s, gpu, kind, mode, expected) => {
    expect(sharingLimit(s, gpu, kind, mode)).toBe(expected);
  });
});
