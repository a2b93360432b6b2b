import type { SharingCurve } from "../gpu/sharing-curve";
import { curveAt } from "../gpu/sharing-curve";

/**
 * The series a Prometheus would hold for one Triton server whose pods ramp up over shared devices of a known
 * sharing curve: per pod, `nv_inference_request_success`, `nv_inference_request_duration_us`,
 * `nv_inference_queue_duration_us` (counters) and `nv_inference_request_summary_us{quantile="0.99"}`, and the node
 * of each pod (`kube_pod_info`). The offered load is below what the devices serve most of the time and at or past
 * it one minute in three, as a real service's is; so the advisor's estimator has to read capacity through it.
 * The advisor's tests serve these through a fake Prometheus; its benchmark fits them directly.
 */

export interface RampScenario {
  /** What one device really serves at each pod count. */
  readonly curve: SharingCurve;
  readonly server: string;
  /** Pods per device, phase after phase. */
  readonly levels: readonly number[];
  /** Samples (of `stepSeconds`) each level lasts. */
  readonly samplesPerLevel: number;
  readonly stepSeconds: number;
  readonly nodes: number;
  readonly devicesPerNode: number;
  /** Whether Triton exports its p99 summary (`--metrics-config summary_latencies=true`). */
  readonly summary: boolean;
  /** Relative noise of throughput and latency, e.g. 0.02. */
  readonly noise: number;
}

/** One series: its labels (`pod`, `model`, `version`) and its samples on the grid, `undefined` before the pod. */
export interface RampSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly values: readonly (number | undefined)[];
}

export interface Ramp {
  readonly success: readonly RampSeries[];
  readonly duration: readonly RampSeries[];
  readonly queue: readonly RampSeries[];
  readonly p99: readonly RampSeries[];
  readonly podNodes: readonly { readonly pod: string; readonly node: string }[];
}

/** A deterministic number in [-1, 1) of two integers: the same ramp every run. */
function jitter(a: number, b: number): number {
  const x = Math.sin(a * 12.9898 + b * 78.233) * 43758.5453;
  return 2 * (x - Math.floor(x)) - 1;
}

/** Samples `0 … samples − 1` of a ramp, the first at the query's start. */
export function simulateRamp(scenario: RampScenario, samples: number): Ramp {
  const { curve, levels, devicesPerNode: devices } = scenario;
  const maxPerNode = Math.max(...levels) * devices;
  const levelAt = (s: number): number => levels[Math.min(levels.length - 1, Math.floor(s / scenario.samplesPerLevel))];
  const success: RampSeries[] = [];
  const duration: RampSeries[] = [];
  const queue: RampSeries[] = [];
  const p99: RampSeries[] = [];
  const podNodes: { pod: string; node: string }[] = [];
  for (let node = 0; node < scenario.nodes; node++) {
    for (let i = 0; i < maxPerNode; i++) {
      const pod = `${scenario.server}-6f7c9d-n${node}p${i}`;
      const labels = { pod, model: "resnet50", version: "1" };
      const counts: (number | undefined)[] = [];
      const durations: (number | undefined)[] = [];
      const queues: (number | undefined)[] = [];
      const p99s: (number | undefined)[] = [];
      let n = 0;
      let d = 0;
      let q = 0;
      let seen = false;
      for (let s = 0; s < samples; s++) {
        const level = levelAt(s);
        if (i >= level * devices) {
          // The pod is not running at this level: no series.
          counts.push(undefined);
          durations.push(undefined);
          queues.push(undefined);
          p99s.push(undefined);
          continue;
        }
        const block = Math.floor((s * scenario.stepSeconds) / 60);
        const saturated = block % 3 === 0;
        const at = curveAt(curve, level);
        const served =
          at.requestsPerSecond * (saturated ? 1 : 0.5 + 0.1 * (block % 3)) * (1 + scenario.noise * jitter(s, node));
        const requests = seen ? (served * scenario.stepSeconds) / level : 0;
        const tail = at.p99Ms * 1000 * (saturated ? 1 : 0.7) * (1 + scenario.noise * jitter(s, i + 101));
        n += requests;
        d += requests * tail * 0.6;
        q += requests * tail * (saturated ? 0.25 : 0.01);
        seen = true;
        counts.push(n);
        durations.push(d);
        queues.push(q);
        p99s.push(tail);
      }
      if (!seen) continue;
      podNodes.push({ pod, node: `gpu-node-${node}` });
      success.push({ labels, values: counts });
      duration.push({ labels, values: durations });
      queue.push({ labels, values: queues });
      if (scenario.summary) p99.push({ labels, values: p99s });
    }
  }
  return { success, duration, queue, p99, podNodes };
}
