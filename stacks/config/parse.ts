import { isIP } from "node:net";
import { stringify } from "yaml";
import { z } from "zod";
import type { GpuModel } from "../../gpu/catalog";
import { findGpuModel, findMigProfile, gpuModelNames, maxMpsClients } from "../../gpu/catalog";
import type { AdvertisedDevice, MigStrategy, PoolMig, PoolSharingSpec } from "../../gpu/capacity";
import {
  advertisedDevices,
  capacityPerNode,
  gpuPodBudget,
  nodePodLimitProblems,
  podsPerNode,
  scaleCapacity,
} from "../../gpu/capacity";
import type { MemoryFit } from "../../gpu/memory";
import {
  gib,
  maxReplicasByMemory,
  memoryFit,
  MPS_SERVER_GIB,
  overheadProblem,
  replicaOverheadGiB,
} from "../../gpu/memory";
import { allProfileLayoutName, findNamedLayout, namedLayouts, nonZeroProfiles } from "../../gpu/layouts";
import { placeMigLayout } from "../../gpu/placement";
import {
  CONFIG_HASH_LENGTH,
  CONFIG_NAME_PREFIX_MAX_LENGTH,
  defaultMigLayoutPrefix,
  generationName,
} from "../../gpu/config-names";
import { devicePluginConfig } from "../../gpu/device-plugin-config";
import { ownedValueProblems, valueAt } from "../../components/k8s/helm-values";
import { SCRAPE_INTERVAL_SECONDS, tritonServiceProblems } from "../../components/k8s/triton-server-spec";
import {
  adapterSettingsProblems,
  monitoringSettingsProblems,
  nodeGroupNameProblems,
  OWNED_OPERATOR_VALUES,
  poolLabelConflicts,
  seedScriptProblems,
} from "./component-rules";
import { plainTextSecretProblems } from "./credentials";
import { clusterTemplateProblems } from "../../components/cloud/magnum-names";
import { subPathProblems } from "../../components/k8s/model-store-seed-script";
import { POOL_LABEL } from "./defaults";
import { problemFromText, problemText } from "../../problems";
import { StackConfigError } from "./errors";
import { MAX_CLUSTER_NODES, MAX_CLUSTER_PODS, MAX_TIME_SLICING_REPLICAS } from "./rules/bounds";
import { cidrProblem } from "../../components/cloud/network-range";
import { imageReferenceProblem } from "./rules/image-reference";
import { annotationsProblems, dns1035Problem, labelsProblems, quantityProblem, quote } from "./rules/kubernetes-syntax";
import type { RawPool, RawServer, RawStackConfig } from "./schema";
import { SECRET_STAND_IN, SECRET_STACK_CONFIG_KEYS, stackConfigSchema } from "./schema";
import { kneeMaxReplicas, kneeOf } from "../../gpu/sharing-curve";
import { draAdvertisedDevices } from "../../gpu/dra";
import { resolveCurveFiles } from "./curve-files";
import { draConsumableShares, draMpsServerProblem, draProblems } from "./dra";
import { curveDeviceProblems, serverDevices, serverServing, servingWarnings } from "./serving-rules";

export { StackConfigError };

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
  /** How pods get the pool's devices: extended resources of the device plugin, or DRA claims (docs/dra.md). */
  readonly allocation: "devicePlugin" | "dra";
  /**
   * With `allocation: dra`: the DRA driver's consumable shares per device (the stack's time-sliced DRA pools'
   * replicas), or `undefined` when the driver runs without them.
   */
  readonly draConsumableShares?: number;
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

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PROMETHEUS_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const PROMETHEUS_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
/** Milliseconds per unit of {@link PROMETHEUS_DURATION}'s groups, in order (Prometheus's year is 365 days). */
const DURATION_UNIT_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];
/** `increase()` needs two samples in its window; fewer, and the adapter's query returns nothing. */
const MIN_SCRAPES_PER_WINDOW = 2;
/** Operating systems of node images on which NVIDIA's GPU operator cannot run its driver container. */
const DRIVERLESS_NODE_IMAGE = /fedora-coreos|fcos/i;

/** A config value as a message quotes it: JSON, but numbers as JavaScript prints them (JSON has no Infinity). */
function show(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return quote(value);
  // Infinity and NaN inside a mapping print as themselves, not as JSON's null.
  const json = JSON.stringify(value, (_, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
  return json.length > 80 ? `${json.slice(0, 77)}…` : json;
}

/** What a config value is, in a message's words: "a string", "a mapping", "a list", ... */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return `a ${typeof value}`;
}

/** zod's names of types, in a message's words. */
const TYPE_WORDS: Readonly<Record<string, string>> = {
  number: "a number",
  string: "a string",
  boolean: "true or false",
  record: "a mapping",
  object: "a mapping",
  array: "a list",
};

/** What an issue expected, when zod says it: a type, or any of a union's types. */
function expectedOf(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code === "invalid_type") return TYPE_WORDS[issue.expected] ?? issue.expected;
  if (issue.code === "invalid_union") {
    const kinds = issue.errors.flatMap((branch) => branch.filter((i) => i.path.length === 0).map(expectedOf));
    const words = [...new Set(kinds.filter((k): k is string => k !== undefined))];
    return words.length > 0 ? words.join(" or ") : undefined;
  }
  return undefined;
}

/** Milliseconds of a Prometheus duration (`1m30s`), or `undefined` when it is not one. */
export function durationMilliseconds(duration: string): number | undefined {
  const match = duration === "" ? null : PROMETHEUS_DURATION.exec(duration);
  if (match === null) return undefined;
  return DURATION_UNIT_MS.reduce((sum, unit, i) => sum + Number(match[i + 1] ?? 0) * unit, 0);
}

function pathOf(segments: readonly PropertyKey[]): string {
  return segments.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`)).join("");
}

function structuralProblems(raw: unknown, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length === 0 ? "gpushare" : pathOf(issue.path);
    if (issue.code === "unrecognized_keys") {
      return `${path}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys
        .map((k) => `"${k}"`)
        .join(
          ", ",
        )}; remove ${issue.keys.length > 1 ? "them" : "it"} or check the spelling against the README's config reference`;
    }
    const value = valueAt(raw, issue.path);
    const got = value === undefined ? "missing" : show(value);
    const nonFinite = typeof value === "number" && !Number.isFinite(value);
    const expected = nonFinite ? "a finite number" : expectedOf(issue);
    if (expected !== undefined && value === undefined) {
      return `${path}: missing; set ${path} in the stack file to ${expected}`;
    }
    if (expected !== undefined) {
      return `${path}: ${got} is not allowed (${expected}, not ${kindOf(value)}); set ${path} in the stack file to ${expected}`;
    }
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
  /** Whether its node and GPU counts are valid: without them, what the pool advertises at max nodes is unknown. */
  readonly countsOk: boolean;
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
function explicitLayoutContent(gpu: GpuModel, counts: Readonly<Record<string, number>>): string {
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

/**
 * Checks a pool's time-slicing and MPS. `strategy` is `undefined` when the stack's MIG strategies disagree: the
 * checks that depend on it are then left out, since that disagreement is reported already.
 */
function checkSharing(draft: PoolDraft, strategy: MigStrategy | undefined, problems: string[]): void {
  const { name, raw, gpu, mig } = draft;
  const at = `gpuPools.${name}`;
  const ts = raw.timeSlicing;
  // The DRA driver runs MPS on MIG devices too (MigDeviceConfig), whatever the device plugin's MIG strategy.
  const plugin = raw.allocation !== "dra";
  if (raw.mps !== undefined) {
    if (raw.mig !== undefined && plugin) {
      problems.push(
        `${at}.mps: MPS does not run on MIG devices; remove ${at}.mig to share whole GPUs with MPS, or remove ${at}.mps and time-slice the MIG slices with ${at}.timeSlicing`,
      );
    }
    if (ts !== undefined) {
      problems.push(
        `${at}: both timeSlicing and mps are set and the device plugin would silently use MPS; keep one of ${at}.timeSlicing or ${at}.mps`,
      );
    }
    if (strategy === "mixed" && plugin) {
      problems.push(
        `${at}.mps: the device plugin rejects MPS under the mixed MIG strategy this cluster uses; use timeSlicing on this pool or run MPS pools in a cluster with cluster.migStrategy "single"`,
      );
    }
    const max = maxMpsClients(gpu);
    const r = raw.mps.replicas;
    if (!Number.isInteger(r) || r < 2 || r > max) {
      problems.push(
        `${at}.mps.replicas: ${show(r)} is not allowed; ${gpu.name} (compute capability ${gpu.computeCapability.toFixed(1)}) takes 2 to ${max} MPS clients per GPU, as a whole number`,
      );
    }
  }
  if (ts === undefined) return;
  const replicaProblem = (path: string, r: number): void => {
    if (!Number.isInteger(r) || r < 2) {
      problems.push(
        `${path}: ${show(r)} is not allowed; time-slicing replicas are a whole number ≥ 2 (remove ${at}.timeSlicing to not share)`,
      );
    } else if (r > MAX_TIME_SLICING_REPLICAS) {
      problems.push(
        `${path}: ${r} is not allowed; every replica is a pod on the GPU's node, and a node runs at most ${MAX_TIME_SLICING_REPLICAS} pods (the kubelet's default maxPods), so use at most ${MAX_TIME_SLICING_REPLICAS}`,
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

/** Records a problem when `n` is not a whole number from `min` to `max`; returns whether it is one. */
function wholeNumberIn(path: string, n: number, min: number, max: number, why: string, problems: string[]): boolean {
  if (Number.isInteger(n) && n >= min && n <= max) return true;
  problems.push(`${path}: ${show(n)} is not allowed; use a whole number from ${min} to ${max}${why}`);
  return false;
}

/** The HPA API's bounds (autoscaling/v2 HPAScalingRules): a stabilization window ≤ 3600 s, a policy period ≤ 1800 s. */
const MAX_STABILIZATION_WINDOW_SECONDS = 3600;
const MAX_SCALING_POLICY_PERIOD_SECONDS = 1800;

const PODS_WHY = ` (Kubernetes supports at most ${MAX_CLUSTER_PODS} pods per cluster)`;

/** The fix of a sharing that holds too many replicas: the most that fit, or no sharing when fewer than two do. */
function lowerSharing(path: string, most: number): string {
  return most >= 2 ? `lower ${path} to at most ${most}` : `the device holds fewer than 2 replicas: do not share it`;
}

/**
 * Why a model does not fit the memory a replica of `device` really has, in the words of its sharing: the device's
 * real figure (nvidia-smi's, not the name's), the overhead and where it comes from, the fix.
 */
function memoryProblem(
  at: string,
  fit: MemoryFit,
  device: AdvertisedDevice,
  pool: PoolConfig,
  overheadGiven: boolean,
): string {
  const what =
    device.migProfile === undefined
      ? `one ${pool.gpu.name} (${gib(device.memoryGiB)} as nvidia-smi reports it; its name says ${pool.gpu.nominalMemoryGB} GB)`
      : `one ${device.migProfile} slice (${gib(device.memoryGiB)})`;
  const overhead = `${gib(fit.overheadGiB)} per-replica overhead (${overheadGiven ? `servers' overheadGiB` : `the ${pool.gpu.architecture} default: CUDA context, libraries, Triton's pool`})`;
  const need = `${gib(fit.modelGiB)} model + ${overhead} = ${gib(fit.needGiB)}`;
  if (device.sharing === "none") {
    return `${at}: ${need} does not fit ${what}; use a GPU or MIG slice with more memory, or a smaller model`;
  }
  if (device.sharing === "mps") {
    return `${at}: ${need} exceeds the ${gib(fit.perReplicaGiB)} each of ${device.replicas} MPS clients can count on ((${gib(device.memoryGiB)} of ${pool.gpu.name} − ${gib(MPS_SERVER_GIB)} MPS server) ÷ ${device.replicas}; the device plugin enforces each client's share); ${lowerSharing(`gpuPools.${pool.name}.mps.replicas`, maxReplicasByMemory(device.memoryGiB, "mps", fit.needGiB, device.replicas))}, or use MIG slices large enough for the model`;
  }
  return `${at}: ${device.replicas} time-sliced replicas × (${need}) = ${gib(device.replicas * fit.needGiB)} exceeds ${what}, and time-sliced pods share memory, so one OOM kills them all; ${lowerSharing(`gpuPools.${pool.name}.timeSlicing.replicas`, maxReplicasByMemory(device.memoryGiB, "timeSlicing", fit.needGiB, device.replicas))}, or isolate memory with MIG slices or MPS`;
}

/**
 * The HPA's `maxReplicas` a server's sharing curve gives when it sets none ({@link kneeMaxReplicas}), or `undefined`
 * without a curve or a device to read it on (the server's other problems say why).
 */
function curveMaxReplicas(server: RawServer, resolution: DeviceResolution, kneeFraction: number): number | undefined {
  const curve = server.sharingCurve;
  if (curve === undefined || "problems" in resolution) return undefined;
  const { pool, device } = resolution;
  return kneeMaxReplicas(
    kneeOf(curve, kneeFraction),
    device,
    serverDevices(pool, device),
    server.autoscaling?.stopAtKnee ?? true,
  );
}

/** What one step of a server's check found: problems make the server invalid, warnings do not. */
interface Findings {
  readonly problems: string[];
  readonly warnings: string[];
}

/** The server's own Kubernetes fields: its name, Service, resources and image. */
function podSpecProblems(at: string, name: string, server: RawServer): string[] {
  const problems: string[] = [];
  // The server's Service, Deployment and HPA take its name; a Service's name is a DNS-1035 label.
  const nameProblem = dns1035Problem("servers", name);
  if (nameProblem !== undefined) problems.push(nameProblem);
  problems.push(...annotationsProblems(`${at}.service.annotations`, server.service.annotations));
  const cpu = quantityProblem(`${at}.resources.cpu`, server.resources.cpu, '"1" or "500m"');
  if (cpu !== undefined) problems.push(cpu);
  const memory = quantityProblem(`${at}.resources.memory`, server.resources.memory, '"4Gi"');
  if (memory !== undefined) problems.push(memory);
  const imageProblem = imageReferenceProblem(`${at}.image`, server.image);
  if (imageProblem !== undefined) problems.push(imageProblem);
  problems.push(...tritonServiceProblems(server.service).map((p) => `${at}.service.${p.key}: ${p.reason}`));
  return problems;
}

/** The server's replica counts and their bounds, and its HPA's settings. */
interface ReplicaCounts {
  readonly problems: string[];
  /** Whether replicas, minReplicas and maxReplicas are valid, alone and together. */
  readonly ok: boolean;
  /** The HPA's maxReplicas, given or taken from the sharing curve's knee; undefined without autoscaling. */
  readonly autoMax: number | undefined;
}

function replicaCounts(
  at: string,
  server: RawServer,
  resolution: DeviceResolution,
  kneeFraction: number,
): ReplicaCounts {
  const problems: string[] = [];
  const replicas = server.replicas;
  let countsOk = wholeNumberIn(`${at}.replicas`, replicas, 0, MAX_CLUSTER_PODS, PODS_WHY, problems);
  const auto = server.autoscaling;
  const autoMax =
    auto === undefined ? undefined : (auto.maxReplicas ?? curveMaxReplicas(server, resolution, kneeFraction));
  if (auto !== undefined) {
    const minOk = wholeNumberIn(
      `${at}.autoscaling.minReplicas`,
      auto.minReplicas,
      1,
      MAX_CLUSTER_PODS,
      PODS_WHY,
      problems,
    );
    if (autoMax === undefined) {
      problems.push(
        `${at}.autoscaling.maxReplicas: not set, and the server has no sharingCurve to take the knee from; set maxReplicas, or give ${at}.sharingCurve (npm run advise learns it)`,
      );
    }
    const maxOk =
      autoMax !== undefined &&
      wholeNumberIn(`${at}.autoscaling.maxReplicas`, autoMax, 1, MAX_CLUSTER_PODS, PODS_WHY, problems);
    if (countsOk && maxOk && replicas > autoMax) {
      problems.push(
        `${at}.replicas: ${replicas} is more than autoscaling.maxReplicas ${autoMax}${auto.maxReplicas === undefined ? " (the sharing curve's knee)" : ""}, and the HPA would scale it down at once; lower ${at}.replicas to at most ${autoMax} or raise autoscaling.maxReplicas`,
      );
      countsOk = false;
    }
    if (minOk && maxOk && auto.minReplicas > autoMax) {
      problems.push(
        `${at}.autoscaling: minReplicas ${auto.minReplicas} is greater than maxReplicas ${autoMax}${auto.maxReplicas === undefined ? " (the sharing curve's knee)" : ""}; raise maxReplicas or lower minReplicas`,
      );
    }
    countsOk = countsOk && minOk && maxOk;
    if (!(auto.targetAverageValue > 0)) {
      problems.push(
        `${at}.autoscaling.targetAverageValue: ${show(auto.targetAverageValue)} is not allowed; use a number > 0 (µs)`,
      );
    }
    wholeNumberIn(
      `${at}.autoscaling.scaleDown.stabilizationWindowSeconds`,
      auto.scaleDown.stabilizationWindowSeconds,
      0,
      MAX_STABILIZATION_WINDOW_SECONDS,
      " (the HPA API's limit: one hour)",
      problems,
    );
    wholeNumberIn(
      `${at}.autoscaling.scaleDown.periodSeconds`,
      auto.scaleDown.periodSeconds,
      1,
      MAX_SCALING_POLICY_PERIOD_SECONDS,
      " (the HPA API's limit for a scaling policy's period: 30 minutes)",
      problems,
    );
  }
  return { problems, ok: countsOk, autoMax };
}

/** Models the server needs that a new share, filled only by the seed Job, would lack. */
function seedWarnings(at: string, server: RawServer, stack: RawStackConfig): string[] {
  const seed = stack.modelStore.seed;
  if (server.models === undefined || !seed.enabled || stack.modelStore.manila === undefined) return [];
  const seeded = new Set(seed.models.map((m) => m.name));
  return server.models
    .filter((x) => !seeded.has(x))
    .map(
      (m) =>
        `${at}.models: "${m}" is not provided by modelStore.seed, the only source of models in a new share; add it to modelStore.seed.models or copy it into the share yourself`,
    );
}

/** The pool, resource and device a server requests, or the problems that leave them unknown. */
type DeviceResolution =
  | { readonly pool: PoolConfig; readonly resource: string; readonly device: AdvertisedDevice }
  | { readonly problems: string[] };

function resolveDevice(
  at: string,
  server: RawServer,
  pools: ReadonlyMap<string, PoolConfig>,
  stack: RawStackConfig,
  strategy: MigStrategy,
): DeviceResolution {
  const pool = pools.get(server.pool);
  if (pool === undefined) {
    // A pool of the stack that is not resolved has problems of its own, reported already.
    if (Object.hasOwn(stack.gpuPools, server.pool)) return { problems: [] };
    return {
      problems: [
        `${at}.pool: "${server.pool}" is not a pool of this stack; use one of ${Object.keys(stack.gpuPools).join(", ") || "(no pools defined: add gpuPools)"}`,
      ],
    };
  }
  const offered = Object.keys(pool.perNode);
  let resource = server.resource;
  if (resource === undefined) {
    if (offered.length !== 1) {
      return {
        problems: [
          `${at}.resource: pool ${pool.name} advertises ${offered.length === 0 ? "no resources" : offered.join(", ")}; name the one this server requests`,
        ],
      };
    }
    resource = offered[0];
  }
  const device = pool.devices.find((d) => d.resource === resource);
  if (device === undefined) {
    return {
      problems: [
        `${at}.resource: "${resource}" is not advertised by pool ${pool.name} (${pool.gpu.name}, ${pool.mode}, MIG strategy ${strategy}); use one of ${offered.join(", ") || "(none)"}`,
      ],
    };
  }
  return { pool, resource, device };
}

/** Whether the server's peak replicas fit what its pool advertises at its max nodes (and its DRA MPS claim). */
function capacityProblems(at: string, key: string, maxReplicas: number, pool: PoolConfig, resource: string): string[] {
  const problems: string[] = [];
  const mpsClaim = draMpsServerProblem(at, key, maxReplicas, pool);
  if (mpsClaim !== undefined) problems.push(mpsClaim);
  const fit = pool.atMaxNodes[resource] ?? 0;
  if (maxReplicas > fit) {
    problems.push(
      `${at}.${key}: ${maxReplicas} pods of ${resource} do not fit pool ${pool.name}: at its ${pool.nodes.max} max node${pool.nodes.max === 1 ? "" : "s"} it advertises ${fit}, ${maxReplicas - fit} short; lower ${key} to ${fit} or raise gpuPools.${pool.name}.nodes.max`,
    );
  }
  return problems;
}

/** Whether one replica's model and overhead fit the memory of the device it gets. */
function memoryFindings(
  at: string,
  server: RawServer,
  pool: PoolConfig,
  device: AdvertisedDevice,
  stack: RawStackConfig,
): Findings {
  const overhead = server.overheadGiB;
  const overheadWrong = overheadProblem(
    `${at}.overheadGiB`,
    overhead,
    `${pool.gpu.name}'s default of ${gib(replicaOverheadGiB(pool.gpu))}`,
  );
  if (overheadWrong !== undefined) return { problems: [overheadWrong], warnings: [] };
  if (server.modelMemoryGiB !== undefined) {
    const fit = memoryFit(device, server.modelMemoryGiB, replicaOverheadGiB(pool.gpu, overhead));
    if (fit.fits) return { problems: [], warnings: [] };
    const message = memoryProblem(`${at}.modelMemoryGiB`, fit, device, pool, overhead !== undefined);
    const oversubscription = device.sharing === "timeSlicing" && stack.validation.memoryOversubscription === "warn";
    return oversubscription ? { problems: [], warnings: [message] } : { problems: [message], warnings: [] };
  }
  if (overhead !== undefined) {
    return {
      problems: [],
      warnings: [`${at}.overheadGiB: ignored without ${at}.modelMemoryGiB; set the model's memory so it is checked`],
    };
  }
  return { problems: [], warnings: [] };
}

/** Whether the server's sharing curve was measured on its device, or that its objective goes unchecked. */
function curveFindings(at: string, server: RawServer, pool: PoolConfig, device: AdvertisedDevice): Findings {
  if (server.sharingCurve !== undefined) {
    return { problems: curveDeviceProblems(`${at}.sharingCurve`, server.sharingCurve, pool, device), warnings: [] };
  }
  if (server.slo !== undefined) {
    return {
      problems: [],
      warnings: [
        `${at}.slo: not checked without ${at}.sharingCurve; capacity is counted in slots, which say nothing about requests/s or latency; give the curve (npm run advise learns it)`,
      ],
    };
  }
  return { problems: [], warnings: [] };
}

/**
 * Checks one server and resolves it against its pool, in steps: its own fields, its replica counts, the models
 * its share lacks, the device it requests, whether its replicas fit the pool and the device's memory, its sharing
 * curve, and last what it serves. Returns `undefined` when the server has a problem, and also, without a problem
 * of its own, when its pool has one: what the pool advertises is then unknown.
 */
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
  const found: string[] = [];
  found.push(...podSpecProblems(at, name, server));
  const resolution = resolveDevice(at, server, pools, stack, strategy);
  const counts = replicaCounts(at, server, resolution, stack.validation.kneeFraction);
  found.push(...counts.problems);
  warnings.push(...seedWarnings(at, server, stack));
  if ("problems" in resolution) {
    problems.push(...found, ...resolution.problems);
    return undefined;
  }
  const { pool, resource, device } = resolution;
  // Counts that are wrong already say so; their fit would be a second message about the same value.
  if (!counts.ok) {
    problems.push(...found);
    return undefined;
  }
  const auto = server.autoscaling;
  const replicas = server.replicas;
  const maxReplicas = counts.autoMax === undefined ? replicas : Math.max(counts.autoMax, replicas);
  const minReplicas = auto === undefined ? replicas : auto.minReplicas;
  const key = auto === undefined ? "replicas" : "autoscaling.maxReplicas";
  found.push(...capacityProblems(at, key, maxReplicas, pool, resource));
  for (const step of [memoryFindings(at, server, pool, device, stack), curveFindings(at, server, pool, device)]) {
    found.push(...step.problems);
    warnings.push(...step.warnings);
  }
  problems.push(...found);
  if (found.length > 0) return undefined;
  const resolved: ServerConfig = { name, raw: server, pool, resource, device, replicas, minReplicas, maxReplicas };
  const serving = serverServing(resolved, stack.validation.kneeFraction);
  if (serving !== undefined) warnings.push(...servingWarnings(at, serving, key));
  return resolved;
}

/**
 * A Helm chart version: SemVer 2, as Helm requires of every chart (a leading "v" is tolerated, as NVIDIA's tags
 * have it). @see https://helm.sh/docs/topics/charts/#charts-and-versioning
 */
const CHART_VERSION =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/** The problems of a chart's pinning: an exact version, and a repository Helm can fetch from. */
function chartProblems(at: string, chart: { readonly chartVersion: string; readonly repository: string }): string[] {
  const problems: string[] = [];
  if (!CHART_VERSION.test(chart.chartVersion)) {
    problems.push(
      `${at}.chartVersion: ${quote(chart.chartVersion)} is not a chart version; pin an exact SemVer version (e.g. the default), since an empty or loose one lets Helm pick whatever is newest`,
    );
  }
  const url = URL.canParse(chart.repository) ? new URL(chart.repository) : undefined;
  if (url === undefined || !["https:", "http:", "oci:"].includes(url.protocol) || url.hostname === "") {
    problems.push(
      `${at}.repository: ${quote(chart.repository)} is not a Helm repository URL; use an https:// chart repository or an oci:// registry path (e.g. the default)`,
    );
  }
  return problems;
}

/** etcd's advice: clusters of at most 7 members. @see https://etcd.io/docs/v3.6/faq/ */
const MAX_ETCD_MEMBERS = 7;
/** The largest Manila share gpushare creates, GiB: a typo guard (1 PiB). */
const MAX_SHARE_GIB = 1024 * 1024;
/** An NFS server as a PersistentVolume's `nfs.server` takes it: a host name or an IP address, nothing more. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$/;
/** Control characters, which no path the kubelet mounts may hold. */
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The problems of an existing NFS export: a server the kubelet's mount reaches, an absolute path. */
function nfsProblems(nfs: { readonly server: string; readonly path: string }): string[] {
  const problems: string[] = [];
  if (isIP(nfs.server) === 0 && !HOST_NAME.test(nfs.server)) {
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(nfs.server);
    problems.push(
      `modelStore.nfs.server: ${quote(nfs.server)} is not a host name or IP address${scheme ? " (no scheme: the kubelet mounts server:path)" : ""}; give the server alone, e.g. nfs.example.internal or 10.0.0.5, and the export under modelStore.nfs.path`,
    );
  }
  if (!nfs.path.startsWith("/") || CONTROL.test(nfs.path) || nfs.path.split("/").some((s) => s === "." || s === "..")) {
    problems.push(
      `modelStore.nfs.path: ${quote(nfs.path)} is not allowed; give the export's absolute path as the server exports it, without ".", ".." or control characters (e.g. /exports/models)`,
    );
  }
  return problems;
}

/** The problems of the model store: where the models live, the share, the seed. */
function checkModelStore(raw: RawStackConfig, openstack: boolean, problems: string[]): void {
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
  if (store.nfs !== undefined) problems.push(...nfsProblems(store.nfs));
  problems.push(...subPathProblems("modelStore.subPath", store.subPath, "modelStore.nfs.path or the Manila share"));
  // The sub-path is checked with or without seeding: the model claim mounts it either way.
  problems.push(...seedScriptProblems(store.seed.enabled ? store.seed.models : [], store.subPath));
  if (store.seed.enabled) {
    const imageProblem = imageReferenceProblem("modelStore.seed.image", store.seed.image);
    if (imageProblem !== undefined) problems.push(imageProblem);
  }
  if (store.manila !== undefined) {
    const size = store.manila.sizeGiB;
    if (!Number.isInteger(size) || size < 1 || size > MAX_SHARE_GIB) {
      problems.push(
        `modelStore.manila.sizeGiB: ${show(size)} is not allowed; Manila shares are whole GiB, from 1 to ${MAX_SHARE_GIB} (1 PiB, far past any model repository and Manila's default project quota of 1000 GiB)`,
      );
    }
    const access = store.manila.accessCidr;
    if (access !== undefined) {
      const cidr = cidrProblem("modelStore.manila.accessCidr", access, false);
      if (cidr !== undefined) problems.push(cidr);
    } else if (!openstack) {
      problems.push(
        `modelStore.manila.accessCidr: missing; in existing-cluster mode name the nodes' subnet (e.g. 10.0.0.0/24) the share admits`,
      );
    }
  }
}

/**
 * Kubernetes' tested limit of 5000 nodes is per cluster: every pool's max nodes, with the control plane and the
 * system node group in OpenStack mode, add up to at most that. Counts that are wrong say so already.
 */
function checkClusterNodes(raw: RawStackConfig, openstack: boolean, problems: string[]): void {
  const parts: [string, number][] = Object.entries(raw.gpuPools).map(([name, p]) => [
    `gpuPools.${name}.nodes.max ${p.nodes.max}`,
    p.nodes.max,
  ]);
  const os = raw.cluster.openstack;
  if (openstack && os !== undefined) {
    parts.push([`cluster.openstack.masterCount ${os.masterCount}`, os.masterCount]);
    parts.push([`cluster.openstack.workerCount ${os.workerCount}`, os.workerCount]);
  }
  if (!parts.every(([, n]) => Number.isInteger(n) && n >= 0 && n <= MAX_CLUSTER_NODES)) return;
  const total = parts.reduce((n, [, c]) => n + c, 0);
  if (total > MAX_CLUSTER_NODES) {
    problems.push(
      `gpuPools: ${parts.map(([what]) => what).join(" + ")} = ${total} nodes, but Kubernetes supports at most ${MAX_CLUSTER_NODES} nodes per cluster; lower nodes.max of the pools`,
    );
  }
}

/** The problems of where the cluster comes from: a Magnum cluster gpushare creates, or an existing one. */
function checkCluster(raw: RawStackConfig, problems: string[]): void {
  if (raw.cluster.kind !== "openstack") {
    if (raw.cluster.openstack !== undefined) {
      problems.push(
        `cluster.openstack: set, but cluster.kind is "existing"; set cluster.kind to "openstack" or remove cluster.openstack`,
      );
    }
    return;
  }
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
    return;
  }
  problems.push(...clusterTemplateProblems(os).map((reason) => `cluster.openstack: ${reason}`));
  if (
    !Number.isInteger(os.masterCount) ||
    os.masterCount < 1 ||
    os.masterCount > MAX_ETCD_MEMBERS ||
    os.masterCount % 2 === 0
  ) {
    problems.push(
      `cluster.openstack.masterCount: ${show(os.masterCount)} is not allowed; use an odd whole number from 1 to ${MAX_ETCD_MEMBERS} (1, 3, 5 or 7) so etcd keeps quorum (etcd advises at most 7 members)`,
    );
  }
  if (!Number.isInteger(os.workerCount) || os.workerCount < 1 || os.workerCount > MAX_CLUSTER_NODES) {
    problems.push(
      `cluster.openstack.workerCount: ${show(os.workerCount)} is not allowed; use a whole number from 1 to ${MAX_CLUSTER_NODES} for the system node group (Kubernetes supports at most ${MAX_CLUSTER_NODES} nodes per cluster)`,
    );
  }
  if (!Number.isInteger(os.createTimeoutMinutes) || os.createTimeoutMinutes < 1) {
    problems.push(
      `cluster.openstack.createTimeoutMinutes: ${show(os.createTimeoutMinutes)} is not allowed; use a whole number of minutes ≥ 1 (e.g. the default 60)`,
    );
  }
  const volume = os.template?.dockerVolumeSize;
  if (volume !== undefined && (!Number.isInteger(volume) || volume < 1)) {
    problems.push(
      `cluster.openstack.template.dockerVolumeSize: ${show(volume)} is not allowed; Cinder volumes are whole GiB, at least 1 (or remove it to use the node's disk)`,
    );
  }
  const subnet = cidrProblem("cluster.openstack.nodeSubnetCidr", os.nodeSubnetCidr, true);
  if (subnet !== undefined) problems.push(subnet);
}

/**
 * The problems of a node image on which NVIDIA's driver container does not run, while gpushare installs the GPU
 * operator with its driver. Fedora CoreOS (the image of Magnum's Heat driver) is not among the operating systems
 * the GPU operator supports.
 * @see https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/platform-support.html
 */
function checkNodeImages(raw: RawStackConfig, problems: string[]): void {
  const operator = raw.gpuOperator;
  if (raw.cluster.kind !== "openstack" || operator.installed || !operator.driverEnabled) return;
  const images: [string, string | undefined][] = [
    ["cluster.openstack.template.image", raw.cluster.openstack?.template?.image],
    ...Object.entries(raw.gpuPools).map(([name, p]): [string, string | undefined] => [
      `gpuPools.${name}.image`,
      p.image,
    ]),
  ];
  for (const [path, image] of images) {
    if (image === undefined || !DRIVERLESS_NODE_IMAGE.test(image)) continue;
    problems.push(
      `${path}: "${image}" is Fedora CoreOS, where NVIDIA's GPU operator cannot install its driver container, and gpuOperator.driverEnabled is true; use an image of an OS the operator supports (e.g. Ubuntu 22.04: ubuntu-2204-kube-v1.30.4), or an image with the NVIDIA driver preinstalled and gpuOperator.driverEnabled: false`,
    );
  }
}

/** The problems of the monitoring stack, the adapter's metric, the namespaces and the charts' extra values. */
function checkMonitoring(raw: RawStackConfig, problems: string[]): void {
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
  for (const [path, chart] of [
    ["gpuOperator", raw.gpuOperator],
    ["monitoring", raw.monitoring],
    ["metricsAdapter", adapter],
  ] as const) {
    problems.push(...chartProblems(path, chart));
  }
  if (raw.monitoring.monitorLabels !== undefined) {
    problems.push(...labelsProblems("monitoring.monitorLabels", raw.monitoring.monitorLabels));
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
    } else if (!DNS_LABEL.test(ns) || ns.length > 63) {
      problems.push(
        `${path}: "${ns}" is not a DNS-1123 label; use lowercase letters, digits and "-", at most 63 characters`,
      );
    }
  }
  // The charts' extra values, and the Prometheus an installed monitoring stack offers.
  problems.push(...ownedValueProblems(raw.gpuOperator.values, OWNED_OPERATOR_VALUES, "gpuOperator.values"));
  problems.push(...monitoringSettingsProblems(raw.monitoring).map(problemText));
  problems.push(...adapterSettingsProblems(adapter).map(problemText));
}

/**
 * Checks one pool alone. Returns its draft, or `undefined` when its sharing cannot be checked (an unknown GPU, a
 * bad MIG section); a draft with bad counts is checked for sharing, but its servers are not checked against it.
 */
function checkPool(
  name: string,
  pool: RawPool,
  openstack: boolean,
  poolNames: readonly string[],
  problems: string[],
  warnings: string[],
): PoolDraft | undefined {
  const at = `gpuPools.${name}`;
  if (!DNS_LABEL.test(name) || name.length > 63) {
    problems.push(
      `gpuPools: "${name}" is not a DNS-1123 label; use lowercase letters, digits and "-", at most 63 characters`,
    );
  } else if (name === "default") {
    problems.push(`gpuPools: "default" is reserved for the device plugin's default config; pick another pool name`);
  }
  if (openstack && pool.flavor === undefined) {
    problems.push(
      `${at}.flavor: missing; OpenStack mode creates a node group per pool and needs its Nova flavor (e.g. a GPU flavor with one ${pool.gpu})`,
    );
  }
  if (pool.nodeSelector !== undefined) problems.push(...labelsProblems(`${at}.nodeSelector`, pool.nodeSelector));
  if (!openstack && pool.flavor !== undefined) {
    warnings.push(`${at}.flavor: ignored in existing-cluster mode; nodes are found by gpuPools.${name}.nodeSelector`);
  }
  // From here on, every problem changes what the pool advertises.
  const before = problems.length;
  const nodesWhy = ` (Kubernetes supports at most ${MAX_CLUSTER_NODES} nodes per cluster)`;
  const { min, max, initial } = pool.nodes;
  const minOk = wholeNumberIn(`${at}.nodes.min`, min, 0, MAX_CLUSTER_NODES, nodesWhy, problems);
  const maxOk = wholeNumberIn(`${at}.nodes.max`, max, 1, MAX_CLUSTER_NODES, nodesWhy, problems);
  if (minOk && maxOk) {
    if (min > max) {
      problems.push(`${at}.nodes: min ${min} is greater than max ${max}; raise nodes.max or lower nodes.min`);
    } else if (initial !== undefined && (!Number.isInteger(initial) || initial < min || initial > max)) {
      problems.push(
        `${at}.nodes.initial: ${show(initial)} is not allowed; use a whole number between nodes.min ${min} and nodes.max ${max}`,
      );
    }
  }
  wholeNumberIn(`${at}.gpusPerNode`, pool.gpusPerNode, 1, 16, " (GPUs one server holds)", problems);
  const gpu = findGpuModel(pool.gpu);
  if (gpu === undefined) {
    problems.push(`${at}.gpu: "${pool.gpu}" is not a known GPU model; use one of ${gpuModels(false)}`);
    return undefined;
  }
  const countsOk = problems.length === before;
  const mig = resolveMig(name, pool, gpu, poolNames, problems);
  if (pool.mig !== undefined && mig === undefined) return undefined;
  return { name, raw: pool, gpu, countsOk, ...(mig === undefined ? {} : { mig }) };
}

/** Sections of the config that are maps of named entries: a bad entry is left out, not the whole section. */
const NAMED_ENTRIES = ["gpuPools", "servers"];

/**
 * The problems of the parts of a config that parse, when others do not: every problem at once, not only the
 * first type error. Each bad entry (a pool, a server) or section is left out, unknown keys are dropped, and the rest
 * is validated; problems that only repeat what leaving something out causes (a server's missing pool, a section's
 * absence) are not reported, since the type error says what to fix.
 */
function salvagedProblems(input: unknown, error: z.ZodError): string[] {
  // A value that is not a mapping fails at the root, and an issue at the root stops the salvage below.
  const rest = structuredClone(input) as Record<string, unknown>;
  const removed: string[] = [];
  for (const issue of error.issues) {
    const [section, entry] = issue.path.map(String);
    if (section === undefined) return [];
    if (issue.code === "unrecognized_keys") {
      const holder = valueAt(rest, issue.path);
      if (typeof holder === "object" && holder !== null) {
        for (const k of issue.keys) delete (holder as Record<string, unknown>)[k];
      }
    } else if (NAMED_ENTRIES.includes(section) && entry !== undefined) {
      // The section holds the entry the issue is about, so it is a mapping.
      delete (rest[section] as Record<string, unknown>)[entry];
      removed.push(`${section}.${entry}`, `"${entry}"`);
    } else {
      delete rest[section];
      removed.push(section);
    }
  }
  try {
    parseStackConfig(rest);
  } catch (e) {
    // The first parse would have thrown any other error already; were one to come here, it is a bug: let it through.
    if (!(e instanceof StackConfigError)) throw e;
    return e.problems.map(problemText).filter((p) => !removed.some((r) => p.includes(r)));
  }
  return [];
}

/**
 * Parses and validates the `gpushare:` config of a stack: structure, GPU knowledge, capacity. Throws a
 * `StackConfigError` with every problem found; returns the resolved config with warnings otherwise. A value
 * that is wrong is reported once: what depends on it (a server on a pool with a bad GPU, the fit of replicas
 * that are not a count) is not checked against it. Pure: no Pulumi, no environment.
 */
export function parseStackConfig(input: unknown): StackConfig {
  const parsed = stackConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new StackConfigError(
      [...structuralProblems(input, parsed.error), ...salvagedProblems(input, parsed.error)].map(problemFromText),
    );
  }
  const raw = parsed.data;
  const problems: string[] = [];
  const warnings: string[] = [];
  const openstack = raw.cluster.kind === "openstack";

  checkCluster(raw, problems);
  const fraction = raw.validation.kneeFraction;
  if (!(fraction > 0 && fraction < 1)) {
    problems.push(
      `validation.kneeFraction: ${show(fraction)} is not allowed; use a fraction between 0 and 1 (0.1: a pod past the knee adds less than 10 % of what one pod serves alone)`,
    );
  }
  checkModelStore(raw, openstack, problems);
  checkMonitoring(raw, problems);
  checkNodeImages(raw, problems);

  // Pools, first alone, then the cluster's single MIG strategy, then sharing.
  const poolNames = Object.keys(raw.gpuPools);
  const drafts: PoolDraft[] = [];
  for (const [name, pool] of Object.entries(raw.gpuPools)) {
    const draft = checkPool(name, pool, openstack, poolNames, problems, warnings);
    if (draft !== undefined) drafts.push(draft);
  }

  if (openstack) {
    problems.push(...nodeGroupNameProblems(poolNames.filter((n) => DNS_LABEL.test(n))));
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
  for (const [name, pool] of Object.entries(raw.gpuPools)) {
    if (pool.mig?.strategy !== undefined) asked.set(`gpuPools.${name}.mig.strategy`, pool.mig.strategy);
  }
  const strategies = new Set(asked.values());
  const agreed = strategies.size <= 1;
  if (!agreed) {
    problems.push(
      `MIG strategy: ${[...asked].map(([k, v]) => `${k} "${v}"`).join(", ")} disagree, but the GPU operator applies one strategy to every node of a cluster; set the same value everywhere (or only cluster.migStrategy), and run the other shape as a separate stack`,
    );
  }
  const migStrategy: MigStrategy =
    raw.cluster.migStrategy ?? (strategies.size === 1 ? ([...strategies][0] as MigStrategy) : "single");

  problems.push(...draProblems(raw, warnings));
  const consumableShares = draConsumableShares(raw);

  const podLimitProblems = nodePodLimitProblems("cluster.", raw.cluster);
  problems.push(...podLimitProblems);
  const podLimitOk = podLimitProblems.length === 0;
  checkClusterNodes(raw, openstack, problems);
  const pools = new Map<string, PoolConfig>();
  for (const d of drafts) {
    const at = `gpuPools.${d.name}`;
    // Without one strategy, what a MIG pool advertises is unknown.
    if (!agreed && d.mig !== undefined) continue;
    const dra = d.raw.allocation === "dra";
    // DRA publishes every MIG device with its profile: the device plugin's strategy does not apply.
    if (!dra && migStrategy === "single" && d.mig !== undefined && nonZeroProfiles(d.mig.counts).length > 1) {
      problems.push(
        `${at}.mig: layout ${d.mig.configName} mixes ${nonZeroProfiles(d.mig.counts).join(", ")}, but the single strategy needs identical slices; set cluster.migStrategy "mixed" or use one profile (e.g. ${allProfileLayoutName(nonZeroProfiles(d.mig.counts)[0])})`,
      );
      continue;
    }
    const before = problems.length;
    checkSharing(d, agreed ? migStrategy : undefined, problems);
    if (problems.length > before || !d.countsOk) continue;
    const sharing: PoolSharingSpec = {
      gpu: d.gpu,
      gpusPerNode: d.raw.gpusPerNode,
      ...(d.mig === undefined ? {} : { mig: d.mig }),
      ...(d.raw.timeSlicing === undefined ? {} : { timeSlicing: d.raw.timeSlicing }),
      ...(d.raw.mps === undefined ? {} : { mps: d.raw.mps }),
    };
    const devices = dra ? draAdvertisedDevices(sharing) : advertisedDevices(sharing, migStrategy);
    const pods = podsPerNode(devices);
    if (podLimitOk && pods > gpuPodBudget(raw.cluster)) {
      problems.push(
        `${at}: each node advertises ${pods} pods of GPU resources (${devices.map((v) => `${v.physicalPerNode} × ${v.migProfile ?? "GPU"}${v.replicas > 1 ? ` × ${v.replicas} replicas` : ""}`).join(" + ")}), but a node runs at most ${raw.cluster.maxPodsPerNode} pods (cluster.maxPodsPerNode) of which ${raw.cluster.systemPodsPerNode} are system pods (cluster.systemPodsPerNode), leaving ${gpuPodBudget(raw.cluster)}; lower the pool's sharing replicas or gpusPerNode, or raise cluster.maxPodsPerNode together with the kubelet's --max-pods`,
      );
      continue;
    }
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
      allocation: d.raw.allocation,
      ...(dra && consumableShares !== undefined ? { draConsumableShares: consumableShares } : {}),
    });
  }

  const servers: ServerConfig[] = [];
  for (const [name, server] of Object.entries(raw.servers)) {
    const s = checkServer(name, server, pools, raw, migStrategy, problems, warnings);
    if (s !== undefined) servers.push(s);
  }
  // Servers sharing a pool's resource compete for it: together they must fit too. A server that does not fit
  // alone says so already and is not among them.
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

  if (problems.length > 0) throw new StackConfigError(problems.map(problemFromText));
  return resolved;
}

/**
 * The config of one stack as Pulumi holds it: every key with its namespace (`gpushare:servers`,
 * `openstack:password`), values as the stack file gives them, and the keys whose values are secrets.
 */
export interface StackSettings {
  readonly config: Readonly<Record<string, unknown>>;
  readonly secretKeys: ReadonlySet<string>;
  /** Where relative paths in the config (curve files) start: the project directory. @default - the working directory */
  readonly projectDir?: string;
}

/**
 * The namespaces a stack's config may use: the program's, and those of the providers it uses (they check their own
 * keys), and Pulumi's own. A key anywhere else is read by nothing, so its value would be lost without a word.
 */
const KNOWN_NAMESPACES = ["gpushare", "openstack", "kubernetes", "random", "tls", "pulumi"];

/** The edit distance of two short strings (Levenshtein), for "did you mean". */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/** Keys in a namespace nothing reads, each with the closest known key. */
function namespaceProblems(config: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(config).flatMap((key) => {
    const colon = key.indexOf(":");
    const namespace = colon < 0 ? "" : key.slice(0, colon);
    if (KNOWN_NAMESPACES.includes(namespace)) return [];
    // Without a colon, indexOf's -1 makes this the whole key.
    const rest = key.slice(colon + 1);
    // A key without a namespace is Pulumi's project namespace left out: gpushare's.
    const closest =
      namespace === ""
        ? "gpushare"
        : [...KNOWN_NAMESPACES].sort(
            (a, b) => distance(namespace.toLowerCase(), a) - distance(namespace.toLowerCase(), b),
          )[0];
    return [
      `${quote(key)}: no part of this stack reads the namespace ${quote(namespace)}, so the value would be ignored; did you mean ${quote(`${closest}:${rest}`)}? gpushare reads gpushare:, its providers ${KNOWN_NAMESPACES.filter((n) => n !== "gpushare" && n !== "pulumi").join(":, ")}:, and Pulumi pulumi:`,
    ];
  });
}

/**
 * Validates the whole config of a stack: the credentials it must hold as secrets, then every `gpushare:` key
 * (an unknown one is refused) with {@link parseStackConfig}. The program, `capacity` and `render` all go through
 * here, so they refuse the same things with the same words. A secret's value is never parsed, only whether it
 * is set.
 */
export function parseStackSettings(settings: StackSettings): StackConfig {
  const problems = [...namespaceProblems(settings.config), ...plainTextSecretProblems(settings)];
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings.config)) {
    if (!key.startsWith("gpushare:")) continue;
    const name = key.slice("gpushare:".length);
    // Pulumi.yaml declares a secret's default as "", which means unset.
    if (SECRET_STACK_CONFIG_KEYS.includes(name)) {
      if (value !== "") input[name] = SECRET_STAND_IN;
    } else {
      input[name] = value;
    }
  }
  const curves = resolveCurveFiles(input.servers, settings.projectDir ?? process.cwd());
  if (input.servers !== undefined) input.servers = curves.servers;
  problems.push(...curves.problems);
  let parsed: StackConfig | StackConfigError;
  try {
    parsed = parseStackConfig(input);
  } catch (e) {
    if (!(e instanceof StackConfigError)) throw e;
    parsed = e;
  }
  if (parsed instanceof StackConfigError || problems.length > 0) {
    throw new StackConfigError([
      ...problems.map(problemFromText),
      ...(parsed instanceof StackConfigError ? parsed.problems : []),
    ]);
  }
  return parsed;
}
