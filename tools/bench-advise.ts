/**
 * Measures the sharing-curve advisor's fit (`npm run advise` without its HTTP): an hour of 10 s samples of 20 Triton
 * pods (2 nodes of 2 GPUs, 1 → 5 pods per GPU), p99 summary included, fitted by `fitCurve`. Prints a Markdown
 * table: the median fit time of 21 runs after a warm-up, and the curve it found against the one simulated.
 * Usage: npm run bench:advise. Needs no cluster; tools/bench.sh runs it at its end.
 */
import * as os from "node:os";
import type { FitInput } from "../gpu/curve-fit";
import { fitCurve } from "../gpu/curve-fit";
import { H200_RESNET50_BATCH1 } from "../gpu/measured-curves";
import { curveAt } from "../gpu/sharing-curve";
import type { RampSeries } from "./sharing-ramp";
import { simulateRamp } from "./sharing-ramp";

/** The H200 measured with time-slicing, ResNet-50 batch 1 (test/fixtures/h200-sharing-measured.md). */
const H200_TS = H200_RESNET50_BATCH1.timeSlicing;
const STEP = 10;
const SAMPLES = 3600 / STEP + 1;
const RUNS = 21;

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main(): void {
  const ramp = simulateRamp(
    {
      curve: H200_TS,
      server: "bench",
      levels: [1, 2, 3, 4, 5],
      samplesPerLevel: Math.ceil(SAMPLES / 5),
      stepSeconds: STEP,
      nodes: 2,
      devicesPerNode: 2,
      summary: true,
      noise: 0.02,
    },
    SAMPLES,
  );
  const grid = (series: readonly RampSeries[]) =>
    series.map((s) => ({ pod: s.labels.pod, model: s.labels.model, values: s.values }));
  const input: FitInput = {
    stepSeconds: STEP,
    stepsPerWindow: 3,
    devicesPerNode: 2,
    nodeOfPod: new Map(ramp.podNodes.map((p) => [p.pod, p.node])),
    success: grid(ramp.success),
    duration: grid(ramp.duration),
    queue: grid(ramp.queue),
    p99: grid(ramp.p99),
  };
  fitCurve(input);
  const times: number[] = [];
  let fit = fitCurve(input);
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    fit = fitCurve(input);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const worst = Math.max(
    ...fit.points.map((p) => Math.abs(p.requestsPerSecond / curveAt(H200_TS, p.pods).requestsPerSecond - 1)),
  );
  process.stdout.write(
    `| advisor fit (median of ${RUNS}, ${os.cpus().length} cores) | value |\n|---|---|\n` +
      `| input | ${ramp.success.length} pods × ${SAMPLES} samples (1 h at ${STEP} s), 4 series each |\n` +
      `| fit time | ${median(times).toFixed(2)} ms |\n` +
      `| points | ${fit.points.map((p) => p.pods).join(", ")} pods per device |\n` +
      `| worst throughput error | ${(worst * 100).toFixed(1)} % |\n`,
  );
}

if (require.main === module) main();
