import * as path from "node:path";
import { alignedRows, compareCapacity, comparisonText, snapshotOf } from "../stacks/capacity-change";
import { draCapacityNote, draPoolJson, serverMemoryTable } from "../stacks/capacity-table";
import { servingJson, servingReport, servingText } from "../stacks/serving";
import { parseStackSettings, StackConfigError, type StackConfig } from "../stacks/config/parse";
import { problemText } from "../problems";
import { cliArgs, runCommand, UsageError } from "./cli";
import { readStackFile } from "./stack-file";

const USAGE = "usage: npm run --silent capacity -- --config Pulumi.<stack>.yaml [--compare OLD.yaml] [--json]\n";

/**
 * A stack file's validated config, refused as the program refuses it (unknown keys, plain-text credentials
 * included). Problems of the `--compare` file say so, naming the flag and, unless they do already, the file.
 */
function load(file: string, compare = false): StackConfig {
  try {
    return parseStackSettings(readStackFile(file));
  } catch (e) {
    if (!compare || !(e instanceof StackConfigError)) throw e;
    const named = (p: string): boolean => p === file || p === path.basename(file);
    throw new StackConfigError(
      e.problems.map((p) => ({ path: named(p.path) ? "--compare" : `--compare ${file}`, reason: problemText(p) })),
    );
  }
}

/**
 * `npm run --silent capacity -- --config Pulumi.<stack>.yaml [--json]`: what each GPU pool of a stack will
 * advertise, per node and at its max node count, before anything is created or paid for. With `--compare OLD.yaml`:
 * what changing OLD into the stack file does — per pool and resource the capacity at max nodes before → after, per
 * server whether its max replicas fit before and after, and the pools whose GPUs a MIG change repartitions.
 */
/** Rows as aligned columns, one line each. */
function table(rows: readonly (readonly string[])[]): string {
  return alignedRows(rows)
    .map((l) => `${l}\n`)
    .join("");
}

function main(): number {
  const { values } = cliArgs(
    { config: { type: "string" }, compare: { type: "string" }, json: { type: "boolean", default: false } },
    USAGE,
  );
  if (values.config === undefined) throw new UsageError({ path: "", reason: "--config is missing" }, USAGE);
  const config = load(values.config);
  for (const w of config.warnings) process.stderr.write(`warning: ${w}\n`);
  if (values.compare !== undefined) {
    const comparison = compareCapacity(snapshotOf(load(values.compare, true)), config);
    process.stdout.write(values.json ? `${JSON.stringify(comparison, null, 2)}\n` : `${comparisonText(comparison)}\n`);
    return 0;
  }
  if (values.json) {
    const pools = config.pools.map((p) => ({
      name: p.name,
      gpu: p.gpu.name,
      mode: p.mode,
      // DRA publishes MIG devices by profile: the device plugin's strategy does not apply to a DRA pool.
      migStrategy: p.sharing.mig === undefined || p.allocation === "dra" ? null : config.migStrategy,
      nodes: { min: p.nodes.min, max: p.nodes.max },
      perNode: p.perNode,
      atMaxNodes: p.atMaxNodes,
      ...draPoolJson(p),
    }));
    const servers = serverMemoryTable(config);
    const serving = servingJson(servingReport(config));
    process.stdout.write(`${JSON.stringify({ migStrategy: config.migStrategy, pools, servers, serving }, null, 2)}\n`);
    return 0;
  }
  const rows: string[][] = [
    ["POOL", "GPU", "SHARING", "RESOURCE", "GiB PER DEVICE", "PER NODE", "MAX NODES", "AT MAX NODES"],
  ];
  for (const p of config.pools) {
    const mode = p.sharing.mig?.migEnabled
      ? `${p.mode} (${p.sharing.mig.configName}, ${p.allocation === "dra" ? "DRA" : config.migStrategy})`
      : `${p.mode}${p.allocation === "dra" ? " (DRA)" : ""}`;
    const resources = Object.keys(p.perNode);
    if (resources.length === 0) rows.push([p.name, p.gpu.name, mode, "(none)", "-", "0", String(p.nodes.max), "0"]);
    for (const r of resources) {
      const device = p.devices.find((d) => d.resource === r);
      rows.push([
        p.name,
        p.gpu.name,
        mode,
        r,
        device === undefined ? "-" : device.memoryGiB.toFixed(2),
        `${p.perNode[r]}${draCapacityNote(p, r)}`,
        String(p.nodes.max),
        String(p.atMaxNodes[r]),
      ]);
    }
  }
  process.stdout.write(table(rows));
  const memory = serverMemoryTable(config);
  if (memory.length > 0) {
    const serverRows = [
      ["SERVER", "POOL", "RESOURCE", "PODS PER DEVICE", "MODEL GiB", "OVERHEAD GiB", "GiB PER REPLICA", "HEADROOM GiB"],
      ...memory.map((m) => [
        m.server,
        m.pool,
        m.resource,
        m.sharing === "none" ? "1" : `${m.podsPerDevice} (${m.sharing})`,
        String(m.modelGiB),
        m.overheadGiB.toFixed(2),
        m.perReplicaGiB.toFixed(2),
        m.headroomGiB.toFixed(2),
      ]),
    ];
    process.stdout.write(`\n${table(serverRows)}`);
  }
  const serving = servingText(servingReport(config));
  if (serving.length > 0) process.stdout.write(`\n${serving.map((l) => `${l}\n`).join("")}`);
  return 0;
}

void runCommand(main);
