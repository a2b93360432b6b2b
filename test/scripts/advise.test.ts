import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SharingCurve } from "../../gpu/sharing-curve";
import { H200_RESNET50_BATCH1 } from "../../gpu/measured-curves";
import { curveAt, curveProblems, kneeOf, sharingCurveSchema } from "../../gpu/sharing-curve";
import type { Ramp, RampSeries } from "../../tools/sharing-ramp";
import { simulateRamp } from "../../tools/sharing-ramp";
import { PROJECT_DIR } from "../helpers";

const TSX = path.join(PROJECT_DIR, "node_modules", ".bin", "tsx");
const ADVISE = path.join(PROJECT_DIR, "scripts", "advise.ts");

/** The H200 measured with time-slicing, ResNet-50 batch 1 (test/fixtures/h200-sharing-measured.md). */
const H200_TS = H200_RESNET50_BATCH1.timeSlicing;

const SERVER = "triton-h200";
const NAMESPACE = "inference";
const STEP = 10;

interface Fake {
  /** Triton's series are scraped. */
  triton: boolean;
  /** Triton exports its p99 summary. */
  summary: boolean;
  /** kube-state-metrics is scraped. */
  podInfo: boolean;
  /** Pods per device, level after level, each for an equal part of the range. */
  levels: readonly number[];
}

/**
 * A Prometheus on 127.0.0.1 that holds a ramp of the H200 curve: whatever range it is asked for, the pods of
 * `triton-h200` go through `levels` pods per device on one single-GPU node.
 */
class FakePrometheus {
  readonly settings: Fake = { triton: true, summary: true, podInfo: true, levels: [] };
  readonly queries: string[] = [];
  private server?: http.Server;
  private ramp?: { key: string; ramp: Ramp };

  url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.answer(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private rampFor(start: number, end: number): Ramp {
    const samples = (end - start) / STEP + 1;
    const key = `${start}/${end}/${this.settings.levels.join(",")}/${this.settings.summary}`;
    if (this.ramp?.key !== key) {
      const ramp = simulateRamp(
        {
          curve: H200_TS,
          server: SERVER,
          levels: this.settings.levels,
          samplesPerLevel: Math.ceil(samples / this.settings.levels.length),
          stepSeconds: STEP,
          nodes: 1,
          devicesPerNode: 1,
          summary: this.settings.summary,
          noise: 0.02,
        },
        samples,
      );
      this.ramp = { key, ramp };
    }
    return this.ramp.ramp;
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const query = url.searchParams.get("query") ?? "";
    this.queries.push(query);
    const reply = (data: unknown): void => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "success", data }));
    };
    if (url.pathname === "/api/v1/query_range") {
      const start = Number(url.searchParams.get("start"));
      const end = Number(url.searchParams.get("end"));
      const ours = query.includes(`job="${NAMESPACE}/${SERVER}"`) && this.settings.triton;
      const ramp = this.rampFor(start, end);
      const pick = (): readonly RampSeries[] => {
        if (!ours) return [];
        if (query.startsWith("nv_inference_request_success{")) return ramp.success;
        if (query.startsWith("nv_inference_request_duration_us{")) return ramp.duration;
        if (query.startsWith("nv_inference_queue_duration_us{")) return ramp.queue;
        if (query.startsWith("nv_inference_request_summary_us{") && query.includes('quantile="0.99"')) return ramp.p99;
        return [];
      };
      const metric = query.slice(0, query.indexOf("{"));
      reply({
        resultType: "matrix",
        result: pick().map((s) => ({
          metric: { __name__: metric, ...s.labels, namespace: NAMESPACE, job: `${NAMESPACE}/${SERVER}` },
          values: s.values.flatMap((v, i) => (v === undefined ? [] : [[start + i * STEP, String(v)]])),
        })),
      });
      return;
    }
    if (url.pathname === "/api/v1/query") {
      const time = Number(url.searchParams.get("time"));
      const ramp = this.rampFor(time - 3600, time);
      reply({
        resultType: "vector",
        result:
          this.settings.podInfo && query.includes("kube_pod_info")
            ? ramp.podNodes.map((p) => ({ metric: { pod: p.pod, node: p.node }, value: [time, "1"] }))
            : [],
      });
      return;
    }
    res.writeHead(404);
    res.end("404 page not found\n");
  }
}

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the command without blocking this process: the fake Prometheus answers from here. */
function advise(args: readonly string[], cwd = PROJECT_DIR): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [ADVISE, ...args], { cwd });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

const STACK = `config:
  gpushare:cluster:
    kind: existing
  gpushare:gpuPools:
    h200:
      gpu: H200-141GB
      nodes: { min: 1, max: 2 }
      timeSlicing:
        replicas: 14
  gpushare:modelStore:
    nfs: { server: 10.0.0.5, path: /models }
  gpushare:servers:
    ${SERVER}:
      pool: h200
      autoscaling: { minReplicas: 1, maxReplicas: 28 }
      modelMemoryGiB: 0.5
`;

const RAMP = Array.from({ length: 14 }, (_, i) => i + 1);
const DEVICE_FLAGS = ["--server", SERVER, "--gpu", "H200-141GB", "--sharing", "timeSlicing", "--devices-per-node", "1"];

describe("npm run advise", () => {
  const prometheus = new FakePrometheus();
  let dir: string;

  beforeAll(async () => {
    await prometheus.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-advise-"));
    fs.writeFileSync(path.join(dir, "Pulumi.h200.yaml"), STACK);
  });
  afterAll(async () => {
    await prometheus.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const reset = (settings: Partial<Fake> = {}): void => {
    Object.assign(prometheus.settings, { triton: true, summary: true, podInfo: true, levels: RAMP }, settings);
  };

  it("recovers the H200's curve from a ramp of 1 → 14 pods on one device: the knee at 7, throughput within 10 %", async () => {
    reset();
    const out = path.join(dir, "curve.yaml");
    const r = await advise(
      ["--prometheus", prometheus.url(), "--stack", "h200", "--since", "3h", "--json", "--out", out],
      dir,
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const [advice] = (
      JSON.parse(r.stdout) as {
        servers: {
          server: string;
          latency: string;
          curve: SharingCurve;
          knee: { pods: number; measured: boolean };
          recommended: { replicasPerDevice: number; replicasPerDeviceKey: string; maxReplicas: number };
        }[];
      }
    ).servers;
    expect(advice.server).toBe(SERVER);
    expect(advice.latency).toBe("p99");
    expect(advice.curve.points.map((p) => p.pods)).toEqual(RAMP);
    for (const p of advice.curve.points) {
      const truth = curveAt(H200_TS, p.pods);
      expect(Math.abs(p.requestsPerSecond / truth.requestsPerSecond - 1), `${p.pods} pods`).toBeLessThan(0.1);
      expect(Math.abs(p.p99Ms / truth.p99Ms - 1), `${p.pods} pods`).toBeLessThan(0.1);
    }
    expect(advice.knee.measured).toBe(true);
    expect(Math.abs(advice.knee.pods - 7)).toBeLessThanOrEqual(1);
    // One H200 per node, two nodes at most: 2 devices × the knee.
    expect(advice.recommended).toEqual({
      replicasPerDevice: advice.knee.pods,
      replicasPerDeviceKey: "gpuPools.h200.timeSlicing.replicas",
      maxReplicas: 2 * advice.knee.pods,
      devicesAtMaxNodes: 2,
    });

    // The curve file: YAML that the stack's schema and rules accept as they are.
    const file: unknown = parse(fs.readFileSync(out, "utf8"));
    const parsed = sharingCurveSchema.parse(file);
    expect(curveProblems(`servers.${SERVER}.sharingCurve`, parsed)).toEqual([]);
    expect(parsed).toEqual(advice.curve);
    expect(kneeOf(parsed)).toEqual(advice.knee);
    expect(parsed.source).toMatch(
      /^npm run advise: server triton-h200 in namespace inference, .* p99 from nv_inference_request_summary_us$/,
    );
  });

  it("prints the curve, the knee and what to set", async () => {
    reset();
    const r = await advise(["--prometheus", prometheus.url(), "--stack", "h200", "--since", "3h"], dir);
    expect(r.status).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe(
      "server triton-h200 in namespace inference: H200-141GB, sharing timeSlicing, 1 device per node, pool h200 (2 nodes at most)",
    );
    expect(lines[2].trim().split(/\s{2,}/)).toEqual([
      "PODS PER DEVICE",
      "REQ/S PER DEVICE",
      "P99 MS",
      "QUEUE MS",
      "WINDOWS (CHOSEN)",
    ]);
    expect(lines[3].trim().split(/\s{2,}/)[0]).toBe("1");
    const knee = /knee: (\d+) pods per device/.exec(r.stdout);
    expect(knee).not.toBeNull();
    const pods = Number(knee![1]);
    expect(r.stdout).toContain(`recommend: gpuPools.h200.timeSlicing.replicas: ${pods} (now 14) — the knee`);
    expect(r.stdout).toContain(
      `recommend: servers.triton-h200.autoscaling.maxReplicas: ${2 * pods} (now 28) — 2 devices at the pool's 2 max nodes × ${pods}`,
    );
  });

  it("falls back to the mean latency without Triton's p99 summary, and says so", async () => {
    reset({ summary: false });
    const out = path.join(dir, "mean.yaml");
    const r = await advise(["--prometheus", prometheus.url(), ...DEVICE_FLAGS, "--since", "3h", "--out", out], dir);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("MEAN MS");
    expect(r.stdout).toContain(
      'note: latency is the MEAN request duration (nv_inference_request_duration_us), not p99: Triton exported no nv_inference_request_summary_us{quantile="0.99"}; start it with --metrics-config summary_latencies=true for p99',
    );
    expect(r.stdout).toContain("maxReplicas: pass --stack to know the pool's max nodes");
    const curve = sharingCurveSchema.parse(parse(fs.readFileSync(out, "utf8")));
    expect(curve.source).toMatch(/p99Ms holds the MEAN request duration \(nv_inference_request_duration_us\)/);
    expect(curveProblems("c", curve)).toEqual([]);
  });

  it("fails when no point is at 1 pod per device, writing no curve file", async () => {
    reset({ levels: [2, 4, 7, 14] });
    const out = path.join(dir, "no-baseline.yaml");
    const r = await advise(["--prometheus", prometheus.url(), ...DEVICE_FLAGS, "--since", "2h", "--out", out], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `--out ${out}: not written; no point at 1 pod per device (the first is at 2): the knee is judged against one pod alone, so there is none; run the server with one pod per device for a few minutes under load and advise again\n`,
    );
    expect(fs.existsSync(out)).toBe(false);
    expect(r.stdout).not.toContain("knee:");
  });

  it("fails when Prometheus has no Triton series of the server, naming the series and the PodMonitor", async () => {
    reset({ triton: false });
    const r = await advise(["--prometheus", prometheus.url(), ...DEVICE_FLAGS]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "no series nv_inference_request_success for server triton-h200 in namespace inference in the last 1h; is the PodMonitor inference/triton-h200 scraped by this Prometheus (its targets page lists podMonitor/inference/triton-h200/0), and did the server serve requests?\n",
    );
  });

  it("fails when kube-state-metrics' kube_pod_info is missing", async () => {
    reset({ podInfo: false });
    const r = await advise(["--prometheus", prometheus.url(), ...DEVICE_FLAGS]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "no series kube_pod_info for the 14 pods of server triton-h200 in namespace inference in the last 1h; the advisor needs the node of each pod from kube-state-metrics: is it installed and scraped by this Prometheus?\n",
    );
  });

  it("fails in one line naming the URL and the cause when nothing answers", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await advise(["--prometheus", `http://127.0.0.1:${port}`, ...DEVICE_FLAGS]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `cannot reach Prometheus at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
  });

  it("fails when the address is not Prometheus's API", async () => {
    reset();
    const r = await advise(["--prometheus", `${prometheus.url()}/grafana`, ...DEVICE_FLAGS]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `${prometheus.url()}/grafana/api/v1/query_range answered HTTP 404 without Prometheus's API JSON; give the address of Prometheus itself (e.g. http://127.0.0.1:9090), not of Grafana or a login page\n`,
    );
  });

  const usage = "usage: npm run --silent advise -- --prometheus URL";
  it.each([
    [[], "--prometheus URL is missing: the address of the Prometheus that scrapes the servers"],
    [
      ["--prometheus", "127.0.0.1:9090", "--stack", "h200"],
      '--prometheus "127.0.0.1:9090" is not a URL; give Prometheus\'s address, e.g. http://127.0.0.1:9090',
    ],
    [
      ["--prometheus", "http://127.0.0.1:9090"],
      "the device is unknown: pass --stack NAME (reads Pulumi.NAME.yaml here), or --server S --gpu MODEL --sharing MODE --devices-per-node N; missing --server, --gpu, --sharing, --devices-per-node",
    ],
    [
      ["--prometheus", "http://127.0.0.1:9090", "--server", "a", "--gpu", "H200-141GB", "--sharing", "timeSlicing"],
      "the device is unknown: pass --stack NAME (reads Pulumi.NAME.yaml here), or --server S --gpu MODEL --sharing MODE --devices-per-node N; missing --devices-per-node",
    ],
    [
      ["--prometheus", "http://127.0.0.1:9090", "--stack", "h200", "--gpu", "T4", "--namespace", "x"],
      "--stack h200 gives each server's device, sharing, devices per node and namespace; drop --gpu, --namespace, or drop --stack",
    ],
    [
      ["--prometheus", "http://127.0.0.1:9090", "--stack", "h200", "--server", "nope"],
      "--server nope: stack h200 has no such server; it has triton-h200",
    ],
    [
      ["--prometheus", "http://127.0.0.1:9090", "--stack", "h200", "--since", "1d2"],
      '--since "1d2": not a Prometheus duration from 5m to 24h (e.g. 1h, 90m, 3h)',
    ],
    [
      ["--prometheus", "http://127.0.0.1:9090", "--stack", "h200", "--since", "2d"],
      '--since "2d": not a Prometheus duration from 5m to 24h (e.g. 1h, 90m, 3h)',
    ],
    [
      ["--prometheus", "http://127.0.0.1:9090", ...DEVICE_FLAGS.slice(0, 6), "--devices-per-node", "0"],
      '--devices-per-node "0": not a whole number from 1 to 1000',
    ],
    [
      [
        "--prometheus",
        "http://127.0.0.1:9090",
        ...DEVICE_FLAGS.slice(0, 4),
        "--sharing",
        "mig",
        "--devices-per-node",
        "1",
      ],
      '--sharing "mig": not a sharing mode; one of none, timeSlicing, mps',
    ],
    [
      ["--prometheus", "http://127.0.0.1:9090", ...DEVICE_FLAGS, "--mig-profile", "1g.5gb"],
      '--mig-profile "1g.5gb": not a MIG profile of H200-141GB; one of 1g.18gb, 1g.18gb+me, 1g.35gb, 2g.35gb, 3g.71gb, 4g.71gb, 7g.141gb',
    ],
    [
      ["--prometheus", "http://127.0.0.1:9090", "--stack", "h200", "--out", "/proc/curve.yaml"],
      "--out /proc/curve.yaml: a kernel pseudo-filesystem, not a place for output; pick a file of your own",
    ],
    [["--prometheus", "http://127.0.0.1:9090", "--stack", "h200", "--step", "5s"], "Unknown option '--step'"],
  ])("fails with the usage (exit 2) on %j", async (args, message) => {
    const r = await advise(args, dir);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")[0]).toBe(message);
    expect(r.stderr).toContain(usage);
  });
});
