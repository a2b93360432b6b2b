import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { GpuModel } from "../../gpu/catalog";
import { findGpuModel, maxMpsClients } from "../../gpu/catalog";
import { DEFAULT_REPLICA_OVERHEAD_GIB } from "../../gpu/memory";
import { placeMigLayout } from "../../gpu/placement";
import type { Plan } from "../../planner/plan";
import { PlanError, planLayouts } from "../../planner/plan";
import type { Isolation, Workloads, WorkloadServer } from "../../planner/input";
import { parseWorkloads } from "../../planner/input";
import { stackConfigOf } from "../../scripts/plan-output";
import { capacityTable } from "../../stacks/capacity-table";
import { parseStackConfig } from "../../stacks/config/parse";
import { curveAt, kneeOf } from "../../gpu/sharing-curve";
import { homogeneousLayouts } from "../../planner/shapes";

// An independent brute force: every partition of the servers into pools, every legal MIG layout of the catalog
// (media-extension profiles and non-maximal layouts included), every assignment of a pool's servers to its slice
// kinds, each kind shared as much as all its servers allow (capacity only grows with the pods per device).

const legalLayouts = new Map<string, Record<string, number>[]>();

/** Every legal MIG layout of a GPU (placeMigLayout is the hardware's rule), by plain enumeration of counts. */
function layoutsOf(gpu: GpuModel): Record<string, number>[] {
  const cached = legalLayouts.get(gpu.name);
  if (cached !== undefined) return cached;
  const mig = gpu.mig;
  const out: Record<string, number>[] = [];
  if (mig !== undefined) {
    const names = mig.profiles.map((p) => p.name);
    const counts: Record<string, number> = {};
    const walk = (i: number): void => {
      if (i === names.length) {
        const l = Object.fromEntries(Object.entries(counts).filter(([, c]) => c > 0));
        if (Object.keys(l).length > 0 && placeMigLayout(mig, l) !== undefined) out.push(l);
        return;
      }
      for (let c = 0; c <= mig.memorySlices; c++) {
        counts[names[i]] = c;
        // More instances never make an illegal layout legal.
        const partial = Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
        if (c > 0 && placeMigLayout(mig, partial) === undefined) break;
        walk(i + 1);
      }
      counts[names[i]] = 0;
    };
    walk(0);
  }
  legalLayouts.set(gpu.name, out);
  return out;
}

/** What one replica of `s` needs on `gpu`, GiB: its model and its process's overhead (the architecture's default). */
function need(s: WorkloadServer, gpu: GpuModel): number {
  return s.modelMemoryGiB + (s.overheadGiB ?? DEFAULT_REPLICA_OVERHEAD_GIB[gpu.architecture]);
}

/** The MPS control server's memory, 66 MiB. */
const MPS_SERVER = 66 / 1024;
/** Floating-point slack: 1 KiB. */
const SLACK = 1 / (1024 * 1024);

/**
 * Pods per device all `servers` accept on a device of `memory` GiB, or 0; at most `cap` pods (the node's pod budget
 * spread over its devices).
 */
function podsPerDevice(
  servers: readonly WorkloadServer[],
  memory: number,
  gpu: GpuModel,
  wholeGpu: boolean,
  mpsAllowed: boolean,
  cap: number,
): { pods: number; mps: boolean } {
  if (cap < 1 || servers.some((s) => need(s, gpu) > memory + SLACK)) return { pods: 0, mps: false };
  let best = { pods: 1, mps: false };
  if (servers.every((s) => s.isolation === "shared")) {
    let n = cap;
    while (n >= 2 && servers.some((s) => need(s, gpu) > memory / n + SLACK)) n--;
    if (n >= 2 && n > best.pods) best = { pods: n, mps: false };
  }
  if (wholeGpu && mpsAllowed && servers.every((s) => s.isolation !== "full")) {
    let n = Math.min(maxMpsClients(gpu), cap);
    while (n >= 2 && servers.some((s) => need(s, gpu) > (memory - MPS_SERVER) / n + SLACK)) n--;
    if (n >= 2 && n > best.pods) best = { pods: n, mps: true };
  }
  return best;
}

/**
 * The replicas a server planned on requests needs at `pods` pods per device in `mode` on a device of `gpu` (MIG
 * `profile`), or Infinity: a curve of that device and mode (unshared: any mode's, read at one pod) whose p99 there is
 * within the objective, with pods no further than a measured knee; devices to serve the requests (and minReplicas).
 */
function requestReplicas(s: WorkloadServer, gpu: GpuModel, profile: string | undefined, mode: string, pods: number) {
  let best = Infinity;
  for (const c of s.serving?.curves ?? []) {
    if (c.gpu !== gpu.name || c.migProfile !== profile || (mode !== "none" && c.sharing !== mode)) continue;
    const knee = kneeOf(c);
    if (pods > 1 && knee.measured && pods > knee.pods) continue;
    const at = curveAt(c, pods);
    if (at.requestsPerSecond <= 0 || at.p99Ms > (s.serving?.slo.p99Ms ?? 0) + 1e-9) continue;
    const devices = Math.max(
      Math.ceil((s.serving?.slo.requestsPerSecond ?? 0) / at.requestsPerSecond - 1e-9),
      Math.ceil(s.minReplicas / pods),
    );
    best = Math.min(best, devices * pods);
  }
  return best;
}

/**
 * Nodes a kind needs for `servers` at its best sharing: servers counted in replicas take their largest pods per
 * device; with a server planned on requests, every pods-per-device count is tried.
 */
function kindNodes(
  servers: readonly WorkloadServer[],
  kind: { memory: number; devices: number; profile?: string },
  gpu: GpuModel,
  wholeGpu: boolean,
  mpsAllowed: boolean,
  cap: number,
): number {
  const asked = servers.some((s) => s.serving !== undefined);
  if (!asked) {
    const d = podsPerDevice(servers, kind.memory, gpu, wholeGpu, mpsAllowed, cap);
    if (d.pods === 0) return Infinity;
    return Math.ceil(servers.reduce((n, s) => n + (s.maxReplicas ?? 0), 0) / (kind.devices * d.pods));
  }
  let best = Infinity;
  for (const mps of [false, true]) {
    for (let n = 1; n <= cap; n++) {
      if (mps && n === 1) continue;
      if (!allowedAt(servers, kind.memory, gpu, wholeGpu, mpsAllowed, n, mps)) continue;
      const mode = n === 1 ? "none" : mps ? "mps" : "timeSlicing";
      const claim = servers.reduce(
        (sum, s) =>
          sum + (s.serving === undefined ? (s.maxReplicas ?? 0) : requestReplicas(s, gpu, kind.profile, mode, n)),
        0,
      );
      best = Math.min(best, Math.ceil(claim / (kind.devices * n)));
    }
  }
  return best;
}

/** Whether every server accepts exactly `n` pods per device in the mode (time-slicing, or MPS where `mps`). */
function allowedAt(
  servers: readonly WorkloadServer[],
  memory: number,
  gpu: GpuModel,
  wholeGpu: boolean,
  mpsAllowed: boolean,
  n: number,
  mps: boolean,
): boolean {
  if (servers.some((s) => need(s, gpu) > memory + SLACK)) return false;
  if (n === 1) return true;
  if (!mps) return servers.every((s) => s.isolation === "shared" && need(s, gpu) <= memory / n + SLACK);
  return (
    wholeGpu &&
    mpsAllowed &&
    n <= maxMpsClients(gpu) &&
    servers.every((s) => s.isolation !== "full" && need(s, gpu) <= (memory - MPS_SERVER) / n + SLACK)
  );
}

type Requirement = "any" | "single" | "mixed";
interface PoolOption {
  offer: number;
  requirement: Requirement;
  nodes: number;
}

/** For one group of servers in one pool: per offer and strategy requirement, the fewest nodes. */
function poolOptions(w: Workloads, group: readonly WorkloadServer[]): PoolOption[] {
  const best = new Map<string, PoolOption>();
  const record = (o: PoolOption): void => {
    const key = `${o.offer}/${o.requirement}`;
    const seen = best.get(key);
    if (seen === undefined || o.nodes < seen.nodes) best.set(key, o);
  };
  w.offers.forEach((offer, oi) => {
    const gpu = offer.gpu;
    const kindsOf = (
      layout: Record<string, number> | undefined,
    ): { memory: number; devices: number; profile?: string }[] =>
      layout === undefined
        ? [{ memory: gpu.memoryGiB, devices: offer.gpusPerNode }]
        : Object.entries(layout).map(([p, c]) => ({
            memory: gpu.mig?.profiles.find((x) => x.name === p)?.memoryGiB ?? 0,
            devices: c * offer.gpusPerNode,
            profile: p,
          }));
    const variants: { layout?: Record<string, number>; requirement: Requirement }[] = [
      { requirement: "any" },
      { requirement: "single" },
      ...layoutsOf(gpu).flatMap((layout) => [
        ...(Object.keys(layout).length === 1 ? [{ layout, requirement: "single" as const }] : []),
        { layout, requirement: "mixed" as const },
      ]),
    ];
    for (const v of variants) {
      const kinds = kindsOf(v.layout);
      // The node's pod budget, spread evenly over its devices, and never more than 110 pods on one device.
      const devices = kinds.reduce((n, k) => n + k.devices, 0);
      const cap = Math.min(110, Math.floor((w.nodePods.maxPodsPerNode - w.nodePods.systemPodsPerNode) / devices));
      const assignment = group.map(() => 0);
      for (;;) {
        let nodes = 0;
        let usesMps = false;
        for (let k = 0; k < kinds.length && nodes >= 0; k++) {
          const on = group.filter((_, i) => assignment[i] === k);
          if (on.length === 0) continue;
          const d = podsPerDevice(on, kinds[k].memory, gpu, v.layout === undefined, v.requirement === "single", cap);
          usesMps ||= d.mps;
          const kn = kindNodes(on, kinds[k], gpu, v.layout === undefined, v.requirement === "single", cap);
          nodes = kn === Infinity ? -1 : Math.max(nodes, kn);
        }
        if (nodes >= 0 && nodes <= offer.maxNodes) {
          record({ offer: oi, requirement: usesMps ? "single" : v.requirement, nodes });
        }
        let i = 0;
        while (i < assignment.length && ++assignment[i] === kinds.length) assignment[i++] = 0;
        if (i === assignment.length) break;
      }
    }
  });
  return [...best.values()];
}

/** Every partition of the servers into non-empty groups. */
function partitions<T>(items: readonly T[]): T[][][] {
  if (items.length === 0) return [[]];
  const [first, ...rest] = items;
  return partitions(rest).flatMap((p) => [
    [[first], ...p],
    ...p.map((_, i) => p.map((g, j) => (i === j ? [first, ...g] : g))),
  ]);
}

/** The least cost of any plan, or Infinity when none exists. */
function bruteForceCost(w: Workloads): number {
  let best = Infinity;
  const cache = new Map<string, PoolOption[]>();
  for (const partition of partitions(w.servers)) {
    const options = partition.map((g) => {
      const key = g.map((s) => s.name).join(",");
      const cached = cache.get(key) ?? poolOptions(w, g);
      cache.set(key, cached);
      return cached;
    });
    const pick = (i: number, nodes: number[], strategies: Set<Requirement>, cost: number): void => {
      if (cost >= best) return;
      if (i === options.length) {
        best = cost;
        return;
      }
      for (const o of options[i]) {
        if (nodes[o.offer] + o.nodes > w.offers[o.offer].maxNodes) continue;
        const next = new Set(strategies);
        if (o.requirement !== "any") next.add(o.requirement);
        if (next.has("single") && next.has("mixed")) continue;
        if (w.migStrategy !== undefined && o.requirement !== "any" && o.requirement !== w.migStrategy) continue;
        nodes[o.offer] += o.nodes;
        pick(i + 1, nodes, next, cost + o.nodes * w.offers[o.offer].costPerNode);
        nodes[o.offer] -= o.nodes;
      }
    };
    pick(
      0,
      w.offers.map(() => 0),
      new Set(),
      0,
    );
  }
  return best;
}

const GPUS = ["T4", "L4", "A30-24GB", "A100-SXM4-40GB", "H100-80GB"] as const;
const ISOLATIONS: readonly Isolation[] = ["shared", "memory", "full"];

const smallWorkloads = fc
  .record({
    migStrategy: fc.constantFrom(undefined, "single" as const, "mixed" as const),
    gpus: fc.uniqueArray(
      fc.record({
        gpu: fc.constantFrom(...GPUS),
        gpusPerNode: fc.constantFrom(1, 1, 2),
        costPerNode: fc.constantFrom(0.5, 0.8, 1, 2.5, 3.2),
        maxNodes: fc.integer({ min: 1, max: 3 }),
      }),
      { minLength: 1, maxLength: 3, selector: (o) => o.gpu },
    ),
    servers: fc.array(
      fc.record(
        {
          modelMemoryGiB: fc.constantFrom(0.5, 2, 4.2, 7, 9, 15, 19),
          overheadGiB: fc.constantFrom(0, 0.25, 1.5),
          maxReplicas: fc.integer({ min: 1, max: 6 }),
          isolation: fc.constantFrom(...ISOLATIONS),
        },
        { requiredKeys: ["modelMemoryGiB", "maxReplicas", "isolation"] },
      ),
      { minLength: 1, maxLength: 4 },
    ),
    // Small pod budgets too, so that the node's pod limit binds on small inputs.
    nodePods: fc.constantFrom(
      undefined,
      { maxPodsPerNode: 20, systemPodsPerNode: 12 },
      { maxPodsPerNode: 12, systemPodsPerNode: 6 },
    ),
  })
  .map((r) => ({
    ...(r.migStrategy === undefined ? {} : { migStrategy: r.migStrategy }),
    ...(r.nodePods ?? {}),
    gpus: Object.fromEntries(
      r.gpus.map((g) => [g.gpu, { gpusPerNode: g.gpusPerNode, costPerNode: g.costPerNode, maxNodes: g.maxNodes }]),
    ),
    servers: Object.fromEntries(r.servers.map((s, i) => [`server-${i}`, s])),
  }));

/** Small workloads where some servers are planned on requests, with random curves on the GPUs on offer. */
const requestWorkloads = fc
  .record({
    base: smallWorkloads,
    asked: fc.array(
      fc.record({
        modelMemoryGiB: fc.constantFrom(0.5, 2, 7),
        isolation: fc.constantFrom(...ISOLATIONS),
        minReplicas: fc.constantFrom(1, 1, 3),
        slo: fc.record({ requestsPerSecond: fc.constantFrom(100, 400, 1500), p99Ms: fc.constantFrom(6, 10, 20) }),
        curves: fc.array(
          fc.record({
            gpu: fc.constantFrom(...GPUS),
            onOffer: fc.constantFrom(true, true, false),
            profile: fc.integer({ min: -3, max: 3 }),
            sharing: fc.constantFrom("none" as const, "timeSlicing" as const, "mps" as const),
            // Gains per step and p99s: a gain of 0 makes a knee; p99s need not rise.
            gains: fc.array(fc.constantFrom(0, 10, 60, 150, 300), { minLength: 1, maxLength: 4 }),
            p99s: fc.array(fc.constantFrom(3, 5, 8, 12, 25), { minLength: 4, maxLength: 4 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
      }),
      { minLength: 1, maxLength: 2 },
    ),
  })
  .map(({ base, asked }) => ({
    // The default pod budget: under a budget smaller than a maximal MIG layout's devices, only a layout with fewer
    // slices hosts a server whose curves bind it to one profile, and the planner plans with maximal layouts only.
    ...Object.fromEntries(Object.entries(base).filter(([k]) => k !== "maxPodsPerNode" && k !== "systemPodsPerNode")),
    servers: {
      ...base.servers,
      ...Object.fromEntries(
        asked.map((a, i) => [
          `asked-${i}`,
          {
            modelMemoryGiB: a.modelMemoryGiB,
            isolation: a.isolation,
            minReplicas: a.minReplicas,
            slo: a.slo,
            curves: a.curves.map((c) => {
              // Mostly on a GPU on offer, so that most inputs have a plan.
              const offered = Object.keys(base.gpus);
              const gpu = c.onOffer ? offered[Math.abs(c.profile) % offered.length] : c.gpu;
              // Profiles the planner lays out (one-profile layouts of two slices or more): it plans no single-slice
              // layout, which a whole GPU beats for servers counted in replicas but not for a curve bound to it.
              const model = findGpuModel(gpu);
              const profiles = model === undefined ? [] : homogeneousLayouts(model).flatMap((l) => Object.keys(l));
              const migProfile = c.profile >= 0 ? profiles[c.profile % Math.max(profiles.length, 1)] : undefined;
              const pods = c.sharing === "none" ? [1] : [1, 2, 4, 8].slice(0, c.gains.length);
              let rps = 0;
              return {
                gpu,
                ...(migProfile === undefined ? {} : { migProfile }),
                sharing: c.sharing,
                points: pods.map((p, j) => {
                  rps += j === 0 ? Math.max(c.gains[0], 50) : c.gains[j];
                  return { pods: p, requestsPerSecond: rps, p99Ms: c.p99s[j] };
                }),
              };
            }),
          },
        ]),
      ),
    },
  }));

async function planOrUndefined(w: Workloads): Promise<Plan | undefined> {
  try {
    return await planLayouts(w);
  } catch (e) {
    if (e instanceof PlanError) return undefined;
    throw e;
  }
}

describe("planLayouts, on random small workloads", () => {
  it("costs exactly what a brute force over every plan finds, or fails where the brute force finds nothing", async () => {
    await fc.assert(
      fc.asyncProperty(smallWorkloads, async (raw) => {
        const w = parseWorkloads(raw);
        const plan = await planOrUndefined(w);
        const optimum = bruteForceCost(w);
        if (plan === undefined) {
          expect(optimum).toBe(Infinity);
          return;
        }
        expect(plan.cost).toBeCloseTo(optimum, 9);
        expect(plan.provenOptimal).toBe(true);
        expect(plan.lowerBound).toBeCloseTo(plan.cost, 9);
      }),
      { numRuns: 100, seed: 14 },
    );
  }, 300_000);

  it("with servers planned on requests, costs exactly what the brute force finds, or fails where it finds nothing", async () => {
    let planned = 0;
    await fc.assert(
      fc.asyncProperty(requestWorkloads, async (raw) => {
        const w = parseWorkloads(raw);
        const plan = await planOrUndefined(w);
        const optimum = bruteForceCost(w);
        if (plan === undefined) {
          expect(optimum).toBe(Infinity);
          return;
        }
        planned++;
        expect(plan.cost).toBeCloseTo(optimum, 9);
        expect(plan.provenOptimal).toBe(true);
        for (const s of plan.servers.filter((p) => p.serving !== undefined)) {
          const v = s.serving;
          expect(v?.requestsPerSecond).toBeGreaterThanOrEqual((v?.slo.requestsPerSecond ?? Infinity) - 1e-6);
          expect(v?.p99Ms).toBeLessThanOrEqual((v?.slo.p99Ms ?? 0) + 1e-9);
          expect(s.maxReplicas).toBe((v?.devices ?? 0) * (v?.podsPerDevice ?? 0));
        }
      }),
      { numRuns: 120, seed: 18 },
    );
    // The corpus must exercise plans, not only failures.
    expect(planned).toBeGreaterThan(8);
  }, 300_000);

  it("gives a stack config that passes validation with every server's peak fitting", async () => {
    await fc.assert(
      fc.asyncProperty(smallWorkloads, async (raw) => {
        const w = parseWorkloads(raw);
        const plan = await planOrUndefined(w);
        if (plan === undefined) return;
        const config = parseStackConfig(
          Object.fromEntries(Object.entries(stackConfigOf(plan)).map(([k, v]) => [k.replace(/^gpushare:/, ""), v])),
        );
        expect(config.warnings).toEqual([]);
        expect(config.servers.map((s) => s.name).sort()).toEqual(w.servers.map((s) => s.name).sort());
        for (const row of capacityTable(config)) expect(row.headroom).toBeGreaterThanOrEqual(0);
        for (const s of config.servers) {
          expect(s.maxReplicas).toBeLessThanOrEqual(s.pool.atMaxNodes[s.resource]);
          const planned = plan.servers.find((p) => p.name === s.name);
          expect(planned?.headroomGiB).toBeGreaterThanOrEqual(-1e-6);
          expect(planned?.memoryPerReplicaGiB).toBeGreaterThanOrEqual(
            (planned?.modelMemoryGiB ?? Infinity) + (planned?.overheadGiB ?? Infinity) - 1e-6,
          );

          if (planned?.isolation === "full") expect(s.device.sharing).toBe("none");
          if (planned?.isolation === "memory") expect(s.device.sharing).not.toBe("timeSlicing");
        }
        const cost = plan.pools.reduce((n, p) => n + p.nodes.max * p.offer.costPerNode, 0);
        expect(plan.cost).toBeCloseTo(cost, 9);
        for (const o of w.offers) {
          const nodes = plan.pools.filter((p) => p.offer.gpu === o.gpu).reduce((n, p) => n + p.nodes.max, 0);
          expect(nodes).toBeLessThanOrEqual(o.maxNodes);
        }
      }),
      { numRuns: 60, seed: 41 },
    );
  }, 300_000);
});

describe("the brute force itself", () => {
  it("finds the write-up's one A100 for 7 isolated replicas", () => {
    const w = parseWorkloads({
      gpus: { "A100-SXM4-40GB": { costPerNode: 3.2, maxNodes: 1 }, T4: { costPerNode: 0.55, maxNodes: 5 } },
      servers: { densenet: { modelMemoryGiB: 0.5, maxReplicas: 7, isolation: "full" } },
    });
    expect(bruteForceCost(w)).toBe(3.2);
  });

  it("finds nothing where nothing fits", () => {
    const w = parseWorkloads({
      gpus: { T4: { costPerNode: 0.55, maxNodes: 1 } },
      servers: { llm: { modelMemoryGiB: 20, maxReplicas: 1, isolation: "full" } },
    });
    expect(bruteForceCost(w)).toBe(Infinity);
    expect(findGpuModel("T4")?.memoryGiB).toBe(15079 / 1024);
  });

  it("finds nothing where only the marketing figure would fit", () => {
    const w = parseWorkloads({
      gpus: { T4: { costPerNode: 0.55, maxNodes: 1 } },
      servers: { llm: { modelMemoryGiB: 15, maxReplicas: 1, isolation: "full" } },
    });
    expect(bruteForceCost(w)).toBe(Infinity);
  });

  it("spreads 120 small replicas over two T4s, the pod budget allowing 94 on one", () => {
    const w = parseWorkloads({
      gpus: { T4: { costPerNode: 0.55, maxNodes: 4 } },
      servers: { tiny: { modelMemoryGiB: 0.1, overheadGiB: 0.01, maxReplicas: 120, isolation: "shared" } },
    });
    expect(bruteForceCost(w)).toBeCloseTo(1.1, 12);
  });
});
