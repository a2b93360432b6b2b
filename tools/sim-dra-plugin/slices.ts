import { createHash } from "node:crypto";
import { DRA_NODE_LABEL, DRA_NODE_LABEL_VALUE } from "../../components/k8s/dra-driver-values";
import type { GpuArchitecture, GpuModel, MigProfile } from "../../gpu/catalog";
import { findGpuModel } from "../../gpu/catalog";
import type { SimulatedHardware } from "../sim-device-plugin/advertise";

/**
 * Pure logic of the simulated GPU kubelet plugin of NVIDIA's DRA driver: the devices it would publish for a node's
 * simulated hardware, the ResourceSlice that carries them, and what to do with the slices already there. No I/O;
 * `main.ts` does the polling and the writing.
 *
 * Written from the driver's source at v0.5.0 (cmd/gpu-kubelet-plugin) and the ResourceSlice controller it uses
 * (k8s.io/dynamic-resource-allocation v0.37.0-rc.0), not from gpushare's own DRA model, so that tests compare the two.
 * @see https://github.com/kubernetes-sigs/dra-driver-nvidia-gpu/tree/main/cmd/gpu-kubelet-plugin
 */

/** The driver's name, and the attribute domain of its devices (`device.attributes['gpu.nvidia.com']`). */
export const DRIVER_NAME = "gpu.nvidia.com";
/**
 * Nodes the kubelet plugin runs on: the label gpushare puts on every node of a DRA pool, which the driver's release
 * gets as `kubeletPlugin.nodeSelector`.
 */
export const DEFAULT_NODE_SELECTOR = `${DRA_NODE_LABEL}=${DRA_NODE_LABEL_VALUE}`;
/** What NVML would report as the driver version on every simulated node (a 580 branch release, as the H200 ran). */
export const SIMULATED_DRIVER_VERSION = "580.95.05";
/** What NVML would report as the CUDA driver version with {@link SIMULATED_DRIVER_VERSION}. */
export const SIMULATED_CUDA_DRIVER_VERSION = "13.0";

/** The kubelet plugin's `--consumable-shares`: off, or every device split into N shares. */
export type ConsumableShares = "disabled" | number;

const POSITIVE_INTEGER = /^[1-9][0-9]*$/;
const LABEL_PART = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const LABEL_VALUE = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?)?$/;

/** `disabled` or a positive integer; throws otherwise. */
export function parseConsumableShares(text: string): ConsumableShares {
  const value = text.trim();
  if (value === "disabled") return "disabled";
  if (!POSITIVE_INTEGER.test(value)) {
    throw new Error(
      `--consumable-shares: "${text}" is not "disabled" or a positive integer (the driver's "unlimited" and ` +
        `"memory" are not simulated)`,
    );
  }
  return Number(value);
}

export interface NodeSelector {
  readonly key: string;
  readonly value: string;
}

/** `KEY=VALUE`, a label and its value; throws otherwise. */
export function parseNodeSelector(text: string): NodeSelector {
  const eq = text.indexOf("=");
  const key = eq < 0 ? "" : text.slice(0, eq);
  const value = eq < 0 ? "" : text.slice(eq + 1);
  if (!LABEL_PART.test(key) || !LABEL_VALUE.test(value)) {
    throw new Error(`--node-selector: "${text}" is not KEY=VALUE with a label key and value`);
  }
  return { key, value };
}

// ---------------------------------------------------------------------------------------------------------------
// resource.k8s.io/v1 shapes, as the API server serves them (quantities in canonical form)

export interface DeviceAttribute {
  readonly string?: string;
  readonly version?: string;
}

export interface CapacityRequestPolicy {
  readonly default: string;
  readonly validRange: { readonly min: string; readonly max: string; readonly step: string };
}

export interface DeviceCapacity {
  readonly value: string;
  readonly requestPolicy?: CapacityRequestPolicy;
}

export interface Device {
  readonly name: string;
  readonly attributes: Readonly<Record<string, DeviceAttribute>>;
  readonly capacity: Readonly<Record<string, DeviceCapacity>>;
  readonly allowMultipleAllocations?: boolean;
}

export interface SliceSpec {
  readonly driver: string;
  readonly nodeName: string;
  readonly pool: { readonly name: string; readonly generation: number; readonly resourceSliceCount: number };
  readonly devices: readonly Device[];
}

const BINARY_SUFFIXES = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
const MIB = 1024 * 1024;

/** A byte count as the API server writes a binary-SI quantity: the largest power of 1024 that divides it. */
export function binaryQuantity(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`not a byte count: ${bytes}`);
  if (bytes < 1024) return String(bytes);
  let n = bytes;
  let suffix = "";
  for (const s of BINARY_SUFFIXES) {
    if (n % 1024 !== 0) break;
    n /= 1024;
    suffix = s;
  }
  return suffix === "" ? String(bytes) : `${n}${suffix}`;
}

// ---------------------------------------------------------------------------------------------------------------
// What NVML would say about a simulated GPU

/** go-nvlib's `GetArchitectureAsString` for each architecture the catalog knows. */
const ARCHITECTURE_NAMES: Readonly<Record<GpuArchitecture, string>> = {
  volta: "Volta",
  turing: "Turing",
  ampere: "Ampere",
  ada: "Ada Lovelace",
  hopper: "Hopper",
};

/**
 * The driver's version attributes go through Masterminds semver (`semver.MustParse(...).String()`), which pads to
 * three parts and drops leading zeros: `580.95.05` → `580.95.5`, `8.0` → `8.0.0`.
 */
export function semverOf(version: string): string {
  const parts = version.split(".").map((p) => String(Number(p)));
  while (parts.length < 3) parts.push("0");
  return parts.join(".");
}

/** A UUID in NVIDIA's `GPU-…`/`MIG-…` form, stable for one name: the same node and device always get the same. */
export function fakeUuid(prefix: "GPU" | "MIG", name: string): string {
  const h = createHash("sha1").update(name).digest("hex");
  return `${prefix}-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * The GPU-instance profile id (nvidia-smi's `ID` column, NVML's `GpuInstanceProfileInfo.Id`) of a profile: on
 * 8-memory-slice GPUs (A100, H100, H200) 19 (1 compute slice, 1 memory slice), 20 (its `+me`), 15 (1 compute slice,
 * 2 memory slices), 14 (2g), 9 (3g), 5 (4g), 0 (7g); on A30 14 (1g), 21 (1g+me), 5 (2g), 6 (2g+me), 0 (4g).
 */
export function giProfileId(model: GpuModel, profile: MigProfile): number {
  const memorySlices = model.mig?.memorySlices;
  const me = profile.name.endsWith("+me");
  const key = `${profile.computeSlices}c${profile.memorySlices}m${me ? "+me" : ""}`;
  const ids: Record<string, number> | undefined =
    memorySlices === 8
      ? { "1c1m": 19, "1c1m+me": 20, "1c2m": 15, "2c2m": 14, "3c4m": 9, "4c4m": 5, "7c8m": 0 }
      : memorySlices === 4
        ? { "1c1m": 14, "1c1m+me": 21, "2c2m": 5, "2c2m+me": 6, "4c4m": 0 }
        : undefined;
  const id = ids?.[key];
  if (id === undefined) throw new Error(`${model.name}: no GPU-instance profile id known for ${profile.name}`);
  return id;
}

/**
 * A MIG profile's memory in MiB. nvidia-smi (and the catalog) print GiB to two decimals; every profile's size is a
 * whole number of 1/16 GiB (2g.10gb: 9.62 GiB printed, 9856 MiB = 9.625 GiB in NVML), so undo that rounding.
 */
export function migMemoryMiB(profile: MigProfile): number {
  return Math.round(profile.memoryGiB * 16) * 64;
}

export interface PlacedInstance {
  readonly profile: MigProfile;
  /** First memory slice (NVML's `GpuInstancePlacement.Start`). */
  readonly start: number;
}

/**
 * Where the MIG devices of one GPU sit. NVML picks placements on real hardware; the simulation takes the largest
 * profiles first (memory slices, then compute slices), each at its lowest legal start that does not overlap one
 * already placed and still lets the rest fit (a depth-first search, so the balanced A100 layout puts 3g.20gb at 4).
 * Throws when the devices cannot share one GPU.
 */
export function placeMigDevices(model: GpuModel, migDevices: Readonly<Record<string, number>>): PlacedInstance[] {
  const geometry = model.mig;
  if (geometry === undefined) throw new Error(`${model.name} does not support MIG`);
  const wanted: MigProfile[] = [];
  for (const [name, count] of Object.entries(migDevices)) {
    const profile = geometry.profiles.find((p) => p.name === name);
    if (profile === undefined) {
      throw new Error(
        `${name} is not a MIG profile of ${model.name}; use one of ${geometry.profiles.map((p) => p.name).join(", ")}`,
      );
    }
    if (count > profile.maxInstances) {
      throw new Error(`${model.name} takes at most ${profile.maxInstances} × ${name}, not ${count}`);
    }
    for (let i = 0; i < count; i++) wanted.push(profile);
  }
  const compute = wanted.reduce((sum, p) => sum + p.computeSlices, 0);
  if (compute > geometry.computeSlices) {
    throw new Error(
      `${formatLayout(migDevices)} needs ${compute} compute slices; ${model.name} has ${geometry.computeSlices}`,
    );
  }
  wanted.sort(
    (a, b) => b.memorySlices - a.memorySlices || b.computeSlices - a.computeSlices || a.name.localeCompare(b.name),
  );
  const used = new Array<boolean>(geometry.memorySlices).fill(false);
  const placed: PlacedInstance[] = [];
  const search = (i: number): boolean => {
    if (i === wanted.length) return true;
    const profile = wanted[i];
    for (const start of profile.placements) {
      const span = Array.from({ length: profile.memorySlices }, (_, k) => start + k);
      if (span.some((s) => s >= used.length || used[s])) continue;
      for (const s of span) used[s] = true;
      placed.push({ profile, start });
      if (search(i + 1)) return true;
      placed.pop();
      for (const s of span) used[s] = false;
    }
    return false;
  };
  if (!search(0)) throw new Error(`${formatLayout(migDevices)} does not fit on one ${model.name} at any placement`);
  return placed;
}

function formatLayout(migDevices: Readonly<Record<string, number>>): string {
  return Object.entries(migDevices)
    .map(([p, n]) => `${p}=${n}`)
    .join(",");
}

// ---------------------------------------------------------------------------------------------------------------
// Devices

/** `toRFC1123Compliant(strings.ReplaceAll(profile, ".", ""))` in mig.go: `1g.5gb+me` → `1g5gb-me`. */
function profileNamePart(profile: string): string {
  return profile
    .replaceAll(".", "")
    .toLowerCase()
    .replace(/[^a-z0-9-.]/g, "-")
    .replace(/^-+|-+$/g, "")
    .replace(/\.$/, "");
}

/** mig.go `ToCanonicalName`: `gpu-<parent minor>-mig-<profile>-<GI profile id>-<placement start>`. */
export function migDeviceName(minor: number, profile: string, profileId: number, start: number): string {
  return `gpu-${minor}-mig-${profileNamePart(profile)}-${profileId}-${start}`;
}

/** The attributes a GPU and its MIG devices share (deviceinfo.go `Attributes`, mig.go `CommonAttributesMig`). */
function commonAttributes(model: GpuModel): Record<string, DeviceAttribute> {
  return {
    productName: { string: `NVIDIA ${model.name}` },
    brand: { string: "Nvidia" },
    architecture: { string: ARCHITECTURE_NAMES[model.architecture] },
    cudaComputeCapability: { version: semverOf(model.computeCapability.toFixed(1)) },
    driverVersion: { version: semverOf(SIMULATED_DRIVER_VERSION) },
    cudaDriverVersion: { version: semverOf(SIMULATED_CUDA_DRIVER_VERSION) },
  };
}

/** consumable_shares.go `applyConsumableShares` with N shares. */
function withShares(device: Device, shares: ConsumableShares): Device {
  if (shares === "disabled") return device;
  const memory = device.capacity.memory;
  const capacity: Record<string, DeviceCapacity> = { ...device.capacity };
  if (memory !== undefined) {
    const max = binaryQuantity(Math.floor(quantityBytes(memory.value) / MIB) * MIB);
    capacity.memory = { value: max, requestPolicy: { default: "0", validRange: { min: "0", max, step: "1Mi" } } };
    const n = String(shares);
    capacity.shares = { value: n, requestPolicy: { default: "1", validRange: { min: "1", max: n, step: "1" } } };
  }
  return { ...device, capacity, allowMultipleAllocations: true };
}

function quantityBytes(q: string): number {
  const m = /^([0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q);
  if (m === null) throw new Error(`not a binary quantity: ${q}`);
  return Number(m[1]) * 1024 ** (m[2] === undefined ? 0 : BINARY_SUFFIXES.indexOf(m[2]) + 1);
}

/**
 * The devices the kubelet plugin publishes for a node (nvlib.go, static MIG): per GPU (minor = index), its MIG
 * devices when MIG is on, otherwise the whole GPU `gpu-<minor>`; sorted by name. Throws on hardware the catalog does
 * not know or MIG devices that do not fit.
 */
export function nodeDevices(nodeName: string, hardware: SimulatedHardware, shares: ConsumableShares): Device[] {
  const model = findGpuModel(hardware.model);
  if (model === undefined) throw new Error(`unknown GPU model ${hardware.model}`);
  const devices: Device[] = [];
  hardware.gpus.forEach((gpu, minor) => {
    const gpuUuid = fakeUuid("GPU", `${nodeName}/${minor}`);
    if (Object.keys(gpu.migDevices).length === 0) {
      devices.push({
        name: `gpu-${minor}`,
        attributes: { type: { string: "gpu" }, uuid: { string: gpuUuid }, ...commonAttributes(model) },
        capacity: { memory: { value: binaryQuantity(model.smiTotalMiB * MIB) } },
      });
      return;
    }
    let placed: PlacedInstance[];
    try {
      placed = placeMigDevices(model, gpu.migDevices);
    } catch (e) {
      throw new Error(`GPU ${minor}: ${(e as Error).message}`);
    }
    for (const { profile, start } of placed) {
      const name = migDeviceName(minor, profile.name, giProfileId(model, profile), start);
      const capacity: Record<string, DeviceCapacity> = {
        memory: { value: binaryQuantity(migMemoryMiB(profile) * MIB) },
      };
      for (let s = start; s < start + profile.memorySlices; s++) capacity[`memorySlice${s}`] = { value: "1" };
      devices.push({
        name,
        attributes: {
          type: { string: "mig" },
          uuid: { string: fakeUuid("MIG", `${nodeName}/${name}`) },
          parentUUID: { string: gpuUuid },
          profile: { string: profile.name },
          ...commonAttributes(model),
        },
        capacity,
      });
    }
  });
  return devices.map((d) => withShares(d, shares)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The one slice of a node's pool (driver.go `publishResources` without DynamicMIG: pool name = node name). */
export function sliceSpec(nodeName: string, generation: number, devices: readonly Device[]): SliceSpec {
  return {
    driver: DRIVER_NAME,
    nodeName,
    pool: { name: nodeName, generation, resourceSliceCount: 1 },
    devices,
  };
}

/**
 * The ResourceSlice controller's name for the first (here: only) slice of a pool owned by a node; the API server
 * appends a random suffix.
 */
export function sliceGenerateName(nodeName: string): string {
  return `00000-${DRIVER_NAME}-${nodeName}-`;
}

// ---------------------------------------------------------------------------------------------------------------
// The ResourceSlice controller, for a pool of one slice

/** A ResourceSlice of the driver already in the API server. */
export interface ExistingSlice {
  readonly name: string;
  readonly spec: SliceSpec;
  /** UID of its controller owner, if any. */
  readonly ownerUid?: string;
}

export type SlicePlan =
  | { readonly kind: "create"; readonly spec: SliceSpec; readonly obsolete: readonly string[] }
  | { readonly kind: "update"; readonly name: string; readonly spec: SliceSpec; readonly obsolete: readonly string[] }
  | { readonly kind: "none"; readonly name: string; readonly obsolete: readonly string[] };

/**
 * What the controller (resourceslicecontroller.go `syncPool`) does to publish `devices` as a node's pool of one
 * slice, given the pool's slices in the API server. The pool's generation is the highest found; a slice below it,
 * one not named by the controller, one owned by another node object (a node deleted and made again: the garbage
 * collector removes it), and any beyond the first are obsolete and deleted. The one slice left is updated in place
 * when its content differs, keeping the generation ("at most one update API call is necessary"); without one, a
 * new slice is created with the generation + 1 (1 for a new pool).
 */
export function planSlice(
  nodeName: string,
  nodeUid: string,
  devices: readonly Device[],
  existing: readonly ExistingSlice[],
): SlicePlan {
  const mine = existing.filter((s) => s.ownerUid === nodeUid);
  const generation = Math.max(0, ...mine.map((s) => s.spec.pool.generation));
  const current = mine.find((s) => s.spec.pool.generation === generation && s.name.startsWith("00000-"));
  const obsolete = existing.filter((s) => s !== current).map((s) => s.name);
  if (current === undefined) {
    return { kind: "create", spec: sliceSpec(nodeName, generation + 1, devices), obsolete };
  }
  const spec = sliceSpec(nodeName, generation, devices);
  return sameJson(current.spec, spec)
    ? { kind: "none", name: current.name, obsolete }
    : { kind: "update", name: current.name, spec, obsolete };
}

/** Deep equality of JSON values, key order ignored, array order not. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}
