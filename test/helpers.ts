import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../stacks/config";
import { parseStackConfig } from "../stacks/config";
import type { RecordedResource } from "../scripts/mock-runtime";
import { MockRuntime, settle } from "../scripts/mock-runtime";
import { gpushareConfig, readStackFile } from "../scripts/stack-file";

export const PROJECT_DIR = path.resolve(__dirname, "..");

/** The config of a `Pulumi.<stack>.yaml` of this project, parsed and validated. */
export function stackFileConfig(stack: string): StackConfig {
  return parseStackConfig(gpushareConfig(readStackFile(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`))));
}

/** A minimal valid config (existing cluster, one NFS export) with `overrides` merged over it. */
export function minimalConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { modelStore: { nfs: { server: "10.0.0.5", path: "/models" } }, ...overrides };
}

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
