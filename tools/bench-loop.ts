/**
 * Latency of the autoscaling loop on the local cluster (tools/cluster-up.sh) with the `local` stack up: how long
 * from a load step on `triton-t4` (simulated queue time above the HPA's target) until the HPA wants the pool's
 * capacity and until those pods run, and from the load's end until the HPA is back at minReplicas. Prints a
 * Markdown table of medians. Run by tools/bench.sh; needs KUBECONFIG, GPUSHARE_SIM_TRITON_PORT and kubectl.
 *   tsx tools/bench-loop.ts [runs]
 */
import { execFileSync } from "node:child_process";

const NS = "inference";
const SERVER = "triton-t4";
const RUNS = Number(process.argv[2] ?? "3");
const CONTROL = `http://127.0.0.1:${process.env.GPUSHARE_SIM_TRITON_PORT ?? "20291"}`;

interface Hpa {
  spec: { minReplicas: number; maxReplicas: number };
  status: { desiredReplicas?: number; conditions?: { type: string; status: string }[] };
}
interface Pod {
  status: { phase: string };
  metadata: { deletionTimestamp?: string };
}

function kubectlJson<T>(args: string[]): T {
  return JSON.parse(execFileSync("kubectl", [...args, "-o", "json"], { encoding: "utf8" })) as T;
}
const hpa = (): Hpa => kubectlJson<Hpa>(["get", "hpa", SERVER, "-n", NS]);
const pods = (): Pod[] =>
  kubectlJson<{ items: Pod[] }>(["get", "pods", "-n", NS, "-l", `app.kubernetes.io/instance=${SERVER}`]).items;

async function setLoad(requestsPerSecond: number, queueUsPerRequest: number): Promise<void> {
  const res = await fetch(`${CONTROL}/servers/${SERVER}/load`, {
    method: "PUT",
    body: JSON.stringify({ requestsPerSecond, queueUsPerRequest }),
  });
  if (!res.ok) throw new Error(`sim-triton: HTTP ${res.status}: ${await res.text()}`);
}

/** Seconds from `start` until `done()` holds (polled every 0.5 s), or an error after `limit` seconds. */
async function until(what: string, start: number, done: () => boolean, limit = 600): Promise<number> {
  for (;;) {
    if (done()) return (Date.now() - start) / 1000;
    if (Date.now() - start > limit * 1000) throw new Error(`bench-loop: ${what} not within ${limit} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const { minReplicas, maxReplicas } = hpa().spec;
  const alive = (): Pod[] => pods().filter((p) => p.metadata.deletionTimestamp === undefined);
  await setLoad(0, 0);
  await until("an idle start", Date.now(), () => alive().length === minReplicas);
  await until("the metric", Date.now(), () =>
    (hpa().status.conditions ?? []).some((c) => c.type === "ScalingActive" && c.status === "True"),
  );
  const toDesired: number[] = [];
  const toRunning: number[] = [];
  const toMin: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    process.stderr.write(`bench-loop: run ${i + 1}/${RUNS}\n`);
    const up = Date.now();
    await setLoad(20, 300);
    toDesired.push(await until("desired replicas", up, () => hpa().status.desiredReplicas === maxReplicas));
    toRunning.push(
      await until("pods Running", up, () => alive().filter((p) => p.status.phase === "Running").length === maxReplicas),
    );
    const down = Date.now();
    await setLoad(0, 0);
    toMin.push(await until("minReplicas", down, () => alive().length === minReplicas));
  }
  const f = (xs: number[]): string => `${median(xs).toFixed(1)} (${xs.map((x) => x.toFixed(1)).join(", ")})`;
  process.stdout.write(
    [
      `| autoscaling loop, ${SERVER} ${minReplicas} → ${maxReplicas} → ${minReplicas} (median of ${RUNS}, seconds (runs)) | |`,
      "|---|---|",
      `| load step → HPA desires ${maxReplicas} | ${f(toDesired)} |`,
      `| load step → ${maxReplicas} pods Running | ${f(toRunning)} |`,
      `| load drop → back at ${minReplicas} pods | ${f(toMin)} |`,
      "",
    ].join("\n"),
  );
}

void main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
});
