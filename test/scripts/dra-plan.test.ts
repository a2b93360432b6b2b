import { problemText } from "../../problems";
import { describe, expect, it } from "vitest";
import { parseStackConfig, StackConfigError } from "../../stacks/config/parse";
import { draPlannedConfig } from "../../scripts/dra-plan";

/** `plan --allocation dra`: a planned stack config rewritten for DRA pools, or refused where DRA cannot run it. */

const STORE = { nfs: { server: "model-store.invalid", path: "/models" } };

function planned(pools: Record<string, unknown>, servers: Record<string, unknown>): Record<string, unknown> {
  return {
    "gpushare:cluster": { migStrategy: "single" },
    "gpushare:gpuPools": pools,
    "gpushare:servers": servers,
    "gpushare:modelStore": STORE,
  };
}

const plain = (c: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(c).map(([k, v]) => [k.slice("gpushare:".length), v]));

describe("a plan written for DRA", () => {
  const config = planned(
    {
      a100: { gpu: "A100-SXM4-40GB", gpusPerNode: 1, nodes: { min: 1, max: 1 }, mig: { profiles: { "1g.5gb": 7 } } },
      t4: { gpu: "T4", gpusPerNode: 1, nodes: { min: 1, max: 1 }, timeSlicing: { replicas: 14 } },
    },
    {
      isolated: {
        pool: "a100",
        resource: "nvidia.com/gpu",
        modelMemoryGiB: 0.5,
        replicas: 1,
        autoscaling: { minReplicas: 1, maxReplicas: 7 },
      },
      shared: {
        pool: "t4",
        resource: "nvidia.com/gpu",
        modelMemoryGiB: 0.5,
        replicas: 4,
        autoscaling: { minReplicas: 4, maxReplicas: 14 },
      },
    },
  );
  const dra = draPlannedConfig(config, "1.36");

  it("puts every pool on DRA, with the cluster's version for its MIG strategy and the gates its sharing needs", () => {
    expect(dra["gpushare:cluster"]).toEqual({ kubernetesVersion: "1.36" });
    expect(
      Object.values(dra["gpushare:gpuPools"] as Record<string, { allocation: string }>).map((p) => p.allocation),
    ).toEqual(["dra", "dra"]);
    expect(dra["gpushare:draDriver"]).toEqual({ featureGates: { TimeSlicingSettings: true, ConsumableShares: true } });
  });

  it("names each server's resource as the DRA device it gets, MIG profile included", () => {
    const servers = dra["gpushare:servers"] as Record<string, { resource: string }>;
    expect([servers.isolated.resource, servers.shared.resource]).toEqual(["mig.nvidia.com/1g.5gb", "gpu.nvidia.com"]);
  });

  it("offers what the plan offered, in DRA's names", () => {
    const before = parseStackConfig(plain(config));
    const after = parseStackConfig(plain(dra));
    expect(after.pools.map((p) => Object.values(p.atMaxNodes))).toEqual(
      before.pools.map((p) => Object.values(p.atMaxNodes)),
    );
  });

  it("fails, saying why, when DRA cannot run the plan", () => {
    const mps = planned(
      { t4: { gpu: "T4", gpusPerNode: 1, nodes: { min: 2, max: 2 }, mps: { replicas: 3 } } },
      {
        yolo: {
          pool: "t4",
          resource: "nvidia.com/gpu",
          modelMemoryGiB: 3,
          replicas: 1,
          autoscaling: { minReplicas: 1, maxReplicas: 6 },
        },
      },
    );
    let error: unknown;
    try {
      draPlannedConfig(mps, "1.36");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StackConfigError);
    expect((error as StackConfigError).problems.map(problemText)).toEqual([
      "--allocation dra: the plan cannot run on DRA pools: servers.yolo.autoscaling.maxReplicas: 6 is not allowed on gpuPools.t4 (DRA, MPS 3); the driver starts MPS per claim, so every pod of the server references one ResourceClaim and shares its one device: at most 3 pods; lower autoscaling.maxReplicas to 3, or time-slice the pool (plan without --allocation dra for device-plugin pools)",
    ]);
  });
});
