import fc from "fast-check";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { SharingCurve } from "../../gpu/sharing-curve";
import {
  curveAt,
  curveProblems,
  kneeOf,
  replicasForObjective,
  servedBy,
  sharingCurveSchema,
} from "../../gpu/sharing-curve";

/** The H200 table (`test/fixtures/h200-sharing-measured.md`): one curve per mode and batch. */
function measuredCurves(): Map<string, SharingCurve> {
  const text = fs.readFileSync(path.join(__dirname, "../fixtures/h200-sharing-measured.md"), "utf8");
  const rows = text
    .split("\n")
    .filter((l) => /^\| (ts|mps) \|/.test(l))
    .map((l) => l.split("|").map((c) => c.trim()));
  const curves = new Map<string, SharingCurve>();
  for (const [, mode, batch, pods, total, , , p99] of rows) {
    const key = `${mode}-${batch}`;
    const curve = curves.get(key) ?? { gpu: "H200-141GB", sharing: mode === "ts" ? "timeSlicing" : "mps", points: [] };
    curves.set(key, {
      ...curve,
      points: [...curve.points, { pods: Number(pods), requestsPerSecond: Number(total), p99Ms: Number(p99) }],
    });
  }
  return curves;
}

const curves = measuredCurves();
const ts1 = curves.get("ts-1")!;
const ts16 = curves.get("ts-16")!;
const mps1 = curves.get("mps-1")!;

describe("sharing curves, against the H200 measurements", () => {
  it("reads every curve of the table, each valid", () => {
    expect([...curves.keys()].sort()).toEqual(["mps-1", "mps-16", "ts-1", "ts-16"]);
    for (const [key, curve] of curves) {
      expect(sharingCurveSchema.safeParse(curve).success, key).toBe(true);
      expect(curveProblems("c", curve), key).toEqual([]);
    }
  });

  it.each([
    ["ts-1", 7, true], // 7 → 14 pods: +0 images/s
    ["ts-16", 4, true], // 4 → 7 pods: −20 images/s per pod
    ["mps-1", 14, false], // 7 → 14 pods still +187 images/s per pod, 72 % of one alone
    ["mps-16", 4, true], // 4 → 7 pods: +37 per pod, 1 % of one alone
  ])("the knee of %s is at %i pods (measured: %s)", (key, pods, measured) => {
    expect(kneeOf(curves.get(key)!)).toEqual({ pods, measured });
  });

  it("moves the knee with the fraction: at 25 % of one pod, time-slicing batch 1 stops at 4", () => {
    // 2 → 4: +112.5 per pod (41 %); 4 → 7: +54.3 per pod (19.7 %) < 25 %.
    expect(kneeOf(ts1, 0.25).pods).toBe(4);
    expect(kneeOf(ts1, 0.19).pods).toBe(7);
  });

  it("reads the measured points exactly and interpolates between them", () => {
    expect(curveAt(ts1, 7)).toEqual({ requestsPerSecond: 833, p99Ms: 8.42, extrapolated: false });
    const five = curveAt(ts1, 5);
    expect(five.requestsPerSecond).toBeCloseTo(670 + (833 - 670) / 3, 9);
    expect(five.p99Ms).toBeCloseTo(8.91 + (8.42 - 8.91) / 3, 9);
    expect(curveAt(ts1, 0)).toEqual({ requestsPerSecond: 0, p99Ms: 0, extrapolated: false });
  });

  it("holds throughput flat past the last point and stretches latency with the pods", () => {
    // 28 pods on a device measured to 14: the 833 images/s split twice as thin.
    expect(curveAt(ts1, 28)).toEqual({ requestsPerSecond: 833, p99Ms: 16.84 * 2, extrapolated: true });
    expect(curveAt(ts16, 8).extrapolated).toBe(true);
  });

  it("counts requests, not slots: 14 time-sliced pods on one H200 serve what 7 do, at twice the p99", () => {
    const seven = servedBy(ts1, 7, 1);
    const fourteen = servedBy(ts1, 14, 1);
    expect(fourteen.requestsPerSecond).toBe(seven.requestsPerSecond);
    expect(fourteen.p99Ms / seven.p99Ms).toBeCloseTo(2, 1);
    // Under MPS the same 14 pods serve 3.2× as much.
    expect(servedBy(mps1, 14, 1).requestsPerSecond / fourteen.requestsPerSecond).toBeCloseTo(2628 / 833, 9);
  });

  it("spreads pods evenly over devices: 9 pods on 2 devices are 5 + 4, the busiest device sets p99", () => {
    const served = servedBy(ts1, 9, 2);
    expect(served.podsPerDevice).toBe(5);
    expect(served.requestsPerSecond).toBeCloseTo(curveAt(ts1, 5).requestsPerSecond + 670, 9);
    expect(served.p99Ms).toBe(curveAt(ts1, 5).p99Ms);
    // Fewer pods than devices: one pod each, idle devices serve nothing.
    expect(servedBy(ts1, 2, 8)).toMatchObject({ podsPerDevice: 1, requestsPerSecond: 552, p99Ms: 5.44 });
    expect(servedBy(ts1, 0, 8).requestsPerSecond).toBe(0);
    expect(servedBy(ts1, 3, 0).requestsPerSecond).toBe(0);
  });

  it("finds the fewest replicas that meet an objective, or none", () => {
    // 1500 images/s within 9 ms on 2 H200s time-sliced: 2 × 670 = 1340 at 4 + 4 is short; 5 + 4 serves 1394.
    const met = replicasForObjective(ts1, { requestsPerSecond: 1500, p99Ms: 9 }, 2, 28);
    expect(met).toMatchObject({ replicas: 11, podsPerDevice: 6 });
    expect(met!.requestsPerSecond).toBeGreaterThanOrEqual(1500);
    // 2000 images/s is past what 2 time-sliced H200s serve at any number of pods (2 × 833).
    expect(replicasForObjective(ts1, { requestsPerSecond: 2000, p99Ms: 100 }, 2, 28)).toBeUndefined();
    // 1600 images/s is reachable, but not within 8 ms.
    expect(replicasForObjective(ts1, { requestsPerSecond: 1600, p99Ms: 8 }, 2, 28)).toBeUndefined();
  });

  it("meets an objective on fewer devices than it has, where the p99 falls with the pods (MPS)", () => {
    // 2000 images/s within 7 ms on 2 H200s under MPS: within 7 ms a device runs 1 pod (5.56 ms) or 13 and more
    // (13: 8.86 − 6/7 × 2.41 = 6.79 ms, 1316 + 6/7 × 1312 = 2440.6/s). Spread evenly over both devices, 3 to 13
    // pods put 2 to 7 on the busiest (p99 7.47 to 8.86 ms), and 2 pods serve 518/s: never met.
    const objective = { requestsPerSecond: 2000, p99Ms: 7 };
    expect(servedBy(mps1, 13, 2)).toMatchObject({ podsPerDevice: 7, p99Ms: 8.86 });
    for (let r = 1; r <= 13; r++) {
      const spread = servedBy(mps1, r, 2);
      expect(spread.requestsPerSecond >= 2000 && spread.p99Ms <= 7).toBe(false);
    }
    // Packed on one of them, 13 pods meet it; 12 (7.14 ms) do not.
    const met = replicasForObjective(mps1, objective, 2, 13);
    expect(met).toMatchObject({ replicas: 13, devices: 1, podsPerDevice: 13 });
    expect(met!.requestsPerSecond).toBeCloseTo(1316 + (6 / 7) * (2628 - 1316), 9);
    expect(met!.p99Ms).toBeCloseTo(8.86 - (6 / 7) * (8.86 - 6.45), 9);
    expect(replicasForObjective(mps1, objective, 2, 12)).toBeUndefined();
  });
});

describe("curve problems", () => {
  const base: SharingCurve = {
    gpu: "T4",
    sharing: "timeSlicing",
    points: [{ pods: 1, requestsPerSecond: 10, p99Ms: 5 }],
  };

  it("fails when the first point is not one pod alone", () => {
    expect(
      curveProblems("servers.a.sharingCurve", { ...base, points: [{ pods: 2, requestsPerSecond: 10, p99Ms: 5 }] }),
    ).toEqual([
      "servers.a.sharingCurve.points[0].pods: 2 is not 1; a curve starts at one pod alone on the device, the baseline every other point is judged against; measure it and list it first",
    ]);
  });

  it("fails when points are out of order or repeated", () => {
    const points = [
      { pods: 1, requestsPerSecond: 10, p99Ms: 5 },
      { pods: 4, requestsPerSecond: 20, p99Ms: 6 },
      { pods: 4, requestsPerSecond: 20, p99Ms: 6 },
      { pods: 3, requestsPerSecond: 20, p99Ms: 6 },
    ];
    expect(curveProblems("c", { ...base, points })).toEqual([
      "c.points[2].pods: 4 does not follow 4; list the points in ascending pods, each count once",
      "c.points[3].pods: 3 does not follow 4; list the points in ascending pods, each count once",
    ]);
  });

  it("fails when an unshared device lists more than one pod", () => {
    const points = [...base.points, { pods: 2, requestsPerSecond: 20, p99Ms: 6 }];
    expect(curveProblems("c", { ...base, sharing: "none", points })).toEqual([
      'c.points: 2 pods on a device measured with sharing "none"; an unshared device runs one pod, so keep the first point only, or set the sharing the curve was measured with (timeSlicing or mps)',
    ]);
  });

  it.each([
    [{ pods: 0, requestsPerSecond: 1, p99Ms: 1 }],
    [{ pods: 1.5, requestsPerSecond: 1, p99Ms: 1 }],
    [{ pods: 1, requestsPerSecond: -1, p99Ms: 1 }],
    [{ pods: 1, requestsPerSecond: 1, p99Ms: 0 }],
    [{ pods: 1, requestsPerSecond: Infinity, p99Ms: 1 }],
  ])("the schema refuses the point %j", (point) => {
    expect(sharingCurveSchema.safeParse({ ...base, points: [point] }).success).toBe(false);
  });
});

describe("sharing curves at their edges", () => {
  const two: SharingCurve = {
    gpu: "T4",
    sharing: "timeSlicing",
    points: [
      { pods: 1, requestsPerSecond: 100, p99Ms: 10 },
      { pods: 2, requestsPerSecond: 110, p99Ms: 12 },
    ],
  };

  it("reads the last point as measured, and only past it as the flat extension", () => {
    expect(curveAt(ts1, 14)).toEqual({ requestsPerSecond: 833, p99Ms: 16.84, extrapolated: false });
    expect(curveAt(ts1, 5).extrapolated).toBe(false);
    expect(curveAt(ts1, 15).extrapolated).toBe(true);
  });

  it("puts the knee where one more pod adds less than the fraction, not where it adds exactly that", () => {
    // 1 → 2 pods adds 10, exactly 10 % of one pod alone: not a knee yet; the curve ends still rising.
    expect(kneeOf(two, 0.1)).toEqual({ pods: 2, measured: false });
    expect(kneeOf(two, 0.11)).toEqual({ pods: 1, measured: true });
  });

  it("meets an objective that the devices serve exactly", () => {
    expect(replicasForObjective(ts1, { requestsPerSecond: 833, p99Ms: 8.42 }, 1, 14)).toMatchObject({ replicas: 7 });
  });

  it("serves nothing, and reads nothing past the curve, with no pods or no devices", () => {
    expect(servedBy(ts1, 0, 8)).toEqual({
      replicas: 0,
      devices: 8,
      podsPerDevice: 0,
      requestsPerSecond: 0,
      p99Ms: 0,
      extrapolated: false,
    });
  });

  it("takes a one-point curve of an unshared device", () => {
    const alone: SharingCurve = { gpu: "T4", sharing: "none", points: [two.points[0]] };
    expect(sharingCurveSchema.safeParse(alone).success).toBe(true);
    expect(curveProblems("c", alone)).toEqual([]);
    expect(kneeOf(alone)).toEqual({ pods: 1, measured: false });
  });
});

describe("replicasForObjective, against trying every count on every number of devices", () => {
  /** The definition: replicas one by one, and for each the devices one by one. */
  function bruteForce(
    curve: SharingCurve,
    objective: { requestsPerSecond: number; p99Ms: number },
    d: number,
    r: number,
  ) {
    for (let replicas = 1; replicas <= r; replicas++) {
      for (let used = 1; used <= Math.min(d, replicas); used++) {
        const served = servedBy(curve, replicas, used);
        if (served.requestsPerSecond >= objective.requestsPerSecond && served.p99Ms <= objective.p99Ms) return served;
      }
    }
    return undefined;
  }

  const curves = fc
    .array(fc.record({ rps: fc.integer({ min: 0, max: 400 }), p99: fc.integer({ min: 1, max: 40 }) }), {
      minLength: 1,
      maxLength: 5,
    })
    .chain((raw) =>
      fc
        .uniqueArray(fc.integer({ min: 2, max: 12 }), { minLength: raw.length - 1, maxLength: raw.length - 1 })
        .map((pods): SharingCurve => ({
          gpu: "T4",
          sharing: "timeSlicing",
          points: [1, ...pods.sort((a, b) => a - b)].map((n, i) => ({
            pods: n,
            requestsPerSecond: raw[i].rps,
            p99Ms: raw[i].p99,
          })),
        })),
    );

  it("finds the same replicas on the same devices, or none where it finds none", () => {
    fc.assert(
      fc.property(
        curves,
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 80 }),
        (curve, rps, p99, devices, maxReplicas) => {
          const objective = { requestsPerSecond: rps, p99Ms: p99 };
          expect(replicasForObjective(curve, objective, devices, maxReplicas)).toEqual(
            bruteForce(curve, objective, devices, maxReplicas),
          );
        },
      ),
      { numRuns: 2000, seed: 7 },
    );
  });

  it("answers on a pool of thousands of GPUs, where the definition would try 10^10 spreads", () => {
    // 5000 nodes × 8 H200s, 14 slots each. No count serves 10^9 requests/s.
    expect(replicasForObjective(ts1, { requestsPerSecond: 1e9, p99Ms: 100 }, 40_000, 560_000)).toBeUndefined();
    // 10^6 requests/s: one pod alone serves the most per pod (276), so ⌈10^6 ÷ 276⌉ = 3624 replicas; the fewest
    // devices for them put 2 on two: 3620 × 276 + 2 × 445 = 1,000,010.
    expect(replicasForObjective(ts1, { requestsPerSecond: 1e6, p99Ms: 100 }, 40_000, 560_000)).toMatchObject({
      replicas: 3624,
      devices: 3622,
      podsPerDevice: 2,
    });
  });
});
