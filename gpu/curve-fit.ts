/**
 * Learns a sharing curve (`sharing-curve.ts`) from what a running platform already scrapes: Triton's counters per
 * pod, sampled on a regular grid, and the node of each pod. Plain functions over plain data; `scripts/advise.ts`
 * fetches the series from Prometheus and hands them here.
 *
 * The estimator:
 * - Time is cut into windows of a few samples (30 s of 10 s scrapes). In each window and on each node, the server's
 *   pods divided by the node's devices is the pods per device. A window in which a pod of the node appears or
 *   disappears (the count changed inside it), or whose pods do not divide evenly over the devices, or which served
 *   nothing, is skipped.
 * - Per window: the device's throughput (the pods' successful requests ÷ the window ÷ the devices they run on), its
 *   latency (the p99 Triton's summary reports, weighted by each pod's requests; or, without the summary, the mean
 *   request duration) and its mean queue time.
 * - Per pods-per-device count: a high percentile (the 90th) of the windows' throughputs is what the device serves,
 *   and the median latency and queue time of the windows at or above it are what that costs. Not the mean, nor the
 *   maximum: the offered load is most of the time below what the device can serve, and a window serves only what
 *   was asked, so the mean under-reads capacity; the maximum is one lucky window. The percentile reads capacity as
 *   long as the device was saturated in at least a tenth of the windows at that count; the queue time of the chosen
 *   windows tells whether it was (near zero: it was not, and the figure is a lower bound).
 */

/** The default percentile of window throughputs read as what a device serves. */
export const DEFAULT_THROUGHPUT_PERCENTILE = 0.9;
/** Fewer windows than this at a pod count, and the count gets no point. */
export const DEFAULT_MIN_WINDOWS = 3;

/**
 * One series on the query's grid: `values[i]` is the sample at `start + i × step`, `undefined` where the series
 * had none (the pod did not exist yet, or no longer).
 */
export interface GridSeries {
  readonly pod: string;
  /** The model the series counts (Triton's `model` label, with its version); pairs a p99 with its requests. */
  readonly model?: string;
  readonly values: readonly (number | undefined)[];
}

export interface FitInput {
  /** Seconds between two samples of the grid. */
  readonly stepSeconds: number;
  /** Samples per window (3 for 30 s windows of 10 s samples); at least 1. */
  readonly stepsPerWindow: number;
  /** Physical devices (GPUs or MIG instances) of the server's resource on each node. */
  readonly devicesPerNode: number;
  /** The node each pod ran on; pods missing here are left out. */
  readonly nodeOfPod: ReadonlyMap<string, string>;
  /** `nv_inference_request_success`, one series per pod and model (a counter). */
  readonly success: readonly GridSeries[];
  /** `nv_inference_request_duration_us`, one series per pod and model (a counter, µs). */
  readonly duration: readonly GridSeries[];
  /** `nv_inference_queue_duration_us`, one series per pod and model (a counter, µs). */
  readonly queue: readonly GridSeries[];
  /**
   * `nv_inference_request_summary_us{quantile="0.99"}`, one series per pod and model (µs; NaN when the pod served
   * nothing lately). Empty: Triton runs without summaries, and the mean request duration stands in for p99.
   */
  readonly p99: readonly GridSeries[];
  /** @default DEFAULT_THROUGHPUT_PERCENTILE */
  readonly percentile?: number;
  /** @default DEFAULT_MIN_WINDOWS */
  readonly minWindows?: number;
}

/** What one pod count was measured at. */
export interface FittedPoint {
  readonly pods: number;
  /** The percentile of the windows' throughputs per device. */
  readonly requestsPerSecond: number;
  /** Median latency of the chosen windows, ms: p99, or mean when `CurveFit.latency` is `mean`. */
  readonly latencyMs: number;
  /** Median of the chosen windows' mean queue time per request, ms. */
  readonly queueMs: number;
  /** Windows (node × window) at this pod count. */
  readonly windows: number;
  /** Windows at or above the percentile, whose latency and queue time are reported. */
  readonly chosen: number;
}

/** How many node-windows went where. */
export interface WindowCounts {
  readonly total: number;
  readonly used: number;
  /** A pod of the node appeared or disappeared inside the window. */
  readonly changed: number;
  /** The node's pods did not divide evenly over its devices. */
  readonly uneven: number;
  /** No request was served. */
  readonly idle: number;
  /** Requests, but no p99 reading in the window (summary mode). */
  readonly noLatency: number;
}

export interface CurveFit {
  /** Points in ascending pods. */
  readonly points: readonly FittedPoint[];
  readonly latency: "p99" | "mean";
  readonly windows: WindowCounts;
  /** Pod counts with windows, but fewer than the minimum. */
  readonly sparse: readonly { readonly pods: number; readonly windows: number }[];
  /** Pods with series but no known node, left out. */
  readonly podsWithoutNode: readonly string[];
}

/** One pod's counters summed over its models, per interval (`[i]`: from sample i − 1 to i). */
interface PodData {
  readonly present: boolean[];
  readonly success: number[];
  readonly duration: number[];
  readonly queue: number[];
  /** Per model: its p99 samples and its successes per interval, to weigh the model's p99 by. */
  readonly p99: { readonly values: readonly (number | undefined)[]; readonly success: number[] }[];
}

/**
 * The increase of a counter from each sample to the next (`[0]` is 0): a drop is a reset (the process restarted),
 * after which the counter counted up from zero, as Prometheus's `increase()` reads it.
 */
function increases(values: readonly (number | undefined)[], length: number): number[] {
  const out = new Array<number>(length).fill(0);
  for (let i = 1; i < length; i++) {
    const a = values[i - 1];
    const b = values[i];
    if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) continue;
    out[i] = b >= a ? b - a : b;
  }
  return out;
}

function addInto(target: number[], source: readonly number[]): void {
  for (let i = 0; i < target.length; i++) target[i] += source[i];
}

/** The `p`-quantile of ascending `sorted` values, linear between ranks (Prometheus's and numpy's default). */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (rank - lo) * (sorted[hi] - sorted[lo]);
}

function median(values: readonly number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

function podData(input: FitInput, length: number): Map<string, PodData> {
  const pods = new Map<string, PodData>();
  const get = (pod: string): PodData => {
    let data = pods.get(pod);
    if (data === undefined) {
      const zeros = (): number[] => new Array<number>(length).fill(0);
      data = {
        present: new Array<boolean>(length).fill(false),
        success: zeros(),
        duration: zeros(),
        queue: zeros(),
        p99: [],
      };
      pods.set(pod, data);
    }
    return data;
  };
  for (const s of input.success) {
    const data = get(s.pod);
    s.values.forEach((v, i) => {
      if (v !== undefined) data.present[i] = true;
    });
    addInto(data.success, increases(s.values, length));
  }
  for (const s of input.duration) if (pods.has(s.pod)) addInto(get(s.pod).duration, increases(s.values, length));
  for (const s of input.queue) if (pods.has(s.pod)) addInto(get(s.pod).queue, increases(s.values, length));
  // A model's p99 is weighed by that model's requests; a summary without its counter, by the pod's.
  const successOf = new Map(input.success.map((s) => [`${s.pod}\u0000${s.model ?? ""}`, s]));
  for (const s of input.p99) {
    const data = pods.get(s.pod);
    if (data === undefined) continue;
    const own = successOf.get(`${s.pod}\u0000${s.model ?? ""}`);
    data.p99.push({ values: s.values, success: own === undefined ? data.success : increases(own.values, length) });
  }
  return pods;
}

interface Window {
  readonly pods: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: number;
  readonly queueMs: number;
}

/** Fits a sharing curve's points from a server's series: see the estimator in this file's header. */
export function fitCurve(input: FitInput): CurveFit {
  const percentile = input.percentile ?? DEFAULT_THROUGHPUT_PERCENTILE;
  const minWindows = input.minWindows ?? DEFAULT_MIN_WINDOWS;
  const w = Math.max(1, Math.floor(input.stepsPerWindow));
  const length = Math.max(0, ...input.success.map((s) => s.values.length));
  const pods = podData(input, length);
  const latency = input.p99.length > 0 ? "p99" : "mean";

  const byNode = new Map<string, PodData[]>();
  const podsWithoutNode: string[] = [];
  for (const [pod, data] of pods) {
    const node = input.nodeOfPod.get(pod);
    if (node === undefined) {
      podsWithoutNode.push(pod);
      continue;
    }
    byNode.set(node, [...(byNode.get(node) ?? []), data]);
  }

  const counts = { total: 0, used: 0, changed: 0, uneven: 0, idle: 0, noLatency: 0 };
  const windows: Window[] = [];
  const seconds = w * input.stepSeconds;
  const devices = input.devicesPerNode;
  for (let a = 0; a + w < length; a += w) {
    const b = a + w;
    for (const nodePods of byNode.values()) {
      const full: PodData[] = [];
      let partial = false;
      for (const p of nodePods) {
        let present = 0;
        for (let i = a; i <= b; i++) if (p.present[i]) present++;
        if (present === w + 1) full.push(p);
        else if (present > 0) partial = true;
      }
      if (full.length === 0 && !partial) continue;
      counts.total++;
      if (partial) {
        counts.changed++;
        continue;
      }
      // Up to one pod per device, each pod has a device of its own (the device plugin spreads shared replicas
      // over the node's devices); past that, every device must hold the same number.
      const n = full.length;
      if (n > devices && n % devices !== 0) {
        counts.uneven++;
        continue;
      }
      const perDevice = n <= devices ? 1 : n / devices;
      const used = Math.min(n, devices);
      let success = 0;
      let duration = 0;
      let queue = 0;
      for (const p of full) {
        for (let i = a + 1; i <= b; i++) {
          success += p.success[i];
          duration += p.duration[i];
          queue += p.queue[i];
        }
      }
      if (success <= 0) {
        counts.idle++;
        continue;
      }
      let latencyUs: number;
      if (latency === "mean") {
        latencyUs = duration / success;
      } else {
        let weighted = 0;
        let weights = 0;
        for (const p of full) {
          for (const m of p.p99) {
            let sum = 0;
            let k = 0;
            for (let i = a + 1; i <= b; i++) {
              const v = m.values[i];
              if (v !== undefined && Number.isFinite(v)) {
                sum += v;
                k++;
              }
            }
            let weight = 0;
            for (let i = a + 1; i <= b; i++) weight += m.success[i];
            if (k > 0 && weight > 0) {
              weighted += (sum / k) * weight;
              weights += weight;
            }
          }
        }
        if (weights === 0) {
          counts.noLatency++;
          continue;
        }
        latencyUs = weighted / weights;
      }
      counts.used++;
      windows.push({
        pods: perDevice,
        requestsPerSecond: success / seconds / used,
        latencyMs: latencyUs / 1000,
        queueMs: queue / success / 1000,
      });
    }
  }

  const groups = new Map<number, Window[]>();
  for (const x of windows) groups.set(x.pods, [...(groups.get(x.pods) ?? []), x]);
  const points: FittedPoint[] = [];
  const sparse: { pods: number; windows: number }[] = [];
  for (const [count, group] of [...groups].sort((x, y) => x[0] - y[0])) {
    if (group.length < minWindows) {
      sparse.push({ pods: count, windows: group.length });
      continue;
    }
    const served = quantile(
      group.map((x) => x.requestsPerSecond).sort((x, y) => x - y),
      percentile,
    );
    const chosen = group.filter((x) => x.requestsPerSecond >= served);
    points.push({
      pods: count,
      requestsPerSecond: served,
      latencyMs: median(chosen.map((x) => x.latencyMs)),
      queueMs: median(chosen.map((x) => x.queueMs)),
      windows: group.length,
      chosen: chosen.length,
    });
  }
  return { points, latency, windows: counts, sparse, podsWithoutNode };
}
