import * as fs from "node:fs";
import * as path from "node:path";
import * as os from "node:os";
import { parse, stringify } from "yaml";
import { PROJECT_DIR, problemsOf } from "../support/config";
import { describe, expect, it } from "vitest";
import { H200_RESNET50_BATCH1 } from "../../gpu/measured-curves";
import { problemText } from "../../problems";
import { parseStackConfig, parseStackSettings, StackConfigError } from "../../stacks/config/parse";
import { tritonServerSpec } from "../../stacks/args";
import { servingJson, servingReport, servingText } from "../../stacks/serving";
import { serverServing } from "../../stacks/config/serving-rules";
import { resolveCurveFiles } from "../../stacks/config/curve-files";
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

describe("a curve on a MIG slice or an unshared GPU", () => {
  const mig = (curve: Record<string, unknown>) => ({
    modelStore: { nfs: { server: "10.0.0.5", path: "/models" } },
    cluster: { migStrategy: "mixed" },
    gpuPools: { a100: { gpu: "A100-SXM4-40GB", nodes: { min: 1, max: 1 }, mig: { layout: "all-1g.5gb" } } },
    servers: { s: { pool: "a100", resource: "nvidia.com/mig-1g.5gb", replicas: 1, sharingCurve: curve } },
  });
  const slice = { gpu: "A100-SXM4-40GB", migProfile: "1g.5gb", sharing: "none", points: [tsCurve.points[0]] };

  it("takes a curve measured on the slice, and names the slice when it was measured on the whole GPU", () => {
    expect(parseStackConfig(mig(slice)).warnings).toEqual([]);
    expect(problemsOf(mig({ ...slice, migProfile: undefined }))).toEqual([
      "servers.s.sharingCurve.migProfile: (unset, a whole GPU) is not the server's device; pool a100 runs A100-SXM4-40GB MIG 1g.5gb; measure the curve on the device the server runs on (npm run advise), or move the server to such a pool",
    ]);
  });

  it("reads only the first point of any mode's curve on an unshared GPU", () => {
    const config = parseStackConfig({
      ...stack({ sharingCurve: tsCurve, replicas: 2 }),
      gpuPools: { h200: { gpu: "H200-141GB", nodes: { min: 1, max: 2 } } },
    });
    expect(serverServing(config.servers[0], 0.1)?.atMax).toMatchObject({ podsPerDevice: 1, requestsPerSecond: 552 });
  });

  it("says device, not devices, for one", () => {
    const config = parseStackConfig({
      ...stack({ sharingCurve: tsCurve, autoscaling: { maxReplicas: 14 }, slo: { requestsPerSecond: 900, p99Ms: 9 } }),
      gpuPools: { h200: { gpu: "H200-141GB", nodes: { min: 1, max: 1 }, timeSlicing: { replicas: 14 } } },
    });
    expect(config.warnings).toEqual([
      "servers.resnet.autoscaling.maxReplicas: 14 puts up to 14 pods on each of 1 device, past the knee at 7 (one more pod adds < 10 % of what one serves alone): 14 pods serve 833 requests/s at p99 16.8 ms, 7 serve 833 requests/s at p99 8.4 ms; lower it to 7, or share the devices with MPS or more of them",
      "servers.resnet.slo: 900 requests/s within p99 9.0 ms cannot be met at 14 max replicas on 1 device: they serve 833 requests/s at p99 16.8 ms, and at the knee 833 requests/s at p99 8.4 ms; add devices (gpuPools.h200.nodes.max), share them with MPS, or lower the objective",
    ]);
  });
});

describe("the serving report of capacity", () => {
  const withCurve = parseStackConfig({
    ...stack({ sharingCurve: tsCurve, autoscaling: {}, slo: { requestsPerSecond: 1500, p99Ms: 9 } }),
    servers: {
      resnet: { pool: "h200", sharingCurve: tsCurve, autoscaling: {}, slo: { requestsPerSecond: 1500, p99Ms: 9 } },
      plain: { pool: "h200", replicas: 1 },
    },
  });

  it("keeps the objective and the replicas that meet it", () => {
    const v = serverServing(withCurve.servers[0], 0.1)!;
    expect(v.slo).toEqual({ requestsPerSecond: 1500, p99Ms: 9 });
    expect(v.sloMetBy).toMatchObject({ replicas: 11 });
  });

  it("prints a row per server with a curve and names the servers counted in slots", () => {
    expect(servingText(servingReport(withCurve))).toEqual([
      "SERVER  DEVICES  MAX REPLICAS  PODS PER DEVICE  KNEE  REQ/S AT MAX  P99 ms AT MAX  REQ/S AT KNEE  SLO",
      "resnet  2        14            7                7     1666          8.4            1666           1500/s ≤ 9 ms: met at 11",
      "Counted in slots, not requests (no sharingCurve): plain; npm run advise learns a curve from the running platform.",
    ]);
  });

  it("marks a knee past the curve and figures read flat", () => {
    const short = { ...tsCurve, points: tsCurve.points.slice(0, 3) };
    const config = parseStackConfig(stack({ sharingCurve: short, replicas: 12 }));
    const text = servingText(servingReport(config));
    expect(text[1].split(/\s{2,}/)).toEqual(["resnet", "2", "12", "6", "4+", "1340*", "13.4", "1340", "-"]);
    expect(text.slice(2)).toEqual([
      "KNEE n+: the curve still rises at its last point, n pods; the knee is there or past it.",
      "*: past the curve's last point, read flat.",
    ]);
  });

  it("gives the same figures as JSON, rounded, with null for an objective no count meets", () => {
    const missed = parseStackConfig(
      stack({ sharingCurve: tsCurve, autoscaling: {}, slo: { requestsPerSecond: 5000, p99Ms: 9 } }),
    );
    expect(servingJson(servingReport(missed))).toEqual({
      servers: [
        {
          server: "resnet",
          pool: "h200",
          resource: "nvidia.com/gpu",
          devices: 2,
          maxReplicas: 14,
          knee: { podsPerDevice: 7, measured: true, fraction: 0.1 },
          atMaxReplicas: { replicas: 14, podsPerDevice: 7, requestsPerSecond: 1666, p99Ms: 8.42, extrapolated: false },
          atKnee: { replicas: 14, podsPerDevice: 7, requestsPerSecond: 1666, p99Ms: 8.42, extrapolated: false },
          slo: { requestsPerSecond: 5000, p99Ms: 9, metBy: null },
        },
      ],
      countedInSlots: [],
    });
  });
});

describe("curve files that are not curves", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-curve-edges-"));
  fs.writeFileSync(path.join(dir, "big.yaml"), "x".repeat((1 << 20) + 1));
  fs.writeFileSync(path.join(dir, "exact.yaml"), `${stringify(tsCurve)}#`.padEnd(1 << 20, "#"));
  fs.writeFileSync(path.join(dir, "twice.yaml"), "gpu: T4\ngpu: H200-141GB\n");

  it("leaves servers alone that are not mappings", () => {
    const list = ["a"];
    expect(resolveCurveFiles(list, dir).servers).toBe(list);
    expect(resolveCurveFiles({ s: "text" }, dir)).toEqual({ servers: { s: "text" }, problems: [] });
  });

  it("refuses a file over 1 MiB and takes one of exactly 1 MiB", () => {
    expect(resolveCurveFiles({ s: { sharingCurve: "big.yaml" } }, dir).problems).toEqual([
      `servers.s.sharingCurve: "big.yaml" is ${(1 << 20) + 1} bytes, more than a curve file's 1 MiB; give the path of a curve file relative to the project directory (npm run advise --out writes one), or the curve inline`,
    ]);
    expect(resolveCurveFiles({ s: { sharingCurve: "exact.yaml" } }, dir)).toEqual({
      servers: { s: { sharingCurve: tsCurve } },
      problems: [],
    });
  });

  it("refuses a key given twice, in one line", () => {
    const [problem] = resolveCurveFiles({ s: { sharingCurve: "twice.yaml" } }, dir).problems;
    expect(problem).toMatch(/^servers\.s\.sharingCurve: "twice\.yaml" is not a YAML curve \(Map keys must be unique/);
    expect(problem).not.toContain("\n");
  });
});

describe("the serving report, server by server", () => {
  const short = { ...tsCurve, points: tsCurve.points.slice(0, 3) };
  const report = (servers: Record<string, unknown>) =>
    servingReport(
      parseStackConfig({
        ...stack({ replicas: 1 }),
        gpuPools: {
          h200: {
            gpu: "H200-141GB",
            nodes: { min: 1, max: 2 },
            timeSlicing: { replicas: 14 },
            nodeSelector: { g: "a" },
          },
          more: {
            gpu: "H200-141GB",
            nodes: { min: 1, max: 2 },
            timeSlicing: { replicas: 14 },
            nodeSelector: { g: "b" },
          },
        },
        servers,
      }),
    );

  it("prints no table when no server has a curve, only the servers counted in slots", () => {
    expect(servingText(report({ a: { pool: "h200" } }))).toEqual([
      "Counted in slots, not requests (no sharingCurve): a; npm run advise learns a curve from the running platform.",
    ]);
  });

  it("notes an unmeasured knee or a reading past the curve when one server of several has it", () => {
    const text = servingText(
      report({
        a: { pool: "h200", sharingCurve: tsCurve, replicas: 2 },
        b: { pool: "more", sharingCurve: short, replicas: 12 },
      }),
    );
    expect(text.slice(3)).toEqual([
      "KNEE n+: the curve still rises at its last point, n pods; the knee is there or past it.",
      "*: past the curve's last point, read flat.",
    ]);
    expect(servingText(report({ a: { pool: "h200", sharingCurve: tsCurve, replicas: 2 } }))).toHaveLength(2);
  });

  it("says an objective is not met, or met on fewer devices than the pool has", () => {
    const cells = (slo: object) =>
      servingText(report({ a: { pool: "h200", sharingCurve: tsCurve, autoscaling: {}, slo } }))[1]
        .split(/\s{2,}/)
        .at(-1);
    expect(cells({ requestsPerSecond: 5000, p99Ms: 9 })).toBe("5000/s ≤ 9 ms: NOT MET");
    // 276 requests/s: one pod on one of the two H200s.
    expect(cells({ requestsPerSecond: 276, p99Ms: 9 })).toBe("276/s ≤ 9 ms: met at 1 on 1 of 2 devices");
  });

  it("leaves the objective out where a server has none, in figures and in JSON", () => {
    const r = report({ a: { pool: "h200", sharingCurve: tsCurve, autoscaling: {} } });
    expect(Object.keys(r.servers[0])).not.toContain("slo");
    expect(Object.keys(r.servers[0])).not.toContain("sloMetBy");
    expect(Object.keys(servingJson(r).servers[0])).not.toContain("slo");
  });
});
