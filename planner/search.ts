import type { MigStrategy } from "../gpu/capacity";
import type { GpuOffer, Isolation, WorkloadServer, Workloads } from "./input";
import type { GpuModel } from "../gpu/catalog";
import type { DeviceKind, NodeShape, Sharing, SharingMode } from "./shapes";
import { demandAt, hosts, servingAt, sharingLimit, UNSHARED } from "./shapes";
import { SEARCH_COST_EPSILON } from "./tolerance";

/** A pool before naming: a shape, its sharing per kind, its nodes and which server uses which kind. */
export interface Draft {
  readonly shape: NodeShape;
  readonly sharings: readonly Sharing[];
  /** The strategy the pool needs; undefined when any will do. */
  readonly strategy?: MigStrategy;
  readonly nodes: number;
  /** server index → kind index */
  readonly servers: ReadonlyMap<number, number>;
}

/** Above this many servers the search starts from one order only. */
const MULTI_START_SERVERS = 300;
/** Up to this many pools, the search also tries to merge every pair of pools into one. */
const PAIR_MERGE_POOLS = 60;
const MAX_PASSES = 30;

const STRICTNESS: Record<Isolation, number> = { full: 2, memory: 1, shared: 0 };

/**
 * A server's size for ordering: its peak replicas, or for a server planned on requests the replicas it would take
 * unshared on its best curve.
 */
function sizeOf(s: WorkloadServer): number {
  if (s.serving === undefined) return s.maxReplicas ?? 0;
  const alone = Math.max(0, ...s.serving.curves.map((c) => c.points[0].requestsPerSecond));
  return alone > 0 ? Math.ceil(s.serving.slo.requestsPerSecond / alone) : Infinity;
}

/**
 * The orders the greedy start tries: by GPU memory claimed (replicas × model), by model size, by replicas, and
 * strictest isolation first; the first only for large inputs.
 */
function startOrders(servers: readonly WorkloadServer[]): number[][] {
  const by = (key: (s: WorkloadServer) => number): number[] =>
    servers.map((_, i) => i).sort((a, b) => key(servers[b]) - key(servers[a]) || a - b);
  const orders = [
    by((s) => sizeOf(s) * s.modelMemoryGiB),
    by((s) => s.modelMemoryGiB),
    by((s) => sizeOf(s)),
    by((s) => STRICTNESS[s.isolation] * 1e6 + s.modelMemoryGiB),
  ];
  return servers.length > MULTI_START_SERVERS ? orders.slice(0, 1) : orders;
}

/** Replicas server `i` needs on kind `kind` shared in mode `mode` with `pods` per device; Infinity where it cannot. */
type DemandOf = (i: number, kind: number, mode: SharingMode, pods: number) => number;

/** A kind's sharing with some servers on it: mode index, pods per device, nodes it needs (Infinity: none fits). */
interface KindState {
  readonly mode: number;
  readonly pods: number;
  readonly nodes: number;
}

const EMPTY: KindState = { mode: 0, pods: 0, nodes: 0 };

/**
 * A pool being filled: a shape whose sharing per kind follows from its servers — each kind shared in the mode that
 * needs the fewest nodes, as much as every server on it tolerates (a server planned on requests tolerates its own
 * best count), the most pods per device among equals.
 */
class Bin {
  /** Servers per kind. */
  readonly members: Set<number>[];
  /** Replicas claimed per kind by the servers counted in replicas. */
  private readonly fixed: number[];
  /** Servers planned on requests per kind: their replicas follow the kind's pods per device. */
  private readonly asked: Set<number>[];
  /** Per kind and mode, the fewest pods per device any of its servers tolerates (Infinity without servers). */
  private readonly least: number[][];
  private readonly state: KindState[];
  private cachedNodes = 0;

  constructor(
    readonly shape: NodeShape,
    readonly offer: GpuOffer,
    private readonly modes: readonly SharingMode[][],
    private readonly limits: readonly (readonly number[][])[],
    private readonly servers: readonly WorkloadServer[],
    private readonly demand: DemandOf,
  ) {
    this.members = shape.kinds.map(() => new Set<number>());
    this.fixed = shape.kinds.map(() => 0);
    this.asked = shape.kinds.map(() => new Set<number>());
    this.least = modes.map((m) => m.map(() => Infinity));
    this.state = shape.kinds.map(() => EMPTY);
  }

  add(i: number, kind: number): void {
    this.members[kind].add(i);
    const replicas = this.servers[i].maxReplicas;
    if (replicas === undefined) this.asked[kind].add(i);
    else this.fixed[kind] += replicas;
    const least = this.least[kind];
    for (let m = 0; m < least.length; m++) least[m] = Math.min(least[m], this.limits[i][kind][m]);
    this.refresh(kind);
  }

  delete(i: number, kind: number): void {
    this.members[kind].delete(i);
    const replicas = this.servers[i].maxReplicas;
    if (replicas === undefined) this.asked[kind].delete(i);
    else this.fixed[kind] -= replicas;
    const least = this.least[kind];
    for (let m = 0; m < least.length; m++) least[m] = this.leastWithout(kind, m, -1);
    this.refresh(kind);
  }

  private refresh(kind: number): void {
    this.state[kind] = this.stateWith(kind, -1, -1);
    this.cachedNodes = Math.max(0, ...this.state.map((s) => s.nodes));
  }

  private leastWithout(kind: number, mode: number, without: number): number {
    let n = Infinity;
    for (const i of this.members[kind]) if (i !== without) n = Math.min(n, this.limits[i][kind][mode]);
    return n;
  }

  /** A kind's sharing and nodes if `extra` joined its servers (or `without` left them). */
  stateWith(kind: number, extra: number, without: number): KindState {
    let fixed = this.fixed[kind];
    const asked = [...this.asked[kind]].filter((i) => i !== without);
    for (const [i, sign] of [
      [extra, 1],
      [without, -1],
    ]) {
      if (i < 0) continue;
      const replicas = this.servers[i].maxReplicas;
      if (replicas !== undefined) fixed += sign * replicas;
      else if (sign > 0) asked.push(i);
    }
    if (fixed <= 0 && asked.length === 0) return EMPTY;
    const least = this.least[kind];
    const perNode = this.shape.kinds[kind].perNode;
    let best: KindState | undefined;
    for (let m = 0; m < least.length; m++) {
      let n = without >= 0 ? this.leastWithout(kind, m, without) : least[m];
      if (extra >= 0) n = Math.min(n, this.limits[extra][kind][m]);
      if (n === Infinity || n < 1) continue;
      let load = fixed;
      for (const i of asked) load += this.demand(i, kind, this.modes[kind][m], n);
      if (load === Infinity) continue;
      const nodes = Math.ceil(load / (perNode * n));
      if (best === undefined || nodes < best.nodes || (nodes === best.nodes && n > best.pods)) {
        best = { mode: m, pods: n, nodes };
      }
    }
    return best ?? { mode: 0, pods: 0, nodes: Infinity };
  }

  /** Pods per device of a kind if `extra` joined its servers; 0 when no mode fits. */
  podsWith(kind: number, extra: number): number {
    return this.stateWith(kind, extra, -1).pods;
  }

  /** The kind's sharing as the plan spells it. */
  sharing(kind: number): Sharing {
    const { mode, pods } = this.state[kind];
    return pods <= 1 ? UNSHARED : { mode: this.modes[kind][mode], replicas: pods };
  }

  /** Nodes needed now. */
  nodes(): number {
    return this.cachedNodes;
  }

  /** Nodes needed with server `i` added to `kind`, or removed from it. */
  nodesWith(kind: number, i: number, remove: boolean): number {
    let nodes = 0;
    for (let d = 0; d < this.state.length; d++) {
      const n = d === kind ? this.stateWith(d, remove ? -1 : i, remove ? i : -1).nodes : this.state[d].nodes;
      if (n === Infinity) return Infinity;
      nodes = Math.max(nodes, n);
    }
    return nodes;
  }

  /** Whether server `i` may go on `kind` in some mode. */
  fits(i: number, kind: number): boolean {
    return this.limits[i][kind].some((n) => n > 0);
  }

  get empty(): boolean {
    return this.members.every((m) => m.size === 0);
  }
}

/**
 * The pods per device a server planned on requests asks for in a mode: the count needing the fewest devices, the
 * most pods among equals (room for the pool's other servers; the finished plan lowers what is not used); 0 where
 * none meets its objective.
 */
function preferredPods(s: WorkloadServer, gpu: GpuModel, kind: DeviceKind, mode: SharingMode): number {
  const limit = sharingLimit(s, gpu, kind, mode);
  if (mode === "none") return limit > 0 && hosts(s, gpu, kind, UNSHARED) ? 1 : 0;
  let best = { pods: 0, devices: Infinity };
  for (let n = 2; n <= limit; n++) {
    const devices = servingAt(s, gpu, kind, { mode, replicas: n })?.devices ?? Infinity;
    if (devices < Infinity && devices <= best.devices) best = { pods: n, devices };
  }
  return best.pods;
}

/** What a pool of one shape allows under one MIG strategy, for every server. */
interface ShapeRules {
  /** Per kind, the sharing modes it allows. */
  readonly modes: SharingMode[][];
  /** Per server, kind and mode, the most pods per device the server tolerates (or asks for, planned on requests). */
  readonly limits: number[][][];
  readonly demand: DemandOf;
}

function shapeRules(w: Workloads, shape: NodeShape, strategy: MigStrategy): ShapeRules {
  const gpu = w.offers[shape.offer].gpu;
  const modes = shape.kinds.map((k): SharingMode[] =>
    k.profile === undefined && strategy === "single" ? ["none", "timeSlicing", "mps"] : ["none", "timeSlicing"],
  );
  const limits = w.servers.map((s) =>
    shape.kinds.map((k, d) =>
      modes[d].map((m) => (s.serving === undefined ? sharingLimit(s, gpu, k, m) : preferredPods(s, gpu, k, m))),
    ),
  );
  const demand: DemandOf = (i, d, mode, pods) =>
    demandAt(w.servers[i], gpu, shape.kinds[d], pods <= 1 ? UNSHARED : { mode, replicas: pods });
  return { modes, limits, demand };
}

/** A price to compare places by: the cost a place adds, then what one replica there costs. */
interface Priced {
  readonly delta: number;
  readonly perReplica: number;
}

/** Whether `a` costs less than `b` (or than nothing yet); among equal costs, the cheaper replica. */
function cheaper(a: Priced, b: Priced | undefined): boolean {
  return (
    b === undefined ||
    a.delta < b.delta - SEARCH_COST_EPSILON ||
    (a.delta <= b.delta + SEARCH_COST_EPSILON && a.perReplica < b.perReplica - SEARCH_COST_EPSILON)
  );
}

/** A new pool one server could open alone: its shape, the kind it takes and the nodes it needs. */
interface FreshOption extends Priced {
  readonly shape: NodeShape;
  readonly kind: number;
  readonly nodes: number;
}

/** Where a server is, or could go: a pool and a kind of it. */
interface Place {
  readonly bin: Bin;
  readonly kind: number;
}

/** What every start of one strategy's search shares: the shapes it may use, their rules, each server's new pools. */
class SearchSetting {
  readonly shapes: readonly NodeShape[];
  /** Per server, the new pools it could open alone, cheapest first. */
  readonly fresh: readonly (readonly FreshOption[])[];
  private readonly rules = new Map<NodeShape, ShapeRules>();

  constructor(
    readonly w: Workloads,
    allShapes: readonly NodeShape[],
    strategy: MigStrategy,
  ) {
    this.shapes = allShapes.filter((s) => s.strategy === undefined || s.strategy === strategy);
    for (const shape of this.shapes) this.rules.set(shape, shapeRules(w, shape, strategy));
    // A new pool's cost for one server does not depend on the others: rank those options once per server.
    this.fresh = w.servers.map((_, i) => this.freshOptions(i));
  }

  get servers(): readonly WorkloadServer[] {
    return this.w.servers;
  }

  /** An empty pool of one of this search's shapes. */
  newBin(shape: NodeShape): Bin {
    const rules = this.rules.get(shape);
    if (rules === undefined) throw new Error(`shape ${shape.key} is not one of this search's`);
    return new Bin(shape, this.w.offers[shape.offer], rules.modes, rules.limits, this.w.servers, rules.demand);
  }

  /** The servers, largest first. */
  largestFirst(servers: readonly number[]): number[] {
    return [...servers].sort((a, b) => sizeOf(this.servers[b]) - sizeOf(this.servers[a]) || a - b);
  }

  private freshOptions(i: number): FreshOption[] {
    return this.shapes
      .flatMap((shape) => {
        const offer = this.w.offers[shape.offer];
        return shape.kinds.flatMap((k, d) => {
          // Alone on a new pool: the mode that needs the fewest nodes, the most pods per device among equals.
          const { pods, nodes } = this.newBin(shape).stateWith(d, i, -1);
          if (pods === 0 || nodes === Infinity) return [];
          const perReplica = offer.costPerNode / (k.perNode * pods);
          return [{ shape, kind: d, nodes, delta: nodes * offer.costPerNode, perReplica }];
        });
      })
      .sort((a, b) => a.delta - b.delta || a.perReplica - b.perReplica);
  }
}

/** The search's state: the open pools, the nodes used per offer and where each server is. */
class Layout {
  private readonly openBins: Bin[] = [];
  private readonly used = new Map<GpuOffer, number>();
  private readonly where: (Place | undefined)[];

  constructor(readonly setting: SearchSetting) {
    this.where = setting.servers.map(() => undefined);
  }

  /** The open pools, in the order they opened; live, so a copy is needed to change pools while reading it. */
  get bins(): readonly Bin[] {
    return this.openBins;
  }

  placeOf(i: number): Place | undefined {
    return this.where[i];
  }

  place(i: number, bin: Bin, kind: number): void {
    if (!this.openBins.includes(bin)) this.openBins.push(bin);
    const before = bin.nodes();
    bin.add(i, kind);
    this.used.set(bin.offer, this.usedOf(bin.offer) + bin.nodes() - before);
    this.where[i] = { bin, kind };
  }

  remove(i: number): void {
    const at = this.where[i];
    if (at === undefined) return;
    const before = at.bin.nodes();
    at.bin.delete(i, at.kind);
    this.used.set(at.bin.offer, this.usedOf(at.bin.offer) + at.bin.nodes() - before);
    this.where[i] = undefined;
    if (at.bin.empty) this.openBins.splice(this.openBins.indexOf(at.bin), 1);
  }

  total(): number {
    return this.openBins.reduce((n, b) => n + b.nodes() * b.offer.costPerNode, 0);
  }

  withinLimits(): boolean {
    return [...this.used].every(([offer, n]) => n <= offer.maxNodes);
  }

  /** Where every placed server is now, for {@link restore}. */
  snapshot(): ReadonlyMap<number, Place> {
    return new Map(this.where.flatMap((at, i) => (at === undefined ? [] : [[i, at] as const])));
  }

  /** Puts the moved servers back where the snapshot had them. */
  restore(moved: readonly number[], before: ReadonlyMap<number, Place>): void {
    for (const i of moved) this.remove(i);
    for (const i of moved) {
      const at = before.get(i);
      if (at !== undefined) this.place(i, at.bin, at.kind);
    }
  }

  /** The cheapest place for server i: an open pool (other than `skip`), or a new one of any shape. */
  bestPlace(i: number, skip?: Bin): (Place & { delta: number }) | undefined {
    const found = this.bestOpenPlace(i, skip);
    const { w } = this.setting;
    const option = this.setting.fresh[i].find(
      (o) => this.usedOf(w.offers[o.shape.offer]) + o.nodes <= w.offers[o.shape.offer].maxNodes,
    );
    if (option !== undefined && cheaper(option, found)) {
      return { bin: this.setting.newBin(option.shape), kind: option.kind, delta: option.delta };
    }
    return found;
  }

  /** Places the servers one by one, largest first; false (and nothing placed) when one finds no place. */
  placeAll(servers: readonly number[], skip?: Bin): boolean {
    const placed: number[] = [];
    for (const i of this.setting.largestFirst(servers)) {
      const p = this.bestPlace(i, skip);
      if (p === undefined) {
        for (const j of placed) this.remove(j);
        return false;
      }
      this.place(i, p.bin, p.kind);
      placed.push(i);
    }
    return true;
  }

  private usedOf(offer: GpuOffer): number {
    return this.used.get(offer) ?? 0;
  }

  private bestOpenPlace(i: number, skip?: Bin): (Place & Priced) | undefined {
    let found: (Place & Priced) | undefined;
    for (const bin of this.openBins) {
      if (bin === skip) continue;
      const before = bin.nodes();
      for (let d = 0; d < bin.shape.kinds.length; d++) {
        if (!bin.fits(i, d)) continue;
        const after = bin.nodesWith(d, i, false);
        if (after === Infinity || this.usedOf(bin.offer) + after - before > bin.offer.maxNodes) continue;
        const delta = (after - before) * bin.offer.costPerNode;
        // Among equal costs, the place whose devices hold the most of this server per unit of cost.
        const perReplica = bin.offer.costPerNode / (bin.shape.kinds[d].perNode * bin.podsWith(d, i));
        const place = { bin, kind: d, delta, perReplica };
        if (cheaper(place, found)) found = place;
      }
    }
    return found;
  }
}

/**
 * The heuristic for one MIG strategy: servers in a few orders each go where they add the least cost (filling
 * slack first, opening a pool of any shape when that is cheaper), then local search — move one server, empty one
 * pool into the others, merge two pools into one of any shape — while that lowers the cost. Deterministic;
 * `undefined` when the node limits stop it.
 */
export function searchPlan(
  w: Workloads,
  allShapes: readonly NodeShape[],
  strategy: MigStrategy,
): { drafts: Draft[]; cost: number } | undefined {
  const setting = new SearchSetting(w, allShapes, strategy);
  let best: { drafts: Draft[]; cost: number } | undefined;
  for (const order of startOrders(w.servers)) {
    const r = searchFrom(setting, order);
    if (r !== undefined && (best === undefined || r.cost < best.cost - SEARCH_COST_EPSILON)) best = r;
  }
  return best;
}

/** One start: the servers placed greedily in `order`, then improved. */
function searchFrom(setting: SearchSetting, order: readonly number[]): { drafts: Draft[]; cost: number } | undefined {
  const layout = new Layout(setting);
  for (const i of order) {
    const p = layout.bestPlace(i);
    if (p === undefined) return undefined;
    layout.place(i, p.bin, p.kind);
  }
  improve(layout, order);
  if (!layout.withinLimits()) return undefined;
  const drafts = layout.bins.map(draftOf);
  return { drafts, cost: drafts.reduce((n, d) => n + d.nodes * setting.w.offers[d.shape.offer].costPerNode, 0) };
}

/** Local search: every move in turn, pass after pass, until a pass improves nothing. */
function improve(layout: Layout, order: readonly number[]): void {
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const moved = moveServers(layout, order);
    const emptied = emptyPools(layout);
    const merged = layout.bins.length <= PAIR_MERGE_POOLS && mergePairs(layout);
    if (!moved && !emptied && !merged) break;
  }
}

/** Moves each server, one at a time, where it costs less than it saves where it is; whether any moved. */
function moveServers(layout: Layout, order: readonly number[]): boolean {
  let improved = false;
  for (const i of order) {
    const at = layout.placeOf(i);
    if (at === undefined) continue;
    const { bin, kind } = at;
    const after = bin.nodesWith(kind, i, true);
    const saving = (bin.nodes() - after) * bin.offer.costPerNode;
    const p = layout.bestPlace(i, bin);
    if (p !== undefined && p.delta < saving - SEARCH_COST_EPSILON) {
      layout.remove(i);
      layout.place(i, p.bin, p.kind);
      improved = true;
    }
  }
  return improved;
}

/** Empties each pool into the others (or into new pools) where that lowers the cost; whether any was. */
function emptyPools(layout: Layout): boolean {
  let improved = false;
  for (const bin of [...layout.bins]) {
    if (!layout.bins.includes(bin)) continue;
    const before = layout.total();
    const state = layout.snapshot();
    const moved = bin.members.flatMap((m) => [...m]);
    for (const i of moved) layout.remove(i);
    if (layout.placeAll(moved, bin) && layout.total() < before - SEARCH_COST_EPSILON) {
      improved = true;
      continue;
    }
    layout.restore(moved, state);
  }
  return improved;
}

/** Merges pairs of pools into one new pool of any shape where that lowers the cost; whether any merged. */
function mergePairs(layout: Layout): boolean {
  let improved = false;
  const bins = layout.bins;
  for (let a = 0; a < bins.length; a++) {
    for (let b = a + 1; b < bins.length; b++) {
      if (mergePair(layout, bins[a], bins[b])) {
        improved = true;
        // The pools changed: start the pairs again.
        a = -1;
        break;
      }
    }
  }
  return improved;
}

/** Moves the servers of two pools into one new pool if that lowers the cost and keeps the node limits. */
function mergePair(layout: Layout, x: Bin, y: Bin): boolean {
  const before = layout.total();
  const pair = x.nodes() * x.offer.costPerNode + y.nodes() * y.offer.costPerNode;
  const group = [...x.members, ...y.members].flatMap((m) => [...m]);
  // Into a pool of either pool's GPU model: a third model would have been an option for each alone.
  const merged = bestSinglePool(layout.setting, group, pair, new Set([x.shape.offer, y.shape.offer]));
  if (merged === undefined) return false;
  const state = layout.snapshot();
  for (const i of group) layout.remove(i);
  for (const [i, kind] of merged.assignment) layout.place(i, merged.bin, kind);
  if (layout.total() < before - SEARCH_COST_EPSILON && layout.withinLimits()) return true;
  layout.restore(group, state);
  return false;
}

/** The cheapest single new pool (any shape of the offers) for a group of servers, if cheaper than `budget`. */
function bestSinglePool(
  setting: SearchSetting,
  group: readonly number[],
  budget: number,
  offers: ReadonlySet<number>,
): { bin: Bin; assignment: [number, number][] } | undefined {
  let found: { bin: Bin; assignment: [number, number][]; cost: number } | undefined;
  const sorted = setting.largestFirst(group);
  for (const shape of setting.shapes) {
    if (!offers.has(shape.offer)) continue;
    const filled = fillPool(setting.newBin(shape), sorted, Math.min(budget, found?.cost ?? Infinity));
    if (filled === undefined) continue;
    const cost = filled.bin.nodes() * filled.bin.offer.costPerNode;
    if (cost < budget - SEARCH_COST_EPSILON && (found === undefined || cost < found.cost - SEARCH_COST_EPSILON)) {
      found = { bin: setting.newBin(shape), assignment: filled.assignment, cost };
    }
  }
  return found;
}

/**
 * Adds the servers to an empty pool one by one, each on the kind that needs the fewest nodes; undefined as soon as
 * one fits no kind or the pool costs `cap` or more.
 */
function fillPool(
  bin: Bin,
  servers: readonly number[],
  cap: number,
): { bin: Bin; assignment: [number, number][] } | undefined {
  const assignment: [number, number][] = [];
  for (const i of servers) {
    let pick: { kind: number; nodes: number } | undefined;
    for (let d = 0; d < bin.shape.kinds.length; d++) {
      if (!bin.fits(i, d)) continue;
      const nodes = bin.nodesWith(d, i, false);
      if (nodes !== Infinity && (pick === undefined || nodes < pick.nodes)) pick = { kind: d, nodes };
    }
    // Cost only grows as servers join: stop as soon as the pool is no cheaper than the cap.
    if (pick === undefined || pick.nodes * bin.offer.costPerNode >= cap - SEARCH_COST_EPSILON) return undefined;
    bin.add(i, pick.kind);
    assignment.push([i, pick.kind]);
  }
  return { bin, assignment };
}

/** A filled pool as the plan's draft: its sharing per kind, the strategy it needs, its nodes and servers. */
function draftOf(bin: Bin): Draft {
  const sharings = bin.shape.kinds.map((_, d) => (bin.members[d].size > 0 ? bin.sharing(d) : UNSHARED));
  const needs = bin.shape.strategy ?? (sharings.some((s) => s.mode === "mps") ? "single" : undefined);
  const servers = new Map<number, number>();
  bin.members.forEach((m, d) => m.forEach((i) => servers.set(i, d)));
  return {
    shape: bin.shape,
    sharings,
    nodes: bin.nodes(),
    servers,
    ...(needs === undefined ? {} : { strategy: needs }),
  };
}
