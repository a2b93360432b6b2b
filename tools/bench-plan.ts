/**
 * Measures the layout planner (`npm run plan`), and prints Markdown tables:
 *   - plan time for 10, 100 and 1000 servers (median of a few runs, after one warm-up plan);
 *   - the same with an H200 on offer and some servers planned on requests (an objective and the measured H200
 *     ResNet-50 curves, time-sliced and MPS) instead of replicas;
 *   - on a seeded corpus of random workload mixes, the ratio of each plan's cost to its proven lower bound (median
 *     and worst), and how many plans are proven optimal.
 * Usage: npm run bench:plan [-- --mixes N]   (default 200). Needs no cluster; tools/bench.sh runs it at its end.
 */
import * as os from "node:os";
import { parseArgs } from "node:util";
import { findGpuModel } from "../gpu/catalog";
import { H200_RESNET50_BATCH1 } from "../gpu/measured-curves";
import type { Plan } from "../planner/plan";
import { planLayouts } from "../planner/plan";
import { parseWorkloads } from "../planner/input";

/** mulberry32: a small seeded generator, so that every run plans the same workloads. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** GPU models with list-price-like costs per node and hour (one GPU per node). */
const OFFERS: Record<string, number> = {
  T4: 0.55,
  L4: 0.8,
  "A30-24GB": 1.4,
  "A100-SXM4-40GB": 3.2,
  "A100-80GB": 4.1,
  "H100-80GB": 6.9,
};
/** Model sizes, GiB: small vision models to a 30B language model in 8 bits. */
const MODEL_GIB = [0.5, 1, 2, 3, 5, 8, 12, 15, 20, 30];
const ISOLATIONS = ["shared", "shared", "memory", "full"];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

/** A random workloads file: `servers` servers, `offers` GPU models (all of them when undefined). */
function workloads(seed: number, servers: number, offers?: number): unknown {
  const random = generator(seed);
  const names = Object.keys(OFFERS);
  const chosen =
    offers === undefined
      ? names
      : names
          .map((n) => ({ n, k: random() }))
          .sort((a, b) => a.k - b.k)
          .slice(0, offers)
          .map((x) => x.n);
  // Models no GPU on offer holds make no plan: the corpus measures plans, so it draws only models that fit.
  const largest = Math.max(...chosen.map((n) => findGpuModel(n)?.memoryGiB ?? 0));
  const sizes = MODEL_GIB.filter((m) => m <= largest);
  return {
    gpus: Object.fromEntries(chosen.map((n) => [n, { costPerNode: OFFERS[n], maxNodes: 2000 }])),
    servers: Object.fromEntries(
      Array.from({ length: servers }, (_, i) => [
        `server-${i}`,
        {
          modelMemoryGiB: pick(random, sizes),
          maxReplicas: 1 + Math.floor(random() * 16),
          isolation: pick(random, ISOLATIONS),
        },
      ]),
    ),
  };
}

/** A price per node for the H200 on offer in the requests case, above the H100's. */
const H200_COST = 8;
/** Objectives of the servers planned on requests: peak requests/s and p99, ms (the curves' p99 runs 5.4–17 ms). */
const RPS = [300, 800, 2000, 5000];
const P99_MS = [8, 10, 20];

/**
 * {@link workloads} with an H200 on offer and one server in `every` planned on requests instead of replicas: a small
 * model with an objective and both measured H200 ResNet-50 curves, so that the plan chooses the sharing mode and
 * pods per device from the curves.
 */
function requestWorkloads(seed: number, servers: number, every: number): unknown {
  const random = generator(seed);
  const base = workloads(seed, servers) as { gpus: Record<string, unknown>; servers: Record<string, unknown> };
  const curves = [H200_RESNET50_BATCH1.timeSlicing, H200_RESNET50_BATCH1.mps];
  return {
    gpus: { ...base.gpus, "H200-141GB": { costPerNode: H200_COST, maxNodes: 2000 } },
    servers: Object.fromEntries(
      Object.entries(base.servers).map(([name, s], i) => [
        name,
        i % every === 0
          ? {
              modelMemoryGiB: 0.2,
              isolation: "shared",
              slo: { requestsPerSecond: pick(random, RPS), p99Ms: pick(random, P99_MS) },
              curves,
            }
          : s,
      ]),
    ),
  };
}

async function timed(raw: unknown): Promise<{ plan: Plan; ms: number }> {
  const w = parseWorkloads(raw);
  const start = process.hrtime.bigint();
  const plan = await planLayouts(w);
  return { plan, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export { workloads as benchWorkloads, generator as benchGenerator };

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { mixes: { type: "string", default: "200" } } });
  const mixes = Number(values.mixes);
  await timed(workloads(1, 3));

  const cores = os.cpus().length;
  process.stdout.write(`| plan time (median of 3, ${cores} cores) | servers | ms | search | cost ÷ lower bound |\n`);
  process.stdout.write("|---|---|---|---|---|\n");
  for (const n of [10, 100, 1000]) {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await timed(workloads(1000 + n, n)));
    const { plan } = runs[0];
    process.stdout.write(
      `| ${Object.keys(OFFERS).length} GPU models on offer | ${n} | ${median(runs.map((r) => r.ms)).toFixed(0)} | ${plan.search} | ${(plan.cost / plan.lowerBound).toFixed(3)} |\n`,
    );
  }

  process.stdout.write(
    `\n| plan time (median of 3, ${cores} cores), an H200 on offer too | servers | of them on requests | ms | search | cost ÷ lower bound |\n`,
  );
  process.stdout.write("|---|---|---|---|---|---|\n");
  for (const n of [10, 100]) {
    const every = 3;
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await timed(requestWorkloads(2000 + n, n, every)));
    const { plan } = runs[0];
    process.stdout.write(
      `| ${Object.keys(OFFERS).length + 1} GPU models on offer | ${n} | ${Math.ceil(n / every)} | ${median(runs.map((r) => r.ms)).toFixed(0)} | ${plan.search} | ${(plan.cost / plan.lowerBound).toFixed(3)} |\n`,
    );
  }

  const ratios: number[] = [];
  let proven = 0;
  let exact = 0;
  let failed = 0;
  let worst = { ratio: 0, seed: 0 };
  const start = process.hrtime.bigint();
  for (let seed = 1; seed <= mixes; seed++) {
    const random = generator(seed * 7919);
    const raw = workloads(seed, 2 + Math.floor(random() * 39), 1 + Math.floor(random() * 4));
    try {
      const { plan } = await timed(raw);
      const ratio = plan.cost / plan.lowerBound;
      ratios.push(ratio);
      if (plan.provenOptimal) proven++;
      if (plan.search === "exact") exact++;
      if (ratio > worst.ratio) worst = { ratio, seed };
    } catch {
      failed++;
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(
    `\n| corpus (seeded: ${mixes} mixes of 2–40 servers, 1–4 GPU models) | value |\n|---|---|\n` +
      `| cost ÷ lower bound, median | ${median(ratios).toFixed(3)} |\n` +
      `| cost ÷ lower bound, worst | ${worst.ratio.toFixed(3)} (mix ${worst.seed}) |\n` +
      `| proven optimal | ${proven} of ${ratios.length} (${exact} by the exact program) |\n` +
      `| no plan | ${failed} |\n` +
      `| total time | ${seconds.toFixed(1)} s |\n`,
  );
}

if (require.main === module) void main();
