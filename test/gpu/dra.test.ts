import { describe, expect, it } from "vitest";
import type { AdvertisedDevice } from "../../gpu/capacity";
import {
  draClaimMode,
  draClaimSpec,
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
  ])("reads %j as %j", (text, version) => {
    expect(parseKubernetesVersion(text)).toEqual(version);
  });

  it.each([
    ["1.34", true],
    ["1.33", false],
    ["2.0", true],
    ["1.4", false],
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
  });
});
