/**
 * The contention model of the simulated Triton: from the requests per second offered to a server, what each of its
 * pods serves, how long a request waits in its queue and how long it takes, given how many of the server's pods
 * share each GPU. A device's throughput at `n` pods comes from a sharing curve (`gpu/sharing-curve.ts`), by default
 * the one measured on an H200 (`gpu/measured-curves.ts`). Pure: no I/O, no clock. See README.md next to this file.
 */
import { H200_RESNET50_BATCH1 } from "../../gpu/measured-curves";
import type { SharingCurve } from "../../gpu/sharing-curve";
import { curveAt } from "../../gpu/sharing-curve";
import { GPU_COUNT_ANNOTATION } from "../sim-device-plugin/advertise";
import type { Load, PodLoad, SummaryQuantile } from "./metrics";
import { directLoad, IDLE, SUMMARY_QUANTILES } from "./metrics";

/** How a server's pods share a device when no curve is set for it: picks the measured default curve. */
export type DefaultSharing = keyof typeof H200_RESNET50_BATCH1;

/** @default - time-slicing, the device plugin's way of sharing a GPU without MIG or MPS. */
export const DEFAULT_SHARING: DefaultSharing = "timeSlicing";

/**
 * Requests one pod's queue holds. A pod offered more than it serves keeps its queue this full, and turns away
 * what does not fit, so a request waits this many services: long, and longer the slower each pod serves.
 * @default - 64 requests: about 0.5 s of waiting at 7 time-sliced pods on an H200, 1.1 s at 14.
 * @see https://github.com/triton-inference-server/server/blob/main/docs/user_guide/model_configuration.md (`max_queue_size`)
 */
export const DEFAULT_QUEUE_LIMIT = 64;

/** A served pod of the server and the node it runs on (`spec.nodeName`; empty when unknown). */
export interface PlacedPod {
  readonly name: string;
  readonly node: string;
}

/** What the model derives for one pod. */
export interface ContendedLoad extends PodLoad {
  /** The pod's share of the offered requests per second. */
  readonly offeredRequestsPerSecond: number;
  /** Pods of the server on the pod's device, the pod included. */
  readonly podsOnDevice: number;
  /** Offered over what the pod can serve; past 1 its queue is full. */
  readonly utilisation: number;
}

export interface ContentionInput {
  /** Requests per second offered to the server, split evenly over its pods as a Service does. */
  readonly offeredRequestsPerSecond: number;
  /** What one device serves at 1, 2, … pods of the server. */
  readonly curve: SharingCurve;
  /** The server's served pods. */
  readonly pods: readonly PlacedPod[];
  /** Physical GPUs of a node (at least 1). */
  readonly devicesOn: (node: string) => number;
  /** @default DEFAULT_QUEUE_LIMIT */
  readonly queueLimit?: number;
}

/**
 * Each pod's load under contention:
 * - the offered requests are split evenly over the pods;
 * - the pods on one node are spread evenly over its devices (round robin in name order), so a device holds `n`
 *   pods and serves `curveAt(curve, n)` requests per second in all, `μ = C(n) / n` for each of its pods;
 * - a pod serves `min(offered share, μ)`; one request takes `S = 1 / μ` to serve (a batch-1 Triton runs one
 *   request at a time; at the H200's points `n / C(n)` is the
 *   measured p50 within 15 %);
 * - queue wait: with utilisation `ρ = share / μ` below 1, the M/M/1 mean `S · ρ / (1 − ρ)`, capped at a full
 *   queue; at or past 1, a full queue: `queueLimit · S`;
 * - latency at quantile q: the queue wait plus a service time going from `S` at the median to the curve's p99 at
 *   q = 0.99 (linear in q between them, flat past them).
 */
export function contend(input: ContentionInput): Map<string, ContendedLoad> {
  const { curve, pods } = input;
  const queueLimit = input.queueLimit ?? DEFAULT_QUEUE_LIMIT;
  const share = pods.length === 0 ? 0 : input.offeredRequestsPerSecond / pods.length;
  const byNode = new Map<string, string[]>();
  for (const pod of pods) byNode.set(pod.node, [...(byNode.get(pod.node) ?? []), pod.name]);
  const loads = new Map<string, ContendedLoad>();
  for (const [node, names] of byNode) {
    const devices = Math.max(1, Math.floor(input.devicesOn(node)));
    const q = Math.floor(names.length / devices);
    const r = names.length - q * devices;
    [...names].sort().forEach((name, i) => {
      const podsOnDevice = i % devices < r ? q + 1 : q;
      loads.set(name, podLoad(share, curve, podsOnDevice, queueLimit));
    });
  }
  return loads;
}

function podLoad(share: number, curve: SharingCurve, podsOnDevice: number, queueLimit: number): ContendedLoad {
  const reading = curveAt(curve, podsOnDevice);
  const perPod = reading.requestsPerSecond / podsOnDevice;
  if (!(perPod > 0)) {
    // A device measured to serve nothing: nothing completes, so no request has a queue time to count.
    return {
      requestsPerSecond: 0,
      queueUsPerRequest: 0,
      computeUsPerRequest: 0,
      latencyUs: quantiles(0, 0, 0),
      offeredRequestsPerSecond: share,
      podsOnDevice,
      utilisation: share > 0 ? Infinity : 0,
    };
  }
  const serviceUs = 1e6 / perPod;
  const utilisation = share / perPod;
  const fullQueueUs = queueLimit * serviceUs;
  const queueUs = utilisation < 1 ? Math.min((serviceUs * utilisation) / (1 - utilisation), fullQueueUs) : fullQueueUs;
  const p99Us = Math.max(reading.p99Ms * 1000, serviceUs);
  return {
    requestsPerSecond: Math.min(share, perPod),
    queueUsPerRequest: queueUs,
    computeUsPerRequest: serviceUs,
    latencyUs: quantiles(queueUs, serviceUs, p99Us),
    offeredRequestsPerSecond: share,
    podsOnDevice,
    utilisation,
  };
}

function quantiles(queueUs: number, medianUs: number, p99Us: number): Record<SummaryQuantile, number> {
  const at = (q: number): number => {
    const t = Math.min(1, Math.max(0, (q - 0.5) / (0.99 - 0.5)));
    return queueUs + medianUs + t * (p99Us - medianUs);
  };
  return Object.fromEntries(SUMMARY_QUANTILES.map((q) => [q, at(Number(q))])) as Record<SummaryQuantile, number>;
}

/** The curve a server's pods run on: the one set for it, or the measured H200 curve of its sharing. */
export function curveFor(set: SharingCurve | undefined, sharing: DefaultSharing = DEFAULT_SHARING): SharingCurve {
  return set ?? H200_RESNET50_BATCH1[sharing];
}

/**
 * Physical GPUs of a node: its simulated hardware's `sim.gpushare.io/gpu-count` annotation, the one
 * `tools/sim-device-plugin` advertises from. Absent, malformed or an unknown node: 1.
 */
export function devicesOf(annotations: Readonly<Record<string, string | undefined>> | undefined): number {
  const text = annotations?.[GPU_COUNT_ANNOTATION] ?? "1";
  return /^[1-9][0-9]*$/.test(text) ? Number(text) : 1;
}

/**
 * What a pod reports: a load set for the pod wins, then one set for its server, then the model's (when its server
 * is offered requests); otherwise it idles. A load set directly wins so that tests written before the model keep
 * their numbers.
 */
export function resolveLoad(pod: Load | undefined, server: Load | undefined, modelled: PodLoad | undefined): PodLoad {
  const direct = pod ?? server;
  if (direct !== undefined) return directLoad(direct);
  return modelled ?? IDLE;
}

/** What the control API set for one server. */
export interface ServerSettings {
  /** A load set directly for every pod of the server; wins over the model. */
  readonly load?: Load;
  /** Requests per second offered to the server: the model's input. */
  readonly offered?: number;
  /** The server's own curve; without it, the measured default of its sharing. */
  readonly curve?: SharingCurve;
  readonly sharing?: DefaultSharing;
}

/** A served pod as the simulator knows it. */
export interface ServedPod extends PlacedPod {
  readonly server: string;
  /** A load set for this pod alone. */
  readonly override?: Load;
}

/** Where a pod's load comes from: set for the pod, set for its server, the model's, or none. */
export type LoadSource = "pod" | "server" | "model" | "idle";

export interface ResolvedLoad {
  readonly load: PodLoad;
  readonly from: LoadSource;
  /** The model's reading, while the pod's server is offered requests (even when a direct load wins). */
  readonly modelled?: ContendedLoad;
}

/**
 * Every served pod's load: the model runs per server that is offered requests, over all of that server's pods (a
 * Service sends requests to a pod whatever it reports), each server on its own devices; then {@link resolveLoad}.
 */
export function resolveAll(
  pods: readonly ServedPod[],
  settings: ReadonlyMap<string, ServerSettings>,
  devicesOn: (node: string) => number,
): Map<string, ResolvedLoad> {
  const modelled = new Map<string, ContendedLoad>();
  for (const [server, set] of settings) {
    if (set.offered === undefined) continue;
    const loads = contend({
      offeredRequestsPerSecond: set.offered,
      curve: curveFor(set.curve, set.sharing),
      pods: pods.filter((p) => p.server === server),
      devicesOn,
    });
    for (const [name, load] of loads) modelled.set(name, load);
  }
  return new Map(
    pods.map((p) => {
      const server = settings.get(p.server)?.load;
      const model = modelled.get(p.name);
      const from: LoadSource =
        p.override !== undefined ? "pod" : server !== undefined ? "server" : model !== undefined ? "model" : "idle";
      return [p.name, { load: resolveLoad(p.override, server, model), from, modelled: model }];
    }),
  );
}
