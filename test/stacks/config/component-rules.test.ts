import { describe, expect, it } from "vitest";
import { OWNED_GPU_OPERATOR_VALUES } from "../../../components/k8s/gpu-operator-values";
import { findGpuModel } from "../../../gpu/catalog";
import {
  adapterSettingsProblems,
  monitoringSettingsProblems,
  nodeGroupNameProblems,
  OWNED_OPERATOR_VALUES,
  poolLabelConflicts,
  seedScriptProblems,
} from "../../../stacks/config/component-rules";
import type { RawStackConfig } from "../../../stacks/config/schema";

/**
 * The components' argument rules as the stack file reads them: the same checks, the stack file's paths and the
 * stack keys to set instead.
 */

const REASON = "gpushare sets this value itself; remove it and use";

/** The `monitoring` section as the schema fills it in, with `changes`. */
function monitoring(changes: Partial<RawStackConfig["monitoring"]>): RawStackConfig["monitoring"] {
  return {
    installed: false,
    namespace: "monitoring",
    chartVersion: "88.5.3",
    repository: "https://prometheus-community.github.io/helm-charts",
    grafana: { enabled: true },
    values: {},
    ...changes,
  };
}

/** The `metricsAdapter` section as the schema fills it in, with `changes`. */
function adapter(changes: Partial<RawStackConfig["metricsAdapter"]>): RawStackConfig["metricsAdapter"] {
  return {
    installed: false,
    namespace: "monitoring",
    chartVersion: "5.3.0",
    repository: "https://prometheus-community.github.io/helm-charts",
    metricName: "avg_time_queue_us",
    window: "30s",
    values: {},
    ...changes,
  };
}

describe("the components' rules, worded for the stack file", () => {
  it("owns the GPU operator's values under the stack keys that set them instead", () => {
    expect(OWNED_OPERATOR_VALUES).toEqual([
      { path: ["mig", "strategy"], use: "cluster.migStrategy" },
      {
        path: ["devicePlugin", "config", "name"],
        use: "gpuPools.<pool>.timeSlicing / mps (gpushare names the ConfigMap)",
      },
      { path: ["devicePlugin", "config", "default"], use: "gpuPools.<pool> (gpushare sets the default config)" },
      { path: ["devicePlugin", "config", "create"], use: "gpuPools.<pool> (gpushare creates the ConfigMap)" },
      { path: ["devicePlugin", "config", "data"], use: "gpuPools.<pool>.timeSlicing / mps" },
      { path: ["migManager", "config", "name"], use: "gpuPools.<pool>.mig (gpushare names the ConfigMap)" },
      { path: ["migManager", "config", "create"], use: "gpuPools.<pool>.mig" },
      { path: ["migManager", "config", "data"], use: "gpuPools.<pool>.mig" },
      { path: ["driver", "enabled"], use: "gpuOperator.driverEnabled" },
    ]);
    expect(OWNED_OPERATOR_VALUES.map((o) => o.path)).toEqual(OWNED_GPU_OPERATOR_VALUES.map((o) => o.path));
  });

  it("names monitoring's values and the stack keys to use instead", () => {
    const settings = monitoring({
      values: {
        namespaceOverride: "x",
        grafana: { enabled: false, adminPassword: "x" },
        "kube-state-metrics": { metricLabelsAllowlist: [] },
      },
    });
    expect(monitoringSettingsProblems(settings)).toEqual([
      { path: "monitoring.values.namespaceOverride", reason: `${REASON} monitoring.namespace` },
      { path: "monitoring.values.grafana.enabled", reason: `${REASON} monitoring.grafana.enabled` },
      {
        path: "monitoring.values.grafana.adminPassword",
        reason: `${REASON} the user admin and the generated password (stack output grafanaAdminPassword)`,
      },
      {
        path: "monitoring.values.kube-state-metrics.metricLabelsAllowlist",
        reason: `${REASON} gpuPools.<pool>.nodeSelector (the dashboard's pool panels)`,
      },
    ]);
  });

  it("asks an installed monitoring for its Prometheus URL by the stack key", () => {
    expect(monitoringSettingsProblems(monitoring({ installed: true }))).toEqual([
      {
        path: "monitoring.prometheusUrl",
        reason:
          "missing; with monitoring.installed, name the Prometheus the adapter queries (e.g. http://prometheus-operated.monitoring.svc:9090)",
      },
    ]);
  });

  it("names the adapter's values and the stack keys to use instead", () => {
    const settings = adapter({ values: { namespaceOverride: "x", prometheus: {}, rules: { custom: [] } } });
    expect(adapterSettingsProblems(settings)).toEqual([
      { path: "metricsAdapter.values.namespaceOverride", reason: `${REASON} metricsAdapter.namespace` },
      {
        path: "metricsAdapter.values.prometheus",
        reason: `${REASON} monitoring.prometheusUrl (or the Prometheus gpushare installs)`,
      },
      {
        path: "metricsAdapter.values.rules.custom",
        reason: `${REASON} metricsAdapter.metricName and metricsAdapter.window`,
      },
    ]);
    expect(adapterSettingsProblems(adapter({ installed: true, values: { prometheus: {} } }))).toEqual([]);
  });

  it("names pools, not node groups", () => {
    expect(nodeGroupNameProblems(["default-worker"])).toEqual([
      'gpuPools.default-worker: "default-worker" is the name of a node group Magnum creates with every cluster; rename the pool',
    ]);
  });

  it("names the seed models and sub-path by their stack keys", () => {
    expect(seedScriptProblems([{ name: "a", files: [{ path: "x", url: "ftp://x" }] }], "..")).toEqual([
      'modelStore.subPath: ".." contains "." or ".." segments; give a relative directory inside the model repository',
      'modelStore.seed.models[0].files[0].url: "ftp://x" is not an http(s) URL without spaces; give the https:// address of the file',
    ]);
  });

  it("tells pools apart by the node selector the stack file sets, and names them gpuPools.<pool>", () => {
    const t4 = findGpuModel("T4");
    if (t4 === undefined) throw new Error("no T4");
    const pools = [
      { name: "a", gpu: t4, raw: { nodeSelector: { group: "a" } } },
      { name: "b", gpu: t4, raw: {} },
    ];
    expect(poolLabelConflicts({ pools }, () => false)).toEqual([
      "gpuPools.b.nodeSelector: missing, but pool a runs the same GPU (T4) and node-feature-discovery cannot tell their nodes apart by PCI id, nor by node name in existing-cluster mode; set gpuPools.b.nodeSelector to a label this pool's node group already carries with a value the other pools' nodes do not have, or merge the pools",
    ]);
    expect(poolLabelConflicts({ pools }, () => true)).toEqual([]);
  });
});
