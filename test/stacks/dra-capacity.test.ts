import { describe, expect, it } from "vitest";
import { configuredPools } from "../../components/k8s/gpu-operator-values";
import { sharingState } from "../../components/k8s/gpu-operator-sharing-state";
import { gpuOperatorSettings } from "../../stacks/args";
import {
  compareCapacity,
  comparisonMatters,
  comparisonText,
  snapshotFromOutputs,
  snapshotOf,
} from "../../stacks/capacity-change";
import { capacityTable, draCapacityNote, draPoolJson } from "../../stacks/capacity-table";
import { parseStackConfig, type StackConfig } from "../../stacks/config/parse";
import { minimalConfig } from "../support/config";

/** What a DRA pool offers, in devices and shares, and what moving a pool between the paths does. */

const POOLS = {
  t4: { gpu: "T4", nodes: { min: 1, max: 2 }, timeSlicing: { replicas: 4 } },
  h200: { gpu: "H200-141GB", nodes: { min: 1, max: 2 }, mig: { profiles: { "1g.18gb": 3, "2g.35gb": 2 } } },
};

function stack(allocation: "devicePlugin" | "dra", mixed = false): StackConfig {
  const dra = allocation === "dra";
  return parseStackConfig(
    minimalConfig({
      cluster: { kubernetesVersion: "1.36", ...(mixed ? { migStrategy: "mixed" } : {}) },
      ...(dra ? { draDriver: { featureGates: { TimeSlicingSettings: true, ConsumableShares: true } } } : {}),
      gpuPools: Object.fromEntries(Object.entries(POOLS).map(([n, p]) => [n, { ...p, allocation }])),
      servers: {
        "triton-t4": { pool: "t4", replicas: 2, autoscaling: { maxReplicas: 8 } },
        "triton-mig": {
          pool: "h200",
          resource: dra ? "mig.nvidia.com/1g.18gb" : "nvidia.com/mig-1g.18gb",
          replicas: 4,
        },
      },
    }),
  );
}

describe("capacity of DRA pools", () => {
  it("counts devices × shares per node, by DeviceClass and profile", () => {
    const rows = capacityTable(stack("dra")).map((r) => [r.pool, r.resource, r.perNode, r.atMaxNodes, r.headroom]);
    expect(rows).toEqual([
      ["t4", "gpu.nvidia.com", 4, 8, 0],
      ["h200", "mig.nvidia.com/1g.18gb", 3, 6, 2],
      ["h200", "mig.nvidia.com/2g.35gb", 2, 4, 4],
    ]);
  });

  it("says what a count is made of", () => {
    const config = stack("dra");
    const [t4, h200] = config.pools;
    expect(draCapacityNote(t4, "gpu.nvidia.com")).toBe(" (1 device × 4 shares)");
    expect(draCapacityNote(h200, "mig.nvidia.com/1g.18gb")).toBe("");
    expect(draCapacityNote(stack("devicePlugin", true).pools[0], "nvidia.com/gpu")).toBe("");
  });

  it("writes its devices, shares and claims into the JSON, and nothing for a device-plugin pool", () => {
    const [t4, h200] = stack("dra").pools;
    expect(draPoolJson(t4)).toEqual({
      allocation: "dra",
      dra: {
        consumableShares: 4,
        devices: [
          {
            name: "gpu.nvidia.com",
            deviceClass: "gpu.nvidia.com",
            devicesPerNode: 1,
            sharesPerDevice: 4,
            sharing: "timeSlicing",
            claim: "a ResourceClaim per pod (template)",
          },
        ],
      },
    });
    expect((draPoolJson(h200).dra as { devices: unknown[] }).devices).toEqual([
      {
        name: "mig.nvidia.com/1g.18gb",
        deviceClass: "mig.nvidia.com",
        profile: "1g.18gb",
        devicesPerNode: 3,
        sharesPerDevice: 1,
        sharing: "none",
        claim: "a ResourceClaim per pod (template)",
      },
      {
        name: "mig.nvidia.com/2g.35gb",
        deviceClass: "mig.nvidia.com",
        profile: "2g.35gb",
        devicesPerNode: 2,
        sharesPerDevice: 1,
        sharing: "none",
        claim: "a ResourceClaim per pod (template)",
      },
    ]);
    expect(draPoolJson(stack("devicePlugin", true).pools[0])).toEqual({});
  });
});

describe("moving pools to DRA, previewed", () => {
  const comparison = compareCapacity(snapshotOf(stack("devicePlugin", true)), stack("dra"));

  it("shows the extended resources going and the DRA devices coming", () => {
    expect(comparison.changes).toEqual([
      { pool: "h200", resource: "mig.nvidia.com/1g.18gb", before: 0, after: 6 },
      { pool: "h200", resource: "mig.nvidia.com/2g.35gb", before: 0, after: 4 },
      { pool: "h200", resource: "nvidia.com/mig-1g.18gb", before: 6, after: 0 },
      { pool: "h200", resource: "nvidia.com/mig-2g.35gb", before: 4, after: 0 },
      { pool: "t4", resource: "gpu.nvidia.com", before: 0, after: 8 },
      { pool: "t4", resource: "nvidia.com/gpu", before: 8, after: 0 },
    ]);
  });

  it("names the servers whose pods are replaced, and no MIG strategy change on a DRA pool", () => {
    expect(comparison.disruptions).toEqual([
      { pool: "t4", reason: "", servers: ["triton-t4"], allocation: { before: "devicePlugin", after: "dra" } },
      { pool: "h200", reason: "", servers: ["triton-mig"], allocation: { before: "devicePlugin", after: "dra" } },
    ]);
    expect(
      comparisonText(comparison)
        .split("\n")
        .filter((l) => l.startsWith("Pool t4")),
    ).toEqual([
      `Pool t4: allocation device plugin → DRA replaces every pod of triton-t4 (new pod templates: ResourceClaims instead of extended resources); the pool's GPUs are offered by neither path between the device plugin leaving its nodes and the DRA driver's kubelet plugin publishing them, so expect an outage of the pool's servers (docs/dra.md, "Moving a pool").`,
    ]);
  });

  it("says the driver's plugin must restart when a DRA pool's MIG layout changes", () => {
    const before = stack("dra");
    const after = parseStackConfig({
      ...before.raw,
      gpuPools: { ...before.raw.gpuPools, h200: { ...before.raw.gpuPools.h200, mig: { layout: "all-1g.18gb" } } },
    });
    const [disruption] = compareCapacity(snapshotOf(before), after).disruptions;
    expect(disruption.pool).toBe("h200");
    expect(disruption.allocation).toBeUndefined();
    expect(disruption.reason).toMatch(
      /^MIG layout gpushare-h200-[0-9a-f]{8} → all-1g\.18gb \(the DRA driver's kubelet plugin finds static MIG devices only when it starts: restart it on the pool's nodes afterwards\)$/,
    );
  });
});

describe("the previous deployment of a DRA pool", () => {
  it("records what the pool offers by DeviceClass, so the next preview of the same config sees no change", () => {
    const config = stack("dra", true);
    const state = sharingState(configuredPools(gpuOperatorSettings(config)));
    expect(state.pools.h200.atMaxNodes).toEqual({ "mig.nvidia.com/1g.18gb": 6, "mig.nvidia.com/2g.35gb": 4 });
    expect(state.pools.t4.atMaxNodes).toEqual({ "gpu.nvidia.com": 8 });
    const before = snapshotFromOutputs(state, undefined);
    if (before === undefined) throw new Error("no snapshot from the sharing state");
    const comparison = compareCapacity(before, config);
    expect(comparison.disruptions).toEqual([]);
    expect(comparisonMatters(comparison)).toBe(false);
  });
});

describe("the previous deployment of a MIG-capable pool without a mig section", () => {
  it("is labelled all-disabled on both sides, so a preview of the same config names no layout change", () => {
    const config = parseStackConfig(
      minimalConfig({ gpuPools: { h200: { gpu: "H200-141GB", nodes: { min: 1, max: 1 } } }, servers: {} }),
    );
    const before = snapshotFromOutputs(sharingState(configuredPools(gpuOperatorSettings(config))), undefined);
    if (before === undefined) throw new Error("no snapshot from the sharing state");
    expect(before.pools.h200.migLayout).toBe("all-disabled");
    expect(snapshotOf(config).pools.h200.migLayout).toBe("all-disabled");
    expect(compareCapacity(before, config).disruptions).toEqual([]);
  });
});
