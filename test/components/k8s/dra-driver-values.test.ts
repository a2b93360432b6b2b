import { describe, expect, it } from "vitest";
import { DRA_NODE_LABEL, draDriverValues, OWNED_DRA_DRIVER_VALUES } from "../../../components/k8s/dra-driver-values";
import { ownedValueProblems } from "../../../components/k8s/helm-values";

describe("the DRA driver's values", () => {
  it("turn GPU allocation on, ComputeDomains off, and keep the kubelet plugin to DRA pools' nodes", () => {
    // Known answer: what the chart (values.yaml, templates/validation.yaml, kubeletplugin.yaml) needs for a stack
    // with one time-sliced DRA pool of 4 replicas.
    expect(
      draDriverValues({ featureGates: { TimeSlicingSettings: true, ConsumableShares: true }, consumableShares: 4 }),
    ).toEqual({
      gpuResourcesEnabledOverride: true,
      resources: { gpus: { enabled: true }, computeDomains: { enabled: false } },
      featureGates: { TimeSlicingSettings: true, ConsumableShares: true },
      consumableShares: "4",
      kubeletPlugin: { nodeSelector: { "gpushare.io/gpu-allocation": "dra" } },
    });
  });

  it("leave consumable shares off (the chart's empty string) without time-sliced DRA pools", () => {
    expect(draDriverValues({}).consumableShares).toBe("");
    expect(draDriverValues({}).featureGates).toEqual({});
  });

  it("merge extra values last, key by key", () => {
    const values = draDriverValues({ values: { kubeletPlugin: { priorityClassName: "gpu" }, logVerbosity: "6" } });
    expect(values.kubeletPlugin).toEqual({ nodeSelector: { [DRA_NODE_LABEL]: "dra" }, priorityClassName: "gpu" });
    expect(values.logVerbosity).toBe("6");
  });
});

describe("the values gpushare owns", () => {
  it("are refused one by one, each naming what to set instead", () => {
    const values = {
      featureGates: {},
      consumableShares: "2",
      gpuResourcesEnabledOverride: false,
      resources: { gpus: { enabled: false }, computeDomains: { enabled: true } },
      kubeletPlugin: { nodeSelector: {}, priorityClassName: "x" },
    };
    const use = "gpushare sets this value itself; remove it and use";
    expect(ownedValueProblems(values, OWNED_DRA_DRIVER_VALUES, "draDriver.values")).toEqual([
      `draDriver.values.featureGates: ${use} draDriver.featureGates`,
      `draDriver.values.consumableShares: ${use} the replicas of the time-sliced DRA pools (gpuPools.<pool>.timeSlicing.replicas)`,
      `draDriver.values.gpuResourcesEnabledOverride: ${use} gpuPools.<pool>.allocation (GPU allocation is on while a pool allocates through DRA)`,
      `draDriver.values.resources.gpus.enabled: ${use} gpuPools.<pool>.allocation (GPU allocation is on while a pool allocates through DRA)`,
      `draDriver.values.kubeletPlugin.nodeSelector: ${use} gpuPools.<pool>.allocation: the plugin runs on the nodes labelled gpushare.io/gpu-allocation=dra`,
    ]);
  });
});
