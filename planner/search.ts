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
  const shapes = allShapes.filter((s) => s.strategy === undefined || s.strategy === strategy);
  const S = w.servers;
  // Per shape: the modes each kind allows, and every server's pods-per-device limit per kind and mode.
  const modesOf = new Map<NodeShape, SharingMode[][]>();
  const limitsOf = new Map<NodeShape, number[][][]>();
  const demandOf = new Map<NodeShape, DemandOf>();
  for (const shape of shapes) {
    const gpu = w.offers[shape.offer].gpu;
    const modes = shape.kinds.map((k): SharingMode[] =>
      k.profile === undefined && strategy === "single" ? ["none", "timeSlicing", "mps"] : ["none", "timeSlicing"],
    );
    modesOf.set(shape, modes);
    limitsOf.set(
      shape,
      S.map((s) =>
        shape.kinds.map((k, d) =>
          modes[d].map((m) => (s.serving === undefined ? sharingLimit(s, gpu, k, m) : preferredPods(s, gpu, k, m))),
        ),
      ),
    );
    demandOf.set(shape, (i, d, mode, pods) =>
      demandAt(S[i], gpu, shape.kinds[d], pods <= 1 ? UNSHARED : { mode, replicas: pods }),
    );
  }
  const fits = (i: number, shape: NodeShape, kind: number): boolean =>
    (limitsOf.get(shape)?.[i][kind] ?? []).some((n) => n > 0);

  let best: { drafts: Draft[]; cost: number } | undefined;
  for (const order of startOrders(S)) {
    const r = searchFrom(order);
    if (r !== undefined && (best === undefined || r.cost < best.cost - SEARCH_COST_EPSILON)) best = r;
  }
  return best;

  function searchFrom(order: readonly number[]): { drafts: Draft[]; cost: number } | undefined {
    const bins: Bin[] = [];
    const used = new Map<GpuOffer, number>();
    const where: ({ bin: Bin; kind: number } | undefined)[] = S.map(() => undefined);
    const newBin = (shape: NodeShape): Bin =>
      new Bin(
        shape,
        w.offers[shape.offer],
        modesOf.get(shape) ?? [],
        limitsOf.get(shape) ?? [],
        S,
        demandOf.get(shape) ?? (() => Infinity),
      );

    const place = (i: number, bin: Bin, kind: number): void => {
      if (!bins.includes(bin)) bins.push(bin);
      const before = bin.nodes();
      bin.add(i, kind);
      used.set(bin.offer, (used.get(bin.offer) ?? 0) + bin.nodes() - before);
      where[i] = { bin, kind };
    };
    const remove = (i: number): void => {
      const at = where[i];
      if (at === undefined) return;
      const before = at.bin.nodes();
      at.bin.delete(i, at.kind);
      used.set(at.bin.offer, (used.get(at.bin.offer) ?? 0) + at.bin.nodes() - before);
      where[i] = undefined;
      if (at.bin.empty) bins.splice(bins.indexOf(at.bin), 1);
    };
    /** The cheapest place for server i: an open pool, or a new one of any shape. */
    // A new pool's cost for one server does not depend on the others: rank those options once per server.
    const freshOptions = S.map((_, i) =>
      shapes
        .flatMap((shape) => {
          const offer = w.offers[shape.offer];
          return shape.kinds.flatMap((k, d) => {
            // Alone on a new pool: the mode that needs the fewest nodes, the most pods per device among equals.
            const bin = newBin(shape);
            const { pods, nodes } = bin.stateWith(d, i, -1);
            if (pods === 0 || nodes === Infinity) return [];
            return [
              {
                shape,
                kind: d,
                nodes,
                delta: nodes * offer.costPerNode,
                perReplica: offer.costPerNode / (k.perNode * pods),
              },
            ];
          });
        })
        .sort((a, b) => a.delta - b.delta || a.perReplica - b.perReplica),
    );
    /** The cheapest place for server i: an open pool, or a new one of any shape. */
    const bestPlace = (i: number, skip?: Bin): { bin: Bin; kind: number; delta: number } | undefined => {
      let found: { bin: Bin; kind: number; delta: number; perReplica: number } | undefined;
      for (const bin of bins) {
        if (bin === skip) continue;
        const before = bin.nodes();
        for (let d = 0; d < bin.shape.kinds.length; d++) {
          if (!fits(i, bin.shape, d)) continue;
          const after = bin.nodesWith(d, i, false);
          if (after === Infinity || (used.get(bin.offer) ?? 0) + after - before > bin.offer.maxNodes) continue;
          const delta = (after - before) * bin.offer.costPerNode;
          // Among equal costs, the place whose devices hold the most of this server per unit of cost.
          const perReplica = bin.offer.costPerNode / (bin.shape.kinds[d].perNode * bin.podsWith(d, i));
          if (
            found === undefined ||
            delta < found.delta - SEARCH_COST_EPSILON ||
            (delta <= found.delta + SEARCH_COST_EPSILON && perReplica < found.perReplica - SEARCH_COST_EPSILON)
          ) {
            found = { bin, kind: d, delta, perReplica };
          }
        }
      }
      const option = freshOptions[i].find(
        (o) => (used.get(w.offers[o.shape.offer]) ?? 0) + o.nodes <= w.offers[o.shape.offer].maxNodes,
      );
      if (
        option !== undefined &&
        (found === undefined ||
          option.delta < found.delta - SEARCH_COST_EPSILON ||
          (option.delta <= found.delta + SEARCH_COST_EPSILON &&
            option.perReplica < found.perReplica - SEARCH_COST_EPSILON))
      ) {
        return { bin: newBin(option.shape), kind: option.kind, delta: option.delta };
      }
      return found;
    };
    const total = (): number => bins.reduce((n, b) => n + b.nodes() * b.offer.costPerNode, 0);
    /** Places the servers one by one, largest first; false (and nothing placed) when one finds no place. */
    const placeAll = (servers: readonly number[], skip?: Bin): boolean => {
      const placed: number[] = [];
      for (const i of [...servers].sort((a, b) => sizeOf(S[b]) - sizeOf(S[a]) || a - b)) {
        const p = bestPlace(i, skip);
        if (p === undefined) {
          for (const j of placed) remove(j);
          return false;
        }
        place(i, p.bin, p.kind);
        placed.push(i);
      }
      return true;
    };
    const snapshot = (): Map<number, { bin: Bin; kind: number }> =>
      new Map(where.flatMap((at, i) => (at === undefined ? [] : [[i, at] as const])));
    const restore = (moved: readonly number[], before: ReadonlyMap<number, { bin: Bin; kind: number }>): void => {
      for (const i of moved) remove(i);
      for (const i of moved) {
        const at = before.get(i);
        if (at !== undefined) place(i, at.bin, at.kind);
      }
    };

    for (const i of order) {
      const p = bestPlace(i);
      if (p === undefined) return undefined;
      place(i, p.bin, p.kind);
    }

    for (let pass = 0; pass < MAX_PASSES; pass++) {
      let improved = false;
      // Move one server.
      for (const i of order) {
        const at = where[i];
        if (at === undefined) continue;
        const { bin, kind } = at;
        const after = bin.nodesWith(kind, i, true);
        const saving = (bin.nodes() - after) * bin.offer.costPerNode;
        const p = bestPlace(i, bin);
        if (p !== undefined && p.delta < saving - SEARCH_COST_EPSILON) {
          remove(i);
          place(i, p.bin, p.kind);
          improved = true;
        }
      }
      // Empty one pool into the others (or into new pools).
      for (const bin of [...bins]) {
        if (!bins.includes(bin)) continue;
        const before = total();
        const state = snapshot();
        const moved = bin.members.flatMap((m) => [...m]);
        for (const i of moved) remove(i);
        if (placeAll(moved, bin) && total() < before - SEARCH_COST_EPSILON) {
          improved = true;
          continue;
        }
        restore(moved, state);
      }
      // Merge two pools into one new pool of any shape.
      if (bins.length <= PAIR_MERGE_POOLS) {
        for (let a = 0; a < bins.length; a++) {
          for (let b = a + 1; b < bins.length; b++) {
            const before = total();
            const pair = bins[a].nodes() * bins[a].offer.costPerNode + bins[b].nodes() * bins[b].offer.costPerNode;
            const group = [...bins[a].members, ...bins[b].members].flatMap((m) => [...m]);
            // Into a pool of either pool's GPU model: a third model would have been an option for each alone.
            const merged = bestSinglePool(group, pair, new Set([bins[a].shape.offer, bins[b].shape.offer]));
            if (merged === undefined) continue;
            const state = snapshot();
            for (const i of group) remove(i);
            for (const [i, kind] of merged.assignment) place(i, merged.bin, kind);
            if (total() < before - SEARCH_COST_EPSILON && withinLimits()) {
              improved = true;
              // The pools changed: start the pairs again.
              a = -1;
              break;
            }
            restore(group, state);
          }
        }
      }
      if (!improved) break;
    }

    function withinLimits(): boolean {
      return [...used].every(([offer, n]) => n <= offer.maxNodes);
    }

    /** The cheapest single new pool (any shape) for a group of servers, if cheaper than `budget`. */
    function bestSinglePool(
      group: readonly number[],
      budget: number,
      offers: ReadonlySet<number>,
    ): { bin: Bin; assignment: [number, number][] } | undefined {
      let found: { bin: Bin; assignment: [number, number][]; cost: number } | undefined;
      const sorted = [...group].sort((a, b) => sizeOf(S[b]) - sizeOf(S[a]) || a - b);
      for (const shape of shapes) {
        if (!offers.has(shape.offer)) continue;
        const bin = newBin(shape);
        const assignment: [number, number][] = [];
        let ok = true;
        for (const i of sorted) {
          let pick: { kind: number; nodes: number } | undefined;
          for (let d = 0; d < shape.kinds.length; d++) {
            if (!fits(i, shape, d)) continue;
            const nodes = bin.nodesWith(d, i, false);
            if (nodes !== Infinity && (pick === undefined || nodes < pick.nodes)) pick = { kind: d, nodes };
          }
          // Cost only grows as servers join: stop as soon as the pool is no cheaper than the pair.
          if (
            pick === undefined ||
            pick.nodes * bin.offer.costPerNode >= Math.min(budget, found?.cost ?? Infinity) - SEARCH_COST_EPSILON
          ) {
            ok = false;
            break;
          }
          bin.add(i, pick.kind);
          assignment.push([i, pick.kind]);
        }
        if (!ok) continue;
        const cost = bin.nodes() * bin.offer.costPerNode;
        if (cost < budget - SEARCH_COST_EPSILON && (found === undefined || cost < found.cost - SEARCH_COST_EPSILON)) {
          found = { bin: newBin(shape), assignment, cost };
        }
      }
      return found;
    }

    const drafts: Draft[] = bins.map((bin) => {
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
    });
    if (![...used].every(([offer, n]) => n <= offer.maxNodes)) return undefined;
    return { drafts, cost: drafts.reduce((n, d) => n + d.nodes * w.offers[d.shape.offer].costPerNode, 0) };
  }
}
