import * as fs from "node:fs";
import * as path from "node:path";
import * as os from "node:os";
import { parse, stringify } from "yaml";
import { PROJECT_DIR } from "../helpers";
import { describe, expect, it } from "vitest";
import { H200_RESNET50_BATCH1 } from "../../gpu/measured-curves";
import { problemText } from "../../problems";
import { parseStackConfig, parseStackSettings, StackConfigError } from "../../stacks/config/parse";
import { tritonServerSpec } from "../../stacks/args";
import { serverServing } from "../../stacks/serving";
import { comparisonMatters, comparisonText, compareCapacity, snapshotOf } from "../../stacks/capacity-change";

/** ResNet-50 batch 1 time-sliced on one H200, as measured (test/fixtures/h200-sharing-measured.md). */
const tsCurve = H200_RESNET50_BATCH1.timeSlicing;

function stack(server: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    modelStore: { nfs: { server: "10.0.0.5", path: "/models" } },
    gpuPools: { h200: { gpu: "H200-141GB", nodes: { min: 1, max: 2 }, timeSlicing: { replicas: 14 } } },
    servers: { resnet: { pool: "h200", ...server } },
    ...extra,
  };
}

function problemsOf(input: unknown): readonly string[] {
  try {
    parseStackConfig(input);
  } catch (e) {
    if (e instanceof StackConfigError) return e.problems.map(problemText);
    throw e;
  }
  throw new Error("parseStackConfig accepted the config");
}

describe("a server with a sharing curve", () => {
  it("gets the knee as its HPA's maxReplicas: 2 H200s × 7 pods, not their 28 slots", () => {
    const config = parseStackConfig(stack({ sharingCurve: tsCurve, autoscaling: {} }));
    const [s] = config.servers;
    expect(s.maxReplicas).toBe(14);
    expect(tritonServerSpec(s).autoscaling?.maxReplicas).toBe(14);
    expect(config.warnings).toEqual([]);
    const serving = serverServing(s, 0.1)!;
    expect(serving).toMatchObject({ devices: 2, knee: { pods: 7, measured: true }, atMax: { podsPerDevice: 7 } });
    expect(serving.atMax.requestsPerSecond).toBe(2 * 833);
  });

  it("fills every slot when told not to stop at the knee, and warns what that costs", () => {
    const config = parseStackConfig(stack({ sharingCurve: tsCurve, autoscaling: { stopAtKnee: false } }));
    expect(config.servers[0].maxReplicas).toBe(28);
    expect(config.warnings).toEqual([
      "servers.resnet.autoscaling.maxReplicas: 28 puts up to 14 pods on each of 2 devices, past the knee at 7 (one more pod adds < 10 % of what one serves alone): 28 pods serve 1666 requests/s at p99 16.8 ms, 14 serve 1666 requests/s at p99 8.4 ms; lower it to 14, or share the devices with MPS or more of them",
    ]);
  });

  it("keeps a maxReplicas that is set, with the same warning past the knee", () => {
    const config = parseStackConfig(stack({ sharingCurve: tsCurve, autoscaling: { maxReplicas: 20 } }));
    expect(config.servers[0].maxReplicas).toBe(20);
    expect(config.warnings[0]).toMatch(
      /^servers\.resnet\.autoscaling\.maxReplicas: 20 puts up to 10 pods on each of 2 devices, past the knee at 7 .*: 20 pods serve 1666 requests\/s at p99 12\.0 ms/,
    );
  });

  it("takes the slots when they are fewer than the knee", () => {
    const config = parseStackConfig({
      ...stack({ sharingCurve: tsCurve, autoscaling: {} }),
      gpuPools: { h200: { gpu: "H200-141GB", nodes: { min: 1, max: 2 }, timeSlicing: { replicas: 4 } } },
    });
    expect(config.servers[0].maxReplicas).toBe(8);
    expect(config.warnings).toEqual([]);
  });

  it("moves the knee with validation.kneeFraction", () => {
    const config = parseStackConfig(
      stack({ sharingCurve: tsCurve, autoscaling: {} }, { validation: { kneeFraction: 0.25 } }),
    );
    expect(config.servers[0].maxReplicas).toBe(8);
  });

  it("says nothing when the objective is met, and warns with the numbers when it is not", () => {
    const met = parseStackConfig(
      stack({ sharingCurve: tsCurve, slo: { requestsPerSecond: 1500, p99Ms: 9 }, autoscaling: {} }),
    );
    expect(met.warnings).toEqual([]);
    expect(serverServing(met.servers[0], 0.1)?.sloMetBy?.replicas).toBe(11);
    const missed = parseStackConfig(
      stack({ sharingCurve: tsCurve, slo: { requestsPerSecond: 2000, p99Ms: 20 }, autoscaling: {} }),
    );
    expect(missed.warnings).toEqual([
      "servers.resnet.slo: 2000 requests/s within p99 20.0 ms cannot be met at 14 max replicas on 2 devices: they serve 1666 requests/s at p99 8.4 ms, and at the knee 1666 requests/s at p99 8.4 ms; add devices (gpuPools.h200.nodes.max), share them with MPS, or lower the objective",
    ]);
  });

  it("warns when max replicas read the curve past its last point", () => {
    const short = { ...tsCurve, points: tsCurve.points.slice(0, 3) };
    const config = parseStackConfig(stack({ sharingCurve: short, replicas: 12 }));
    expect(config.warnings).toContain(
      "servers.resnet.sharingCurve: measured up to 4 pods per device, and 12 max replicas put 6 on one; past 4 the curve is read flat (no more requests, latency growing with the pods); measure further to know",
    );
  });
});

describe("a sharing curve or objective that cannot be used", () => {
  it("fails when the curve was measured on another GPU, slice or sharing mode", () => {
    expect(
      problemsOf(stack({ sharingCurve: { ...tsCurve, gpu: "T4", migProfile: "1g.18gb", sharing: "mps" } })),
    ).toEqual([
      'servers.resnet.sharingCurve.gpu: "T4" is not the server\'s GPU; pool h200 runs H200-141GB; measure the curve on the device the server runs on (npm run advise), or move the server to such a pool',
      'servers.resnet.sharingCurve.migProfile: "1g.18gb" is not the server\'s device; pool h200 runs H200-141GB; measure the curve on the device the server runs on (npm run advise), or move the server to such a pool',
      'servers.resnet.sharingCurve.sharing: "mps" is not how the device is shared; pool h200 runs H200-141GB with timeSlicing, 14 pods per device; measure the curve on the device the server runs on (npm run advise), or move the server to such a pool',
    ]);
  });

  it("fails when autoscaling has no maxReplicas and no curve to take it from", () => {
    expect(problemsOf(stack({ autoscaling: {} }))).toEqual([
      "servers.resnet.autoscaling.maxReplicas: not set, and the server has no sharingCurve to take the knee from; set maxReplicas, or give servers.resnet.sharingCurve (npm run advise learns it)",
    ]);
  });

  it("fails when the curve's points are out of order", () => {
    const points = [tsCurve.points[0], tsCurve.points[2], tsCurve.points[1]];
    expect(problemsOf(stack({ sharingCurve: { ...tsCurve, points } }))).toEqual([
      "servers.resnet.sharingCurve.points[2].pods: 2 does not follow 4; list the points in ascending pods, each count once",
    ]);
  });

  it.each([0, 1, -0.5, 2])("fails when validation.kneeFraction is %s", (fraction) => {
    expect(problemsOf(stack({ replicas: 1 }, { validation: { kneeFraction: fraction } }))).toEqual([
      `validation.kneeFraction: ${fraction} is not allowed; use a fraction between 0 and 1 (0.1: a pod past the knee adds less than 10 % of what one pod serves alone)`,
    ]);
  });

  it("warns that an objective without a curve is not checked", () => {
    const config = parseStackConfig(stack({ slo: { requestsPerSecond: 100, p99Ms: 10 } }));
    expect(config.warnings).toEqual([
      "servers.resnet.slo: not checked without servers.resnet.sharingCurve; capacity is counted in slots, which say nothing about requests/s or latency; give the curve (npm run advise learns it)",
    ]);
  });
});

describe("the preview's capacity change, in requests", () => {
  it("shows requests/s, p99 and pods per device against the knee, and a change past the knee matters", () => {
    const before = parseStackConfig(stack({ sharingCurve: tsCurve, autoscaling: {} }));
    const after = parseStackConfig(stack({ sharingCurve: tsCurve, autoscaling: { maxReplicas: 28 } }));
    const change = compareCapacity(snapshotOf(before), after);
    expect(change.servers[0].servingAfter).toEqual({
      requestsPerSecond: 1666,
      p99Ms: 16.84,
      podsPerDevice: 14,
      kneePodsPerDevice: 7,
      pastKnee: true,
    });
    expect(comparisonMatters(change)).toBe(true);
    expect(comparisonText(change).split("\n").slice(1)).toEqual([
      "Servers at max replicas:",
      "  SERVER  RESOURCE        MAX REPLICAS  FITS BEFORE  FITS AFTER  REQ/S AFTER  P99 ms AFTER  PODS PER DEVICE / KNEE",
      "  resnet  nvidia.com/gpu  28            yes          yes         1666         16.8          14 / 7 (past the knee)",
    ]);
    // At the knee nothing needs a reviewer's eye.
    expect(comparisonMatters(compareCapacity(snapshotOf(before), before))).toBe(false);
  });
});

describe("examples/serving-h200.yaml", () => {
  it("holds the measured H200 curve, not a copy that can drift", () => {
    const file = parse(fs.readFileSync(path.join(PROJECT_DIR, "examples/serving-h200.yaml"), "utf8")) as {
      config: { "gpushare:servers": { resnet: { sharingCurve: { points: unknown } } } };
    };
    expect(file.config["gpushare:servers"].resnet.sharingCurve.points).toEqual(tsCurve.points);
  });
});

describe("a sharing curve in a file beside the stack", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-curves-"));
  fs.mkdirSync(path.join(dir, "curves"));
  // What npm run advise --out writes: a comment, then the curve.
  fs.writeFileSync(path.join(dir, "curves/resnet.yaml"), `# learned by npm run advise\n${stringify(tsCurve)}`);
  fs.writeFileSync(path.join(dir, "curves/broken.yaml"), "gpu: [unclosed\n");
  const settings = (curve: unknown) => ({
    config: {
      "gpushare:modelStore": { nfs: { server: "10.0.0.5", path: "/models" } },
      "gpushare:gpuPools": { h200: { gpu: "H200-141GB", nodes: { min: 1, max: 2 }, timeSlicing: { replicas: 14 } } },
      "gpushare:servers": { resnet: { pool: "h200", sharingCurve: curve, autoscaling: { maxReplicas: 14 } } },
    },
    secretKeys: new Set<string>(),
    projectDir: dir,
  });

  it("reads the file, relative to the project directory, as if the curve were inline", () => {
    const config = parseStackSettings(settings("curves/resnet.yaml"));
    expect(config.servers[0].raw.sharingCurve).toEqual(tsCurve);
    expect(serverServing(config.servers[0], 0.1)?.knee).toEqual({ pods: 7, measured: true });
  });

  it.each([
    [
      "curves/missing.yaml",
      'servers.resnet.sharingCurve: "curves/missing.yaml" cannot be read (ENOENT); give the path of a curve file relative to the project directory (npm run advise --out writes one), or the curve inline',
    ],
    [
      "curves",
      'servers.resnet.sharingCurve: "curves" is not a file; give the path of a curve file relative to the project directory (npm run advise --out writes one), or the curve inline',
    ],
  ])("fails when the file %s cannot be read, once", (file, message) => {
    expect(() => parseStackSettings(settings(file))).toThrow(StackConfigError);
    try {
      parseStackSettings(settings(file));
    } catch (e) {
      expect((e as StackConfigError).problems.map(problemText)).toEqual([message]);
    }
  });

  it("fails when the file is not YAML, naming it", () => {
    try {
      parseStackSettings(settings("curves/broken.yaml"));
      expect.unreachable();
    } catch (e) {
      const [problem] = (e as StackConfigError).problems.map(problemText);
      expect(problem).toMatch(
        /^servers\.resnet\.sharingCurve: "curves\/broken\.yaml" is not a YAML curve \(.+\); give the path/,
      );
    }
  });
});
