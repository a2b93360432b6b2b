import { stringify } from "yaml";
import { z } from "zod";
import type { GpuModel } from "../gpu/catalog";
import { findGpuModel, findMigProfile, gpuModelNames, maxMpsClients } from "../gpu/catalog";
import type { AdvertisedDevice, MigStrategy, PoolMig, PoolSharingSpec } from "../gpu/capacity";
import { advertisedDevices, capacityPerNode, scaleCapacity } from "../gpu/capacity";
import { allProfileLayoutName, findNamedLayout, namedLayouts, nonZeroProfiles } from "../gpu/layouts";
import { placeMigLayout } from "../gpu/placement";
import {
  CONFIG_HASH_LENGTH,
  CONFIG_NAME_PREFIX_MAX_LENGTH,
  defaultMigLayoutPrefix,
  generationName,
} from "../gpu/config-names";
import { devicePluginConfig } from "../gpu/device-plugin-config";
import { nodeGroupNameProblems } from "../components/cloud/magnum-names";
import { adapterSettingsProblems } from "../components/k8s/adapter-values";
import { OWNED_OPERATOR_VALUES, poolLabelConflicts } from "../components/k8s/gpu-operator-values";
import { describeProblem, ownedValueProblems, valueAt } from "../components/k8s/helm-values";
import { monitoringSettingsProblems } from "../components/k8s/monitoring-values";
import { seedScriptProblems } from "../components/k8s/seed-script";
import { SCRAPE_INTERVAL_SECONDS } from "../components/k8s/triton-spec";
import { POOL_LABEL } from "./defaults";
import type { RawPool, RawServer, RawStackConfig } from "./schema";
import { stackConfigSchema } from "./schema";

/** A GPU pool, resolved: its GPU model, sharing and what its nodes advertise. */
export interface PoolConfig {
  readonly name: string;
  readonly raw: RawPool;
  readonly gpu: GpuModel;
  readonly nodes: { readonly min: number; readonly max: number; readonly initial: number };
  readonly sharing: PoolSharingSpec;
  /** How the pool shares its GPUs, for people: `none`, `mig`, `timeSlicing`, `mig+timeSlicing`, `mps`. */
  readonly mode: string;
  readonly devices: readonly AdvertisedDevice[];
  readonly perNode: Readonly<Record<string, number>>;
  readonly atMaxNodes: Readonly<Record<string, number>>;
  /**
   * The pool's key in the device-plugin ConfigMap and the value of its nodes' `nvidia.com/device-plugin.config`
   * label: `<pool>-<hash of the config>`, so that every change of the pool's sharing changes it.
   */
  readonly devicePluginConfig: string;
  /** Node labels that select the pool's nodes. */
  readonly nodeSelector: Readonly<Record<string, string>>;
}

export interface ServerConfig {
  readonly name: string;
  readonly raw: RawServer;
  readonly pool: PoolConfig;
  readonly resource: string;
  readonly device: AdvertisedDevice;
  readonly replicas: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
}

export interface StackConfig {
  readonly raw: RawStackConfig;
  readonly migStrategy: MigStrategy;
  readonly pools: readonly PoolConfig[];
  readonly servers: readonly ServerConfig[];
  readonly warnings: readonly string[];
}

/** Every problem of a stack config, found before any resource exists. */
export class StackConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `gpushare stack config has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "StackConfigError";
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PROMETHEUS_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const PROMETHEUS_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
/** Milliseconds per unit of {@link PROMETHEUS_DURATION}'s groups, in order (Prometheus's year is 365 days). */
const DURATION_UNIT_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];
/** `increase()` needs two samples in its window; fewer, and the adapter's query returns nothing. */
const MIN_SCRAPES_PER_WINDOW = 2;
/** An image reference with a tag or a digest after its last path segment. */
const PINNED_IMAGE = /^[^\s@]+(?::[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$/;

function show(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : JSON.stringify(value);
}

/** Milliseconds of a Prometheus duration (`1m30s`), or `undefined` when it is not one. */
function durationMilliseconds(duration: string): number | undefined {
  const match = duration === "" ? null : PROMETHEUS_DURATION.exec(duration);
  if (match === null) return undefined;
  return DURATION_UNIT_MS.reduce((sum, unit, i) => sum + Number(match[i + 1] ?? 0) * unit, 0);
}

function pathOf(segments: readonly PropertyKey[]): string {
  return segments.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`)).join("");
}

function structuralProblems(raw: unknown, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = pathOf(issue.path);
    if (issue.code === "unrecognized_keys") {
      return `${path === "" ? "gpushare" : path}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys
        .map((k) => `"${k}"`)
        .join(
          ", ",
        )}; remove ${issue.keys.length > 1 ? "them" : "it"} or check the spelling against the README's config reference`;
    }
    const value = valueAt(raw, issue.path);
    const got = value === undefined ? "missing" : show(value);
    return `${path}: ${got} is not allowed (${issue.message}); set ${path} in the stack file to a valid value`;
  });
}

function isNonNegativeInt(n: number): boolean {
  return Number.isInteger(n) && n >= 0;
}

interface PoolDraft {
  readonly name: string;
  readonly raw: RawPool;
  readonly gpu: GpuModel;
  readonly mig?: PoolMig;
}

/** Resolves a pool's MIG section to counts, or records why it cannot. */
function resolveMig(
  name: string,
  pool: RawPool,
  gpu: GpuModel,
  poolNames: readonly string[],
  problems: string[],
): PoolMig | undefined {
  const mig = pool.mig;
  if (mig === undefined) return undefined;
  const at = `gpuPools.${name}.mig`;
  if (gpu.mig === undefined) {
    problems.push(
      `${at}: ${gpu.name} has no MIG; remove gpuPools.${name}.mig and share it with timeSlicing or mps, or use a MIG GPU (${gpuModels(true)})`,
    );
    return undefined;
  }
  if ((mig.layout === undefined) === (mig.profiles === undefined)) {
    problems.push(
      `${at}: give exactly one of layout (e.g. "all-balanced") or profiles (e.g. {"3g.20gb": 2}); it has ${mig.layout === undefined ? "neither" : "both"}`,
    );
    return undefined;
  }
  if (mig.layout !== undefined) {
    const named = findNamedLayout(gpu, mig.layout);
    if (named === undefined) {
      problems.push(
        `${at}.layout: "${mig.layout}" is not a MIG layout of ${gpu.name}; use one of ${namedLayouts(gpu)
          .map((l) => l.name)
          .join(", ")} or list profiles explicitly under ${at}.profiles`,
      );
      return undefined;
    }
    return { configName: named.name, migEnabled: named.migEnabled, counts: named.counts };
  }
  const counts = mig.profiles ?? {};
  let ok = true;
  for (const [profileName, count] of Object.entries(counts)) {
    if (findMigProfile(gpu, profileName) === undefined) {
      problems.push(
        `${at}.profiles: "${profileName}" is not a MIG profile of ${gpu.name}; use one of ${gpu.mig.profiles
          .map((p) => p.name)
          .join(", ")}`,
      );
      ok = false;
    } else if (!isNonNegativeInt(count)) {
      problems.push(`${at}.profiles.${profileName}: ${show(count)} is not a count; use a whole number ≥ 0`);
      ok = false;
    }
  }
  if (!ok) return undefined;
  if (nonZeroProfiles(counts).length === 0) {
    problems.push(
      `${at}.profiles: no instances; list at least one profile with a count ≥ 1, or use layout "all-disabled"`,
    );
    return undefined;
  }
  if (placeMigLayout(gpu.mig, counts) === undefined) {
    problems.push(
      `${at}.profiles: ${show(counts)} has no legal placement on ${gpu.name} (instances overlap on its ${gpu.mig.memorySlices} memory slices or exceed its ${gpu.mig.computeSlices} compute slices); remove an instance or use a named layout such as all-balanced`,
    );
    return undefined;
  }
  if (mig.name !== undefined && !migNameOk(`${at}.name`, mig.name, gpu, name, poolNames, problems)) return undefined;
  // Named after its content, so that a changed layout moves the nodes' label and mig-manager acts on it.
  const configName = generationName(mig.name ?? defaultMigLayoutPrefix(name), explicitLayoutContent(gpu, counts));
  return { configName, migEnabled: true, counts };
}

/**
 * What an explicit layout's name is a hash of: the GPU model and its instances per profile. A name thus means
 * one layout on one model, and needs no device filter in mig-manager's config.
 */
export function explicitLayoutContent(gpu: GpuModel, counts: Readonly<Record<string, number>>): string {
  return stringify({
    gpu: gpu.name,
    migDevices: Object.fromEntries(nonZeroProfiles(counts).map((p) => [p, counts[p]])),
  });
}

/** Whether `mig.name` can prefix a generated layout name; records why not. */
function migNameOk(
  at: string,
  value: string,
  gpu: GpuModel,
  pool: string,
  poolNames: readonly string[],
  problems: string[],
): boolean {
  if (!DNS_LABEL.test(value.replace(/\./g, "-")) || value.length > CONFIG_NAME_PREFIX_MAX_LENGTH) {
    problems.push(
      `${at}: "${value}" cannot prefix a label value; use lowercase letters, digits, "-" and ".", at most ${CONFIG_NAME_PREFIX_MAX_LENGTH} characters (gpushare appends "-" and an ${CONFIG_HASH_LENGTH}-digit content hash)`,
    );
    return false;
  }
  if (findNamedLayout(gpu, value) !== undefined || value.startsWith("all-")) {
    problems.push(
      `${at}: "${value}" looks like one of mig-manager's own layout names (all-*), which mean fixed layouts per GPU model; pick another name, or use gpuPools.${pool}.mig.layout "${value}" instead of profiles`,
    );
    return false;
  }
  const owner = poolNames.find((p) => p !== pool && defaultMigLayoutPrefix(p) === value);
  if (owner !== undefined) {
    problems.push(
      `${at}: "${value}" is the name gpushare generates for pool ${owner}'s layouts, so node labels would point readers at the wrong pool; pick another name or remove ${at}`,
    );
    return false;
  }
  return true;
}

function gpuModels(migOnly: boolean): string {
  return gpuModelNames()
    .filter((n) => !migOnly || findGpuModel(n)?.mig !== undefined)
    .join(", ");
}

function checkSharing(draft: PoolDraft, strategy: MigStrategy, problems: string[]): void {
  const { name, raw, gpu, mig } = draft;
  const at = `gpuPools.${name}`;
  const ts = raw.timeSlicing;
  if (raw.mps !== undefined) {
    if (raw.mig !== undefined) {
      problems.push(
        `${at}.mps: MPS does not run on MIG devices; remove ${at}.mig to share whole GPUs with MPS, or remove ${at}.mps and time-slice the MIG slices with ${at}.timeSlicing`,
      );
    }
    if (ts !== undefined) {
      problems.push(
        `${at}: both timeSlicing and mps are set and the device plugin would silently use MPS; keep one of ${at}.timeSlicing or ${at}.mps`,
      );
    }
    if (strategy === "mixed") {
      problems.push(
        `${at}.mps: the device plugin rejects MPS under the mixed MIG strategy this cluster uses; use timeSlicing on this pool or run MPS pools in a cluster with cluster.migStrategy "single"`,
      );
    }
    const max = maxMpsClients(gpu);
    const r = raw.mps.replicas;
    if (!Number.isInteger(r) || r < 2 || r > max) {
      problems.push(
        `${at}.mps.replicas: ${show(r)} is not allowed; ${gpu.name} (compute capability ${gpu.computeCapability}) takes 2 to ${max} MPS clients per GPU, as a whole number`,
      );
    }
  }
  if (ts === undefined) return;
  const replicaProblem = (path: string, r: number): void => {
    if (!Number.isInteger(r) || r < 2) {
      problems.push(
        `${path}: ${show(r)} is not allowed; time-slicing replicas are a whole number ≥ 2 (remove ${at}.timeSlicing to not share)`,
      );
    }
  };
  if (typeof ts.replicas === "number") {
    replicaProblem(`${at}.timeSlicing.replicas`, ts.replicas);
    return;
  }
  if (mig === undefined || !mig.migEnabled) {
    problems.push(
      `${at}.timeSlicing.replicas: per-profile replicas need MIG slices, and this pool shares whole GPUs; give one number, e.g. replicas: 4`,
    );
    return;
  }
  const inLayout = nonZeroProfiles(mig.counts);
  for (const [profileName, r] of Object.entries(ts.replicas)) {
    if (!inLayout.includes(profileName)) {
      problems.push(
        `${at}.timeSlicing.replicas.${profileName}: the pool's layout ${mig.configName} has no ${profileName} slices; use one of ${inLayout.join(", ")}`,
      );
    } else {
      replicaProblem(`${at}.timeSlicing.replicas.${profileName}`, r);
    }
  }
}

function modeOf(raw: RawPool, mig: PoolMig | undefined): string {
  if (raw.mps !== undefined) return "mps";
  const migOn = mig !== undefined && mig.migEnabled;
  if (migOn && raw.timeSlicing !== undefined) return "mig+timeSlicing";
  if (migOn) return "mig";
  if (raw.timeSlicing !== undefined) return "timeSlicing";
  return "none";
}

function checkServer(
  name: string,
  server: RawServer,
  pools: ReadonlyMap<string, PoolConfig>,
  stack: RawStackConfig,
  strategy: MigStrategy,
  problems: string[],
  warnings: string[],
): ServerConfig | undefined {
  const at = `servers.${name}`;
  if (!DNS_LABEL.test(name) || name.length > 63) {
    problems.push(
      `servers: "${name}" is not a DNS-1123 label; use lowercase letters, digits and "-", at most 63 characters`,
    );
  }
  if (!PINNED_IMAGE.test(server.image)) {
    problems.push(
      `${at}.image: "${server.image}" has no tag or digest; pin it, e.g. nvcr.io/nvidia/tritonserver:24.08-py3`,
    );
  }
  if (server.service.type === "LoadBalancer" && server.service.exposeMetrics) {
    problems.push(
      `${at}.service.exposeMetrics: true would publish Triton's metrics port through a LoadBalancer; Prometheus scrapes pods directly, so set it to false or use service.type ClusterIP`,
    );
  }
  const replicas = server.replicas;
  if (!isNonNegativeInt(replicas)) {
    problems.push(`${at}.replicas: ${show(replicas)} is not allowed; use a whole number ≥ 0`);
  }
  const auto = server.autoscaling;
  if (auto !== undefined) {
    if (!Number.isInteger(auto.minReplicas) || auto.minReplicas < 1) {
      problems.push(`${at}.autoscaling.minReplicas: ${show(auto.minReplicas)} is not allowed; use a whole number ≥ 1`);
    }
    if (!Number.isInteger(auto.maxReplicas) || auto.maxReplicas < 1) {
      problems.push(`${at}.autoscaling.maxReplicas: ${show(auto.maxReplicas)} is not allowed; use a whole number ≥ 1`);
    }
    if (auto.minReplicas > auto.maxReplicas) {
      problems.push(
        `${at}.autoscaling: minReplicas ${auto.minReplicas} is greater than maxReplicas ${auto.maxReplicas}; raise maxReplicas or lower minReplicas`,
      );
    }
    if (!(auto.targetAverageValue > 0)) {
      problems.push(
        `${at}.autoscaling.targetAverageValue: ${show(auto.targetAverageValue)} is not allowed; use a number > 0 (µs)`,
      );
    }
  }
  const seed = stack.modelStore.seed;
  if (server.models !== undefined && seed.enabled && stack.modelStore.manila !== undefined) {
    const seeded = new Set(seed.models.map((m) => m.name));
    for (const m of server.models.filter((x) => !seeded.has(x))) {
      warnings.push(
        `${at}.models: "${m}" is not provided by modelStore.seed, the only source of models in a new share; add it to modelStore.seed.models or copy it into the share yourself`,
      );
    }
  }
  const pool = pools.get(server.pool);
  if (pool === undefined) {
    problems.push(
      `${at}.pool: "${server.pool}" is not a pool of this stack; use one of ${Object.keys(stack.gpuPools).join(", ") || "(no pools defined: add gpuPools)"}`,
    );
    return undefined;
  }
  const offered = Object.keys(pool.perNode);
  let resource = server.resource;
  if (resource === undefined) {
    if (offered.length !== 1) {
      problems.push(
        `${at}.resource: pool ${pool.name} advertises ${offered.length === 0 ? "no resources" : offered.join(", ")}; name the one this server requests`,
      );
      return undefined;
    }
    resource = offered[0];
  }
  const device = pool.devices.find((d) => d.resource === resource);
  if (device === undefined) {
    problems.push(
      `${at}.resource: "${resource}" is not advertised by pool ${pool.name} (${pool.gpu.name}, ${pool.mode}, MIG strategy ${strategy}); use one of ${offered.join(", ") || "(none)"}`,
    );
    return undefined;
  }
  const maxReplicas = auto === undefined ? replicas : Math.max(auto.maxReplicas, replicas);
  const minReplicas = auto === undefined ? replicas : auto.minReplicas;
  const fit = pool.atMaxNodes[resource] ?? 0;
  if (maxReplicas > fit) {
    const what = auto === undefined ? "replicas" : "autoscaling.maxReplicas";
    problems.push(
      `${at}.${what}: ${maxReplicas} pods of ${resource} do not fit pool ${pool.name}: at its ${pool.nodes.max} max node${pool.nodes.max === 1 ? "" : "s"} it advertises ${fit}, ${maxReplicas - fit} short; lower ${what} to ${fit} or raise gpuPools.${pool.name}.nodes.max`,
    );
  }
  if (server.modelMemoryGiB !== undefined && device.replicas > 1) {
    const need = server.modelMemoryGiB * device.replicas;
    const perClient = device.sharing === "mps" ? device.memoryGiB / device.replicas : device.memoryGiB;
    const over = device.sharing === "mps" ? server.modelMemoryGiB > perClient : need > device.memoryGiB;
    if (over) {
      const msg =
        device.sharing === "mps"
          ? `${at}.modelMemoryGiB: ${server.modelMemoryGiB} GiB exceeds the ${perClient.toFixed(2)} GiB each of ${device.replicas} MPS clients gets on ${pool.gpu.name}; lower gpuPools.${pool.name}.mps.replicas or use MIG slices large enough for the model`
          : `${at}.modelMemoryGiB: ${device.replicas} time-sliced replicas × ${server.modelMemoryGiB} GiB = ${need} GiB exceeds the ${device.memoryGiB} GiB of one ${device.migProfile === undefined ? pool.gpu.name : `${device.migProfile} slice`}, and time-sliced pods share memory, so one OOM kills them all; isolate memory with MIG slices or MPS, or lower the replicas of gpuPools.${pool.name}.timeSlicing`;
      (stack.validation.memoryOversubscription === "fail" ? problems : warnings).push(msg);
    }
  }
  return { name, raw: server, pool, resource, device, replicas, minReplicas, maxReplicas };
}

/**
 * Parses and validates the `gpushare:` config of a stack: structure, GPU knowledge, capacity. Throws a
 * `StackConfigError` with every problem found; returns the resolved config with warnings otherwise.
 * Pure: no Pulumi, no environment.
 */
export function parseStackConfig(input: unknown): StackConfig {
  const parsed = stackConfigSchema.safeParse(input ?? {});
  if (!parsed.success) throw new StackConfigError(structuralProblems(input, parsed.error));
  const raw = parsed.data;
  const problems: string[] = [];
  const warnings: string[] = [];

  // Cluster source.
  const openstack = raw.cluster.kind === "openstack";
  if (openstack) {
    if (raw.kubeconfig !== undefined || raw.cluster.existing !== undefined) {
      problems.push(
        `cluster: both an OpenStack cluster (cluster.kind "openstack") and an existing cluster (${raw.kubeconfig !== undefined ? "gpushare:kubeconfig" : "cluster.existing"}) are given; remove one: kind "existing" uses the kubeconfig, kind "openstack" creates the cluster`,
      );
    }
    const os = raw.cluster.openstack;
    if (os === undefined) {
      problems.push(
        `cluster.openstack: missing; OpenStack mode needs it (at least nodeSubnetCidr, and clusterTemplateId or template)`,
      );
    } else {
      if ((os.clusterTemplateId === undefined) === (os.template === undefined)) {
        problems.push(
          `cluster.openstack: give exactly one of clusterTemplateId (an existing Magnum template) or template (one gpushare creates); it has ${os.template === undefined ? "neither" : "both"}`,
        );
      }
      if (!Number.isInteger(os.masterCount) || os.masterCount < 1 || os.masterCount % 2 === 0) {
        problems.push(
          `cluster.openstack.masterCount: ${show(os.masterCount)} is not allowed; use an odd whole number (1, 3, 5) so etcd keeps quorum`,
        );
      }
      if (!Number.isInteger(os.workerCount) || os.workerCount < 1) {
        problems.push(
          `cluster.openstack.workerCount: ${show(os.workerCount)} is not allowed; use a whole number ≥ 1 for the system node group`,
        );
      }
    }
  } else if (raw.cluster.openstack !== undefined) {
    problems.push(
      `cluster.openstack: set, but cluster.kind is "existing"; set cluster.kind to "openstack" or remove cluster.openstack`,
    );
  }

  // Model store.
  const store = raw.modelStore;
  if (store.manila !== undefined && store.nfs !== undefined) {
    problems.push(
      `modelStore: both manila (a share gpushare creates) and nfs (an existing export) are given; keep one`,
    );
  } else if (store.manila === undefined && store.nfs === undefined) {
    problems.push(
      `modelStore: no model storage; give modelStore.nfs {server, path} of an existing NFS export, or modelStore.manila {sizeGiB} for a Manila share`,
    );
  }
  if (store.seed.enabled) problems.push(...seedScriptProblems(store.seed.models, store.subPath));
  if (store.manila !== undefined) {
    const size = store.manila.sizeGiB;
    if (!Number.isInteger(size) || size < 1) {
      problems.push(`modelStore.manila.sizeGiB: ${show(size)} is not allowed; Manila shares are whole GiB, at least 1`);
    }
    if (store.manila.accessCidr === undefined && !openstack) {
      problems.push(
        `modelStore.manila.accessCidr: missing; in existing-cluster mode name the nodes' subnet (e.g. 10.0.0.0/24) the share admits`,
      );
    }
  }

  // Monitoring and the metric.
  const adapter = raw.metricsAdapter;
  if (!PROMETHEUS_METRIC_NAME.test(adapter.metricName)) {
    problems.push(
      `metricsAdapter.metricName: "${adapter.metricName}" is not a Prometheus metric name; use letters, digits, "_" and ":", not starting with a digit (e.g. avg_time_queue_us)`,
    );
  }
  const windowMs = durationMilliseconds(adapter.window);
  if (windowMs === undefined) {
    problems.push(`metricsAdapter.window: "${adapter.window}" is not a Prometheus duration; use e.g. 30s, 1m or 1m30s`);
  } else if (windowMs < MIN_SCRAPES_PER_WINDOW * SCRAPE_INTERVAL_SECONDS * 1000) {
    problems.push(
      `metricsAdapter.window: "${adapter.window}" spans fewer than ${MIN_SCRAPES_PER_WINDOW} scrapes of Triton (every ${SCRAPE_INTERVAL_SECONDS}s), so increase() has too few samples and the HPAs see no metric; use at least ${MIN_SCRAPES_PER_WINDOW * SCRAPE_INTERVAL_SECONDS}s (e.g. 30s)`,
    );
  }
  for (const [path, ns] of [
    ["gpuOperator.namespace", raw.gpuOperator.namespace],
    ["monitoring.namespace", raw.monitoring.namespace],
    ["metricsAdapter.namespace", adapter.namespace],
    ["inference.namespace", raw.inference.namespace],
  ] as const) {
    if (ns === "kube-system") {
      problems.push(
        `${path}: "kube-system" is reserved for the cluster's own components; use a namespace of gpushare's own (e.g. the default)`,
      );
    } else if (!DNS_LABEL.test(ns)) {
      problems.push(`${path}: "${ns}" is not a DNS-1123 label; use lowercase letters, digits and "-"`);
    }
  }
  // The charts' extra values, and the Prometheus an installed monitoring stack offers.
  problems.push(...ownedValueProblems(raw.gpuOperator.values, OWNED_OPERATOR_VALUES, "gpuOperator.values"));
  problems.push(...monitoringSettingsProblems(raw.monitoring).map(describeProblem));
  problems.push(...adapterSettingsProblems(adapter).map(describeProblem));

  // Pools, first alone, then the cluster's single MIG strategy, then sharing.
  const drafts: PoolDraft[] = [];
  for (const [name, pool] of Object.entries(raw.gpuPools)) {
    const at = `gpuPools.${name}`;
    if (!DNS_LABEL.test(name) || name.length > 63) {
      problems.push(
        `gpuPools: "${name}" is not a DNS-1123 label; use lowercase letters, digits and "-", at most 63 characters`,
      );
    } else if (name === "default") {
      problems.push(`gpuPools: "default" is reserved for the device plugin's default config; pick another pool name`);
    }
    const { min, max } = pool.nodes;
    if (!isNonNegativeInt(min)) problems.push(`${at}.nodes.min: ${show(min)} is not allowed; use a whole number ≥ 0`);
    if (!Number.isInteger(max) || max < 1)
      problems.push(`${at}.nodes.max: ${show(max)} is not allowed; use a whole number ≥ 1`);
    if (min > max)
      problems.push(`${at}.nodes: min ${min} is greater than max ${max}; raise nodes.max or lower nodes.min`);
    const initial = pool.nodes.initial;
    if (initial !== undefined && (!Number.isInteger(initial) || initial < min || initial > max)) {
      problems.push(
        `${at}.nodes.initial: ${show(initial)} is not allowed; use a whole number between nodes.min ${min} and nodes.max ${max}`,
      );
    }
    if (!Number.isInteger(pool.gpusPerNode) || pool.gpusPerNode < 1 || pool.gpusPerNode > 16) {
      problems.push(`${at}.gpusPerNode: ${show(pool.gpusPerNode)} is not allowed; use a whole number from 1 to 16`);
    }
    if (openstack && pool.flavor === undefined) {
      problems.push(
        `${at}.flavor: missing; OpenStack mode creates a node group per pool and needs its Nova flavor (e.g. a GPU flavor with one ${pool.gpu})`,
      );
    }
    if (!openstack && pool.flavor !== undefined) {
      warnings.push(`${at}.flavor: ignored in existing-cluster mode; nodes are found by gpuPools.${name}.nodeSelector`);
    }
    const gpu = findGpuModel(pool.gpu);
    if (gpu === undefined) {
      problems.push(`${at}.gpu: "${pool.gpu}" is not a known GPU model; use one of ${gpuModels(false)}`);
      continue;
    }
    const mig = resolveMig(name, pool, gpu, Object.keys(raw.gpuPools), problems);
    drafts.push({ name, raw: pool, gpu, ...(mig === undefined ? {} : { mig }) });
  }

  if (openstack) {
    problems.push(...nodeGroupNameProblems(Object.keys(raw.gpuPools)));
    const template = raw.cluster.openstack?.template;
    const autoscaled = Object.entries(raw.gpuPools).filter(([, p]) => p.nodes.min < p.nodes.max);
    if (template !== undefined && autoscaled.length > 0 && template.labels.auto_scaling_enabled !== "true") {
      warnings.push(
        `cluster.openstack.template.labels.auto_scaling_enabled: not "true", so Magnum runs no cluster autoscaler and ${autoscaled.map(([n]) => `gpuPools.${n}`).join(", ")} stay at nodes.initial; set auto_scaling_enabled: "true" or make nodes.min equal nodes.max`,
      );
    }
  }

  const asked = new Map<string, string>();
  if (raw.cluster.migStrategy !== undefined) asked.set("cluster.migStrategy", raw.cluster.migStrategy);
  for (const d of drafts) {
    if (d.raw.mig?.strategy !== undefined) asked.set(`gpuPools.${d.name}.mig.strategy`, d.raw.mig.strategy);
  }
  const strategies = new Set(asked.values());
  if (strategies.size > 1) {
    problems.push(
      `MIG strategy: ${[...asked].map(([k, v]) => `${k} "${v}"`).join(", ")} disagree, but the GPU operator applies one strategy to every node of a cluster; set the same value everywhere (or only cluster.migStrategy), and run the other shape as a separate stack`,
    );
  }
  const migStrategy: MigStrategy =
    raw.cluster.migStrategy ?? (strategies.size === 1 ? ([...strategies][0] as MigStrategy) : "single");

  const pools = new Map<string, PoolConfig>();
  for (const d of drafts) {
    const at = `gpuPools.${d.name}`;
    if (migStrategy === "single" && d.mig !== undefined && nonZeroProfiles(d.mig.counts).length > 1) {
      problems.push(
        `${at}.mig: layout ${d.mig.configName} mixes ${nonZeroProfiles(d.mig.counts).join(", ")}, but the single strategy needs identical slices; set cluster.migStrategy "mixed" or use one profile (e.g. ${allProfileLayoutName(nonZeroProfiles(d.mig.counts)[0])})`,
      );
      continue;
    }
    const before = problems.length;
    checkSharing(d, migStrategy, problems);
    if (problems.length > before) continue;
    const sharing: PoolSharingSpec = {
      gpu: d.gpu,
      gpusPerNode: d.raw.gpusPerNode,
      ...(d.mig === undefined ? {} : { mig: d.mig }),
      ...(d.raw.timeSlicing === undefined ? {} : { timeSlicing: d.raw.timeSlicing }),
      ...(d.raw.mps === undefined ? {} : { mps: d.raw.mps }),
    };
    const devices = advertisedDevices(sharing, migStrategy);
    const perNode = capacityPerNode(devices);
    const nodes = {
      min: d.raw.nodes.min,
      max: d.raw.nodes.max,
      initial: d.raw.nodes.initial ?? Math.max(d.raw.nodes.min, 1),
    };
    pools.set(d.name, {
      name: d.name,
      raw: d.raw,
      gpu: d.gpu,
      nodes,
      sharing,
      mode: modeOf(d.raw, d.mig),
      devices,
      perNode,
      atMaxNodes: scaleCapacity(perNode, nodes.max),
      // Named after its content: config-manager re-reads a config only when the node's label value changes.
      devicePluginConfig: generationName(d.name, stringify(devicePluginConfig(sharing, migStrategy))),
      nodeSelector: d.raw.nodeSelector ?? { [POOL_LABEL]: d.name },
    });
  }

  const servers: ServerConfig[] = [];
  for (const [name, server] of Object.entries(raw.servers)) {
    const s = checkServer(name, server, pools, raw, migStrategy, problems, warnings);
    if (s !== undefined) servers.push(s);
  }
  // Servers sharing a pool's resource compete for it: together they must fit too.
  const claims = new Map<string, ServerConfig[]>();
  for (const s of servers) {
    const key = `${s.pool.name}\u0000${s.resource}`;
    claims.set(key, [...(claims.get(key) ?? []), s]);
  }
  for (const group of claims.values()) {
    if (group.length < 2) continue;
    const total = group.reduce((n, s) => n + s.maxReplicas, 0);
    const fit = group[0].pool.atMaxNodes[group[0].resource] ?? 0;
    if (total > fit) {
      problems.push(
        `servers: ${group.map((s) => s.name).join(", ")} together claim up to ${total} of ${group[0].resource} in pool ${group[0].pool.name}, which advertises ${fit} at max nodes, ${total - fit} short; lower their maxReplicas or raise gpuPools.${group[0].pool.name}.nodes.max`,
      );
    }
  }

  // OpenStack mode names every node after its node group, so each pool's nodes can be matched by name.
  const resolved: StackConfig = { raw, migStrategy, pools: [...pools.values()], servers, warnings };
  problems.push(...poolLabelConflicts(resolved, () => openstack));

  if (problems.length > 0) throw new StackConfigError(problems);
  return resolved;
}
