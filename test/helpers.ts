import * as pulumi from "@pulumi/pulumi";
import { valueAt } from "../components/k8s/helm-values";
import type { RecordedResource } from "../scripts/mock-runtime";
import { MockRuntime, settle } from "../scripts/mock-runtime";

// The pure builders live in test/support/config.ts, which config tests import without loading the Pulumi SDK;
// they are re-exported here for the tests that use both.
export { minimalConfig, PROJECT_DIR, problemsOf, stackFileConfig } from "./support/config";

/**
 * Runs `program` under Pulumi's mock runtime and returns every resource it registered, in order. Each call
 * installs fresh mocks; resources of earlier calls are not returned.
 */
export async function runProgram(program: () => void, stack = "test"): Promise<RecordedResource[]> {
  const runtime = new MockRuntime();
  await runtime.install(stack, {});
  program();
  await settle(runtime);
  return runtime.resources;
}

/**
 * Runs `program`, which is to throw while it constructs a component, under Pulumi's mock runtime: what it threw,
 * and what was registered before (nothing, when the component validates its arguments first).
 */
export async function runFailing(
  program: () => void,
  stack = "test",
): Promise<{ error: unknown; resources: RecordedResource[] }> {
  let error: unknown;
  const resources = await runProgram(() => {
    try {
      program();
    } catch (e) {
      error = e;
    }
  }, stack);
  return { error, resources };
}

/** Resources of one type (`kubernetes:apps/v1:Deployment`), optionally only those whose name contains `name`. */
export function ofType(resources: readonly RecordedResource[], type: string, name?: string): RecordedResource[] {
  return resources.filter((r) => r.type === type && (name === undefined || r.name.includes(name)));
}

/** The one resource of a type (and name part); fails the test when there are none or several. */
export function one(resources: readonly RecordedResource[], type: string, name?: string): RecordedResource {
  const found = ofType(resources, type, name);
  if (found.length !== 1) {
    throw new Error(
      `expected one ${type}${name === undefined ? "" : ` named *${name}*`}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`,
    );
  }
  return found[0];
}

/** Resolves an Output for assertions. */
export function resolve<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolvePromise) => output.apply((v) => resolvePromise(v)));
}

/** Whether an Output is marked secret. */
export function isSecret<T>(output: pulumi.Output<T>): Promise<boolean> {
  return pulumi.isSecret(output);
}

/** Whether a recorded input is a Pulumi secret. */
export function isSecretInput(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

/** A recorded input with its secrets unwrapped, for assertions on the values themselves. */
export function reveal(value: unknown): unknown {
  if (isSecretInput(value)) return reveal((value as { value: unknown }).value);
  if (Array.isArray(value)) return value.map(reveal);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
  }
  return value;
}

/** The value at `keys` below a recorded input (`at(inputs, "spec", "template", "spec")`), or `undefined`. */
export function at(value: unknown, ...keys: (string | number)[]): unknown {
  return valueAt(value, keys);
}

/** The Helm values of the one Helm release (whose name contains `name`), secrets unwrapped. */
export function helmValues(resources: readonly RecordedResource[], name?: string): Record<string, unknown> {
  return reveal(one(resources, "kubernetes:helm.sh/v3:Release", name).inputs.values) as Record<string, unknown>;
}
