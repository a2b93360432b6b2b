import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { PlanError, planLayouts } from "../../planner/plan";
import { parseWorkloads } from "../../planner/input";
import { stackConfigOf } from "../../scripts/plan-output";
import { gpushareConfig, readStackFile } from "../../scripts/stack-file";
import { parseStackConfig } from "../../stacks/config/parse";
import { GpuInferencePlatform } from "../../stacks/platform";
import { ofType, PROJECT_DIR, runProgram } from "../helpers";

/**
 * A plan deploys as printed in both cluster modes: the example's plan (two T4 pools among others) merged into a
 * committed stack of each mode, rendered under mocks; every Triton Deployment selects nodes that something labels.
 */

const EXAMPLE = {
  gpus: {
    "A100-SXM4-40GB": { gpusPerNode: 1, costPerNode: 3.2, maxNodes: 4 },
    T4: { gpusPerNode: 1, costPerNode: 0.55, maxNodes: 8 },
    L4: { gpusPerNode: 1, costPerNode: 0.8, maxNodes: 4 },
  },
  servers: {
    "densenet-isolated": { modelMemoryGiB: 0.5, maxReplicas: 7, isolation: "full" },
    "densenet-shared": { modelMemoryGiB: 0.5, minReplicas: 4, maxReplicas: 14, isolation: "shared" },
    yolo: { modelMemoryGiB: 3, maxReplicas: 6, isolation: "memory" },
    "llm-7b": { modelMemoryGiB: 15, maxReplicas: 2, isolation: "full" },
  },
};

/** The stack file's gpushare config with the plan's strategy, pools and servers merged in, as the README says. */
async function merged(stack: string, cluster: "openstack" | "existing"): Promise<Record<string, unknown>> {
  const plan = await planLayouts(parseWorkloads({ ...EXAMPLE, cluster }));
  const planned = stackConfigOf(plan);
  const base = gpushareConfig(readStackFile(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`)));
  const pools = planned["gpushare:gpuPools"] as Record<string, Record<string, unknown>>;
  return {
    ...base,
    cluster: {
      ...(base.cluster as object),
      migStrategy: (planned["gpushare:cluster"] as { migStrategy: string }).migStrategy,
    },
    // The stack's own flavors replace the plan's placeholders, as a user would.
    gpuPools: Object.fromEntries(
      Object.entries(pools).map(([name, p]) => [name, cluster === "openstack" ? { ...p, flavor: `gpu-${name}` } : p]),
    ),
    servers: planned["gpushare:servers"],
  };
}

interface Rule {
  spec: { rules: { labels: Record<string, string>; matchFeatures: { feature: string }[] }[] };
}

describe("a plan merged into a stack", () => {
  it("in OpenStack mode: every server selects its pool's label, which the pool's node-feature rule applies by node name", async () => {
    const config = parseStackConfig(await merged("prod", "openstack"));
    expect(config.pools.filter((p) => p.gpu.name === "T4").map((p) => p.name)).toEqual(["t4", "t4-2"]);
    const resources = await runProgram(() => new GpuInferencePlatform("gpushare", { config }), "prod");
    const rules = ofType(resources, "kubernetes:nfd.k8s-sigs.io/v1alpha1:NodeFeatureRule");
    for (const d of ofType(resources, "kubernetes:apps/v1:Deployment")) {
      const inputs = d.inputs as {
        metadata: { name?: string };
        spec: { template: { spec: { nodeSelector: object } } };
      };
      const selector = inputs.spec.template.spec.nodeSelector as Record<string, string>;
      expect(Object.keys(selector)).toEqual(["gpushare.io/pool"]);
      const pool = selector["gpushare.io/pool"];
      const rule = rules.find((r) =>
        (r.inputs as unknown as Rule).spec.rules.some((x) => x.labels["gpushare.io/pool"] === pool),
      );
      expect(rule, `no node-feature rule labels gpushare.io/pool=${pool}`).toBeDefined();
      // Told apart from the other T4 pool by the node group's node names.
      const features = (rule?.inputs as unknown as Rule).spec.rules.flatMap((x) =>
        x.matchFeatures.map((f) => f.feature),
      );
      expect(features).toContain("system.name");
    }
  });

  it("in an existing cluster: two pools of one GPU select their node groups' own labels, and the preview says which", async () => {
    const config = parseStackConfig(await merged("staging", "existing"));
    const t4s = config.pools.filter((p) => p.gpu.name === "T4");
    expect(t4s.map((p) => [p.name, p.nodeSelector])).toEqual([
      ["t4", { "gpushare.io/node-group": "t4" }],
      ["t4-2", { "gpushare.io/node-group": "t4-2" }],
    ]);
    const warn = vi.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
    let resources;
    try {
      resources = await runProgram(() => new GpuInferencePlatform("gpushare", { config }), "staging");
      const warnings = warn.mock.calls.map((c) => String(c[0]));
      for (const pool of ["t4", "t4-2"]) {
        expect(warnings.some((w) => w.startsWith(`pool ${pool}: shares its GPU model with another pool`))).toBe(true);
      }
    } finally {
      warn.mockRestore();
    }
    const selectors = ofType(resources, "kubernetes:apps/v1:Deployment").map(
      (d) => (d.inputs as { spec: { template: { spec: { nodeSelector: object } } } }).spec.template.spec.nodeSelector,
    );
    expect(selectors).toContainEqual({ "gpushare.io/node-group": "t4" });
    expect(selectors).toContainEqual({ "gpushare.io/node-group": "t4-2" });
  });

  it("never plans what the stack validation refuses, in either mode", async () => {
    for (const [stack, mode] of [
      ["prod", "openstack"],
      ["staging", "existing"],
    ] as const) {
      const config = parseStackConfig(await merged(stack, mode));
      expect(config.warnings.filter((w) => w.includes("modelMemoryGiB"))).toEqual([]);
    }
    await expect(
      planLayouts(parseWorkloads({ gpus: { T4: EXAMPLE.gpus.T4 }, servers: { big: EXAMPLE.servers["llm-7b"] } })),
    ).rejects.toBeInstanceOf(PlanError);
  });
});
