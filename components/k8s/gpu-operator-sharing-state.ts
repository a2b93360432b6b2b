import { z } from "zod";
import { defaultMigLayoutPrefix } from "../../gpu/config-names";
import { type MigConfigEntry, migManagerConfig } from "../../gpu/mig-manager-config";
import {
  type ConfiguredPools,
  DEFAULT_DEVICE_PLUGIN_CONFIG_KEY,
  DEFAULT_MIG_CONFIG,
  devicePluginConfigData,
  migLayoutUses,
  poolNodeLabels,
} from "./gpu-operator-values";

/**
 * The sharing state: what one deployment of the GPU operator leaves for the next (the stack output `sharing`),
 * and the one place that writes and reads it. The next `pulumi up` keeps the configs it names while node labels
 * move to the new ones, and its preview compares capacity against it. Pure: no Pulumi import.
 */

/** The version this code writes. A state of a higher version comes from a newer gpushare and is refused. */
export const SHARING_STATE_VERSION = 1;
/** The stack output the state is exported as (index.ts) and read back from (stacks/previous.ts). */
export const SHARING_STATE_OUTPUT = "sharing";
/** The stack output whose pool names tell a deployment made before configs were named after their content. */
export const CAPACITY_OUTPUT = "capacity";

const labelsSchema = z.record(z.string(), z.string());
const countsSchema = z.record(z.string(), z.number().int().nonnegative());
const migConfigEntrySchema = z.strictObject({
  "device-filter": z.array(z.string()).optional(),
  devices: z.literal("all"),
  "mig-enabled": z.boolean(),
  "mig-devices": countsSchema.optional(),
});
const stateFields = {
  migStrategy: z.enum(["single", "mixed"]),
  pools: z.record(z.string(), z.strictObject({ labels: labelsSchema, atMaxNodes: countsSchema })),
  devicePluginConfigs: z.record(z.string(), z.string()),
  migConfigs: z.record(z.string(), z.array(migConfigEntrySchema)),
};
/** Version 1, as this code writes it. */
const sharingStateSchema = z.strictObject({ version: z.literal(SHARING_STATE_VERSION), ...stateFields });
/** What deployments wrote before the state had a version: version 1 without the field. */
const unversionedStateSchema = z.strictObject(stateFields);
/** The rows of the `capacity` output, as far as the state needs them: their pools. */
const capacityRowsSchema = z.array(z.looseObject({ pool: z.string() }));

/**
 * What a deployment configured: the cluster's MIG strategy, per pool the labels its nodes carry and what it
 * advertises at max nodes, and the content of every config a node label can name.
 */
export interface SharingState {
  readonly version: typeof SHARING_STATE_VERSION;
  readonly migStrategy: "single" | "mixed";
  readonly pools: Readonly<
    Record<
      string,
      { readonly labels: Readonly<Record<string, string>>; readonly atMaxNodes: Readonly<Record<string, number>> }
    >
  >;
  /** Device-plugin ConfigMap keys of the pools (not `default`) → config YAML. */
  readonly devicePluginConfigs: Readonly<Record<string, string>>;
  /** mig-manager layouts (not `all-disabled`) → their entries. */
  readonly migConfigs: Readonly<Record<string, readonly MigConfigEntry[]>>;
}

/** What the previous deployment left, as read from its outputs. */
export interface PreviousSharing {
  /** Its sharing state; absent on a first deployment and on one made before configs were named after their content. */
  readonly state?: SharingState;
  /**
   * Pools of a deployment made before configs were named after their content (it exported `capacity` but no
   * `sharing`): their nodes point at `<pool>` and `<mig.name or gpushare-pool>`.
   */
  readonly legacyPools?: readonly string[];
}

/** A previous output gpushare cannot read. Refused before any resource changes: no config is dropped blindly. */
export class SharingStateError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `the stack output "${SHARING_STATE_OUTPUT}" of the previous deployment cannot be read:\n` +
        problems.map((p) => `  - ${p}`).join("\n") +
        `\nIt tells this update which configs nodes still point at. If a newer gpushare deployed this stack, deploy it with that version. Otherwise repair or remove the output: \`pulumi stack export --file state.json\`, edit the root stack's outputs.${SHARING_STATE_OUTPUT}, \`pulumi stack import --file state.json\`; without it the update keeps no previous configs, as on a first deployment.`,
    );
    this.name = "SharingStateError";
  }
}

/** The state this deployment writes for the next: {@link SHARING_STATE_VERSION}, from the configured pools. */
export function sharingState(settings: ConfiguredPools): SharingState {
  const dp = devicePluginConfigData(settings);
  delete dp[DEFAULT_DEVICE_PLUGIN_CONFIG_KEY];
  const mig = { ...migManagerConfig(migLayoutUses(settings.pools))["mig-configs"] };
  delete mig[DEFAULT_MIG_CONFIG];
  return {
    version: SHARING_STATE_VERSION,
    migStrategy: settings.migStrategy,
    pools: Object.fromEntries(
      settings.pools.map((p) => [p.name, { labels: poolNodeLabels(p), atMaxNodes: { ...p.atMaxNodes } }]),
    ),
    devicePluginConfigs: dp,
    migConfigs: mig,
  };
}

function issues(at: string, error: z.ZodError): string[] {
  return error.issues.map((i) => `${[at, ...i.path.map(String)].join(".")}: ${i.message}`);
}

/**
 * The sharing state in a previous `sharing` output: version 1 as is, an unversioned one (written before the
 * state had a version) upgraded to version 1, `undefined` when there is none.
 * @throws SharingStateError for anything else (a newer version, another program's value, a damaged one).
 */
export function readSharingState(value: unknown): SharingState | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new SharingStateError([
      `${SHARING_STATE_OUTPUT}: ${Array.isArray(value) ? "a list" : `a ${typeof value}`} is not a sharing state; gpushare writes an object {version, migStrategy, pools, devicePluginConfigs, migConfigs}`,
    ]);
  }
  const version = (value as Record<string, unknown>).version;
  if (version === undefined) {
    const legacy = unversionedStateSchema.safeParse(value);
    if (!legacy.success) throw new SharingStateError(issues(SHARING_STATE_OUTPUT, legacy.error));
    return { version: SHARING_STATE_VERSION, ...legacy.data };
  }
  if (version !== SHARING_STATE_VERSION) {
    throw new SharingStateError([
      `${SHARING_STATE_OUTPUT}.version: ${JSON.stringify(version)} is not a version this gpushare reads; it reads ${SHARING_STATE_VERSION} (and states without a version)`,
    ]);
  }
  const parsed = sharingStateSchema.safeParse(value);
  if (!parsed.success) throw new SharingStateError(issues(SHARING_STATE_OUTPUT, parsed.error));
  return parsed.data;
}

/**
 * What the previous deployment left, from its stack outputs (`sharing` and `capacity`): its sharing state, or for a
 * deployment made before the state existed the pools of its capacity table; nothing for a stack never deployed.
 * @throws SharingStateError when either output is not what gpushare writes.
 */
export function readPreviousSharing(outputs: Readonly<Record<string, unknown>>): PreviousSharing {
  const state = readSharingState(outputs[SHARING_STATE_OUTPUT]);
  if (state !== undefined) return { state };
  const capacity = outputs[CAPACITY_OUTPUT];
  if (capacity === undefined || capacity === null) return {};
  const rows = capacityRowsSchema.safeParse(capacity);
  if (!rows.success) throw new SharingStateError(issues(CAPACITY_OUTPUT, rows.error));
  return { legacyPools: [...new Set(rows.data.map((r) => r.pool))] };
}

/** Configs of the previous generation to keep while node labels move to the current one. */
export interface RetainedConfigs {
  readonly devicePlugin: Readonly<Record<string, string>>;
  readonly mig: Readonly<Record<string, readonly MigConfigEntry[]>>;
}

/**
 * The configs of the previous deployment that the current one no longer names. Until node-feature-discovery has
 * moved every node's labels (after this `pulumi up` updated the rules), nodes still point at them; if the
 * device plugin or mig-manager restarts meanwhile it must find them. The next `pulumi up` drops them.
 *
 * The nodes of {@link PreviousSharing.legacyPools} point at `<pool>` and `<mig.name or gpushare-<pool>>`, kept
 * here with the current content until the labels have moved.
 */
export function retainedConfigs(current: ConfiguredPools, previous: PreviousSharing): RetainedConfigs {
  const currentDp = devicePluginConfigData(current);
  const currentMig = migManagerConfig(migLayoutUses(current.pools))["mig-configs"];
  const devicePlugin: Record<string, string> = {};
  const mig: Record<string, MigConfigEntry[]> = {};
  for (const [key, content] of Object.entries(previous.state?.devicePluginConfigs ?? {})) {
    if (currentDp[key] === undefined) devicePlugin[key] = content;
  }
  for (const [name, entries] of Object.entries(previous.state?.migConfigs ?? {})) {
    if (currentMig[name] === undefined) mig[name] = entries.map((e) => ({ ...e }));
  }
  for (const name of previous.legacyPools ?? []) {
    const pool = current.pools.find((p) => p.name === name);
    if (pool === undefined) continue;
    if (currentDp[name] === undefined) devicePlugin[name] = currentDp[pool.devicePluginConfig];
    const legacyLayout = pool.migName ?? defaultMigLayoutPrefix(name);
    if (pool.sharing.mig !== undefined && currentMig[legacyLayout] === undefined) {
      mig[legacyLayout] = currentMig[pool.sharing.mig.configName].map((e) => ({ ...e }));
    }
  }
  return { devicePlugin, mig };
}
