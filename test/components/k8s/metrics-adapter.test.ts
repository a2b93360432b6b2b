import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ADAPTER_RULES_CONFIG_MAP } from "../../../components/k8s/metrics-adapter-rules";
import type { MetricsAdapterSettings } from "../../../components/k8s/metrics-adapter-values";
import {
  CA_EARLY_RENEWAL_HOURS,
  CA_VALIDITY_HOURS,
  MetricsAdapter,
  PROMETHEUS_ADAPTER_CHART,
  SERVING_CERT_EARLY_RENEWAL_HOURS,
  SERVING_CERT_VALIDITY_HOURS,
} from "../../../components/k8s/metrics-adapter";
import { MOCK_AUTONAME_SUFFIX, mockPem, type RecordedResource } from "../../../scripts/mock-runtime";
import { GpuInferencePlatform } from "../../../stacks/platform";
import {
  helmValues,
  isSecretInput,
  minimalConfig,
  ofType,
  one,
  problemsOf,
  reveal,
  runFailing,
  runProgram,
  stackFileConfig,
} from "../../helpers";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole";
const CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding";
const ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role";
const ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";
const SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount";
const SECRET = "kubernetes:core/v1:Secret";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const API_SERVICE = "kubernetes:apiregistration.k8s.io/v1:APIService";
const PROMETHEUS_URL = "http://gpushare-monitoring-prometheus.monitoring.svc:9090";

interface Rendered {
  readonly resources: RecordedResource[];
  readonly adapter: MetricsAdapter;
}

/**
 * The adapter with `settings`, querying `prometheusUrl`. Unless `settings` names a namespace of its own, it shares
 * the monitoring namespace, which another component creates (`namespaceReady`), as on the platform.
 */
async function render(settings: MetricsAdapterSettings, prometheusUrl = PROMETHEUS_URL): Promise<Rendered> {
  let adapter: MetricsAdapter | undefined;
  const resources = await runProgram(() => {
    adapter = new MetricsAdapter("adapter", {
      ...settings,
      prometheusUrl: pulumi.output(prometheusUrl),
      ...(settings.namespace === undefined ? { namespaceReady: pulumi.output("monitoring") } : {}),
    });
  });
  if (adapter === undefined) throw new Error("MetricsAdapter was not constructed");
  return { resources, adapter };
}

/** The error constructing the adapter throws, and what was registered before it (nothing, if validated first). */
function renderFailure(settings: MetricsAdapterSettings): Promise<{ error: unknown; resources: RecordedResource[] }> {
  return runFailing(
    () => new MetricsAdapter("adapter", { ...settings, prometheusUrl: PROMETHEUS_URL, namespaceReady: "monitoring" }),
  );
}

/** gpushare's adapter rule for the article's metric over 30 s, written out as prometheus-adapter's config.md writes rules. */
const RULE_30S = {
  seriesQuery: 'nv_inference_queue_duration_us{namespace!="",pod!=""}',
  resources: { overrides: { namespace: { resource: "namespace" }, pod: { resource: "pod" } } },
  name: { matches: "^nv_inference_queue_duration_us$", as: "avg_time_queue_us" },
  metricsQuery:
    "sum by (<<.GroupBy>>) (increase(nv_inference_queue_duration_us{<<.LabelMatchers>>}[30s]))" +
    " / clamp_min(sum by (<<.GroupBy>>) (increase(nv_inference_request_success{<<.LabelMatchers>>}[30s])), 1)",
};

/**
 * The APIServices prometheus-adapter 5.3.0 renders from its values, as its templates decide:
 * custom-metrics-apiservice.yaml when `rules.default` or `rules.custom`, external-metrics-apiservice.yaml when
 * `rules.external`, resource-metrics-apiservice.yaml when `rules.resource`; each with `caBundle: b64enc tls.ca`
 * when `tls.enable`, and `insecureSkipTLSVerify: true` unless `tls.enable` or `certManager.enabled`.
 */
function chartApiServiceSpecs(values: Record<string, unknown>): Record<string, unknown>[] {
  const rules = (values.rules ?? {}) as Record<string, unknown>;
  const tls = (values.tls ?? {}) as { enable?: boolean; ca?: string };
  const certManager = (values.certManager ?? {}) as { enabled?: boolean };
  const truthy = (v: unknown): boolean => (Array.isArray(v) ? v.length > 0 : Boolean(v));
  const groups = [
    ...(truthy(rules.default) || truthy(rules.custom) ? ["custom.metrics.k8s.io"] : []),
    ...(truthy(rules.external) ? ["external.metrics.k8s.io"] : []),
    ...(truthy(rules.resource) ? ["metrics.k8s.io"] : []),
  ];
  return groups.map((group) => ({
    group,
    service: { name: values.fullnameOverride },
    ...(tls.enable === true ? { caBundle: Buffer.from(tls.ca ?? "").toString("base64") } : {}),
    ...(tls.enable === true || certManager.enabled === true ? {} : { insecureSkipTLSVerify: true }),
  }));
}

/** Every default: the article's metric over 30 s, in the monitoring namespace. */
const config: MetricsAdapterSettings = {};

describe("MetricsAdapter", () => {
  it("pins prometheus-adapter in the monitoring namespace under a fixed release name", async () => {
    const { resources, adapter } = await render(config);
    expect(one(resources, RELEASE).inputs).toMatchObject({
      // The release name is the Service's, which the APIService and the serving certificate name.
      name: "gpushare-metrics-adapter",
      chart: PROMETHEUS_ADAPTER_CHART,
      version: "5.3.0",
      repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" },
      namespace: "monitoring",
    });
    expect(helmValues(resources).fullnameOverride).toBe("gpushare-metrics-adapter");
    expect(adapter.metricName).toBe("avg_time_queue_us");
  });

  it("serves gpushare's rule only, from its own ConfigMap, and from the given Prometheus", async () => {
    const { resources } = await render(config);
    const cm = one(resources, CONFIG_MAP, "rules");
    expect(cm.inputs.metadata).toEqual({
      namespace: "monitoring",
      labels: { "app.kubernetes.io/part-of": "gpushare" },
    });
    // The chart mounts the ConfigMap at /etc/adapter/ and runs the adapter with --config=/etc/adapter/config.yaml.
    expect(parse((cm.inputs.data as Record<string, string>)["config.yaml"])).toEqual({ rules: [RULE_30S] });
    const values = helmValues(resources);
    expect(values.rules).toEqual({ default: false, custom: [], existing: `${cm.name}-${MOCK_AUTONAME_SUFFIX}` });
    expect(values.prometheus).toEqual({
      url: "http://gpushare-monitoring-prometheus.monitoring.svc",
      port: 9090,
      path: "",
    });
  });

  it("splits an installed Prometheus's URL the way the chart joins it", async () => {
    const values = helmValues((await render(config, "https://prom.example.com/prometheus/")).resources);
    expect(values.prometheus).toEqual({ url: "https://prom.example.com", port: "", path: "/prometheus" });
  });

  it("uses the configured metric name and window", async () => {
    const { resources, adapter } = await render({ metricName: "triton_queue_us", window: "1m" });
    expect(adapter.metricName).toBe("triton_queue_us");
    expect(parse((one(resources, CONFIG_MAP, "rules").inputs.data as Record<string, string>)["config.yaml"])).toEqual({
      rules: [
        {
          ...RULE_30S,
          name: { matches: "^nv_inference_queue_duration_us$", as: "triton_queue_us" },
          metricsQuery:
            "sum by (<<.GroupBy>>) (increase(nv_inference_queue_duration_us{<<.LabelMatchers>>}[1m]))" +
            " / clamp_min(sum by (<<.GroupBy>>) (increase(nv_inference_request_success{<<.LabelMatchers>>}[1m])), 1)",
        },
      ],
    });
    expect(one(resources, CLUSTER_ROLE, "hpa-metrics-reader").inputs.rules).toEqual([
      { apiGroups: ["custom.metrics.k8s.io"], resources: ["pods/triton_queue_us"], verbs: ["get", "list"] },
    ]);
  });

  describe("least privilege", () => {
    it("turns the chart's RBAC and ServiceAccount off and runs as its own ServiceAccount", async () => {
      const { resources } = await render(config);
      const sa = one(resources, SERVICE_ACCOUNT);
      expect(sa.inputs.metadata).toEqual({ namespace: "monitoring" });
      const values = helmValues(resources);
      expect(values.rbac).toEqual({ create: false });
      expect(values.serviceAccount).toEqual({ create: false, name: `${sa.name}-${MOCK_AUTONAME_SUFFIX}` });
    });

    it("lets the adapter read pods and namespaces, and nothing else of the cluster", async () => {
      const { resources } = await render(config);
      expect(one(resources, CLUSTER_ROLE, "resource-reader").inputs.rules).toEqual([
        { apiGroups: [""], resources: ["namespaces", "pods"], verbs: ["get", "list", "watch"] },
      ]);
    });

    it("binds the adapter's ServiceAccount to its reader, auth-delegator and the kube-system auth reader", async () => {
      const { resources } = await render(config);
      const sa = {
        kind: "ServiceAccount",
        name: `${one(resources, SERVICE_ACCOUNT).name}-${MOCK_AUTONAME_SUFFIX}`,
        namespace: "monitoring",
      };
      const reader = one(resources, CLUSTER_ROLE, "resource-reader");
      expect(one(resources, CLUSTER_ROLE_BINDING, "resource-reader").inputs).toMatchObject({
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: `${reader.name}-${MOCK_AUTONAME_SUFFIX}`,
        },
        subjects: [sa],
      });
      expect(one(resources, CLUSTER_ROLE_BINDING, "auth-delegator").inputs).toMatchObject({
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
        subjects: [sa],
      });
      expect(one(resources, ROLE_BINDING, "auth-reader").inputs).toMatchObject({
        metadata: { namespace: "kube-system" },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "Role",
          name: "extension-apiserver-authentication-reader",
        },
        subjects: [sa],
      });
    });

    it("lets the HPA controller get the one custom metric of pods", async () => {
      const { resources } = await render(config);
      const role = one(resources, CLUSTER_ROLE, "hpa-metrics-reader");
      expect(role.inputs.rules).toEqual([
        { apiGroups: ["custom.metrics.k8s.io"], resources: ["pods/avg_time_queue_us"], verbs: ["get", "list"] },
      ]);
      expect(one(resources, CLUSTER_ROLE_BINDING, "hpa-metrics-reader").inputs).toMatchObject({
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: `${role.name}-${MOCK_AUTONAME_SUFFIX}`,
        },
        subjects: [{ kind: "ServiceAccount", name: "horizontal-pod-autoscaler", namespace: "kube-system" }],
      });
    });

    it("installs the chart only once its permissions, rule and serving certificate exist", async () => {
      const { resources } = await render(config);
      const rbac = [CLUSTER_ROLE, CLUSTER_ROLE_BINDING, ROLE_BINDING].flatMap((t) => ofType(resources, t));
      expect(rbac).toHaveLength(6);
      const before = [...rbac, one(resources, SECRET), one(resources, CONFIG_MAP, "rules")];
      expect(one(resources, RELEASE).dependencies).toEqual(expect.arrayContaining(before.map((r) => r.urn)));
    });
  });

  describe("verified TLS", () => {
    it("keeps the serving key in a kubernetes.io/tls Secret of its own", async () => {
      const { resources } = await render(config);
      const secret = one(resources, SECRET);
      const serving = one(resources, "tls:index/locallySignedCert:LocallySignedCert");
      const servingKey = one(resources, "tls:index/privateKey:PrivateKey", "serving-key");
      expect(secret.name).toBe("adapter-serving-tls");
      expect(secret.parent).toBe(one(resources, "gpushare:k8s:MetricsAdapter").urn);
      expect(secret.inputs.metadata).toEqual({
        namespace: "monitoring",
        labels: { "app.kubernetes.io/part-of": "gpushare" },
      });
      expect(secret.inputs.type).toBe("kubernetes.io/tls");
      expect(isSecretInput(secret.inputs.stringData)).toBe(true);
      expect(secret.additionalSecretOutputs).toEqual(expect.arrayContaining(["data", "stringData"]));
      expect(secret.additionalSecretOutputs).toEqual(expect.arrayContaining(["data", "stringData"]));
      expect(reveal(secret.inputs.stringData)).toEqual({
        "tls.crt": mockPem("CERTIFICATE", serving.name),
        "tls.key": mockPem("PRIVATE KEY", servingKey.name),
      });
    });

    it("mounts that Secret by name and serves with it, the chart's own TLS switches off", async () => {
      const { resources } = await render(config);
      const values = helmValues(resources);
      // tls.enable would render tls.key into the chart's Secret (templates/secret.yaml); with it and
      // certManager off, templates/deployment.yaml mounts no certificate and passes no --tls-*-file.
      expect(values.tls).toEqual({ enable: false });
      expect(values.certManager).toEqual({ enabled: false });
      expect(values.extraVolumes).toEqual([
        {
          name: "gpushare-serving-cert",
          secret: { secretName: `${one(resources, SECRET).name}-${MOCK_AUTONAME_SUFFIX}` },
        },
      ]);
      expect(values.extraVolumeMounts).toEqual([
        { name: "gpushare-serving-cert", mountPath: "/var/run/serving-cert", readOnly: true },
      ]);
      expect(values.extraArguments).toEqual([
        "--tls-cert-file=/var/run/serving-cert/tls.crt",
        "--tls-private-key-file=/var/run/serving-cert/tls.key",
      ]);
    });

    it("keeps the values plain: no private key, no secret input, no secret output", async () => {
      const { resources } = await render(config);
      const release = one(resources, RELEASE);
      expect(JSON.stringify(release.inputs.values)).not.toContain("PRIVATE KEY");
      expect(isSecretInput(release.inputs.values)).toBe(false);
      expect(release.additionalSecretOutputs).toEqual([]);
    });

    it("registers the APIService itself, trusting gpushare's CA, once the chart is installed", async () => {
      const { resources } = await render(config);
      const values = helmValues(resources);
      // With both rule switches off the chart renders no APIService, and with them on it could carry a CA only
      // from tls.ca with tls.enable, which puts the key in the values too.
      expect(chartApiServiceSpecs(values)).toEqual([]);
      const api = one(resources, API_SERVICE);
      const ca = one(resources, "tls:index/selfSignedCert:SelfSignedCert");
      expect(api.inputs.metadata).toEqual({
        name: "v1beta1.custom.metrics.k8s.io",
        labels: { "app.kubernetes.io/part-of": "gpushare" },
      });
      expect(api.inputs.spec).toEqual({
        group: "custom.metrics.k8s.io",
        version: "v1beta1",
        service: { name: "gpushare-metrics-adapter", namespace: "monitoring", port: 443 },
        caBundle: Buffer.from(mockPem("CERTIFICATE", ca.name)).toString("base64"),
        groupPriorityMinimum: 100,
        versionPriority: 100,
      });
      expect(values.service).toEqual({ port: 443 });
      expect(api.dependencies).toContain(one(resources, RELEASE).urn);
    });

    it("issues a CA and signs a serving certificate for the Service's DNS names with it", async () => {
      const { resources } = await render(config);
      const caKey = one(resources, "tls:index/privateKey:PrivateKey", "ca-key");
      const ca = one(resources, "tls:index/selfSignedCert:SelfSignedCert");
      expect(reveal(ca.inputs)).toEqual({
        privateKeyPem: mockPem("PRIVATE KEY", caKey.name),
        subject: { commonName: "gpushare metrics adapter CA", organization: "gpushare" },
        isCaCertificate: true,
        validityPeriodHours: CA_VALIDITY_HOURS,
        earlyRenewalHours: CA_EARLY_RENEWAL_HOURS,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
      });
      const csr = one(resources, "tls:index/certRequest:CertRequest");
      // The API server dials <service>.<namespace>.svc; the chart names the Service after fullnameOverride.
      expect(csr.inputs.dnsNames).toEqual([
        "gpushare-metrics-adapter",
        "gpushare-metrics-adapter.monitoring",
        "gpushare-metrics-adapter.monitoring.svc",
        "gpushare-metrics-adapter.monitoring.svc.cluster.local",
      ]);
      expect(reveal(one(resources, "tls:index/locallySignedCert:LocallySignedCert").inputs)).toEqual({
        certRequestPem: mockPem("CERTIFICATE REQUEST", csr.name),
        caPrivateKeyPem: mockPem("PRIVATE KEY", caKey.name),
        caCertPem: mockPem("CERTIFICATE", ca.name),
        validityPeriodHours: SERVING_CERT_VALIDITY_HOURS,
        earlyRenewalHours: SERVING_CERT_EARLY_RENEWAL_HOURS,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      });
    });

    it("renews early, but long before expiry, and the same way on every run", async () => {
      expect(CA_EARLY_RENEWAL_HOURS).toBeLessThan(CA_VALIDITY_HOURS / 2);
      expect(SERVING_CERT_EARLY_RENEWAL_HOURS).toBeLessThan(SERVING_CERT_VALIDITY_HOURS / 2);
      expect(SERVING_CERT_VALIDITY_HOURS).toBeLessThan(CA_VALIDITY_HOURS);
      const tlsInputs = (r: Rendered): unknown[] =>
        r.resources.filter((x) => x.type.startsWith("tls:")).map((x) => ({ name: x.name, inputs: x.inputs }));
      const first = tlsInputs(await render(config));
      expect(first).toHaveLength(5);
      expect(tlsInputs(await render(config))).toEqual(first);
    });
  });

  it("creates its own namespace when it does not share the monitoring one", async () => {
    const { resources } = await render({ namespace: "metrics" });
    expect(one(resources, "kubernetes:core/v1:Namespace").inputs.metadata).toEqual({ name: "metrics" });
    expect(one(resources, RELEASE).inputs.namespace).toBe("metrics");
    expect(one(resources, "tls:index/certRequest:CertRequest").inputs.dnsNames).toContain(
      "gpushare-metrics-adapter.metrics.svc",
    );
    expect(one(resources, SECRET).inputs.metadata).toMatchObject({ namespace: "metrics" });
    expect(one(resources, CONFIG_MAP, "rules").inputs.metadata).toMatchObject({ namespace: "metrics" });
    expect((one(resources, API_SERVICE).inputs.spec as { service: unknown }).service).toMatchObject({
      namespace: "metrics",
    });
  });

  it("shares a namespace another component creates, and creates none", async () => {
    const { resources } = await render(config);
    expect(ofType(resources, "kubernetes:core/v1:Namespace")).toEqual([]);
    expect(one(resources, RELEASE).inputs.namespace).toBe("monitoring");
  });

  it("installs the given chart version from the given repository", async () => {
    const { resources } = await render({ chartVersion: "5.4.0", repository: "https://charts.example.org" });
    expect(one(resources, RELEASE).inputs).toMatchObject({
      version: "5.4.0",
      repositoryOpts: { repo: "https://charts.example.org" },
    });
  });

  it("merges the extra values over its own", async () => {
    const { resources } = await render({ values: { resources: { requests: { cpu: "50m" } } } });
    expect(helmValues(resources).resources).toEqual({ requests: { cpu: "50m" } });
    expect(helmValues(resources).rbac).toEqual({ create: false });
  });

  it("records its arguments as the component's inputs", async () => {
    const { resources } = await render({ metricName: "triton_queue_us", window: "1m" });
    expect(one(resources, "gpushare:k8s:MetricsAdapter").inputs).toEqual({
      metricName: "triton_queue_us",
      window: "1m",
      prometheusUrl: PROMETHEUS_URL,
      namespaceReady: "monitoring",
    });
  });

  it("fails when the extra values set values gpushare owns", async () => {
    const bad: MetricsAdapterSettings = { values: { rbac: { create: true }, rules: { default: true } } };
    const { error, resources } = await renderFailure(bad);
    expect(resources).toEqual([]);
    expect(error).toBeInstanceOf(pulumi.InputPropertiesError);
    expect((error as pulumi.InputPropertiesError).message).toBe("MetricsAdapter adapter: values sets values it owns");
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      {
        propertyPath: "values.rules.default",
        reason: "gpushare sets this value itself; remove it and use nothing: gpushare serves its own rule only",
      },
      {
        propertyPath: "values.rbac",
        reason:
          "gpushare sets this value itself; remove it and use nothing: gpushare creates the adapter's least-privilege RBAC itself",
      },
    ]);
  });

  it("fails when the extra values would bring back the chart's APIService or move the certificate", async () => {
    const bad: MetricsAdapterSettings = {
      values: { service: { port: 8443 }, rules: { external: [{}] }, extraVolumes: [] },
    };
    const { error, resources } = await renderFailure(bad);
    expect(resources).toEqual([]);
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      {
        propertyPath: "values.service.port",
        reason: "gpushare sets this value itself; remove it and use port 443 (the APIService's backend)",
      },
      {
        propertyPath: "values.rules.external",
        reason:
          "gpushare sets this value itself; remove it and use nothing: the chart's APIService would skip TLS verification; gpushare serves its own",
      },
      {
        propertyPath: "values.extraVolumes",
        reason:
          "gpushare sets this value itself; remove it and use nothing: gpushare mounts its serving certificate Secret with it",
      },
    ]);
  });

  describe("with an adapter already installed", () => {
    const installed: MetricsAdapterSettings = { installed: true, namespace: "custom-metrics" };

    it("publishes its rule, as an adapter config file in a ConfigMap, and grants the HPA controller the metric", async () => {
      const { resources, adapter } = await render(installed);
      const cm = one(resources, "kubernetes:core/v1:ConfigMap");
      expect(cm.inputs.metadata).toMatchObject({ name: ADAPTER_RULES_CONFIG_MAP, namespace: "custom-metrics" });
      expect(parse((cm.inputs.data as Record<string, string>)["config.yaml"])).toEqual({ rules: [RULE_30S] });
      expect(
        resources
          .filter((r) => r.custom)
          .map((r) => r.type)
          .sort(),
      ).toEqual([
        "kubernetes:core/v1:ConfigMap",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
      ]);
      // The HPA controller is granted the one metric even though gpushare runs no adapter.
      const role = one(resources, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole");
      expect(role.inputs.rules).toEqual([
        { apiGroups: ["custom.metrics.k8s.io"], resources: ["pods/avg_time_queue_us"], verbs: ["get", "list"] },
      ]);
      const binding = one(resources, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding");
      expect(binding.inputs.subjects).toEqual([
        { kind: "ServiceAccount", name: "horizontal-pod-autoscaler", namespace: "kube-system" },
      ]);
      expect(adapter.metricName).toBe("avg_time_queue_us");
    });
  });
});

describe("the adapter's stack config", () => {
  it("fails when the metric name is not a Prometheus metric name", () => {
    expect(problemsOf(minimalConfig({ metricsAdapter: { metricName: "9-queue" } }))).toEqual([
      'metricsAdapter.metricName: "9-queue" is not a Prometheus metric name; use letters, digits, "_" and ":", not starting with a digit (e.g. avg_time_queue_us)',
    ]);
  });

  it.each(["30 seconds", "", "1.5m"])("fails when the window is %j", (window) => {
    expect(problemsOf(minimalConfig({ metricsAdapter: { window } }))).toEqual([
      `metricsAdapter.window: "${window}" is not a Prometheus duration; use e.g. 30s, 1m or 1m30s`,
    ]);
  });
});

describe("the prod platform", () => {
  /** Every value anywhere in a recorded input, with its key, secrets unwrapped. */
  function* entries(value: unknown, key = ""): Generator<[string, unknown]> {
    const v = reveal(value);
    yield [key, v];
    if (Array.isArray(v)) for (const x of v) yield* entries(x, key);
    else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) yield* entries(x, k);
  }

  async function renderProd(): Promise<RecordedResource[]> {
    return runProgram(() => new GpuInferencePlatform("gpushare", { config: stackFileConfig("prod") }), "prod");
  }

  it("grants no wildcard and binds nothing to cluster-admin", async () => {
    const resources = await renderProd();
    const roles = [...ofType(resources, CLUSTER_ROLE), ...ofType(resources, ROLE)];
    expect(roles.length).toBeGreaterThanOrEqual(2);
    for (const role of roles) {
      for (const rule of (role.inputs.rules ?? []) as Record<string, string[] | undefined>[]) {
        for (const field of ["verbs", "resources", "apiGroups", "nonResourceURLs"]) {
          expect({ role: role.name, field, values: rule[field] ?? [] }).toEqual({
            role: role.name,
            field,
            values: (rule[field] ?? []).filter((x) => !x.includes("*")),
          });
        }
      }
    }
    for (const binding of [...ofType(resources, CLUSTER_ROLE_BINDING), ...ofType(resources, ROLE_BINDING)]) {
      expect((binding.inputs.roleRef as { name: unknown }).name).not.toBe("cluster-admin");
    }
  });

  it("holds no password or private key in any Helm release, and marks no release output secret", async () => {
    const resources = await renderProd();
    const releases = ofType(resources, RELEASE);
    expect(releases.length).toBeGreaterThanOrEqual(2);
    for (const release of releases) {
      expect({ release: release.name, secret: isSecretInput(release.inputs.values) }).toEqual({
        release: release.name,
        secret: false,
      });
      expect({ release: release.name, outputs: release.additionalSecretOutputs }).toEqual({
        release: release.name,
        outputs: [],
      });
      expect(JSON.stringify(release.inputs.values)).not.toMatch(/PRIVATE KEY|mock-password/);
    }
  });

  it("skips TLS verification nowhere and gives every APIService a CA bundle", async () => {
    const resources = await renderProd();
    for (const r of resources) {
      for (const [key, value] of entries(r.inputs)) {
        if (key === "insecureSkipTLSVerify")
          expect({ resource: r.name, value }).toEqual({ resource: r.name, value: false });
      }
    }
    const apiServices = ofType(resources, API_SERVICE);
    expect(apiServices).toHaveLength(1);
    for (const api of apiServices) {
      expect((api.inputs.spec as Record<string, unknown>).caBundle).toEqual(expect.any(String));
    }
    expect(chartApiServiceSpecs(helmValues(resources, "metrics-adapter"))).toEqual([]);
  });
});
