import * as fs from "node:fs";
import { planLayouts } from "../planner/plan";
import { parseWorkloads, PlanInputError } from "../planner/input";
import { planJson, planText, stackConfigOf, stackFileText } from "./plan-output";
import { parseStackConfig, StackConfigError } from "../stacks/config/parse";
import { draPlannedConfig } from "./dra-plan";
import { checkOutputFile, cliArgs, runCommand, UsageError } from "./cli";
import { readYaml } from "./stack-file";

const USAGE =
  "usage: npm run --silent plan -- --workloads FILE.yaml [--json] [--out Pulumi.<stack>.yaml] [--allocation dra --kubernetes-version 1.36]\n";

/** Reads a workloads file: YAML errors (including duplicate keys) become one clear error. */
function readWorkloads(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new PlanInputError([{ path: file, reason: "cannot read the workloads file; pass --workloads FILE.yaml" }]);
  }
  return readYaml(
    file,
    text,
    "names of GPU models and servers must be unique",
    "a workloads file (gpus: and servers:)",
    (p) => new PlanInputError(p),
  );
}

/**
 * `npm run --silent plan -- --workloads FILE [--json] [--out STACK.yaml]`: the cheapest GPU pools (model, node
 * count, MIG layout, time-slicing or MPS) that host the servers of a workloads file at their peak replicas, and the
 * resource each server requests. Prints the plan with its cost against a proven lower bound; `--out` writes it as a
 * stack file that `npm run capacity -- --config` accepts.
 */
async function main(): Promise<number> {
  const { values } = cliArgs(
    {
      workloads: { type: "string" },
      json: { type: "boolean", default: false },
      out: { type: "string" },
      allocation: { type: "string" },
      "kubernetes-version": { type: "string" },
    },
    USAGE,
  );
  if (values.out !== undefined) checkOutputFile("--out", values.out, USAGE);
  // DRA pools (docs/dra.md): the same plan, written with claims' device names for a cluster of that version.
  if (values.allocation !== undefined && values.allocation !== "dra" && values.allocation !== "devicePlugin") {
    throw new UsageError(
      { path: "--allocation", reason: `"${values.allocation}" is not allowed; use dra or devicePlugin` },
      USAGE,
    );
  }
  if ((values.allocation === "dra") !== (values["kubernetes-version"] !== undefined)) {
    throw new UsageError(
      { path: "", reason: "--allocation dra and --kubernetes-version go together (DRA needs Kubernetes 1.34+)" },
      USAGE,
    );
  }
  if (values.workloads === undefined) throw new UsageError({ path: "", reason: "--workloads is missing" }, USAGE);
  const plan = await planLayouts(parseWorkloads(readWorkloads(values.workloads)));
  // The plan must pass the stack validation it was built to satisfy; if it does not, the planner has a bug, and
  // the error is a plain one, with its stack.
  const config = stackConfigOf(plan);
  let warnings: readonly string[];
  try {
    ({ warnings } = parseStackConfig(
      Object.fromEntries(Object.entries(config).map(([k, v]) => [k.slice("gpushare:".length), v])),
    ));
  } catch (e) {
    if (e instanceof StackConfigError) throw new Error(`the planned stack config does not validate: ${e.message}`);
    throw e;
  }
  if (warnings.length > 0) {
    throw new Error(
      `the planned stack config does not validate: it warns:\n${warnings.map((w) => `  - ${w}`).join("\n")}`,
    );
  }
  const kubernetesVersion = values["kubernetes-version"];
  const written = kubernetesVersion === undefined ? config : draPlannedConfig(config, kubernetesVersion);
  if (values.out !== undefined) fs.writeFileSync(values.out, stackFileText(plan, values.workloads, written));
  process.stdout.write(values.json ? `${JSON.stringify(planJson(plan), null, 2)}\n` : planText(plan));
  return 0;
}

void runCommand(main);
