import type { GpuArchitecture, GpuModel } from "./catalog";

/**
 * The memory a replica really has, and whether a model fits in it: the one rule every fit check of gpushare
 * applies (stack validation, `capacity`, the preview's capacity change, the planner).
 *
 * A replica is a process. Before its first weight is loaded it holds a CUDA context and its framework's libraries
 * (cuBLAS, cuDNN, Triton's own CUDA memory pool): its *overhead*. A device's memory is what nvidia-smi reports
 * (`GpuModel.memoryGiB`, `MigProfile.memoryGiB`), not the marketing figure. Then, with `need = model + overhead`:
 * - unshared: `need ≤ device`;
 * - time-slicing (pods share the device's memory, nothing enforces a split): `replicas × need ≤ device`;
 * - MPS (the device plugin limits each client to `device ÷ replicas` with `CUDA_MPS_PINNED_DEVICE_MEM_LIMIT`,
 *   every client still has its own context, and the MPS server takes memory of its own):
 *   `need ≤ (device − MPS server) ÷ replicas`. Whether a client's context counts against its limit or not, this
 *   holds both the limit and the sum of all clients.
 * @see https://docs.nvidia.com/deploy/mps/index.html
 */

/** How one kind of device is shared: not at all, by time-slicing, or by MPS. */
export type SharingMode = "none" | "timeSlicing" | "mps";

/**
 * Memory the libraries of an inference process take on top of a bare CUDA context, MiB: cuBLAS and cuDNN loaded by
 * a ResNet-50 process after its first forward pass (794 MiB) less a bare context (612 MiB), measured on an H200.
 */
export const LIBRARIES_MIB = 794 - 612;

/** Triton's CUDA memory pool per GPU, MiB: `--cuda-memory-pool-byte-size` defaults to 64 MiB. */
export const TRITON_POOL_MIB = 64;

/**
 * A bare CUDA context per architecture, MiB (`docs/gpu-memory.md` has every reading and its source). A context's
 * size grows with the SMs (its local-memory reservation) and the kernel images loaded.
 * - hopper: 612, measured on an H200 (132 SMs; 2026-12-03, driver 580, CUDA 12, PyTorch 2.11);
 * - ada: 426, a PyTorch process on an RTX 6000 Ada, the L40S's AD102 die (142 SMs);
 * - ampere: 256, a bare context on an RTX 3090 (GA102, 82 SMs; an A100's "CUDA stack" is read as 216 MB);
 * - turing: no reading found; the Ampere figure, since a T4 has fewer SMs (40) than any Ampere card here;
 * - volta: 400, the top of "300 to 400 MB" per PyTorch process on a V100.
 */
export const CONTEXT_MIB: Readonly<Record<GpuArchitecture, number>> = {
  volta: 400,
  turing: 256,
  ampere: 256,
  ada: 426,
  hopper: 612,
};

/**
 * Memory one replica process takes besides its model, by GPU architecture, GiB: a bare CUDA context, the libraries
 * of an inference process and Triton's memory pool. Frameworks that take more (a TensorRT-LLM engine's workspace,
 * PyTorch's caching allocator) set `servers.<s>.overheadGiB`.
 */
export const DEFAULT_REPLICA_OVERHEAD_GIB: Readonly<Record<GpuArchitecture, number>> = Object.fromEntries(
  Object.entries(CONTEXT_MIB).map(([arch, mib]) => [arch, (mib + LIBRARIES_MIB + TRITON_POOL_MIB) / 1024]),
) as Record<GpuArchitecture, number>;

/**
 * Memory the MPS control server takes on a GPU it serves, GiB: 66 MiB measured on an H200 beside 7 clients
 * (`docs/gpu-memory.md`).
 */
export const MPS_SERVER_GIB = 66 / 1024;

/** The most per-replica overhead a server may declare, GiB: more than most GPUs hold is a typo. */
export const MAX_OVERHEAD_GIB = 64;

/**
 * What is wrong with a server's declared overhead at `at`, or `undefined`: a finite number from 0 to
 * {@link MAX_OVERHEAD_GIB}. `instead` says what leaving it out gives. The one owner of the rule, for the stack
 * validation and the planner alike.
 */
export function overheadProblem(at: string, overheadGiB: number | undefined, instead: string): string | undefined {
  if (
    overheadGiB === undefined ||
    (Number.isFinite(overheadGiB) && overheadGiB >= 0 && overheadGiB <= MAX_OVERHEAD_GIB)
  ) {
    return undefined;
  }
  return `${at}: ${String(overheadGiB)} is not allowed; use a number from 0 to ${MAX_OVERHEAD_GIB} (GiB each replica process takes besides its model), or remove it for ${instead}`;
}

/** Floating-point slack of the fit comparison: 1 KiB, far below any figure the catalog or a config holds. */
const SLACK_GIB = 1 / (1024 * 1024);

/** The overhead of one replica on `gpu`: the server's own figure when it gives one, else its architecture's. */
export function replicaOverheadGiB(gpu: Pick<GpuModel, "architecture">, overrideGiB?: number): number {
  return overrideGiB ?? DEFAULT_REPLICA_OVERHEAD_GIB[gpu.architecture];
}

/** A device as the fit rule sees it: its memory, and how many pods share it how. */
export interface SharedDevice {
  /** Memory of one physical device (whole GPU or MIG slice) as nvidia-smi reports it, GiB. */
  readonly memoryGiB: number;
  readonly sharing: SharingMode;
  /** Pods per physical device (1 without sharing). */
  readonly replicas: number;
}

/** Whether one replica of a model fits, and by how much. */
export interface MemoryFit {
  /** What one replica can count on, GiB: the device, divided among its pods, less the MPS server under MPS. */
  readonly perReplicaGiB: number;
  readonly modelGiB: number;
  readonly overheadGiB: number;
  /** model + overhead. */
  readonly needGiB: number;
  /** perReplica − need: negative when it does not fit. */
  readonly headroomGiB: number;
  readonly fits: boolean;
}

/** The memory one replica can count on, GiB, on a device shared as given. */
export function memoryPerReplicaGiB(device: SharedDevice): number {
  const replicas = Math.max(device.replicas, 1);
  if (device.sharing === "mps") return (device.memoryGiB - MPS_SERVER_GIB) / replicas;
  return device.memoryGiB / replicas;
}

/** Whether a model of `modelGiB` whose process takes `overheadGiB` besides fits a replica of `device`. */
export function memoryFit(device: SharedDevice, modelGiB: number, overheadGiB: number): MemoryFit {
  const perReplicaGiB = memoryPerReplicaGiB(device);
  const needGiB = modelGiB + overheadGiB;
  return {
    perReplicaGiB,
    modelGiB,
    overheadGiB,
    needGiB,
    headroomGiB: perReplicaGiB - needGiB,
    fits: needGiB <= perReplicaGiB + SLACK_GIB,
  };
}

/**
 * The most pods, from 1 to `cap`, that a device of `memoryGiB` shared by `mode` holds, each needing `needGiB`; 0
 * when not even one fits. The same predicate as {@link memoryFit}, so the planner and the validation agree on every
 * boundary.
 */
export function maxReplicasByMemory(memoryGiB: number, mode: SharingMode, needGiB: number, cap: number): number {
  const fits = (n: number): boolean => memoryFit({ memoryGiB, sharing: mode, replicas: n }, needGiB, 0).fits;
  if (!fits(1)) return 0;
  if (mode === "none") return 1;
  let n = Math.min(cap, Math.max(1, Math.floor(memoryGiB / Math.max(needGiB, SLACK_GIB)) + 1));
  // fits(1) holds, so the walk down stops at 1 at the latest.
  while (!fits(n)) n--;
  return n;
}

/** "14.73 GiB" with two decimals, as every fit message prints a figure. */
export function gib(n: number): string {
  return `${n.toFixed(2)} GiB`;
}
