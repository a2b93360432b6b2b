import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { MOCK_AUTONAME_SUFFIX, type RecordedResource } from "../../../scripts/mock-runtime";
import { type DashboardInput, GRAFANA_DASHBOARD_LABEL } from "../../../components/k8s/monitoring-dashboard";
import { KUBE_PROMETHEUS_STACK_CHART, Monitoring, type MonitoringArgs } from "../../../components/k8s/monitoring";
import { monitorLabelsFor, prometheusServiceUrl } from "../../../components/k8s/monitoring-values";
import {
  isSecret,
  helmValues,
  isSecretInput,
  ofType,
  one,
  resolve,
  reveal,
  runFailing,
  runProgram,
} from "../../helpers";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const NAMESPACE = "kubernetes:core/v1:Namespace";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const PASSWORD = "random:index/randomPassword:RandomPassword";
const SECRET = "kubernetes:core/v1:Secret";

interface Rendered {
  readonly resources: RecordedResource[];
  readonly monitoring: Monitoring;
}

/** One time-sliced T4 pool, serving in `inference`, scaled on the article's metric. */
const DASHBOARD: DashboardInput = {
  inferenceNamespace: "inference",
  metricName: "avg_time_queue_us",
  metricWindow: "30s",
  pools: [{ name: "t4", nodeSelector: { "gpushare.io/pool": "t4" }, resources: ["nvidia.com/gpu"], mig: false }],
};

/** Monitoring with every default: kube-prometheus-stack and Grafana installed by gpushare. */
const config: MonitoringArgs = { dashboard: DASHBOARD };

async function render(args: MonitoringArgs): Promise<Rendered> {
  let monitoring: Monitoring | undefined;
  const resources = await runProgram(() => {
    monitoring = new Monitoring("mon", args);
  });
  if (monitoring === undefined) throw new Error("Monitoring was not constructed");
  return { resources, monitoring };
}

/** The error constructing Monitoring throws, and what was registered before it (nothing, if validated first). */
function renderFailure(args: MonitoringArgs): Promise<{ error: unknown; resources: RecordedResource[] }> {
  return runFailing(() => new Monitoring("mon", args));
}

describe("Monitoring, installed by gpushare", () => {
  it("creates its namespace, monitoring unless told otherwise", async () => {
    const { resources, monitoring } = await render(config);
    expect(one(resources, NAMESPACE).inputs.metadata).toEqual({ name: "monitoring" });
    expect(await resolve(monitoring.namespace)).toBe("monitoring");
    expect(await resolve(monitoring.namespaceReady)).toBe("monitoring");
  });

  it("pins kube-prometheus-stack from the configured repository under a fixed release name", async () => {
    const { resources } = await render(config);
    const release = one(resources, RELEASE);
    expect(release.inputs).toMatchObject({
      // The release name is in prometheusUrl (gpushare-monitoring-prometheus) and in the monitors' release label.
      name: "gpushare-monitoring",
      chart: KUBE_PROMETHEUS_STACK_CHART,
      version: "88.5.3",
      repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" },
      namespace: "monitoring",
    });
    expect(helmValues(resources).fullnameOverride).toBe("gpushare-monitoring");
    expect(release.dependencies).toContain(one(resources, NAMESPACE).urn);
  });

  it("gives PodMonitors the release label this Prometheus selects", async () => {
    const { resources, monitoring } = await render(config);
    const release = one(resources, RELEASE);
    const spec = (helmValues(resources).prometheus as { prometheusSpec: Record<string, unknown> }).prometheusSpec;
    // With NilUsesHelmValues the chart renders podMonitorSelector: {matchLabels: {release: <release name>}}.
    expect(spec).toEqual({ podMonitorSelectorNilUsesHelmValues: true, serviceMonitorSelectorNilUsesHelmValues: true });
    expect(release.inputs.name).toBe("gpushare-monitoring");
    expect(monitoring.monitorLabels).toEqual({ release: "gpushare-monitoring" });
  });

  it("points at the chart's Prometheus Service: <fullname>-prometheus in its namespace", async () => {
    const { monitoring } = await render(config);
    expect(await resolve(monitoring.prometheusUrl)).toBe("http://gpushare-monitoring-prometheus.monitoring.svc:9090");
    expect(prometheusServiceUrl("obs")).toBe("http://gpushare-monitoring-prometheus.obs.svc:9090");
  });

  it("generates Grafana's admin password and keeps it secret, in the output and in a Secret of its own", async () => {
    const { resources, monitoring } = await render(config);
    const password = one(resources, PASSWORD);
    expect(password.inputs).toEqual({ length: 32, special: false });
    if (monitoring.grafanaAdminPassword === undefined) throw new Error("no Grafana password");
    expect(await isSecret(monitoring.grafanaAdminPassword)).toBe(true);
    expect(await resolve(monitoring.grafanaAdminPassword)).toBe(`mock-password-${password.name}`);

    const secret = one(resources, SECRET);
    expect(secret.name).toBe("mon-grafana-admin");
    expect(secret.parent).toBe(one(resources, "gpushare:k8s:Monitoring").urn);
    expect(secret.inputs.metadata).toEqual({
      namespace: "monitoring",
      labels: { "app.kubernetes.io/part-of": "gpushare" },
    });
    expect(secret.inputs.type).toBe("Opaque");
    expect(isSecretInput(secret.inputs.stringData)).toBe(true);
    expect(secret.additionalSecretOutputs).toEqual(expect.arrayContaining(["data", "stringData"]));
    expect(reveal(secret.inputs.stringData)).toEqual({
      "admin-user": "admin",
      "admin-password": `mock-password-${password.name}`,
    });
  });

  it("has Grafana read its credentials from that Secret by name, so the values hold no secret", async () => {
    const { resources } = await render(config);
    const password = `mock-password-${one(resources, PASSWORD).name}`;
    const secret = one(resources, SECRET);
    const release = one(resources, RELEASE);
    const grafana = helmValues(resources).grafana as Record<string, unknown>;
    // The Grafana chart's secretKeyRefs (templates/_pod.tpl): name admin.existingSecret, keys userKey/passwordKey.
    expect(grafana.admin).toEqual({
      existingSecret: `${secret.name}-${MOCK_AUTONAME_SUFFIX}`,
      userKey: "admin-user",
      passwordKey: "admin-password",
    });
    expect(grafana).not.toHaveProperty("adminPassword");
    expect(JSON.stringify(release.inputs.values)).not.toContain(password);
    // Neither an input marked secret nor additionalSecretOutputs: the release's values and manifest outputs are
    // plain, and a preview shows their changes.
    expect(isSecretInput(release.inputs.values)).toBe(false);
    expect(release.additionalSecretOutputs).toEqual([]);
    expect(release.dependencies).toContain(secret.urn);
  });

  it("enables Grafana's dashboard sidecar on the label the dashboard carries", async () => {
    const { resources } = await render(config);
    expect((helmValues(resources).grafana as Record<string, unknown>).sidecar).toEqual({
      dashboards: { enabled: true, label: "grafana_dashboard", labelValue: "1" },
    });
  });

  it("ships the dashboard of its pools as a ConfigMap in the monitoring namespace", async () => {
    const { resources } = await render(config);
    const cm = one(resources, CONFIG_MAP, "dashboard");
    expect(cm.inputs.metadata).toMatchObject({ namespace: "monitoring", labels: { [GRAFANA_DASHBOARD_LABEL]: "1" } });
    const data = cm.inputs.data as Record<string, string>;
    expect(Object.keys(data)).toEqual(["gpushare-platform.json"]);
    const dashboard = JSON.parse(data["gpushare-platform.json"]) as {
      uid: string;
      title: string;
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.uid).toBe("gpushare-platform");
    expect(dashboard.title).toBe("gpushare — GPU inference platform");
    expect(dashboard.panels.map((p) => p.title)).toEqual([
      "Requests/s by model",
      "Queue time per request by model",
      "Compute time per request by model",
      "HPA metric avg_time_queue_us by pod",
      "Replicas per server",
      "GPU devices allocated vs allocatable — pool t4",
      "GPU utilisation — pool t4",
    ]);
    expect(dashboard.panels[6].targets.map((t) => t.expr)).toEqual([
      'avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL * on (Hostname) group_left() label_replace(max by (node) (kube_node_labels{label_gpushare_io_pool="t4"}), "Hostname", "$1", "node", "(.*)"))',
    ]);
    // Pretty-printed, so that a diff of the ConfigMap in a preview reads line by line.
    expect(data["gpushare-platform.json"]).toContain('\n  "uid": "gpushare-platform",\n');
  });

  it("has kube-state-metrics export the pool label of nodes", async () => {
    const { resources } = await render(config);
    expect(helmValues(resources)["kube-state-metrics"]).toEqual({
      metricLabelsAllowlist: ["nodes=[gpushare.io/pool]"],
    });
  });

  it("records its arguments as the component's inputs", async () => {
    const { resources } = await render(config);
    expect(one(resources, "gpushare:k8s:Monitoring").inputs).toEqual({ dashboard: DASHBOARD });
  });

  it("installs the given chart version from the given repository into the given namespace", async () => {
    const { resources, monitoring } = await render({
      ...config,
      namespace: "obs",
      chartVersion: "90.0.0",
      repository: "https://charts.example.org",
    });
    expect(one(resources, NAMESPACE).inputs.metadata).toEqual({ name: "obs" });
    expect(one(resources, RELEASE).inputs).toMatchObject({
      version: "90.0.0",
      repositoryOpts: { repo: "https://charts.example.org" },
      namespace: "obs",
    });
    expect(await resolve(monitoring.prometheusUrl)).toBe("http://gpushare-monitoring-prometheus.obs.svc:9090");
  });

  it("merges the extra values over its own", async () => {
    const custom: MonitoringArgs = {
      ...config,
      values: { grafana: { persistence: { enabled: true } }, alertmanager: { enabled: false } },
    };
    const values = helmValues((await render(custom)).resources);
    expect(values.alertmanager).toEqual({ enabled: false });
    expect(values.grafana).toMatchObject({
      enabled: true,
      persistence: { enabled: true },
      admin: expect.objectContaining({ existingSecret: expect.any(String) }),
    });
  });

  it("installs no Grafana, password or dashboard when grafanaEnabled is false", async () => {
    const { resources, monitoring } = await render({ ...config, grafanaEnabled: false });
    expect(helmValues(resources).grafana).toEqual({ enabled: false });
    expect(ofType(resources, PASSWORD)).toEqual([]);
    expect(ofType(resources, SECRET)).toEqual([]);
    expect(ofType(resources, CONFIG_MAP)).toEqual([]);
    expect(monitoring.grafanaAdminPassword).toBeUndefined();
  });

  it("fails when the extra values set values gpushare owns", async () => {
    const bad: MonitoringArgs = {
      ...config,
      values: {
        fullnameOverride: "kps",
        prometheus: { prometheusSpec: { podMonitorSelectorNilUsesHelmValues: false } },
        grafana: { enabled: false },
      },
    };
    const { error, resources } = await renderFailure(bad);
    expect(resources).toEqual([]);
    expect(error).toBeInstanceOf(pulumi.InputPropertiesError);
    expect((error as pulumi.InputPropertiesError).message).toBe("Monitoring mon: cannot install monitoring as given");
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      {
        propertyPath: "values.fullnameOverride",
        reason:
          "gpushare sets this value itself; remove it and use the release name gpushare-monitoring (the prometheusUrl contract)",
      },
      {
        propertyPath: "values.prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues",
        reason:
          "gpushare sets this value itself; remove it and use the release label (monitorLabels) every gpushare monitor carries",
      },
      {
        propertyPath: "values.grafana.enabled",
        reason: "gpushare sets this value itself; remove it and use the grafanaEnabled argument",
      },
    ]);
  });

  it("fails when the extra values set Grafana's admin credentials", async () => {
    const bad: MonitoringArgs = {
      ...config,
      values: { grafana: { adminUser: "root", admin: { existingSecret: "mine", passwordKey: "pw" } } },
    };
    const { error, resources } = await renderFailure(bad);
    expect(resources).toEqual([]);
    const reason =
      "gpushare sets this value itself; remove it and use the user admin and the generated password (the component's grafanaAdminPassword)";
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      { propertyPath: "values.grafana.adminUser", reason },
      { propertyPath: "values.grafana.admin.existingSecret", reason },
      { propertyPath: "values.grafana.admin.passwordKey", reason },
    ]);
  });
});

describe("Monitoring, already installed", () => {
  const installed: MonitoringArgs = {
    installed: true,
    namespace: "observability",
    prometheusUrl: "http://prometheus-operated.observability.svc:9090",
    monitorLabels: { prometheus: "main" },
    dashboard: DASHBOARD,
  };

  it("creates no namespace, release or password, and passes the configured URL and labels on", async () => {
    const { resources, monitoring } = await render(installed);
    expect(ofType(resources, NAMESPACE)).toEqual([]);
    expect(ofType(resources, RELEASE)).toEqual([]);
    expect(ofType(resources, PASSWORD)).toEqual([]);
    expect(ofType(resources, SECRET)).toEqual([]);
    expect(await resolve(monitoring.prometheusUrl)).toBe(installed.prometheusUrl);
    expect(await resolve(monitoring.namespaceReady)).toBe("observability");
    expect(monitoring.monitorLabels).toEqual({ prometheus: "main" });
    expect(monitoring.grafanaAdminPassword).toBeUndefined();
  });

  it("still ships the dashboard to the installed Grafana's sidecar", async () => {
    const { resources } = await render(installed);
    expect(one(resources, CONFIG_MAP, "dashboard").inputs.metadata).toMatchObject({
      namespace: "observability",
      labels: { grafana_dashboard: "1" },
    });
  });

  it("ships no dashboard when the installed stack has no Grafana", async () => {
    expect(ofType((await render({ ...installed, grafanaEnabled: false })).resources, CONFIG_MAP)).toEqual([]);
  });

  it("fails when the installed Prometheus's URL is not an http(s) URL", async () => {
    const { error, resources } = await renderFailure({ ...installed, prometheusUrl: "prometheus:9090" });
    expect(resources).toEqual([]);
    expect(error).toBeInstanceOf(pulumi.InputPropertiesError);
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      {
        propertyPath: "prometheusUrl",
        reason:
          '"prometheus:9090" is not an http(s) URL; give Prometheus\'s address, e.g. http://prometheus-operated.monitoring.svc:9090',
      },
    ]);
  });

  it("fails when the installed Prometheus has no URL", async () => {
    const { error, resources } = await renderFailure({ installed: true, dashboard: DASHBOARD });
    expect(resources).toEqual([]);
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      {
        propertyPath: "prometheusUrl",
        reason:
          "missing; with installed, name the Prometheus the adapter queries (e.g. http://prometheus-operated.monitoring.svc:9090)",
      },
    ]);
  });
});

describe("monitorLabelsFor", () => {
  it("selects with the release label of the Prometheus gpushare installs", () => {
    expect(monitorLabelsFor({})).toEqual({ release: "gpushare-monitoring" });
    expect(monitorLabelsFor({ monitorLabels: { prometheus: "main" } })).toEqual({ release: "gpushare-monitoring" });
  });

  it("selects with the installed Prometheus's labels, or none", () => {
    expect(monitorLabelsFor({ installed: true, monitorLabels: { prometheus: "main" } })).toEqual({
      prometheus: "main",
    });
    expect(monitorLabelsFor({ installed: true })).toEqual({});
  });
});
