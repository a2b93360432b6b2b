import loadHighs from "highs";
import type { Highs } from "highs";

/**
 * A small builder for (mixed-integer) linear programs, solved by HiGHS compiled to WebAssembly: single-threaded
 * and deterministic for a given model and limits.
 * @see https://ergo-code.github.io/HiGHS/
 */
export class LinearProgram {
  private readonly cost: number[] = [];
  private readonly lower: number[] = [];
  private readonly upper: number[] = [];
  private readonly integer: boolean[] = [];
  private readonly rowLower: number[] = [];
  private readonly rowUpper: number[] = [];
  private readonly rowStarts: number[] = [0];
  private readonly rowIndices: number[] = [];
  private readonly rowValues: number[] = [];

  /** Adds a variable `lower ≤ x ≤ upper` with objective coefficient `cost`; returns its index. */
  variable(cost: number, lower: number, upper: number, integer: boolean): number {
    this.cost.push(cost);
    this.lower.push(lower);
    this.upper.push(upper);
    this.integer.push(integer);
    return this.cost.length - 1;
  }

  /** Adds the constraint `lower ≤ Σ coefficient × variable ≤ upper`; terms on one variable are summed. */
  constraint(terms: readonly (readonly [number, number])[], lower: number, upper: number): void {
    const merged = new Map<number, number>();
    for (const [v, c] of terms) merged.set(v, (merged.get(v) ?? 0) + c);
    for (const [v, c] of [...merged].sort((a, b) => a[0] - b[0])) {
      if (c === 0) continue;
      this.rowIndices.push(v);
      this.rowValues.push(c);
    }
    this.rowStarts.push(this.rowIndices.length);
    this.rowLower.push(lower);
    this.rowUpper.push(upper);
  }

  get variables(): number {
    return this.cost.length;
  }

  get hasIntegers(): boolean {
    return this.integer.some((i) => i);
  }

  /**
   * Minimises the objective. `relax` drops integrality (the LP relaxation). Limits are HiGHS options; with none, a
   * MIP is solved to optimality (zero gap). With `tieBreak`, an optimal solution is then improved on that second
   * objective among the solutions of optimal cost (a lexicographic objective); the first objective's value and
   * bound are reported.
   */
  async minimise(
    limits: SolveLimits = {},
    relax = false,
    tieBreak?: ReadonlyMap<number, number>,
  ): Promise<SolveResult> {
    const highs = await highsInstance();
    const inf = highs.infinity;
    const clamp = (v: number): number => (v === Infinity ? inf : v === -Infinity ? -inf : v);
    const model = highs.createModel({
      numCols: this.cost.length,
      numRows: this.rowLower.length,
      colCost: this.cost,
      colLower: this.lower.map(clamp),
      colUpper: this.upper.map(clamp),
      rowLower: this.rowLower.map(clamp),
      rowUpper: this.rowUpper.map(clamp),
      matrix: {
        format: "csr",
        numRows: this.rowLower.length,
        numCols: this.cost.length,
        starts: Int32Array.from(this.rowStarts),
        indices: Int32Array.from(this.rowIndices),
        values: Float64Array.from(this.rowValues),
      },
      ...(relax
        ? {}
        : {
            integrality: this.integer.map((i) =>
              i ? highs.constants.variableType.integer : highs.constants.variableType.continuous,
            ),
          }),
    });
    try {
      model.options.set({
        output_flag: false,
        // Costs are exact: a plan is optimal only if no cheaper one exists, not within 0.01 %.
        mip_rel_gap: 0,
        mip_abs_gap: 1e-7,
        ...(limits.timeSeconds === undefined ? {} : { time_limit: limits.timeSeconds }),
        ...(limits.maxNodes === undefined ? {} : { mip_max_nodes: limits.maxNodes }),
      });
      model.run();
      const codes = highs.constants.modelStatus;
      const status = model.getModelStatus();
      const mip = !relax && this.hasIntegers;
      if (status === codes.infeasible) return { status: "infeasible" };
      if (status === codes.optimal) {
        const objective = model.getObjectiveValue();
        let values = Array.from(model.getSolution().colValue);
        if (tieBreak !== undefined && tieBreak.size > 0) {
          const indices = this.cost.flatMap((c, i) => (c === 0 ? [] : [i]));
          model.addRow(-inf, objective + 1e-7 * Math.max(1, Math.abs(objective)), {
            indices: Int32Array.from(indices),
            values: Float64Array.from(indices.map((i) => this.cost[i])),
          });
          model.changeColsCost(
            { kind: "range", from: 0, to: this.cost.length - 1 },
            Float64Array.from(this.cost.map((_, i) => tieBreak.get(i) ?? 0)),
          );
          model.setSolution({ colValue: Float64Array.from(values) });
          model.run();
          // A limit may stop the second search; the first solution stands then.
          if (model.getModelStatus() === codes.optimal) values = Array.from(model.getSolution().colValue);
        }
        return { status: "optimal", objective, bound: objective, values };
      }
      const bound = mip ? Number(model.info.get("mip_dual_bound")) : -Infinity;
      const proven = Number.isFinite(bound) ? bound : -Infinity;
      // HiGHS's SolutionStatus: 2 is a feasible primal solution.
      const hasSolution = Number(model.info.get("primal_solution_status")) === 2;
      if (status === codes.timeLimit || status === codes.solutionLimit || status === codes.interrupted) {
        return hasSolution
          ? {
              status: "limited",
              objective: model.getObjectiveValue(),
              bound: proven,
              values: Array.from(model.getSolution().colValue),
            }
          : { status: "none", bound: proven };
      }
      throw new Error(`HiGHS ended with model status ${status}`);
    } finally {
      model.dispose();
    }
  }
}

export interface SolveLimits {
  /** Wall-clock seconds. */
  readonly timeSeconds?: number;
  /** Branch-and-bound nodes: a limit that does not depend on the machine's speed. */
  readonly maxNodes?: number;
}

export type SolveResult =
  | { readonly status: "optimal"; readonly objective: number; readonly bound: number; readonly values: number[] }
  /** A limit stopped the search with a solution: `bound` is a proven lower bound on the optimum. */
  | { readonly status: "limited"; readonly objective: number; readonly bound: number; readonly values: number[] }
  | { readonly status: "none"; readonly bound: number }
  | { readonly status: "infeasible" };

let instance: Promise<Highs> | undefined;

function highsInstance(): Promise<Highs> {
  instance ??= loadHighs();
  return instance;
}
