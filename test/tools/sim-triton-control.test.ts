import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { H200_RESNET50_BATCH1 } from "../../gpu/measured-curves";
import type { Control } from "../../tools/sim-triton/control";
import { controlServer, parseCurve, parseOffered, parseSharing } from "../../tools/sim-triton/control";

/** A Control that records each call, serving one pod `p`. */
class Recorder implements Control {
  calls: unknown[][] = [];
  pods(): unknown {
    return [{ name: "p" }];
  }
  servers(): unknown {
    return [{ server: "s" }];
  }
  setServerLoad(...args: unknown[]): number {
    this.calls.push(["setServerLoad", ...args]);
    return 2;
  }
  setPodLoad(pod: string, ...rest: unknown[]): boolean {
    this.calls.push(["setPodLoad", pod, ...rest]);
    return pod === "p";
  }
  reset(pod: string): boolean {
    this.calls.push(["reset", pod]);
    return pod === "p";
  }
  setOffered(...args: unknown[]): number {
    this.calls.push(["setOffered", ...args]);
    return 3;
  }
  setCurve(...args: unknown[]): void {
    this.calls.push(["setCurve", ...args]);
  }
  setSharing(...args: unknown[]): void {
    this.calls.push(["setSharing", ...args]);
  }
}

const control = new Recorder();
const server = controlServer(control);
let base = "";

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  control.calls = [];
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${base}${path}`, {
    method,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe("the control API", () => {
  it("sets and clears the requests offered to a server", async () => {
    expect(await call("PUT", "/servers/triton-t4/offered", { requestsPerSecond: 2000 })).toEqual({
      status: 200,
      json: { pods: 3 },
    });
    expect(await call("DELETE", "/servers/triton-t4/offered")).toEqual({ status: 200, json: { pods: 3 } });
    expect(control.calls).toEqual([
      ["setOffered", "triton-t4", 2000],
      ["setOffered", "triton-t4", undefined],
    ]);
  });

  it("sets a server's curve and its default sharing, and clears both", async () => {
    const curve = H200_RESNET50_BATCH1.mps;
    expect((await call("PUT", "/servers/s/curve", curve)).status).toBe(200);
    expect((await call("DELETE", "/servers/s/curve")).status).toBe(200);
    expect((await call("PUT", "/servers/s/sharing", { sharing: "mps" })).status).toBe(200);
    expect((await call("DELETE", "/servers/s/sharing")).status).toBe(200);
    expect(control.calls).toEqual([
      ["setCurve", "s", curve],
      ["setCurve", "s", undefined],
      ["setSharing", "s", "mps"],
      ["setSharing", "s", undefined],
    ]);
  });

  it("keeps the direct loads: a server's (now also cleared with DELETE), a pod's, and the reset", async () => {
    const load = { requestsPerSecond: 20, queueUsPerRequest: 300 };
    expect(await call("PUT", "/servers/s/load", load)).toEqual({ status: 200, json: { pods: 2 } });
    expect(await call("DELETE", "/servers/s/load")).toEqual({ status: 200, json: { pods: 2 } });
    expect((await call("PUT", "/pods/p/load", load)).status).toBe(200);
    expect((await call("DELETE", "/pods/p/load")).status).toBe(200);
    expect((await call("POST", "/pods/p/reset")).status).toBe(200);
    expect(control.calls).toEqual([
      ["setServerLoad", "s", load],
      ["setServerLoad", "s", undefined],
      ["setPodLoad", "p", load],
      ["setPodLoad", "p", undefined],
      ["reset", "p"],
    ]);
  });

  it("lists pods and servers", async () => {
    expect(await call("GET", "/pods")).toEqual({ status: 200, json: [{ name: "p" }] });
    expect(await call("GET", "/servers")).toEqual({ status: 200, json: [{ server: "s" }] });
  });

  it.each([
    ["/servers/s/offered", { requestsPerSecond: -5 }, "requestsPerSecond: -5 is not a number ≥ 0"],
    ["/servers/s/offered", {}, "requestsPerSecond: undefined is not a number ≥ 0"],
    ["/servers/s/offered", { rps: 1 }, "unknown field rps; give requestsPerSecond"],
    [
      "/servers/s/sharing",
      { sharing: "none" },
      'sharing: "none" has no measured default curve; use timeSlicing or mps, or PUT a curve',
    ],
    ["/servers/s/load", { requestsPerSecond: 1 }, "queueUsPerRequest: undefined is not a number ≥ 0"],
  ])("fails when PUT %s gets %j, naming the field", async (path, body, error) => {
    expect(await call("PUT", path, body)).toEqual({ status: 400, json: { error } });
    expect(control.calls).toEqual([]);
  });

  it("fails when a curve is malformed or not a curve, naming each field", async () => {
    const bad = { gpu: "H200", sharing: "timeSlicing", points: [{ pods: 1, requestsPerSecond: 276, p99Ms: 0 }] };
    const { status, json } = await call("PUT", "/servers/s/curve", bad);
    expect(status).toBe(400);
    expect((json as { error: string }).error).toMatch(/^curve\.points\[0\]\.p99Ms: /);
    const unordered = {
      gpu: "H200",
      sharing: "mps",
      points: [
        { pods: 2, requestsPerSecond: 400, p99Ms: 6 },
        { pods: 1, requestsPerSecond: 276, p99Ms: 5 },
      ],
    };
    expect((await call("PUT", "/servers/s/curve", unordered)).json).toEqual({
      error:
        "curve.points[0].pods: 2 is not 1; a curve starts at one pod alone on the device, the baseline every other point is judged against; measure it and list it first; " +
        "curve.points[1].pods: 1 does not follow 2; list the points in ascending pods, each count once",
    });
    expect(control.calls).toEqual([]);
  });

  it("answers 400 to a body that is not JSON, 404 to an unknown pod or route", async () => {
    expect((await call("PUT", "/servers/s/offered", "{")).status).toBe(400);
    expect(await call("POST", "/pods/q/reset")).toEqual({ status: 404, json: { error: "no pod q is served" } });
    expect(await call("PUT", "/pods/q/load", { requestsPerSecond: 1, queueUsPerRequest: 1 })).toEqual({
      status: 404,
      json: { error: "no pod q is served" },
    });
    expect(await call("POST", "/servers/s/offered")).toEqual({
      status: 404,
      json: { error: "POST /servers/s/offered: not a control route" },
    });
  });
});

describe("the control API's bodies", () => {
  it("names the missing and unknown fields of a curve", () => {
    expect(() => parseCurve({ sharing: "mps", points: [], colour: 1 })).toThrow(/curve\.gpu: .*; curve\.points: /);
    expect(() => parseCurve({ sharing: "mps", points: [], colour: 1 })).toThrow(/colour/);
    expect(parseCurve(H200_RESNET50_BATCH1.timeSlicing)).toEqual(H200_RESNET50_BATCH1.timeSlicing);
  });

  it("takes an offered load and a sharing", () => {
    expect(parseOffered({ requestsPerSecond: 0 })).toBe(0);
    expect(parseSharing({ sharing: "timeSlicing" })).toBe("timeSlicing");
    expect(() => parseOffered(null)).toThrow("requestsPerSecond: undefined is not a number ≥ 0");
  });
});
