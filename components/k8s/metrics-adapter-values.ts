import type * as pulumi from "@pulumi/pulumi";
import type { ChartPrometheusUrl } from "./metrics-adapter-rules";
import type { Problem } from "../../problems";
import { deepMerge, type OwnedValue, ownedValuesSet, type Values } from "./helm-values";

/**
 * Pure builders behind the `MetricsAdapter` component: its settings, the prometheus-adapter values, the names its
 * serving certificate covers, and the check of its extra values. No Pulumi runtime import.
 */

/**
 * The `MetricsAdapter` component's settings as plain data; `MetricsAdapterArgs` adds the Prometheus it queries.
 * @see https://github.com/prometheus-community/helm-charts/tree/main/charts/prometheus-adapter
 */
export interface MetricsAdapterSettings {
  /**
   * An adapter runs already: write only gpushare's rule, as a ConfigMap that adapter must be configured to load.
   * @default false
   */
  readonly installed?: boolean;
  /**
   * Namespace of the adapter and its objects; created unless `installed` or given as `namespaceReady`.
   * @default "monitoring"
   */
  readonly namespace?: string;
  /**
   * Version of the prometheus-adapter chart.
   * @default - `DEFAULT_PROMETHEUS_ADAPTER_CHART_VERSION` (components/defaults.ts)
   */
  readonly chartVersion?: string;
  /**
   * Helm repository of the chart.
   * @default - the prometheus-community repository
   */
  readonly repository?: string;
  /**
   * The custom metric the API serves and the HPAs scale on: Triton's queue time per request, µs.
   * @default "avg_time_queue_us"
   */
  readonly metricName?: string;
  /**
   * The Prometheus duration the metric averages over; at least two scrapes of Triton (see `queueTimeRule`).
   * @default "30s"
   */
  readonly window?: string;
  /**
   * Chart values merged over the component's own; those it owns ({@link OWNED_ADAPTER_VALUES}) are refused.
   * @default {}
   */
  readonly values?: Values;
}

/**
 * The Helm release name and the chart's `fullnameOverride`, hence the name of the adapter's Service. A
 * contract: the APIService points at that Service and the serving certificate is issued for its DNS name.
 */
export const ADAPTER_RELEASE_NAME = "gpushare-metrics-adapter";

/** The port of the chart's Service (`service.port`, the chart's default), which the APIService dials. */
export const ADAPTER_SERVICE_PORT = 443;
/** Where the adapter's container finds its serving certificate (`tls.crt`, `tls.key` of a kubernetes.io/tls Secret). */
export const SERVING_CERT_MOUNT_PATH = "/var/run/serving-cert";
/** The pod volume carrying the serving certificate; not `volume-serving-cert`, the name of the chart's own. */
export const SERVING_CERT_VOLUME = "gpushare-serving-cert";

const SERVING_CERT = "nothing: gpushare mounts its serving certificate Secret with it";
const CHART_API_SERVICE = "nothing: the chart's APIService would skip TLS verification; gpushare serves its own";

/** The prometheus-adapter values the `MetricsAdapter` component owns; its `values` argument may not set them. */
export const OWNED_ADAPTER_VALUES: readonly OwnedValue[] = [
  { path: ["fullnameOverride"], use: `the release name ${ADAPTER_RELEASE_NAME} (the serving certificate's DNS name)` },
  { path: ["namespaceOverride"], use: "the namespace argument" },
  { path: ["service", "port"], use: `port ${ADAPTER_SERVICE_PORT} (the APIService's backend)` },
  { path: ["prometheus"], use: "the prometheusUrl argument" },
  { path: ["rules", "default"], use: "nothing: gpushare serves its own rule only" },
  { path: ["rules", "custom"], use: "the metricName and window arguments" },
  { path: ["rules", "existing"], use: "the metricName and window arguments" },
  { path: ["rules", "external"], use: CHART_API_SERVICE },
  { path: ["rules", "resource"], use: CHART_API_SERVICE },
  { path: ["rbac"], use: "nothing: gpushare creates the adapter's least-privilege RBAC itself" },
  { path: ["serviceAccount"], use: "nothing: gpushare creates the adapter's ServiceAccount" },
  { path: ["tls"], use: "nothing: gpushare issues the adapter's serving certificate" },
  { path: ["certManager"], use: "nothing: gpushare issues the adapter's serving certificate" },
  { path: ["extraArguments"], use: SERVING_CERT },
  { path: ["extraVolumes"], use: SERVING_CERT },
  { path: ["extraVolumeMounts"], use: SERVING_CERT },
];

/** The DNS names the adapter's serving certificate covers; the API server dials `<service>.<namespace>.svc`. */
export function servingDnsNames(namespace: string): string[] {
  const svc = ADAPTER_RELEASE_NAME;
  return [svc, `${svc}.${namespace}`, `${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.cluster.local`];
}

/**
 * prometheus-adapter values that hold no secret, only the names of the objects gpushare creates: Prometheus's
 * address, the rule ConfigMap (`rules.existing`), the ServiceAccount, and the kubernetes.io/tls Secret the adapter
 * serves with. What prometheus-adapter 5.3.0's templates do with them:
 * - `tls.enable` would render the key into the chart's own Secret (templates/secret.yaml, `b64enc .Values.tls.key`),
 *   so it stays off, as does `certManager.enabled` (templates/certmanager.yaml needs cert-manager). With both
 *   off, templates/deployment.yaml neither mounts `volume-serving-cert` nor passes `--tls-*-file`; the adapter
 *   would serve a self-signed certificate from `--cert-dir`. `extraVolumes`, `extraVolumeMounts` and
 *   `extraArguments` mount gpushare's Secret and point the flags at it instead.
 * - templates/custom-metrics-apiservice.yaml renders the APIService whenever `rules.default` or `rules.custom`
 *   is set, and with neither TLS switch on it sets `insecureSkipTLSVerify: true`; its `caBundle` comes only from
 *   `tls.ca` with `tls.enable`. There is no switch for the APIService alone, and no existing-Secret value. So
 *   both rule switches stay off, the rule comes from gpushare's ConfigMap (`rules.existing`, which also skips
 *   templates/configmap.yaml), and the `MetricsAdapter` creates the APIService with gpushare's CA as `caBundle`.
 *   `rules.external` and `rules.resource` stay unset: they render APIServices of the same kind
 *   (templates/external-metrics-apiservice.yaml, resource-metrics-apiservice.yaml).
 * The extra `values` are merged last; keys gpushare owns are refused.
 * @see https://github.com/prometheus-community/helm-charts/tree/main/charts/prometheus-adapter/templates
 */
export function adapterValues(
  settings: Pick<MetricsAdapterSettings, "values">,
  parts: {
    readonly prometheus: pulumi.Input<ChartPrometheusUrl>;
    readonly serviceAccountName: pulumi.Input<string>;
    /** The ConfigMap holding the adapter's config file under `config.yaml`. */
    readonly rulesConfigMapName: pulumi.Input<string>;
    /** The kubernetes.io/tls Secret holding the serving certificate and key. */
    readonly servingSecretName: pulumi.Input<string>;
  },
): Values {
  const values: Values = {
    fullnameOverride: ADAPTER_RELEASE_NAME,
    service: { port: ADAPTER_SERVICE_PORT },
    prometheus: parts.prometheus,
    rules: { default: false, custom: [], existing: parts.rulesConfigMapName },
    rbac: { create: false },
    serviceAccount: { create: false, name: parts.serviceAccountName },
    tls: { enable: false },
    certManager: { enabled: false },
    extraArguments: [
      `--tls-cert-file=${SERVING_CERT_MOUNT_PATH}/tls.crt`,
      `--tls-private-key-file=${SERVING_CERT_MOUNT_PATH}/tls.key`,
    ],
    extraVolumes: [{ name: SERVING_CERT_VOLUME, secret: { secretName: parts.servingSecretName } }],
    extraVolumeMounts: [{ name: SERVING_CERT_VOLUME, mountPath: SERVING_CERT_MOUNT_PATH, readOnly: true }],
  };
  return deepMerge(values, settings.values ?? {});
}

/**
 * Extra values that would overwrite what the component owns (none when `installed`: no chart is installed).
 *
 * @param at where the caller's input holds these settings, as a path prefix of the messages (`""` for the
 * component's own arguments).
 * @param owned the owned values, with the `use` hints the caller's input offers.
 */
export function adapterSettingsProblems(
  settings: Pick<MetricsAdapterSettings, "installed" | "values">,
  at = "",
  owned: readonly OwnedValue[] = OWNED_ADAPTER_VALUES,
): Problem[] {
  if (settings.installed ?? false) return [];
  return ownedValuesSet(settings.values ?? {}, owned, `${at}values`);
}
