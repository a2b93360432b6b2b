import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./parse";
import { type Problem, problemFromText } from "../../problems";
import { parseStackSettings, StackConfigError } from "./parse";
import { missingOpenStackCredentials } from "./credentials";

/** Provider config keys of `openstack:` that carry credentials or where to find them. */
const OPENSTACK_CREDENTIAL_KEYS = [
  "cloud",
  "authUrl",
  "userName",
  "userId",
  "password",
  "tenantName",
  "tenantId",
  "applicationCredentialId",
  "applicationCredentialName",
  "applicationCredentialSecret",
];

/**
 * A {@link StackConfigError} as the program ends with it: a `RunError`, whose message alone the engine prints,
 * without a stack trace. It keeps the error, problems and all, for callers that run the program themselves
 * (`render`).
 */
export class StackConfigRunError extends pulumi.RunError {
  readonly problems: readonly Problem[];

  constructor(readonly error: StackConfigError) {
    super(error.message);
    this.name = "StackConfigRunError";
    this.problems = error.problems;
  }
}

export interface LoadedStack {
  readonly config: StackConfig;
  /** kubeconfig of an existing cluster, kept secret. */
  readonly kubeconfig?: pulumi.Output<string>;
}

/**
 * Whether the engine passed config key `key` (`gpushare:kubeconfig`) as a secret. The Node.js SDK knows, from
 * the keys the engine lists in PULUMI_CONFIG_SECRET_KEYS, but exports the test as internal, outside its typings.
 */
function isConfigSecret(key: string): boolean {
  const runtime = pulumi.runtime as typeof pulumi.runtime & { isConfigSecret?: (key: string) => boolean };
  if (runtime.isConfigSecret === undefined) {
    throw new Error("@pulumi/pulumi no longer exports runtime.isConfigSecret; gpushare cannot tell secrets apart");
  }
  // Older engines spell keys `<namespace>:config:<name>`.
  return runtime.isConfigSecret(key) || runtime.isConfigSecret(key.replace(":", ":config:"));
}

/** A config value as the engine passes it: objects, numbers and booleans as JSON, strings as they are. */
function configValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Reads every config key of the current stack once (an unknown `gpushare:` key included, so that it is refused),
 * validates it as `capacity` and `render` do, and logs its warnings. Every problem is thrown at once, before any
 * resource is registered, as a `RunError`: `pulumi preview` prints the problems without a stack trace.
 *
 * @param checkCredentials whether to require OpenStack credentials in OpenStack mode; the offline render
 * turns it off, since it creates nothing.
 */
export function loadStackConfig(checkCredentials = true): LoadedStack {
  const config: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  for (const [key, text] of Object.entries(pulumi.runtime.allConfig())) {
    config[key] = configValue(text);
    if (isConfigSecret(key)) secretKeys.add(key);
  }

  let stack: StackConfig;
  try {
    stack = parseStackSettings({ config, secretKeys });
    if (checkCredentials && stack.raw.cluster.kind === "openstack") {
      const os = new pulumi.Config("openstack");
      const providerConfig = new Set(OPENSTACK_CREDENTIAL_KEYS.filter((k) => os.getSecret(k) !== undefined));
      const missing = missingOpenStackCredentials({ env: process.env, providerConfig });
      if (missing.length > 0) throw new StackConfigError(missing.map(problemFromText));
    }
  } catch (e) {
    // A RunError ends the program with its message alone: the problems, not a stack trace.
    if (e instanceof StackConfigError) throw new StackConfigRunError(e);
    throw e;
  }
  for (const warning of stack.warnings) pulumi.log.warn(warning);
  const kubeconfig =
    stack.raw.kubeconfig === undefined ? undefined : new pulumi.Config("gpushare").requireSecret("kubeconfig");
  return { config: stack, ...(kubeconfig === undefined ? {} : { kubeconfig }) };
}
