import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { findGpuModel, findMigProfile, gpuModelNames } from "../gpu/catalog";
import type { CurveFit, GridSeries } from "../gpu/curve-fit";
import { DEFAULT_THROUGHPUT_PERCENTILE, fitCurve } from "../gpu/curve-fit";
import type { SharingMode } from "../gpu/memory";
import type { Knee, SharingCurve } from "../gpu/sharing-curve";
import { curveProblems, DEFAULT_KNEE_FRACTION, kneeOf, sharingCurveSchema } from "../gpu/sharing-curve";
import { TRITON_QUEUE_DURATION_METRIC, TRITON_REQUEST_SUCCESS_METRIC } from "../components/k8s/metrics-adapter-rules";
import { DEFAULT_INFERENCE_NAMESPACE } from "../components/defaults";
import { SCRAPE_INTERVAL_SECONDS } from "../components/k8s/triton-server-spec";
import { alignedRows } from "../stacks/capacity-change";
import { durationMilliseconds, parseStackSettings } from "../stacks/config/parse";
import { round } from "../stacks/text";
import { checkOutputFile, cliArgs, runCommand, UsageError } from "./cli";
import type { MatrixSeries } from "./prometheus";
import { PrometheusClient, PrometheusError, prometheusEndpoint } from "./prometheus";
import { readStackFile } from "./stack-file";
import { problemFromText, UserError } from "../problems";

const USAGE = `usage: npm run --silent advise -- --prometheus URL [--stack NAME] [--server S] [--since 1h] [--json] [--out FILE]
       npm run --silent advise -- --prometheus URL --server S --gpu MODEL --sharing none|timeSlicing|mps
                                  --devices-per-node N [--mig-profile P] [--namespace NS] [--since 1h] [--json] [--out FILE]
`;

/** Triton's cumulative request duration, µs (a counter per model and version): the mean latency's source. */
export const TRITON_REQUEST_DURATION_METRIC = "nv_inference_request_duration_us";
/** Triton's request latency summary, µs, with `--metrics-config summary_latencies=true`: the p99's source. */
export const TRITON_REQUEST_SUMMARY_METRIC = "nv_inference_request_summary_us";
/** kube-state-metrics' pod info: the node each pod runs on. */
export const KUBE_POD_INFO_METRIC = "kube_pod_info";
/** Windows the curve is fitted over: three scrapes of the PodMonitor. */
export const WINDOW_SECONDS = 3 * SCRAPE_INTERVAL_SECONDS;
const MIN_SINCE_SECONDS = 5 * 60;
/** 24 h of 10 s samples is 8641 a series, under Prometheus's 11 000 points a range query. */
const MAX_SINCE_SECONDS = 24 * 3600;
const SHARING_MODES: readonly SharingMode[] = ["none", "timeSlicing", "mps"];

/** What the advisor cannot learn from Prometheus: where a server's pods run and on what. */
interface Target {
  readonly server: string;
  readonly namespace: string;
  readonly gpu: string;
  readonly migProfile?: string;
  readonly sharing: SharingMode;
  readonly devicesPerNode: number;
  /** With `--stack`: the pool, its max nodes and the settings a recommendation changes. */
  readonly pool?: {
    readonly name: string;
    readonly maxNodes: number;
    /** `gpuPools.<pool>.timeSlicing.replicas` (or mps, or per MIG profile), and its value now. */
    readonly replicasKey?: string;
    readonly replicasNow: number;
    readonly maxReplicasNow: number;
  };
}

/** A failure the user can fix that is about the data, not the command line: one line, exit 1. */
/** What the advisor cannot learn for one server, in one line: a missing series, too few windows. */
class AdviseError extends UserError {
  constructor(message: string) {
    super("npm run advise", [problemFromText(message)], { heading: null });
    this.name = "AdviseError";
  }
}

/** A flag the advisor cannot run with, in one line above the usage (exit 2). */
function usageError(message: string): UsageError {
  return new UsageError(problemFromText(message), USAGE);
}

interface Options {
  readonly prometheus: PrometheusClient;
  readonly since: string;
  readonly sinceSeconds: number;
  readonly targets: readonly Target[];
  readonly json: boolean;
  readonly out?: string;
}

function positiveInteger(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000) {
    throw usageError(`${flag} "${value}": not a whole number from 1 to 1000`);
  }
  return n;
}

/** The `--stack` file's servers, as targets. */
function stackTargets(stack: string, only: string | undefined): Target[] {
  const config = parseStackSettings(readStackFile(path.join(process.cwd(), `Pulumi.${stack}.yaml`)));
  const names = config.servers.map((s) => s.name);
  if (only !== undefined && !names.includes(only)) {
    throw usageError(
      `--server ${only}: stack ${stack} has no such server; it has ${names.length === 0 ? "none" : names.join(", ")}`,
    );
  }
  if (names.length === 0) throw usageError(`--stack ${stack}: the stack has no servers to advise on`);
  return config.servers
    .filter((s) => only === undefined || s.name === only)
    .map((s) => {
      const device = s.device;
      const raw = s.pool.raw;
      const perProfile = typeof raw.timeSlicing?.replicas === "object" && device.migProfile !== undefined;
      const replicasKey =
        device.sharing === "timeSlicing"
          ? `gpuPools.${s.pool.name}.timeSlicing.replicas${perProfile ? `.${device.migProfile}` : ""}`
          : device.sharing === "mps"
            ? `gpuPools.${s.pool.name}.mps.replicas`
            : undefined;
      return {
        server: s.name,
        namespace: config.raw.inference.namespace,
        gpu: s.pool.gpu.name,
        migProfile: device.migProfile,
        sharing: device.sharing,
        devicesPerNode: device.physicalPerNode,
        pool: {
          name: s.pool.name,
          maxNodes: s.pool.nodes.max,
          replicasKey,
          replicasNow: device.replicas,
          maxReplicasNow: s.maxReplicas,
        },
      };
    });
}

/** The flags, checked; a {@link UsageError} for anything the command cannot run with. */
function options(): Options {
  const { values } = cliArgs(
    {
      prometheus: { type: "string" },
      stack: { type: "string" },
      server: { type: "string" },
      namespace: { type: "string" },
      gpu: { type: "string" },
      "mig-profile": { type: "string" },
      sharing: { type: "string" },
      "devices-per-node": { type: "string" },
      since: { type: "string", default: "1h" },
      json: { type: "boolean", default: false },
      out: { type: "string" },
    },
    USAGE,
  );
  if (values.prometheus === undefined) {
    throw usageError("--prometheus URL is missing: the address of the Prometheus that scrapes the servers");
  }
  try {
    prometheusEndpoint(values.prometheus);
  } catch (e) {
    throw usageError(`--prometheus ${(e as Error).message}`);
  }
  const sinceMs = durationMilliseconds(values.since);
  if (sinceMs === undefined || sinceMs < MIN_SINCE_SECONDS * 1000 || sinceMs > MAX_SINCE_SECONDS * 1000) {
    throw usageError(`--since "${values.since}": not a Prometheus duration from 5m to 24h (e.g. 1h, 90m, 3h)`);
  }
  if (values.out !== undefined) checkOutputFile("--out", values.out, USAGE);

  const deviceFlags = (["gpu", "mig-profile", "sharing", "devices-per-node", "namespace"] as const).filter(
    (f) => values[f] !== undefined,
  );
  let targets: Target[];
  if (values.stack !== undefined) {
    if (deviceFlags.length > 0) {
      throw usageError(
        `--stack ${values.stack} gives each server's device, sharing, devices per node and namespace; drop ${deviceFlags.map((f) => `--${f}`).join(", ")}, or drop --stack`,
      );
    }
    targets = stackTargets(values.stack, values.server);
  } else {
    const missing = (["gpu", "sharing", "devices-per-node"] as const).filter((f) => values[f] === undefined);
    if (missing.length > 0 || values.server === undefined) {
      throw usageError(
        `the device is unknown: pass --stack NAME (reads Pulumi.NAME.yaml here), or --server S --gpu MODEL --sharing MODE --devices-per-node N; missing ${[
          ...(values.server === undefined ? ["--server"] : []),
          ...missing.map((f) => `--${f}`),
        ].join(", ")}`,
      );
    }
    const gpu = findGpuModel(values.gpu!);
    if (gpu === undefined) {
      throw usageError(`--gpu "${values.gpu}": not a GPU model of the catalog; one of ${gpuModelNames().join(", ")}`);
    }
    const migProfile = values["mig-profile"];
    if (migProfile !== undefined && findMigProfile(gpu, migProfile) === undefined) {
      const profiles = gpu.mig?.profiles.map((p) => p.name) ?? [];
      throw usageError(
        `--mig-profile "${migProfile}": not a MIG profile of ${gpu.name}; ${profiles.length === 0 ? `${gpu.name} has no MIG` : `one of ${profiles.join(", ")}`}`,
      );
    }
    const sharing = values.sharing as SharingMode;
    if (!SHARING_MODES.includes(sharing)) {
      throw usageError(`--sharing "${values.sharing}": not a sharing mode; one of ${SHARING_MODES.join(", ")}`);
    }
    targets = [
      {
        server: values.server,
        namespace: values.namespace ?? DEFAULT_INFERENCE_NAMESPACE,
        gpu: gpu.name,
        migProfile,
        sharing,
        devicesPerNode: positiveInteger("--devices-per-node", values["devices-per-node"]!),
      },
    ];
  }
  if (values.out !== undefined && targets.length > 1) {
    throw usageError(
      `--out writes one server's curve and the stack has ${targets.length} servers; add --server ${targets[0].server} (or another)`,
    );
  }
  return {
    prometheus: new PrometheusClient(values.prometheus),
    since: values.since,
    sinceSeconds: Math.round(sinceMs / 1000),
    targets,
    json: values.json,
    out: values.out,
  };
}

/** A PromQL string literal (names here are DNS labels; escape anyway). */
function literal(s: string): string {
  return JSON.stringify(s);
}

/** Range-query series on the grid `start + i × step`, one per pod and model. */
function onGrid(series: readonly MatrixSeries[], start: number, step: number, length: number): GridSeries[] {
  return series
    .filter((s) => s.metric.pod !== undefined)
    .map((s) => {
      const values = new Array<number | undefined>(length).fill(undefined);
      for (const [t, v] of s.values) {
        const i = Math.round((t - start) / step);
        if (i >= 0 && i < length) values[i] = v;
      }
      const model = s.metric.model === undefined ? undefined : `${s.metric.model}:${s.metric.version ?? ""}`;
      return { pod: s.metric.pod, model, values };
    });
}

interface Advice {
  readonly target: Target;
  readonly start: number;
  readonly end: number;
  readonly fit: CurveFit;
  readonly curve: SharingCurve;
  /** `undefined` without a 1-pod point: the knee is judged against it. */
  readonly knee?: Knee;
  readonly replicasPerDevice?: number;
  readonly maxReplicas?: { readonly value: number; readonly devices: number };
  /** Why there is no knee: the curve does not start at one pod. */
  readonly noBaseline?: string;
  readonly notes: readonly string[];
}

/** A unix time as ISO 8601 to the second. */
const iso = (t: number): string => new Date(t * 1000).toISOString().replace(/\.000Z$/, "Z");

const MEAN_NOTE = `latency is the MEAN request duration (${TRITON_REQUEST_DURATION_METRIC}), not p99: Triton exported no ${TRITON_REQUEST_SUMMARY_METRIC}{quantile="0.99"}; start it with --metrics-config summary_latencies=true for p99`;

async function advise(options: Options, target: Target, end: number): Promise<Advice> {
  const { prometheus, since, sinceSeconds } = options;
  const step = SCRAPE_INTERVAL_SECONDS;
  const start = end - sinceSeconds;
  const length = sinceSeconds / step + 1;
  const { server, namespace } = target;
  // The PodMonitor (named after the server) gives its targets job="<namespace>/<name>"; no pod label is copied.
  const job = `${namespace}/${server}`;
  const selector = `namespace=${literal(namespace)},job=${literal(job)}`;
  const range = (metric: string, extra = ""): Promise<MatrixSeries[]> =>
    prometheus.queryRange(`${metric}{${selector}${extra}}`, start, end, step);

  const success = await range(TRITON_REQUEST_SUCCESS_METRIC);
  if (success.length === 0) {
    throw new AdviseError(
      `no series ${TRITON_REQUEST_SUCCESS_METRIC} for server ${server} in namespace ${namespace} in the last ${since}; is the PodMonitor ${job} scraped by this Prometheus (its targets page lists podMonitor/${job}/0), and did the server serve requests?`,
    );
  }
  const [duration, queue, p99] = await Promise.all([
    range(TRITON_REQUEST_DURATION_METRIC),
    range(TRITON_QUEUE_DURATION_METRIC),
    range(TRITON_REQUEST_SUMMARY_METRIC, `,quantile="0.99"`),
  ]);
  const pods = new Set(success.map((s) => s.metric.pod).filter((p) => p !== undefined));
  const info = await prometheus.query(
    `max by (pod, node) (max_over_time(${KUBE_POD_INFO_METRIC}{namespace=${literal(namespace)},node!=""}[${sinceSeconds}s]))`,
    end,
  );
  const nodeOfPod = new Map(
    info.filter((s) => pods.has(s.metric.pod) && s.metric.node !== undefined).map((s) => [s.metric.pod, s.metric.node]),
  );
  if (nodeOfPod.size === 0) {
    throw new AdviseError(
      `no series ${KUBE_POD_INFO_METRIC} for the ${pods.size} pods of server ${server} in namespace ${namespace} in the last ${since}; the advisor needs the node of each pod from kube-state-metrics: is it installed and scraped by this Prometheus?`,
    );
  }

  const fit = fitCurve({
    stepSeconds: step,
    stepsPerWindow: WINDOW_SECONDS / step,
    devicesPerNode: target.devicesPerNode,
    nodeOfPod,
    success: onGrid(success, start, step, length),
    duration: onGrid(duration, start, step, length),
    queue: onGrid(queue, start, step, length),
    p99: onGrid(p99, start, step, length),
  });
  if (fit.points.length === 0) {
    throw new AdviseError(
      `server ${server} in namespace ${namespace}: no pod count held for ${fit.sparse.length === 0 ? "any" : "enough"} ${WINDOW_SECONDS} s windows with requests in the last ${since} (${fit.windows.total} windows: ${fit.windows.changed} with a pod count change, ${fit.windows.uneven} uneven over the devices, ${fit.windows.idle} idle); advise over a longer --since, or after the server has served load for a while`,
    );
  }

  const notes: string[] = [];
  if (fit.latency === "mean") notes.push(MEAN_NOTE);
  if (fit.podsWithoutNode.length > 0) {
    notes.push(
      `${fit.podsWithoutNode.length} pods without a node in ${KUBE_POD_INFO_METRIC} left out: ${fit.podsWithoutNode.join(", ")}`,
    );
  }
  for (const s of fit.sparse) {
    notes.push(`${s.pods} pods per device: ${s.windows} windows only, too few for a point`);
  }
  const from = iso(start);
  const to = iso(end);
  const curve: SharingCurve = {
    gpu: target.gpu,
    ...(target.migProfile === undefined ? {} : { migProfile: target.migProfile }),
    sharing: target.sharing,
    points: fit.points.map((p) => ({
      pods: p.pods,
      requestsPerSecond: round(p.requestsPerSecond, 1),
      p99Ms: Math.max(0.01, round(p.latencyMs, 2)),
    })),
    source: `npm run advise: server ${server} in namespace ${namespace}, ${from} to ${to}, ${DEFAULT_THROUGHPUT_PERCENTILE * 100}th percentile of ${WINDOW_SECONDS} s windows; ${
      fit.latency === "p99"
        ? `p99 from ${TRITON_REQUEST_SUMMARY_METRIC}`
        : `p99Ms holds the MEAN request duration (${TRITON_REQUEST_DURATION_METRIC}), Triton exported no p99 summary`
    }`,
  };
  if (curve.points[0].pods !== 1) {
    const noBaseline = `no point at 1 pod per device (the first is at ${curve.points[0].pods}): the knee is judged against one pod alone, so there is none; run the server with one pod per device for a few minutes under load and advise again`;
    return { target, start, end, fit, curve, noBaseline, notes: [...notes, noBaseline] };
  }
  const knee = kneeOf(curve);
  const perDevice = target.sharing === "none" ? undefined : knee.pods;
  const devices = target.pool === undefined ? undefined : target.devicesPerNode * target.pool.maxNodes;
  return {
    target,
    start,
    end,
    fit,
    curve,
    knee,
    replicasPerDevice: perDevice,
    maxReplicas: devices === undefined ? undefined : { value: devices * knee.pods, devices },
    notes,
  };
}

function describeTarget(t: Target): string {
  const device = `${t.gpu}${t.migProfile === undefined ? "" : ` MIG ${t.migProfile}`}`;
  const devices = `${t.devicesPerNode} device${t.devicesPerNode === 1 ? "" : "s"} per node`;
  const pool = t.pool === undefined ? "" : `, pool ${t.pool.name} (${t.pool.maxNodes} nodes at most)`;
  return `server ${t.server} in namespace ${t.namespace}: ${device}, sharing ${t.sharing}, ${devices}${pool}`;
}

function adviceText(a: Advice, since: string): string {
  const t = a.target;
  const w = a.fit.windows;
  const lines = [
    describeTarget(t),
    `  ${iso(a.start)} to ${iso(a.end)} (${since}), ${WINDOW_SECONDS} s windows on each node: ${w.used} used of ${w.total} (${w.changed} with a pod count change, ${w.uneven} uneven over the devices, ${w.idle} idle${a.fit.latency === "p99" ? `, ${w.noLatency} without p99` : ""})`,
  ];
  const latency = a.fit.latency === "p99" ? "P99 MS" : "MEAN MS";
  const rows = [
    ["PODS PER DEVICE", "REQ/S PER DEVICE", latency, "QUEUE MS", "WINDOWS (CHOSEN)"],
    ...a.fit.points.map((p, i) => [
      String(p.pods),
      a.curve.points[i].requestsPerSecond.toFixed(1),
      a.curve.points[i].p99Ms.toFixed(2),
      p.queueMs.toFixed(2),
      `${p.windows} (${p.chosen})`,
    ]),
  ];
  lines.push(...alignedRows(rows).map((l) => `  ${l}`));
  if (a.knee !== undefined) {
    const alone = a.curve.points[0].requestsPerSecond;
    lines.push(
      a.knee.measured
        ? `  knee: ${a.knee.pods} pods per device (one more adds less than ${DEFAULT_KNEE_FRACTION * 100} % of what one pod serves alone, ${(alone * DEFAULT_KNEE_FRACTION).toFixed(1)} req/s)`
        : `  knee: at least ${a.knee.pods} pods per device (still rising at the last count measured; measure more pods per device)`,
    );
    const atLeast = a.knee.measured ? "" : "at least ";
    if (a.replicasPerDevice === undefined) {
      lines.push("  recommend: nothing to share (sharing none: one pod per device)");
    } else {
      const key = t.pool?.replicasKey ?? `${t.sharing === "mps" ? "mps" : "time-slicing"} replicas per device`;
      const now = t.pool === undefined ? "" : ` (now ${t.pool.replicasNow})`;
      lines.push(`  recommend: ${key}: ${atLeast}${a.replicasPerDevice}${now} — the knee`);
    }
    if (a.maxReplicas !== undefined && t.pool !== undefined) {
      lines.push(
        `  recommend: servers.${t.server}.autoscaling.maxReplicas: ${atLeast}${a.maxReplicas.value} (now ${t.pool.maxReplicasNow}) — ${a.maxReplicas.devices} devices at the pool's ${t.pool.maxNodes} max nodes × ${a.knee.pods}, if the server has them to itself`,
      );
    } else if (t.pool === undefined) {
      lines.push("  maxReplicas: pass --stack to know the pool's max nodes (devices at max nodes × the knee)");
    }
  }
  for (const n of a.notes) lines.push(`  note: ${n}`);
  return `${lines.join("\n")}\n`;
}

function adviceJson(a: Advice, since: string): unknown {
  const t = a.target;
  return {
    server: t.server,
    namespace: t.namespace,
    pool: t.pool?.name ?? null,
    device: {
      gpu: t.gpu,
      migProfile: t.migProfile ?? null,
      sharing: t.sharing,
      devicesPerNode: t.devicesPerNode,
      maxNodes: t.pool?.maxNodes ?? null,
    },
    range: {
      start: iso(a.start),
      end: iso(a.end),
      since,
      stepSeconds: SCRAPE_INTERVAL_SECONDS,
      windowSeconds: WINDOW_SECONDS,
      percentile: DEFAULT_THROUGHPUT_PERCENTILE,
    },
    latency: a.fit.latency,
    windows: a.fit.windows,
    points: a.fit.points,
    curve: a.curve,
    knee: a.knee ?? null,
    recommended: {
      replicasPerDevice: a.replicasPerDevice ?? null,
      replicasPerDeviceKey: t.pool?.replicasKey ?? null,
      maxReplicas: a.maxReplicas?.value ?? null,
      devicesAtMaxNodes: a.maxReplicas?.devices ?? null,
    },
    now: t.pool === undefined ? null : { replicasPerDevice: t.pool.replicasNow, maxReplicas: t.pool.maxReplicasNow },
    notes: a.notes,
  };
}

/** The curve file: YAML of the `SharingCurve`, checked as the stack will check it. */
function curveFileText(a: Advice): string {
  const parsed = sharingCurveSchema.safeParse(a.curve);
  const problems = parsed.success ? curveProblems("curve", a.curve) : [parsed.error.message];
  if (problems.length > 0) {
    throw new AdviseError(
      `--out: the learned curve of ${a.target.server} is not a valid curve: ${problems.join("; ")}`,
    );
  }
  return (
    `# The sharing curve of server ${a.target.server}, learned by npm run advise; use it as\n` +
    `# gpushare:servers.${a.target.server}.sharingCurve (inline, or this file's path).\n` +
    stringify(a.curve)
  );
}

async function main(): Promise<number> {
  const opts = options();
  const end = Math.floor(Date.now() / 1000 / SCRAPE_INTERVAL_SECONDS) * SCRAPE_INTERVAL_SECONDS;
  const advices: Advice[] = [];
  const failures: string[] = [];
  for (const target of opts.targets) {
    try {
      advices.push(await advise(opts, target, end));
    } catch (e) {
      if (!(e instanceof AdviseError || e instanceof PrometheusError)) throw e;
      // Prometheus unreachable is the same for every server: say it once.
      if (e instanceof PrometheusError) {
        process.stderr.write(`${e.message}\n`);
        return 1;
      }
      failures.push(e.message);
    }
  }
  if (opts.out !== undefined && advices.length === 1) {
    const a = advices[0];
    if (a.noBaseline !== undefined) {
      failures.push(`--out ${opts.out}: not written; ${a.noBaseline}`);
    } else {
      try {
        fs.writeFileSync(opts.out, curveFileText(a));
      } catch (e) {
        if (!(e instanceof AdviseError)) throw e;
        failures.push(e.message);
      }
    }
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ servers: advices.map((a) => adviceJson(a, opts.since)) }, null, 2)}\n`);
  } else {
    process.stdout.write(advices.map((a) => adviceText(a, opts.since)).join("\n"));
  }
  for (const f of failures) process.stderr.write(`${f}\n`);
  return failures.length > 0 ? 1 : 0;
}

if (require.main === module) void runCommand(main);
