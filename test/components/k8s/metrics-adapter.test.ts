import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ADAPTER_RULES_CONFIG_MAP, queueTimeRule } from "../../../components/k8s/adapter-rules";
import { ADAPTER_RELEASE_NAME } from "../../../components/k8s/adapter-values";
import {
  CA_EARLY_RENEWAL_HOURS,
  CA_VALIDITY_HOURS,
  MetricsAdapter,
  PROMETHEUS_ADAPTER_CHART,
  SERVING_CERT_EARLY_RENEWAL_HOURS,
  SERVING_CERT_VALIDITY_HOURS,
} from "../../../components/k8s/metrics-adapter";
import { MOCK_AUTONAME_SUFFIX, mockPem, type RecordedResource } from "../../../scripts/mock-runtime";
import { parseStackConfig, type StackConfig } from "../../../stacks/config";
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
  withUncheckedSettings,
} from "../../helpers";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole";
const CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding";
const ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role";
const ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";
const SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount";
const PROMETHEUS_URL = "http://gpushare-monitoring-prometheus.monitoring.svc:9090";

interface Rendered {
  readonly resources: RecordedResource[];
  readonly adapter: MetricsAdapter;
}

async function render(config: StackConfig, prometheusUrl = PROMETHEUS_URL): Promise<Rendered> {
  let adapter: MetricsAdapter | undefined;
  const resources = await runProgram(() => {
    adapter = new MetricsAdapter("adapter", {
      config,
      prometheusUrl: pulumi.output(prometheusUrl),
      namespaceReady: pulumi.output(config.raw.monitoring.namespace),
    });
  });
  if (adapter === undefined) throw new Error("MetricsAdapter was not constructed");
  return { resources, adapter };
}

/** The error constructing the adapter throws, and what was registered before it (nothing, if validated first). */
function renderFailure(config: StackConfig): Promise<{ error: unknown; resources: RecordedResource[] }> {
  return runFailing(
    () => new MetricsAdapter("adapter", { config, prometheusUrl: PROMETHEUS_URL, namespaceReady: "monitoring" }),
  );
}

/**
 * The APIService prometheus-adapter 5.3.0 renders from its values (templates/custom-metrics-apiservice.yaml):
 * `caBundle: b64enc tls.ca` when `tls.enable`; `insecureSkipTLSVerify: true` unless tls or cert-manager is on.
 */
function chartApiServiceSpec(values: Record<string, unknown>): Record<string, unknown> {
  const tls = (values.tls ?? {}) as { enable?: boolean; ca?: string };
  const certManager = (values.certManager ?? {}) as { enabled?: boolean };
  return {
    service: { name: values.fullnameOverride },
    ...(tls.enable === true ? { caBundle: Buffer.from(tls.ca ?? "").toString("base64") } : {}),
    ...(tls.enable === true || certManager.enabled === true ? {} : { insecureSkipTLSVerify: true }),
  };
}

const config = parseStackConfig(minimalConfig());

describe("MetricsAdapter", () => {
  it("pins prometheus-adapter in the monitoring namespace under a fixed release name", async () => {
    const { resources, adapter } = await render(config);
    expect(one(resources, RELEASE).inputs).toMatchObject({
      name: ADAPTER_RELEASE_NAME,
      chart: PROMETHEUS_ADAPTER_CHART,
      version: "5.3.0",
      repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" },
      namespace: "monitoring",
    });
    expect(helmValues(resources).fullnameOverride).toBe(ADAPTER_RELEASE_NAME);
    expect(adapter.metricName).toBe("avg_time_queue_us");
  });

  it("serves gpushare's rule only, from the given Prometheus", async () => {
    const values = helmValues((await render(config)).resources);
    expect(values.rules).toEqual({ default: false, custom: [queueTimeRule("avg_time_queue_us", "30s")] });
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
    const custom = parseStackConfig(minimalConfig({ metricsAdapter: { metricName: "triton_queue_us", window: "1m" } }));
    const { resources, adapter } = await render(custom);
    expect(adapter.metricName).toBe("triton_queue_us");
    expect((helmValues(resources).rules as { custom: unknown[] }).custom).toEqual([
      queueTimeRule("triton_queue_us", "1m"),
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

    it("installs the chart only once its permissions exist", async () => {
      const { resources } = await render(config);
      const rbac = [CLUSTER_ROLE, CLUSTER_ROLE_BINDING, ROLE_BINDING].flatMap((t) => ofType(resources, t));
      expect(rbac).toHaveLength(6);
      expect(one(resources, RELEASE).dependencies).toEqual(expect.arrayContaining(rbac.map((r) => r.urn)));
    });
  });

  describe("verified TLS", () => {
    it("has the chart's APIService trust gpushare's CA instead of skipping verification", async () => {
      const { resources } = await render(config);
      const values = helmValues(resources);
      const ca = one(resources, "tls:index/selfSignedCert:SelfSignedCert");
      const serving = one(resources, "tls:index/locallySignedCert:LocallySignedCert");
      const servingKey = one(resources, "tls:index/privateKey:PrivateKey", "serving-key");
      expect(values.tls).toEqual({
        enable: true,
        ca: mockPem("CERTIFICATE", ca.name),
        key: mockPem("PRIVATE KEY", servingKey.name),
        certificate: mockPem("CERTIFICATE", serving.name),
      });
      expect(values.certManager).toBeUndefined();
      expect(chartApiServiceSpec(values)).toEqual({
        service: { name: ADAPTER_RELEASE_NAME },
        caBundle: Buffer.from(mockPem("CERTIFICATE", ca.name)).toString("base64"),
      });
    });

    it("keeps the serving key secret in state", async () => {
      const { resources } = await render(config);
      const release = one(resources, RELEASE);
      expect(isSecretInput(release.inputs.values)).toBe(true);
      expect(release.additionalSecretOutputs).toEqual(["values", "manifest"]);
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
    const { resources } = await render(parseStackConfig(minimalConfig({ metricsAdapter: { namespace: "metrics" } })));
    expect(one(resources, "kubernetes:core/v1:Namespace").inputs.metadata).toEqual({ name: "metrics" });
    expect(one(resources, RELEASE).inputs.namespace).toBe("metrics");
    expect(one(resources, "tls:index/certRequest:CertRequest").inputs.dnsNames).toContain(
      "gpushare-metrics-adapter.metrics.svc",
    );
  });

  it("fails when metricsAdapter.values sets values gpushare owns", async () => {
    const bad = withUncheckedSettings(config, "metricsAdapter", {
      values: { rbac: { create: true }, rules: { default: true } },
    });
    const { error, resources } = await renderFailure(bad);
    expect(resources).toEqual([]);
    expect(error).toBeInstanceOf(pulumi.InputPropertiesError);
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      {
        propertyPath: "metricsAdapter.values.rules.default",
        reason: "gpushare sets this value itself; remove it and use nothing: gpushare serves its own rule only",
      },
      {
        propertyPath: "metricsAdapter.values.rbac",
        reason:
          "gpushare sets this value itself; remove it and use nothing: gpushare creates the adapter's least-privilege RBAC itself",
      },
    ]);
  });

  describe("with an adapter already installed", () => {
    const installed = parseStackConfig(
      minimalConfig({ metricsAdapter: { installed: true, namespace: "custom-metrics" } }),
    );

    it("only publishes its rule, as an adapter config file in a ConfigMap", async () => {
      const { resources, adapter } = await render(installed);
      const cm = one(resources, "kubernetes:core/v1:ConfigMap");
      expect(cm.inputs.metadata).toMatchObject({ name: ADAPTER_RULES_CONFIG_MAP, namespace: "custom-metrics" });
      expect(parse((cm.inputs.data as Record<string, string>)["config.yaml"])).toEqual({
        rules: [queueTimeRule("avg_time_queue_us", "30s")],
      });
      expect(resources.filter((r) => r.custom).map((r) => r.type)).toEqual(["kubernetes:core/v1:ConfigMap"]);
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

  it("skips TLS verification nowhere and gives every APIService a CA bundle", async () => {
    const resources = await renderProd();
    for (const r of resources) {
      for (const [key, value] of entries(r.inputs)) {
        if (key === "insecureSkipTLSVerify")
          expect({ resource: r.name, value }).toEqual({ resource: r.name, value: false });
      }
    }
    for (const api of ofType(resources, "kubernetes:apiregistration.k8s.io/v1:APIService")) {
      expect((api.inputs.spec as Record<string, unknown>).caBundle).toEqual(expect.any(String));
    }
    const adapterValues = helmValues(resources, "metrics-adapter");
    expect(chartApiServiceSpec(adapterValues).insecureSkipTLSVerify).toBeUndefined();
  });
});
