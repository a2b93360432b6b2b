import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  adapterConfigYaml,
  queueTimeRule,
  splitPrometheusUrl,
  TRITON_QUEUE_DURATION_METRIC,
  TRITON_REQUEST_SUCCESS_METRIC,
} from "../../../components/k8s/metrics-adapter-rules";
import { assertParses, functionsOf, metricsOf } from "../../promql";

/** The adapter's templates filled in as it does for `GET .../namespaces/inference/pods/*\/<metric>`. */
function substitute(template: string): string {
  return template
    .replaceAll("<<.LabelMatchers>>", 'namespace="inference",pod=~"triton-t4-6d9f-abcde|triton-t4-6d9f-fghij"')
    .replaceAll("<<.GroupBy>>", "pod");
}

describe("queueTimeRule", () => {
  const rule = queueTimeRule("avg_time_queue_us", "30s");

  it("is the rule the HPAs' metric comes from, word for word", () => {
    expect(rule).toEqual({
      seriesQuery: 'nv_inference_queue_duration_us{namespace!="",pod!=""}',
      resources: { overrides: { namespace: { resource: "namespace" }, pod: { resource: "pod" } } },
      name: { matches: "^nv_inference_queue_duration_us$", as: "avg_time_queue_us" },
      metricsQuery:
        "sum by (<<.GroupBy>>) (increase(nv_inference_queue_duration_us{<<.LabelMatchers>>}[30s]))" +
        " / clamp_min(sum by (<<.GroupBy>>) (increase(nv_inference_request_success{<<.LabelMatchers>>}[30s])), 1)",
    });
  });

  it("parses as PromQL once the adapter fills in its templates", () => {
    assertParses(rule.seriesQuery);
    assertParses(substitute(rule.metricsQuery));
    expect(() => assertParses(rule.metricsQuery)).toThrow();
  });

  it("reads the counters with increase(), never delta(), and floors the request count", () => {
    const functions = functionsOf(substitute(rule.metricsQuery));
    expect(functions).toEqual(["increase", "clamp_min", "increase"]);
    expect(functions).not.toContain("delta");
    expect(functions).not.toContain("idelta");
  });

  it("selects Triton's queue time and success counters only", () => {
    expect(metricsOf(rule.seriesQuery)).toEqual([TRITON_QUEUE_DURATION_METRIC]);
    expect(metricsOf(substitute(rule.metricsQuery))).toEqual([
      TRITON_QUEUE_DURATION_METRIC,
      TRITON_REQUEST_SUCCESS_METRIC,
    ]);
  });

  it("serves any valid metric name over any valid window", () => {
    const metricName = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,30}$/);
    const window = fc
      .record({ h: fc.nat(48), m: fc.nat(59), s: fc.nat(59) })
      .filter(({ h, m, s }) => h + m + s > 0)
      .map(({ h, m, s }) => `${h > 0 ? `${h}h` : ""}${m > 0 ? `${m}m` : ""}${s > 0 ? `${s}s` : ""}`);
    fc.assert(
      fc.property(metricName, window, (name, w) => {
        const r = queueTimeRule(name, w);
        expect(r.name.as).toBe(name);
        expect(r.metricsQuery.match(new RegExp(`\\[${w}\\]`, "g"))).toHaveLength(2);
        assertParses(substitute(r.metricsQuery));
      }),
    );
  });
});

describe("adapterConfigYaml", () => {
  it("is an adapter config file with the rule under rules", () => {
    const rule = queueTimeRule("avg_time_queue_us", "1m");
    expect(parse(adapterConfigYaml([rule]))).toEqual({ rules: [rule] });
  });
});

describe("splitPrometheusUrl", () => {
  it.each([
    [
      "http://gpushare-monitoring-prometheus.monitoring.svc:9090",
      { url: "http://gpushare-monitoring-prometheus.monitoring.svc", port: 9090, path: "" },
    ],
    [
      "http://prometheus-operated.monitoring.svc:9090/",
      { url: "http://prometheus-operated.monitoring.svc", port: 9090, path: "" },
    ],
    ["https://prometheus.example.com/prom/", { url: "https://prometheus.example.com", port: "", path: "/prom" }],
    ["http://prometheus.monitoring.svc", { url: "http://prometheus.monitoring.svc", port: "", path: "" }],
    ["http://10.0.0.7:9090/api/prom", { url: "http://10.0.0.7", port: 9090, path: "/api/prom" }],
  ])("splits %s into the chart's url, port and path", (raw, expected) => {
    expect(splitPrometheusUrl(raw)).toEqual(expected);
  });

  it.each([
    [
      "prometheus.monitoring.svc:9090",
      '"prometheus.monitoring.svc:9090" is not an http(s) URL; give Prometheus\'s address, e.g. http://prometheus-operated.monitoring.svc:9090',
    ],
    [
      "not a url",
      '"not a url" is not a URL; give Prometheus\'s address, e.g. http://prometheus-operated.monitoring.svc:9090',
    ],
    [
      "http://prometheus:9090/?x=1",
      '"http://prometheus:9090/?x=1" has a query or fragment, which the adapter cannot use; give scheme, host, port and path only',
    ],
  ])("fails when the URL is %s", (raw, message) => {
    expect(() => splitPrometheusUrl(raw)).toThrow(new Error(message));
  });
});
