import { describe, expect, it } from "vitest";
import {
  CONTEXT_MIB,
  DEFAULT_REPLICA_OVERHEAD_GIB,
  gib,
  LIBRARIES_MIB,
  maxReplicasByMemory,
  memoryFit,
  memoryPerReplicaGiB,
  MPS_SERVER_GIB,
  overheadProblem,
  replicaOverheadGiB,
  TRITON_POOL_MIB,
} from "../../gpu/memory";

const T4 = 15079 / 1024;
const MIB = 1 / 1024;

describe("the memory one replica has", () => {
  it.each<[string, "none" | "timeSlicing" | "mps", number, number]>([
    ["a whole device, unshared", "none", 1, T4],
    ["a device time-sliced 4 ways, in four", "timeSlicing", 4, T4 / 4],
    ["an MPS client's share, less the MPS server", "mps", 4, (T4 - 66 * MIB) / 4],
    ["an unshared device that says 0 replicas, whole", "none", 0, T4],
  ])("%s", (_, sharing, replicas, expected) => {
    expect(memoryPerReplicaGiB({ memoryGiB: T4, sharing, replicas })).toBe(expected);
  });
});

describe("memoryFit", () => {
  it("adds the overhead to the model and measures the headroom against the replica's share", () => {
    expect(memoryFit({ memoryGiB: T4, sharing: "timeSlicing", replicas: 14 }, 0.5, 0.49)).toEqual({
      perReplicaGiB: T4 / 14,
      modelGiB: 0.5,
      overheadGiB: 0.49,
      needGiB: 0.99,
      headroomGiB: T4 / 14 - 0.99,
      fits: true,
    });
  });

  it.each<[string, number, boolean]>([
    ["exactly the device", T4, true],
    ["half a KiB over (within the comparison's slack)", T4 + MIB / 2048, true],
    ["1 KiB over (the comparison's slack exactly)", T4 + MIB / 1024, true],
    ["1 MiB over", T4 + MIB, false],
  ])("a need of %s fits: %s", (_, need, fits) => {
    expect(memoryFit({ memoryGiB: T4, sharing: "none", replicas: 1 }, need, 0).fits).toBe(fits);
  });

  it("counts the overhead as the model: moving GiB between them changes nothing", () => {
    const device = { memoryGiB: 4.75, sharing: "timeSlicing" as const, replicas: 4 };
    expect(memoryFit(device, 1, 0.2).fits).toBe(memoryFit(device, 0.2, 1).fits);
    expect(memoryFit(device, 1, 0.2).fits).toBe(false);
    expect(memoryFit(device, 0.9, 0.28).fits).toBe(true);
  });
});

describe("maxReplicasByMemory", () => {
  it.each<[string, number, "none" | "timeSlicing" | "mps", number, number, number]>([
    ["none fits", 4.75, "none", 5, 8, 0],
    ["one, unshared", 4.75, "none", 4.75, 8, 1],
    ["time-sliced by memory", T4, "timeSlicing", 0.99, 110, 14],
    ["time-sliced, capped", T4, "timeSlicing", 0.11, 94, 94],
    ["the cap itself", T4, "timeSlicing", 0.11, 3, 3],
    ["MPS, the server's share taken first", T4, "mps", (T4 - 66 * MIB) / 4, 48, 4],
    ["MPS, one byte more needs a fifth less", T4, "mps", (T4 - 66 * MIB) / 4 + MIB, 48, 3],
    ["a need of nothing: the cap", T4, "timeSlicing", 0, 20, 20],
    ["a small need, unshared: still one", 4.75, "none", 1, 8, 1],
  ])("%s", (_, memory, mode, need, cap, expected) => {
    expect(maxReplicasByMemory(memory, mode, need, cap)).toBe(expected);
  });

  it("agrees with memoryFit at every count", () => {
    for (const need of [0.3, 0.99, 1.7, 3.49, 7]) {
      for (const mode of ["timeSlicing", "mps"] as const) {
        const n = maxReplicasByMemory(T4, mode, need, 110);
        if (n > 0) expect(memoryFit({ memoryGiB: T4, sharing: mode, replicas: n }, need, 0).fits).toBe(true);
        if (n < 110) expect(memoryFit({ memoryGiB: T4, sharing: mode, replicas: n + 1 }, need, 0).fits).toBe(false);
      }
    }
  });
});

describe("the per-replica overhead", () => {
  it("is a bare context, the libraries and Triton's pool, per architecture", () => {
    for (const [arch, context] of Object.entries(CONTEXT_MIB)) {
      expect(DEFAULT_REPLICA_OVERHEAD_GIB[arch as keyof typeof CONTEXT_MIB]).toBe(
        (context + LIBRARIES_MIB + TRITON_POOL_MIB) / 1024,
      );
    }
    expect([LIBRARIES_MIB, TRITON_POOL_MIB, MPS_SERVER_GIB]).toEqual([182, 64, 66 / 1024]);
  });

  it("is the server's own figure where it gives one, even 0", () => {
    expect(replicaOverheadGiB({ architecture: "hopper" })).toBe(858 / 1024);
    expect(replicaOverheadGiB({ architecture: "hopper" }, 2)).toBe(2);
    expect(replicaOverheadGiB({ architecture: "hopper" }, 0)).toBe(0);
  });

  it("prints with two decimals", () => {
    expect(gib(858 / 1024)).toBe("0.84 GiB");
  });
});

describe("overheadProblem", () => {
  it.each([undefined, 0, 0.5, 64])("accepts %j GiB", (overheadGiB) => {
    expect(overheadProblem("servers.s.overheadGiB", overheadGiB, "the default")).toBeUndefined();
  });

  it.each([-0.5, 64.5, Infinity, NaN])("fails when the overhead is %j GiB", (overheadGiB) => {
    expect(overheadProblem("servers.s.overheadGiB", overheadGiB, "the default")).toBe(
      `servers.s.overheadGiB: ${String(overheadGiB)} is not allowed; use a number from 0 to 64 (GiB each replica process takes besides its model), or remove it for the default`,
    );
  });
});
