import { describe, expect, it } from "vitest";
import {
  deepMerge,
  type OwnedValue,
  ownedValueProblems,
  ownedValuesSet,
  valueAt,
} from "../../../components/k8s/helm-values";

describe("deepMerge", () => {
  it("leaves both arguments untouched", () => {
    const base = { a: { b: 1, c: [1] } };
    const override = { a: { c: [2], d: 3 } };
    expect(deepMerge(base, override)).toEqual({ a: { b: 1, c: [2], d: 3 } });
    expect(base).toEqual({ a: { b: 1, c: [1] } });
    expect(override).toEqual({ a: { c: [2], d: 3 } });
  });
});

describe("valueAt", () => {
  const values = { a: { b: { c: 0 }, list: ["x"], nil: null } };

  it.each([
    [["a", "b", "c"], 0],
    [["a", "b"], { c: 0 }],
    [["a", "list", 0], "x"],
    [["a", "nil"], null],
    [["a", "missing", "c"], undefined],
    [["a", "b", "c", "d"], undefined],
    [["a", "nil", "c"], undefined],
    [[], values],
  ])("finds %j", (path, expected) => {
    expect(valueAt(values, path)).toEqual(expected);
  });
});

describe("owned values", () => {
  const owned: OwnedValue[] = [
    { path: ["mig", "strategy"], use: "cluster.migStrategy" },
    { path: ["rbac"], use: "nothing: gpushare creates RBAC" },
  ];

  it("accepts values that leave owned keys alone, even their siblings", () => {
    expect(ownedValueProblems({ mig: { other: 1 }, toolkit: { enabled: false } }, owned, "x.values")).toEqual([]);
  });

  it("fails when values set owned keys, naming each in the stack config's words, in the owned list's order", () => {
    const values = { rbac: { create: true }, mig: { strategy: "mixed" } };
    expect(ownedValueProblems(values, owned, "gpuOperator.values")).toEqual([
      "gpuOperator.values.mig.strategy: gpushare sets this value itself; remove it and use cluster.migStrategy",
      "gpuOperator.values.rbac: gpushare sets this value itself; remove it and use nothing: gpushare creates RBAC",
    ]);
  });

  it("fails when an owned key is set to null, which Helm reads as removing the chart's value", () => {
    expect(ownedValuesSet({ rbac: null }, owned, "metricsAdapter.values")).toEqual([
      {
        path: "metricsAdapter.values.rbac",
        reason: "gpushare sets this value itself; remove it and use nothing: gpushare creates RBAC",
      },
    ]);
  });
});
