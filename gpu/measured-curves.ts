import type { SharingCurve } from "./sharing-curve";

/**
 * Sharing curves measured on real hardware, for defaults and examples: the stack docs, the local simulation of
 * Triton (`tools/sim-triton`) and tests read them from here, so the figures live in one place.
 */

const H200_RESNET50_SOURCE =
  "measured 2026-12-03 on one NVIDIA H200 (MIG off), ResNet-50 fp16 batch 1, one process per pod, 8 s windows; " +
  "test/fixtures/h200-sharing-measured.md";

/** A curve for each way of sharing a device. */
export interface CurvesBySharing {
  readonly timeSlicing: SharingCurve;
  readonly mps: SharingCurve;
}

/**
 * ResNet-50 at batch 1 on one H200, time-sliced and under MPS: total requests per second and p99 latency at 1, 2, 4,
 * 7 and 14 pods. Time-slicing stops gaining at 7 pods (833 req/s, also at 14); MPS still gains at 14 (2628 req/s).
 * One run per point on a shared machine: expect some percent of noise.
 * @see test/fixtures/h200-sharing-measured.md for the full table, the method and the batch-16 rows.
 */
export const H200_RESNET50_BATCH1: CurvesBySharing = {
  timeSlicing: {
    gpu: "H200-141GB",
    sharing: "timeSlicing",
    points: [
      { pods: 1, requestsPerSecond: 276, p99Ms: 5.44 },
      { pods: 2, requestsPerSecond: 445, p99Ms: 6.49 },
      { pods: 4, requestsPerSecond: 670, p99Ms: 8.91 },
      { pods: 7, requestsPerSecond: 833, p99Ms: 8.42 },
      { pods: 14, requestsPerSecond: 833, p99Ms: 16.84 },
    ],
    source: H200_RESNET50_SOURCE,
  },
  mps: {
    gpu: "H200-141GB",
    sharing: "mps",
    points: [
      { pods: 1, requestsPerSecond: 259, p99Ms: 5.56 },
      { pods: 2, requestsPerSecond: 461, p99Ms: 7.47 },
      { pods: 4, requestsPerSecond: 983, p99Ms: 7.72 },
      { pods: 7, requestsPerSecond: 1316, p99Ms: 8.86 },
      { pods: 14, requestsPerSecond: 2628, p99Ms: 6.45 },
    ],
    source: H200_RESNET50_SOURCE,
  },
};
