import { TRITON_QUEUE_DURATION_METRIC, TRITON_REQUEST_SUCCESS_METRIC } from "./metrics-adapter-rules";

/**
 * The platform's Grafana dashboard, as plain data: Triton's traffic and latencies, the servers' replicas, and
 * per pool the GPU devices allocated against what the nodes advertise and the GPUs' utilisation. No Pulumi
 * import. Every query reads metrics of Triton, the DCGM exporter or kube-state-metrics only.
 */

/** The label Grafana's dashboard sidecar selects ConfigMaps by (kube-prometheus-stack's default). */
export const GRAFANA_DASHBOARD_LABEL = "grafana_dashboard";
export const GRAFANA_DASHBOARD_LABEL_VALUE = "1";
/** The dashboard's uid: stable, so links to it survive updates. */
export const DASHBOARD_UID = "gpushare-platform";
/** Grafana's rate window: at least four scrape intervals, whatever the zoom. */
export const GRAFANA_RATE_INTERVAL = "$__rate_interval";

/** Triton's cumulative time executing the model, µs (a counter). */
export const TRITON_COMPUTE_INFER_METRIC = "nv_inference_compute_infer_duration_us";
/** DCGM exporter: GPU utilisation, %, per whole GPU. */
export const DCGM_GPU_UTIL_METRIC = "DCGM_FI_DEV_GPU_UTIL";
/** DCGM exporter: ratio of time the graphics/compute engine is active, per GPU or MIG instance. */
export const DCGM_GR_ENGINE_ACTIVE_METRIC = "DCGM_FI_PROF_GR_ENGINE_ACTIVE";

/** A pool as the dashboard sees it. */
export interface DashboardPool {
  readonly name: string;
  /** The node labels that select the pool's nodes. */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** The resources its nodes advertise, e.g. `nvidia.com/mig-1g.5gb`. */
  readonly resources: readonly string[];
  /** Whether its GPUs are split by MIG (DCGM then reports per MIG instance, without whole-GPU utilisation). */
  readonly mig: boolean;
}

export interface DashboardInput {
  /** The namespace the Triton servers and their HPAs run in. */
  readonly inferenceNamespace: string;
  readonly pools: readonly DashboardPool[];
  /** The custom metric's name and window, to show what the HPAs see. */
  readonly metricName: string;
  readonly metricWindow: string;
}

/**
 * The Prometheus label kube-state-metrics gives a Kubernetes label in `kube_node_labels`:
 * `gpushare.io/pool` → `label_gpushare_io_pool` (invalid characters to `_`, camelCase to snake_case).
 * @see https://github.com/kubernetes/kube-state-metrics/blob/main/internal/store/utils.go
 */
export function kubeStateMetricsLabel(key: string): string {
  const sanitized = key.replace(/[^a-zA-Z0-9_]/g, "_");
  return `label_${sanitized.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()}`;
}

/** The `resource` label value kube-state-metrics gives a resource: `nvidia.com/mig-1g.5gb` → `nvidia_com_mig_1g_5gb`. */
export function kubeStateMetricsResource(resource: string): string {
  return resource.replace(/[^a-zA-Z0-9_]/g, "_");
}

/**
 * The node label keys kube-state-metrics must export in `kube_node_labels` for the per-pool panels, as its
 * `--metric-labels-allowlist` entry (`nodes=[gpushare.io/pool,...]`).
 */
export function nodeLabelsAllowlist(pools: readonly DashboardPool[]): string {
  const keys = [...new Set(pools.flatMap((p) => Object.keys(p.nodeSelector)))].sort();
  return `nodes=[${keys.join(",")}]`;
}

export interface DashboardTarget {
  readonly refId: string;
  readonly expr: string;
  readonly legendFormat: string;
}

export interface DashboardPanel {
  readonly id: number;
  readonly type: "timeseries";
  readonly title: string;
  readonly description: string;
  readonly datasource: { readonly type: "prometheus"; readonly uid: string };
  readonly gridPos: { readonly h: number; readonly w: number; readonly x: number; readonly y: number };
  readonly fieldConfig: { readonly defaults: { readonly unit: string }; readonly overrides: readonly unknown[] };
  readonly targets: readonly DashboardTarget[];
}

/** The subset of Grafana's dashboard JSON model gpushare writes. */
export interface GrafanaDashboard {
  readonly uid: string;
  readonly title: string;
  readonly tags: readonly string[];
  readonly timezone: string;
  readonly schemaVersion: number;
  readonly refresh: string;
  readonly time: { readonly from: string; readonly to: string };
  readonly templating: { readonly list: readonly unknown[] };
  readonly panels: readonly DashboardPanel[];
}

function quote(value: string): string {
  return JSON.stringify(value);
}

/** `{a="x",b="y"}` from label pairs, values quoted as PromQL strings. */
function matchers(labels: Readonly<Record<string, string>>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${quote(v)}`)
    .join(",")}}`;
}

/** 1 for every node of the pool, by `node`. */
function poolNodes(pool: DashboardPool): string {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(pool.nodeSelector)) labels[kubeStateMetricsLabel(key)] = value;
  return `max by (node) (kube_node_labels${matchers(labels)})`;
}

type PanelDraft = Omit<DashboardPanel, "id" | "gridPos" | "datasource" | "targets"> & {
  readonly targets: readonly Omit<DashboardTarget, "refId">[];
};

function panel(title: string, description: string, unit: string, targets: PanelDraft["targets"]): PanelDraft {
  return { type: "timeseries", title, description, fieldConfig: { defaults: { unit }, overrides: [] }, targets };
}

/** Average per request of a Triton duration counter, by model, over Grafana's rate window; idle models drop out. */
function perRequest(durationMetric: string, ns: string): string {
  const sel = matchers({ namespace: ns });
  return (
    `sum by (model) (rate(${durationMetric}${sel}[${GRAFANA_RATE_INTERVAL}]))` +
    ` / (sum by (model) (rate(${TRITON_REQUEST_SUCCESS_METRIC}${sel}[${GRAFANA_RATE_INTERVAL}])) > 0)`
  );
}

function servingPanels(input: DashboardInput): PanelDraft[] {
  const ns = input.inferenceNamespace;
  const sel = matchers({ namespace: ns });
  // The adapter's own formula, per pod: the value the HPAs compare with their targetAverageValue.
  const hpaView = (metric: string): string =>
    `sum by (namespace, pod) (increase(${metric}${sel}[${input.metricWindow}]))`;
  return [
    panel("Requests/s by model", "Successful inference requests per second (nv_inference_request_success).", "reqps", [
      {
        expr: `sum by (model) (rate(${TRITON_REQUEST_SUCCESS_METRIC}${sel}[${GRAFANA_RATE_INTERVAL}]))`,
        legendFormat: "{{model}}",
      },
    ]),
    panel(
      "Queue time per request by model",
      "Time a request waits in Triton's scheduling queue, averaged over requests; grows when the servers are saturated.",
      "µs",
      [{ expr: perRequest(TRITON_QUEUE_DURATION_METRIC, ns), legendFormat: "{{model}}" }],
    ),
    panel(
      "Compute time per request by model",
      "Time the backend executes the model per request (nv_inference_compute_infer_duration_us).",
      "µs",
      [{ expr: perRequest(TRITON_COMPUTE_INFER_METRIC, ns), legendFormat: "{{model}}" }],
    ),
    panel(
      `HPA metric ${input.metricName} by pod`,
      `Queue time per successful request over ${input.metricWindow}, per pod, exactly as the metrics adapter serves it to the HPAs.`,
      "µs",
      [
        {
          expr: `${hpaView(TRITON_QUEUE_DURATION_METRIC)} / clamp_min(${hpaView(TRITON_REQUEST_SUCCESS_METRIC)}, 1)`,
          legendFormat: "{{pod}}",
        },
      ],
    ),
    panel(
      "Replicas per server",
      "Each server's HPA: current and desired replicas; and the pods its Deployment runs.",
      "short",
      [
        {
          expr: `kube_horizontalpodautoscaler_status_current_replicas${sel}`,
          legendFormat: "{{horizontalpodautoscaler}} current",
        },
        {
          expr: `kube_horizontalpodautoscaler_status_desired_replicas${sel}`,
          legendFormat: "{{horizontalpodautoscaler}} desired",
        },
        { expr: `kube_deployment_status_replicas${sel}`, legendFormat: "{{deployment}} pods" },
      ],
    ),
  ];
}

function poolPanels(pool: DashboardPool): PanelDraft[] {
  const nodes = poolNodes(pool);
  const devices = panel(
    `GPU devices allocated vs allocatable — pool ${pool.name}`,
    "What the device plugin advertises on the pool's nodes (allocatable) and what running pods request of it (allocated).",
    "short",
    pool.resources.flatMap((resource) => {
      const res = matchers({ resource: kubeStateMetricsResource(resource) });
      return [
        {
          expr: `sum(kube_node_status_allocatable${res} * on (node) group_left() ${nodes})`,
          legendFormat: `${resource} allocatable`,
        },
        {
          expr:
            `sum(kube_pod_container_resource_requests${res}` +
            ` * on (namespace, pod) group_left() max by (namespace, pod) (kube_pod_status_phase{phase="Running"})` +
            ` * on (node) group_left() ${nodes})`,
          legendFormat: `${resource} allocated`,
        },
      ];
    }),
  );
  // The DCGM exporter names the node in `Hostname`; kube-state-metrics in `node`.
  const byHostname = `label_replace(${nodes}, "Hostname", "$1", "node", "(.*)")`;
  const utilisation = pool.mig
    ? panel(
        `MIG instance utilisation — pool ${pool.name}`,
        "Share of time each MIG instance's compute engine is active (DCGM_FI_PROF_GR_ENGINE_ACTIVE); whole-GPU utilisation is not reported under MIG.",
        "percent",
        [
          {
            expr: `100 * avg by (Hostname, gpu, GPU_I_PROFILE, GPU_I_ID) (${DCGM_GR_ENGINE_ACTIVE_METRIC} * on (Hostname) group_left() ${byHostname})`,
            legendFormat: "{{Hostname}} GPU {{gpu}} {{GPU_I_PROFILE}} #{{GPU_I_ID}}",
          },
        ],
      )
    : panel(
        `GPU utilisation — pool ${pool.name}`,
        "GPU utilisation per GPU (DCGM_FI_DEV_GPU_UTIL); time-sliced and MPS pods share it.",
        "percent",
        [
          {
            expr: `avg by (Hostname, gpu) (${DCGM_GPU_UTIL_METRIC} * on (Hostname) group_left() ${byHostname})`,
            legendFormat: "{{Hostname}} GPU {{gpu}}",
          },
        ],
      );
  return [devices, utilisation];
}

/**
 * The platform's dashboard. Queries use the data source picked in the dashboard's `datasource` variable, so
 * the dashboard works with kube-prometheus-stack's Grafana and with one installed elsewhere.
 * @see https://grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/
 */
export function platformDashboard(input: DashboardInput): GrafanaDashboard {
  const drafts = [...servingPanels(input), ...input.pools.flatMap(poolPanels)];
  const width = 12;
  const height = 8;
  const panels = drafts.map((d, i): DashboardPanel => ({
    ...d,
    id: i + 1,
    datasource: { type: "prometheus", uid: "${datasource}" },
    gridPos: { h: height, w: width, x: (i % 2) * width, y: Math.floor(i / 2) * height },
    targets: d.targets.map((t, j) => ({ refId: String.fromCharCode(65 + j), ...t })),
  }));
  return {
    uid: DASHBOARD_UID,
    title: "gpushare — GPU inference platform",
    tags: ["gpushare", "triton", "gpu"],
    timezone: "browser",
    schemaVersion: 39,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    templating: {
      list: [{ name: "datasource", label: "Data source", type: "datasource", query: "prometheus", hide: 0 }],
    },
    panels,
  };
}
