import { z } from "zod";
import type { AdvertisedDevice } from "./capacity";
import type { SharingMode } from "./memory";

/**
 * What one shared device serves: requests per second in total and p99 latency at 1, 2, … N pods of one server on
 * it. Slots are not capacity: past a *knee*, a time-sliced pod adds latency and no throughput (measured on an H200,
 * ResNet-50 batch 1: 276 images/s alone, 833 at 7 pods, still 833 at 14, p50 3.4 → 16.8 ms). A curve lets capacity,
 * the preview, the HPA and the planner count requests instead of slots. `docs/serving-curves.md` has the table and
 * how to get a curve for a model.
 *
 * Between two measured points the curve is linear. Past the last one it is held flat (the device is saturated), and
 * latency grows with the pods in proportion (each pod gets `1/n` of a fixed throughput): the time-slicing shape, and
 * a cautious guess for MPS. Every answer says when it was read past the last point.
 */

/** A pod past the knee adds less than this fraction of what one pod alone serves. */
export const DEFAULT_KNEE_FRACTION = 0.1;

/** One measured point: `pods` pods of the server on one device, and what the device served in total. */
export interface CurvePoint {
  readonly pods: number;
  /** Requests served per second by all the pods on the device together. */
  readonly requestsPerSecond: number;
  /** 99th percentile of one request's latency at that load, milliseconds. */
  readonly p99Ms: number;
}

/** A server's sharing curve: the device it was measured on, how that device was shared, and the points. */
export interface SharingCurve {
  /** GPU model of the device, as the catalog names it (`H200-141GB`, `T4`). */
  readonly gpu: string;
  /** MIG profile of the device (`1g.5gb`), when the pods shared a MIG slice. */
  readonly migProfile?: string;
  /** How the pods shared the device. */
  readonly sharing: SharingMode;
  /** Points in ascending `pods`, the first at 1 pod. */
  readonly points: readonly CurvePoint[];
  /** Where the figures come from (a benchmark, `npm run advise`, a date); shown, never interpreted. */
  readonly source?: string;
}

/** A server's objective at its peak: the requests per second it must serve, each within a p99 latency. */
export interface ServingObjective {
  readonly requestsPerSecond: number;
  readonly p99Ms: number;
}

const MAX_POINTS = 1000;
const positive = z.number().positive().finite();

const pointSchema = z.strictObject({
  pods: z.number().int().min(1).max(MAX_POINTS),
  requestsPerSecond: z.number().nonnegative().finite(),
  p99Ms: positive,
});

/** The schema of a curve in a stack file or a curve file; {@link curveProblems} checks what zod cannot. */
export const sharingCurveSchema = z.strictObject({
  gpu: z.string().min(1),
  migProfile: z.string().min(1).optional(),
  sharing: z.enum(["none", "timeSlicing", "mps"]),
  points: z.array(pointSchema).min(1).max(MAX_POINTS),
  source: z.string().max(1000).optional(),
});

/** The schema of a serving objective. */
export const servingObjectiveSchema = z.strictObject({ requestsPerSecond: positive, p99Ms: positive });

/**
 * What is wrong with a curve that its schema accepts, each as `<at>.<key>: …; <fix>`: points out of order or
 * repeated, not starting at one pod, or more than one pod on a device that is not shared.
 */
export function curveProblems(at: string, curve: SharingCurve): string[] {
  const problems: string[] = [];
  const { points } = curve;
  if (points[0].pods !== 1) {
    problems.push(
      `${at}.points[0].pods: ${points[0].pods} is not 1; a curve starts at one pod alone on the device, the baseline every other point is judged against; measure it and list it first`,
    );
  }
  for (let i = 1; i < points.length; i++) {
    if (points[i].pods <= points[i - 1].pods) {
      problems.push(
        `${at}.points[${i}].pods: ${points[i].pods} does not follow ${points[i - 1].pods}; list the points in ascending pods, each count once`,
      );
    }
  }
  const last = points[points.length - 1];
  if (curve.sharing === "none" && last.pods > 1) {
    problems.push(
      `${at}.points: ${last.pods} pods on a device measured with sharing "none"; an unshared device runs one pod, so keep the first point only, or set the sharing the curve was measured with (timeSlicing or mps)`,
    );
  }
  return problems;
}

/** What a device serves with a given number of pods of the server on it. */
export interface CurveReading {
  readonly requestsPerSecond: number;
  readonly p99Ms: number;
  /** The pods are past the last measured point; the reading is the flat extension. */
  readonly extrapolated: boolean;
}

/** The curve at `pods` pods on one device (0 pods serve nothing). */
export function curveAt(curve: SharingCurve, pods: number): CurveReading {
  const { points } = curve;
  if (pods <= 0) return { requestsPerSecond: 0, p99Ms: 0, extrapolated: false };
  const last = points[points.length - 1];
  if (pods >= last.pods) {
    return {
      requestsPerSecond: last.requestsPerSecond,
      p99Ms: (last.p99Ms * pods) / last.pods,
      extrapolated: pods > last.pods,
    };
  }
  const upper = points.findIndex((p) => p.pods >= pods);
  const hi = points[upper];
  if (hi.pods === pods || upper === 0)
    return { requestsPerSecond: hi.requestsPerSecond, p99Ms: hi.p99Ms, extrapolated: false };
  const lo = points[upper - 1];
  const t = (pods - lo.pods) / (hi.pods - lo.pods);
  return {
    requestsPerSecond: lo.requestsPerSecond + t * (hi.requestsPerSecond - lo.requestsPerSecond),
    p99Ms: lo.p99Ms + t * (hi.p99Ms - lo.p99Ms),
    extrapolated: false,
  };
}

/** The knee of a curve: pods per device past which one more pod adds less than `fraction` of one pod's throughput. */
export interface Knee {
  readonly pods: number;
  /** False when the curve still rises at its last point: the knee is at least there, unmeasured past it. */
  readonly measured: boolean;
}

/**
 * The knee: the first measured point from which one more pod (the slope to the next point, per pod) adds less than
 * `fraction` of what one pod serves alone. Linear between points, so the knee is always a measured point.
 */
export function kneeOf(curve: SharingCurve, fraction: number = DEFAULT_KNEE_FRACTION): Knee {
  const { points } = curve;
  const alone = points[0].requestsPerSecond / points[0].pods;
  for (let i = 0; i + 1 < points.length; i++) {
    const perPod =
      (points[i + 1].requestsPerSecond - points[i].requestsPerSecond) / (points[i + 1].pods - points[i].pods);
    if (perPod < fraction * alone) return { pods: points[i].pods, measured: true };
  }
  return { pods: points[points.length - 1].pods, measured: false };
}

/**
 * The HPA's `maxReplicas` a curve gives: every device filled to the knee, or to its slots when those are fewer.
 * With `stopAtKnee` false, every slot.
 */
export function kneeMaxReplicas(knee: Knee, device: AdvertisedDevice, devices: number, stopAtKnee: boolean): number {
  return devices * (stopAtKnee ? Math.min(knee.pods, device.replicas) : device.replicas);
}

/** What a server's pods serve when spread over devices. */
export interface ServedLoad extends CurveReading {
  readonly replicas: number;
  readonly devices: number;
  /** Pods on the busiest device. */
  readonly podsPerDevice: number;
}

/**
 * What `replicas` pods of a server serve spread evenly over `devices` devices: `r` devices with `q + 1` pods and the
 * rest with `q` (`replicas = q × devices + r`). Throughput adds up; latency is the busiest device's, whose p99 every
 * request risks. Assumes the server has the devices to itself.
 */
export function servedBy(curve: SharingCurve, replicas: number, devices: number): ServedLoad {
  if (devices <= 0 || replicas <= 0) {
    return { replicas, devices, podsPerDevice: 0, requestsPerSecond: 0, p99Ms: 0, extrapolated: false };
  }
  const used = Math.min(devices, replicas);
  const q = Math.floor(replicas / used);
  const r = replicas - q * used;
  const base = curveAt(curve, q);
  const busy = r > 0 ? curveAt(curve, q + 1) : base;
  return {
    replicas,
    devices,
    podsPerDevice: r > 0 ? q + 1 : q,
    requestsPerSecond: r * busy.requestsPerSecond + (used - r) * base.requestsPerSecond,
    p99Ms: busy.p99Ms,
    extrapolated: busy.extrapolated,
  };
}

/**
 * The fewest replicas, up to `maxReplicas`, that serve the objective within its p99 spread evenly over at most
 * `devices` devices (for that count, the fewest devices that do); `undefined` if none does.
 *
 * Not only over all of them: where p99 falls as pods are added (the measured H200 MPS curve, 8.86 ms at 7 pods and
 * 6.45 at 14), 13 pods packed on one device meet 7 ms where 7 + 6 on two do not; and a server that shares its pool
 * with others fills devices of its own, as the planner counts them (devices × pods per device), not all the pool's.
 */
export function replicasForObjective(
  curve: SharingCurve,
  objective: ServingObjective,
  devices: number,
  maxReplicas: number,
): ServedLoad | undefined {
  const meets = (s: ServedLoad): boolean =>
    s.requestsPerSecond >= objective.requestsPerSecond && s.p99Ms <= objective.p99Ms;
  // An even spread of r pods over u devices puts m = ⌈r ÷ u⌉ on a of them and m − 1 on the rest. Past the curve's
  // last point a device serves no more and waits longer, so the busiest device never needs more pods than that point;
  // for each m and u only the fewest a that serve enough can be the fewest replicas. Replicas × devices, tried one
  // by one, would take minutes on a pool of thousands of GPUs.
  const last = curve.points[curve.points.length - 1].pods;
  let best = Infinity;
  for (let m = 1; m <= Math.min(last, maxReplicas); m++) {
    const busiest = curveAt(curve, m);
    if (busiest.p99Ms > objective.p99Ms) continue;
    const lower = curveAt(curve, m - 1).requestsPerSecond;
    const gain = busiest.requestsPerSecond - lower;
    for (let used = 1; used <= devices; used++) {
      const floor = used * (m - 1);
      if (floor + 1 >= best || floor + 1 > maxReplicas) break;
      const short = objective.requestsPerSecond - used * lower;
      // With no gain from the busiest count, one device at it serves the most for the fewest pods.
      const estimate = gain > 0 ? Math.max(1, Math.ceil(short / gain)) : 1;
      // The estimate in floating point may be one off either way; the check is servedBy's own arithmetic.
      for (let a = Math.max(1, estimate - 1); a <= Math.min(used, estimate + 1); a++) {
        const replicas = floor + a;
        if (replicas < best && replicas <= maxReplicas && meets(servedBy(curve, replicas, used))) {
          best = replicas;
          break;
        }
      }
    }
  }
  if (best === Infinity) return undefined;
  // For that count, the fewest devices that do.
  for (let used = 1; used <= Math.min(devices, best); used++) {
    const served = servedBy(curve, best, used);
    if (meets(served)) return served;
  }
  return undefined;
}
