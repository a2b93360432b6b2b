import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  devicePluginConfigData,
  type GpuOperatorPool,
  migManagerConfigData,
  poolNodeLabels,
  sharingState,
} from "../../components/k8s/gpu-operator-values";
import { gpuOperatorSettings } from "../../stacks/args";
import { parseStackConfig, type StackConfig } from "../../stacks/config";
import { retainedConfigs } from "../../stacks/previous";
import { minimalConfig, stackFileConfig } from "../helpers";

const a100 = (extra: Record<string, unknown> = {}) => ({ gpu: "A100-SXM4-40GB", nodes: { min: 1, max: 1 }, ...extra });
const t4 = (extra: Record<string, unknown> = {}) => ({ gpu: "T4", nodes: { min: 1, max: 1 }, ...extra });

function configWith(overrides: Record<string, unknown>): StackConfig {
  return parseStackConfig(minimalConfig(overrides));
}

function operatorPool(config: StackConfig, name: string): GpuOperatorPool {
  const found = gpuOperatorSettings(config).pools.find((p) => p.name === name);
  if (found === undefined) throw new Error(`no pool ${name}`);
  return found;
}

/** The device-plugin config of a T4 pool time-sliced `replicas` ways, under the single strategy. */
const t4Config = (replicas: number): string =>
  "version: v1\nflags:\n  migStrategy: single\nsharing:\n  timeSlicing:\n    renameByDefault: false\n" +
  `    failRequestsGreaterThanOne: false\n    resources:\n      - name: nvidia.com/gpu\n        replicas: ${replicas}\n`;

describe("a sharing change, generation by generation", () => {
  const t4With = (replicas: number): StackConfig => configWith({ gpuPools: { t4: t4({ timeSlicing: { replicas } }) } });
  const labelOf = (config: StackConfig, name: string): Record<string, string> =>
    poolNodeLabels(operatorPool(config, name));

  it("moves the pool's label to a new key that its ConfigMap holds", () => {
    const before = t4With(14);
    const after = t4With(7);
    // The keys are the pool and the first 8 hex digits of the SHA-256 of its config (`t4Config(n) | sha256sum`).
    expect(labelOf(before, "t4")["nvidia.com/device-plugin.config"]).toBe("t4-5c3fa4b5");
    expect(labelOf(after, "t4")["nvidia.com/device-plugin.config"]).toBe("t4-5ca2c501");
    expect(devicePluginConfigData(gpuOperatorSettings(after))["t4-5ca2c501"]).toBe(t4Config(7));
  });

  it("keeps the previous generation's key while the labels move, and drops it the update after", () => {
    const before = t4With(14);
    const after = t4With(7);
    const retained = retainedConfigs(after, sharingState(gpuOperatorSettings(before)));
    expect(retained.devicePlugin).toEqual({ "t4-5c3fa4b5": t4Config(14) });
    expect(retained.mig).toEqual({});
    const data = devicePluginConfigData(gpuOperatorSettings(after), retained.devicePlugin);
    expect(Object.keys(data).sort()).toEqual(["default", "t4-5c3fa4b5", "t4-5ca2c501"]);
    // The next update's previous generation is this one: nothing left to keep.
    expect(retainedConfigs(after, sharingState(gpuOperatorSettings(after)))).toEqual({ devicePlugin: {}, mig: {} });
  });

  it("keeps a previous MIG layout, named or explicit, in mig-manager's config", () => {
    const mixed = (mig: Record<string, unknown>) =>
      configWith({ cluster: { migStrategy: "mixed" }, gpuPools: { a100: a100({ mig }) } });
    const before = mixed({ profiles: { "3g.20gb": 2 } });
    const after = mixed({ layout: "all-balanced" });
    const retained = retainedConfigs(after, sharingState(gpuOperatorSettings(before)));
    expect(retained.mig).toEqual({
      "gpushare-a100-56807bc4": [{ devices: "all", "mig-enabled": true, "mig-devices": { "3g.20gb": 2 } }],
    });
    const layouts = parse(migManagerConfigData(gpuOperatorSettings(after).pools, retained.mig)["config.yaml"])[
      "mig-configs"
    ];
    expect(Object.keys(layouts).sort()).toEqual(["all-balanced", "all-disabled", "gpushare-a100-56807bc4"]);
    // And back: all-balanced stays while the label moves off it.
    expect(Object.keys(retainedConfigs(before, sharingState(gpuOperatorSettings(after))).mig)).toEqual([
      "all-balanced",
    ]);
  });

  it("keeps the names a deployment made before content hashes used (pool name, gpushare-<pool>)", () => {
    const config = configWith({
      cluster: { migStrategy: "mixed" },
      gpuPools: { a100: a100({ mig: { profiles: { "3g.20gb": 2 } } }), t4: t4({ timeSlicing: { replicas: 4 } }) },
    });
    const retained = retainedConfigs(config, undefined, ["a100", "t4"]);
    expect(Object.keys(retained.devicePlugin).sort()).toEqual(["a100", "t4"]);
    expect(retained.devicePlugin.t4).toBe(t4Config(4).replace("single", "mixed"));
    expect(retained.mig).toEqual({
      "gpushare-a100": [{ devices: "all", "mig-enabled": true, "mig-devices": { "3g.20gb": 2 } }],
    });
  });

  it("records the strategy, each pool's labels and capacity, and every config a label can name", () => {
    const state = sharingState(gpuOperatorSettings(stackFileConfig("prod")));
    expect(state.migStrategy).toBe("mixed");
    expect(state.pools.t4).toEqual({
      labels: { "gpushare.io/pool": "t4", "nvidia.com/device-plugin.config": "t4-b108b941" },
      atMaxNodes: { "nvidia.com/gpu": 14 },
    });
    expect(Object.keys(state.devicePluginConfigs).sort()).toEqual(["a100-5b97f72f", "t4-b108b941"]);
    expect(Object.keys(state.migConfigs)).toEqual(["all-balanced"]);
  });
});
