import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { GpuModel } from "../../gpu/catalog";
import { findGpuModel } from "../../gpu/catalog";
import type { MigStrategy, PoolSharingSpec } from "../../gpu/capacity";
import { advertisedDevices, capacityPerNode, migResourceName, scaleCapacity } from "../../gpu/capacity";
import { devicePluginConfig } from "../../gpu/device-plugin-config";
import { findNamedLayout } from "../../gpu/layouts";
import { deviceFilter, migManagerConfig } from "../../gpu/mig-manager-config";

function model(name: string): GpuModel {
  const m = findGpuModel(name);
  if (m === undefined) throw new Error(`no ${name}`);
  return m;
}

function named(gpu: GpuModel, layout: string): NonNullable<PoolSharingSpec["mig"]> {
  const l = findNamedLayout(gpu, layout);
  if (l === undefined) throw new Error(`no ${layout}`);
  return { configName: l.name, migEnabled: l.migEnabled, counts: l.counts };
}

const a100 = model("A100-SXM4-40GB");
const t4 = model("T4");

describe("the article's observed numbers", () => {
  it("A100-40GB all-1g.5gb under single advertises 7 × nvidia.com/gpu", () => {
    const pool: PoolSharingSpec = { gpu: a100, gpusPerNode: 1, mig: named(a100, "all-1g.5gb") };
    expect(capacityPerNode(advertisedDevices(pool, "single"))).toEqual({ "nvidia.com/gpu": 7 });
  });

  it("T4 time-sliced 14 ways advertises 14 × nvidia.com/gpu", () => {
    const pool: PoolSharingSpec = {
      gpu: t4,
      gpusPerNode: 1,
      timeSlicing: { replicas: 14, renameByDefault: false, failRequestsGreaterThanOne: false },
    };
    expect(capacityPerNode(advertisedDevices(pool, "single"))).toEqual({ "nvidia.com/gpu": 14 });
  });

  it("A100-40GB all-balanced under mixed, time-sliced 4/3/4, advertises 8/3/4 MIG resources", () => {
    const pool: PoolSharingSpec = {
      gpu: a100,
      gpusPerNode: 1,
      mig: named(a100, "all-balanced"),
      timeSlicing: {
        replicas: { "1g.5gb": 4, "2g.10gb": 3, "3g.20gb": 4 },
        renameByDefault: false,
        failRequestsGreaterThanOne: false,
      },
    };
    expect(capacityPerNode(advertisedDevices(pool, "mixed"))).toEqual({
      "nvidia.com/mig-1g.5gb": 8,
      "nvidia.com/mig-2g.10gb": 3,
      "nvidia.com/mig-3g.20gb": 4,
    });
  });
});

describe("the capacity model", () => {
  it.each<[string, PoolSharingSpec, MigStrategy, Record<string, number>]>([
    ["a whole T4", { gpu: t4, gpusPerNode: 1 }, "single", { "nvidia.com/gpu": 1 }],
    ["four whole A100s", { gpu: a100, gpusPerNode: 4 }, "mixed", { "nvidia.com/gpu": 4 }],
    [
      "all-disabled A100s",
      { gpu: a100, gpusPerNode: 2, mig: named(a100, "all-disabled") },
      "mixed",
      { "nvidia.com/gpu": 2 },
    ],
    ["all-enabled without instances", { gpu: a100, gpusPerNode: 1, mig: named(a100, "all-enabled") }, "mixed", {}],
    [
      "all-balanced on two GPUs, mixed",
      { gpu: a100, gpusPerNode: 2, mig: named(a100, "all-balanced") },
      "mixed",
      { "nvidia.com/mig-1g.5gb": 4, "nvidia.com/mig-2g.10gb": 2, "nvidia.com/mig-3g.20gb": 2 },
    ],
    [
      "all-3g.20gb under single",
      { gpu: a100, gpusPerNode: 1, mig: named(a100, "all-3g.20gb") },
      "single",
      { "nvidia.com/gpu": 2 },
    ],
    [
      "media extensions under mixed",
      { gpu: a100, gpusPerNode: 1, mig: named(a100, "all-1g.5gb.me") },
      "mixed",
      { "nvidia.com/mig-1g.5gb.me": 1 },
    ],
    [
      "time-slicing renamed by default",
      {
        gpu: t4,
        gpusPerNode: 1,
        timeSlicing: { replicas: 4, renameByDefault: true, failRequestsGreaterThanOne: false },
      },
      "single",
      { "nvidia.com/gpu.shared": 4 },
    ],
    [
      "time-slicing over single-strategy MIG",
      {
        gpu: a100,
        gpusPerNode: 1,
        mig: named(a100, "all-1g.5gb"),
        timeSlicing: { replicas: 2, renameByDefault: false, failRequestsGreaterThanOne: false },
      },
      "single",
      { "nvidia.com/gpu": 14 },
    ],
    [
      "time-slicing only some MIG profiles, renamed",
      {
        gpu: a100,
        gpusPerNode: 1,
        mig: named(a100, "all-balanced"),
        timeSlicing: { replicas: { "1g.5gb": 3 }, renameByDefault: true, failRequestsGreaterThanOne: false },
      },
      "mixed",
      { "nvidia.com/mig-1g.5gb.shared": 6, "nvidia.com/mig-2g.10gb": 1, "nvidia.com/mig-3g.20gb": 1 },
    ],
    [
      "MPS on a T4",
      { gpu: t4, gpusPerNode: 2, mps: { replicas: 10, renameByDefault: false } },
      "single",
      { "nvidia.com/gpu": 20 },
    ],
    [
      "MPS renamed",
      { gpu: t4, gpusPerNode: 1, mps: { replicas: 10, renameByDefault: true } },
      "single",
      { "nvidia.com/gpu.shared": 10 },
    ],
  ])("%s", (_, pool, strategy, expected) => {
    expect(capacityPerNode(advertisedDevices(pool, strategy))).toEqual(expected);
  });

  // Worked out by hand from the write-up: a T4 time-sliced 14 ways is 14 nvidia.com/gpu; an A100-40GB in
  // all-balanced places 2 × 1g.5gb, 1 × 2g.10gb and 1 × 3g.20gb.
  it.each<[string, PoolSharingSpec, MigStrategy, number, Record<string, number>, Record<string, number>]>([
    [
      "a T4 time-sliced 14 ways, 3 nodes",
      {
        gpu: t4,
        gpusPerNode: 1,
        timeSlicing: { replicas: 14, renameByDefault: false, failRequestsGreaterThanOne: false },
      },
      "single",
      3,
      { "nvidia.com/gpu": 14 },
      { "nvidia.com/gpu": 42 },
    ],
    [
      "four T4s a node time-sliced 4 ways, 2 nodes",
      {
        gpu: t4,
        gpusPerNode: 4,
        timeSlicing: { replicas: 4, renameByDefault: false, failRequestsGreaterThanOne: false },
      },
      "single",
      2,
      { "nvidia.com/gpu": 16 },
      { "nvidia.com/gpu": 32 },
    ],
    [
      "an all-balanced A100-40GB under mixed, 2 nodes",
      { gpu: a100, gpusPerNode: 1, mig: named(a100, "all-balanced") },
      "mixed",
      2,
      { "nvidia.com/mig-1g.5gb": 2, "nvidia.com/mig-2g.10gb": 1, "nvidia.com/mig-3g.20gb": 1 },
      { "nvidia.com/mig-1g.5gb": 4, "nvidia.com/mig-2g.10gb": 2, "nvidia.com/mig-3g.20gb": 2 },
    ],
    [
      "two all-balanced A100s with 1g.5gb time-sliced 3 ways, no nodes",
      {
        gpu: a100,
        gpusPerNode: 2,
        mig: named(a100, "all-balanced"),
        timeSlicing: { replicas: { "1g.5gb": 3 }, renameByDefault: false, failRequestsGreaterThanOne: false },
      },
      "mixed",
      0,
      { "nvidia.com/mig-1g.5gb": 12, "nvidia.com/mig-2g.10gb": 2, "nvidia.com/mig-3g.20gb": 2 },
      { "nvidia.com/mig-1g.5gb": 0, "nvidia.com/mig-2g.10gb": 0, "nvidia.com/mig-3g.20gb": 0 },
    ],
  ])("%s: the known per-node and pool capacity", (_, pool, strategy, nodes, perNode, total) => {
    expect(capacityPerNode(advertisedDevices(pool, strategy))).toEqual(perNode);
    expect(scaleCapacity(perNode, nodes)).toEqual(total);
  });

  it("gives a+b nodes the capacity of a nodes plus that of b", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("nvidia.com/gpu", "nvidia.com/mig-1g.5gb"), fc.integer({ min: 0, max: 64 })),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (perNode, a, b) => {
          const sum = scaleCapacity(perNode, a + b);
          const parts = [scaleCapacity(perNode, a), scaleCapacity(perNode, b)];
          return Object.keys(perNode).every((r) => sum[r] === parts[0][r] + parts[1][r]);
        },
      ),
    );
  });

  it("advertises, under mixed, exactly the slices a layout places times its replicas", () => {
    const mig = a100.mig;
    if (mig === undefined) throw new Error("no MIG");
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 2, max: 8 }),
        (ones, twos, r) => {
          const counts = { "1g.5gb": ones, "2g.10gb": twos };
          const pool: PoolSharingSpec = {
            gpu: a100,
            gpusPerNode: 1,
            mig: { configName: "x", migEnabled: true, counts },
            timeSlicing: { replicas: r, renameByDefault: false, failRequestsGreaterThanOne: false },
          };
          const perNode = capacityPerNode(advertisedDevices(pool, "mixed"));
          return (
            (perNode["nvidia.com/mig-1g.5gb"] ?? 0) === ones * r &&
            (perNode["nvidia.com/mig-2g.10gb"] ?? 0) === twos * r
          );
        },
      ),
    );
  });

  it("names MIG resources the way the device plugin does", () => {
    expect(migResourceName("3g.20gb")).toBe("nvidia.com/mig-3g.20gb");
    expect(migResourceName("1g.10gb+me")).toBe("nvidia.com/mig-1g.10gb.me");
  });
});

describe("the device plugin config", () => {
  it("time-slices each MIG resource of the prod A100 pool with its own replicas", () => {
    const pool: PoolSharingSpec = {
      gpu: a100,
      gpusPerNode: 1,
      mig: named(a100, "all-balanced"),
      timeSlicing: {
        replicas: { "1g.5gb": 4, "2g.10gb": 3, "3g.20gb": 4 },
        renameByDefault: false,
        failRequestsGreaterThanOne: false,
      },
    };
    const text = JSON.stringify(devicePluginConfig(pool, "mixed"));
    expect(parse(text)).toEqual({
      version: "v1",
      flags: { migStrategy: "mixed" },
      sharing: {
        timeSlicing: {
          renameByDefault: false,
          failRequestsGreaterThanOne: false,
          resources: [
            { name: "nvidia.com/mig-1g.5gb", replicas: 4 },
            { name: "nvidia.com/mig-2g.10gb", replicas: 3 },
            { name: "nvidia.com/mig-3g.20gb", replicas: 4 },
          ],
        },
      },
    });
  });

  it("lists nvidia.com/gpu once under single, however many slices", () => {
    const pool: PoolSharingSpec = {
      gpu: a100,
      gpusPerNode: 1,
      mig: named(a100, "all-1g.5gb"),
      timeSlicing: { replicas: 2, renameByDefault: true, failRequestsGreaterThanOne: true },
    };
    expect(devicePluginConfig(pool, "single").sharing).toEqual({
      timeSlicing: {
        renameByDefault: true,
        failRequestsGreaterThanOne: true,
        resources: [{ name: "nvidia.com/gpu", replicas: 2 }],
      },
    });
  });

  it("writes MPS with failRequestsGreaterThanOne, as the plugin defaults it", () => {
    const pool: PoolSharingSpec = { gpu: t4, gpusPerNode: 1, mps: { replicas: 8, renameByDefault: false } };
    expect(devicePluginConfig(pool, "single")).toEqual({
      version: "v1",
      flags: { migStrategy: "single" },
      sharing: {
        mps: {
          renameByDefault: false,
          failRequestsGreaterThanOne: true,
          resources: [{ name: "nvidia.com/gpu", replicas: 8 }],
        },
      },
    });
  });

  it("has no sharing section for an unshared pool", () => {
    expect(devicePluginConfig({ gpu: t4, gpusPerNode: 1 }, "mixed")).toEqual({
      version: "v1",
      flags: { migStrategy: "mixed" },
    });
  });
});

describe("the mig-manager config", () => {
  const a80 = model("A100-80GB");

  it("defines all-disabled and each used layout once", () => {
    const l = named(a100, "all-1g.5gb");
    expect(migManagerConfig([{ name: l.configName, gpu: a100, migEnabled: true, counts: l.counts }])).toEqual({
      version: "v1",
      "mig-configs": {
        "all-disabled": [{ devices: "all", "mig-enabled": false }],
        "all-1g.5gb": [{ devices: "all", "mig-enabled": true, "mig-devices": { "1g.5gb": 7 } }],
      },
    });
  });

  it("tells models apart by PCI device filter when one name means different layouts", () => {
    const b40 = named(a100, "all-balanced");
    const b80 = named(a80, "all-balanced");
    const cfg = migManagerConfig([
      { name: "all-balanced", gpu: a100, migEnabled: true, counts: b40.counts },
      { name: "all-balanced", gpu: a80, migEnabled: true, counts: b80.counts },
    ]);
    expect(cfg["mig-configs"]["all-balanced"]).toEqual([
      {
        "device-filter": ["0x20B010DE", "0x20B110DE", "0x20F110DE", "0x20F610DE"],
        devices: "all",
        "mig-enabled": true,
        "mig-devices": { "1g.5gb": 2, "2g.10gb": 1, "3g.20gb": 1 },
      },
      {
        "device-filter": ["0x20B210DE", "0x20B510DE", "0x20F310DE", "0x20F510DE"],
        devices: "all",
        "mig-enabled": true,
        "mig-devices": { "1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1 },
      },
    ]);
  });

  it("writes device filters as mig-parted expects", () => {
    expect(deviceFilter("20b0")).toBe("0x20B010DE");
  });
});
