import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parseStackConfig, type StackConfig } from "../../../stacks/config";
import { MOCK_AUTONAME_SUFFIX, type RecordedResource } from "../../../scripts/mock-runtime";
import { GRAFANA_DASHBOARD_LABEL, platformDashboard, dashboardInput } from "../../../components/k8s/dashboard";
import { KUBE_PROMETHEUS_STACK_CHART, Monitoring } from "../../../components/k8s/monitoring";
import {
  MONITORING_RELEASE_NAME,
  monitorLabelsFor,
  prometheusServiceUrl,
} from "../../../components/k8s/monitoring-values";
import {
  isSecret,
  helmValues,
  isSecretInput,
  minimalConfig,
  ofType,
  one,
  resolve,
  reveal,
  runFailing,
  runProgram,
  stackFileConfig,
  withUncheckedSettings,
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

async function render(config: StackConfig): Promise<Rendered> {
  let monitoring: Monitoring | undefined;
  const resources = await runProgram(() => {
    monitoring = new Monitoring("mon", { config });
  });
  if (monitoring === undefined) throw new Error("Monitoring was not constructed");
  return { resources, monitoring };
}

/** The error constructing Monitoring throws, and what was registered before it (nothing, if validated first). */
function renderFailure(config: StackConfig): Promise<{ error: unknown; resources: RecordedResource[] }> {
  return runFailing(() => new Monitoring("mon", { config }));
}

describe("Monitoring, installed by gpushare", () => {
  const config = parseStackConfig(
    minimalConfig({ gpuPools: { t4: { gpu: "T4", nodes: { min: 1, max: 2 }, timeSlicing: { replicas: 4 } } } }),
  );

  it("creates its namespace under the configured name", async () => {
    const { resources, monitoring } = await render(config);
    expect(one(resources, NAMESPACE).inputs.metadata).toEqual({ name: "monitoring" });
    expect(await resolve(monitoring.namespace)).toBe("monitoring");
    expect(await resolve(monitoring.namespaceReady)).toBe("monitoring");
  });

  it("pins kube-prometheus-stack from the configured repository under a fixed release name", async () => {
    const { resources } = await render(config);
    const release = one(resources, RELEASE);
    expect(release.inputs).toMatchObject({
      name: MONITORING_RELEASE_NAME,
      chart: KUBE_PROMETHEUS_STACK_CHART,
      version: "88.5.3",
      repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" },
      namespace: "monitoring",
    });
    expect(helmValues(resources).fullnameOverride).toBe(MONITORING_RELEASE_NAME);
    expect(release.dependencies).toContain(one(resources, NAMESPACE).urn);
  });

  it("gives PodMonitors the release label this Prometheus selects", async () => {
    const { resources, monitoring } = await render(config);
    const release = one(resources, RELEASE);
    const spec = (helmValues(resources).prometheus as { prometheusSpec: Record<string, unknown> }).prometheusSpec;
    // With NilUsesHelmValues the chart renders podMonitorSelector: {matchLabels: {release: <release name>}}.
    expect(spec).toEqual({ podMonitorSelectorNilUsesHelmValues: true, serviceMonitorSelectorNilUsesHelmValues: true });
    expect(monitoring.monitorLabels).toEqual({ release: release.inputs.name });
    expect(monitorLabelsFor(config)).toEqual(monitoring.monitorLabels);
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

  it("ships the dashboard as a ConfigMap in the monitoring namespace", async () => {
    const { resources } = await render(config);
    const cm = one(resources, CONFIG_MAP, "dashboard");
    expect(cm.inputs.metadata).toMatchObject({ namespace: "monitoring", labels: { [GRAFANA_DASHBOARD_LABEL]: "1" } });
    const data = cm.inputs.data as Record<string, string>;
    expect(Object.keys(data)).toEqual(["gpushare-platform.json"]);
    expect(JSON.parse(data["gpushare-platform.json"])).toEqual(platformDashboard(dashboardInput(config)));
  });

  it("has kube-state-metrics export the pool label of nodes", async () => {
    const { resources } = await render(config);
    expect(helmValues(resources)["kube-state-metrics"]).toEqual({
      metricLabelsAllowlist: ["nodes=[gpushare.io/pool]"],
    });
  });

  it("merges monitoring.values over its own", async () => {
    const custom = parseStackConfig(
      minimalConfig({
        monitoring: { values: { grafana: { persistence: { enabled: true } }, alertmanager: { enabled: false } } },
      }),
    );
    const values = helmValues((await render(custom)).resources);
    expect(values.alertmanager).toEqual({ enabled: false });
    expect(values.grafana).toMatchObject({
      enabled: true,
      persistence: { enabled: true },
      admin: expect.objectContaining({ existingSecret: expect.any(String) }),
    });
  });

  it("installs no Grafana, password or dashboard when grafana.enabled is false", async () => {
    const { resources, monitoring } = await render(
      parseStackConfig(minimalConfig({ monitoring: { grafana: { enabled: false } } })),
    );
    expect(helmValues(resources).grafana).toEqual({ enabled: false });
    expect(ofType(resources, PASSWORD)).toEqual([]);
    expect(ofType(resources, SECRET)).toEqual([]);
    expect(ofType(resources, CONFIG_MAP)).toEqual([]);
    expect(monitoring.grafanaAdminPassword).toBeUndefined();
  });

  it("fails when monitoring.values sets values gpushare owns", async () => {
    const bad = withUncheckedSettings(parseStackConfig(minimalConfig()), "monitoring", {
      values: {
        fullnameOverride: "kps",
        prometheus: { prometheusSpec: { podMonitorSelectorNilUsesHelmValues: false } },
      },
    });
    const { error, resources } = await renderFailure(bad);
    expect(resources).toEqual([]);
    expect(error).toBeInstanceOf(pulumi.InputPropertiesError);
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      {
        propertyPath: "monitoring.values.fullnameOverride",
        reason:
          "gpushare sets this value itself; remove it and use the release name gpushare-monitoring (the prometheusUrl contract)",
      },
      {
        propertyPath: "monitoring.values.prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues",
        reason:
          "gpushare sets this value itself; remove it and use the release label (monitorLabels) every gpushare monitor carries",
      },
    ]);
  });
  it("fails when monitoring.values sets Grafana's admin credentials", async () => {
    const bad = withUncheckedSettings(parseStackConfig(minimalConfig()), "monitoring", {
      values: { grafana: { adminUser: "root", admin: { existingSecret: "mine", passwordKey: "pw" } } },
    });
    const { error, resources } = await renderFailure(bad);
    expect(resources).toEqual([]);
    const reason =
      "gpushare sets this value itself; remove it and use the user admin and the generated password (stack output grafanaAdminPassword)";
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      { propertyPath: "monitoring.values.grafana.adminUser", reason },
      { propertyPath: "monitoring.values.grafana.admin.existingSecret", reason },
      { propertyPath: "monitoring.values.grafana.admin.passwordKey", reason },
    ]);
  });
});

describe("Monitoring, already installed", () => {
  const installed = {
    installed: true,
    namespace: "observability",
    prometheusUrl: "http://prometheus-operated.observability.svc:9090",
    monitorLabels: { prometheus: "main" },
  };

  it("creates no namespace, release or password, and passes the configured URL and labels on", async () => {
    const { resources, monitoring } = await render(parseStackConfig(minimalConfig({ monitoring: installed })));
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
    const { resources } = await render(parseStackConfig(minimalConfig({ monitoring: installed })));
    expect(one(resources, CONFIG_MAP, "dashboard").inputs.metadata).toMatchObject({
      namespace: "observability",
      labels: { grafana_dashboard: "1" },
    });
  });

  it("ships no dashboard when the installed stack has no Grafana", async () => {
    const config = parseStackConfig(minimalConfig({ monitoring: { ...installed, grafana: { enabled: false } } }));
    expect(ofType((await render(config)).resources, CONFIG_MAP)).toEqual([]);
  });

  it("fails when the installed Prometheus's URL is not an http(s) URL", async () => {
    const config = withUncheckedSettings(parseStackConfig(minimalConfig({ monitoring: installed })), "monitoring", {
      prometheusUrl: "prometheus:9090",
    });
    const { error, resources } = await renderFailure(config);
    expect(resources).toEqual([]);
    expect(error).toBeInstanceOf(pulumi.InputPropertiesError);
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      {
        propertyPath: "monitoring.prometheusUrl",
        reason:
          '"prometheus:9090" is not an http(s) URL; give Prometheus\'s address, e.g. http://prometheus-operated.monitoring.svc:9090',
      },
    ]);
  });

  it("fails when the installed Prometheus has no URL", async () => {
    const config = withUncheckedSettings(parseStackConfig(minimalConfig({ monitoring: installed })), "monitoring", {
      prometheusUrl: undefined,
    });
    const { error, resources } = await renderFailure(config);
    expect(resources).toEqual([]);
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      {
        propertyPath: "monitoring.prometheusUrl",
        reason:
          "missing; with monitoring.installed, name the Prometheus the adapter queries (e.g. http://prometheus-operated.monitoring.svc:9090)",
      },
    ]);
  });
});

describe("Monitoring in the prod stack", () => {
  it("selects the monitors of the prod platform with its release label", () => {
    expect(monitorLabelsFor(stackFileConfig("prod"))).toEqual({ release: "gpushare-monitoring" });
  });
});
