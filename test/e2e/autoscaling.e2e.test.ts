import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "./engine";
import type { Pod } from "./shapes";
import { NS, podsOf } from "./shapes";
import {
  eventually,
  kubectl,
  kubectlJson,
  prepareLocalStack,
  provideEngine,
  pulumi,
  run,
  simTriton,
  stopEngine,
} from "./engine";

/**
 * The write-up's autoscaling loop, run for real on the local control plane: simulated Triton pods report queue time
 * (tools/sim-triton), the real Prometheus scrapes them as the real prometheus-operator configured it from the
 * program's PodMonitors, the real prometheus-adapter serves `avg_time_queue_us` from the program's rule through the
 * aggregation layer, and the controller-manager's HPA controller - allowed only what the program grants it - scales
 * `triton-t4` on the T4 pool's time-sliced GPU. Each step asserts what it claims, in order.
 */

interface Hpa {
  spec: { minReplicas: number; maxReplicas: number };
  status: { currentReplicas?: number; desiredReplicas?: number; conditions?: { type: string; status: string }[] };
}
interface Target {
  scrapePool: string;
  health: string;
  labels: Record<string, string>;
}
interface MetricValue {
  describedObject: { kind: string; name: string };
  metric: { name: string };
  value: string;
}

const METRIC = "avg_time_queue_us";
const METRICS_PATH = `/apis/custom.metrics.k8s.io/v1beta1/namespaces/${NS}/pods/*/${METRIC}`;
const HPA_CONTROLLER = "system:serviceaccount:kube-system:horizontal-pod-autoscaler";
// What the T4 pool advertises in the local stack (time-slicing, 4 replicas on one GPU), worked out by hand; the
// HPA's bounds come from Pulumi.local.yaml.
const T4_CAPACITY = 4;
const T4_MIN = 2;
const SCALE_DOWN_WINDOW_SECONDS = 30;
/** The installation's own scrape job: kube-state-metrics' kube_pod_info (tools/local-monitoring/installation.yaml). */
const KUBE_STATE_METRICS_JOB = "scrapeConfig/monitoring/kube-state-metrics";

let engine: Engine;
/** When the busy triton-mig pod's load began. */
let busySince = 0;

function running(server: string): Pod[] {
  return podsOf(engine, server).filter((p) => p.status.phase === "Running");
}

function hpa(): Hpa {
  return kubectlJson<Hpa>(engine, ["get", "hpa", "triton-t4", "-n", NS]);
}

async function prometheus<T>(apiPath: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${engine.env.GPUSHARE_PROMETHEUS_PORT}${apiPath}`);
  const body = (await res.json()) as { status: string; data: T };
  if (body.status !== "success") throw new Error(`Prometheus ${apiPath}: ${JSON.stringify(body)}`);
  return body.data;
}

/** A Kubernetes quantity as a number: "300", "299500m", "1500u", "3k". */
function quantity(q: string): number {
  const m = /^(-?[0-9.]+)([numkMG]?)$/.exec(q);
  if (m === null) throw new Error(`not a quantity: ${q}`);
  const scale: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9 };
  return Number(m[1]) * scale[m[2]];
}

/** Each pod's value of the custom metric, as the HPA controller reads it (through the aggregation layer). */
function metricValues(as?: string): Map<string, number> {
  const list = JSON.parse(
    kubectl(engine, ["get", "--raw", METRICS_PATH, ...(as === undefined ? [] : ["--as", as])]),
  ) as {
    items: MetricValue[];
  };
  return new Map(list.items.map((i) => [i.describedObject.name, quantity(i.value)]));
}

/** What `fn` returns, or its error's message (a reason for `eventually` to try again). */
function attempt<T>(fn: () => T): T | string {
  try {
    return fn();
  } catch (e) {
    return (e as Error).message;
  }
}

describe.sequential("the autoscaling loop on the real engine", { timeout: 15 * 60_000 }, () => {
  beforeAll(() => {
    engine = provideEngine({ portOffset: 300 });
    prepareLocalStack(engine);
    const r = pulumi(engine, ["up", "--yes", "--skip-preview", "--stack", "local"]);
    if (r.code !== 0) throw new Error(`pulumi up failed:\n${r.stdout}\n${r.stderr}`);
  }, 75 * 60_000);

  afterAll(() => {
    if (engine !== undefined) stopEngine(engine);
  });

  it("has Prometheus scrape every Triton pod through the program's PodMonitors, and no other pod", async () => {
    const expected = new Map(
      ["triton-mig", "triton-t4"].map((s) => [
        `podMonitor/${NS}/${s}/0`,
        running(s)
          .map((p) => p.metadata.name)
          .sort(),
      ]),
    );
    const seen = await eventually(180, async () => {
      const { activeTargets: all } = await prometheus<{ activeTargets: Target[] }>("/api/v1/targets?state=active");
      const activeTargets = all.filter((t) => t.scrapePool !== KUBE_STATE_METRICS_JOB);
      const up = activeTargets.filter((t) => t.health === "up");
      const byPool = new Map<string, string[]>();
      for (const t of up) byPool.set(t.scrapePool, [...(byPool.get(t.scrapePool) ?? []), t.labels.pod].sort());
      const ok = [...expected].every(([pool, pods]) => JSON.stringify(byPool.get(pool)) === JSON.stringify(pods));
      return ok ? activeTargets : `targets up: ${JSON.stringify(Object.fromEntries(byPool))}`;
    });
    // Every target is a Triton pod of one of the program's PodMonitors, labelled with its namespace and pod.
    expect([...new Set(seen.map((t) => t.scrapePool))].sort()).toEqual([...expected.keys()].sort());
    for (const t of seen) {
      expect(t.labels.namespace).toBe(NS);
      expect(expected.get(t.scrapePool)).toContain(t.labels.pod);
      expect(t.labels.instance).toMatch(/^127\.\d+\.\d+\.\d+:8002$/);
    }
    // The operator wrote every scrape job from a monitor, or the installation's ScrapeConfig; none by hand.
    const { yaml } = await prometheus<{ yaml: string }>("/api/v1/status/config");
    const jobs = [...yaml.matchAll(/^- job_name: (.+)$/gm)].map((m) => m[1].replace(/^"|"$/g, "")).sort();
    expect(jobs).toEqual([...expected.keys(), KUBE_STATE_METRICS_JOB].sort());
  });

  it("serves each pod's queue time per request through the custom metrics API: 300 µs, an idle pod 0", async () => {
    const [busy, idle] = running("triton-mig").map((p) => p.metadata.name);
    // The simulation serves a pod from its first poll after the pod runs.
    await eventually(60, async () => {
      const served = (await simTriton(engine, "GET", "/pods")) as { name: string; listening: boolean }[];
      const listening = served.filter((p) => p.listening).map((p) => p.name);
      return [busy, idle].every((p) => listening.includes(p)) ? true : `served: ${listening.join(", ")}`;
    });
    await simTriton(engine, "PUT", `/pods/${busy}/load`, { requestsPerSecond: 20, queueUsPerRequest: 300 });
    busySince = Date.now();
    await simTriton(engine, "PUT", `/pods/${idle}/load`, { requestsPerSecond: 0, queueUsPerRequest: 0 });
    const t4 = running("triton-t4").map((p) => p.metadata.name);
    const values = await eventually(180, () => {
      const v = attempt(() => metricValues());
      if (typeof v === "string") return v;
      const b = v.get(busy);
      const settled = b !== undefined && Math.abs(b - 300) <= 15 && v.get(idle) === 0 && t4.every((p) => v.has(p));
      return settled ? v : `values: ${JSON.stringify([...v])}`;
    });
    expect(values.get(idle)).toBe(0);
    expect(Math.abs((values.get(busy) ?? NaN) - 300)).toBeLessThanOrEqual(15);
    // The idle T4 pods report 0 as well (never NaN or +Inf, which the API could not even serve).
    for (const p of t4) expect(values.get(p)).toBe(0);
  });

  it("does not spike on a counter reset (a restarted Triton)", async () => {
    const [busy] = running("triton-mig").map((p) => p.metadata.name);
    // A Triton that has served for a minute restarts: for a whole rule window its counters then stay below what
    // they were, which is what a rule taking delta() of a counter (the write-up's) reads as a huge negative value.
    await new Promise((r) => setTimeout(r, Math.max(0, busySince + 60_000 - Date.now())));
    await simTriton(engine, "POST", `/pods/${busy}/reset`);
    // Over a whole rule window and then some, every reading stays at the load's queue time.
    const readings: number[] = [];
    const until = Date.now() + 45_000;
    while (Date.now() < until) {
      const v = metricValues().get(busy);
      if (v !== undefined) readings.push(v);
      await new Promise((r) => setTimeout(r, 3000));
    }
    expect(readings.length).toBeGreaterThan(5);
    for (const r of readings) expect(Math.abs(r - 300), `readings ${readings.join(", ")}`).toBeLessThanOrEqual(30);
  });

  it("scales triton-t4 from minReplicas to what its pool advertises when queue time rises above the target", async () => {
    expect(hpa().spec).toMatchObject({ minReplicas: T4_MIN, maxReplicas: T4_CAPACITY });
    expect(running("triton-t4")).toHaveLength(T4_MIN);
    await simTriton(engine, "PUT", "/servers/triton-t4/load", { requestsPerSecond: 20, queueUsPerRequest: 300 });
    await eventually(240, () => {
      const pods = running("triton-t4");
      return pods.length === T4_CAPACITY ? pods : `${pods.length} pods Running, HPA ${JSON.stringify(hpa().status)}`;
    });
    expect(hpa().status.desiredReplicas).toBe(T4_CAPACITY);
    for (const p of podsOf(engine, "triton-t4")) expect(p.spec.nodeName).toBe("gpu-t4-0");
    const active = hpa().status.conditions?.find((c) => c.type === "ScalingActive");
    expect(active?.status).toBe("True");
  });

  it("leaves exactly the surplus Pending with Insufficient nvidia.com/gpu when the HPA may go past capacity", async () => {
    // The program refuses maxReplicas above what the pool advertises; the live HPA is widened by hand here.
    kubectl(engine, ["patch", "hpa", "triton-t4", "-n", NS, "--type", "merge", "-p", '{"spec":{"maxReplicas":5}}']);
    const pending = await eventually(120, () => {
      const p = podsOf(engine, "triton-t4").filter((x) =>
        (x.status.conditions ?? []).some((c) => c.type === "PodScheduled" && c.reason === "Unschedulable"),
      );
      return p.length > 0 ? p : `HPA ${JSON.stringify(hpa().status)}`;
    });
    expect(pending).toHaveLength(1);
    expect(pending[0].status.conditions?.find((c) => c.type === "PodScheduled")?.message).toContain(
      "Insufficient nvidia.com/gpu",
    );
    expect(running("triton-t4")).toHaveLength(T4_CAPACITY);
    kubectl(engine, [
      "patch",
      "hpa",
      "triton-t4",
      "-n",
      NS,
      "--type",
      "merge",
      "-p",
      `{"spec":{"maxReplicas":${T4_CAPACITY}}}`,
    ]);
    await eventually(120, () =>
      podsOf(engine, "triton-t4").length === T4_CAPACITY ? true : "the surplus pod is still there",
    );
  });

  it("scales back to minReplicas after the stabilisation window when the load drops", async () => {
    const dropped = Date.now();
    await simTriton(engine, "PUT", "/servers/triton-t4/load", { requestsPerSecond: 0, queueUsPerRequest: 0 });
    await eventually(300, () => {
      const n = podsOf(engine, "triton-t4").length;
      return n === T4_MIN ? true : `${n} pods, HPA ${JSON.stringify(hpa().status)}`;
    });
    expect((Date.now() - dropped) / 1000).toBeGreaterThanOrEqual(SCALE_DOWN_WINDOW_SECONDS);
    expect(hpa().status.desiredReplicas).toBe(T4_MIN);
  });

  it("lets the HPA controller read the metric only through the program's grant", () => {
    // The question the adapter asks the API server for every request (a SubjectAccessReview), and its answer.
    const review = (metric: string): { allowed: boolean; reason?: string } => {
      const sar = {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: HPA_CONTROLLER,
          groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
          resourceAttributes: {
            namespace: NS,
            verb: "get",
            group: "custom.metrics.k8s.io",
            resource: "pods",
            subresource: metric,
            name: "*",
          },
        },
      };
      const r = run("kubectl", ["create", "-f", "-", "-o", "json"], { env: engine.env, input: JSON.stringify(sar) });
      if (r.code !== 0) throw new Error(r.stderr);
      return (JSON.parse(r.stdout) as { status: { allowed: boolean; reason?: string } }).status;
    };
    const granted = review(METRIC);
    expect(granted.allowed).toBe(true);
    expect(granted.reason).toMatch(/ClusterRoleBinding "gpushare-metrics-adapter-hpa-metrics-reader-[a-z0-9]+"/);
    // Kubernetes' own role for the controller would allow any custom metric; the local cluster dropped that rule.
    expect(review("nv_inference_queue_duration_us").allowed).toBe(false);
    expect(metricValues(HPA_CONTROLLER).size).toBeGreaterThan(0);
    // A caller without a grant is refused (by the API server before the request is proxied, and by the adapter).
    const outsider = run("kubectl", ["get", "--raw", METRICS_PATH, "--as", `system:serviceaccount:${NS}:default`], {
      env: engine.env,
    });
    expect(outsider.code).not.toBe(0);
    expect(outsider.stderr.toLowerCase()).toContain("forbidden");
  });
});
