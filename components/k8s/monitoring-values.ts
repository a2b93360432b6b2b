import type * as pulumi from "@pulumi/pulumi";
import { splitPrometheusUrl } from "./metrics-adapter-rules";
import {
  type DashboardInput,
  GRAFANA_DASHBOARD_LABEL,
  GRAFANA_DASHBOARD_LABEL_VALUE,
  nodeLabelsAllowlist,
} from "./monitoring-dashboard";
import type { Problem } from "../../problems";
import { deepMerge, type OwnedValue, ownedValuesSet, type Values } from "./helm-values";

/**
 * Pure builders behind the `Monitoring` component: its arguments, the kube-prometheus-stack values, the names and
 * labels other components find Prometheus by, and the check of the arguments. No Pulumi runtime import.
 */

/**
 * What the `Monitoring` component installs, or finds installed: kube-prometheus-stack with Grafana, and gpushare's
 * dashboard.
 * @see https://github.com/prometheus-community/helm-charts/tree/main/charts/kube-prometheus-stack
 */
export interface MonitoringArgs {
  /**
   * A Prometheus runs already (`prometheusUrl`, `monitorLabels`): install no chart, only the dashboard.
   * @default false
   */
  readonly installed?: boolean;
  /**
   * Namespace of Prometheus, Grafana and the dashboard; created unless `installed`.
   * @default "monitoring"
   */
  readonly namespace?: string;
  /**
   * Version of the kube-prometheus-stack chart.
   * @default - `DEFAULT_KUBE_PROMETHEUS_STACK_CHART_VERSION` (components/defaults.ts)
   */
  readonly chartVersion?: string;
  /**
   * Helm repository of the chart.
   * @default - the prometheus-community repository
   */
  readonly repository?: string;
  /**
   * With `installed`, and only then: the URL of the Prometheus the metrics adapter queries, e.g.
   * `http://prometheus-operated.monitoring.svc:9090`. Required with `installed`.
   */
  readonly prometheusUrl?: string;
  /**
   * With `installed`: the labels the installed Prometheus's PodMonitor and ServiceMonitor selectors match.
   * @default - none: the installed Prometheus must select every monitor.
   */
  readonly monitorLabels?: Readonly<Record<string, string>>;
  /**
   * Install Grafana with gpushare's dashboard (or, with `installed`, add the dashboard for the Grafana that runs).
   * @default true
   */
  readonly grafanaEnabled?: boolean;
  /**
   * Chart values merged over the component's own; those it owns ({@link OWNED_MONITORING_VALUES}) are refused.
   * @default {}
   */
  readonly values?: Values;
  /** What the dashboard shows: the inference namespace, the custom metric and the GPU pools. */
  readonly dashboard: DashboardInput;
}

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

/** The kube-prometheus-stack values the `Monitoring` component owns; its `values` argument may not set them. */
export const OWNED_MONITORING_VALUES: readonly OwnedValue[] = [
  { path: ["fullnameOverride"], use: `the release name ${MONITORING_RELEASE_NAME} (the prometheusUrl contract)` },
  { path: ["namespaceOverride"], use: "the namespace argument" },
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
  { path: ["grafana", "enabled"], use: "the grafanaEnabled argument" },
  { path: ["grafana", "namespaceOverride"], use: "the namespace argument (Grafana's admin Secret lives there)" },
  ...[
    ["adminUser"],
    ["adminPassword"],
    ["admin", "existingSecret"],
    ["admin", "userKey"],
    ["admin", "passwordKey"],
  ].map((path) => ({
    path: ["grafana", ...path],
    use: `the user ${GRAFANA_ADMIN_USER} and the generated password (the component's grafanaAdminPassword)`,
  })),
  { path: ["grafana", "sidecar", "dashboards", "enabled"], use: "the grafanaEnabled argument" },
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
    use: "the dashboard's pools and their nodeSelector (the dashboard's pool panels)",
  },
];

/**
 * The labels a PodMonitor or ServiceMonitor needs for the platform's Prometheus to select it. Known from the
 * arguments alone, so components created before `Monitoring` (the GPU operator's DCGM ServiceMonitor) can use it.
 */
export function monitorLabelsFor(args: Pick<MonitoringArgs, "installed" | "monitorLabels">): Record<string, string> {
  if (args.installed ?? false) return { ...(args.monitorLabels ?? {}) };
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
 * admin Secret of its own (templates/secret.yaml). The extra `values` are merged last; keys gpushare owns are
 * refused before this is called.
 * @see https://github.com/prometheus-community/helm-charts/blob/main/charts/kube-prometheus-stack/values.yaml
 * @see https://github.com/grafana-community/helm-charts/blob/main/charts/grafana/values.yaml
 */
export function monitoringValues(
  args: Pick<MonitoringArgs, "dashboard" | "values">,
  grafanaAdminSecret?: pulumi.Input<string>,
): Values {
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
  const pools = args.dashboard.pools;
  // The dashboard's pool panels find a pool's nodes by their labels in `kube_node_labels`, which
  // kube-state-metrics exports only for keys on its allowlist.
  if (pools.length > 0) values["kube-state-metrics"] = { metricLabelsAllowlist: [nodeLabelsAllowlist(pools)] };
  return deepMerge(values, args.values ?? {});
}

/**
 * What the monitoring arguments cannot mean, every problem at once: extra values that overwrite what the component
 * owns or, with `installed`, a Prometheus URL the adapter cannot use.
 *
 * @param at where the caller's input holds these settings, as a path prefix of the messages (`""` for the
 * component's own arguments).
 * @param owned the owned values, with the `use` hints the caller's input offers.
 */
export function monitoringSettingsProblems(
  settings: Pick<MonitoringArgs, "installed" | "prometheusUrl" | "values">,
  at = "",
  owned: readonly OwnedValue[] = OWNED_MONITORING_VALUES,
): Problem[] {
  if (!(settings.installed ?? false)) return ownedValuesSet(settings.values ?? {}, owned, `${at}values`);
  const path = `${at}prometheusUrl`;
  if (settings.prometheusUrl === undefined) {
    return [
      {
        path,
        reason: `missing; with ${at}installed, name the Prometheus the adapter queries (e.g. http://prometheus-operated.monitoring.svc:9090)`,
      },
    ];
  }
  try {
    splitPrometheusUrl(settings.prometheusUrl);
    return [];
  } catch (e) {
    return [{ path, reason: (e as Error).message }];
  }
}
