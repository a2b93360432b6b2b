/**
 * What gpushare knows about each GPU model: memory, compute capability, whether it supports MIG and,
 * for those that do, every MIG GPU-instance profile with its compute slices, memory slices and the memory
 * slice positions where the hardware lets an instance start.
 *
 * Placements follow `nvidia-smi mig -lgipp`: an instance of a profile that spans `memorySlices` memory
 * slices may start only at one of `placements`, and instances may not overlap on memory slices.
 * @see https://docs.nvidia.com/datacenter/tesla/mig-user-guide/#supported-mig-profiles
 */

export interface MigProfile {
  /** Profile name as nvidia-smi and mig-manager write it, e.g. `1g.5gb` or `1g.5gb+me`. */
  readonly name: string;
  /** Compute (GPC) slices the instance takes: the `<n>g` of the name. */
  readonly computeSlices: number;
  /** Memory slices the instance spans (out of `MigGeometry.memorySlices`). */
  readonly memorySlices: number;
  /** Memory the instance holds, GiB, as nvidia-smi reports it. */
  readonly memoryGiB: number;
  /** Memory-slice indices where an instance may start. */
  readonly placements: readonly number[];
  /** At most this many instances per GPU (media-extension profiles allow one). */
  readonly maxInstances: number;
}

export interface MigGeometry {
  /** Compute slices per GPU (7 on A100/H100/H200, 4 on A30). */
  readonly computeSlices: number;
  /** Memory slices per GPU (8 on A100/H100/H200, 4 on A30). */
  readonly memorySlices: number;
  readonly profiles: readonly MigProfile[];
  /**
   * The `all-balanced` layout as NVIDIA's mig-manager defines it for this model.
   * @see https://github.com/NVIDIA/mig-parted/blob/main/examples/config.yaml
   */
  readonly balanced: Readonly<Record<string, number>>;
}

/** The GPU generation: decides the default per-replica overhead (`gpu/memory.ts`). */
export type GpuArchitecture = "volta" | "turing" | "ampere" | "ada" | "hopper";

export interface GpuModel {
  /** The name stack config uses, e.g. `A100-SXM4-40GB`. */
  readonly name: string;
  /** The memory its name advertises, GB: 16 for a T4. Never used for a fit; only to say how far it is from the truth. */
  readonly nominalMemoryGB: number;
  /** Total memory as nvidia-smi reports it (`memory.total`, MiB) with ECC in its default state, current drivers. */
  readonly smiTotalMiB: number;
  /**
   * Memory the driver keeps of that total, MiB: nvidia-smi's `Reserved` (older drivers print the total without it;
   * CUDA's `cudaMemGetInfo` total inside a process is total less reserved).
   */
  readonly reservedMiB: number;
  /** Memory processes can use, GiB: `(smiTotalMiB − reservedMiB) ÷ 1024`. Every fit check uses this figure. */
  readonly memoryGiB: number;
  readonly architecture: GpuArchitecture;
  /** CUDA compute capability, e.g. 7.5 for T4: decides how many MPS clients a GPU takes. */
  readonly computeCapability: number;
  /** PCI device ids (vendor 10de), lowercase hex without 0x, as node-feature-discovery reports them. */
  readonly pciDeviceIds: readonly string[];
  /** MIG geometry, absent for GPUs without MIG. */
  readonly mig?: MigGeometry;
}

/**
 * The driver reservation of a model no reading of which was found: the largest measured (an H200's 616 MiB), so that
 * a fit is never claimed on a guess that is too kind.
 */
export const UNMEASURED_RESERVED_MIB = 616;

type GpuModelEntry = Omit<GpuModel, "memoryGiB">;

function model(entry: GpuModelEntry): GpuModel {
  return { ...entry, memoryGiB: (entry.smiTotalMiB - entry.reservedMiB) / 1024 };
}

function profile(
  name: string,
  computeSlices: number,
  memorySlices: number,
  memoryGiB: number,
  placements: readonly number[],
  maxInstances = placements.length,
): MigProfile {
  return { name, computeSlices, memorySlices, memoryGiB, placements, maxInstances };
}

const SEVEN = [0, 1, 2, 3, 4, 5, 6];
const EVEN_FOUR = [0, 2, 4, 6];
const EVEN_THREE = [0, 2, 4];
const HALVES = [0, 4];

/** Profiles of the 8-memory-slice family (A100, H100, H200), named by the model's memory per slice. */
function eightSliceProfiles(m: {
  one: [string, number];
  oneDouble: [string, number];
  two: [string, number];
  three: [string, number];
  four: [string, number];
  seven: [string, number];
}): MigProfile[] {
  return [
    profile(m.one[0], 1, 1, m.one[1], SEVEN),
    profile(`${m.one[0]}+me`, 1, 1, m.one[1], SEVEN, 1),
    profile(m.oneDouble[0], 1, 2, m.oneDouble[1], EVEN_FOUR),
    profile(m.two[0], 2, 2, m.two[1], EVEN_THREE),
    profile(m.three[0], 3, 4, m.three[1], HALVES),
    profile(m.four[0], 4, 4, m.four[1], [0]),
    profile(m.seven[0], 7, 8, m.seven[1], [0]),
  ];
}

const GPU_MODEL_ENTRIES: readonly GpuModelEntry[] = [
  {
    name: "A100-SXM4-40GB",
    nominalMemoryGB: 40,
    // docs/gpu-memory.md: 40960 MiB on current drivers (SXM4 and PCIe alike); older drivers print 40536 MiB, the
    // total less the driver's reservation.
    smiTotalMiB: 40960,
    reservedMiB: 40960 - 40536,
    architecture: "ampere",
    computeCapability: 8.0,
    // A100-SXM4-40GB, A100-PCIE-40GB and A800-40GB (20f6) share one MIG profile table (mig-parted's filters).
    pciDeviceIds: ["20b0", "20b1", "20f1", "20f6"],
    mig: {
      computeSlices: 7,
      memorySlices: 8,
      profiles: eightSliceProfiles({
        one: ["1g.5gb", 4.75],
        oneDouble: ["1g.10gb", 9.62],
        two: ["2g.10gb", 9.62],
        three: ["3g.20gb", 19.5],
        four: ["4g.20gb", 19.5],
        seven: ["7g.40gb", 39.25],
      }),
      balanced: { "1g.5gb": 2, "2g.10gb": 1, "3g.20gb": 1 },
    },
  },
  {
    name: "A100-80GB",
    nominalMemoryGB: 80,
    // docs/gpu-memory.md: 81920 MiB (SXM4, driver 545; A800-80GB PCIe, driver 550). No reading of its reservation.
    smiTotalMiB: 81920,
    reservedMiB: UNMEASURED_RESERVED_MIB,
    architecture: "ampere",
    computeCapability: 8.0,
    // A100-80GB (SXM4, PCIe) and A800-80GB (20f3, 20f5).
    pciDeviceIds: ["20b2", "20b5", "20f3", "20f5"],
    mig: {
      computeSlices: 7,
      memorySlices: 8,
      profiles: eightSliceProfiles({
        one: ["1g.10gb", 9.5],
        oneDouble: ["1g.20gb", 19.5],
        two: ["2g.20gb", 19.5],
        three: ["3g.40gb", 39.25],
        four: ["4g.40gb", 39.25],
        seven: ["7g.80gb", 79.25],
      }),
      balanced: { "1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1 },
    },
  },
  {
    name: "H100-80GB",
    nominalMemoryGB: 80,
    // docs/gpu-memory.md: 81559 MiB (H100 SXM5 80GB HBM3). No reading of its reservation.
    smiTotalMiB: 81559,
    reservedMiB: UNMEASURED_RESERVED_MIB,
    architecture: "hopper",
    computeCapability: 9.0,
    // H100-80GB (SXM5, PCIe) and H800-80GB (2322, 2324).
    pciDeviceIds: ["2330", "2331", "2322", "2324"],
    mig: {
      computeSlices: 7,
      memorySlices: 8,
      profiles: eightSliceProfiles({
        one: ["1g.10gb", 9.75],
        oneDouble: ["1g.20gb", 19.62],
        two: ["2g.20gb", 19.62],
        three: ["3g.40gb", 39.5],
        four: ["4g.40gb", 39.5],
        seven: ["7g.80gb", 79.25],
      }),
      balanced: { "1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1 },
    },
  },
  {
    // Read off real hardware: test/fixtures/h200-mig-profiles.txt (nvidia-smi mig -lgip / -lgipp, copied verbatim).
    name: "H200-141GB",
    nominalMemoryGB: 141,
    // Measured (docs/gpu-memory.md): nvidia-smi 143771 MiB, driver 580; CUDA inside a process reports 143155 MiB.
    smiTotalMiB: 143771,
    reservedMiB: 143771 - 143155,
    architecture: "hopper",
    computeCapability: 9.0,
    // H200 SXM and H200 NVL (233b): mig-parted gives both the same layouts.
    pciDeviceIds: ["2335", "233b"],
    mig: {
      computeSlices: 7,
      memorySlices: 8,
      profiles: eightSliceProfiles({
        one: ["1g.18gb", 16.0],
        oneDouble: ["1g.35gb", 32.5],
        two: ["2g.35gb", 32.5],
        three: ["3g.71gb", 69.75],
        four: ["4g.71gb", 69.75],
        seven: ["7g.141gb", 140.0],
      }),
      balanced: { "1g.18gb": 2, "2g.35gb": 1, "3g.71gb": 1 },
    },
  },
  {
    name: "A30-24GB",
    nominalMemoryGB: 24,
    // docs/gpu-memory.md: 24576 MiB on current drivers, 24258 MiB on drivers up to 515 (total less reservation).
    smiTotalMiB: 24576,
    reservedMiB: 24576 - 24258,
    architecture: "ampere",
    computeCapability: 8.0,
    pciDeviceIds: ["20b7"],
    mig: {
      computeSlices: 4,
      memorySlices: 4,
      profiles: [
        profile("1g.6gb", 1, 1, 5.81, [0, 1, 2, 3]),
        profile("1g.6gb+me", 1, 1, 5.81, [0, 1, 2, 3], 1),
        profile("2g.12gb", 2, 2, 11.69, [0, 2]),
        profile("2g.12gb+me", 2, 2, 11.69, [0, 2], 1),
        profile("4g.24gb", 4, 4, 23.5, [0]),
      ],
      balanced: { "1g.6gb": 2, "2g.12gb": 1 },
    },
  },
  {
    name: "T4",
    nominalMemoryGB: 16,
    // docs/gpu-memory.md: 15360 MiB on current drivers — 16 GiB less the 6.25 % that holds GDDR6's ECC bits — and
    // 15079 MiB on older ones, the total less the driver's reservation (NVIDIA developer forum, 2021).
    smiTotalMiB: 15360,
    reservedMiB: 15360 - 15079,
    architecture: "turing",
    computeCapability: 7.5,
    pciDeviceIds: ["1eb8"],
  },
  {
    name: "L4",
    nominalMemoryGB: 24,
    // docs/gpu-memory.md: 23034 MiB (24 GiB of GDDR6 less 6.25 % for ECC). No reading of its reservation.
    smiTotalMiB: 23034,
    reservedMiB: UNMEASURED_RESERVED_MIB,
    architecture: "ada",
    computeCapability: 8.9,
    pciDeviceIds: ["27b8"],
  },
  {
    name: "A10",
    nominalMemoryGB: 24,
    // docs/gpu-memory.md: 23028 MiB with ECC on (24258 MiB with it off). No reading of its reservation.
    smiTotalMiB: 23028,
    reservedMiB: UNMEASURED_RESERVED_MIB,
    architecture: "ampere",
    computeCapability: 8.6,
    pciDeviceIds: ["2236"],
  },
  {
    name: "A40",
    nominalMemoryGB: 48,
    // docs/gpu-memory.md: 46068 MiB, driver 550 (48 GiB of GDDR6 less 6.25 % for ECC). No reading of its reservation.
    smiTotalMiB: 46068,
    reservedMiB: UNMEASURED_RESERVED_MIB,
    architecture: "ampere",
    computeCapability: 8.6,
    pciDeviceIds: ["2235"],
  },
  {
    name: "L40S",
    nominalMemoryGB: 48,
    // docs/gpu-memory.md: 46068 MiB, driver 595 (48 GiB of GDDR6 less 6.25 % for ECC). No reading of its reservation.
    smiTotalMiB: 46068,
    reservedMiB: UNMEASURED_RESERVED_MIB,
    architecture: "ada",
    computeCapability: 8.9,
    pciDeviceIds: ["26b9"],
  },
  {
    name: "V100-16GB",
    nominalMemoryGB: 16,
    // docs/gpu-memory.md: 16384 MiB on current drivers, 16160 MiB on older ones (total less reservation).
    smiTotalMiB: 16384,
    reservedMiB: 16384 - 16160,
    architecture: "volta",
    computeCapability: 7.0,
    pciDeviceIds: ["1db1", "1db4"],
  },
  {
    name: "V100-32GB",
    nominalMemoryGB: 32,
    // docs/gpu-memory.md: 32768 MiB (driver 525), 32480 MiB on driver 418 (total less reservation).
    smiTotalMiB: 32768,
    reservedMiB: 32768 - 32480,
    architecture: "volta",
    computeCapability: 7.0,
    pciDeviceIds: ["1db5", "1db6"],
  },
];

const GPU_MODELS: readonly GpuModel[] = GPU_MODEL_ENTRIES.map(model);

const BY_NAME = new Map(GPU_MODELS.map((m) => [m.name, m]));

/** Every GPU model gpushare knows, in catalog order. */
export function gpuModels(): readonly GpuModel[] {
  return GPU_MODELS;
}

/** The names stack config accepts for `gpuPools.<pool>.gpu`. */
export function gpuModelNames(): string[] {
  return GPU_MODELS.map((m) => m.name);
}

export function findGpuModel(name: string): GpuModel | undefined {
  return BY_NAME.get(name);
}

export function findMigProfile(model: GpuModel, name: string): MigProfile | undefined {
  return model.mig?.profiles.find((p) => p.name === name);
}

/**
 * MPS clients one GPU takes: 48 from compute capability 7.5 (Turing) on, 16 below.
 * @see https://docs.nvidia.com/deploy/mps/index.html#limitations
 */
export function maxMpsClients(model: GpuModel): number {
  return model.computeCapability >= 7.5 ? 48 : 16;
}
