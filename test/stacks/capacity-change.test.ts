import { describe, expect, it } from "vitest";
import { configuredPools } from "../../components/k8s/gpu-operator-values";
import { sharingState } from "../../components/k8s/gpu-operator-sharing-state";
import { gpuOperatorSettings } from "../../stacks/args";
import { capacityTable } from "../../stacks/capacity-table";
import {
  compareCapacity,
  comparisonMatters,
  comparisonText,
  snapshotFromOutputs,
  snapshotOf,
} from "../../stacks/capacity-change";
import { parseStackConfig, type StackConfig } from "../../stacks/config/parse";
import { minimalConfig, stackFileConfig } from "../support/config";

/** The local stack's shape: A100 under mixed with a layout, T4 time-sliced, one server each. */
function local(
  opts: { a100Layout?: string; t4Replicas?: number; t4Max?: number; strategy?: string } = {},
): StackConfig {
  return parseStackConfig(
    minimalConfig({
      cluster: { migStrategy: opts.strategy ?? "mixed" },
      gpuPools: {
        a100: { gpu: "A100-SXM4-40GB", nodes: { min: 1, max: 1 }, mig: { layout: opts.a100Layout ?? "all-balanced" } },
        t4: { gpu: "T4", nodes: { min: 1, max: 1 }, timeSlicing: { replicas: opts.t4Replicas ?? 4 } },
      },
      servers: {
        "triton-mig": { pool: "a100", resource: "nvidia.com/mig-1g.5gb", replicas: 2 },
        "triton-t4": { pool: "t4", replicas: 2, autoscaling: { minReplicas: 2, maxReplicas: opts.t4Max ?? 4 } },
      },
    }),
  );
}

describe("compareCapacity", () => {
  it("finds nothing to say about an unchanged stack", () => {
    const c = compareCapacity(snapshotOf(local()), local());
    expect(c.changes).toEqual([]);
    expect(c.disruptions).toEqual([]);
    expect(comparisonMatters(c)).toBe(false);
  });

  it("reports a replicas change per pool and resource, and which servers fit before and after", () => {
    const c = compareCapacity(snapshotOf(local()), local({ t4Replicas: 7, t4Max: 7 }));
    expect(c.changes).toEqual([{ pool: "t4", resource: "nvidia.com/gpu", before: 4, after: 7 }]);
    expect(c.servers).toEqual([
      { name: "triton-mig", resource: "nvidia.com/mig-1g.5gb", maxReplicas: 2, fitsBefore: true, fitsAfter: true },
      { name: "triton-t4", resource: "nvidia.com/gpu", maxReplicas: 7, fitsBefore: false, fitsAfter: true },
    ]);
    expect(c.disruptions).toEqual([]);
    expect(comparisonMatters(c)).toBe(true);
  });

  it("gives 0 for a resource on the side where it does not exist, and names the servers a layout change disrupts", () => {
    const c = compareCapacity(snapshotOf(local()), local({ a100Layout: "all-1g.5gb" }));
    expect(c.changes).toEqual([
      { pool: "a100", resource: "nvidia.com/mig-1g.5gb", before: 2, after: 7 },
      { pool: "a100", resource: "nvidia.com/mig-2g.10gb", before: 1, after: 0 },
      { pool: "a100", resource: "nvidia.com/mig-3g.20gb", before: 1, after: 0 },
    ]);
    expect(c.disruptions).toEqual([
      { pool: "a100", reason: "MIG layout all-balanced → all-1g.5gb", servers: ["triton-mig"] },
    ]);
  });

  it("names every MIG pool's servers when the cluster's MIG strategy changes", () => {
    const before = parseStackConfig(
      minimalConfig({
        cluster: { migStrategy: "single" },
        gpuPools: { a100: { gpu: "A100-SXM4-40GB", nodes: { min: 1, max: 1 }, mig: { layout: "all-1g.5gb" } } },
        servers: { triton: { pool: "a100" } },
      }),
    );
    const after = parseStackConfig(
      minimalConfig({
        cluster: { migStrategy: "mixed" },
        gpuPools: { a100: { gpu: "A100-SXM4-40GB", nodes: { min: 1, max: 1 }, mig: { layout: "all-1g.5gb" } } },
        servers: { triton: { pool: "a100", resource: "nvidia.com/mig-1g.5gb" } },
      }),
    );
    const c = compareCapacity(snapshotOf(before), after);
    expect(c.changes).toEqual([
      { pool: "a100", resource: "nvidia.com/gpu", before: 7, after: 0 },
      { pool: "a100", resource: "nvidia.com/mig-1g.5gb", before: 0, after: 7 },
    ]);
    expect(c.disruptions).toEqual([{ pool: "a100", reason: "MIG strategy single → mixed", servers: ["triton"] }]);
  });

  it("prints the table a reviewer reads", () => {
    const text = comparisonText(
      compareCapacity(snapshotOf(local()), local({ a100Layout: "all-1g.5gb", t4Replicas: 7 })),
    );
    expect(text.split("\n")).toEqual([
      "Advertised capacity at max nodes:",
      "  POOL  RESOURCE                BEFORE  AFTER",
      "  a100  nvidia.com/mig-1g.5gb   2       7 (+5)",
      "  a100  nvidia.com/mig-2g.10gb  1       0 (-1)",
      "  a100  nvidia.com/mig-3g.20gb  1       0 (-1)",
      "  t4    nvidia.com/gpu          4       7 (+3)",
      "Servers at max replicas:",
      "  SERVER      RESOURCE               MAX REPLICAS  FITS BEFORE  FITS AFTER",
      "  triton-mig  nvidia.com/mig-1g.5gb  2             yes          yes",
      "  triton-t4   nvidia.com/gpu         4             yes          yes",
      'Pool a100: MIG layout all-balanced → all-1g.5gb repartitions its GPUs; mig-manager needs them free of clients, so drain triton-mig first (scale to 0), or expect an outage of it (README: "Changing sharing on a live cluster").',
    ]);
  });
});

describe("compareCapacity and memory", () => {
  /** A T4 time-sliced `replicas` ways for one server of a 0.5 GiB model. */
  function t4(replicas: number): StackConfig {
    return parseStackConfig(
      minimalConfig({
        gpuPools: { t4: { gpu: "T4", nodes: { min: 1, max: 1 }, timeSlicing: { replicas } } },
        servers: { densenet: { pool: "t4", modelMemoryGiB: 0.5, autoscaling: { maxReplicas: replicas } } },
      }),
    );
  }

  it("shows what each replica has after the change and what it needs, by the fit rule", () => {
    const c = compareCapacity(snapshotOf(t4(7)), t4(14));
    // 15079 MiB in 14; 0.5 GiB model + 502 MiB Turing overhead.
    expect(c.servers[0].memoryAfter).toEqual({
      perReplicaGiB: 15079 / 1024 / 14,
      needGiB: 0.5 + 502 / 1024,
      fits: true,
    });
    expect(comparisonText(c).split("\n").slice(-2)).toEqual([
      "  SERVER    RESOURCE        MAX REPLICAS  FITS BEFORE  FITS AFTER  GiB PER REPLICA AFTER  NEEDS GiB",
      "  densenet  nvidia.com/gpu  14            NO           yes         1.05                   0.99",
    ]);
  });

  it("flags a change whose replicas no longer hold the model with its overhead, though every slot fits", () => {
    const c = compareCapacity(snapshotOf(t4(14)), t4(16));
    expect(c.servers[0]).toMatchObject({ fitsAfter: true, memoryAfter: { fits: false } });
    expect(comparisonMatters(c)).toBe(true);
    expect(comparisonText(c)).toMatch(/densenet .* 0\.92 \(too little\) +0\.99$/m);
  });
});

describe("snapshotFromOutputs", () => {
  it("is undefined for a stack never deployed", () => {
    expect(snapshotFromOutputs(undefined, undefined)).toBeUndefined();
  });

  it("reads the strategy, layouts and capacity of a previous deployment's sharing output", () => {
    expect(
      snapshotFromOutputs(sharingState(configuredPools(gpuOperatorSettings(stackFileConfig("prod")))), undefined),
    ).toEqual({
      migStrategy: "mixed",
      pools: {
        a100: {
          migLayout: "all-balanced",
          atMaxNodes: { "nvidia.com/mig-1g.5gb": 8, "nvidia.com/mig-2g.10gb": 3, "nvidia.com/mig-3g.20gb": 4 },
        },
        t4: { atMaxNodes: { "nvidia.com/gpu": 14 } },
      },
    });
  });

  it("falls back to the capacity table of a deployment made before the sharing output existed", () => {
    const snapshot = snapshotFromOutputs(undefined, capacityTable(local()));
    expect(snapshot).toEqual({
      pools: {
        a100: { atMaxNodes: { "nvidia.com/mig-1g.5gb": 2, "nvidia.com/mig-2g.10gb": 1, "nvidia.com/mig-3g.20gb": 1 } },
        t4: { atMaxNodes: { "nvidia.com/gpu": 4 } },
      },
    });
    // Without the old layout and strategy nothing can be called a disruption; capacity still compares.
    const c = compareCapacity(snapshot!, local({ a100Layout: "all-1g.5gb" }));
    expect(c.disruptions).toEqual([]);
    expect(c.changes).toHaveLength(3);
  });
});
