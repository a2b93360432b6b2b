import { describe, expect, it } from "vitest";
import type { FitInput, GridSeries } from "../../gpu/curve-fit";
import { fitCurve, quantile } from "../../gpu/curve-fit";

const STEP = 10;

/**
 * A counter on the grid that grows by `perSecond(i)` per second up to sample `i`, present from sample `from` to
 * `to` (exclusive).
 */
function counter(pod: string, samples: number, perSecond: (i: number) => number, from = 0, to = samples): GridSeries {
  const values: (number | undefined)[] = [];
  let total = 0;
  for (let i = 0; i < samples; i++) {
    if (i > from) total += perSecond(i) * STEP;
    values.push(i >= from && i < to ? total : undefined);
  }
  return { pod, model: "m:1", values };
}

function gauge(pod: string, samples: number, value: (i: number) => number): GridSeries {
  return { pod, model: "m:1", values: Array.from({ length: samples }, (_, i) => value(i)) };
}

/** Pods on nodes, each serving `perSecond` requests at a latency of `latencyUs` (mean and p99), no queue. */
function input(
  pods: Record<string, { node: string; perSecond: (i: number) => number; from?: number; to?: number }>,
  samples: number,
  overrides: Partial<FitInput> = {},
  latencyUs = 5000,
): FitInput {
  const entries = Object.entries(pods);
  const success = entries.map(([pod, p]) => counter(pod, samples, p.perSecond, p.from, p.to));
  return {
    stepSeconds: STEP,
    stepsPerWindow: 3,
    devicesPerNode: 1,
    nodeOfPod: new Map(entries.map(([pod, p]) => [pod, p.node])),
    success,
    duration: entries.map(([pod, p]) => counter(pod, samples, (i) => p.perSecond(i) * latencyUs, p.from, p.to)),
    queue: entries.map(([pod, p]) => counter(pod, samples, () => 0, p.from, p.to)),
    p99: [],
    minWindows: 1,
    ...overrides,
  };
}

describe("fitting a sharing curve from windows", () => {
  it("reads pods per device on each node and what each device serves", () => {
    // Node a: 4 pods on 2 devices (2 each), 50 req/s each. Node b: 1 pod on 2 devices, 120 req/s.
    const fit = fitCurve(
      input(
        {
          a1: { node: "a", perSecond: () => 50 },
          a2: { node: "a", perSecond: () => 50 },
          a3: { node: "a", perSecond: () => 50 },
          a4: { node: "a", perSecond: () => 50 },
          b1: { node: "b", perSecond: () => 120 },
        },
        10,
        { devicesPerNode: 2 },
      ),
    );
    expect(fit.latency).toBe("mean");
    // 10 samples: 3 whole windows of 3 steps on each of 2 nodes.
    expect(fit.windows).toEqual({ total: 6, used: 6, changed: 0, uneven: 0, idle: 0, noLatency: 0 });
    expect(fit.points).toEqual([
      { pods: 1, requestsPerSecond: 120, latencyMs: 5, queueMs: 0, windows: 3, chosen: 3 },
      { pods: 2, requestsPerSecond: 100, latencyMs: 5, queueMs: 0, windows: 3, chosen: 3 },
    ]);
  });

  it("skips windows in which a pod came or went, pods uneven over the devices, and idle windows", () => {
    const fit = fitCurve(
      input(
        {
          // From sample 4: windows [0,3] has one pod, [3,6] sees it arrive, [6,9] has two.
          a1: { node: "a", perSecond: () => 100 },
          a2: { node: "a", perSecond: () => 100, from: 4 },
          // Three pods on two devices: never even.
          b1: { node: "b", perSecond: () => 10 },
          b2: { node: "b", perSecond: () => 10 },
          b3: { node: "b", perSecond: () => 10 },
          c1: { node: "c", perSecond: () => 0 },
        },
        10,
        { devicesPerNode: 2 },
      ),
    );
    expect(fit.windows).toEqual({ total: 9, used: 2, changed: 1, uneven: 3, idle: 3, noLatency: 0 });
    // Node a: one pod on one of its two devices, then two pods, one per device.
    expect(fit.points).toEqual([expect.objectContaining({ pods: 1, requestsPerSecond: 100, windows: 2 })]);
  });

  it("reads what a device serves through offered load below it: the 90th percentile, not the mean", () => {
    // One pod; the load reaches the device's 300 req/s one window in three, and is far below it otherwise.
    const offered = (i: number): number => (Math.floor((i - 1) / 3) % 3 === 0 ? 300 : 120);
    const fit = fitCurve(input({ p: { node: "a", perSecond: offered } }, 31));
    const [point] = fit.points;
    expect(point.windows).toBe(10);
    expect(point.requestsPerSecond).toBe(300);
    // The mean of the windows would read 174 req/s.
    expect(point.chosen).toBe(4);
  });

  it("takes the latency and queue time of the windows at or above the percentile", () => {
    const busy = (i: number): boolean => Math.floor((i - 1) / 3) % 2 === 0;
    const base = input({ p: { node: "a", perSecond: (i) => (busy(i) ? 200 : 50) } }, 31);
    const fit = fitCurve({
      ...base,
      queue: [counter("p", 31, (i) => (busy(i) ? 200 * 2000 : 0))],
      p99: [gauge("p", 31, (i) => (busy(i) ? 9000 : 4000))],
    });
    expect(fit.latency).toBe("p99");
    expect(fit.points).toEqual([{ pods: 1, requestsPerSecond: 200, latencyMs: 9, queueMs: 2, windows: 10, chosen: 5 }]);
  });

  it("weighs each pod's p99 by its requests, and skips windows without a p99 reading", () => {
    const base = input({ p: { node: "a", perSecond: () => 300 }, q: { node: "a", perSecond: () => 100 } }, 7, {
      devicesPerNode: 1,
    });
    const fit = fitCurve({
      ...base,
      p99: [gauge("p", 7, (i) => (i <= 3 ? NaN : 8000)), gauge("q", 7, (i) => (i <= 3 ? NaN : 4000))],
    });
    expect(fit.windows).toMatchObject({ used: 1, noLatency: 1 });
    // (300 × 8 + 100 × 4) ÷ 400 = 7 ms.
    expect(fit.points).toEqual([expect.objectContaining({ pods: 2, requestsPerSecond: 400, latencyMs: 7 })]);
  });

  it("reads a counter that dropped as a restart, never as negative requests", () => {
    const values = [0, 1000, 2000, 500, 1500, 2500, 3500];
    const fit = fitCurve({
      ...input({ p: { node: "a", perSecond: () => 100 } }, 7),
      success: [{ pod: "p", values }],
      duration: [{ pod: "p", values: values.map((v) => v * 1000) }],
    });
    // Window [0,3]: 1000 + 1000 + 500 (after the reset) = 2500 in 30 s; window [3,6]: 3000.
    expect(fit.points[0].requestsPerSecond).toBeCloseTo(quantile([2500 / 30, 100], 0.9), 9);
    expect(fit.points[0].latencyMs).toBe(1);
  });

  it("gives no point to a count with too few windows, and leaves out pods without a node", () => {
    const base = input({ p: { node: "a", perSecond: () => 100 }, x: { node: "b", perSecond: () => 100 } }, 10);
    const fit = fitCurve({ ...base, nodeOfPod: new Map([["p", "a"]]), minWindows: 4 });
    expect(fit.points).toEqual([]);
    expect(fit.sparse).toEqual([{ pods: 1, windows: 3 }]);
    expect(fit.podsWithoutNode).toEqual(["x"]);
  });

  it("fits nothing from no series", () => {
    expect(fitCurve(input({}, 0)).points).toEqual([]);
  });
});

describe("quantile", () => {
  it.each([
    [[1, 2, 3, 4, 5], 0.5, 3],
    [[1, 2, 3, 4, 5], 0.9, 4.6],
    [[1, 2, 3, 4, 5], 1, 5],
    [[1, 2, 3, 4, 5], 0, 1],
    [[7], 0.9, 7],
  ])("of %j at %f is %f", (values, p, expected) => {
    expect(quantile(values, p)).toBeCloseTo(expected, 9);
  });

  it("of nothing is NaN", () => {
    expect(quantile([], 0.9)).toBeNaN();
  });
});
