import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { StackConfig } from "../../stacks/config";
import { splitPrometheusUrl } from "./adapter-rules";
import {
  dashboardInput,
  GRAFANA_DASHBOARD_LABEL,
  GRAFANA_DASHBOARD_LABEL_VALUE,
  nodeLabelsAllowlist,
  platformDashboard,
} from "./dashboard";
import { deepMerge } from "./gpu-operator-values";

export const KUBE_PROMETHEUS_STACK_CHART = "kube-prometheus-stack";
/**
 * The Helm release name, and the chart's `fullnameOverride`. A contract twice over: the chart's Prometheus
 * selects PodMonitors and ServiceMonitors labelled `release: <release name>`, and names its Service
 * `<fullname>-prometheus`, which the metrics adapter queries. Renaming it orphans every monitor in the cluster.
 * At most 26 characters: the chart truncates its fullname there.
 */
export const MONITORING_RELEASE_NAME = "gpushare-monitoring";
/** The port of the chart's Prometheus Service (`prometheus.service.port`, the chart's default). */
export const PROMETHEUS_SERVICE_PORT = 9090;

type Values = Record<string, unknown>;

export interface MonitoringArgs {
  /**
   * The validated stack config; `monitoring` decides whether kube-prometheus-stack is installed here (chart,
   * version, repository, namespace, Grafana, extra values) or already runs (`installed`, `prometheusUrl`,
   * `monitorLabels`), and `gpuPools`/`inference` shape the dashboard.
   * @see https://github.com/prometheus-community/helm-charts/tree/main/charts/kube-prometheus-stack
   */
  readonly config: StackConfig;
}

/** A Helm value gpushare sets itself, and where the stack config controls it instead. */
export interface OwnedValue {
  readonly path: readonly string[];
  readonly use: string;
}

function valueAt(values: unknown, path: readonly string[]): unknown {
  let cur = values;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/**
 * The values of `configPath` (a stack's extra Helm values) that would overwrite what gpushare owns, as input
 * property errors naming the path, the reason and the fix.
 */
export function ownedValueErrors(
  values: Values,
  owned: readonly OwnedValue[],
  configPath: string,
): pulumi.InputPropertyErrorDetails[] {
  return owned
    .filter((o) => valueAt(values, o.path) !== undefined)
    .map((o) => ({
      propertyPath: `${configPath}.${o.path.join(".")}`,
      reason: `gpushare sets this value itself; remove it and use ${o.use}`,
    }));
}

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
  { path: ["grafana", "adminPassword"], use: "the generated password (stack output grafanaAdminPassword)" },
  { path: ["grafana", "admin", "existingSecret"], use: "the generated password (stack output grafanaAdminPassword)" },
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

/**
 * kube-prometheus-stack values: the names the URL and label contracts rest on, Grafana with its admin password
 * and dashboard sidecar, and kube-state-metrics exporting the pool labels of nodes. `monitoring.values` are
 * merged last; keys gpushare owns are refused before this is called.
 * @see https://github.com/prometheus-community/helm-charts/blob/main/charts/kube-prometheus-stack/values.yaml
 */
export function monitoringValues(config: StackConfig, grafanaAdminPassword?: pulumi.Input<string>): Values {
  const grafana: Values =
    grafanaAdminPassword === undefined
      ? { enabled: false }
      : {
          enabled: true,
          adminPassword: grafanaAdminPassword,
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
 * Refuses, with every problem at once, what the stack config cannot mean for Monitoring: extra values that
 * overwrite what gpushare owns, or (with `installed`) a Prometheus URL the adapter cannot use.
 */
export function checkMonitoringArgs(config: StackConfig): void {
  const settings = config.raw.monitoring;
  const errors: pulumi.InputPropertyErrorDetails[] = [];
  if (!settings.installed) {
    errors.push(...ownedValueErrors(settings.values, OWNED_MONITORING_VALUES, "monitoring.values"));
  } else if (settings.prometheusUrl === undefined) {
    errors.push({
      propertyPath: "monitoring.prometheusUrl",
      reason: "missing; name the Prometheus the adapter queries",
    });
  } else {
    try {
      splitPrometheusUrl(settings.prometheusUrl);
    } catch (e) {
      errors.push({ propertyPath: "monitoring.prometheusUrl", reason: (e as Error).message });
    }
  }
  if (errors.length > 0) {
    throw new pulumi.InputPropertiesError({ message: "gpushare cannot install monitoring as configured", errors });
  }
}

/**
 * Prometheus (kube-prometheus-stack) for the platform, in its own namespace, with Grafana and gpushare's
 * dashboard; or, with `monitoring.installed`, the dashboard alone next to a Prometheus that already runs. An
 * installed stack's Grafana sidecar must watch `grafana_dashboard: "1"` in `monitoring.namespace`, and its
 * kube-state-metrics must export the pools' node labels (`--metric-labels-allowlist=nodes=[gpushare.io/pool]`)
 * for the per-pool panels.
 */
export class Monitoring extends pulumi.ComponentResource {
  /** The monitoring namespace. */
  public readonly namespace: pulumi.Output<string>;
  /** Resolves once the monitoring namespace exists (others may share it). */
  public readonly namespaceReady: pulumi.Output<string>;
  /** In-cluster URL of Prometheus, for the metrics adapter. */
  public readonly prometheusUrl: pulumi.Output<string>;
  /** Labels a PodMonitor needs for this Prometheus to select it. */
  public readonly monitorLabels: Record<string, string>;
  /** Grafana's `admin` password (secret); undefined when Grafana is not installed by gpushare. */
  public readonly grafanaAdminPassword: pulumi.Output<string> | undefined;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before anything is registered: a bad config creates nothing.
    checkMonitoringArgs(args.config);
    super("gpushare:k8s:Monitoring", name, {}, opts);
    const { config } = args;
    const settings = config.raw.monitoring;
    this.monitorLabels = monitorLabelsFor(config);

    if (settings.installed) {
      if (settings.monitorLabels === undefined) {
        pulumi.log.warn(
          "monitoring.monitorLabels is unset: gpushare's PodMonitors carry no selection labels, so the installed Prometheus must select every PodMonitor (podMonitorSelector: {}); set monitoring.monitorLabels to the labels it selects otherwise",
          this,
        );
      }
      this.namespace = pulumi.output(settings.namespace);
      this.namespaceReady = this.namespace;
      this.prometheusUrl = pulumi.output(settings.prometheusUrl ?? "");
      this.grafanaAdminPassword = undefined;
    } else {
      const namespace = new k8s.core.v1.Namespace(
        `${name}-namespace`,
        // The name is the config's: the adapter and users find Prometheus and Grafana there.
        { metadata: { name: settings.namespace } },
        { parent: this },
      );
      this.namespace = namespace.metadata.name;
      this.namespaceReady = namespace.metadata.name;

      let password: pulumi.Output<string> | undefined;
      if (settings.grafana.enabled) {
        const generated = new random.RandomPassword(
          `${name}-grafana-admin`,
          { length: 32, special: false },
          { parent: this },
        );
        password = pulumi.secret(generated.result);
      }
      this.grafanaAdminPassword = password;

      const release = new k8s.helm.v3.Release(
        `${name}-release`,
        {
          name: MONITORING_RELEASE_NAME,
          chart: KUBE_PROMETHEUS_STACK_CHART,
          version: settings.chartVersion,
          repositoryOpts: { repo: settings.repository },
          namespace: this.namespaceReady,
          values: monitoringValues(config, password),
          // The operator, Prometheus and Grafana take a while to become ready on a fresh cluster.
          timeout: 900,
        },
        // The Grafana password is a secret input, but the provider echoes the values (and the rendered
        // manifests) as outputs without its secretness (pulumi/pulumi#9781): both outputs are secret. The
        // other values stay readable in `pulumi preview`.
        { parent: this, additionalSecretOutputs: ["values", "manifest"] },
      );
      // From the release's own namespace output, so the adapter waits for Prometheus to be installed.
      this.prometheusUrl = release.namespace.apply(prometheusServiceUrl);
    }

    if (settings.grafana.enabled) {
      const dashboard = platformDashboard(dashboardInput(config));
      new k8s.core.v1.ConfigMap(
        `${name}-dashboard`,
        {
          metadata: {
            namespace: this.namespaceReady,
            labels: {
              [GRAFANA_DASHBOARD_LABEL]: GRAFANA_DASHBOARD_LABEL_VALUE,
              "app.kubernetes.io/part-of": "gpushare",
            },
          },
          data: { [`${dashboard.uid}.json`]: JSON.stringify(dashboard, null, 2) },
        },
        { parent: this },
      );
    }

    this.registerOutputs({
      namespace: this.namespace,
      prometheusUrl: this.prometheusUrl,
      monitorLabels: this.monitorLabels,
      grafanaAdminPassword: this.grafanaAdminPassword,
    });
  }
}
