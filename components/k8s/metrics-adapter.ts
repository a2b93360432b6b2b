import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { inputPropertyErrors } from "../../problems";
import {
  DEFAULT_CUSTOM_METRIC_NAME,
  DEFAULT_METRIC_WINDOW,
  DEFAULT_MONITORING_NAMESPACE,
  DEFAULT_PROMETHEUS_ADAPTER_CHART_VERSION,
  DEFAULT_PROMETHEUS_COMMUNITY_REPOSITORY,
} from "../defaults";
import {
  ADAPTER_RULES_CONFIG_KEY,
  type AdapterRule,
  ADAPTER_RULES_CONFIG_MAP,
  adapterConfigYaml,
  queueTimeRule,
  splitPrometheusUrl,
} from "./metrics-adapter-rules";
import {
  ADAPTER_RELEASE_NAME,
  ADAPTER_SERVICE_PORT,
  adapterSettingsProblems,
  adapterValues,
  type MetricsAdapterSettings,
  servingDnsNames,
} from "./metrics-adapter-values";

export const PROMETHEUS_ADAPTER_CHART = "prometheus-adapter";
export const CUSTOM_METRICS_API_GROUP = "custom.metrics.k8s.io";
export const CUSTOM_METRICS_API_VERSION = "v1beta1";
/**
 * The identity kube-controller-manager's HPA controller calls the custom metrics API with
 * (`--use-service-account-credentials`, the default of kubeadm and most distributions).
 */
export const HPA_CONTROLLER_SERVICE_ACCOUNT = { name: "horizontal-pod-autoscaler", namespace: "kube-system" } as const;

/**
 * Lifetimes of the adapter's CA and serving certificate, hours. `earlyRenewalHours` makes a `pulumi up` inside
 * that many hours of expiry issue a new certificate; until then runs change nothing. The serving certificate
 * is renewed well before the CA, and a new CA re-issues it.
 */
export const CA_VALIDITY_HOURS = 10 * 365 * 24;
export const CA_EARLY_RENEWAL_HOURS = 365 * 24;
export const SERVING_CERT_VALIDITY_HOURS = 5 * 365 * 24;
export const SERVING_CERT_EARLY_RENEWAL_HOURS = 180 * 24;

/** The adapter's settings (`MetricsAdapterSettings`) and the Prometheus it queries. */
export interface MetricsAdapterArgs extends MetricsAdapterSettings {
  /** URL of the Prometheus the adapter queries, e.g. `http://gpushare-monitoring-prometheus.monitoring.svc:9090`. */
  readonly prometheusUrl: pulumi.Input<string>;
  /**
   * The name of `namespace` from the resource that creates it, when another component does (`Monitoring`'s
   * `namespaceReady`, when the adapter shares its namespace): the adapter then creates none and waits for it.
   * @default - the adapter creates `namespace` itself, unless `installed`.
   */
  readonly namespaceReady?: pulumi.Input<string>;
}

/** A RBAC policy rule, as plain data. */
export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/**
 * What the adapter reads of the cluster. Its rule maps series to pods and namespaces only, and it lists the
 * pods an HPA's selector matches. The chart's resource reader adds services and configmaps, the upstream
 * manifests nodes and services: none of them is named by this rule (nodes serve only resource metrics, which
 * gpushare does not enable).
 */
export const ADAPTER_RESOURCE_READER_RULES: readonly PolicyRule[] = [
  { apiGroups: [""], resources: ["namespaces", "pods"], verbs: ["get", "list", "watch"] },
];

/**
 * What the HPA controller may read of the custom metrics API: gpushare's one metric of pods. Its request,
 * `GET /apis/custom.metrics.k8s.io/v1beta1/namespaces/<ns>/pods/<name or all>/<metric>`, is authorized as
 * resource `pods`, subresource `<metric>`. The chart's `server-resources` role grants every verb on every
 * resource (`*`) instead.
 */
export function hpaMetricsReaderRules(metricName: string): PolicyRule[] {
  return [{ apiGroups: [CUSTOM_METRICS_API_GROUP], resources: [`pods/${metricName}`], verbs: ["get", "list"] }];
}

const PART_OF_GPUSHARE = { "app.kubernetes.io/part-of": "gpushare" };

/** The adapter's CA and the serving certificate it signs, with that certificate's key. */
interface ServingCertificates {
  readonly ca: tls.SelfSignedCert;
  readonly servingKey: tls.PrivateKey;
  readonly serving: tls.LocallySignedCert;
}

/** The objects of gpushare's own that the chart's values name. */
interface KeyAndRule {
  readonly servingSecret: k8s.core.v1.Secret;
  readonly rules: k8s.core.v1.ConfigMap;
}

function k8sRules(rules: readonly PolicyRule[]): k8s.types.input.rbac.v1.PolicyRule[] {
  return rules.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] }));
}

/**
 * prometheus-adapter serving the custom metric the Triton HPAs scale on, with least-privilege RBAC and a
 * verified TLS connection from the API server; or, with `installed`, the rule as a ConfigMap
 * (`gpushare-adapter-rules`) that the adapter which already runs must be configured to load. Either way the HPA
 * controller is granted the one metric (`<name>-hpa-metrics-reader`).
 */
export class MetricsAdapter extends pulumi.ComponentResource {
  /** The custom metric HPAs scale on. */
  public readonly metricName: string;

  constructor(name: string, args: MetricsAdapterArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before anything is registered: bad arguments create nothing.
    throwOnOwnedValues(name, args);
    super("gpushare:k8s:MetricsAdapter", name, args, opts);
    const installed = args.installed ?? false;
    const namespaceName = args.namespace ?? DEFAULT_MONITORING_NAMESPACE;
    this.metricName = args.metricName ?? DEFAULT_CUSTOM_METRIC_NAME;
    const rule = queueTimeRule(this.metricName, args.window ?? DEFAULT_METRIC_WINDOW);

    const namespace = this.resolveNamespace(name, args, installed, namespaceName);
    const hpaReader = this.hpaMetricsReader(name);
    if (installed) {
      this.rulesForInstalledAdapter(name, namespace, namespaceName, rule);
    } else {
      const serviceAccount = new k8s.core.v1.ServiceAccount(
        `${name}-sa`,
        { metadata: { namespace } },
        { parent: this },
      );
      const rbac = [...hpaReader, ...this.adapterRbac(name, serviceAccount, namespace)];
      const certs = this.servingCertificates(name, namespaceName);
      const objects = this.keyAndRule(name, namespace, certs, rule);
      const release = this.release(name, args, namespace, serviceAccount, objects, rbac);
      this.apiService(name, namespace, certs.ca, release);
    }
    this.registerOutputs({ metricName: this.metricName });
  }

  /** The name of the adapter's namespace: another component's, the installed adapter's, or one of its own. */
  private resolveNamespace(
    name: string,
    args: MetricsAdapterArgs,
    installed: boolean,
    namespaceName: string,
  ): pulumi.Output<string> {
    if (args.namespaceReady !== undefined) return pulumi.output(args.namespaceReady);
    if (installed) return pulumi.output(namespaceName);
    return new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: namespaceName } }, { parent: this })
      .metadata.name;
  }

  /**
   * The HPA controller may read the one metric the HPAs scale on, whoever runs the adapter. Kubernetes' bootstrap
   * role of the HPA controller grants every custom metric today; this grant does not depend on it.
   */
  private hpaMetricsReader(name: string): pulumi.Resource[] {
    const hpaReader = new k8s.rbac.v1.ClusterRole(
      `${name}-hpa-metrics-reader`,
      { rules: k8sRules(hpaMetricsReaderRules(this.metricName)) },
      { parent: this },
    );
    const hpaReaderBinding = new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-hpa-metrics-reader`,
      {
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: hpaReader.metadata.name },
        subjects: [{ kind: "ServiceAccount", ...HPA_CONTROLLER_SERVICE_ACCOUNT }],
      },
      { parent: this },
    );
    return [hpaReader, hpaReaderBinding];
  }

  /** The rule, in a ConfigMap of a fixed name that the adapter installed outside gpushare must be told to load. */
  private rulesForInstalledAdapter(
    name: string,
    namespace: pulumi.Output<string>,
    namespaceName: string,
    rule: AdapterRule,
  ): void {
    new k8s.core.v1.ConfigMap(
      `${name}-rules`,
      {
        metadata: { name: ADAPTER_RULES_CONFIG_MAP, namespace, labels: PART_OF_GPUSHARE },
        data: { [ADAPTER_RULES_CONFIG_KEY]: adapterConfigYaml([rule]) },
      },
      { parent: this },
    );
    pulumi.log.warn(
      `the adapter is installed outside gpushare, which does not configure it; add the rule in ConfigMap ${namespaceName}/${ADAPTER_RULES_CONFIG_MAP} to its config, or the HPAs find no metric ${this.metricName}`,
      this,
    );
  }

  /** What the adapter's own ServiceAccount may do: read pods and namespaces, and ask who calls it. */
  private adapterRbac(
    name: string,
    serviceAccount: k8s.core.v1.ServiceAccount,
    namespace: pulumi.Output<string>,
  ): pulumi.Resource[] {
    const subject = { kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace };
    const reader = new k8s.rbac.v1.ClusterRole(
      `${name}-resource-reader`,
      { rules: k8sRules(ADAPTER_RESOURCE_READER_RULES) },
      { parent: this },
    );
    return [
      reader,
      new k8s.rbac.v1.ClusterRoleBinding(
        `${name}-resource-reader`,
        {
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: reader.metadata.name },
          subjects: [subject],
        },
        { parent: this },
      ),
      // Delegated authentication and authorization: the adapter asks the API server (TokenReview,
      // SubjectAccessReview) who is calling and whether they may.
      new k8s.rbac.v1.ClusterRoleBinding(
        `${name}-auth-delegator`,
        {
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
          subjects: [subject],
        },
        { parent: this },
      ),
      // The client-CA ConfigMap an extension API server reads lives in kube-system; the Role exists there
      // and this binding grants only it.
      new k8s.rbac.v1.RoleBinding(
        `${name}-auth-reader`,
        {
          metadata: { namespace: "kube-system" },
          roleRef: {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "Role",
            name: "extension-apiserver-authentication-reader",
          },
          subjects: [subject],
        },
        { parent: this },
      ),
    ];
  }

  /**
   * A CA of the adapter's own signs its serving certificate; the APIService trusts that CA alone. Nothing
   * here depends on the clock, so runs are stable until the early-renewal window.
   */
  private servingCertificates(name: string, namespaceName: string): ServingCertificates {
    const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
    const ca = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: caKey.privateKeyPem,
        subject: { commonName: "gpushare metrics adapter CA", organization: "gpushare" },
        isCaCertificate: true,
        validityPeriodHours: CA_VALIDITY_HOURS,
        earlyRenewalHours: CA_EARLY_RENEWAL_HOURS,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
      },
      { parent: this },
    );
    const servingKey = new tls.PrivateKey(
      `${name}-serving-key`,
      { algorithm: "ECDSA", ecdsaCurve: "P256" },
      { parent: this },
    );
    const dnsNames = servingDnsNames(namespaceName);
    const csr = new tls.CertRequest(
      `${name}-serving-csr`,
      {
        privateKeyPem: servingKey.privateKeyPem,
        subject: { commonName: dnsNames[2], organization: "gpushare" },
        dnsNames,
      },
      { parent: this },
    );
    const serving = new tls.LocallySignedCert(
      `${name}-serving-cert`,
      {
        certRequestPem: csr.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: ca.certPem,
        validityPeriodHours: SERVING_CERT_VALIDITY_HOURS,
        earlyRenewalHours: SERVING_CERT_EARLY_RENEWAL_HOURS,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      },
      { parent: this },
    );
    return { ca, servingKey, serving };
  }

  /**
   * The key and the rule live in objects of gpushare's own, which the values name, so the values hold no
   * secret (adapterValues says what the chart's templates would do instead). Both are named by Pulumi: the
   * provider replaces a Secret or ConfigMap whose data changes, so a new certificate or rule is a new name in
   * the values and rolls the adapter, which the chart's config checksum no longer does.
   */
  private keyAndRule(
    name: string,
    namespace: pulumi.Output<string>,
    certs: ServingCertificates,
    rule: AdapterRule,
  ): KeyAndRule {
    const servingSecret = new k8s.core.v1.Secret(
      `${name}-serving-tls`,
      {
        metadata: { namespace, labels: PART_OF_GPUSHARE },
        type: "kubernetes.io/tls",
        stringData: { "tls.crt": certs.serving.certPem, "tls.key": pulumi.secret(certs.servingKey.privateKeyPem) },
      },
      { parent: this },
    );
    const rules = new k8s.core.v1.ConfigMap(
      `${name}-rules`,
      {
        metadata: { namespace, labels: PART_OF_GPUSHARE },
        data: { [ADAPTER_RULES_CONFIG_KEY]: adapterConfigYaml([rule]) },
      },
      { parent: this },
    );
    return { servingSecret, rules };
  }

  private release(
    name: string,
    args: MetricsAdapterArgs,
    namespace: pulumi.Output<string>,
    serviceAccount: k8s.core.v1.ServiceAccount,
    { servingSecret, rules }: KeyAndRule,
    rbac: readonly pulumi.Resource[],
  ): k8s.helm.v3.Release {
    return new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: ADAPTER_RELEASE_NAME,
        chart: PROMETHEUS_ADAPTER_CHART,
        version: args.chartVersion ?? DEFAULT_PROMETHEUS_ADAPTER_CHART_VERSION,
        repositoryOpts: { repo: args.repository ?? DEFAULT_PROMETHEUS_COMMUNITY_REPOSITORY },
        namespace,
        values: adapterValues(args, {
          prometheus: pulumi.output(args.prometheusUrl).apply(splitPrometheusUrl),
          serviceAccountName: serviceAccount.metadata.name,
          rulesConfigMapName: rules.metadata.name,
          servingSecretName: servingSecret.metadata.name,
        }),
        timeout: 600,
      },
      // The adapter starts serving as soon as it runs: its permissions, rule and certificate must exist first.
      // No output is secret: the chart renders no Secret with `tls.enable` off, so neither the values nor the
      // manifest holds the key.
      { parent: this, dependsOn: [...rbac, servingSecret, rules] },
    );
  }

  /**
   * The chart's own APIService is off (see adapterValues). After the release: an APIService whose backend
   * does not answer yet fails the API server's discovery, and an upgrade from a release that rendered one
   * removes it before this one takes the name.
   */
  private apiService(
    name: string,
    namespace: pulumi.Output<string>,
    ca: tls.SelfSignedCert,
    release: k8s.helm.v3.Release,
  ): void {
    new k8s.apiregistration.v1.APIService(
      `${name}-apiservice`,
      {
        // The API server requires the name `<version>.<group>`.
        metadata: { name: `${CUSTOM_METRICS_API_VERSION}.${CUSTOM_METRICS_API_GROUP}`, labels: PART_OF_GPUSHARE },
        spec: {
          group: CUSTOM_METRICS_API_GROUP,
          version: CUSTOM_METRICS_API_VERSION,
          service: { name: ADAPTER_RELEASE_NAME, namespace, port: ADAPTER_SERVICE_PORT },
          caBundle: ca.certPem.apply((pem) => Buffer.from(pem).toString("base64")),
          // The chart's priorities, so discovery orders the group as it did when the chart rendered it.
          groupPriorityMinimum: 100,
          versionPriority: 100,
        },
      },
      { parent: this, dependsOn: [release] },
    );
  }
}

function throwOnOwnedValues(name: string, args: MetricsAdapterArgs): void {
  const errors = adapterSettingsProblems(args);
  if (errors.length === 0) return;
  throw new pulumi.InputPropertiesError({
    message: `MetricsAdapter ${name}: values sets values it owns`,
    errors: inputPropertyErrors(errors),
  });
}
