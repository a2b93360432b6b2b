import { parse } from "yaml";

/**
 * Pure logic of the simulated NVIDIA device plugin: what the config-manager sidecar does when a node's
 * `nvidia.com/device-plugin.config` label is observed, and what the device plugin then advertises for a device
 * plugin config and a node's simulated hardware. No I/O; `main.ts` does the polling and the patching.
 *
 * Written from NVIDIA's sources, not from gpushare's own capacity model, so that tests compare the two.
 * @see https://github.com/NVIDIA/k8s-device-plugin/blob/main/cmd/config-manager/main.go
 * @see https://github.com/NVIDIA/k8s-device-plugin/blob/main/internal/rm/device_map.go
 */

/** The node label config-manager watches (its `--node-label` default). */
export const DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config";
/**
 * The GPU operator's per-node switch: a node labelled `false` gets no device-plugin pod (the ClusterPolicy
 * DaemonSet's node selector), so nothing advertises `nvidia.com/*` there. gpushare sets it on DRA pools' nodes.
 * @see https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/gpu-operator-component-matrix.html
 */
export const DEVICE_PLUGIN_DEPLOY_LABEL = "nvidia.com/gpu.deploy.device-plugin";
/** Simulated hardware: the GPU model. Only nodes carrying it are handled. */
export const GPU_MODEL_ANNOTATION = "sim.gpushare.io/gpu-model";
/** Simulated hardware: physical GPUs on the node, a positive integer. Absent means 1. */
export const GPU_COUNT_ANNOTATION = "sim.gpushare.io/gpu-count";
/**
 * Simulated hardware: the MIG devices present on each GPU, `1g.5gb=2,2g.10gb=1,3g.20gb=1`. Empty or absent
 * means MIG off. One list applies to every GPU; lists separated by `;` give each GPU its own (empty = MIG off).
 */
export const MIG_DEVICES_ANNOTATION = "sim.gpushare.io/mig-devices";
/** Written by the simulation: the config the simulated device plugin runs with. */
export const APPLIED_CONFIG_ANNOTATION = "sim.gpushare.io/applied-config";
/** Written by the simulation: why the device plugin advertises nothing with the applied config; absent if fine. */
export const PLUGIN_ERROR_ANNOTATION = "sim.gpushare.io/plugin-error";
/** Written by the simulation: why config-manager is crash-looping; absent once it reads a config again. */
export const CONFIG_MANAGER_ERROR_ANNOTATION = "sim.gpushare.io/config-manager-error";

export const RESOURCE_PREFIX = "nvidia.com/";
const GPU_RESOURCE = "nvidia.com/gpu";
/** `ResourceName.DefaultSharedRename()` appends this under `renameByDefault`. */
const SHARED_SUFFIX = ".shared";
/** `MaxResourceNameLength` in the plugin's api/config/v1. */
const MAX_RESOURCE_NAME_LENGTH = 63;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MIG_PROFILE = /^[1-9][0-9]*g\.[1-9][0-9]*gb(\+[a-z.]+)?$/;
const POSITIVE_INTEGER = /^[1-9][0-9]*$/;

/** The first config-manager restart comes this long after a crash; each further crash doubles it. */
export const INITIAL_BACKOFF_MS = 2_000;
/** Restart backoff never exceeds this. */
export const MAX_BACKOFF_MS = 10_000;

export type MigStrategy = "none" | "single" | "mixed";
export const MIG_STRATEGIES: readonly MigStrategy[] = ["none", "single", "mixed"];

// ---------------------------------------------------------------------------------------------------------------
// Simulated hardware

export interface SimulatedGpu {
  /** MIG devices present, by GPU-instance profile; empty when MIG is off. */
  readonly migDevices: Readonly<Record<string, number>>;
}

export interface SimulatedHardware {
  readonly model: string;
  readonly gpus: readonly SimulatedGpu[];
}

type Annotations = Readonly<Record<string, string | undefined>>;

/** The node's simulated hardware, from its `sim.gpushare.io/*` annotations; throws on a malformed value. */
export function parseHardware(annotations: Annotations): SimulatedHardware {
  const model = annotations[GPU_MODEL_ANNOTATION];
  if (model === undefined || model === "") throw new Error(`${GPU_MODEL_ANNOTATION} is missing`);
  const countText = annotations[GPU_COUNT_ANNOTATION] ?? "1";
  if (!POSITIVE_INTEGER.test(countText)) {
    throw new Error(`${GPU_COUNT_ANNOTATION}: "${countText}" is not a positive integer`);
  }
  const count = Number(countText);
  const lists = (annotations[MIG_DEVICES_ANNOTATION] ?? "").split(";");
  if (lists.length !== 1 && lists.length !== count) {
    throw new Error(
      `${MIG_DEVICES_ANNOTATION}: ${lists.length} per-GPU lists for ${count} GPUs; give one list for all GPUs ` +
        `or one per GPU, separated by ";"`,
    );
  }
  const parsed = lists.map(parseMigList);
  return { model, gpus: Array.from({ length: count }, (_, i) => ({ migDevices: parsed[lists.length === 1 ? 0 : i] })) };
}

function parseMigList(list: string): Record<string, number> {
  const devices: Record<string, number> = {};
  for (const item of list.split(",").map((s) => s.trim())) {
    if (item === "") continue;
    const [profile, n, ...rest] = item.split("=").map((s) => s.trim());
    if (n === undefined || rest.length > 0 || !MIG_PROFILE.test(profile) || !POSITIVE_INTEGER.test(n)) {
      throw new Error(`${MIG_DEVICES_ANNOTATION}: "${item}" is not <profile>=<count>, e.g. 1g.5gb=2`);
    }
    if (profile in devices) throw new Error(`${MIG_DEVICES_ANNOTATION}: profile ${profile} is listed twice`);
    devices[profile] = Number(n);
  }
  return devices;
}

/** A string that changes whenever one of the simulated-hardware annotations does. */
export function hardwareFingerprint(annotations: Annotations): string {
  return JSON.stringify(
    [GPU_MODEL_ANNOTATION, GPU_COUNT_ANNOTATION, MIG_DEVICES_ANNOTATION].map((k) => annotations[k]),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Device plugin config (version v1) and what the plugin advertises

/** Extended resources the device plugin advertises on a node, by name. */
export type Advertised = Readonly<Record<string, number>>;

export type AdvertiseResult =
  { readonly ok: true; readonly resources: Advertised } | { readonly ok: false; readonly error: string };

interface ReplicatedResources {
  readonly renameByDefault: boolean;
  readonly resources: readonly { readonly name: string; readonly replicas: number }[];
}

interface PluginConfig {
  readonly migStrategy: MigStrategy;
  readonly timeSlicing?: ReplicatedResources;
  readonly mps?: ReplicatedResources;
}

class ConfigError extends Error {}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `NewResourceName`: the `nvidia.com/` prefix is added when missing; the rest must be a DNS subdomain. */
function resourceName(raw: string, at: string): string {
  const full = raw.startsWith(RESOURCE_PREFIX) ? raw : `${RESOURCE_PREFIX}${raw}`;
  if (full.length > MAX_RESOURCE_NAME_LENGTH) {
    throw new ConfigError(`${at}: fully-qualified resource name must be 63 characters or less: ${full}`);
  }
  if (!DNS_SUBDOMAIN.test(full.slice(RESOURCE_PREFIX.length))) {
    throw new ConfigError(`${at}: incorrect format for resource name '${full}'`);
  }
  return full;
}

/**
 * `ReplicatedResources.UnmarshalJSON`: `resources` is required and non-empty, each needs `name` and `replicas`
 * >= 2. The plugin ignores per-resource `rename` and `devices` (DisableResourceNamingInConfig): every device
 * of a listed resource is shared, renamed to `<name>.shared` exactly when `renameByDefault` is set.
 */
function parseReplicated(value: unknown, at: string): ReplicatedResources {
  if (!isRecord(value)) throw new ConfigError(`${at}: must be a mapping`);
  const renameByDefault = value.renameByDefault ?? false;
  if (typeof renameByDefault !== "boolean") throw new ConfigError(`${at}.renameByDefault: must be true or false`);
  const list = value.resources;
  if (list === undefined || list === null || (Array.isArray(list) && list.length === 0)) {
    throw new ConfigError(`${at}: no resources specified`);
  }
  if (!Array.isArray(list)) throw new ConfigError(`${at}.resources: must be a list`);
  const resources = list.map((r: unknown, i) => {
    const here = `${at}.resources[${i}]`;
    if (!isRecord(r)) throw new ConfigError(`${here}: must be a mapping`);
    if (r.name === undefined) throw new ConfigError(`${here}: no resource name specified`);
    if (typeof r.name !== "string") throw new ConfigError(`${here}.name: must be a string`);
    if (r.replicas === undefined) throw new ConfigError(`${here}: no replicas specified`);
    if (typeof r.replicas !== "number" || !Number.isInteger(r.replicas)) {
      throw new ConfigError(`${here}.replicas: must be an integer`);
    }
    if (r.replicas < 2) throw new ConfigError(`${here}: number of replicas must be >= 2`);
    return { name: resourceName(r.name, `${here}.name`), replicas: r.replicas };
  });
  return { renameByDefault, resources };
}

function parsePluginConfig(text: string, migStrategyOverride: MigStrategy | undefined): PluginConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new ConfigError(`unmarshal error: ${(e as Error).message}`);
  }
  doc ??= {};
  if (!isRecord(doc)) throw new ConfigError("unmarshal error: the config is not a mapping");
  const version = doc.version ?? "v1";
  if (version !== "v1") throw new ConfigError(`unknown version: ${String(version)}`);

  const flags = doc.flags ?? {};
  if (!isRecord(flags)) throw new ConfigError("flags: must be a mapping");
  // The plugin's --mig-strategy flag (MIG_STRATEGY, which the GPU operator sets) wins over the file.
  const strategy = migStrategyOverride ?? flags.migStrategy ?? "none";
  if (!MIG_STRATEGIES.includes(strategy as MigStrategy)) {
    throw new ConfigError(`unknown MIG strategy: ${String(strategy)}`);
  }

  const sharing = doc.sharing ?? {};
  if (!isRecord(sharing)) throw new ConfigError("sharing: must be a mapping");
  const parseSection = (key: "timeSlicing" | "mps") =>
    sharing[key] === undefined || sharing[key] === null ? undefined : parseReplicated(sharing[key], `sharing.${key}`);
  return { migStrategy: strategy as MigStrategy, timeSlicing: parseSection("timeSlicing"), mps: parseSection("mps") };
}

type DeviceMap = Map<string, Set<string>>;

function insert(map: DeviceMap, name: string, id: string): void {
  let ids = map.get(name);
  if (ids === undefined) map.set(name, (ids = new Set()));
  ids.add(id);
}

/** `buildDeviceMapFromConfigResources` with the default resources: whole GPUs, then MIG devices. */
function buildDeviceMap(hardware: SimulatedHardware, strategy: MigStrategy): DeviceMap {
  const gpus: DeviceMap = new Map();
  hardware.gpus.forEach((gpu, i) => {
    const migEnabled = Object.keys(gpu.migDevices).length > 0;
    if (migEnabled && strategy !== "none") return;
    insert(gpus, GPU_RESOURCE, `GPU-${i}`);
  });
  if (strategy === "none") return gpus;

  const migs: DeviceMap = new Map();
  hardware.gpus.forEach((gpu, i) => {
    for (const [profile, count] of Object.entries(gpu.migDevices)) {
      const name = strategy === "single" ? GPU_RESOURCE : `${RESOURCE_PREFIX}mig-${profile.replaceAll("+", ".")}`;
      for (let j = 0; j < count; j++) insert(migs, name, `MIG-${i}-${profile}-${j}`);
    }
  });
  if (strategy === "single") {
    const profiles = new Set(hardware.gpus.flatMap((g) => Object.keys(g.migDevices)));
    if (profiles.size > 1) {
      throw new ConfigError("invalid MIG configuration: more than one MIG device type present on node");
    }
    if (gpus.size > 0 && migs.size > 0) {
      throw new ConfigError("all devices on the node must be configured with the same migEnabled value");
    }
  }
  for (const [name, ids] of migs) for (const id of ids) insert(gpus, name, id);
  return gpus;
}

/** `updateDeviceMapWithReplicas`: each listed resource's devices become `replicas` devices each. */
function replicate(devices: DeviceMap, replicated: ReplicatedResources | undefined): DeviceMap {
  if (replicated === undefined) return devices;
  const listed = new Set(replicated.resources.map((r) => r.name));
  const out: DeviceMap = new Map([...devices].filter(([name]) => !listed.has(name)));
  for (const r of replicated.resources) {
    const name = replicated.renameByDefault ? `${r.name}${SHARED_SUFFIX}` : r.name;
    for (const id of devices.get(r.name) ?? []) {
      for (let i = 0; i < r.replicas; i++) insert(out, name, `${id}::${i}`);
    }
  }
  return out;
}

/**
 * What NVIDIA's device plugin advertises on a node with `hardware` when it starts with the config `configYaml`,
 * or why it fails to start (then it advertises nothing).
 * @param migStrategyOverride the plugin's `--mig-strategy`, which wins over the file's `flags.migStrategy`
 */
export function advertise(
  configYaml: string,
  hardware: SimulatedHardware,
  migStrategyOverride?: MigStrategy,
): AdvertiseResult {
  try {
    const config = parsePluginConfig(configYaml, migStrategyOverride);
    // `ReplicatedResources()`: with an mps section, timeSlicing is not used.
    const replicated = config.mps ?? config.timeSlicing;
    if (config.mps !== undefined && config.migStrategy === "mixed") {
      throw new ConfigError("using --mig-strategy=mixed is not supported with MPS");
    }
    const devices = replicate(buildDeviceMap(hardware, config.migStrategy), replicated);
    if (config.mps !== undefined && [...devices.values()].some((ids) => [...ids].some((id) => id.startsWith("MIG-")))) {
      throw new ConfigError("sharing using MPS is not supported for MIG devices");
    }
    const resources = Object.fromEntries(
      [...devices]
        .filter(([, ids]) => ids.size > 0)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, ids]) => [name, ids.size]),
    );
    return { ok: true, resources };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, error: e.message };
    throw e;
  }
}

/** `nvidia.com/gpu=4, nvidia.com/mig-1g.5gb=2`, or `nothing`. */
export function formatResources(resources: Advertised): string {
  const entries = Object.entries(resources);
  return entries.length === 0 ? "nothing" : entries.map(([name, n]) => `${name}=${n}`).join(", ");
}

// ---------------------------------------------------------------------------------------------------------------
// Node status patch

export interface NodeResources {
  readonly capacity?: Readonly<Record<string, string>>;
  readonly allocatable?: Readonly<Record<string, string>>;
}

type ResourcePatch = Record<string, string | null>;

/**
 * A JSON merge patch for `/api/v1/nodes/<name>/status` that sets every advertised resource in capacity and
 * allocatable and removes (`null`) the `nvidia.com/*` resources no longer advertised. Other resources are
 * left alone.
 */
export function statusPatch(
  current: NodeResources,
  resources: Advertised,
): { status: { capacity: ResourcePatch; allocatable: ResourcePatch } } {
  const patch = (existing: Readonly<Record<string, string>> | undefined): ResourcePatch => {
    const p: ResourcePatch = {};
    for (const name of Object.keys(existing ?? {})) {
      if (name.startsWith(RESOURCE_PREFIX) && !(name in resources)) p[name] = null;
    }
    for (const [name, n] of Object.entries(resources)) p[name] = String(n);
    return p;
  };
  return { status: { capacity: patch(current.capacity), allocatable: patch(current.allocatable) } };
}

// ---------------------------------------------------------------------------------------------------------------
// config-manager, as a reducer over observations of one node

/** Whether the GPU operator runs a device-plugin pod on a node with these labels: not when the switch says `false`. */
export function devicePluginDeployed(labels: Readonly<Record<string, string | undefined>>): boolean {
  return labels[DEVICE_PLUGIN_DEPLOY_LABEL] !== "false";
}

/** What config-manager (and the plugin it drives) remembers about one node. */
export interface NodeState {
  /**
   * The label value last acted on (SyncableConfig's last read). Undefined before the first observation and
   * after a crash: the restarted sidecar's informer sees the node as added and acts on whatever the label is.
   */
  readonly label?: string;
  /** The config the plugin runs with (the sidecar's symlink, which outlives a sidecar crash). */
  readonly applied?: string;
  /** The applied config's ConfigMap content when last looked at; only to report a content-only change once. */
  readonly seenContent?: string;
  /** {@link hardwareFingerprint} when last observed. */
  readonly hardware?: string;
  /** After a crash: when config-manager restarts, ms since the epoch. */
  readonly restartAt?: number;
  /** Backoff before the restart after the next crash, ms. */
  readonly backoffMs: number;
  /** No device-plugin pod runs on the node ({@link devicePluginDeployed} false); the next one starts from scratch. */
  readonly undeployed?: boolean;
}

export interface Observation {
  /** The node's `nvidia.com/device-plugin.config` label; "" when absent, as config-manager reads it. */
  readonly label: string;
  /** {@link hardwareFingerprint} of the node's annotations. */
  readonly hardware: string;
  /** The ConfigMap's data, or undefined when the ConfigMap does not exist. */
  readonly configs: ReadonlyMap<string, string> | undefined;
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** {@link devicePluginDeployed} for the node's labels; absent means deployed. */
  readonly deployed?: boolean;
}

export type Action =
  /** Nothing happens: the label did not change, or config-manager is waiting to restart. */
  | { readonly kind: "none" }
  /**
   * The GPU operator removed the device-plugin pod (the node's {@link DEVICE_PLUGIN_DEPLOY_LABEL} is `false`):
   * the node advertises no `nvidia.com/*` resources. Reported once; when the switch goes back, a new pod starts.
   */
  | { readonly kind: "undeployed" }
  /**
   * The plugin restarts with `config`. Cause: the first observation of the node, a label change (including
   * the restart after a crash), or changed simulated hardware (mig-manager restarts the plugin pod).
   */
  | {
      readonly kind: "apply";
      readonly config: string;
      readonly content: string;
      readonly cause: "start" | "label" | "hardware";
    }
  /**
   * "Already configured. Skipping update": the label resolves to the config already applied, or only the
   * ConfigMap content behind an unchanged label changed (config-manager never sees that; reported once).
   */
  | { readonly kind: "skip"; readonly config: string; readonly reason: "already-configured" | "content-changed" }
  /**
   * "specified config <config> does not exist": config-manager exits and restarts after `retryInMs`. The
   * plugin keeps running with the config it has; without one (`pluginStarted` false: the init container
   * failed) it never started and the node advertises nothing.
   */
  | {
      readonly kind: "missing";
      readonly config: string;
      readonly retryInMs: number;
      readonly pluginStarted: boolean;
    };

/**
 * One observation of a node through config-manager's eyes.
 * @param state the node's state after the previous observation, undefined for a node not seen before
 * @param defaultConfig config-manager's `--default-config`, used when the label is empty
 */
export function observe(
  state: NodeState | undefined,
  obs: Observation,
  defaultConfig: string,
): { state: NodeState; action: Action } {
  if (obs.deployed === false) {
    return {
      state: { backoffMs: INITIAL_BACKOFF_MS, undeployed: true },
      action: state?.undeployed === true ? { kind: "none" } : { kind: "undeployed" },
    };
  }
  // A pod the operator deploys again starts like the first one: no config applied, the label read afresh.
  const previous = state?.undeployed === true ? undefined : state;
  let s: NodeState = previous ?? { backoffMs: INITIAL_BACKOFF_MS };
  let cause: "start" | "label" | "hardware" = previous === undefined ? "start" : "label";
  if (s.hardware !== undefined && s.hardware !== obs.hardware) {
    // mig-manager evicts the device-plugin pod around a MIG change: a new pod starts from scratch.
    s = { backoffMs: INITIAL_BACKOFF_MS };
    cause = "hardware";
  }
  s = { ...s, hardware: obs.hardware };
  if (s.restartAt !== undefined) {
    if (obs.now < s.restartAt) return { state: s, action: { kind: "none" } };
    s = { ...s, restartAt: undefined };
  }

  if (s.label !== undefined && s.label === obs.label) {
    const content = s.applied === undefined ? undefined : obs.configs?.get(s.applied);
    if (s.applied !== undefined && content !== undefined && content !== s.seenContent) {
      return {
        state: { ...s, seenContent: content },
        action: { kind: "skip", config: s.applied, reason: "content-changed" },
      };
    }
    return { state: s, action: { kind: "none" } };
  }

  const config = obs.label === "" ? defaultConfig : obs.label;
  const content = obs.configs?.get(config);
  if (content === undefined) {
    return {
      state: {
        ...s,
        label: undefined,
        restartAt: obs.now + s.backoffMs,
        backoffMs: Math.min(2 * s.backoffMs, MAX_BACKOFF_MS),
      },
      action: { kind: "missing", config, retryInMs: s.backoffMs, pluginStarted: s.applied !== undefined },
    };
  }
  const next: NodeState = { ...s, label: obs.label, seenContent: content, backoffMs: INITIAL_BACKOFF_MS };
  if (config === s.applied) {
    return { state: next, action: { kind: "skip", config, reason: "already-configured" } };
  }
  return { state: { ...next, applied: config }, action: { kind: "apply", config, content, cause } };
}
