import type * as pulumi from "@pulumi/pulumi";
import type { RawStackConfig } from "../../stacks/schema";
import type { StackConfig } from "../../stacks/config";
import type { AdapterRule, ChartPrometheusUrl } from "./adapter-rules";
import { deepMerge, type OwnedValue, ownedValuesSet, type ValueProblem, type Values } from "./helm-values";

/**
 * Pure builders behind the `MetricsAdapter` component: the prometheus-adapter values, the names its serving
 * certificate covers, and the check of the stack's `metricsAdapter.values` that `parseStackConfig` reports with
 * every other problem. No Pulumi runtime import.
 */

/**
 * The Helm release name and the chart's `fullnameOverride`, hence the name of the adapter's Service. A
 * contract: the APIService points at that Service and the serving certificate is issued for its DNS name.
 */
export const ADAPTER_RELEASE_NAME = "gpushare-metrics-adapter";

/** The prometheus-adapter values gpushare owns; the stack's `metricsAdapter.values` may not set them. */
export const OWNED_ADAPTER_VALUES: readonly OwnedValue[] = [
  { path: ["fullnameOverride"], use: `the release name ${ADAPTER_RELEASE_NAME} (the serving certificate's DNS name)` },
  { path: ["namespaceOverride"], use: "metricsAdapter.namespace" },
  { path: ["prometheus"], use: "monitoring.prometheusUrl (or the Prometheus gpushare installs)" },
  { path: ["rules", "default"], use: "nothing: gpushare serves its own rule only" },
  { path: ["rules", "custom"], use: "metricsAdapter.metricName and metricsAdapter.window" },
  { path: ["rules", "existing"], use: "metricsAdapter.metricName and metricsAdapter.window" },
  { path: ["rbac"], use: "nothing: gpushare creates the adapter's least-privilege RBAC itself" },
  { path: ["serviceAccount"], use: "nothing: gpushare creates the adapter's ServiceAccount" },
  { path: ["tls"], use: "nothing: gpushare issues the adapter's serving certificate" },
  { path: ["certManager"], use: "nothing: gpushare issues the adapter's serving certificate" },
];

/** The DNS names the adapter's serving certificate covers; the API server dials `<service>.<namespace>.svc`. */
export function servingDnsNames(namespace: string): string[] {
  const svc = ADAPTER_RELEASE_NAME;
  return [svc, `${svc}.${namespace}`, `${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.cluster.local`];
}

/** The adapter's serving TLS material: the CA bundle the APIService trusts, and the key pair it serves with. */
export interface AdapterTls {
  readonly ca: pulumi.Input<string>;
  readonly key: pulumi.Input<string>;
  readonly certificate: pulumi.Input<string>;
}

/**
 * prometheus-adapter values: gpushare's rule alone, Prometheus's address, the chart's RBAC and ServiceAccount
 * off (gpushare creates both), and TLS on, which makes the chart's APIService carry `caBundle` instead of
 * `insecureSkipTLSVerify: true`. `metricsAdapter.values` are merged last; keys gpushare owns are refused.
 * @see https://github.com/prometheus-community/helm-charts/blob/main/charts/prometheus-adapter/values.yaml
 */
export function adapterValues(
  config: StackConfig,
  parts: {
    readonly prometheus: pulumi.Input<ChartPrometheusUrl>;
    readonly serviceAccountName: pulumi.Input<string>;
    readonly tls: AdapterTls;
    readonly rule: AdapterRule;
  },
): Values {
  const values: Values = {
    fullnameOverride: ADAPTER_RELEASE_NAME,
    prometheus: parts.prometheus,
    rules: { default: false, custom: [parts.rule] },
    rbac: { create: false },
    serviceAccount: { create: false, name: parts.serviceAccountName },
    tls: { enable: true, ca: parts.tls.ca, key: parts.tls.key, certificate: parts.tls.certificate },
  };
  return deepMerge(values, config.raw.metricsAdapter.values);
}

/** Extra values of the stack's `metricsAdapter` that would overwrite what gpushare owns (none when `installed`). */
export function adapterSettingsProblems(settings: RawStackConfig["metricsAdapter"]): ValueProblem[] {
  if (settings.installed) return [];
  return ownedValuesSet(settings.values, OWNED_ADAPTER_VALUES, "metricsAdapter.values");
}
