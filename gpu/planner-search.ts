import type { MigStrategy } from "./capacity";
import type { GpuOffer, Isolation, WorkloadServer, Workloads } from "./planner-input";
import type { NodeShape, Sharing, SharingMode } from "./planner-shapes";
import { sharingLimit, UNSHARED } from "./planner-shapes";

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

const EPS = 1e-9;
/** Above this many servers the search starts from one order only. */
const MULTI_START_SERVERS = 300;
/** Up to this many pools, the search also tries to merge every pair of pools into one. */
const PAIR_MERGE_POOLS = 60;
const MAX_PASSES = 30;

const STRICTNESS: Record<Isolation, number> = { full: 2, memory: 1, shared: 0 };

/**
 * The orders the greedy start tries: by GPU memory claimed (replicas × model), by model size, by replicas, and
 * strictest isolation first; the first only for large inputs.
 */
function startOrders(servers: readonly WorkloadServer[]): number[][] {
  const by = (key: (s: WorkloadServer) => number): number[] =>
    servers.map((_, i) => i).sort((a, b) => key(servers[b]) - key(servers[a]) || a - b);
  const orders = [
    by((s) => s.maxReplicas * s.modelMemoryGiB),
    by((s) => s.modelMemoryGiB),
    by((s) => s.maxReplicas),
    by((s) => STRICTNESS[s.isolation] * 1e6 + s.modelMemoryGiB),
  ];
  return servers.length > MULTI_START_SERVERS ? orders.slice(0, 1) : orders;
}

/**
 * A pool being filled: a shape whose sharing per kind follows from its servers — each kind shared as much as every
 * server on it tolerates, in the mode that gives the most pods per device.
 */
class Bin {
  /** Servers per kind. */
  readonly members: Set<number>[];
  readonly load: number[];
  /** Per kind and mode, the fewest pods per device any of its servers tolerates (Infinity without servers). */
  private readonly least: number[][];
  /** Per kind, its pods per device with its servers as they are (0: no mode fits them all). */
  private readonly pods: number[];
  private cachedNodes = 0;

  constructor(
    readonly shape: NodeShape,
    readonly offer: GpuOffer,
    private readonly modes: readonly SharingMode[][],
    private readonly limits: readonly (readonly number[][])[],
  ) {
    this.members = shape.kinds.map(() => new Set<number>());
    this.load = shape.kinds.map(() => 0);
    this.least = modes.map((m) => m.map(() => Infinity));
    this.pods = modes.map(() => 0);
  }

  add(i: number, kind: number, replicas: number): void {
    this.members[kind].add(i);
    this.load[kind] += replicas;
    const least = this.least[kind];
    for (let m = 0; m < least.length; m++) least[m] = Math.min(least[m], this.limits[i][kind][m]);
    this.refresh(kind);
  }

  delete(i: number, kind: number, replicas: number): void {
    this.members[kind].delete(i);
    this.load[kind] -= replicas;
    const least = this.least[kind];
    for (let m = 0; m < least.length; m++) least[m] = this.leastWithout(kind, m, -1);
    this.refresh(kind);
  }

  private refresh(kind: number): void {
    this.pods[kind] = this.podsWith(kind, -1, -1);
    let nodes = 0;
    for (let d = 0; d < this.load.length; d++) {
      if (this.load[d] <= 0) continue;
      nodes =
        this.pods[d] === 0
          ? Infinity
          : Math.max(nodes, Math.ceil(this.load[d] / (this.shape.kinds[d].perNode * this.pods[d])));
    }
    this.cachedNodes = nodes;
  }

  private leastWithout(kind: number, mode: number, without: number): number {
    let n = Infinity;
    for (const i of this.members[kind]) if (i !== without) n = Math.min(n, this.limits[i][kind][mode]);
    return n;
  }

  /** Pods per device of a kind if `extra` joined its servers (or `without` left them); 0 when no mode fits. */
  podsWith(kind: number, extra: number, without: number): number {
    const least = this.least[kind];
    let best = 0;
    for (let m = 0; m < least.length; m++) {
      let n = without >= 0 ? this.leastWithout(kind, m, without) : least[m];
      if (extra >= 0) n = Math.min(n, this.limits[extra][kind][m]);
      if (n !== Infinity && n > best) best = n;
    }
    return best;
  }

  /** The kind's sharing as the plan spells it: the mode giving the most pods per device (time-slicing on a tie). */
  sharing(kind: number): Sharing {
    const n = this.pods[kind];
    if (n <= 1) return UNSHARED;
    const m = this.least[kind].findIndex((x) => x === n);
    return { mode: this.modes[kind][m], replicas: n };
  }

  /** Nodes needed now. */
  nodes(): number {
    return this.cachedNodes;
  }

  /** Nodes needed with server `i` (claiming `replicas`) added to `kind`, or removed from it. */
  nodesWith(kind: number, i: number, replicas: number, remove: boolean): number {
    let nodes = 0;
    for (let d = 0; d < this.load.length; d++) {
      let load = this.load[d];
      let pods = this.pods[d];
      if (d === kind) {
        load += remove ? -replicas : replicas;
        pods = remove ? this.podsWith(d, -1, i) : this.podsWith(d, i, -1);
      }
      if (load <= 0) continue;
      if (pods === 0) return Infinity;
      nodes = Math.max(nodes, Math.ceil(load / (this.shape.kinds[d].perNode * pods)));
    }
    return nodes;
  }

  get empty(): boolean {
    return this.load.every((l) => l === 0);
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
  const shapes = allShapes.filter((s) => s.strategy === undefined || s.strategy === strategy);
  const S = w.servers;
  // Per shape: the modes each kind allows, and every server's pods-per-device limit per kind and mode.
  const modesOf = new Map<NodeShape, SharingMode[][]>();
  const limitsOf = new Map<NodeShape, number[][][]>();
  for (const shape of shapes) {
    const gpu = w.offers[shape.offer].gpu;
    const modes = shape.kinds.map((k): SharingMode[] =>
      k.profile === undefined && strategy === "single" ? ["none", "timeSlicing", "mps"] : ["none", "timeSlicing"],
    );
    modesOf.set(shape, modes);
    limitsOf.set(
      shape,
      S.map((s) => shape.kinds.map((k, d) => modes[d].map((m) => sharingLimit(s, gpu, k, m)))),
    );
  }
  const fits = (i: number, shape: NodeShape, kind: number): boolean =>
    (limitsOf.get(shape)?.[i][kind] ?? []).some((n) => n > 0);

  let best: { drafts: Draft[]; cost: number } | undefined;
  for (const order of startOrders(S)) {
    const r = searchFrom(order);
    if (r !== undefined && (best === undefined || r.cost < best.cost - EPS)) best = r;
  }
  return best;

  function searchFrom(order: readonly number[]): { drafts: Draft[]; cost: number } | undefined {
    const bins: Bin[] = [];
    const used = new Map<GpuOffer, number>();
    const where: ({ bin: Bin; kind: number } | undefined)[] = S.map(() => undefined);
    const newBin = (shape: NodeShape): Bin =>
      new Bin(shape, w.offers[shape.offer], modesOf.get(shape) ?? [], limitsOf.get(shape) ?? []);

    const place = (i: number, bin: Bin, kind: number): void => {
      if (!bins.includes(bin)) bins.push(bin);
      const before = bin.nodes();
      bin.add(i, kind, S[i].maxReplicas);
      used.set(bin.offer, (used.get(bin.offer) ?? 0) + bin.nodes() - before);
      where[i] = { bin, kind };
    };
    const remove = (i: number): void => {
      const at = where[i];
      if (at === undefined) return;
      const before = at.bin.nodes();
      at.bin.delete(i, at.kind, S[i].maxReplicas);
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
            const pods = Math.max(0, ...(limitsOf.get(shape)?.[i][d] ?? []));
            if (pods === 0) return [];
            const nodes = Math.ceil(S[i].maxReplicas / (k.perNode * pods));
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
          const after = bin.nodesWith(d, i, S[i].maxReplicas, false);
          if (after === Infinity || (used.get(bin.offer) ?? 0) + after - before > bin.offer.maxNodes) continue;
          const delta = (after - before) * bin.offer.costPerNode;
          // Among equal costs, the place whose devices hold the most of this server per unit of cost.
          const perReplica = bin.offer.costPerNode / (bin.shape.kinds[d].perNode * bin.podsWith(d, i, -1));
          if (
            found === undefined ||
            delta < found.delta - EPS ||
            (delta <= found.delta + EPS && perReplica < found.perReplica - EPS)
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
          option.delta < found.delta - EPS ||
          (option.delta <= found.delta + EPS && option.perReplica < found.perReplica - EPS))
      ) {
        return { bin: newBin(option.shape), kind: option.kind, delta: option.delta };
      }
      return found;
    };
    const total = (): number => bins.reduce((n, b) => n + b.nodes() * b.offer.costPerNode, 0);
    /** Places the servers one by one, largest first; false (and nothing placed) when one finds no place. */
    const placeAll = (servers: readonly number[], skip?: Bin): boolean => {
      const placed: number[] = [];
      for (const i of [...servers].sort((a, b) => S[b].maxReplicas - S[a].maxReplicas || a - b)) {
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
        const after = bin.nodesWith(kind, i, S[i].maxReplicas, true);
        const saving = (bin.nodes() - after) * bin.offer.costPerNode;
        const p = bestPlace(i, bin);
        if (p !== undefined && p.delta < saving - EPS) {
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
        if (placeAll(moved, bin) && total() < before - EPS) {
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
            if (total() < before - EPS && withinLimits()) {
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
      const sorted = [...group].sort((a, b) => S[b].maxReplicas - S[a].maxReplicas || a - b);
      for (const shape of shapes) {
        if (!offers.has(shape.offer)) continue;
        const bin = newBin(shape);
        const assignment: [number, number][] = [];
        let ok = true;
        for (const i of sorted) {
          let pick: { kind: number; nodes: number } | undefined;
          for (let d = 0; d < shape.kinds.length; d++) {
            if (!fits(i, shape, d)) continue;
            const nodes = bin.nodesWith(d, i, S[i].maxReplicas, false);
            if (nodes !== Infinity && (pick === undefined || nodes < pick.nodes)) pick = { kind: d, nodes };
          }
          // Cost only grows as servers join: stop as soon as the pool is no cheaper than the pair.
          if (
            pick === undefined ||
            pick.nodes * bin.offer.costPerNode >= Math.min(budget, found?.cost ?? Infinity) - EPS
          ) {
            ok = false;
            break;
          }
          bin.add(i, pick.kind, S[i].maxReplicas);
          assignment.push([i, pick.kind]);
        }
        if (!ok) continue;
        const cost = bin.nodes() * bin.offer.costPerNode;
        if (cost < budget - EPS && (found === undefined || cost < found.cost - EPS)) {
          found = { bin: newBin(shape), assignment, cost };
        }
      }
      return found;
    }

    const drafts: Draft[] = bins.map((bin) => {
      const sharings = bin.shape.kinds.map((_, d) => (bin.load[d] > 0 ? bin.sharing(d) : UNSHARED));
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
