import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { inputPropertyErrors } from "../../problems";
import {
  DEFAULT_GRAFANA_ENABLED,
  DEFAULT_KUBE_PROMETHEUS_STACK_CHART_VERSION,
  DEFAULT_MONITORING_NAMESPACE,
  DEFAULT_PROMETHEUS_COMMUNITY_REPOSITORY,
} from "../defaults";
import { GRAFANA_DASHBOARD_LABEL, GRAFANA_DASHBOARD_LABEL_VALUE, platformDashboard } from "./monitoring-dashboard";
import {
  grafanaAdminSecretData,
  type MonitoringArgs,
  MONITORING_RELEASE_NAME,
  monitoringSettingsProblems,
  monitoringValues,
  monitorLabelsFor,
  prometheusServiceUrl,
} from "./monitoring-values";

export type { MonitoringArgs } from "./monitoring-values";

export const KUBE_PROMETHEUS_STACK_CHART = "kube-prometheus-stack";

/**
 * Prometheus (kube-prometheus-stack) for the platform, in its own namespace, with Grafana and gpushare's
 * dashboard; or, with `installed`, the dashboard alone next to a Prometheus that already runs. An
 * installed stack's Grafana sidecar must watch `grafana_dashboard: "1"` in `namespace`, and its
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
    // Before anything is registered: bad arguments create nothing.
    throwOnBadSettings(name, args);
    super("gpushare:k8s:Monitoring", name, args, opts);
    const namespaceName = args.namespace ?? DEFAULT_MONITORING_NAMESPACE;
    const grafanaEnabled = args.grafanaEnabled ?? DEFAULT_GRAFANA_ENABLED;
    this.monitorLabels = monitorLabelsFor(args);

    if (args.installed ?? false) {
      if (args.monitorLabels === undefined) {
        pulumi.log.warn(
          "monitorLabels is unset: gpushare's PodMonitors carry no selection labels, so the installed Prometheus must select every PodMonitor (podMonitorSelector: {}); give the labels it selects otherwise",
          this,
        );
      }
      this.namespace = pulumi.output(namespaceName);
      this.namespaceReady = this.namespace;
      this.prometheusUrl = pulumi.output(args.prometheusUrl ?? "");
      this.grafanaAdminPassword = undefined;
    } else {
      this.namespace = new k8s.core.v1.Namespace(
        `${name}-namespace`,
        // A fixed name: the adapter and users find Prometheus and Grafana there.
        { metadata: { name: namespaceName } },
        { parent: this },
      ).metadata.name;
      this.namespaceReady = this.namespace;
      const admin = grafanaEnabled ? this.grafanaAdmin(name) : undefined;
      this.grafanaAdminPassword = admin?.password;
      // From the release's own namespace output, so the adapter waits for Prometheus to be installed.
      this.prometheusUrl = this.release(name, args, admin?.secret).namespace.apply(prometheusServiceUrl);
    }
    if (grafanaEnabled) this.dashboard(name, args);

    this.registerOutputs({
      namespace: this.namespace,
      prometheusUrl: this.prometheusUrl,
      monitorLabels: this.monitorLabels,
      grafanaAdminPassword: this.grafanaAdminPassword,
    });
  }

  /**
   * Grafana's generated admin password, and the Secret Grafana reads it from, not from the values: a password in
   * the values makes the whole values, and the manifest, secret in Pulumi's state and unreadable in a preview.
   */
  private grafanaAdmin(name: string): { password: pulumi.Output<string>; secret: k8s.core.v1.Secret } {
    const generated = new random.RandomPassword(
      `${name}-grafana-admin`,
      { length: 32, special: false },
      { parent: this },
    );
    const password = pulumi.secret(generated.result);
    const secret = new k8s.core.v1.Secret(
      `${name}-grafana-admin`,
      {
        metadata: { namespace: this.namespaceReady, labels: { "app.kubernetes.io/part-of": "gpushare" } },
        type: "Opaque",
        stringData: grafanaAdminSecretData(password),
      },
      { parent: this },
    );
    return { password, secret };
  }

  private release(
    name: string,
    args: MonitoringArgs,
    adminSecret: k8s.core.v1.Secret | undefined,
  ): k8s.helm.v3.Release {
    return new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: MONITORING_RELEASE_NAME,
        chart: KUBE_PROMETHEUS_STACK_CHART,
        version: args.chartVersion ?? DEFAULT_KUBE_PROMETHEUS_STACK_CHART_VERSION,
        repositoryOpts: { repo: args.repository ?? DEFAULT_PROMETHEUS_COMMUNITY_REPOSITORY },
        namespace: this.namespaceReady,
        values: monitoringValues(args, adminSecret?.metadata.name),
        // The operator, Prometheus and Grafana take a while to become ready on a fresh cluster.
        timeout: 900,
      },
      // Grafana does not start without its admin Secret. No output is secret: the values name the Secret,
      // and the chart renders no Secret with the password (monitoringValues).
      { parent: this, dependsOn: adminSecret === undefined ? [] : [adminSecret] },
    );
  }

  /** gpushare's dashboard, in a ConfigMap Grafana's sidecar picks up by its label. */
  private dashboard(name: string, args: MonitoringArgs): void {
    const dashboard = platformDashboard(args.dashboard);
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
}

function throwOnBadSettings(name: string, args: MonitoringArgs): void {
  const errors = monitoringSettingsProblems(args);
  if (errors.length === 0) return;
  throw new pulumi.InputPropertiesError({
    message: `Monitoring ${name}: cannot install monitoring as given`,
    errors: inputPropertyErrors(errors),
  });
}
