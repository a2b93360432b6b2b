import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  type ConfiguredPool,
  type ConfiguredPools,
  configuredPools,
  devicePluginConfigData,
  migManagerConfigData,
  poolNodeLabels,
} from "../../../components/k8s/gpu-operator-values";
import {
  readPreviousSharing,
  readSharingState,
  retainedConfigs,
  type SharingState,
  SharingStateError,
  sharingState,
} from "../../../components/k8s/gpu-operator-sharing-state";
import { gpuOperatorSettings } from "../../../stacks/args";
import { capacityTable } from "../../../stacks/capacity-table";
import { parseStackConfig, type StackConfig } from "../../../stacks/config/parse";
import { a100, minimalConfig, stackFileConfig, t4 } from "../../support/config";

function configWith(overrides: Record<string, unknown>): StackConfig {
  return parseStackConfig(minimalConfig(overrides));
}

/** The pools of a stack config as the GPU operator configures them. */
function configured(config: StackConfig): ConfiguredPools {
  return configuredPools(gpuOperatorSettings(config));
}

/** The state a deployment of `config` leaves. */
function stateOf(config: StackConfig): SharingState {
  return sharingState(configured(config));
}

function operatorPool(config: StackConfig, name: string): ConfiguredPool {
  const found = configured(config).pools.find((p) => p.name === name);
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
    expect(devicePluginConfigData(configured(after))["t4-5ca2c501"]).toBe(t4Config(7));
  });

  it("keeps the previous generation's key while the labels move, and drops it the update after", () => {
    const before = t4With(14);
    const after = t4With(7);
    const retained = retainedConfigs(configured(after), { state: stateOf(before) });
    expect(retained.devicePlugin).toEqual({ "t4-5c3fa4b5": t4Config(14) });
    expect(retained.mig).toEqual({});
    const data = devicePluginConfigData(configured(after), retained.devicePlugin);
    expect(Object.keys(data).sort()).toEqual(["default", "t4-5c3fa4b5", "t4-5ca2c501"]);
    // The next update's previous generation is this one: nothing left to keep.
    expect(retainedConfigs(configured(after), { state: stateOf(after) })).toEqual({ devicePlugin: {}, mig: {} });
  });

  it("keeps a previous MIG layout, named or explicit, in mig-manager's config", () => {
    const mixed = (mig: Record<string, unknown>) =>
      configWith({ cluster: { migStrategy: "mixed" }, gpuPools: { a100: a100({ mig }) } });
    const before = mixed({ profiles: { "3g.20gb": 2 } });
    const after = mixed({ layout: "all-balanced" });
    const retained = retainedConfigs(configured(after), { state: stateOf(before) });
    expect(retained.mig).toEqual({
      "gpushare-a100-56807bc4": [{ devices: "all", "mig-enabled": true, "mig-devices": { "3g.20gb": 2 } }],
    });
    const layouts = parse(migManagerConfigData(configured(after).pools, retained.mig)["config.yaml"])["mig-configs"];
    expect(Object.keys(layouts).sort()).toEqual(["all-balanced", "all-disabled", "gpushare-a100-56807bc4"]);
    // And back: all-balanced stays while the label moves off it.
    expect(Object.keys(retainedConfigs(configured(before), { state: stateOf(after) }).mig)).toEqual(["all-balanced"]);
  });

  it("keeps the names a deployment made before content hashes used (pool name, gpushare-<pool>)", () => {
    const config = configWith({
      cluster: { migStrategy: "mixed" },
      gpuPools: { a100: a100({ mig: { profiles: { "3g.20gb": 2 } } }), t4: t4({ timeSlicing: { replicas: 4 } }) },
    });
    const retained = retainedConfigs(configured(config), { legacyPools: ["a100", "t4"] });
    expect(Object.keys(retained.devicePlugin).sort()).toEqual(["a100", "t4"]);
    expect(retained.devicePlugin.t4).toBe(t4Config(4).replace("single", "mixed"));
    expect(retained.mig).toEqual({
      "gpushare-a100": [{ devices: "all", "mig-enabled": true, "mig-devices": { "3g.20gb": 2 } }],
    });
  });

  it("records the strategy, each pool's labels and capacity, and every config a label can name", () => {
    const state = stateOf(stackFileConfig("prod"));
    expect(state.version).toBe(1);
    expect(state.migStrategy).toBe("mixed");
    expect(state.pools.t4).toEqual({
      labels: { "gpushare.io/pool": "t4", "nvidia.com/device-plugin.config": "t4-b108b941" },
      atMaxNodes: { "nvidia.com/gpu": 14 },
    });
    expect(Object.keys(state.devicePluginConfigs).sort()).toEqual(["a100-5b97f72f", "t4-b108b941"]);
    expect(Object.keys(state.migConfigs)).toEqual(["all-balanced"]);
  });
});

describe("reading the previous deployment's outputs", () => {
  const t4Stack = (replicas: number): StackConfig =>
    configWith({ gpuPools: { t4: t4({ timeSlicing: { replicas } }) } });

  /** The message of what `read` throws; fails the test when it throws anything but a SharingStateError. */
  function refusal(read: () => unknown): SharingStateError {
    try {
      read();
    } catch (e) {
      if (e instanceof SharingStateError) return e;
      throw e;
    }
    throw new Error("the output was read");
  }

  it("finds nothing to keep on a first deployment", () => {
    expect(readPreviousSharing({})).toEqual({});
    expect(readPreviousSharing({ sharing: null, capacity: null })).toEqual({});
    expect(retainedConfigs(configured(t4Stack(7)), readPreviousSharing({}))).toEqual({ devicePlugin: {}, mig: {} });
  });

  it("reads back what a deployment writes, through JSON as the backend stores it", () => {
    const state = stateOf(stackFileConfig("prod"));
    expect(readPreviousSharing(JSON.parse(JSON.stringify({ sharing: state })))).toEqual({ state });
  });

  it("upgrades a state written before it had a version, keeping what it names", () => {
    const unversioned: Record<string, unknown> = { ...stateOf(t4Stack(14)) };
    delete unversioned.version;
    const read = readSharingState(JSON.parse(JSON.stringify(unversioned)));
    expect(read).toEqual(stateOf(t4Stack(14)));
    expect(retainedConfigs(configured(t4Stack(7)), { state: read }).devicePlugin).toEqual({
      "t4-5c3fa4b5": t4Config(14),
    });
  });

  it("keeps the legacy names of a deployment that exported a capacity table and no sharing state", () => {
    const before = configWith({
      cluster: { migStrategy: "mixed" },
      gpuPools: {
        a100: a100({ mig: { profiles: { "3g.20gb": 2 }, name: "halves" } }),
        t4: t4({ timeSlicing: { replicas: 4 } }),
      },
    });
    const previous = readPreviousSharing(JSON.parse(JSON.stringify({ capacity: capacityTable(before) })));
    expect(previous).toEqual({ legacyPools: ["a100", "t4"] });
    const retained = retainedConfigs(configured(before), previous);
    expect(Object.keys(retained.devicePlugin).sort()).toEqual(["a100", "t4"]);
    // The layout was named after mig.name then, not gpushare-a100.
    expect(Object.keys(retained.mig)).toEqual(["halves"]);
  });

  it("fails when the state comes from a newer gpushare, saying which version it reads", () => {
    const e = refusal(() => readSharingState({ ...stateOf(t4Stack(14)), version: 2 }));
    expect(e.problems).toEqual([
      "sharing.version: 2 is not a version this gpushare reads; it reads 1 (and states without a version)",
    ]);
    expect(e.message).toContain('the stack output "sharing" of the previous deployment cannot be read:');
    expect(e.message).toContain("pulumi stack export");
  });

  it("fails when the output is another program's value, naming each field that is wrong", () => {
    expect(refusal(() => readSharingState("t4-5c3fa4b5")).problems).toEqual([
      "sharing: a string is not a sharing state; gpushare writes an object {version, migStrategy, pools, devicePluginConfigs, migConfigs}",
    ]);
    expect(refusal(() => readSharingState([1, 2])).problems).toEqual([
      "sharing: a list is not a sharing state; gpushare writes an object {version, migStrategy, pools, devicePluginConfigs, migConfigs}",
    ]);
    const foreign = refusal(() => readSharingState({ endpoint: "http://10.0.0.1" })).problems;
    expect(foreign).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^sharing\.migStrategy: /),
        expect.stringMatching(/^sharing\.pools: /),
        expect.stringMatching(/^sharing: .*endpoint/),
      ]),
    );
  });

  it("fails when a damaged state would name configs it does not hold, rather than relabel nodes blindly", () => {
    const state = stateOf(t4Stack(14));
    const damaged = { ...state, devicePluginConfigs: { "t4-5c3fa4b5": 14 } };
    expect(refusal(() => readSharingState(damaged)).problems).toEqual([
      expect.stringMatching(/^sharing\.devicePluginConfigs\.t4-5c3fa4b5: /),
    ]);
    const badEntry = { ...state, migConfigs: { "all-balanced": [{ devices: "some", "mig-enabled": true }] } };
    expect(refusal(() => readSharingState(badEntry)).problems).toEqual([
      expect.stringMatching(/^sharing\.migConfigs\.all-balanced\.0\.devices: /),
    ]);
  });

  it("fails when the capacity output of a legacy deployment is not a table", () => {
    expect(refusal(() => readPreviousSharing({ capacity: [{ resource: "nvidia.com/gpu" }] })).problems).toEqual([
      expect.stringMatching(/^capacity\.0\.pool: /),
    ]);
  });
});
