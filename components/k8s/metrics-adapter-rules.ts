import { stringify } from "yaml";

/**
 * Pure builders behind the `MetricsAdapter` component: the prometheus-adapter rule that turns Triton's queue
 * counters into the custom metric the HPAs scale on, the adapter config file gpushare hands to an adapter it
 * does not manage, and the split of a Prometheus URL into the chart's `prometheus.url`/`port`/`path`.
 * No Pulumi import.
 * @see https://github.com/kubernetes-sigs/prometheus-adapter/blob/master/docs/config.md
 */

/** Triton's cumulative time requests spent in the scheduling queue, µs (a counter, per model and version). */
export const TRITON_QUEUE_DURATION_METRIC = "nv_inference_queue_duration_us";
/** Triton's count of successful inference requests (a counter, per model and version). */
export const TRITON_REQUEST_SUCCESS_METRIC = "nv_inference_request_success";

/**
 * Name of the ConfigMap that carries gpushare's adapter rule when the `MetricsAdapter` is `installed`. A
 * contract: the adapter installed outside gpushare must load the rule from it (or copy it into its own config).
 */
export const ADAPTER_RULES_CONFIG_MAP = "gpushare-adapter-rules";
/** The key of {@link ADAPTER_RULES_CONFIG_MAP} holding an adapter config file (`rules:` list). */
export const ADAPTER_RULES_CONFIG_KEY = "config.yaml";

/** One entry of prometheus-adapter's `rules` (the chart's `rules.custom[]`). */
export interface AdapterRule {
  /** The series the adapter discovers; only series with both a namespace and a pod label can name a pod. */
  readonly seriesQuery: string;
  /** How series labels map to Kubernetes objects. */
  readonly resources: { readonly overrides: Readonly<Record<string, { readonly resource: string }>> };
  /** Renames the discovered series to the metric the API serves. */
  readonly name: { readonly matches: string; readonly as: string };
  /** The query the adapter runs per request; `<<.LabelMatchers>>` and `<<.GroupBy>>` are the adapter's templates. */
  readonly metricsQuery: string;
}

/**
 * The rule behind the custom metric: average queue time per successful request, µs, per pod, over `window`.
 *
 * Both Triton series are counters, so the window's growth is taken with `increase()`; the article's `delta()`
 * is meant for gauges and reads a counter reset (a restarted pod) as a huge negative value. Per pod the queue
 * time and the request count are summed over the pod's models first and divided after, which weighs every
 * request equally rather than averaging per-model ratios.
 *
 * An idle pod has no requests in the window: `x / 0` would be NaN (0/0) or +Inf. The count is floored at 1
 * with `clamp_min(..., 1)`, so an idle pod reports 0 µs and the HPA can scale down to `minReplicas`. Dropping
 * the idle series instead (`> 0`) would leave the HPA without a value for those pods, and with none for a
 * wholly idle server it could never scale down. Below one request per window the floor understates the
 * average, which only matters when there is no load to scale for.
 *
 * `window` must span at least two scrapes of the Triton PodMonitor, or `increase()` has too few samples and
 * returns nothing; the stack's config check refuses a shorter one.
 *
 * @param metricName the name the custom metrics API serves (the adapter's `metricName`), e.g. `avg_time_queue_us`.
 * @param window a Prometheus duration (the adapter's `window`), e.g. `30s`.
 */
export function queueTimeRule(metricName: string, window: string): AdapterRule {
  const perPod = (metric: string): string =>
    `sum by (<<.GroupBy>>) (increase(${metric}{<<.LabelMatchers>>}[${window}]))`;
  return {
    seriesQuery: `${TRITON_QUEUE_DURATION_METRIC}{namespace!="",pod!=""}`,
    resources: { overrides: { namespace: { resource: "namespace" }, pod: { resource: "pod" } } },
    name: { matches: `^${TRITON_QUEUE_DURATION_METRIC}$`, as: metricName },
    metricsQuery: `${perPod(TRITON_QUEUE_DURATION_METRIC)} / clamp_min(${perPod(TRITON_REQUEST_SUCCESS_METRIC)}, 1)`,
  };
}

/** An adapter config file (what the adapter's `--config` flag reads) holding `rules`. */
export function adapterConfigYaml(rules: readonly AdapterRule[]): string {
  return stringify({ rules });
}

/** The parts of a Prometheus URL as the prometheus-adapter chart takes them. */
export interface ChartPrometheusUrl {
  /** Scheme and host, e.g. `http://gpushare-monitoring-prometheus.monitoring.svc`. */
  readonly url: string;
  /** The port, or `""` for the scheme's default (the chart then appends no port). */
  readonly port: number | "";
  /** The path below the host without a trailing slash, or `""`. */
  readonly path: string;
}

/**
 * Splits a Prometheus URL into the chart's `prometheus.url`, `prometheus.port` and `prometheus.path`, which the
 * chart joins back as `--prometheus-url=<url>[:<port>]<path>`. The chart's default port (9090) is replaced by
 * `""` when the URL has none, so the URL's scheme decides.
 * @see https://github.com/prometheus-community/helm-charts/blob/main/charts/prometheus-adapter/templates/deployment.yaml
 */
export function splitPrometheusUrl(raw: string): ChartPrometheusUrl {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new Error(
      `"${raw}" is not a URL; give Prometheus's address, e.g. http://prometheus-operated.monitoring.svc:9090`,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(
      `"${raw}" is not an http(s) URL; give Prometheus's address, e.g. http://prometheus-operated.monitoring.svc:9090`,
    );
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    throw new Error(
      `"${raw}" has a query or fragment, which the adapter cannot use; give scheme, host, port and path only`,
    );
  }
  const credentials =
    parsed.username === "" ? "" : `${parsed.username}${parsed.password === "" ? "" : `:${parsed.password}`}@`;
  return {
    url: `${parsed.protocol}//${credentials}${parsed.hostname}`,
    port: parsed.port === "" ? "" : Number(parsed.port),
    path: parsed.pathname.replace(/\/+$/, ""),
  };
}
