/**
 * The part of Triton Inference Server's metrics endpoint (`:8002/metrics`) that the autoscaling loop and its
 * dashboards read, for one simulated pod: the cumulative counters per model and version and the request-latency
 * summary (`--metrics-config summary_latencies=true`), advanced by a load the test sets or the contention model
 * derives. Pure: time is passed in.
 * @see https://github.com/triton-inference-server/server/blob/main/docs/user_guide/metrics.md
 */

/** The load on one pod: how many requests succeed per second and how long each waited in the queue. */
export interface Load {
  /** Successful requests per second, over all the pod's models. */
  readonly requestsPerSecond: number;
  /** Queue time of every request, µs. */
  readonly queueUsPerRequest: number;
}

/** The quantiles of Triton's latency summaries with no `summary_quantiles` set (its metrics doc). */
export const SUMMARY_QUANTILES = ["0.5", "0.9", "0.95", "0.99", "0.999"] as const;
export type SummaryQuantile = (typeof SUMMARY_QUANTILES)[number];

/** A load with what a request takes besides its queue wait: what the counters of request time are built from. */
export interface PodLoad extends Load {
  /** Time a request takes after its queue wait (compute), µs; 0 under a load set directly. */
  readonly computeUsPerRequest: number;
  /** End-to-end latency of a request at each summary quantile, µs, queue wait included. */
  readonly latencyUs: Readonly<Record<SummaryQuantile, number>>;
}

/**
 * A load set directly, as a pod's load: it says nothing of compute time, so a request takes its queue time and
 * every quantile of the summary is that queue time.
 */
export function directLoad(load: Load): PodLoad {
  const latencyUs = Object.fromEntries(SUMMARY_QUANTILES.map((q) => [q, load.queueUsPerRequest])) as Record<
    SummaryQuantile,
    number
  >;
  return { ...load, computeUsPerRequest: 0, latencyUs };
}

export const IDLE: PodLoad = directLoad({ requestsPerSecond: 0, queueUsPerRequest: 0 });

/** Refuses a load that is not two finite numbers ≥ 0, naming the field. */
export function parseLoad(value: unknown): Load {
  const o = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const field = (key: keyof Load): number => {
    const v = o[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new RangeError(`${key}: ${JSON.stringify(v)} is not a number ≥ 0`);
    }
    return v;
  };
  const unknown = Object.keys(o).filter((k) => k !== "requestsPerSecond" && k !== "queueUsPerRequest");
  if (unknown.length > 0)
    throw new RangeError(`unknown field ${unknown.join(", ")}; give requestsPerSecond and queueUsPerRequest`);
  return { requestsPerSecond: field("requestsPerSecond"), queueUsPerRequest: field("queueUsPerRequest") };
}

interface ModelCounters {
  success: number;
  queueUs: number;
  requestUs: number;
}

/**
 * The counters of one Triton process. They grow continuously with the load (split evenly over the models) and
 * are exposed as whole numbers, as Triton's uint64 counters are; `reset` starts them again at 0, as a restarted
 * Triton does. The summary's quantiles are the current load's (its window holds only recent requests), NaN while
 * the pod serves nothing, as an empty Prometheus summary reports.
 */
export class TritonCounters {
  private readonly counters: Map<string, ModelCounters>;
  private load: PodLoad = IDLE;
  private since: number;

  constructor(
    readonly models: readonly string[],
    now: number,
  ) {
    if (models.length === 0) throw new RangeError("a Triton pod serves at least one model");
    this.counters = new Map(models.map((m) => [m, { success: 0, queueUs: 0, requestUs: 0 }]));
    this.since = now;
  }

  /** The load from now on; what ran until now is counted at the previous load. A plain `Load` is a direct one. */
  setLoad(load: Load | PodLoad, now: number): void {
    this.advance(now);
    this.load = "latencyUs" in load ? load : directLoad(load);
  }

  currentLoad(): PodLoad {
    return this.load;
  }

  /** Counters back to 0 (a process restart). */
  reset(now: number): void {
    this.advance(now);
    for (const c of this.counters.values()) {
      c.success = 0;
      c.queueUs = 0;
      c.requestUs = 0;
    }
  }

  /** The exposition text at `now` (Prometheus text format 0.0.4, as Triton serves it). */
  render(now: number): string {
    this.advance(now);
    const lines: string[] = [];
    const family = (name: string, help: string, value: (c: ModelCounters) => number): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [model, c] of this.counters) {
        lines.push(`${name}{model="${model}",version="1"} ${Math.floor(value(c))}`);
      }
    };
    family(
      "nv_inference_request_success",
      "Number of successful inference requests, all batch sizes",
      (c) => c.success,
    );
    family("nv_inference_request_failure", "Number of failed inference requests, all batch sizes", () => 0);
    family("nv_inference_count", "Number of inferences performed (does not include cached requests)", (c) => c.success);
    family(
      "nv_inference_queue_duration_us",
      "Cumulative inference queuing duration in microseconds (includes cached requests)",
      (c) => c.queueUs,
    );
    family(
      "nv_inference_request_duration_us",
      "Cumulative inference request duration in microseconds (includes cached requests)",
      (c) => c.requestUs,
    );
    const summary = "nv_inference_request_summary_us";
    lines.push(
      `# HELP ${summary} Summary of inference request duration in microseconds (includes cached requests)`,
      `# TYPE ${summary} summary`,
    );
    const idle = this.load.requestsPerSecond === 0;
    for (const [model, c] of this.counters) {
      const labels = `model="${model}",version="1"`;
      lines.push(
        `${summary}_count{${labels}} ${Math.floor(c.success)}`,
        `${summary}_sum{${labels}} ${Math.floor(c.requestUs)}`,
      );
      for (const q of SUMMARY_QUANTILES) {
        lines.push(`${summary}{${labels},quantile="${q}"} ${idle ? "NaN" : Math.round(this.load.latencyUs[q])}`);
      }
    }
    return `${lines.join("\n")}\n`;
  }

  private advance(now: number): void {
    const seconds = Math.max(0, now - this.since) / 1000;
    this.since = Math.max(this.since, now);
    const perModel = (this.load.requestsPerSecond * seconds) / this.counters.size;
    for (const c of this.counters.values()) {
      c.success += perModel;
      c.queueUs += perModel * this.load.queueUsPerRequest;
      c.requestUs += perModel * (this.load.queueUsPerRequest + this.load.computeUsPerRequest);
    }
  }
}

/** The models a Triton pod loads: its `--load-model=` flags, or, without explicit model control, one model. */
export function modelsOf(args: readonly string[], fallback = "simple"): string[] {
  const models = args.filter((a) => a.startsWith("--load-model=")).map((a) => a.slice("--load-model=".length));
  return models.length > 0 ? models : [fallback];
}

/** Whether an address is IPv4 loopback (127.0.0.0/8): the only addresses this simulation listens on. */
export function isLoopbackIPv4(ip: string): boolean {
  const parts = ip.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255) && Number(parts[0]) === 127;
}
