import { describe, expect, it } from "vitest";
import { findGpuModel } from "../../gpu/catalog";
import { parseHardware } from "../../tools/sim-device-plugin/advertise";
import type { ExistingSlice } from "../../tools/sim-dra-plugin/slices";
import {
  binaryQuantity,
  fakeUuid,
  giProfileId,
  migDeviceName,
  nodeDevices,
  parseConsumableShares,
  parseNodeSelector,
  placeMigDevices,
  planSlice,
  semverOf,
  sliceGenerateName,
  sliceSpec,
} from "../../tools/sim-dra-plugin/slices";

const A100_BALANCED = parseHardware({
  "sim.gpushare.io/gpu-model": "A100-SXM4-40GB",
  "sim.gpushare.io/mig-devices": "1g.5gb=2,2g.10gb=1,3g.20gb=1",
});
const T4_X2 = parseHardware({ "sim.gpushare.io/gpu-model": "T4", "sim.gpushare.io/gpu-count": "2" });

function model(name: string) {
  const m = findGpuModel(name);
  if (m === undefined) throw new Error(`no model ${name}`);
  return m;
}

describe("nodeDevices", () => {
  it("names the balanced A100's MIG devices by profile id and placement, with their memory slices", () => {
    // 3g.20gb first: at 0 the rest cannot fit (2g.10gb would take 4-5, and 1g.5gb starts at 6 at most), so it sits at
    // 4 (slices 4-7); 2g.10gb at 0 (0-1); the two 1g.5gb at 2 and 3.
    const devices = nodeDevices("gpu-a100-0", A100_BALANCED, "disabled");
    expect(devices.map((d) => [d.name, d.capacity])).toEqual([
      ["gpu-0-mig-1g5gb-19-2", { memory: { value: "4864Mi" }, memorySlice2: { value: "1" } }],
      ["gpu-0-mig-1g5gb-19-3", { memory: { value: "4864Mi" }, memorySlice3: { value: "1" } }],
      [
        "gpu-0-mig-2g10gb-14-0",
        { memory: { value: "9856Mi" }, memorySlice0: { value: "1" }, memorySlice1: { value: "1" } },
      ],
      [
        "gpu-0-mig-3g20gb-9-4",
        {
          memory: { value: "19968Mi" },
          memorySlice4: { value: "1" },
          memorySlice5: { value: "1" },
          memorySlice6: { value: "1" },
          memorySlice7: { value: "1" },
        },
      ],
    ]);
  });

  it("gives a MIG device the driver's attributes, its parent's UUID and its profile", () => {
    const [first] = nodeDevices("gpu-a100-0", A100_BALANCED, "disabled");
    expect(first.attributes).toEqual({
      type: { string: "mig" },
      uuid: { string: fakeUuid("MIG", "gpu-a100-0/gpu-0-mig-1g5gb-19-2") },
      parentUUID: { string: fakeUuid("GPU", "gpu-a100-0/0") },
      profile: { string: "1g.5gb" },
      productName: { string: "NVIDIA A100-SXM4-40GB" },
      brand: { string: "Nvidia" },
      architecture: { string: "Ampere" },
      cudaComputeCapability: { version: "8.0.0" },
      driverVersion: { version: "580.95.5" },
      cudaDriverVersion: { version: "13.0.0" },
    });
    expect(first.allowMultipleAllocations).toBeUndefined();
  });

  it("publishes two T4s as whole GPUs gpu-0 and gpu-1 with 15360 MiB each", () => {
    const devices = nodeDevices("gpu-t4-0", T4_X2, "disabled");
    expect(devices.map((d) => [d.name, d.attributes.type, d.capacity])).toEqual([
      ["gpu-0", { string: "gpu" }, { memory: { value: "15Gi" } }],
      ["gpu-1", { string: "gpu" }, { memory: { value: "15Gi" } }],
    ]);
    expect(devices[0].attributes.uuid).not.toEqual(devices[1].attributes.uuid);
    expect(devices[0].attributes.uuid.string).toMatch(/^GPU-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/);
    expect(devices[0].attributes.architecture).toEqual({ string: "Turing" });
    expect(devices[0].attributes.cudaComputeCapability).toEqual({ version: "7.5.0" });
  });

  it("publishes a GPU with MIG on as its MIG devices only, and one without MIG whole", () => {
    const hw = parseHardware({
      "sim.gpushare.io/gpu-model": "A100-SXM4-40GB",
      "sim.gpushare.io/gpu-count": "2",
      "sim.gpushare.io/mig-devices": "7g.40gb=1;",
    });
    expect(nodeDevices("n", hw, "disabled").map((d) => [d.name, d.capacity.memory.value])).toEqual([
      ["gpu-0-mig-7g40gb-0-0", "40192Mi"],
      ["gpu-1", "40Gi"],
    ]);
  });

  it("gives every device 4 shares and a memory request policy under --consumable-shares 4", () => {
    const [t4] = nodeDevices("gpu-t4-0", T4_X2, 4);
    expect(t4.allowMultipleAllocations).toBe(true);
    expect(t4.capacity).toEqual({
      memory: { value: "15Gi", requestPolicy: { default: "0", validRange: { min: "0", max: "15Gi", step: "1Mi" } } },
      shares: { value: "4", requestPolicy: { default: "1", validRange: { min: "1", max: "4", step: "1" } } },
    });
    const mig = nodeDevices("gpu-a100-0", A100_BALANCED, 4)[0];
    expect(mig.allowMultipleAllocations).toBe(true);
    expect(mig.capacity).toEqual({
      memory: {
        value: "4864Mi",
        requestPolicy: { default: "0", validRange: { min: "0", max: "4864Mi", step: "1Mi" } },
      },
      memorySlice2: { value: "1" },
      shares: { value: "4", requestPolicy: { default: "1", validRange: { min: "1", max: "4", step: "1" } } },
    });
  });

  it.each([
    [{ "sim.gpushare.io/gpu-model": "B200" }, "unknown GPU model B200"],
    [
      { "sim.gpushare.io/gpu-model": "T4", "sim.gpushare.io/mig-devices": "1g.5gb=1" },
      "GPU 0: T4 does not support MIG",
    ],
    [
      // 7 compute slices, but both 3g.20gb take all 8 memory slices: no place is left for the 1g.5gb.
      { "sim.gpushare.io/gpu-model": "A100-SXM4-40GB", "sim.gpushare.io/mig-devices": "3g.20gb=2,1g.5gb=1" },
      "GPU 0: 3g.20gb=2,1g.5gb=1 does not fit on one A100-SXM4-40GB at any placement",
    ],
    [
      { "sim.gpushare.io/gpu-model": "A100-SXM4-40GB", "sim.gpushare.io/mig-devices": "4g.20gb=1,3g.20gb=1,1g.5gb=1" },
      "GPU 0: 4g.20gb=1,3g.20gb=1,1g.5gb=1 needs 8 compute slices; A100-SXM4-40GB has 7",
    ],
  ])("fails when the hardware cannot be published: %j", (annotations, message) => {
    expect(() => nodeDevices("n", parseHardware(annotations), "disabled")).toThrow(message);
  });
});

describe("MIG naming and placement", () => {
  it.each([
    ["A100-SXM4-40GB", "1g.5gb", 19],
    ["A100-SXM4-40GB", "1g.5gb+me", 20],
    ["A100-SXM4-40GB", "1g.10gb", 15],
    ["A100-SXM4-40GB", "2g.10gb", 14],
    ["A100-SXM4-40GB", "3g.20gb", 9],
    ["A100-SXM4-40GB", "4g.20gb", 5],
    ["A100-SXM4-40GB", "7g.40gb", 0],
    ["H200-141GB", "1g.18gb", 19],
    ["H200-141GB", "1g.35gb", 15],
    ["A30-24GB", "1g.6gb", 14],
    ["A30-24GB", "1g.6gb+me", 21],
    ["A30-24GB", "2g.12gb", 5],
    ["A30-24GB", "2g.12gb+me", 6],
    ["A30-24GB", "4g.24gb", 0],
  ])("gives %s %s the GPU-instance profile id %i", (gpu, profileName, id) => {
    const m = model(gpu);
    const profile = m.mig?.profiles.find((p) => p.name === profileName);
    if (profile === undefined) throw new Error(`no profile ${profileName}`);
    expect(giProfileId(m, profile)).toBe(id);
  });

  it("writes the profile without dots and + as -, as ToCanonicalName does", () => {
    expect(migDeviceName(1, "1g.6gb+me", 21, 3)).toBe("gpu-1-mig-1g6gb-me-21-3");
  });

  it("places 1g.18gb=7 on an H200 at 0..6", () => {
    expect(placeMigDevices(model("H200-141GB"), { "1g.18gb": 7 }).map((p) => p.start)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("fails when a media-extension profile is asked twice", () => {
    expect(() => placeMigDevices(model("A30-24GB"), { "1g.6gb+me": 2 })).toThrow(
      "A30-24GB takes at most 1 × 1g.6gb+me, not 2",
    );
  });
});

describe("flags and formats", () => {
  it.each([
    ["disabled", "disabled"],
    ["4", 4],
  ])("reads --consumable-shares %s", (text, value) => {
    expect(parseConsumableShares(text)).toBe(value);
  });

  it.each(["0", "unlimited", "memory", "two"])("fails when --consumable-shares is %s", (text) => {
    expect(() => parseConsumableShares(text)).toThrow(
      `--consumable-shares: "${text}" is not "disabled" or a positive integer (the driver's "unlimited" and ` +
        `"memory" are not simulated)`,
    );
  });

  it("reads --node-selector KEY=VALUE and fails without =", () => {
    expect(parseNodeSelector("gpushare.io/gpu-allocation=dra")).toEqual({
      key: "gpushare.io/gpu-allocation",
      value: "dra",
    });
    expect(() => parseNodeSelector("dra")).toThrow(
      '--node-selector: "dra" is not KEY=VALUE with a label key and value',
    );
  });

  it.each([
    [0, "0"],
    [1, "1"],
    [1536, "1536"],
    [1024 * 1024, "1Mi"],
    [4864 * 1024 * 1024, "4864Mi"],
    [40960 * 1024 * 1024, "40Gi"],
  ])("writes %i bytes as the API server does: %s", (bytes, text) => {
    expect(binaryQuantity(bytes)).toBe(text);
  });

  it.each([
    ["580.95.05", "580.95.5"],
    ["8.0", "8.0.0"],
    ["13.0", "13.0.0"],
  ])("turns version %s into %s as Masterminds semver does", (raw, version) => {
    expect(semverOf(raw)).toBe(version);
  });
});

describe("planSlice (the ResourceSlice controller)", () => {
  const devices = nodeDevices("gpu-a100-0", A100_BALANCED, "disabled");
  const slice = (name: string, generation: number, ownerUid = "uid-1", d = devices): ExistingSlice => ({
    name,
    spec: sliceSpec("gpu-a100-0", generation, d),
    ownerUid,
  });

  it("creates the pool's first slice at generation 1", () => {
    const plan = planSlice("gpu-a100-0", "uid-1", devices, []);
    expect(plan).toEqual({ kind: "create", spec: sliceSpec("gpu-a100-0", 1, devices), obsolete: [] });
    expect(plan.kind === "create" && plan.spec.pool).toEqual({
      name: "gpu-a100-0",
      generation: 1,
      resourceSliceCount: 1,
    });
    expect(sliceGenerateName("gpu-a100-0")).toBe("00000-gpu.nvidia.com-gpu-a100-0-");
  });

  it("leaves a slice that already publishes the devices alone", () => {
    expect(planSlice("gpu-a100-0", "uid-1", devices, [slice("00000-gpu.nvidia.com-gpu-a100-0-x", 3)])).toEqual({
      kind: "none",
      name: "00000-gpu.nvidia.com-gpu-a100-0-x",
      obsolete: [],
    });
  });

  it("updates the one slice in place after a hardware change, keeping its generation", () => {
    const before = slice("00000-gpu.nvidia.com-gpu-a100-0-x", 1);
    const after = nodeDevices(
      "gpu-a100-0",
      parseHardware({ "sim.gpushare.io/gpu-model": "A100-SXM4-40GB", "sim.gpushare.io/mig-devices": "1g.5gb=7" }),
      "disabled",
    );
    const plan = planSlice("gpu-a100-0", "uid-1", after, [before]);
    expect(plan).toEqual({
      kind: "update",
      name: "00000-gpu.nvidia.com-gpu-a100-0-x",
      spec: sliceSpec("gpu-a100-0", 1, after),
      obsolete: [],
    });
  });

  it("deletes slices of an older generation, of another node object or beyond the first", () => {
    const plan = planSlice("gpu-a100-0", "uid-1", devices, [
      slice("00000-gpu.nvidia.com-gpu-a100-0-old", 1),
      slice("00000-gpu.nvidia.com-gpu-a100-0-cur", 2),
      slice("00000-gpu.nvidia.com-gpu-a100-0-dup", 2),
      slice("00000-gpu.nvidia.com-gpu-a100-0-gone", 5, "uid-0"),
    ]);
    expect(plan).toEqual({
      kind: "none",
      name: "00000-gpu.nvidia.com-gpu-a100-0-cur",
      obsolete: [
        "00000-gpu.nvidia.com-gpu-a100-0-old",
        "00000-gpu.nvidia.com-gpu-a100-0-dup",
        "00000-gpu.nvidia.com-gpu-a100-0-gone",
      ],
    });
  });

  it("creates a new slice at the next generation when none it can keep is left", () => {
    const plan = planSlice("gpu-a100-0", "uid-1", devices, [slice("gpu-a100-0-by-hand", 2)]);
    expect(plan).toEqual({
      kind: "create",
      spec: sliceSpec("gpu-a100-0", 3, devices),
      obsolete: ["gpu-a100-0-by-hand"],
    });
  });
});
