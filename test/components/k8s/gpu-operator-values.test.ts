import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  type ConfiguredPool,
  type ConfiguredPools,
  configuredPool,
  configuredPools,
  danglingConfigNames,
  devicePluginConfigData,
  type GpuOperatorPool,
  type GpuOperatorSettings,
  gpuOperatorValues,
  migManagerConfigData,
  nodeFeatureRuleSpec,
  poolLabelConflicts,
  poolNodeLabels,
  poolsLabelledByNodeGroup,
} from "../../../components/k8s/gpu-operator-values";
import type { GpuModel } from "../../../gpu/catalog";
import { findGpuModel } from "../../../gpu/catalog";
import { gpuOperatorSettings } from "../../../stacks/args";
import { parseStackConfig } from "../../../stacks/config/parse";
import { a100, minimalConfig, stackFileConfig, t4 } from "../../support/config";

/** Settings whose pools carry their config names and capacity, as the component derives them. */
type Configured = Omit<GpuOperatorSettings, "pools"> & ConfiguredPools;

function configured(settings: GpuOperatorSettings): Configured {
  return { ...settings, ...configuredPools(settings) };
}

/** The GPU operator's settings of a committed stack file, as the platform passes them, configured. */
function stackSettings(stack: string): Configured {
  return configured(gpuOperatorSettings(stackFileConfig(stack)));
}

/** The GPU operator's settings of a minimal stack with `overrides`, configured. */
function settingsWith(overrides: Record<string, unknown>): Configured {
  return configured(gpuOperatorSettings(parseStackConfig(minimalConfig(overrides))));
}

function pool(settings: Configured, name: string): ConfiguredPool {
  const found = settings.pools.find((p) => p.name === name);
  if (found === undefined) throw new Error(`no pool ${name}`);
  return found;
}

function gpu(name: string): GpuModel {
  const model = findGpuModel(name);
  if (model === undefined) throw new Error(`no GPU model ${name}`);
  return model;
}

/** A pool of whole, unshared GPUs, written by hand: what poolLabelConflicts looks at. */
function wholeGpuPool(name: string, model: string, nodeSelector?: Record<string, string>): GpuOperatorPool {
  return {
    name,
    sharing: { gpu: gpu(model), gpusPerNode: 1 },
    maxNodes: 1,
    ...(nodeSelector === undefined ? {} : { nodeSelector }),
  };
}

describe("configuredPool", () => {
  it("names the pool's device-plugin config after its content and counts its capacity at max nodes", () => {
    const sliced = (replicas: number) => ({ replicas, renameByDefault: false, failRequestsGreaterThanOne: false });
    const t4Shared: GpuOperatorPool = {
      name: "t4",
      sharing: { gpu: gpu("T4"), gpusPerNode: 2, timeSlicing: sliced(14) },
      maxNodes: 3,
    };
    const c = configuredPool(t4Shared, "single");
    // `<pool>-<first 8 hex digits of the SHA-256 of the config YAML>`, as gpu/config-names.test.ts checks.
    expect(c.devicePluginConfig).toMatch(/^t4-[0-9a-f]{8}$/);
    expect(c.atMaxNodes).toEqual({ "nvidia.com/gpu": 2 * 14 * 3 });
    expect(configuredPool({ ...t4Shared, maxNodes: 1 }, "single").devicePluginConfig).toBe(c.devicePluginConfig);
    const seven = { ...t4Shared, sharing: { ...t4Shared.sharing, timeSlicing: sliced(7) } };
    expect(configuredPool(seven, "single").devicePluginConfig).not.toBe(c.devicePluginConfig);
    expect(configuredPool(t4Shared, "mixed").devicePluginConfig).not.toBe(c.devicePluginConfig);
  });
});

const noPatterns = (): boolean => false;

describe("gpuOperatorValues", () => {
  it("sets only what it owns when given only the strategy and the pools", () => {
    expect(gpuOperatorValues({ migStrategy: "single", pools: [] })).toEqual({
      mig: { strategy: "single" },
      migManager: { config: { name: "gpushare-mig-configs", default: "all-disabled" } },
      devicePlugin: { config: { name: "gpushare-device-plugin-configs", default: "default" } },
      driver: { enabled: true },
      dcgmExporter: { serviceMonitor: { enabled: true } },
      nfd: { enabled: true },
      "node-feature-discovery": { master: { config: { extraLabelNs: ["nvidia.com", "gpushare.io"] } } },
    });
  });

  it("sets every value gpushare owns for staging (single, no reboot)", () => {
    const values = gpuOperatorValues(stackSettings("staging"));
    expect(values).toEqual({
      mig: { strategy: "single" },
      migManager: { config: { name: "gpushare-mig-configs", default: "all-disabled" } },
      devicePlugin: { config: { name: "gpushare-device-plugin-configs", default: "default" } },
      driver: { enabled: true },
      dcgmExporter: { serviceMonitor: { enabled: true } },
      nfd: { enabled: true },
      "node-feature-discovery": { master: { config: { extraLabelNs: ["nvidia.com", "gpushare.io"] } } },
    });
  });

  it("asks mig-manager to reboot when rebootOnMigChange is set (prod)", () => {
    const values = gpuOperatorValues(stackSettings("prod"));
    expect(values.mig).toEqual({ strategy: "mixed" });
    expect(values.migManager).toEqual({
      config: { name: "gpushare-mig-configs", default: "all-disabled" },
      env: [{ name: "WITH_REBOOT", value: "true" }],
    });
  });

  it("labels the DCGM ServiceMonitor for the cluster's Prometheus", () => {
    const values = gpuOperatorValues({ ...stackSettings("dev"), serviceMonitorLabels: { release: "monitoring" } });
    expect(values.dcgmExporter).toEqual({
      serviceMonitor: { enabled: true, additionalLabels: { release: "monitoring" } },
    });
  });

  it("follows driverEnabled and dcgmServiceMonitor", () => {
    const values = gpuOperatorValues(
      settingsWith({ gpuPools: { t4: t4() }, gpuOperator: { driverEnabled: false, dcgmServiceMonitor: false } }),
    );
    expect(values.driver).toEqual({ enabled: false });
    expect(values.dcgmExporter).toEqual({ serviceMonitor: { enabled: false } });
  });

  it("merges the extra values last: objects key by key, arrays replaced", () => {
    const values = gpuOperatorValues(
      settingsWith({
        gpuPools: { t4: t4() },
        gpuOperator: {
          values: {
            dcgmExporter: { serviceMonitor: { interval: "30s", enabled: false } },
            toolkit: { enabled: false },
            "node-feature-discovery": { master: { config: { extraLabelNs: ["example.com"] } } },
          },
        },
      }),
    );
    expect(values.dcgmExporter).toEqual({ serviceMonitor: { enabled: false, interval: "30s" } });
    expect(values.toolkit).toEqual({ enabled: false });
    expect(values["node-feature-discovery"]).toEqual({ master: { config: { extraLabelNs: ["example.com"] } } });
    expect(values.devicePlugin).toEqual({ config: { name: "gpushare-device-plugin-configs", default: "default" } });
  });
});

describe("devicePluginConfigData", () => {
  it("writes staging: default, A100 all-1g.5gb without sharing, T4 time-sliced 14", () => {
    const data = devicePluginConfigData(stackSettings("staging"));
    // Each key is the pool and the first 8 hex digits of the SHA-256 of its YAML, checked with sha256sum:
    // printf 'version: v1\nflags:\n  migStrategy: single\n' | sha256sum  ->  f678f195...
    expect(Object.keys(data).sort()).toEqual(["a100-f678f195", "default", "t4-5c3fa4b5"]);
    expect(data["a100-f678f195"]).toBe("version: v1\nflags:\n  migStrategy: single\n");
    expect(data["t4-5c3fa4b5"]).toBe(
      "version: v1\nflags:\n  migStrategy: single\nsharing:\n  timeSlicing:\n    renameByDefault: false\n    failRequestsGreaterThanOne: false\n    resources:\n      - name: nvidia.com/gpu\n        replicas: 14\n",
    );
    expect(parse(data.default)).toEqual({ version: "v1", flags: { migStrategy: "single" } });
    expect(parse(data["a100-f678f195"])).toEqual({ version: "v1", flags: { migStrategy: "single" } });
    expect(parse(data["t4-5c3fa4b5"])).toEqual({
      version: "v1",
      flags: { migStrategy: "single" },
      sharing: {
        timeSlicing: {
          renameByDefault: false,
          failRequestsGreaterThanOne: false,
          resources: [{ name: "nvidia.com/gpu", replicas: 14 }],
        },
      },
    });
  });

  it("writes prod's A100 with one time-slicing resource per MIG profile", () => {
    const a100Config = parse(devicePluginConfigData(stackSettings("prod"))["a100-5b97f72f"]);
    expect(a100Config.version).toBe("v1");
    expect(a100Config.flags).toEqual({ migStrategy: "mixed" });
    expect(Object.keys(a100Config.sharing)).toEqual(["timeSlicing"]);
    expect(a100Config.sharing.timeSlicing.renameByDefault).toBe(false);
    expect(a100Config.sharing.timeSlicing.failRequestsGreaterThanOne).toBe(false);
    expect(a100Config.sharing.timeSlicing.resources).toEqual([
      { name: "nvidia.com/mig-1g.5gb", replicas: 4 },
      { name: "nvidia.com/mig-2g.10gb", replicas: 3 },
      { name: "nvidia.com/mig-3g.20gb", replicas: 4 },
    ]);
  });

  it("writes an MPS section for an MPS pool", () => {
    const data = devicePluginConfigData(settingsWith({ gpuPools: { t4: t4({ mps: { replicas: 4 } }) } }));
    expect(Object.keys(data).sort()).toEqual(["default", "t4-33109ec3"]);
    expect(parse(data["t4-33109ec3"]).sharing).toEqual({
      mps: {
        renameByDefault: false,
        failRequestsGreaterThanOne: true,
        resources: [{ name: "nvidia.com/gpu", replicas: 4 }],
      },
    });
  });
});

describe("migManagerConfigData", () => {
  it("writes staging's all-1g.5gb and all-disabled, nothing else", () => {
    const data = migManagerConfigData(stackSettings("staging").pools);
    expect(Object.keys(data)).toEqual(["config.yaml"]);
    expect(parse(data["config.yaml"])).toEqual({
      version: "v1",
      "mig-configs": {
        "all-disabled": [{ devices: "all", "mig-enabled": false }],
        "all-1g.5gb": [{ devices: "all", "mig-enabled": true, "mig-devices": { "1g.5gb": 7 } }],
      },
    });
  });

  it("writes prod's all-balanced as 2 × 1g.5gb, 1 × 2g.10gb, 1 × 3g.20gb", () => {
    const parsed = parse(migManagerConfigData(stackSettings("prod").pools)["config.yaml"]);
    expect(parsed.version).toBe("v1");
    expect(Object.keys(parsed["mig-configs"]).sort()).toEqual(["all-balanced", "all-disabled"]);
    expect(parsed["mig-configs"]["all-balanced"]).toEqual([
      { devices: "all", "mig-enabled": true, "mig-devices": { "1g.5gb": 2, "2g.10gb": 1, "3g.20gb": 1 } },
    ]);
    expect(parsed["mig-configs"]["all-disabled"]).toEqual([{ devices: "all", "mig-enabled": false }]);
  });

  it("writes only all-disabled for dev, which has no MIG pool", () => {
    expect(parse(migManagerConfigData(stackSettings("dev").pools)["config.yaml"])).toEqual({
      version: "v1",
      "mig-configs": { "all-disabled": [{ devices: "all", "mig-enabled": false }] },
    });
  });

  it("keeps PCI device filters as strings for one name used by two GPU models", () => {
    const settings = settingsWith({
      cluster: { migStrategy: "mixed" },
      gpuPools: {
        small: a100({ mig: { layout: "all-balanced" } }),
        big: { gpu: "A100-80GB", nodes: { min: 1, max: 1 }, mig: { layout: "all-balanced" } },
      },
    });
    const entries = parse(migManagerConfigData(settings.pools)["config.yaml"])["mig-configs"]["all-balanced"];
    expect(entries).toEqual([
      {
        devices: "all",
        "mig-enabled": true,
        "device-filter": ["0x20B010DE", "0x20B110DE", "0x20F110DE", "0x20F610DE"],
        "mig-devices": { "1g.5gb": 2, "2g.10gb": 1, "3g.20gb": 1 },
      },
      {
        devices: "all",
        "mig-enabled": true,
        "device-filter": ["0x20B210DE", "0x20B510DE", "0x20F310DE", "0x20F510DE"],
        "mig-devices": { "1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1 },
      },
    ]);
  });
});

describe("poolNodeLabels and nodeFeatureRuleSpec", () => {
  it("labels prod's A100 with its pool, device-plugin key and layout", () => {
    expect(poolNodeLabels(pool(stackSettings("prod"), "a100"))).toEqual({
      "gpushare.io/pool": "a100",
      "nvidia.com/device-plugin.config": "a100-5b97f72f",
      "nvidia.com/mig.config": "all-balanced",
    });
  });

  it("gives a T4 pool no MIG label", () => {
    expect(poolNodeLabels(pool(stackSettings("dev"), "t4"))).toEqual({
      "gpushare.io/pool": "t4",
      "nvidia.com/device-plugin.config": "t4-5c3fa4b5",
    });
  });

  it("turns MIG off explicitly on a MIG GPU pool without a mig section", () => {
    const settings = settingsWith({ gpuPools: { whole: a100({ timeSlicing: { replicas: 2 } }) } });
    expect(poolNodeLabels(pool(settings, "whole"))["nvidia.com/mig.config"]).toBe("all-disabled");
  });

  it("names an explicit layout gpushare-<pool>-<hash of model and instances>", () => {
    const settings = settingsWith({ gpuPools: { custom: a100({ mig: { profiles: { "3g.20gb": 2 } } }) } });
    // printf 'gpu: A100-SXM4-40GB\nmigDevices:\n  3g.20gb: 2\n' | sha256sum  ->  56807bc4...
    expect(poolNodeLabels(pool(settings, "custom"))["nvidia.com/mig.config"]).toBe("gpushare-custom-56807bc4");
    expect(
      parse(migManagerConfigData(settings.pools)["config.yaml"])["mig-configs"]["gpushare-custom-56807bc4"],
    ).toEqual([{ devices: "all", "mig-enabled": true, "mig-devices": { "3g.20gb": 2 } }]);
  });

  it("matches by NVIDIA vendor and the model's PCI ids, without a name term when there is no pattern", () => {
    expect(nodeFeatureRuleSpec(pool(stackSettings("staging"), "a100"))).toEqual({
      rules: [
        {
          name: "gpushare-pool-a100",
          labels: {
            "gpushare.io/pool": "a100",
            "nvidia.com/device-plugin.config": "a100-f678f195",
            "nvidia.com/mig.config": "all-1g.5gb",
          },
          matchFeatures: [
            {
              feature: "pci.device",
              matchExpressions: {
                vendor: { op: "In", value: ["10de"] },
                device: { op: "In", value: ["20b0", "20b1", "20f1", "20f6"] },
              },
            },
          ],
        },
      ],
    });
  });

  it("adds a system.name term for a node-name pattern", () => {
    const spec = nodeFeatureRuleSpec(pool(stackSettings("dev"), "t4"), "^gpushare-t4-.*$");
    expect(spec.rules[0].matchFeatures).toEqual([
      {
        feature: "pci.device",
        matchExpressions: { vendor: { op: "In", value: ["10de"] }, device: { op: "In", value: ["1eb8"] } },
      },
      { feature: "system.name", matchExpressions: { nodename: { op: "InRegexp", value: ["^gpushare-t4-.*$"] } } },
    ]);
  });
});

describe("poolLabelConflicts", () => {
  it.each(["dev", "staging", "prod"])("finds none in %s", (stack) => {
    expect(poolLabelConflicts(stackSettings(stack).pools, noPatterns)).toEqual([]);
  });

  it("accepts two pools of one model told apart by node-name patterns", () => {
    const pools = [wholeGpuPool("a", "A100-SXM4-40GB"), wholeGpuPool("b", "A100-SXM4-40GB")];
    expect(poolLabelConflicts(pools, () => true)).toEqual([]);
    expect(poolsLabelledByNodeGroup(pools, () => true)).toEqual([]);
  });

  it("accepts two pools of one model whose nodeSelectors exclude each other, and leaves their labels to the node groups", () => {
    const pools = [
      wholeGpuPool("a", "A100-SXM4-40GB", { group: "gpu-a" }),
      wholeGpuPool("b", "A100-SXM4-40GB", { group: "gpu-b" }),
      wholeGpuPool("t4", "T4"),
    ];
    expect(poolLabelConflicts(pools, noPatterns)).toEqual([]);
    expect(poolsLabelledByNodeGroup(pools, noPatterns)).toEqual(["a", "b"]);
  });

  it("fails when two pools of one model have neither a pattern nor a nodeSelector", () => {
    const pools = [wholeGpuPool("a", "A100-SXM4-40GB"), wholeGpuPool("b", "A100-SXM4-40GB")];
    expect(poolLabelConflicts(pools, noPatterns)).toEqual([
      "pools.a.nodeSelector: missing, but pool b runs the same GPU (A100-SXM4-40GB) and node-feature-discovery cannot tell their nodes apart by PCI id, nor by node name in existing-cluster mode; set pools.a.nodeSelector to a label this pool's node group already carries with a value the other pools' nodes do not have, or merge the pools",
      "pools.b.nodeSelector: missing, but pool a runs the same GPU (A100-SXM4-40GB) and node-feature-discovery cannot tell their nodes apart by PCI id, nor by node name in existing-cluster mode; set pools.b.nodeSelector to a label this pool's node group already carries with a value the other pools' nodes do not have, or merge the pools",
    ]);
  });

  it("fails when only one of three pools of one model has a nodeSelector", () => {
    const pools = [
      wholeGpuPool("a", "A100-SXM4-40GB", { group: "gpu-a" }),
      wholeGpuPool("b", "A100-SXM4-40GB"),
      wholeGpuPool("c", "A100-SXM4-40GB"),
    ];
    expect(poolLabelConflicts(pools, noPatterns)).toEqual([
      "pools.b.nodeSelector: missing, but pools a, c run the same GPU (A100-SXM4-40GB) and node-feature-discovery cannot tell their nodes apart by PCI id, nor by node name in existing-cluster mode; set pools.b.nodeSelector to a label this pool's node group already carries with a value the other pools' nodes do not have, or merge the pools",
      "pools.c.nodeSelector: missing, but pools a, b run the same GPU (A100-SXM4-40GB) and node-feature-discovery cannot tell their nodes apart by PCI id, nor by node name in existing-cluster mode; set pools.c.nodeSelector to a label this pool's node group already carries with a value the other pools' nodes do not have, or merge the pools",
    ]);
  });

  it("fails when two pools of one model have nodeSelectors that can match one node", () => {
    const pools = [
      wholeGpuPool("a", "A100-SXM4-40GB", { gpu: "a100" }),
      wholeGpuPool("b", "A100-SXM4-40GB", { gpu: "a100", zone: "b" }),
    ];
    expect(poolLabelConflicts(pools, noPatterns)).toEqual([
      'pools.b.nodeSelector: {"gpu":"a100","zone":"b"} and pools.a.nodeSelector {"gpu":"a100"} can both match one node, and both pools run A100-SXM4-40GB; give both a label key with different values (e.g. the node group\'s name label) so that each node belongs to one pool',
    ]);
  });

  it("fails when a pool without a pattern shares PCI ids with patterned pools, at the caller's path", () => {
    const pools = [wholeGpuPool("a", "A100-SXM4-40GB"), wholeGpuPool("b", "A100-SXM4-40GB")];
    expect(
      poolLabelConflicts(
        pools,
        (p) => p === "a",
        (p) => `gpuPools.${p}`,
      ),
    ).toEqual([
      "gpuPools.b.nodeSelector: missing, but pool a runs the same GPU (A100-SXM4-40GB) and node-feature-discovery cannot tell their nodes apart by PCI id, nor by node name in existing-cluster mode; set gpuPools.b.nodeSelector to a label this pool's node group already carries with a value the other pools' nodes do not have, or merge the pools",
    ]);
  });
});

describe("danglingConfigNames", () => {
  const migConfig = { version: "v1" as const, "mig-configs": { "all-disabled": [] } };

  it("finds none when every label names a key", () => {
    const labels = { t4: { "nvidia.com/device-plugin.config": "t4-1", "nvidia.com/mig.config": "all-disabled" } };
    expect(danglingConfigNames(labels, { default: "", "t4-1": "" }, migConfig)).toEqual([]);
  });

  it("fails when a node would point at a device-plugin key or a layout that is missing", () => {
    const labels = { t4: { "nvidia.com/device-plugin.config": "t4-2", "nvidia.com/mig.config": "gone" } };
    expect(danglingConfigNames(labels, { default: "", "t4-1": "" }, migConfig)).toEqual([
      "pools.t4: its nodes would carry nvidia.com/device-plugin.config=t4-2, but gpushare-device-plugin-configs has no key t4-2 (keys: default, t4-1)",
      "pools.t4: its nodes would carry nvidia.com/mig.config=gone, but gpushare-mig-configs defines no layout gone (layouts: all-disabled)",
    ]);
  });
});
