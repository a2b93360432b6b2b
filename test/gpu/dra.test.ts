import { describe, expect, it } from "vitest";
import type { AdvertisedDevice } from "../../gpu/capacity";
import { findGpuModel } from "../../gpu/catalog";
import {
  draAdvertisedDevices,
  draClaimMode,
  draClaimSpec,
  gateEnabled,
  draOpaqueConfig,
  draResourceName,
  isDraResource,
  parseKubernetesVersion,
  versionAtLeast,
} from "../../gpu/dra";

const GPU: AdvertisedDevice = {
  baseResource: "gpu.nvidia.com",
  resource: "gpu.nvidia.com",
  physicalPerNode: 1,
  replicas: 1,
  memoryGiB: 14.58,
  sharing: "none",
};
const MIG: AdvertisedDevice = { ...GPU, resource: "mig.nvidia.com/1g.5gb", migProfile: "1g.5gb", memoryGiB: 4.75 };

describe("Kubernetes versions", () => {
  it.each([
    ["1.36", { major: 1, minor: 36 }],
    ["v1.34.2", { major: 1, minor: 34 }],
    ["1.35.0-rc.1", { major: 1, minor: 35 }],
    [" 1.34 ", { major: 1, minor: 34 }],
    ["latest", undefined],
    ["1", undefined],
    ["1.36.x", undefined],
    ["x1.36", undefined],
    ["10.2", { major: 10, minor: 2 }],
    ["1.36.10", { major: 1, minor: 36 }],
  ])("reads %j as %j", (text, version) => {
    expect(parseKubernetesVersion(text)).toEqual(version);
  });

  it.each([
    ["1.34", true],
    ["1.33", false],
    ["2.0", true],
    ["1.4", false],
    ["0.40", false],
  ])("knows whether %s is at least 1.34", (text, ok) => {
    const v = parseKubernetesVersion(text);
    if (v === undefined) throw new Error(text);
    expect(versionAtLeast(v, { major: 1, minor: 34 })).toBe(ok);
  });
});

describe("DRA device names", () => {
  it("name a device by its DeviceClass and MIG profile", () => {
    expect(draResourceName(undefined)).toBe("gpu.nvidia.com");
    expect(draResourceName("1g.5gb+me")).toBe("mig.nvidia.com/1g.5gb+me");
    expect(
      ["gpu.nvidia.com", "mig.nvidia.com/3g.20gb", "nvidia.com/gpu", "nvidia.com/mig-1g.5gb"].map(isDraResource),
    ).toEqual([true, true, false, false]);
  });
});

describe("opaque configs", () => {
  it("leave an unshared device to the driver's default", () => {
    expect(draOpaqueConfig(GPU)).toBeUndefined();
    expect(draClaimMode(GPU)).toBe("template");
  });

  it("time-slice MIG devices without an interval, which the driver's API has no place for", () => {
    expect(draOpaqueConfig({ ...MIG, sharing: "timeSlicing", replicas: 4 })).toEqual({
      apiVersion: "resource.nvidia.com/v1beta1",
      kind: "MigDeviceConfig",
      sharing: { strategy: "TimeSlicing" },
    });
  });

  it("give each of N MPS clients 100/N % of the SMs and its share of memory", () => {
    // A 1g.5gb slice holds 4.75 GiB = 4864 MiB; the MPS server takes 66 MiB, leaving 4798 MiB; a third is 1599.3.
    expect(draOpaqueConfig({ ...MIG, sharing: "mps", replicas: 3 })?.sharing.mpsConfig).toEqual({
      defaultActiveThreadPercentage: 33,
      defaultPinnedDeviceMemoryLimit: "1599Mi",
    });
    expect(draClaimMode({ ...MIG, sharing: "mps", replicas: 3 })).toBe("shared");
  });
});

describe("claim specs", () => {
  const shares = (spec: Record<string, unknown>): unknown =>
    (spec as { devices: { requests: { exactly: { capacity?: unknown } }[] } }).devices.requests[0].exactly.capacity;

  it("take every consumable share of an unshared device, so that it stays exclusive", () => {
    expect(shares(draClaimSpec(GPU, 4))).toEqual({ requests: { shares: "4" } });
  });

  it("take one share of a time-sliced device", () => {
    expect(shares(draClaimSpec({ ...GPU, sharing: "timeSlicing", replicas: 4 }, 4))).toEqual({
      requests: { shares: "1" },
    });
  });

  it("ask for no capacity when the driver runs without consumable shares", () => {
    expect(shares(draClaimSpec(GPU, undefined))).toBeUndefined();
    expect(shares(draClaimSpec({ ...GPU, sharing: "timeSlicing", replicas: 4 }, undefined))).toBeUndefined();
  });
});

describe("gates", () => {
  it("are on as set, else at the driver's default, and an unknown one is off", () => {
    expect(gateEnabled({}, "IMEXDaemonsWithDNSNames")).toBe(true);
    expect(gateEnabled({ IMEXDaemonsWithDNSNames: false }, "IMEXDaemonsWithDNSNames")).toBe(false);
    expect(gateEnabled({}, "MPSSupport")).toBe(false);
    expect(gateEnabled({}, "NoSuchGate")).toBe(false);
  });
});

describe("what a DRA pool offers", () => {
  const gpu = (name: string) => {
    const model = findGpuModel(name);
    if (model === undefined) throw new Error(name);
    return model;
  };

  it("names a time-sliced GPU by its DeviceClass, whatever the device plugin would call it", () => {
    expect(
      draAdvertisedDevices({
        gpu: gpu("T4"),
        gpusPerNode: 2,
        timeSlicing: { replicas: 4, renameByDefault: false, failRequestsGreaterThanOne: false },
      }),
    ).toEqual([
      {
        baseResource: "gpu.nvidia.com",
        resource: "gpu.nvidia.com",
        physicalPerNode: 2,
        replicas: 4,
        memoryGiB: gpu("T4").memoryGiB,
        sharing: "timeSlicing",
      },
    ]);
  });

  it("names MIG devices by profile, as the mixed strategy would count them", () => {
    const devices = draAdvertisedDevices({
      gpu: gpu("A100-SXM4-40GB"),
      gpusPerNode: 1,
      mig: { configName: "all-balanced", migEnabled: true, counts: { "1g.5gb": 2, "2g.10gb": 1, "3g.20gb": 1 } },
    });
    expect(devices.map((d) => [d.resource, d.baseResource, d.migProfile, d.physicalPerNode])).toEqual([
      ["mig.nvidia.com/1g.5gb", "mig.nvidia.com/1g.5gb", "1g.5gb", 2],
      ["mig.nvidia.com/2g.10gb", "mig.nvidia.com/2g.10gb", "2g.10gb", 1],
      ["mig.nvidia.com/3g.20gb", "mig.nvidia.com/3g.20gb", "3g.20gb", 1],
    ]);
  });
});

describe("whole claim specs, as the API server receives them", () => {
  it("time-slice a whole GPU: one share, the GpuConfig with the default interval", () => {
    expect(draClaimSpec({ ...GPU, sharing: "timeSlicing", replicas: 4 }, 4)).toEqual({
      devices: {
        requests: [
          {
            name: "gpu",
            exactly: {
              deviceClassName: "gpu.nvidia.com",
              allocationMode: "ExactCount",
              count: 1,
              capacity: { requests: { shares: "1" } },
            },
          },
        ],
        config: [
          {
            requests: ["gpu"],
            opaque: {
              driver: "gpu.nvidia.com",
              parameters: {
                apiVersion: "resource.nvidia.com/v1beta1",
                kind: "GpuConfig",
                sharing: { strategy: "TimeSlicing", timeSlicingConfig: { interval: "Default" } },
              },
            },
          },
        ],
      },
    });
  });

  it("pick an unshared MIG device by its profile attribute, with no config and no capacity", () => {
    expect(draClaimSpec(MIG, undefined)).toEqual({
      devices: {
        requests: [
          {
            name: "gpu",
            exactly: {
              deviceClassName: "mig.nvidia.com",
              allocationMode: "ExactCount",
              count: 1,
              selectors: [{ cel: { expression: "device.attributes['gpu.nvidia.com'].profile == '1g.5gb'" } }],
            },
          },
        ],
      },
    });
  });

  it("ask no shares for an MPS claim even where consumable shares are on: its pods share the one claim", () => {
    const spec = draClaimSpec({ ...MIG, sharing: "mps", replicas: 2 }, 4) as {
      devices: { requests: { exactly: Record<string, unknown> }[]; config: { opaque: { parameters: unknown } }[] };
    };
    expect(spec.devices.requests[0].exactly.capacity).toBeUndefined();
    expect(spec.devices.config[0].opaque.parameters).toEqual({
      apiVersion: "resource.nvidia.com/v1beta1",
      kind: "MigDeviceConfig",
      sharing: {
        strategy: "MPS",
        // (4864 − 66) MiB ÷ 2.
        mpsConfig: { defaultActiveThreadPercentage: 50, defaultPinnedDeviceMemoryLimit: "2399Mi" },
      },
    });
  });
});
