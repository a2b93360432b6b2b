/**
 * Helm values as plain data, for the components that install charts and for whoever checks their arguments first:
 * merging extra values over gpushare's, and refusing extra values that would overwrite what gpushare sets itself.
 * No Pulumi import.
 */

import { type Problem, problemText } from "../../problems";

/** Helm values: a YAML mapping, as the chart's `values.yaml` holds them. */
export type Values = Record<string, unknown>;

/** A Helm value gpushare sets itself, and what controls it instead. */
export interface OwnedValue {
  /** The value's keys below the values root, e.g. `["mig", "strategy"]`. */
  readonly path: readonly string[];
  /** What to set instead, for the message: an argument (or another input) that controls it, or why nothing does. */
  readonly use: string;
}

function isPlainObject(value: unknown): value is Values {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Merges `override` into `base` the way Helm merges values files: objects key by key, recursively; arrays and
 * scalars replace. Neither argument is modified.
 */
export function deepMerge(base: Values, override: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

/** The value at `path` below `values`, or `undefined` when a key on the way is missing or not an object. */
export function valueAt(values: unknown, path: readonly PropertyKey[]): unknown {
  let cur = values;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** The extra Helm values at `configPath` of the caller's input that would overwrite what gpushare owns. */
export function ownedValuesSet(values: Values, owned: readonly OwnedValue[], configPath: string): Problem[] {
  return owned
    .filter((o) => valueAt(values, o.path) !== undefined)
    .map((o) => ({
      path: `${configPath}.${o.path.join(".")}`,
      reason: `gpushare sets this value itself; remove it and use ${o.use}`,
    }));
}

/**
 * {@link ownedValuesSet} as lines of a list of messages:
 * `<configPath>.<path>: gpushare sets this value itself; remove it and use <use>`.
 */
export function ownedValueProblems(values: Values, owned: readonly OwnedValue[], configPath: string): string[] {
  return ownedValuesSet(values, owned, configPath).map(problemText);
}
