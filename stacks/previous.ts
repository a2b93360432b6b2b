import * as pulumi from "@pulumi/pulumi";
import {
  devicePluginConfigData,
  migLayoutUses,
  type RetainedConfigs,
  type SharingState,
} from "../components/k8s/gpu-operator-values";
import { type MigConfigEntry, migManagerConfig } from "../gpu/mig-manager-config";
import { gpuOperatorSettings } from "./args";
import type { PoolCapacityRow } from "./capacity-table";
import type { StackConfig } from "./config";

/** The outputs of this stack's previous deployment that the next one reads. */
export interface PreviousDeployment {
  /** What the previous deployment configured; absent before configs were named after their content. */
  readonly sharing?: SharingState;
  /** Its capacity table; absent for a stack never deployed. */
  readonly capacity?: readonly PoolCapacityRow[];
}

/** The engine's built-in function behind StackReference: a stack's outputs from the backend, no resource. */
const READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs";

/**
 * This stack's own outputs as its last successful deployment left them. The engine serves them from the stored
 * checkpoint, whose root outputs stay the previous ones until this update completes; a stack never deployed has
 * none. An invoke rather than a StackReference resource: nothing is recorded in state, so `pulumi refresh` finds
 * no drift in a reference to outputs that every update changes. Read once, by the stack layer; components get
 * plain values.
 */
export function readPreviousDeployment(): pulumi.Output<PreviousDeployment> {
  const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
  const read = pulumi.runtime.invokeOutput<{ outputs?: Record<string, unknown> }>(READ_STACK_OUTPUTS, { name: self });
  // The kubeconfig output is secret, which would taint everything read with it; the two picked here are not.
  return pulumi.unsecret(
    read.apply((r) => {
      const outputs = r.outputs ?? {};
      const sharing = outputs.sharing;
      const capacity = outputs.capacity;
      return {
        ...(isObject(sharing) ? { sharing: sharing as SharingState } : {}),
        ...(Array.isArray(capacity) ? { capacity: capacity as PoolCapacityRow[] } : {}),
      };
    }),
  );
}

function isObject(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The configs of the previous deployment that the current one no longer names. Until node-feature-discovery has
 * moved every node's labels (after this `pulumi up` updated the rules), nodes still point at them; if the
 * device plugin or mig-manager restarts meanwhile it must find them. The next `pulumi up` drops them.
 *
 * `previous` is the previous deployment's `sharing` output; `legacyPools` are the pools of a deployment made
 * before configs were named after their content (it exported `capacity` but no `sharing`): their nodes point at
 * `<pool>` and `gpushare-<pool>`, kept here with the current content until the labels have moved.
 */
export function retainedConfigs(
  config: StackConfig,
  previous: SharingState | undefined,
  legacyPools: readonly string[] = [],
): RetainedConfigs {
  const settings = gpuOperatorSettings(config);
  const currentDp = devicePluginConfigData(settings);
  const currentMig = migManagerConfig(migLayoutUses(settings.pools))["mig-configs"];
  const devicePlugin: Record<string, string> = {};
  const mig: Record<string, MigConfigEntry[]> = {};
  for (const [key, content] of Object.entries(previous?.devicePluginConfigs ?? {})) {
    if (currentDp[key] === undefined) devicePlugin[key] = content;
  }
  for (const [name, entries] of Object.entries(previous?.migConfigs ?? {})) {
    if (currentMig[name] === undefined) mig[name] = entries.map((e) => ({ ...e }));
  }
  for (const name of legacyPools) {
    const pool = config.pools.find((p) => p.name === name);
    if (pool === undefined) continue;
    if (currentDp[name] === undefined) devicePlugin[name] = currentDp[pool.devicePluginConfig];
    const legacyLayout = pool.raw.mig?.name ?? `gpushare-${name}`;
    if (pool.sharing.mig !== undefined && currentMig[legacyLayout] === undefined) {
      mig[legacyLayout] = currentMig[pool.sharing.mig.configName].map((e) => ({ ...e }));
    }
  }
  return { devicePlugin, mig };
}
