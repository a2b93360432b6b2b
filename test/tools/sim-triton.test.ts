import { describe, expect, it } from "vitest";
import { H200_RESNET50_BATCH1 } from "../../gpu/measured-curves";
import { contend } from "../../tools/sim-triton/contention";
import { isLoopbackIPv4, modelsOf, parseLoad, TritonCounters } from "../../tools/sim-triton/metrics";

/** The value of one series in an exposition text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const SIMPLE = 'model="simple",version="1"';

describe("simulated Triton counters", () => {
  it("grow with the load: requests per second and queue time per request, whole numbers as Triton's are", () => {
    const c = new TritonCounters(["simple"], 0);
    c.setLoad({ requestsPerSecond: 20, queueUsPerRequest: 300 }, 0);
    const text = c.render(10_500);
    expect(sample(text, `nv_inference_request_success{${SIMPLE}}`)).toBe(210);
    expect(sample(text, `nv_inference_queue_duration_us{${SIMPLE}}`)).toBe(63_000);
    expect(sample(text, `nv_inference_count{${SIMPLE}}`)).toBe(210);
    expect(sample(text, `nv_inference_request_failure{${SIMPLE}}`)).toBe(0);
    expect(text).toContain("# TYPE nv_inference_queue_duration_us counter\n");
    expect(text.endsWith("\n")).toBe(true);
  });

  it("counts what ran before a load change at the old load", () => {
    const c = new TritonCounters(["simple"], 0);
    c.setLoad({ requestsPerSecond: 10, queueUsPerRequest: 100 }, 0);
    c.setLoad({ requestsPerSecond: 0, queueUsPerRequest: 0 }, 5000);
    const text = c.render(60_000);
    expect(sample(text, `nv_inference_request_success{${SIMPLE}}`)).toBe(50);
    expect(sample(text, `nv_inference_queue_duration_us{${SIMPLE}}`)).toBe(5000);
  });

  it("stays at 0 while idle", () => {
    const c = new TritonCounters(["simple"], 0);
    expect(sample(c.render(30_000), `nv_inference_request_success{${SIMPLE}}`)).toBe(0);
  });

  it("starts again at 0 on a reset and keeps its load", () => {
    const c = new TritonCounters(["simple"], 0);
    c.setLoad({ requestsPerSecond: 10, queueUsPerRequest: 300 }, 0);
    c.render(100_000);
    c.reset(100_000);
    const text = c.render(102_000);
    expect(sample(text, `nv_inference_request_success{${SIMPLE}}`)).toBe(20);
    expect(sample(text, `nv_inference_queue_duration_us{${SIMPLE}}`)).toBe(6000);
  });

  it("splits a pod's load evenly over its models, so the per-pod ratio is the queue time set", () => {
    const c = new TritonCounters(["a", "b"], 0);
    c.setLoad({ requestsPerSecond: 10, queueUsPerRequest: 300 }, 0);
    const text = c.render(10_000);
    for (const m of ["a", "b"]) {
      expect(sample(text, `nv_inference_request_success{model="${m}",version="1"}`)).toBe(50);
      expect(sample(text, `nv_inference_queue_duration_us{model="${m}",version="1"}`)).toBe(15_000);
    }
  });

  it("never goes back in time", () => {
    const c = new TritonCounters(["simple"], 1000);
    c.setLoad({ requestsPerSecond: 10, queueUsPerRequest: 1 }, 1000);
    c.render(2000);
    expect(sample(c.render(1500), `nv_inference_request_success{${SIMPLE}}`)).toBe(10);
  });

  it("counts request time and exposes Triton's request summary, whose _count and _sum match the counters", () => {
    const [load] = contend({
      offeredRequestsPerSecond: 2000,
      curve: H200_RESNET50_BATCH1.timeSlicing,
      pods: [{ name: "p", node: "n" }],
      devicesOn: () => 1,
    }).values();
    const c = new TritonCounters(["simple"], 0);
    c.setLoad(load, 0);
    const text = c.render(10_000);
    const requestUs = 2760 * (load.queueUsPerRequest + load.computeUsPerRequest);
    expect(sample(text, `nv_inference_request_success{${SIMPLE}}`)).toBe(2760);
    expect(sample(text, `nv_inference_request_duration_us{${SIMPLE}}`)).toBe(Math.floor(requestUs));
    expect(text).toContain("# TYPE nv_inference_request_duration_us counter\n");
    expect(text).toContain("# TYPE nv_inference_request_summary_us summary\n");
    expect(sample(text, `nv_inference_request_summary_us_count{${SIMPLE}}`)).toBe(2760);
    expect(sample(text, `nv_inference_request_summary_us_sum{${SIMPLE}}`)).toBe(Math.floor(requestUs));
    for (const q of ["0.5", "0.9", "0.95", "0.99", "0.999"] as const) {
      expect(sample(text, `nv_inference_request_summary_us{${SIMPLE},quantile="${q}"}`)).toBe(
        Math.round(load.latencyUs[q]),
      );
    }
  });

  it("under a load set directly, a request takes its queue time, and an idle pod's quantiles are NaN", () => {
    const c = new TritonCounters(["simple"], 0);
    c.setLoad({ requestsPerSecond: 20, queueUsPerRequest: 300 }, 0);
    let text = c.render(1000);
    expect(sample(text, `nv_inference_request_duration_us{${SIMPLE}}`)).toBe(6000);
    expect(sample(text, `nv_inference_request_summary_us{${SIMPLE},quantile="0.99"}`)).toBe(300);
    c.setLoad({ requestsPerSecond: 0, queueUsPerRequest: 0 }, 1000);
    text = c.render(2000);
    expect(text).toContain(`nv_inference_request_summary_us{${SIMPLE},quantile="0.5"} NaN\n`);
    expect(sample(text, `nv_inference_request_summary_us_count{${SIMPLE}}`)).toBe(20);
  });

  it("refuses a pod without models", () => {
    expect(() => new TritonCounters([], 0)).toThrow("a Triton pod serves at least one model");
  });
});

describe("the simulation's inputs", () => {
  it("takes the models from --load-model flags, or one model without them", () => {
    expect(modelsOf(["tritonserver", "--model-control-mode=explicit", "--load-model=a", "--load-model=b"])).toEqual([
      "a",
      "b",
    ]);
    expect(modelsOf(["tritonserver", "--model-control-mode=none"])).toEqual(["simple"]);
  });

  it.each([
    ["127.0.0.1", true],
    ["127.244.0.9", true],
    ["10.244.0.9", false],
    ["128.0.0.1", false],
    ["127.0.0", false],
    ["127.0.0.256", false],
    ["::1", false],
  ])("%s is loopback IPv4: %s", (ip, loopback) => {
    expect(isLoopbackIPv4(ip)).toBe(loopback);
  });

  it("parses a load and names what is wrong with a bad one", () => {
    expect(parseLoad({ requestsPerSecond: 5, queueUsPerRequest: 300 })).toEqual({
      requestsPerSecond: 5,
      queueUsPerRequest: 300,
    });
    expect(() => parseLoad({ requestsPerSecond: -1, queueUsPerRequest: 3 })).toThrow(
      "requestsPerSecond: -1 is not a number ≥ 0",
    );
    expect(() => parseLoad({ requestsPerSecond: 1 })).toThrow("queueUsPerRequest: undefined is not a number ≥ 0");
    expect(() => parseLoad({ requestsPerSecond: 1, queueUsPerRequest: 2, rate: 3 })).toThrow(
      "unknown field rate; give requestsPerSecond and queueUsPerRequest",
    );
  });
});
