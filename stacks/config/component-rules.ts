import { nodeGroupNameProblems as nodeGroupNameRule } from "../../components/cloud/magnum-names";
import type { GpuModel } from "../../gpu/catalog";
import {
  adapterSettingsProblems as adapterRule,
  OWNED_ADAPTER_VALUES,
} from "../../components/k8s/metrics-adapter-values";
import {
  OWNED_GPU_OPERATOR_VALUES,
  poolLabelConflicts as poolLabelRule,
} from "../../components/k8s/gpu-operator-values";
import type { OwnedValue } from "../../components/k8s/helm-values";
import type { Problem } from "../../problems";
import {
  GRAFANA_ADMIN_USER,
  monitoringSettingsProblems as monitoringRule,
  OWNED_MONITORING_VALUES,
} from "../../components/k8s/monitoring-values";
import { type SeedModel, seedScriptProblems as seedRule } from "../../components/k8s/model-store-seed-script";
import type { RawStackConfig } from "./schema";

/**
 * The components' own argument rules, worded for the stack file: the same checks the components run on their
 * arguments, with the stack file's paths and the stack keys to set instead. `parseStackConfig` reports them with
 * every other problem, before any component exists.
 */

/**
 * `values` the components own, with what the stack file sets instead: their `use` rewritten where the component
 * names one of its arguments. Every hint must name an owned value (checked when this module loads).
 */
function withStackHints(owned: readonly OwnedValue[], hints: Readonly<Record<string, string>>): OwnedValue[] {
  const paths = new Set(owned.map((o) => o.path.join(".")));
  const stray = Object.keys(hints).filter((p) => !paths.has(p));
  if (stray.length > 0) throw new Error(`stack hints for values no component owns: ${stray.join(", ")}`);
  return owned.map((o) => ({ path: o.path, use: hints[o.path.join(".")] ?? o.use }));
}

/** The `gpu-operator` chart values gpushare owns; `parseStackConfig` refuses them in `gpuOperator.values`. */
export const OWNED_OPERATOR_VALUES: readonly OwnedValue[] = withStackHints(OWNED_GPU_OPERATOR_VALUES, {
  "mig.strategy": "cluster.migStrategy",
  "devicePlugin.config.name": "gpuPools.<pool>.timeSlicing / mps (gpushare names the ConfigMap)",
  "devicePlugin.config.default": "gpuPools.<pool> (gpushare sets the default config)",
  "devicePlugin.config.create": "gpuPools.<pool> (gpushare creates the ConfigMap)",
  "devicePlugin.config.data": "gpuPools.<pool>.timeSlicing / mps",
  "migManager.config.name": "gpuPools.<pool>.mig (gpushare names the ConfigMap)",
  "migManager.config.create": "gpuPools.<pool>.mig",
  "migManager.config.data": "gpuPools.<pool>.mig",
  "driver.enabled": "gpuOperator.driverEnabled",
});

const GRAFANA_ADMIN = `the user ${GRAFANA_ADMIN_USER} and the generated password (stack output grafanaAdminPassword)`;

const STACK_MONITORING_VALUES = withStackHints(OWNED_MONITORING_VALUES, {
  namespaceOverride: "monitoring.namespace",
  "grafana.adminUser": GRAFANA_ADMIN,
  "grafana.adminPassword": GRAFANA_ADMIN,
  "grafana.admin.existingSecret": GRAFANA_ADMIN,
  "grafana.admin.userKey": GRAFANA_ADMIN,
  "grafana.admin.passwordKey": GRAFANA_ADMIN,
  "grafana.enabled": "monitoring.grafana.enabled",
  "grafana.namespaceOverride": "monitoring.namespace (Grafana's admin Secret lives there)",
  "grafana.sidecar.dashboards.enabled": "monitoring.grafana.enabled",
  "kube-state-metrics.metricLabelsAllowlist": "gpuPools.<pool>.nodeSelector (the dashboard's pool panels)",
});

const STACK_ADAPTER_VALUES = withStackHints(OWNED_ADAPTER_VALUES, {
  namespaceOverride: "metricsAdapter.namespace",
  prometheus: "monitoring.prometheusUrl (or the Prometheus gpushare installs)",
  "rules.custom": "metricsAdapter.metricName and metricsAdapter.window",
  "rules.existing": "metricsAdapter.metricName and metricsAdapter.window",
});

/** What `monitoring` cannot mean: owned chart values, or an installed Prometheus without a usable URL. */
export function monitoringSettingsProblems(settings: RawStackConfig["monitoring"]): Problem[] {
  return monitoringRule(settings, "monitoring.", STACK_MONITORING_VALUES);
}

/** Chart values of `metricsAdapter` that gpushare owns. */
export function adapterSettingsProblems(settings: RawStackConfig["metricsAdapter"]): Problem[] {
  return adapterRule(settings, "metricsAdapter.", STACK_ADAPTER_VALUES);
}

/** Why the pools cannot be Magnum node groups of one cluster (OpenStack mode). */
export function nodeGroupNameProblems(poolNames: readonly string[]): string[] {
  return nodeGroupNameRule(poolNames, { list: "gpuPools", noun: "pool" });
}

/** What `modelStore.seed.models` and `modelStore.subPath` cannot mean for the seed Job. */
export function seedScriptProblems(models: readonly SeedModel[], subPath: string): string[] {
  return seedRule(models, subPath, { models: "modelStore.seed.models", subPath: "modelStore.subPath" });
}

/** A resolved pool, as far as telling its nodes apart needs: its name, GPU model and the selector the file sets. */
export interface PoolIdentity {
  readonly name: string;
  readonly gpu: GpuModel;
  readonly raw: { readonly nodeSelector?: Readonly<Record<string, string>> };
}

/**
 * Why the pools' nodes cannot be labelled apart. `hasNamePattern` says whether a pool's nodes are matched by a
 * node-name pattern too (OpenStack mode, where node groups name their nodes).
 */
export function poolLabelConflicts(
  config: { readonly pools: readonly PoolIdentity[] },
  hasNamePattern: (pool: string) => boolean,
): string[] {
  return poolLabelRule(
    config.pools.map((p) => ({
      name: p.name,
      sharing: { gpu: p.gpu },
      ...(p.raw.nodeSelector === undefined ? {} : { nodeSelector: p.raw.nodeSelector }),
    })),
    hasNamePattern,
    (pool) => `gpuPools.${pool}`,
  );
}
