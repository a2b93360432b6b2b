import { describe, expect, it } from "vitest";
import { assertParses, functionsOf, metricsOf } from "./promql";

describe("assertParses", () => {
  it("accepts PromQL", () => {
    expect(() => assertParses('sum by (pod) (rate(up{job="x"}[5m]))')).not.toThrow();
  });

  it.each([
    ["an unclosed call", "sum(rate(up[5m])"],
    ["an unsubstituted template", "sum(rate(up{<<.LabelMatchers>>}[5m]))"],
    ["a missing operand", "up / "],
    ["a range without duration", "rate(up[])"],
  ])("fails when given %s", (_what, query) => {
    expect(() => assertParses(query)).toThrow(/^not PromQL: error nodes at/);
  });
});

describe("functionsOf and metricsOf", () => {
  const query = 'sum by (pod) (increase(a_total{job="x"}[1m])) / clamp_min(sum(rate(b_total[1m])), 1)';

  it("read the functions a query calls from its parse tree", () => {
    expect(functionsOf(query)).toEqual(["increase", "clamp_min", "rate"]);
  });

  it("read the metrics a query selects from its parse tree, not labels or strings", () => {
    expect(metricsOf(query)).toEqual(["a_total", "b_total"]);
  });
});
