import { describe, expect, it } from "vitest";
import { DRA_NODE_LABEL, draDriverValues } from "../../../components/k8s/dra-driver-values";

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
