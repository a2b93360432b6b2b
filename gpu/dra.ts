import type { AdvertisedDevice, PoolSharingSpec } from "./capacity";
import { advertisedDevices } from "./capacity";
import { MPS_SERVER_GIB } from "./memory";

/**
 * Dynamic Resource Allocation with NVIDIA's DRA driver for GPUs (`sigs.k8s.io/dra-driver-nvidia-gpu`), as plain
 * data: the device classes and attributes it publishes, its feature gates and the rules between them, the opaque
 * configs (`GpuConfig`, `MigDeviceConfig`) that carry a claim's sharing, and the claim a server's pods make. What the
 * names and rules are was read from the driver's source at {@link DRA_DRIVER_VERSION}; tools/dra-validate runs the
 * driver's own decoding and validation over every config generated here (test/tools/dra-validate.test.ts).
 * @see docs/dra.md
 */

/** The driver release these rules were read from (tools/versions.env DRA_DRIVER_VERSION). */
export const DRA_DRIVER_VERSION = "0.5.0";

/** The driver's name: in ResourceSlices, in a claim's opaque config, and the domain of its device attributes. */
export const DRA_DRIVER = "gpu.nvidia.com";

/** The DeviceClasses of the driver's chart: whole GPUs (`type == 'gpu'`) and static MIG devices (`type == 'mig'`). */
export const GPU_DEVICE_CLASS = "gpu.nvidia.com";
export const MIG_DEVICE_CLASS = "mig.nvidia.com";

/** The API group and version of the driver's opaque configs (api/nvidia.com/resource/v1beta1). */
export const DRA_CONFIG_API_VERSION = "resource.nvidia.com/v1beta1";

/** The API the claims use: `resource.k8s.io/v1`, GA since Kubernetes 1.34. */
export const RESOURCE_API_VERSION = "resource.k8s.io/v1";
export const MIN_DRA_KUBERNETES: KubernetesVersion = { major: 1, minor: 34 };

/**
 * Consumable capacity (KEP-5075, `DRAConsumableCapacity`): several claims allocate one device, each taking some of
 * its capacity. Beta, and on by default, from Kubernetes 1.36; what shares a GPU between the claims of a
 * Deployment's pods.
 */
export const MIN_CONSUMABLE_CAPACITY_KUBERNETES: KubernetesVersion = { major: 1, minor: 36 };

/** The capacity the driver's `--consumable-shares=<N>` gives every GPU and MIG device: N shares, 1 per claim by default. */
export const SHARES_CAPACITY = "shares";

/** The name of the one request in a server's claim, and of the claim in its pod spec. */
export const CLAIM_REQUEST_NAME = "gpu";

export interface KubernetesVersion {
  readonly major: number;
  readonly minor: number;
}

/** `1.36`, `v1.36.1`, `1.36.0-rc.1` → `{1, 36}`; `undefined` when it is no Kubernetes version. */
export function parseKubernetesVersion(text: string): KubernetesVersion | undefined {
  const m = /^v?(\d+)\.(\d+)(\.\d+)?([-+][0-9A-Za-z.+-]*)?$/.exec(text.trim());
  return m === null ? undefined : { major: Number(m[1]), minor: Number(m[2]) };
}

export function versionAtLeast(v: KubernetesVersion, min: KubernetesVersion): boolean {
  return v.major > min.major || (v.major === min.major && v.minor >= min.minor);
}

export function showVersion(v: KubernetesVersion): string {
  return `${v.major}.${v.minor}`;
}

/**
 * The driver's feature gates at {@link DRA_DRIVER_VERSION} (pkg/featuregates), their stages and defaults: exactly its
 * own registry, which `dra-validate --list-gates` prints (test/tools/dra-validate.test.ts compares the two).
 */
export const DRA_FEATURE_GATES: Readonly<
  Record<string, { readonly stage: "alpha" | "beta"; readonly default: boolean }>
> = {
  TimeSlicingSettings: { stage: "alpha", default: false },
  MPSSupport: { stage: "alpha", default: false },
  IMEXDaemonsWithDNSNames: { stage: "beta", default: true },
  PassthroughSupport: { stage: "alpha", default: false },
  NVMLDeviceHealthCheck: { stage: "alpha", default: false },
  DynamicMIG: { stage: "alpha", default: false },
  ComputeDomainCliques: { stage: "beta", default: true },
  CrashOnNVLinkFabricErrors: { stage: "beta", default: true },
  DeviceMetadata: { stage: "alpha", default: false },
  FabricManagerPartitioning: { stage: "alpha", default: false },
  HostManagedIMEXDaemon: { stage: "alpha", default: false },
  DRAListTypeAttributes: { stage: "alpha", default: false },
  ConsumableShares: { stage: "alpha", default: false },
  // Kubernetes' logging gates, which the driver's gate registry takes in with its logging options.
  ContextualLogging: { stage: "beta", default: true },
  LoggingAlphaOptions: { stage: "alpha", default: false },
  LoggingBetaOptions: { stage: "beta", default: true },
};

/** Whether a gate is on: as set, else its default. */
export function gateEnabled(gates: Readonly<Record<string, boolean>>, gate: string): boolean {
  return gates[gate] ?? DRA_FEATURE_GATES[gate]?.default ?? false;
}

/**
 * The combinations of gates the driver refuses to start with (its `ValidateFeatureGates`), in its order and words:
 * `exclusive` pairs, and gates that `require` another.
 */
const GATE_RULES: readonly { readonly a: string; readonly b: string; readonly rule: "exclusive" | "requires" }[] = [
  { a: "ComputeDomainCliques", b: "IMEXDaemonsWithDNSNames", rule: "requires" },
  { a: "DynamicMIG", b: "PassthroughSupport", rule: "exclusive" },
  { a: "DynamicMIG", b: "NVMLDeviceHealthCheck", rule: "exclusive" },
  { a: "DynamicMIG", b: "MPSSupport", rule: "exclusive" },
  { a: "PassthroughSupport", b: "NVMLDeviceHealthCheck", rule: "exclusive" },
  { a: "DeviceMetadata", b: "PassthroughSupport", rule: "requires" },
];

/** What is wrong with the driver's gates, each as a problem at `path` (`draDriver.featureGates`). */
export function draGateProblems(path: string, gates: Readonly<Record<string, boolean>>): string[] {
  const problems: string[] = [];
  const known = Object.keys(DRA_FEATURE_GATES);
  for (const name of Object.keys(gates).filter((g) => !known.includes(g))) {
    problems.push(
      `${path}.${name}: "${name}" is not allowed; it is not a feature gate of NVIDIA's DRA driver ${DRA_DRIVER_VERSION}; use one of ${known.join(", ")}`,
    );
  }
  for (const { a, b, rule } of GATE_RULES) {
    const on = (g: string): boolean => gateEnabled(gates, g);
    if (rule === "exclusive" && on(a) && on(b)) {
      problems.push(
        `${path}: ${a} and ${b} both on is not allowed; the driver refuses to start with them (feature gate ${a} is currently mutually exclusive with ${b}); turn one of them off`,
      );
    } else if (rule === "requires" && on(a) && !on(b)) {
      problems.push(
        `${path}: ${a} on with ${b} off is not allowed; the driver refuses to start (feature gate ${a} requires ${b} to also be enabled); turn ${b} on or ${a} off`,
      );
    }
  }
  return problems;
}

/**
 * The key a DRA device goes by in capacity tables and in a server's `resource`: its DeviceClass, and for a MIG
 * device its profile (`mig.nvidia.com/1g.18gb`). Never an extended resource name: pods do not request these.
 */
export function draResourceName(migProfile: string | undefined): string {
  return migProfile === undefined ? GPU_DEVICE_CLASS : `${MIG_DEVICE_CLASS}/${migProfile}`;
}

/**
 * What a DRA pool offers: the devices the driver publishes, named by DeviceClass (and profile). The driver publishes
 * every MIG device with its profile, so the cluster's MIG strategy plays no part: it is read as `mixed`.
 */
export function draAdvertisedDevices(sharing: PoolSharingSpec): AdvertisedDevice[] {
  return advertisedDevices(sharing, "mixed").map((v) => {
    const name = draResourceName(v.migProfile);
    return { ...v, baseResource: name, resource: name };
  });
}

/** Whether a capacity key names a DRA device (as opposed to a device plugin's extended resource). */
export function isDraResource(resource: string): boolean {
  return resource === GPU_DEVICE_CLASS || resource.startsWith(`${MIG_DEVICE_CLASS}/`);
}

/** The driver's opaque config of a claim (`GpuConfig` or `MigDeviceConfig`), as JSON. */
export interface DraOpaqueConfig {
  readonly apiVersion: typeof DRA_CONFIG_API_VERSION;
  readonly kind: "GpuConfig" | "MigDeviceConfig";
  readonly sharing: {
    readonly strategy: "TimeSlicing" | "MPS";
    /** Whole GPUs only: the driver's API has no time slice for MIG devices (its strict decoder refuses the key). */
    readonly timeSlicingConfig?: { readonly interval: "Default" | "Short" | "Medium" | "Long" };
    readonly mpsConfig?: {
      readonly defaultActiveThreadPercentage: number;
      readonly defaultPinnedDeviceMemoryLimit: string;
    };
  };
}

/**
 * The opaque config of a claim on `device`, or `undefined` for an unshared device (the driver's default: the claim's
 * pods alone). MPS gets what the device plugin gives each of N clients: 100/N % of the SMs and (memory − MPS server)/N
 * of pinned device memory, so a pool means the same on either path.
 */
export function draOpaqueConfig(device: AdvertisedDevice): DraOpaqueConfig | undefined {
  if (device.sharing === "none") return undefined;
  const kind = device.migProfile === undefined ? "GpuConfig" : "MigDeviceConfig";
  if (device.sharing === "timeSlicing") {
    return {
      apiVersion: DRA_CONFIG_API_VERSION,
      kind,
      sharing: {
        strategy: "TimeSlicing",
        ...(kind === "GpuConfig" ? { timeSlicingConfig: { interval: "Default" as const } } : {}),
      },
    };
  }
  const mib = Math.floor(((device.memoryGiB - MPS_SERVER_GIB) * 1024) / device.replicas);
  return {
    apiVersion: DRA_CONFIG_API_VERSION,
    kind,
    sharing: {
      strategy: "MPS",
      mpsConfig: {
        defaultActiveThreadPercentage: Math.floor(100 / device.replicas),
        defaultPinnedDeviceMemoryLimit: `${mib}Mi`,
      },
    },
  };
}

/**
 * How a server's pods hold their device:
 * - `template`: a ResourceClaimTemplate, so each pod gets a claim of its own — an unshared device, or one of the N
 *   consumable shares of a time-sliced one;
 * - `shared`: one ResourceClaim all the server's pods reference — MPS, which the driver starts per claim and refuses
 *   with consumable shares, so its N clients are the pods of one claim on one device.
 */
export type DraClaimMode = "template" | "shared";

export function draClaimMode(device: AdvertisedDevice): DraClaimMode {
  return device.sharing === "mps" ? "shared" : "template";
}

/**
 * The `spec` of a server's ResourceClaim (or of its template's claims): one device of the DeviceClass, a MIG device
 * by its `profile` attribute, with the driver's opaque config for its sharing. With the driver's consumable shares
 * on (`consumableShares` = N), a claim takes 1 share of a time-sliced device and all N of an unshared one, so that
 * the latter stays exclusive.
 */
export function draClaimSpec(device: AdvertisedDevice, consumableShares: number | undefined): Record<string, unknown> {
  const shares =
    consumableShares === undefined || device.sharing === "mps"
      ? undefined
      : device.sharing === "timeSlicing"
        ? 1
        : consumableShares;
  const config = draOpaqueConfig(device);
  return {
    devices: {
      requests: [
        {
          name: CLAIM_REQUEST_NAME,
          exactly: {
            deviceClassName: device.migProfile === undefined ? GPU_DEVICE_CLASS : MIG_DEVICE_CLASS,
            allocationMode: "ExactCount",
            count: 1,
            ...(device.migProfile === undefined
              ? {}
              : {
                  selectors: [
                    { cel: { expression: `device.attributes['${DRA_DRIVER}'].profile == '${device.migProfile}'` } },
                  ],
                }),
            ...(shares === undefined ? {} : { capacity: { requests: { [SHARES_CAPACITY]: String(shares) } } }),
          },
        },
      ],
      ...(config === undefined
        ? {}
        : { config: [{ requests: [CLAIM_REQUEST_NAME], opaque: { driver: DRA_DRIVER, parameters: config } }] }),
    },
  };
}
