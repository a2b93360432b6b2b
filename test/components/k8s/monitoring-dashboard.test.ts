import { describe, expect, it } from "vitest";
import { queueTimeRule } from "../../../components/k8s/metrics-adapter-rules";
import {
  type DashboardInput,
  type DashboardPool,
  GRAFANA_RATE_INTERVAL,
  type GrafanaDashboard,
  kubeStateMetricsLabel,
  kubeStateMetricsResource,
  nodeLabelsAllowlist,
  platformDashboard,
} from "../../../components/k8s/monitoring-dashboard";
import { metricsOf, promqlErrors } from "../../promql";

/**
 * Metrics that exist upstream, by exporter. Triton: docs/user_guide/metrics.md; DCGM exporter:
 * etc/default-counters.csv; kube-state-metrics: docs/metrics/.
 */
const TRITON = [
  "nv_inference_request_success",
  "nv_inference_queue_duration_us",
  "nv_inference_compute_infer_duration_us",
];
const DCGM = ["DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_PROF_GR_ENGINE_ACTIVE"];
const KUBE_STATE_METRICS = [
  "kube_horizontalpodautoscaler_status_current_replicas",
  "kube_horizontalpodautoscaler_status_desired_replicas",
  "kube_deployment_status_replicas",
  "kube_pod_container_resource_requests",
  "kube_pod_status_phase",
  "kube_node_status_allocatable",
  "kube_node_labels",
];
const ALLOWED = new Set([...TRITON, ...DCGM, ...KUBE_STATE_METRICS]);

/** Every PromQL expression of a dashboard, in panel order. */
function dashboardExpressions(dashboard: GrafanaDashboard): string[] {
  return dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
}

/** Grafana replaces its variables before Prometheus sees a query; so does this, with a typical value. */
function asPrometheusSees(expr: string): string {
  return expr.replaceAll(GRAFANA_RATE_INTERVAL, "1m");
}

/** The prod stack's view: an A100 pool split by MIG into three slice sizes, and a time-sliced T4 pool. */
const INPUT: DashboardInput = {
  inferenceNamespace: "inference",
  metricName: "avg_time_queue_us",
  metricWindow: "30s",
  pools: [
    {
      name: "a100",
      nodeSelector: { "gpushare.io/pool": "a100" },
      resources: ["nvidia.com/mig-1g.5gb", "nvidia.com/mig-2g.10gb", "nvidia.com/mig-3g.20gb"],
      mig: true,
    },
    { name: "t4", nodeSelector: { "gpushare.io/pool": "t4" }, resources: ["nvidia.com/gpu"], mig: false },
  ],
};

describe("the platform dashboard", () => {
  const dashboard = platformDashboard(INPUT);
  const exprs = dashboardExpressions(dashboard).map(asPrometheusSees);

  it("gives Grafana what it needs: a uid it accepts, queries on the picked data source, ids and a grid that hold", () => {
    // Grafana takes a uid of at most 40 letters, digits, '-' and '_'; links to the dashboard use it.
    expect(dashboard.uid).toBe("gpushare-platform");
    expect(dashboard.uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    expect(Number.isInteger(dashboard.schemaVersion)).toBe(true);
    // Every panel reads the data source chosen in a datasource variable of its own type.
    const variables = dashboard.templating.list as { name: string; type: string; query: string }[];
    for (const panel of dashboard.panels) {
      const name = /^\$\{(\w+)\}$/.exec(panel.datasource.uid)?.[1];
      const variable = variables.find((v) => v.name === name);
      expect({ panel: panel.title, variable }).toEqual({
        panel: panel.title,
        variable: expect.objectContaining({ type: "datasource", query: panel.datasource.type }),
      });
      expect(panel.targets.length).toBeGreaterThan(0);
      expect(new Set(panel.targets.map((t) => t.refId)).size).toBe(panel.targets.length);
    }
    const ids = dashboard.panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    // Panels sit inside Grafana's 24 columns and none covers another.
    const boxes = dashboard.panels.map((p) => ({ title: p.title, ...p.gridPos }));
    expect(boxes.filter((b) => b.x < 0 || b.w < 1 || b.x + b.w > 24 || b.h < 1)).toEqual([]);
    const overlaps = boxes.flatMap((a, i) =>
      boxes
        .slice(i + 1)
        .filter((b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h)
        .map((b) => `${a.title} / ${b.title}`),
    );
    expect(overlaps).toEqual([]);
  });

  it("has every expression parse as PromQL", () => {
    expect(promqlErrors("sum(rate(up[1m])")).not.toEqual([]);
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) expect({ expr, errors: promqlErrors(expr) }).toEqual({ expr, errors: [] });
  });

  it("reads only metrics that Triton, the DCGM exporter or kube-state-metrics export", () => {
    const used = new Set(exprs.flatMap(metricsOf));
    expect([...used].filter((m) => !ALLOWED.has(m))).toEqual([]);
    // and all of them: every view the platform needs is there.
    expect([...ALLOWED].filter((m) => !used.has(m))).toEqual([]);
  });

  it("lays out the serving panels and two panels per pool", () => {
    expect(dashboard.panels.map((p) => p.title)).toEqual([
      "Requests/s by model",
      "Queue time per request by model",
      "Compute time per request by model",
      "HPA metric avg_time_queue_us by pod",
      "Replicas per server",
      "GPU devices allocated vs allocatable — pool a100",
      "MIG instance utilisation — pool a100",
      "GPU devices allocated vs allocatable — pool t4",
      "GPU utilisation — pool t4",
    ]);
  });

  it("shows the HPA metric with the adapter's own query", () => {
    const hpa = dashboard.panels.find((p) => p.title.startsWith("HPA metric"));
    const expr =
      'sum by (namespace, pod) (increase(nv_inference_queue_duration_us{namespace="inference"}[30s]))' +
      ' / clamp_min(sum by (namespace, pod) (increase(nv_inference_request_success{namespace="inference"}[30s])), 1)';
    expect(hpa?.targets.map((t) => t.expr)).toEqual([expr]);
    // The same query the adapter runs for the HPAs, with the adapter's templates filled in as it fills them.
    const adapterQuery = queueTimeRule("avg_time_queue_us", "30s")
      .metricsQuery.replaceAll("<<.LabelMatchers>>", 'namespace="inference"')
      .replaceAll("<<.GroupBy>>", "namespace, pod");
    expect(adapterQuery).toBe(expr);
  });

  it("counts each MIG slice resource of a pool on the pool's nodes", () => {
    const a100 = dashboard.panels.find((p) => p.title === "GPU devices allocated vs allocatable — pool a100");
    expect(a100?.targets.map((t) => t.legendFormat)).toEqual([
      "nvidia.com/mig-1g.5gb allocatable",
      "nvidia.com/mig-1g.5gb allocated",
      "nvidia.com/mig-2g.10gb allocatable",
      "nvidia.com/mig-2g.10gb allocated",
      "nvidia.com/mig-3g.20gb allocatable",
      "nvidia.com/mig-3g.20gb allocated",
    ]);
    expect(a100?.targets[0].expr).toBe(
      'sum(kube_node_status_allocatable{resource="nvidia_com_mig_1g_5gb"} * on (node) group_left() max by (node) (kube_node_labels{label_gpushare_io_pool="a100"}))',
    );
    expect(a100?.targets[1].expr).toBe(
      'sum(kube_pod_container_resource_requests{resource="nvidia_com_mig_1g_5gb"} * on (namespace, pod) group_left() max by (namespace, pod) (kube_pod_status_phase{phase="Running"}) * on (node) group_left() max by (node) (kube_node_labels{label_gpushare_io_pool="a100"}))',
    );
  });

  it("reads MIG pools by instance and whole-GPU pools by GPU", () => {
    const metricsOfPanel = (title: string): string[] =>
      (dashboard.panels.find((p) => p.title === title)?.targets ?? []).flatMap((t) =>
        metricsOf(asPrometheusSees(t.expr)),
      );
    expect(metricsOfPanel("MIG instance utilisation — pool a100")).toContain("DCGM_FI_PROF_GR_ENGINE_ACTIVE");
    expect(metricsOfPanel("MIG instance utilisation — pool a100")).not.toContain("DCGM_FI_DEV_GPU_UTIL");
    expect(metricsOfPanel("GPU utilisation — pool t4")).toContain("DCGM_FI_DEV_GPU_UTIL");
  });

  it("filters Triton and HPA series to the inference namespace", () => {
    const custom = platformDashboard({ ...INPUT, inferenceNamespace: "serving" });
    const serving = dashboardExpressions(custom).slice(0, 5);
    for (const expr of serving) {
      expect(expr).toContain('namespace="serving"');
      expect(expr).not.toContain('namespace="inference"');
    }
  });
});

describe("kube-state-metrics names", () => {
  it.each([
    ["gpushare.io/pool", "label_gpushare_io_pool"],
    ["nvidia.com/gpu.product", "label_nvidia_com_gpu_product"],
    ["topology.kubernetes.io/zone", "label_topology_kubernetes_io_zone"],
    ["nodeGroup", "label_node_group"],
  ])("exports node label %s as %s", (key, label) => {
    expect(kubeStateMetricsLabel(key)).toBe(label);
  });

  it.each([
    ["nvidia.com/gpu", "nvidia_com_gpu"],
    ["nvidia.com/mig-1g.5gb", "nvidia_com_mig_1g_5gb"],
    ["nvidia.com/gpu.shared", "nvidia_com_gpu_shared"],
  ])("labels resource %s as %s", (resource, label) => {
    expect(kubeStateMetricsResource(resource)).toBe(label);
  });

  it("allows exactly the pools' node selector keys", () => {
    const pools: DashboardPool[] = [
      { name: "a", nodeSelector: { "gpushare.io/pool": "a" }, resources: [], mig: false },
      { name: "b", nodeSelector: { "example.com/group": "gpu", "gpushare.io/pool": "b" }, resources: [], mig: false },
    ];
    expect(nodeLabelsAllowlist(pools)).toBe("nodes=[example.com/group,gpushare.io/pool]");
  });
});
