import type { AdvertisedDevice, MigStrategy, NodePodLimit, PoolSharingSpec } from "../gpu/capacity";
import { advertisedDevices, gpuPodBudget } from "../gpu/capacity";
import { gib, memoryFit, replicaOverheadGiB } from "../gpu/memory";
import { type Problem, problemCount, problemFromText, UserError } from "../problems";
import type { SolveLimits } from "./milp";
import { LinearProgram } from "./milp";
import type { GpuOffer, Isolation, WorkloadServer, Workloads } from "./input";
import type { DeviceKind, NodeShape, Sharing } from "./shapes";
import { demandAt, hosts, nodeShapes, servingAt, sharingLimit, sharingsFor, UNSHARED } from "./shapes";
import type { Draft } from "./search";
import { searchPlan } from "./search";
import { BOUND_COST_EPSILON } from "./tolerance";
import type { ServingObjective, SharingCurve } from "../gpu/sharing-curve";

/** One resource a planned pool advertises, and who claims it. */
export interface PlannedResource {
  /** The resource pods request, e.g. `nvidia.com/mig-1g.5gb`. */
  readonly resource: string;
  /** The MIG profile behind it, if any. */
  readonly migProfile?: string;
  /** Memory of one physical device, GiB. */
  readonly memoryGiB: number;
  readonly sharing: Sharing["mode"];
  /** Pods per physical device. */
  readonly replicas: number;
  /** What the pool advertises at its max node count. */
  readonly advertised: number;
  /** The servers' max replicas on it (for a server planned on requests, devices × pods per device), summed. */
  readonly claimed: number;
  readonly servers: readonly string[];
}

export interface PlannedPool {
  /** Pool name in the stack config. */
  readonly name: string;
  readonly offer: GpuOffer;
  readonly nodes: { readonly min: number; readonly max: number };
  /** MIG instances per GPU, absent for whole GPUs. */
  readonly migProfiles?: Readonly<Record<string, number>>;
  /** Time-slicing replicas: one number, or per MIG profile under `mixed`. */
  readonly timeSlicing?: number | Readonly<Record<string, number>>;
  /** MPS clients per GPU. */
  readonly mps?: number;
  readonly resources: readonly PlannedResource[];
  /**
   * Labels of the pool's nodes when another pool runs the same GPU model in an existing cluster: node-feature-discovery
   * cannot tell their nodes apart by PCI id, so the node groups must carry them. In OpenStack mode it tells them apart
   * by node name (Magnum names nodes after their node group, which gpushare names after the pool), and none is set.
   */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** costPerNode × max nodes. */
  readonly cost: number;
  readonly gpus: number;
}

export interface PlannedServer {
  readonly name: string;
  readonly pool: string;
  readonly resource: string;
  readonly modelMemoryGiB: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly isolation: Isolation;
  /** How the resource is shared. */
  readonly sharing: Sharing["mode"];
  /**
   * The memory each replica can count on, GiB: the device's as nvidia-smi reports it, divided among the pods that
   * share it (less the MPS server's under MPS).
   */
  readonly memoryPerReplicaGiB: number;
  /** What each replica's process takes besides its model, GiB. */
  readonly overheadGiB: number;
  /** The overhead the workloads file gives for the server, if it gives one. */
  readonly declaredOverheadGiB?: number;
  /** memoryPerReplica − (model + overhead): never negative in a plan. */
  readonly headroomGiB: number;
  /** For a server planned on requests: what its max replicas serve, and the objective they meet. */
  readonly serving?: PlannedServing;
}

/** What a server planned on requests serves at its peak: `devices` devices with `podsPerDevice` pods each. */
export interface PlannedServing {
  readonly slo: ServingObjective;
  /** The curve the plan read: measured on the server's device and sharing. */
  readonly curve: SharingCurve;
  readonly devices: number;
  readonly podsPerDevice: number;
  /** Requests per second the devices serve together at that many pods each. */
  readonly requestsPerSecond: number;
  /** The p99 at that many pods per device, ms. */
  readonly p99Ms: number;
}

export interface Plan {
  readonly migStrategy: MigStrategy;
  readonly pools: readonly PlannedPool[];
  readonly servers: readonly PlannedServer[];
  readonly cost: number;
  readonly gpus: number;
  /** A proven lower bound on the cost of any plan: the plan is optimal when its cost equals it. */
  readonly lowerBound: number;
  /**
   * What proves the bound: `exact`, the integer program over every candidate pool (its optimum, or its dual bound
   * when its time ran out); `relaxation`, the LP relaxation or the cheapest pool that fits the most demanding
   * server alone, whichever is higher.
   */
  readonly lowerBoundSource: "exact" | "relaxation";
  /**
   * Where the plan comes from: `exact`, the integer program over every candidate pool (its optimum, or its best
   * plan when its time ran out); `heuristic`, the greedy start and local search.
   */
  readonly search: "exact" | "heuristic";
  /** Whether no cheaper plan exists: the cost equals the lower bound. */
  readonly provenOptimal: boolean;
  /** The pod limit the plan keeps on every node. */
  readonly nodePods: NodePodLimit;
  /** The cluster mode the plan is for. */
  readonly clusterKind: Workloads["clusterKind"];
}

const PLAN_SUBJECT = "no plan hosts these workloads";

/** The workloads cannot be planned on what is on offer; every reason is named. */
export class PlanError extends UserError {
  constructor(problems: readonly Problem[]) {
    super(PLAN_SUBJECT, problems, { heading: `${PLAN_SUBJECT} (${problemCount(problems.length)}):` });
    this.name = "PlanError";
  }
}

export interface PlanOptions {
  /**
   * When the search's plan does not meet the lower bound, the exact integer program runs while it has at most this
   * many binary variables (HiGHS in WebAssembly takes about a second for 2500 on 2 cores).
   * @default DEFAULT_EXACT_LIMIT
   */
  readonly exactLimit?: number;
  /**
   * Wall-clock budget of the exact integer program, seconds; past it the cheaper of its best plan and the search's
   * is kept, with the better of the two lower bounds.
   * @default DEFAULT_TIME_SECONDS
   */
  readonly timeSeconds?: number;
}

/** The label that tells apart the node groups of two pools of one GPU model; each node group must carry it. */
export const NODE_GROUP_LABEL = "gpushare.io/node-group";

export const DEFAULT_EXACT_LIMIT = 2500;
export const DEFAULT_TIME_SECONDS = 10;

/** A pool type with its sharing fixed: what one node offers per kind, under what strategy. */
interface PoolType {
  readonly shape: NodeShape;
  readonly sharings: readonly Sharing[];
  /** The strategy it needs; undefined when any will do. */
  readonly strategy?: MigStrategy;
}

function typeStrategy(shape: NodeShape, sharings: readonly Sharing[]): MigStrategy | undefined {
  return shape.strategy ?? (sharings.some((s) => s.mode === "mps") ? "single" : undefined);
}

function offerOf(w: Workloads, shape: NodeShape): GpuOffer {
  return w.offers[shape.offer];
}

/** Servers that fit no device on offer at all, and servers whose peak exceeds any single pool at the node limit. */
function hopelessServers(w: Workloads, shapes: readonly NodeShape[], types: readonly PoolType[]): string[] {
  const problems: string[] = [];
  for (const s of w.servers) {
    // The largest device on offer, by what it leaves the server's replica after its overhead.
    let largest: { room: number; what: string } | undefined;
    for (const shape of shapes) {
      const gpu = offerOf(w, shape).gpu;
      for (const k of shape.kinds) {
        const overhead = replicaOverheadGiB(gpu, s.overheadGiB);
        const room = k.memoryGiB - overhead;
        if (largest === undefined || room > largest.room) {
          const device = k.profile === undefined ? `a whole ${gpu.name}` : `a ${k.profile} slice of ${gpu.name}`;
          largest = {
            room,
            what: `${device}: ${gib(k.memoryGiB)} as nvidia-smi reports it, less ${gib(overhead)} per-replica overhead`,
          };
        }
      }
    }
    if (largest === undefined || s.modelMemoryGiB > largest.room + 1e-6) {
      problems.push(
        `servers.${s.name}.modelMemoryGiB: ${s.modelMemoryGiB} GiB fits no GPU or MIG slice on offer; the most a replica's model gets is ${gib(Math.max(largest?.room ?? 0, 0))} (${largest?.what ?? "nothing on offer"}); offer a GPU with more memory under gpus, or a smaller model`,
      );
      continue;
    }
    if (s.serving !== undefined) {
      const problem = servingProblem(w, s, shapes, types);
      if (problem !== undefined) problems.push(problem);
      continue;
    }
    const maxReplicas = s.maxReplicas ?? 0;
    let best: { count: number; what: string; podLimited: boolean } = { count: 0, what: "", podLimited: false };
    for (const t of types) {
      const o = offerOf(w, t.shape);
      t.shape.kinds.forEach((k, i) => {
        if (!hosts(s, o.gpu, k, t.sharings[i])) return;
        const count = k.perNode * t.sharings[i].replicas * o.maxNodes;
        if (count > best.count) {
          best = {
            count,
            what: `${o.maxNodes} × ${o.gpu.name} node${o.maxNodes === 1 ? "" : "s"}, ${describeKind(k, t.sharings[i])}`,
            podLimited: t.sharings[i].replicas > 1 && t.sharings[i].replicas === k.maxPods,
          };
        }
      });
    }
    if (best.count < maxReplicas) {
      const pods = best.podLimited
        ? `; a node runs at most ${gpuPodBudget(w.nodePods)} GPU pods: maxPodsPerNode ${w.nodePods.maxPodsPerNode} less ${w.nodePods.systemPodsPerNode} system pods`
        : "";
      problems.push(
        `servers.${s.name}.maxReplicas: ${s.maxReplicas} replicas (${s.isolation} isolation, ${s.modelMemoryGiB} GiB model each plus its process's overhead) fit no pool within the node limits; the most is ${best.count} (${best.what}${pods}); gpushare puts each server on one resource of one pool, so raise maxNodes under gpus, or lower maxReplicas and split the server into two`,
      );
    }
  }
  return problems;
}

/**
 * Why a server planned on requests fits no pool: no curve for a device on offer, an objective's p99 below every
 * reading, or more requests than a pool at the node limit serves.
 */
function servingProblem(
  w: Workloads,
  s: WorkloadServer,
  shapes: readonly NodeShape[],
  types: readonly PoolType[],
): string | undefined {
  const serving = s.serving;
  if (serving === undefined) return undefined;
  const at = `servers.${s.name}`;
  const measured = serving.curves.map((c) => `${c.gpu}${c.migProfile === undefined ? "" : ` ${c.migProfile}`}`);
  const offered = shapes.flatMap((shape) =>
    shape.kinds.map((k) => `${offerOf(w, shape).gpu.name}${k.profile === undefined ? "" : ` ${k.profile}`}`),
  );
  if (!measured.some((m) => offered.includes(m))) {
    return `${at}.curves: measured on ${[...new Set(measured)].join(", ")}, none of which is on offer (gpus: ${w.offers.map((o) => o.gpu.name).join(", ")}); add a curve measured on a GPU on offer (npm run advise learns one), or offer a GPU the server was measured on`;
  }
  let best: { served: number; what: string } | undefined;
  for (const t of types) {
    const o = offerOf(w, t.shape);
    for (const [i, k] of t.shape.kinds.entries()) {
      const sharing = t.sharings[i];
      if (sharing.replicas > sharingLimit(s, o.gpu, k, sharing.mode)) continue;
      const plan = servingAt(s, o.gpu, k, sharing);
      if (plan === undefined) continue;
      if (Math.ceil(plan.devices / k.perNode) <= o.maxNodes) return undefined;
      const served = plan.reading.requestsPerSecond * k.perNode * o.maxNodes;
      if (best === undefined || served > best.served) {
        best = {
          served,
          what: `${o.maxNodes} × ${o.gpu.name} node${o.maxNodes === 1 ? "" : "s"}, ${describeKind(k, sharing)}, p99 ${plan.reading.p99Ms.toFixed(2)} ms`,
        };
      }
    }
  }
  const objective = `${serving.slo.requestsPerSecond} requests/s within p99 ${serving.slo.p99Ms} ms`;
  if (best === undefined) {
    return `${at}.slo: ${objective} is met by no curve on a device on offer at any pods per device the memory and node limits allow (the p99 is higher, or a pod runs past the curve's knee); raise slo.p99Ms, measure the server on a faster device, or offer one`;
  }
  return `${at}.slo: ${objective} fits no pool within the node limits; the most is ${Math.floor(best.served)} requests/s (${best.what}); gpushare puts each server on one resource of one pool, so raise maxNodes under gpus, lower the objective, or split the server into two`;
}

function describeKind(k: DeviceKind, s: Sharing): string {
  const device = k.profile === undefined ? "whole GPUs" : `${k.profile} slices`;
  return s.mode === "none" ? device : `${device} with ${s.mode} × ${s.replicas}`;
}

/** Every pool type with one kind of device: whole GPUs or one-profile layouts, with each useful sharing. */
function singleKindTypes(w: Workloads, shapes: readonly NodeShape[], strategies: readonly MigStrategy[]): PoolType[] {
  const out: PoolType[] = [];
  for (const shape of shapes) {
    if (shape.kinds.length !== 1) continue;
    const gpu = offerOf(w, shape).gpu;
    for (const sharing of sharingsFor(gpu, shape.kinds[0], shape.strategy, w.servers)) {
      const strategy = typeStrategy(shape, [sharing]);
      if (strategy !== undefined && !strategies.includes(strategy)) continue;
      out.push({ shape, sharings: [sharing], ...(strategy === undefined ? {} : { strategy }) });
    }
  }
  return out;
}

/** The strategies the planner may choose from. */
function allowedStrategies(w: Workloads): MigStrategy[] {
  return w.migStrategy === undefined ? ["single", "mixed"] : [w.migStrategy];
}

/**
 * Plans GPU pools for the workloads at the least total cost (Σ costPerNode × nodes), within the node limits: which
 * GPU model, MIG layout and sharing each pool has, how many nodes, and which pool and resource each server
 * requests. Per MIG strategy, the LP relaxation gives a lower bound and a local search a plan; a plan that meets
 * the bound is optimal. Otherwise, while it is small, the integer program over every candidate pool (HiGHS) finds
 * the optimum; larger inputs keep the search's plan, reported with its distance to the bound.
 */
export async function planLayouts(w: Workloads, options: PlanOptions = {}): Promise<Plan> {
  const strategies = allowedStrategies(w);
  const shapes = nodeShapes(w.offers, strategies, w.nodePods);
  const single = singleKindTypes(w, shapes, strategies);
  const multi = shapes.filter((s) => s.kinds.length > 1);
  const hopeless = hopelessServers(w, shapes, [
    ...single,
    ...multi.map((shape) => ({ shape, sharings: shape.kinds.map(() => UNSHARED), strategy: shape.strategy })),
  ]);
  if (hopeless.length > 0) throw new PlanError(hopeless.map(problemFromText));
  const limits: SolveLimits = { timeSeconds: options.timeSeconds ?? DEFAULT_TIME_SECONDS };

  // First, per strategy, the LP relaxation (a lower bound) and the heuristic search.
  let relaxed = Infinity;
  let best: { drafts: Draft[]; cost: number } | undefined;
  for (const strategy of strategies) {
    const lp = await relaxation(w, strategy, shapes);
    if (lp === undefined) continue;
    relaxed = Math.min(relaxed, lp);
    const r = searchPlan(w, shapes, strategy);
    if (r !== undefined && (best === undefined || r.cost < best.cost - BOUND_COST_EPSILON)) best = r;
  }
  if (relaxed === Infinity) throw new PlanError([problemFromText(nodeLimitProblem(w))]);
  // Both bounds are proven: the relaxation (the cheaper strategy's) and the cheapest pool that fits the most
  // demanding server alone.
  let bound = Math.max(relaxed, floorBound(w, shapes));
  if (best !== undefined && best.cost <= bound + BOUND_COST_EPSILON) {
    return finish(w, best.drafts, {
      provenOptimal: true,
      search: "heuristic",
      lowerBound: best.cost,
      lowerBoundSource: "relaxation",
    });
  }

  // Not proven optimal: the exact program, while it is small enough.
  const exact = await solveExact(w, single, multi, strategies, options.exactLimit ?? DEFAULT_EXACT_LIMIT, limits);
  if (exact.kind === "infeasible") throw new PlanError([problemFromText(nodeLimitProblem(w))]);
  if (exact.kind === "optimal") {
    return finish(w, exact.drafts, {
      provenOptimal: true,
      search: "exact",
      lowerBound: exact.cost,
      lowerBoundSource: "exact",
    });
  }
  let search: Plan["search"] = "heuristic";
  if (exact.kind === "limited") {
    bound = Math.max(bound, exact.bound);
    if (best === undefined || exact.cost < best.cost - BOUND_COST_EPSILON) {
      best = { drafts: exact.drafts, cost: exact.cost };
      search = "exact";
    }
  }
  if (best === undefined) throw new PlanError([problemFromText(nodeLimitProblem(w))]);
  return finish(w, best.drafts, {
    provenOptimal: best.cost <= bound + BOUND_COST_EPSILON,
    search,
    lowerBound: Math.min(bound, best.cost),
    lowerBoundSource: exact.kind === "limited" && exact.bound >= bound - BOUND_COST_EPSILON ? "exact" : "relaxation",
  });
}

function nodeLimitProblem(w: Workloads): string {
  return `servers: together the servers need more than the node limits allow (${w.offers
    .map((o) => `gpus.${o.gpu.name}.maxNodes ${o.maxNodes}`)
    .join(", ")}); raise maxNodes or offer another GPU model`;
}

/** Any plan hosts each server somewhere: at least the cheapest pool that fits its peak on its own. */
function floorBound(w: Workloads, shapes: readonly NodeShape[]): number {
  let bound = 0;
  const strategies = allowedStrategies(w);
  for (const s of w.servers) {
    let cheapest = Infinity;
    for (const shape of shapes) {
      const o = offerOf(w, shape);
      for (const k of shape.kinds) {
        // The server alone: its own limit per mode, or on requests every count that may need fewer devices.
        for (const sharing of sharingsFor(o.gpu, k, shape.strategy, [s])) {
          if (sharing.mode === "mps" && (shape.strategy === "mixed" || !strategies.includes("single"))) continue;
          const nodes = Math.ceil(demandAt(s, o.gpu, k, sharing) / (k.perNode * sharing.replicas));
          if (nodes <= o.maxNodes) cheapest = Math.min(cheapest, nodes * o.costPerNode);
        }
      }
    }
    if (cheapest < Infinity) bound = Math.max(bound, cheapest);
  }
  return bound;
}

type ExactResult =
  | { readonly kind: "optimal"; readonly drafts: Draft[]; readonly cost: number }
  | { readonly kind: "limited"; readonly drafts: Draft[]; readonly cost: number; readonly bound: number }
  | { readonly kind: "infeasible" }
  | { readonly kind: "skipped" };

/** One copy of a multi-profile layout in the exact program: its shape and the sharings each kind may take. */
interface Copy {
  readonly shape: NodeShape;
  readonly options: readonly Sharing[][];
}

/** A single-kind pool type in the exact program: its nodes and, per eligible server, whether it goes there. */
interface SinglePlace {
  readonly x: number;
  readonly type: PoolType;
  readonly y: ReadonlyMap<number, number>;
}

/** A copy in the exact program: its nodes, its sharing choices (`kind/option`) and its servers per choice. */
interface CopyPlace {
  readonly copy: Copy;
  readonly x: number;
  readonly y: ReadonlyMap<string, ReadonlyMap<number, number>>;
}

/**
 * The exact program under construction, and what its parts share: each server's place variables (one must be
 * taken), each offer's node variables (within its limit), a variable per MIG strategy when both are allowed
 * (one may be used), and each place's tie-break weight.
 */
interface ExactProgram {
  readonly lp: LinearProgram;
  readonly serverTerms: [number, number][][];
  readonly nodeTerms: Map<number, [number, number][]>;
  readonly strategyVar: Map<MigStrategy, number>;
  readonly tieBreak: Map<number, number>;
}

/**
 * The copies of each multi-profile layout worth a place in the program, and the binaries the whole program
 * would have: the measure of its size.
 */
function exactSize(
  w: Workloads,
  single: readonly PoolType[],
  multi: readonly NodeShape[],
): { copies: Copy[]; binaries: number } {
  const S = w.servers;
  const copies: Copy[] = [];
  let binaries = 0;
  for (const t of single) {
    const gpu = offerOf(w, t.shape).gpu;
    binaries += S.filter((s) => hosts(s, gpu, t.shape.kinds[0], t.sharings[0])).length;
  }
  for (const shape of multi) {
    const gpu = offerOf(w, shape).gpu;
    const fitting = S.filter((s) => shape.kinds.some((k) => sharingLimit(s, gpu, k, "none") > 0));
    const usable = shape.kinds.filter((k) => S.some((s) => sharingLimit(s, gpu, k, "none") > 0)).length;
    // A copy used by one kind only is no better than that kind's one-profile layout: useful copies host two
    // servers or more.
    const count = Math.min(Math.floor(fitting.length / 2), offerOf(w, shape).maxNodes);
    if (usable < 2 || count === 0) continue;
    const options = shape.kinds.map((k) => sharingsFor(gpu, k, shape.strategy, S));
    for (let j = 0; j < count; j++) copies.push({ shape, options });
    for (const [d, k] of shape.kinds.entries()) {
      for (const o of options[d]) binaries += count * (1 + S.filter((s) => hosts(s, gpu, k, o)).length);
    }
  }
  return { copies, binaries };
}

/** A node variable for a pool of offer `offerIndex`, counted against the offer's node limit. */
function nodeVariable(program: ExactProgram, w: Workloads, offerIndex: number): number {
  const o = w.offers[offerIndex];
  const x = program.lp.variable(o.costPerNode, 0, o.maxNodes, true);
  program.nodeTerms.set(offerIndex, [...(program.nodeTerms.get(offerIndex) ?? []), [x, 1]]);
  return x;
}

/** When both strategies are allowed, nodes `x` of a pool that needs `sigma` turn on `sigma`'s variable. */
function needsStrategy(
  program: ExactProgram,
  strategies: readonly MigStrategy[],
  sigma: MigStrategy | undefined,
  x: number,
  offer: GpuOffer,
): void {
  if (sigma === undefined || strategies.length === 1) return;
  let v = program.strategyVar.get(sigma);
  if (v === undefined) {
    v = program.lp.variable(0, 0, 1, true);
    program.strategyVar.set(sigma, v);
  }
  program.lp.constraint(
    [
      [x, 1],
      [v, -offer.maxNodes],
    ],
    -Infinity,
    0,
  );
}

/** Nodes per single-kind pool type, and a binary per server it hosts; what the servers take fits the pool. */
function addSinglePlaces(
  program: ExactProgram,
  w: Workloads,
  single: readonly PoolType[],
  strategies: readonly MigStrategy[],
): SinglePlace[] {
  const { lp, serverTerms, tieBreak } = program;
  const S = w.servers;
  const places: SinglePlace[] = [];
  for (const t of single) {
    const o = offerOf(w, t.shape);
    const k = t.shape.kinds[0];
    const eligible = S.flatMap((s, i) => (hosts(s, o.gpu, k, t.sharings[0]) ? [i] : []));
    if (eligible.length === 0) continue;
    const x = nodeVariable(program, w, t.shape.offer);
    needsStrategy(program, strategies, t.strategy, x, o);
    const y = new Map<number, number>();
    const cap: [number, number][] = [[x, -k.perNode * t.sharings[0].replicas]];
    const perNode = k.perNode * t.sharings[0].replicas;
    for (const i of eligible) {
      const v = lp.variable(0, 0, 1, true);
      y.set(i, v);
      serverTerms[i].push([v, 1]);
      tieBreak.set(v, tieWeight(t.sharings[0]));
      const demand = demandAt(S[i], o.gpu, k, t.sharings[0]);
      cap.push([v, demand]);
      atLeastNodes(lp, x, v, Math.ceil(demand / perNode));
    }
    lp.constraint(cap, -Infinity, 0);
    places.push({ x, type: t, y });
  }
  return places;
}

/**
 * Nodes per copy, a binary per kind and sharing (at most one per kind), and a binary per server it hosts, allowed
 * only under its sharing; what the servers take fits the copy.
 */
function addCopies(
  program: ExactProgram,
  w: Workloads,
  copies: readonly Copy[],
  strategies: readonly MigStrategy[],
): CopyPlace[] {
  const { lp, serverTerms, tieBreak } = program;
  const copyVars: CopyPlace[] = [];
  let previous: { shape: NodeShape; x: number } | undefined;
  for (const c of copies) {
    const o = offerOf(w, c.shape);
    const x = nodeVariable(program, w, c.shape.offer);
    needsStrategy(program, strategies, c.shape.strategy, x, o);
    // Copies of one layout are interchangeable: order them by nodes.
    if (previous !== undefined && previous.shape === c.shape) {
      lp.constraint(
        [
          [previous.x, 1],
          [x, -1],
        ],
        0,
        Infinity,
      );
    }
    previous = { shape: c.shape, x };
    const ys = new Map<string, Map<number, number>>();
    for (const [d, k] of c.shape.kinds.entries()) {
      const one: [number, number][] = [];
      for (const [oi, sharing] of c.options[d].entries()) {
        const zv = lp.variable(0, 0, 1, true);
        one.push([zv, 1]);
        const y = new Map<number, number>();
        const cap: [number, number][] = [[x, -k.perNode * sharing.replicas]];
        w.servers.forEach((s, i) => {
          if (!hosts(s, o.gpu, k, sharing)) return;
          const v = lp.variable(0, 0, 1, true);
          y.set(i, v);
          serverTerms[i].push([v, 1]);
          tieBreak.set(v, tieWeight(sharing));
          const demand = demandAt(s, o.gpu, k, sharing);
          cap.push([v, demand]);
          lp.constraint(
            [
              [v, 1],
              [zv, -1],
            ],
            -Infinity,
            0,
          );
          atLeastNodes(lp, x, v, Math.ceil(demand / (k.perNode * sharing.replicas)));
        });
        lp.constraint(cap, -Infinity, 0);
        ys.set(`${d}/${oi}`, y);
      }
      lp.constraint(one, -Infinity, 1);
    }
    copyVars.push({ copy: c, x, y: ys });
  }
  return copyVars;
}

/** The rows across places: each server takes one place, node limits per GPU model, one MIG strategy. */
function addSharedRows(program: ExactProgram, w: Workloads): void {
  const { lp } = program;
  for (const terms of program.serverTerms) lp.constraint(terms, 1, 1);
  for (const [offerIndex, terms] of program.nodeTerms) {
    lp.constraint(terms, -Infinity, w.offers[offerIndex].maxNodes);
  }
  if (program.strategyVar.size === 2)
    lp.constraint(
      [...program.strategyVar.values()].map((v) => [v, 1] as [number, number]),
      -Infinity,
      1,
    );
}

/** The pools a solution of the exact program uses, with their nodes, sharings and servers. */
function draftsOf(values: readonly number[], places: readonly SinglePlace[], copyVars: readonly CopyPlace[]): Draft[] {
  const on = (v: number): boolean => values[v] > 0.5;
  const drafts: Draft[] = [];
  for (const p of places) {
    const nodes = Math.round(values[p.x]);
    const servers = new Map<number, number>();
    for (const [i, v] of p.y) if (on(v)) servers.set(i, 0);
    if (servers.size > 0)
      drafts.push({ shape: p.type.shape, sharings: p.type.sharings, nodes, servers, ...strategyOf(p.type.strategy) });
  }
  for (const cv of copyVars) {
    const servers = new Map<number, number>();
    const sharings: Sharing[] = cv.copy.shape.kinds.map(() => UNSHARED);
    for (const [key, y] of cv.y) {
      const [d, oi] = key.split("/").map(Number);
      for (const [i, v] of y) {
        if (!on(v)) continue;
        servers.set(i, d);
        sharings[d] = cv.copy.options[d][oi];
      }
    }
    if (servers.size > 0) {
      drafts.push({
        shape: cv.copy.shape,
        sharings,
        nodes: Math.round(values[cv.x]),
        servers,
        ...strategyOf(cv.copy.shape.strategy),
      });
    }
  }
  return drafts;
}

/**
 * The exact program. Variables: nodes per single-kind pool type (whole GPUs or one-profile layouts with a fixed
 * sharing; two pools of one type would merge into one); for each multi-profile layout, a few copies, each with
 * nodes and a binary choice of sharing per profile; a binary per server and place. Each server takes one place; a
 * place's max replicas fit what its pool advertises; node limits per GPU model; one MIG strategy.
 */
async function solveExact(
  w: Workloads,
  single: readonly PoolType[],
  multi: readonly NodeShape[],
  strategies: readonly MigStrategy[],
  limit: number,
  limits: SolveLimits,
): Promise<ExactResult> {
  const { copies, binaries } = exactSize(w, single, multi);
  if (binaries > limit) return { kind: "skipped" };

  const program: ExactProgram = {
    lp: new LinearProgram(),
    serverTerms: w.servers.map(() => []),
    nodeTerms: new Map(),
    strategyVar: new Map(),
    // Among plans of least cost, the least shared: fewest pods per device (more memory and compute per pod).
    tieBreak: new Map(),
  };
  const places = addSinglePlaces(program, w, single, strategies);
  const copyVars = addCopies(program, w, copies, strategies);
  addSharedRows(program, w);

  const r = await program.lp.minimise(limits, false, program.tieBreak);
  if (r.status === "infeasible") return { kind: "infeasible" };
  if (r.status === "none") return { kind: "skipped" };
  const drafts = draftsOf(r.values, places, copyVars);
  const cost = draftsCost(w, drafts);
  return r.status === "optimal" ? { kind: "optimal", drafts, cost } : { kind: "limited", drafts, cost, bound: r.bound };
}

/** Pods per device, and MPS after time-slicing at equal counts: the simpler mechanism the server accepts. */
function tieWeight(s: Sharing): number {
  return s.replicas + (s.mode === "mps" ? 0.5 : 0);
}

/**
 * `y = 1 ⇒ x ≥ nodes`: a server placed on a pool needs at least the nodes its own peak takes there. Implied by the
 * capacity row for integers, it tightens the LP relaxation that the branch and bound starts from.
 */
function atLeastNodes(lp: LinearProgram, x: number, y: number, nodes: number): void {
  lp.constraint(
    [
      [x, 1],
      [y, -nodes],
    ],
    0,
    Infinity,
  );
}

function strategyOf(strategy: MigStrategy | undefined): { strategy?: MigStrategy } {
  return strategy === undefined ? {} : { strategy };
}

function draftsCost(w: Workloads, drafts: readonly Draft[]): number {
  return drafts.reduce((n, d) => n + d.nodes * offerOf(w, d.shape).costPerNode, 0);
}

function kindKey(shape: NodeShape, k: DeviceKind): string {
  return `${shape.offer}/${k.profile ?? "whole"}`;
}

/**
 * The LP relaxation under one strategy, over classes of identical servers (isolation, model memory): nodes per
 * shape and devices per kind and sharing are fractional, replicas may split across places, and each device's
 * sharing is chosen on its own. Every plan is a solution, so its optimum is a lower bound.
 */
async function relaxation(
  w: Workloads,
  strategy: MigStrategy,
  allShapes: readonly NodeShape[],
): Promise<number | undefined> {
  const shapes = allShapes.filter((s) => s.strategy === undefined || s.strategy === strategy);
  // A class's variables are replicas for servers counted in replicas; for a server planned on requests (a class of
  // its own), the fraction of its peak placed on a sharing, which claims that fraction of its replicas there.
  const classes = new Map<string, { server: WorkloadServer; demand: number }>();
  for (const s of w.servers) {
    if (s.serving !== undefined) {
      classes.set(`requests/${s.name}`, { server: s, demand: 1 });
      continue;
    }
    const key = `${s.isolation}/${s.modelMemoryGiB}/${s.overheadGiB ?? "default"}`;
    const c = classes.get(key);
    classes.set(key, { server: s, demand: (c?.demand ?? 0) + (s.maxReplicas ?? 0) });
  }
  const lp = new LinearProgram();
  const supply = new Map<string, { gpuOffer: number; kind: DeviceKind; terms: [number, number][] }>();
  const nodeTerms = new Map<number, [number, number][]>();
  for (const shape of shapes) {
    const o = offerOf(w, shape);
    const x = lp.variable(o.costPerNode, 0, o.maxNodes, false);
    nodeTerms.set(shape.offer, [...(nodeTerms.get(shape.offer) ?? []), [x, 1]]);
    for (const k of shape.kinds) {
      const key = kindKey(shape, k);
      const entry = supply.get(key) ?? { gpuOffer: shape.offer, kind: k, terms: [] };
      entry.terms.push([x, -k.perNode]);
      supply.set(key, entry);
    }
  }
  const demand = new Map<string, [number, number][]>();
  for (const entry of supply.values()) {
    const gpu = w.offers[entry.gpuOffer].gpu;
    const terms = [...entry.terms];
    for (const sharing of sharingsFor(gpu, entry.kind, strategy, w.servers)) {
      const u = lp.variable(0, 0, Infinity, false);
      terms.push([u, 1]);
      const cap: [number, number][] = [[u, -sharing.replicas]];
      for (const [ck, c] of classes) {
        if (!hosts(c.server, gpu, entry.kind, sharing)) continue;
        const f = lp.variable(0, 0, Infinity, false);
        cap.push([f, c.server.serving === undefined ? 1 : demandAt(c.server, gpu, entry.kind, sharing)]);
        demand.set(ck, [...(demand.get(ck) ?? []), [f, 1]]);
      }
      lp.constraint(cap, -Infinity, 0);
    }
    lp.constraint(terms, -Infinity, 0);
  }
  for (const [ck, c] of classes) lp.constraint(demand.get(ck) ?? [], c.demand, c.demand);
  for (const [offer, terms] of nodeTerms) lp.constraint(terms, -Infinity, w.offers[offer].maxNodes);
  const r = await lp.minimise({}, true);
  return r.status === "optimal" ? r.objective : undefined;
}

/** The resources a pool's node advertises, with the sharing the plan gives each kind. */
function devicesOf(
  offer: GpuOffer,
  shape: NodeShape,
  sharings: readonly Sharing[],
  strategy: MigStrategy,
): AdvertisedDevice[] {
  return advertisedDevices(sharingSpec(offer, shape, sharings, strategy), strategy);
}

/** The pool's sharing as the capacity model (and the stack config) spells it. */
function sharingSpec(
  offer: GpuOffer,
  shape: NodeShape,
  sharings: readonly Sharing[],
  strategy: MigStrategy,
): PoolSharingSpec {
  const ts = timeSlicingOf(shape, sharings, strategy);
  const mps = sharings.find((s) => s.mode === "mps");
  return {
    gpu: offer.gpu,
    gpusPerNode: offer.gpusPerNode,
    ...(shape.counts === undefined ? {} : { mig: { configName: "planned", migEnabled: true, counts: shape.counts } }),
    ...(ts === undefined
      ? {}
      : { timeSlicing: { replicas: ts, renameByDefault: false, failRequestsGreaterThanOne: false } }),
    ...(mps === undefined ? {} : { mps: { replicas: mps.replicas, renameByDefault: false } }),
  };
}

function timeSlicingOf(
  shape: NodeShape,
  sharings: readonly Sharing[],
  strategy: MigStrategy,
): number | Record<string, number> | undefined {
  const sliced = shape.kinds.flatMap((k, d) =>
    sharings[d].mode === "timeSlicing" ? [{ k, n: sharings[d].replicas }] : [],
  );
  if (sliced.length === 0) return undefined;
  if (shape.counts === undefined || strategy === "single") return sliced[0].n;
  return Object.fromEntries(sliced.map(({ k, n }) => [k.profile ?? "", n]));
}

/** What one replica of `s` has on `device`, checked: a plan never holds a replica that does not fit. */
function replicaMemory(
  device: AdvertisedDevice,
  s: WorkloadServer,
  offer: GpuOffer,
): Pick<PlannedServer, "memoryPerReplicaGiB" | "overheadGiB" | "headroomGiB"> {
  const fit = memoryFit(device, s.modelMemoryGiB, replicaOverheadGiB(offer.gpu, s.overheadGiB));
  if (!fit.fits) throw new Error(`planned ${s.name} on ${device.resource} of ${offer.gpu.name}, where it does not fit`);
  return { memoryPerReplicaGiB: fit.perReplicaGiB, overheadGiB: fit.overheadGiB, headroomGiB: fit.headroomGiB };
}

/** What a server planned on requests serves as planned: the curve read, its devices, requests/s and p99. */
function servedOf(
  s: WorkloadServer,
  offer: GpuOffer,
  kind: DeviceKind,
  sharing: Sharing,
): Pick<PlannedServer, "serving"> {
  if (s.serving === undefined) return {};
  const plan = servingAt(s, offer.gpu, kind, sharing);
  if (plan === undefined) throw new Error(`planned ${s.name} on ${offer.gpu.name}, where it misses its objective`);
  return {
    serving: {
      slo: s.serving.slo,
      curve: plan.curve,
      devices: plan.devices,
      podsPerDevice: sharing.replicas,
      requestsPerSecond: plan.devices * plan.reading.requestsPerSecond,
      p99Ms: plan.reading.p99Ms,
    },
  };
}

function slug(gpuName: string): string {
  return gpuName.toLowerCase().replace(/[^a-z0-9-]+/g, "-");
}

/**
 * Turns drafts into the plan: sharing lowered to what the claims need (fewer pods per device means more memory and
 * compute per pod), nodes to what the claims need, a pool name per draft, the resource each server requests.
 */
function finish(
  w: Workloads,
  drafts: readonly Draft[],
  proof: Pick<Plan, "provenOptimal" | "search" | "lowerBound" | "lowerBoundSource">,
): Plan {
  const strategies = drafts.map((d) => d.strategy).filter((s): s is MigStrategy => s !== undefined);
  const migStrategy: MigStrategy = strategies[0] ?? w.migStrategy ?? "single";
  const ordered = [...drafts].sort(
    (a, b) => a.shape.offer - b.shape.offer || a.shape.key.localeCompare(b.shape.key) || b.nodes - a.nodes,
  );
  const perModel = new Map<number, number>();
  const pools: PlannedPool[] = [];
  const servers: PlannedServer[] = [];
  for (const d of ordered) {
    const offer = offerOf(w, d.shape);
    const claims = d.shape.kinds.map((_, k) =>
      [...d.servers].filter(([, kind]) => kind === k).map(([i]) => w.servers[i]),
    );
    const claimedAt = (i: number, sharing: Sharing): number =>
      claims[i].reduce((n, s) => n + demandAt(s, offer.gpu, d.shape.kinds[i], sharing), 0);
    const minimum = claims.map((list) => list.reduce((n, s) => n + s.minReplicas, 0));
    const nodes = Math.max(
      ...d.shape.kinds.map((k, i) => Math.ceil(claimedAt(i, d.sharings[i]) / (k.perNode * d.sharings[i].replicas))),
    );
    // The fewest pods per device that still fit the claims at these nodes. A server planned on requests claims the
    // replicas of the count it gets, and must meet its objective there.
    const sharings = d.shape.kinds.map((k, i): Sharing => {
      const s = d.sharings[i];
      if (s.mode === "none" || claims[i].length === 0) return UNSHARED;
      if (claims[i].every((c) => c.serving === undefined)) {
        const need = Math.ceil(claimedAt(i, s) / (k.perNode * nodes));
        return need <= 1 ? UNSHARED : { mode: s.mode, replicas: need };
      }
      for (let n = 1; n < s.replicas; n++) {
        const fewer: Sharing = n === 1 ? UNSHARED : { mode: s.mode, replicas: n };
        if (claims[i].every((c) => hosts(c, offer.gpu, k, fewer)) && claimedAt(i, fewer) <= k.perNode * nodes * n) {
          return fewer;
        }
      }
      return s;
    });
    const claimed = sharings.map((sharing, i) => claimedAt(i, sharing));
    const minNodes = Math.max(
      0,
      ...d.shape.kinds.map((k, i) => Math.ceil(minimum[i] / (k.perNode * sharings[i].replicas))),
    );
    const index = (perModel.get(d.shape.offer) ?? 0) + 1;
    perModel.set(d.shape.offer, index);
    const name = index === 1 ? slug(offer.gpu.name) : `${slug(offer.gpu.name)}-${index}`;
    const devices = devicesOf(offer, d.shape, sharings, migStrategy);
    const resources: PlannedResource[] = d.shape.kinds.map((k, i) => {
      const device = devices.find((dev) => dev.migProfile === k.profile);
      if (device === undefined) throw new Error(`planned pool ${name} advertises nothing for ${k.profile ?? "GPUs"}`);
      for (const s of claims[i]) {
        servers.push({
          name: s.name,
          pool: name,
          resource: device.resource,
          modelMemoryGiB: s.modelMemoryGiB,
          minReplicas: s.minReplicas,
          maxReplicas: demandAt(s, offer.gpu, k, sharings[i]),
          isolation: s.isolation,
          sharing: device.sharing,
          ...servedOf(s, offer, k, sharings[i]),
          ...replicaMemory(device, s, offer),
          ...(s.overheadGiB === undefined ? {} : { declaredOverheadGiB: s.overheadGiB }),
        });
      }
      return {
        resource: device.resource,
        ...(k.profile === undefined ? {} : { migProfile: k.profile }),
        memoryGiB: device.memoryGiB,
        sharing: device.sharing,
        replicas: device.replicas,
        advertised: device.physicalPerNode * device.replicas * nodes,
        claimed: claimed[i],
        servers: claims[i].map((s) => s.name),
      };
    });
    const ts = timeSlicingOf(d.shape, sharings, migStrategy);
    const mps = sharings.find((s) => s.mode === "mps");
    pools.push({
      name,
      offer,
      nodes: { min: minNodes, max: nodes },
      ...(d.shape.counts === undefined ? {} : { migProfiles: d.shape.counts }),
      ...(ts === undefined ? {} : { timeSlicing: ts }),
      ...(mps === undefined ? {} : { mps: mps.replicas }),
      resources,
      cost: nodes * offer.costPerNode,
      gpus: nodes * offer.gpusPerNode,
    });
  }
  // In OpenStack mode node-feature-discovery tells the node groups apart by node name; in an existing cluster the
  // node groups must carry a label of their own.
  const pooled = pools.map((p) =>
    w.clusterKind === "existing" && (perModel.get(w.offers.indexOf(p.offer)) ?? 0) > 1
      ? { ...p, nodeSelector: { [NODE_GROUP_LABEL]: p.name } }
      : p,
  );
  const order = new Map(w.servers.map((s, i) => [s.name, i]));
  servers.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
  const cost = pooled.reduce((n, p) => n + p.cost, 0);
  if (cost > draftsCost(w, drafts) + BOUND_COST_EPSILON)
    throw new Error(`the finished plan costs ${cost}, more than its drafts`);
  return {
    migStrategy,
    pools: pooled,
    servers,
    cost,
    gpus: pooled.reduce((n, p) => n + p.gpus, 0),
    nodePods: w.nodePods,
    clusterKind: w.clusterKind,
    ...proof,
  };
}
