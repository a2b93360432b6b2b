/**
 * Pure test support for the stack config: builders of stack configs, pools and servers, and the problems a config
 * gets. Nothing here loads the Pulumi SDK (test/helpers.ts does, for the mock runtime), so the config tests that
 * the mutation run (npm run test:mutation) reloads for each mutant stay fast; test/layout.test.ts holds that.
 */
import * as path from "node:path";
import { problemText } from "../../problems";
import { gpushareConfig, readStackFile } from "../../scripts/stack-file";
import type { StackConfig } from "../../stacks/config/parse";
import { parseStackConfig, parseStackSettings, StackConfigError } from "../../stacks/config/parse";

type Obj = Record<string, unknown>;

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** The config of a `Pulumi.<stack>.yaml` of this project, parsed and validated. */
export function stackFileConfig(stack: string): StackConfig {
  return parseStackConfig(gpushareConfig(readStackFile(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`))));
}

/** A minimal valid config (existing cluster, one NFS export) with `overrides` merged over it. */
export function minimalConfig(overrides: Obj = {}): Obj {
  return { modelStore: { nfs: { server: "10.0.0.5", path: "/models" } }, ...overrides };
}

/** A one-node A100-SXM4-40GB pool, `extra` merged over it. */
export const a100 = (extra: Obj = {}): Obj => ({ gpu: "A100-SXM4-40GB", nodes: { min: 1, max: 1 }, ...extra });

/** A one-node T4 pool, `extra` merged over it. */
export const t4 = (extra: Obj = {}): Obj => ({ gpu: "T4", nodes: { min: 1, max: 1 }, ...extra });

/** The pools and servers of a stack with one server `s` (`extra` merged over it) on a T4 pool time-sliced 4 ways. */
export const server = (extra: Obj = {}): Obj => ({
  gpuPools: { t4: t4({ timeSlicing: { replicas: 4 } }) },
  servers: { s: { pool: "t4", ...extra } },
});

/** What a StackConfigError thrown by `parse` says, one line a problem; fails the test if `parse` accepts. */
function problemsFrom(parse: () => unknown, what: string): readonly string[] {
  try {
    parse();
  } catch (e) {
    if (e instanceof StackConfigError) return e.problems.map(problemText);
    throw e;
  }
  throw new Error(`${what} accepted the config`);
}

/** The problems `parseStackConfig` reports for `input`; fails the test if it accepts it. */
export function problemsOf(input: unknown): readonly string[] {
  return problemsFrom(() => parseStackConfig(input), "parseStackConfig");
}

/** The problems `parseStackSettings` reports for a stack's settings (namespaced keys, no secrets). */
export function settingsProblemsOf(config: Obj): readonly string[] {
  return problemsFrom(() => parseStackSettings({ config, secretKeys: new Set() }), "parseStackSettings");
}
