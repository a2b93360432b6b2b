import { describe, expect, it } from "vitest";
import { H200_RESNET50_BATCH1 } from "../../gpu/measured-curves";
import type { SharingCurve } from "../../gpu/sharing-curve";
import type { ContendedLoad, PlacedPod } from "../../tools/sim-triton/contention";
import {
  contend,
  curveFor,
  DEFAULT_QUEUE_LIMIT,
  devicesOf,
  resolveAll,
  resolveLoad,
} from "../../tools/sim-triton/contention";
import { IDLE } from "../../tools/sim-triton/metrics";

const TS = H200_RESNET50_BATCH1.timeSlicing;
const MPS = H200_RESNET50_BATCH1.mps;

/** `count` pods named p00, p01, … on `node`. */
function pods(count: number, node = "gpu-0"): PlacedPod[] {
  return Array.from({ length: count }, (_, i) => ({ name: `p${String(i).padStart(2, "0")}`, node }));
}

/** The model's loads for `offered` req/s over `placed`, with `devices` GPUs on every node. */
function run(offered: number, curve: SharingCurve, placed: PlacedPod[], devices = 1): ContendedLoad[] {
  const loads = contend({ offeredRequestsPerSecond: offered, curve, pods: placed, devicesOn: () => devices });
  expect([...loads.keys()].sort()).toEqual(placed.map((p) => p.name).sort());
  return [...loads.values()];
}

const served = (loads: ContendedLoad[]): number => loads.reduce((s, l) => s + l.requestsPerSecond, 0);

describe("the contention model, against the H200 measurements", () => {
  it("serves what one pod alone serves and queues the rest: 1 pod offered 1000 req/s serves 276", () => {
    const [one] = run(1000, TS, pods(1));
    expect(one.requestsPerSecond).toBe(276);
    expect(one.utilisation).toBeCloseTo(1000 / 276, 9);
    // A full queue: the limit's worth of requests ahead, each served in 1/276 s.
    expect(one.queueUsPerRequest).toBeCloseTo((DEFAULT_QUEUE_LIMIT * 1e6) / 276, 6);
    expect(one.computeUsPerRequest).toBeCloseTo(1e6 / 276, 6);
  });

  it.each([
    ["7 time-sliced pods", 833, TS, 7],
    ["14 time-sliced pods", 833, TS, 14],
    ["14 MPS pods", 2628, MPS, 14],
    ["2 time-sliced pods", 445, TS, 2],
    ["4 MPS pods", 983, MPS, 4],
  ])("%s on one H200 offered 5000 req/s serve the measured %i req/s", (_, total, curve, count) => {
    const loads = run(5000, curve, pods(count));
    expect(served(loads)).toBeCloseTo(total, 6);
    for (const l of loads) expect(l.podsOnDevice).toBe(count);
  });

  it("doubles with two devices: on one node with 2 GPUs, or on two nodes with one each", () => {
    expect(served(run(5000, TS, pods(14), 2))).toBeCloseTo(2 * 833, 6);
    const twoNodes = [...pods(7, "gpu-0"), ...pods(7, "gpu-1").map((p) => ({ ...p, name: `q${p.name}` }))];
    expect(served(run(5000, TS, twoNodes))).toBeCloseTo(2 * 833, 6);
    expect(served(run(10_000, MPS, pods(28), 2))).toBeCloseTo(2 * 2628, 6);
  });

  it("spreads a node's pods evenly over its devices: 3 pods on 2 GPUs are 2 + 1", () => {
    const loads = run(5000, TS, pods(3), 2);
    expect(loads.map((l) => l.podsOnDevice).sort()).toEqual([1, 2, 2]);
    expect(served(loads)).toBeCloseTo(445 + 276, 6);
  });

  it("serves all of a load under capacity, with a queue wait shorter than one service", () => {
    const loads = run(400, TS, pods(7));
    expect(served(loads)).toBeCloseTo(400, 9);
    for (const l of loads) {
      const rho = 400 / 833;
      expect(l.utilisation).toBeCloseTo(rho, 9);
      expect(l.queueUsPerRequest).toBeCloseTo((l.computeUsPerRequest * rho) / (1 - rho), 6);
      expect(l.queueUsPerRequest).toBeLessThan(l.computeUsPerRequest);
    }
  });

  it("past the knee, more time-sliced pods serve nothing more and every request waits longer", () => {
    const seven = run(2000, TS, pods(7));
    const fourteen = run(2000, TS, pods(14));
    expect(served(fourteen)).toBeCloseTo(served(seven), 6);
    expect(fourteen[0].queueUsPerRequest).toBeGreaterThan(seven[0].queueUsPerRequest);
    expect(fourteen[0].queueUsPerRequest / seven[0].queueUsPerRequest).toBeCloseTo(2, 9);
    expect(fourteen[0].latencyUs["0.99"]).toBeGreaterThan(seven[0].latencyUs["0.99"]);
  });

  it("under the knee, more pods serve more: 1 → 2 → 4 → 7 time-sliced pods under overload", () => {
    const totals = [1, 2, 4, 7].map((n) => served(run(2000, TS, pods(n))));
    expect(totals.map((t) => Math.round(t))).toEqual([276, 445, 670, 833]);
  });

  it("keeps the queue wait continuous and capped at a full queue as the load nears capacity", () => {
    const full = (DEFAULT_QUEUE_LIMIT * 1e6) / 276;
    const [near] = run(275.999, TS, pods(1));
    const [at] = run(276, TS, pods(1));
    expect(near.queueUsPerRequest).toBeCloseTo(full, 6);
    expect(at.queueUsPerRequest).toBeCloseTo(full, 6);
    const [half] = run(138, TS, pods(1));
    expect(half.queueUsPerRequest).toBeCloseTo(1e6 / 276, 6);
    expect(
      contend({ offeredRequestsPerSecond: 1000, curve: TS, pods: pods(1), devicesOn: () => 1, queueLimit: 8 }).get(
        "p00",
      )!.queueUsPerRequest,
    ).toBeCloseTo((8 * 1e6) / 276, 6);
  });

  it("puts the queue wait into every quantile, over a service time from the median to the curve's p99", () => {
    const [l] = run(2000, TS, pods(7));
    const service = 1e6 / (833 / 7);
    expect(l.latencyUs["0.5"]).toBeCloseTo(l.queueUsPerRequest + service, 6);
    expect(l.latencyUs["0.99"]).toBeCloseTo(l.queueUsPerRequest + 8420, 6);
    expect(l.latencyUs["0.999"]).toBe(l.latencyUs["0.99"]);
    expect(l.latencyUs["0.9"]).toBeGreaterThan(l.latencyUs["0.5"]);
    expect(l.latencyUs["0.95"]).toBeLessThan(l.latencyUs["0.99"]);
  });

  it("serves nothing without pods or offered load, and nothing on a device measured to serve nothing", () => {
    expect(run(1000, TS, []).length).toBe(0);
    const [idle] = run(0, TS, pods(1));
    expect(idle).toMatchObject({ requestsPerSecond: 0, queueUsPerRequest: 0, utilisation: 0 });
    const dead: SharingCurve = {
      gpu: "T4",
      sharing: "timeSlicing",
      points: [{ pods: 1, requestsPerSecond: 0, p99Ms: 1 }],
    };
    expect(run(10, dead, pods(1))[0]).toMatchObject({ requestsPerSecond: 0, queueUsPerRequest: 0 });
  });
});

describe("the model's inputs", () => {
  it("lets a load set directly win: the pod's, then its server's, then the model's", () => {
    const [modelled] = run(2000, TS, pods(7));
    const pod = { requestsPerSecond: 5, queueUsPerRequest: 7 };
    const server = { requestsPerSecond: 20, queueUsPerRequest: 300 };
    expect(resolveLoad(pod, server, modelled)).toMatchObject({ ...pod, computeUsPerRequest: 0 });
    expect(resolveLoad(undefined, server, modelled)).toMatchObject(server);
    expect(resolveLoad(undefined, undefined, modelled)).toBe(modelled);
    expect(resolveLoad(undefined, undefined, undefined)).toBe(IDLE);
  });

  it("resolves every pod: direct loads win for their server or pod, the model drives the rest", () => {
    const direct = { requestsPerSecond: 20, queueUsPerRequest: 300 };
    const served = [
      ...pods(7).map((p) => ({ ...p, server: "a" })),
      { name: "b0", node: "gpu-0", server: "b" },
      { name: "b1", node: "gpu-0", server: "b", override: { requestsPerSecond: 1, queueUsPerRequest: 2 } },
      { name: "c0", node: "gpu-0", server: "c" },
    ];
    const settings = new Map([
      ["a", { offered: 2000 }],
      ["b", { offered: 2000, sharing: "mps" as const }],
      ["c", { offered: 2000, load: direct }],
    ]);
    const resolved = resolveAll(served, settings, () => 1);
    // Server a's 7 pods share the GPU among themselves; other servers' pods are not counted on it.
    expect(resolved.get("p00")).toMatchObject({ from: "model", modelled: { podsOnDevice: 7 } });
    expect(resolved.get("p00")!.load.requestsPerSecond).toBeCloseTo(833 / 7, 9);
    // Server b under MPS: the pod with its own load keeps it, and still takes its share of the offered requests.
    expect(resolved.get("b0")).toMatchObject({ from: "model", load: { requestsPerSecond: 461 / 2 } });
    expect(resolved.get("b1")).toMatchObject({ from: "pod", load: { requestsPerSecond: 1, queueUsPerRequest: 2 } });
    expect(resolved.get("b1")!.modelled).toMatchObject({ podsOnDevice: 2 });
    // Server c is offered requests but set directly: the direct load wins.
    expect(resolved.get("c0")).toMatchObject({ from: "server", load: direct });
    expect(resolveAll(served, new Map(), () => 1).get("p00")).toEqual({
      from: "idle",
      load: IDLE,
      modelled: undefined,
    });
  });

  it("takes the measured H200 curve of the server's sharing unless one is set", () => {
    expect(curveFor(undefined)).toBe(TS);
    expect(curveFor(undefined, "mps")).toBe(MPS);
    const own: SharingCurve = { gpu: "T4", sharing: "mps", points: [{ pods: 1, requestsPerSecond: 9, p99Ms: 3 }] };
    expect(curveFor(own, "timeSlicing")).toBe(own);
  });

  it.each([
    [{ "sim.gpushare.io/gpu-count": "2" }, 2],
    [{}, 1],
    [undefined, 1],
    [{ "sim.gpushare.io/gpu-count": "0" }, 1],
    [{ "sim.gpushare.io/gpu-count": "two" }, 1],
  ])("counts the node's GPUs from its simulated hardware: %j → %i", (annotations, devices) => {
    expect(devicesOf(annotations)).toBe(devices);
  });
});
