import type * as pulumi from "@pulumi/pulumi";
import type { RawStackConfig } from "../../stacks/schema";
import type { StackConfig } from "../../stacks/config";
import { splitPrometheusUrl } from "./adapter-rules";
import {
  dashboardInput,
  GRAFANA_DASHBOARD_LABEL,
  GRAFANA_DASHBOARD_LABEL_VALUE,
  nodeLabelsAllowlist,
} from "./dashboard";
import { deepMerge, type OwnedValue, ownedValuesSet, type ValueProblem, type Values } from "./helm-values";

/**
 * Pure builders behind the `Monitoring` component: the kube-prometheus-stack values, the names and labels
 * other components find Prometheus by, and the checks of the stack's `monitoring` settings that
 * `parseStackConfig` reports with every other problem. No Pulumi runtime import.
 */

/**
 * The Helm release name, and the chart's `fullnameOverride`. A contract twice over: the chart's Prometheus
 * selects PodMonitors and ServiceMonitors labelled `release: <release name>`, and names its Service
 * `<fullname>-prometheus`, which the metrics adapter queries. Renaming it orphans every monitor in the cluster.
 * At most 26 characters: the chart truncates its fullname there.
 */
export const MONITORING_RELEASE_NAME = "gpushare-monitoring";
/** The port of the chart's Prometheus Service (`prometheus.service.port`, the chart's default). */
export const PROMETHEUS_SERVICE_PORT = 9090;
/** Grafana's administrator, created on Grafana's first start. */
export const GRAFANA_ADMIN_USER = "admin";
/** The keys of gpushare's Grafana admin Secret (`grafana.admin.userKey`/`passwordKey`, the Grafana chart's defaults). */
export const GRAFANA_ADMIN_USER_KEY = "admin-user";
export const GRAFANA_ADMIN_PASSWORD_KEY = "admin-password";

/** The kube-prometheus-stack values gpushare owns; the stack's `monitoring.values` may not set them. */
export const OWNED_MONITORING_VALUES: readonly OwnedValue[] = [
  { path: ["fullnameOverride"], use: `the release name ${MONITORING_RELEASE_NAME} (the prometheusUrl contract)` },
  { path: ["namespaceOverride"], use: "monitoring.namespace" },
  { path: ["prometheus", "service", "port"], use: `port ${PROMETHEUS_SERVICE_PORT} (the prometheusUrl contract)` },
  ...[
    "podMonitorSelector",
    "podMonitorSelectorNilUsesHelmValues",
    "serviceMonitorSelector",
    "serviceMonitorSelectorNilUsesHelmValues",
  ].map((key) => ({
    path: ["prometheus", "prometheusSpec", key],
    use: `the release label (monitorLabels) every gpushare monitor carries`,
  })),
  { path: ["grafana", "enabled"], use: "monitoring.grafana.enabled" },
  { path: ["grafana", "namespaceOverride"], use: "monitoring.namespace (Grafana's admin Secret lives there)" },
  ...[
    ["adminUser"],
    ["adminPassword"],
    ["admin", "existingSecret"],
    ["admin", "userKey"],
    ["admin", "passwordKey"],
  ].map((path) => ({
    path: ["grafana", ...path],
    use: `the user ${GRAFANA_ADMIN_USER} and the generated password (stack output grafanaAdminPassword)`,
  })),
  { path: ["grafana", "sidecar", "dashboards", "enabled"], use: "monitoring.grafana.enabled" },
  {
    path: ["grafana", "sidecar", "dashboards", "label"],
    use: `the label ${GRAFANA_DASHBOARD_LABEL} gpushare's dashboard carries`,
  },
  {
    path: ["grafana", "sidecar", "dashboards", "labelValue"],
    use: `the label ${GRAFANA_DASHBOARD_LABEL} gpushare's dashboard carries`,
  },
  {
    path: ["kube-state-metrics", "metricLabelsAllowlist"],
    use: "gpuPools.<pool>.nodeSelector (the dashboard's pool panels)",
  },
];

/**
 * The labels a PodMonitor or ServiceMonitor needs for the platform's Prometheus to select it. Known from the
 * config alone, so components created before `Monitoring` (the GPU operator's DCGM ServiceMonitor) can use it.
 */
export function monitorLabelsFor(config: StackConfig): Record<string, string> {
  const monitoring = config.raw.monitoring;
  if (monitoring.installed) return { ...(monitoring.monitorLabels ?? {}) };
  return { release: MONITORING_RELEASE_NAME };
}

/** The in-cluster URL of the chart's Prometheus Service: `<fullname>-prometheus.<namespace>.svc:<port>`. */
export function prometheusServiceUrl(namespace: string): string {
  return `http://${MONITORING_RELEASE_NAME}-prometheus.${namespace}.svc:${PROMETHEUS_SERVICE_PORT}`;
}

/** The data of the Secret Grafana reads its admin credentials from (`grafana.admin.existingSecret`). */
export function grafanaAdminSecretData(password: pulumi.Input<string>): Record<string, pulumi.Input<string>> {
  return { [GRAFANA_ADMIN_USER_KEY]: GRAFANA_ADMIN_USER, [GRAFANA_ADMIN_PASSWORD_KEY]: password };
}

/**
 * kube-prometheus-stack values: the names the URL and label contracts rest on, Grafana with its dashboard
 * sidecar and its admin credentials read from `grafanaAdminSecret` (the name of a Secret holding
 * {@link grafanaAdminSecretData}; without it, no Grafana), and kube-state-metrics exporting the pool labels of
 * nodes. No secret: the Grafana chart (12.11.1, in kube-prometheus-stack 88.5.3) reads the user and password
 * from that Secret by key (templates/_pod.tpl, `secretKeyRef` on `admin.existingSecret`) and then renders no
 * admin Secret of its own (templates/secret.yaml). `monitoring.values` are merged last; keys gpushare owns are
 * refused before this is called.
 * @see https://github.com/prometheus-community/helm-charts/blob/main/charts/kube-prometheus-stack/values.yaml
 * @see https://github.com/grafana-community/helm-charts/blob/main/charts/grafana/values.yaml
 */
export function monitoringValues(config: StackConfig, grafanaAdminSecret?: pulumi.Input<string>): Values {
  const grafana: Values =
    grafanaAdminSecret === undefined
      ? { enabled: false }
      : {
          enabled: true,
          admin: {
            existingSecret: grafanaAdminSecret,
            userKey: GRAFANA_ADMIN_USER_KEY,
            passwordKey: GRAFANA_ADMIN_PASSWORD_KEY,
          },
          sidecar: {
            dashboards: { enabled: true, label: GRAFANA_DASHBOARD_LABEL, labelValue: GRAFANA_DASHBOARD_LABEL_VALUE },
          },
        };
  const values: Values = {
    fullnameOverride: MONITORING_RELEASE_NAME,
    prometheus: {
      prometheusSpec: {
        // Prometheus selects monitors labelled `release: <release name>` (monitorLabelsFor) rather than every
        // monitor in the cluster (`...NilUsesHelmValues: false`): monitors other teams ship are not scraped
        // by accident, and ours say whom they are for. Pinned here, so a changed chart default cannot
        // silently unselect them.
        podMonitorSelectorNilUsesHelmValues: true,
        serviceMonitorSelectorNilUsesHelmValues: true,
      },
    },
    grafana,
  };
  const pools = dashboardInput(config).pools;
  // The dashboard's pool panels find a pool's nodes by their labels in `kube_node_labels`, which
  // kube-state-metrics exports only for keys on its allowlist.
  if (pools.length > 0) values["kube-state-metrics"] = { metricLabelsAllowlist: [nodeLabelsAllowlist(pools)] };
  return deepMerge(values, config.raw.monitoring.values);
}

/**
 * What the stack's `monitoring` settings cannot mean, every problem at once: extra values that overwrite what
 * gpushare owns or, with `installed`, a Prometheus URL the adapter cannot use.
 */
export function monitoringSettingsProblems(settings: RawStackConfig["monitoring"]): ValueProblem[] {
  if (!settings.installed) return ownedValuesSet(settings.values, OWNED_MONITORING_VALUES, "monitoring.values");
  const propertyPath = "monitoring.prometheusUrl";
  if (settings.prometheusUrl === undefined) {
    return [
      {
        propertyPath,
        reason:
          "missing; with monitoring.installed, name the Prometheus the adapter queries (e.g. http://prometheus-operated.monitoring.svc:9090)",
      },
    ];
  }
  try {
    splitPrometheusUrl(settings.prometheusUrl);
    return [];
  } catch (e) {
    return [{ propertyPath, reason: (e as Error).message }];
  }
}
