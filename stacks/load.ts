import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config";
import { parseStackConfig, StackConfigError } from "./config";
import { missingOpenStackCredentials } from "./credentials";
import { SECRET_STAND_IN, STACK_CONFIG_KEYS } from "./schema";

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

export interface LoadedStack {
  readonly config: StackConfig;
  /** kubeconfig of an existing cluster, kept secret. */
  readonly kubeconfig?: pulumi.Output<string>;
}

/**
 * Reads the `gpushare:` config of the current stack once, validates it and logs its warnings. Every
 * problem is thrown at once, before any resource is registered.
 *
 * @param checkCredentials whether to require OpenStack credentials in OpenStack mode; the offline render
 * turns it off, since it creates nothing.
 */
export function loadStackConfig(checkCredentials = true): LoadedStack {
  const cfg = new pulumi.Config("gpushare");
  const raw: Record<string, unknown> = {};
  for (const key of STACK_CONFIG_KEYS) {
    if (key === "kubeconfig") continue;
    const value = cfg.getObject<unknown>(key);
    if (value !== undefined) raw[key] = value;
  }
  // Pulumi.yaml declares the key with an empty default, so "unset" reads as "".
  const hasKubeconfig = (cfg.get("kubeconfig") ?? "") !== "";
  const kubeconfig = hasKubeconfig ? cfg.requireSecret("kubeconfig") : undefined;
  if (hasKubeconfig) raw.kubeconfig = SECRET_STAND_IN;

  let config: StackConfig;
  try {
    config = parseStackConfig(raw);
    if (checkCredentials && config.raw.cluster.kind === "openstack") {
      const os = new pulumi.Config("openstack");
      const providerConfig = new Set(OPENSTACK_CREDENTIAL_KEYS.filter((k) => os.getSecret(k) !== undefined));
      const missing = missingOpenStackCredentials({ env: process.env, providerConfig });
      if (missing.length > 0) throw new StackConfigError(missing);
    }
  } catch (e) {
    // A RunError ends the program with its message alone: the problems, not a stack trace.
    if (e instanceof StackConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
  for (const warning of config.warnings) pulumi.log.warn(warning);
  return { config, ...(kubeconfig === undefined ? {} : { kubeconfig }) };
}
