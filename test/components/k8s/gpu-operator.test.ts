import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { GpuOperator } from "../../../components/k8s/gpu-operator";
import type { GpuOperatorPool, GpuOperatorSettings } from "../../../components/k8s/gpu-operator-values";
import type { PreviousSharing } from "../../../components/k8s/gpu-operator-sharing-state";
import { findGpuModel } from "../../../gpu/catalog";
import { gpuOperatorSettings } from "../../../stacks/args";
import { parseStackConfig } from "../../../stacks/config/parse";
import type { RecordedResource } from "../../../scripts/mock-runtime";
import { minimalConfig, ofType, one, resolve, runFailing, runProgram, stackFileConfig } from "../../helpers";

const NAMESPACE = "kubernetes:core/v1:Namespace";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const RULE = "kubernetes:nfd.k8s-sigs.io/v1alpha1:NodeFeatureRule";

interface Rule {
  name: string;
  labels: Record<string, string>;
  matchFeatures: { feature: string; matchExpressions: Record<string, { op: string; value: string[] }> }[];
}

/** The GPU operator's settings of a committed stack file, as the platform passes them. */
function stackSettings(stack: string): GpuOperatorSettings {
  return gpuOperatorSettings(stackFileConfig(stack));
}

function settingsWith(overrides: Record<string, unknown>): GpuOperatorSettings {
  return gpuOperatorSettings(parseStackConfig(minimalConfig(overrides)));
}

/** A T4 pool of whole GPUs, written by hand. */
function t4Pool(name: string): GpuOperatorPool {
  const gpu = findGpuModel("T4");
  if (gpu === undefined) throw new Error("no T4 in the catalog");
  return {
    name,
    sharing: { gpu, gpusPerNode: 1 },
    maxNodes: 1,
  };
}

async function render(
  settings: GpuOperatorSettings,
  extra: {
    nodeNamePatterns?: Record<string, pulumi.Input<string>>;
    serviceMonitorLabels?: Record<string, string>;
    previous?: PreviousSharing;
    providerArgs?: { kubeconfig: string };
  } = {},
): Promise<{ resources: RecordedResource[]; operator: GpuOperator }> {
  let operator: GpuOperator | undefined;
  const resources = await runProgram(() => {
    operator = new GpuOperator("gpu", { ...settings, ...extra });
  });
  if (operator === undefined) throw new Error("GpuOperator was not constructed");
  return { resources, operator };
}

function data(resources: readonly RecordedResource[], name: string): Record<string, string> {
  return one(resources, CONFIG_MAP, name).inputs.data as Record<string, string>;
}

function ruleOf(resources: readonly RecordedResource[], pool: string): Rule {
  const rule = one(resources, RULE, `-${pool}-labels`);
  const spec = rule.inputs.spec as { rules: Rule[] };
  expect(spec.rules).toHaveLength(1);
  return spec.rules[0];
}

function values(resources: readonly RecordedResource[]): Record<string, unknown> {
  return one(resources, RELEASE).inputs.values as Record<string, unknown>;
}

const pciTerm = (ids: string[]) => ({
  feature: "pci.device",
  matchExpressions: { vendor: { op: "In", value: ["10de"] }, device: { op: "In", value: ids } },
});

describe("GpuOperator on staging (existing cluster, A100 all-1g.5gb single, T4 time-sliced 14)", () => {
  it("creates its own namespace, two ConfigMaps, the release and one rule per pool", async () => {
    const { resources } = await render(stackSettings("staging"));
    const ns = one(resources, NAMESPACE);
    expect(ns.name).toBe("gpu-namespace");
    expect(ns.inputs.metadata).toEqual({
      name: "gpu-operator",
      labels: { "pod-security.kubernetes.io/enforce": "privileged" },
    });
    expect(
      ofType(resources, CONFIG_MAP)
        .map((r) => r.name)
        .sort(),
    ).toEqual(["gpu-device-plugin-configs", "gpu-mig-configs"]);
    expect(one(resources, CONFIG_MAP, "device-plugin").inputs.metadata).toEqual({
      name: "gpushare-device-plugin-configs",
      namespace: "gpu-operator",
    });
    expect(one(resources, CONFIG_MAP, "mig-configs").inputs.metadata).toEqual({
      name: "gpushare-mig-configs",
      namespace: "gpu-operator",
    });
    expect(
      ofType(resources, RULE)
        .map((r) => r.name)
        .sort(),
    ).toEqual(["gpu-a100-labels", "gpu-t4-labels"]);
    for (const r of [
      ...ofType(resources, NAMESPACE),
      ...ofType(resources, CONFIG_MAP),
      ...ofType(resources, RELEASE),
      ...ofType(resources, RULE),
    ]) {
      expect(r.parent).toMatch(/gpushare:k8s:GpuOperator::gpu$/);
    }
  });

  it("installs the pinned chart, waiting for it, with the values field by field", async () => {
    const { resources } = await render(stackSettings("staging"));
    const release = one(resources, RELEASE);
    expect(release.name).toBe("gpu-release");
    expect(release.inputs.chart).toBe("gpu-operator");
    expect(release.inputs.version).toBe("v26.7.0");
    expect(release.inputs.repositoryOpts).toEqual({ repo: "https://helm.ngc.nvidia.com/nvidia" });
    expect(release.inputs.namespace).toBe("gpu-operator");
    expect(release.inputs.name).toBe("gpu-operator");
    expect(release.inputs.createNamespace).toBe(false);
    expect(release.inputs.skipAwait).toBe(false);
    expect(release.inputs.timeout).toBe(600);
    const v = values(resources);
    expect(v.mig).toEqual({ strategy: "single" });
    expect(v.migManager).toEqual({ config: { name: "gpushare-mig-configs", default: "all-disabled" } });
    expect(v.devicePlugin).toEqual({ config: { name: "gpushare-device-plugin-configs", default: "default" } });
    expect(v.driver).toEqual({ enabled: true });
    expect(v.dcgmExporter).toEqual({ serviceMonitor: { enabled: true } });
    expect(v.nfd).toEqual({ enabled: true });
    expect(v["node-feature-discovery"]).toEqual({
      master: { config: { extraLabelNs: ["nvidia.com", "gpushare.io"] } },
    });
    expect(Object.keys(v).sort()).toEqual(
      ["dcgmExporter", "devicePlugin", "driver", "mig", "migManager", "nfd", "node-feature-discovery"].sort(),
    );
  });

  it("orders the release after both ConfigMaps and every rule after the release", async () => {
    const { resources } = await render(stackSettings("staging"));
    const release = one(resources, RELEASE);
    expect(release.dependencies).toEqual(
      expect.arrayContaining([
        one(resources, CONFIG_MAP, "device-plugin").urn,
        one(resources, CONFIG_MAP, "mig-configs").urn,
      ]),
    );
    for (const rule of ofType(resources, RULE)) expect(rule.dependencies).toContain(release.urn);
  });

  it("writes both ConfigMaps before any rule moves a node's label to a new name", async () => {
    const { resources } = await render(stackSettings("staging"));
    const rules = ofType(resources, RULE);
    expect(rules).toHaveLength(2);
    for (const rule of rules) {
      expect(rule.dependencies).toEqual(
        expect.arrayContaining([
          one(resources, CONFIG_MAP, "device-plugin").urn,
          one(resources, CONFIG_MAP, "mig-configs").urn,
        ]),
      );
    }
  });

  it("adds the keys of the previous generation that no pool names any more to the ConfigMaps", async () => {
    const before = gpuOperatorSettings(
      parseStackConfig(
        minimalConfig({
          cluster: { migStrategy: "single" },
          gpuPools: {
            a100: { gpu: "A100-SXM4-40GB", nodes: { min: 1, max: 1 }, mig: { profiles: { "3g.20gb": 2 } } },
            t4: { gpu: "T4", nodes: { min: 1, max: 1 }, timeSlicing: { replicas: 7 } },
          },
        }),
      ),
    );
    const { operator: previous } = await render(before);
    const { resources } = await render(stackSettings("staging"), { previous: { state: previous.sharing } });
    // a100-f678f195 (no sharing) is the same config before and after: kept once, as the current one.
    expect(Object.keys(data(resources, "device-plugin")).sort()).toEqual([
      "a100-f678f195",
      "default",
      "t4-5c3fa4b5",
      "t4-5ca2c501",
    ]);
    const layouts = parse(data(resources, "mig-configs")["config.yaml"])["mig-configs"];
    expect(Object.keys(layouts).sort()).toEqual(["all-1g.5gb", "all-disabled", "gpushare-a100-56807bc4"]);
  });

  it("writes its ConfigMaps through a provider of its own, built from the given one with mutable ConfigMaps", async () => {
    const { resources } = await render(stackSettings("dev"), { providerArgs: { kubeconfig: "apiVersion: v1\n" } });
    const provider = one(resources, "pulumi:providers:kubernetes");
    expect(provider.name).toBe("gpu-configmaps");
    expect(provider.parent).toMatch(/gpushare:k8s:GpuOperator::gpu$/);
    expect(provider.inputs).toMatchObject({ kubeconfig: "apiVersion: v1\n", enableConfigMapMutable: "true" });
    for (const cm of ofType(resources, CONFIG_MAP)) expect(cm.provider).toMatch(/::gpu-configmaps::/);
    for (const other of [one(resources, RELEASE), ...ofType(resources, RULE)]) {
      expect(other.provider ?? "").not.toMatch(/configmaps/);
    }
  });

  it("writes the device-plugin configs: default, a100 (no sharing), t4 (time-slicing 14)", async () => {
    const { resources } = await render(stackSettings("staging"));
    const d = data(resources, "device-plugin");
    // <pool>-<first 8 hex digits of sha256 of the YAML>, as in gpu-operator-values.test.ts.
    expect(Object.keys(d).sort()).toEqual(["a100-f678f195", "default", "t4-5c3fa4b5"]);
    expect(parse(d.default)).toEqual({ version: "v1", flags: { migStrategy: "single" } });
    expect(parse(d["a100-f678f195"])).toEqual({ version: "v1", flags: { migStrategy: "single" } });
    const t4 = parse(d["t4-5c3fa4b5"]);
    expect(t4.version).toBe("v1");
    expect(t4.flags).toEqual({ migStrategy: "single" });
    expect(t4.sharing.timeSlicing.resources).toEqual([{ name: "nvidia.com/gpu", replicas: 14 }]);
    expect(t4.sharing.timeSlicing.renameByDefault).toBe(false);
    expect(t4.sharing.timeSlicing.failRequestsGreaterThanOne).toBe(false);
    expect(t4.sharing.mps).toBeUndefined();
  });

  it("writes mig-manager's config with all-1g.5gb × 7 and all-disabled", async () => {
    const { resources } = await render(stackSettings("staging"));
    const d = data(resources, "mig-configs");
    expect(Object.keys(d)).toEqual(["config.yaml"]);
    const config = parse(d["config.yaml"]);
    expect(config.version).toBe("v1");
    expect(config["mig-configs"]["all-1g.5gb"]).toEqual([
      { devices: "all", "mig-enabled": true, "mig-devices": { "1g.5gb": 7 } },
    ]);
    expect(config["mig-configs"]["all-disabled"]).toEqual([{ devices: "all", "mig-enabled": false }]);
    expect(Object.keys(config["mig-configs"]).sort()).toEqual(["all-1g.5gb", "all-disabled"]);
  });

  it("labels each pool's nodes by PCI id alone, there being no node-name patterns", async () => {
    const { resources } = await render(stackSettings("staging"));
    const rule = one(resources, RULE, "a100");
    expect(rule.inputs.apiVersion).toBe("nfd.k8s-sigs.io/v1alpha1");
    expect(rule.inputs.kind).toBe("NodeFeatureRule");
    // Cluster-scoped: a namespace would be refused.
    expect((rule.inputs.metadata as Record<string, unknown>).namespace).toBeUndefined();
    expect(ruleOf(resources, "a100")).toEqual({
      name: "gpushare-pool-a100",
      labels: {
        "gpushare.io/pool": "a100",
        "nvidia.com/device-plugin.config": "a100-f678f195",
        "nvidia.com/mig.config": "all-1g.5gb",
      },
      matchFeatures: [pciTerm(["20b0", "20b1", "20f1", "20f6"])],
    });
    expect(ruleOf(resources, "t4")).toEqual({
      name: "gpushare-pool-t4",
      labels: { "gpushare.io/pool": "t4", "nvidia.com/device-plugin.config": "t4-5c3fa4b5" },
      matchFeatures: [pciTerm(["1eb8"])],
    });
  });

  it("outputs the ConfigMap names, the namespace and the labels per pool", async () => {
    const { operator } = await render(stackSettings("staging"));
    expect(await resolve(operator.namespace)).toBe("gpu-operator");
    expect(await resolve(operator.devicePluginConfigMap)).toBe("gpushare-device-plugin-configs");
    expect(await resolve(operator.migConfigMap)).toBe("gpushare-mig-configs");
    expect(operator.nodeLabels.a100).toEqual({
      "gpushare.io/pool": "a100",
      "nvidia.com/device-plugin.config": "a100-f678f195",
      "nvidia.com/mig.config": "all-1g.5gb",
    });
    expect(operator.poolsLabelledByNodeGroup).toEqual([]);
  });
});

describe("GpuOperator on prod (OpenStack, A100 all-balanced mixed with time-slicing 4/3/4, T4 14)", () => {
  const patterns = { a100: "^gpushare-prod-a100-.*$", t4: "^gpushare-prod-t4-.*$" };

  it("sets the mixed strategy and WITH_REBOOT", async () => {
    const { resources } = await render(stackSettings("prod"), { nodeNamePatterns: patterns });
    const v = values(resources);
    expect(v.mig).toEqual({ strategy: "mixed" });
    expect(v.migManager).toEqual({
      config: { name: "gpushare-mig-configs", default: "all-disabled" },
      env: [{ name: "WITH_REBOOT", value: "true" }],
    });
  });

  it("time-slices each MIG profile of the A100 as configured", async () => {
    const { resources } = await render(stackSettings("prod"), { nodeNamePatterns: patterns });
    const a100 = parse(data(resources, "device-plugin")["a100-5b97f72f"]);
    expect(a100.version).toBe("v1");
    expect(a100.flags.migStrategy).toBe("mixed");
    expect(a100.sharing.timeSlicing.resources).toEqual([
      { name: "nvidia.com/mig-1g.5gb", replicas: 4 },
      { name: "nvidia.com/mig-2g.10gb", replicas: 3 },
      { name: "nvidia.com/mig-3g.20gb", replicas: 4 },
    ]);
    const t4 = parse(data(resources, "device-plugin")["t4-b108b941"]);
    expect(t4.flags.migStrategy).toBe("mixed");
    expect(t4.sharing.timeSlicing.resources).toEqual([{ name: "nvidia.com/gpu", replicas: 14 }]);
    expect(parse(data(resources, "device-plugin").default)).toEqual({ version: "v1", flags: { migStrategy: "mixed" } });
  });

  it("defines all-balanced and all-disabled for mig-manager", async () => {
    const { resources } = await render(stackSettings("prod"), { nodeNamePatterns: patterns });
    const config = parse(data(resources, "mig-configs")["config.yaml"]);
    expect(config.version).toBe("v1");
    expect(config["mig-configs"]).toEqual({
      "all-disabled": [{ devices: "all", "mig-enabled": false }],
      "all-balanced": [
        { devices: "all", "mig-enabled": true, "mig-devices": { "1g.5gb": 2, "2g.10gb": 1, "3g.20gb": 1 } },
      ],
    });
  });

  it("matches each pool's nodes by PCI id and node name", async () => {
    const { resources } = await render(stackSettings("prod"), {
      nodeNamePatterns: { a100: pulumi.output(patterns.a100), t4: patterns.t4 },
    });
    expect(ruleOf(resources, "a100")).toEqual({
      name: "gpushare-pool-a100",
      labels: {
        "gpushare.io/pool": "a100",
        "nvidia.com/device-plugin.config": "a100-5b97f72f",
        "nvidia.com/mig.config": "all-balanced",
      },
      matchFeatures: [
        pciTerm(["20b0", "20b1", "20f1", "20f6"]),
        {
          feature: "system.name",
          matchExpressions: { nodename: { op: "InRegexp", value: ["^gpushare-prod-a100-.*$"] } },
        },
      ],
    });
    expect(ruleOf(resources, "t4").matchFeatures).toEqual([
      pciTerm(["1eb8"]),
      { feature: "system.name", matchExpressions: { nodename: { op: "InRegexp", value: ["^gpushare-prod-t4-.*$"] } } },
    ]);
  });
});

describe("GpuOperator on dev (T4 time-sliced 14)", () => {
  it("writes one pool config, an all-disabled-only MIG config and one rule", async () => {
    const { resources } = await render(stackSettings("dev"), { nodeNamePatterns: { t4: "^gpushare-dev-t4-.*$" } });
    const d = data(resources, "device-plugin");
    expect(Object.keys(d).sort()).toEqual(["default", "t4-5c3fa4b5"]);
    expect(parse(d["t4-5c3fa4b5"])).toEqual({
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
    expect(parse(data(resources, "mig-configs")["config.yaml"])).toEqual({
      version: "v1",
      "mig-configs": { "all-disabled": [{ devices: "all", "mig-enabled": false }] },
    });
    expect(ofType(resources, RULE)).toHaveLength(1);
    expect(ruleOf(resources, "t4").labels).toEqual({
      "gpushare.io/pool": "t4",
      "nvidia.com/device-plugin.config": "t4-5c3fa4b5",
    });
    expect(values(resources).migManager).toEqual({
      config: { name: "gpushare-mig-configs", default: "all-disabled" },
      env: [{ name: "WITH_REBOOT", value: "true" }],
    });
  });

  it("labels the DCGM ServiceMonitor when given the Prometheus's labels", async () => {
    const { resources } = await render(stackSettings("dev"), {
      serviceMonitorLabels: { release: "gpushare-monitoring" },
    });
    expect(values(resources).dcgmExporter).toEqual({
      serviceMonitor: { enabled: true, additionalLabels: { release: "gpushare-monitoring" } },
    });
  });
});

describe("GpuOperator with an operator installed outside gpushare", () => {
  const installed = () =>
    settingsWith({
      cluster: { migStrategy: "single" },
      gpuPools: { a100: { gpu: "A100-SXM4-40GB", nodes: { min: 1, max: 2 }, mig: { layout: "all-1g.5gb" } } },
      gpuOperator: { installed: true, namespace: "nvidia-gpu-operator" },
    });

  it("creates only the two ConfigMaps and the rules, in the given namespace", async () => {
    const { resources, operator } = await render(installed());
    expect(ofType(resources, NAMESPACE)).toEqual([]);
    expect(ofType(resources, RELEASE)).toEqual([]);
    const metadata = ofType(resources, CONFIG_MAP).map((r) => r.inputs.metadata as { name: string });
    expect(metadata.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: "gpushare-device-plugin-configs", namespace: "nvidia-gpu-operator" },
      { name: "gpushare-mig-configs", namespace: "nvidia-gpu-operator" },
    ]);
    expect(ruleOf(resources, "a100").labels["nvidia.com/mig.config"]).toBe("all-1g.5gb");
    expect(await resolve(operator.namespace)).toBe("nvidia-gpu-operator");
    expect(await resolve(operator.devicePluginConfigMap)).toBe("gpushare-device-plugin-configs");
    expect(await resolve(operator.migConfigMap)).toBe("gpushare-mig-configs");
  });
});

describe("GpuOperator values and labels", () => {
  it("merges the extra values over gpushare's values", async () => {
    const { resources } = await render({
      migStrategy: "single",
      pools: [t4Pool("t4")],
      values: { dcgmExporter: { serviceMonitor: { interval: "30s" } }, toolkit: { enabled: false } },
    });
    const v = values(resources);
    expect(v.dcgmExporter).toEqual({ serviceMonitor: { enabled: true, interval: "30s" } });
    expect(v.toolkit).toEqual({ enabled: false });
    expect(v.migManager).toEqual({ config: { name: "gpushare-mig-configs", default: "all-disabled" } });
  });

  it("leaves pools of one model told apart by nodeSelector to their node groups", async () => {
    const settings = settingsWith({
      cluster: { migStrategy: "mixed" },
      gpuPools: {
        small: {
          gpu: "A100-SXM4-40GB",
          nodes: { min: 1, max: 1 },
          nodeSelector: { group: "small" },
          mig: { layout: "all-1g.5gb" },
        },
        big: {
          gpu: "A100-SXM4-40GB",
          nodes: { min: 1, max: 1 },
          nodeSelector: { group: "big" },
          mig: { layout: "all-3g.20gb" },
        },
        t4: { gpu: "T4", nodes: { min: 1, max: 1 }, nodeSelector: { group: "t4" } },
      },
    });
    const { resources, operator } = await render(settings);
    expect(ofType(resources, RULE).map((r) => r.name)).toEqual(["gpu-t4-labels"]);
    expect(ruleOf(resources, "t4").matchFeatures).toEqual([pciTerm(["1eb8"])]);
    expect(operator.poolsLabelledByNodeGroup).toEqual(["small", "big"]);
    expect(operator.nodeLabels.big).toEqual({
      "gpushare.io/pool": "big",
      "nvidia.com/device-plugin.config": "big-f2bcc930",
      "nvidia.com/mig.config": "all-3g.20gb",
    });
  });

  it("installs with the defaults when given only the strategy and the pools", async () => {
    const { resources } = await render({ migStrategy: "single", pools: [t4Pool("t4")] });
    expect(one(resources, NAMESPACE).inputs.metadata).toMatchObject({ name: "gpu-operator" });
    const release = one(resources, RELEASE);
    expect(release.inputs.version).toBe("v26.7.0");
    expect(release.inputs.repositoryOpts).toEqual({ repo: "https://helm.ngc.nvidia.com/nvidia" });
    expect(values(resources).driver).toEqual({ enabled: true });
  });

  it("records its intent as the component's inputs, not the connection nor the previous state", async () => {
    const settings = { migStrategy: "single" as const, pools: [t4Pool("t4")], driverEnabled: false };
    const { resources } = await render(settings, {
      providerArgs: { kubeconfig: "apiVersion: v1\n" },
      previous: { legacyPools: ["t4"] },
    });
    const inputs = one(resources, "gpushare:k8s:GpuOperator").inputs;
    expect(inputs.migStrategy).toBe("single");
    expect(inputs.driverEnabled).toBe(false);
    expect((inputs.pools as { name: string; maxNodes: number }[]).map((p) => [p.name, p.maxNodes])).toEqual([
      ["t4", 1],
    ]);
    expect(Object.keys(inputs)).not.toContain("providerArgs");
    expect(Object.keys(inputs)).not.toContain("previous");
  });

  it("derives each pool's config name, labels and capacity from its sharing and size", async () => {
    const { operator } = await render({ migStrategy: "single", pools: [{ ...t4Pool("t4"), maxNodes: 3 }] });
    // <pool>-<first 8 hex digits of the SHA-256 of `version: v1\nflags:\n  migStrategy: single\n`>.
    expect(operator.nodeLabels.t4).toEqual({
      "gpushare.io/pool": "t4",
      "nvidia.com/device-plugin.config": "t4-f678f195",
    });
    expect(operator.sharing.pools.t4).toEqual({
      labels: operator.nodeLabels.t4,
      atMaxNodes: { "nvidia.com/gpu": 3 },
    });
    expect(operator.sharing.version).toBe(1);
  });

  it("fails when two pools of one model cannot be told apart, registering nothing", async () => {
    const { error, resources } = await runFailing(
      () => new GpuOperator("gpu", { migStrategy: "single", pools: [t4Pool("a"), t4Pool("b")] }),
    );
    expect(resources).toEqual([]);
    expect(pulumi.InputPropertiesError.isInstance(error)).toBe(true);
    const e = error as pulumi.InputPropertiesError;
    expect(e.message).toBe("GpuOperator gpu: the pools' nodes cannot be labelled");
    expect(e.errors).toEqual([
      {
        propertyPath: "pools",
        reason:
          "pools.a.nodeSelector: missing, but pool b runs the same GPU (T4) and node-feature-discovery cannot tell their nodes apart by PCI id, nor by node name in existing-cluster mode; set pools.a.nodeSelector to a label this pool's node group already carries with a value the other pools' nodes do not have, or merge the pools",
      },
      {
        propertyPath: "pools",
        reason:
          "pools.b.nodeSelector: missing, but pool a runs the same GPU (T4) and node-feature-discovery cannot tell their nodes apart by PCI id, nor by node name in existing-cluster mode; set pools.b.nodeSelector to a label this pool's node group already carries with a value the other pools' nodes do not have, or merge the pools",
      },
    ]);
  });

  it("fails when a node-name pattern names no pool", async () => {
    const { error } = await runFailing(
      () => new GpuOperator("gpu", { ...stackSettings("dev"), nodeNamePatterns: { t4: "^t4-", a100: "^a100-" } }),
    );
    expect(pulumi.InputPropertiesError.isInstance(error)).toBe(true);
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      { propertyPath: "nodeNamePatterns.a100", reason: '"a100" is not one of the pools; use one of t4' },
    ]);
  });

  it("fails when the extra values set what the component owns", async () => {
    const { error, resources } = await runFailing(
      () =>
        new GpuOperator("gpu", {
          migStrategy: "single",
          pools: [t4Pool("t4")],
          values: { driver: { enabled: false }, mig: { strategy: "mixed" } },
        }),
    );
    expect(resources).toEqual([]);
    expect(pulumi.InputPropertiesError.isInstance(error)).toBe(true);
    const e = error as pulumi.InputPropertiesError;
    expect(e.message).toBe("GpuOperator gpu: values sets values the component owns");
    expect(e.errors).toEqual([
      {
        propertyPath: "values.mig.strategy",
        reason: "gpushare sets this value itself; remove it and use the migStrategy argument",
      },
      {
        propertyPath: "values.driver.enabled",
        reason: "gpushare sets this value itself; remove it and use the driverEnabled argument",
      },
    ]);
  });
});
