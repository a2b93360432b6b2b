import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { parseDocument } from "yaml";
import { PlanError, planLayouts } from "../gpu/planner";
import { parseWorkloads, PlanInputError } from "../gpu/planner-input";
import { planJson, planText, stackConfigOf, stackFileText } from "../gpu/planner-output";
import { parseStackConfig, StackConfigError } from "../stacks/config";

const USAGE = "usage: npm run --silent plan -- --workloads FILE.yaml [--json] [--out Pulumi.<stack>.yaml]\n";

/** Reads a workloads file: YAML errors (including duplicate keys) become one clear error. */
function readWorkloads(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new PlanInputError([`${file}: cannot read the workloads file; pass --workloads FILE.yaml`]);
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new PlanInputError(
      doc.errors.map((e) =>
        e.code === "DUPLICATE_KEY"
          ? `${path.basename(file)}: duplicate key at line ${e.linePos?.[0].line ?? "?"}: names of GPU models and servers must be unique; rename or merge one of them`
          : `${path.basename(file)}: ${e.message}`,
      ),
    );
  }
  return doc.toJS();
}

/**
 * `npm run --silent plan -- --workloads FILE [--json] [--out STACK.yaml]`: the cheapest GPU pools (model, node
 * count, MIG layout, time-slicing or MPS) that host the servers of a workloads file at their peak replicas, and the
 * resource each server requests. Prints the plan with its cost against a proven lower bound; `--out` writes it as a
 * stack file that `npm run capacity -- --config` accepts.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      workloads: { type: "string" },
      json: { type: "boolean", default: false },
      out: { type: "string" },
    },
    allowPositionals: false,
  });
  if (values.workloads === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  try {
    const plan = await planLayouts(parseWorkloads(readWorkloads(values.workloads)));
    // The plan must pass the stack validation it was built to satisfy; if it does not, the planner has a bug.
    const config = stackConfigOf(plan);
    try {
      const parsed = parseStackConfig(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [k.slice("gpushare:".length), v])),
      );
      if (parsed.warnings.length > 0) throw new StackConfigError(parsed.warnings);
    } catch (e) {
      if (e instanceof StackConfigError) throw new Error(`the planned stack config does not validate: ${e.message}`);
      throw e;
    }
    if (values.out !== undefined) fs.writeFileSync(values.out, stackFileText(plan, values.workloads));
    process.stdout.write(values.json ? `${JSON.stringify(planJson(plan), null, 2)}\n` : planText(plan));
    return 0;
  } catch (e) {
    if (e instanceof PlanInputError || e instanceof PlanError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

// A bug rejects: Node prints its stack and exits non-zero.
void main().then((code) => {
  process.exitCode = code;
});
