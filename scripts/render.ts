import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { UserError } from "../problems";
import { StackConfigError } from "../stacks/config/errors";
import { StackConfigRunError } from "../stacks/config/load";
import { gpushareProgram } from "../stacks/program";
import { MockRuntime, settle } from "./mock-runtime";
import type { RecordedResource } from "./mock-runtime";
import { checkOutputDirectory, cliArgs, runCommand, UsageError } from "./cli";
import { readStackFile } from "./stack-file";

const RENDER_USAGE = "usage: npm run --silent render -- --stack <name> [--out <dir>]\n";

/**
 * `npm run --silent render -- --stack <name> --out <dir>`: runs the program of one stack under Pulumi's mock
 * runtime (no cloud, no CLI, no credentials) and writes what it would register:
 * `<dir>/resources.json` — `{type, name, parent, inputs}` per resource in registration order — and each
 * Kubernetes object as YAML under `<dir>/manifests/`, Helm releases with their values beside them.
 * `render()` may be called again in the same process, for the same stack or another: each call runs the program
 * afresh under mocks of its own.
 */

function manifestFileName(index: number, r: RecordedResource): string {
  const kind = r.type.split(":").pop() ?? "object";
  return `${String(index).padStart(3, "0")}-${kind.toLowerCase()}-${r.name.replace(/[^a-zA-Z0-9_.-]/g, "_")}.yaml`;
}

/**
 * Renders stack `stack` into `out` and returns what the program registered.
 * @param projectDir where `Pulumi.<stack>.yaml` is read from.
 */
export async function render(stack: string, out: string, projectDir = process.cwd()): Promise<RecordedResource[]> {
  const file = readStackFile(path.join(projectDir, `Pulumi.${stack}.yaml`));
  const runtime = new MockRuntime();
  await runtime.install(stack, file.config);
  // As the engine does: the program learns which keys are secrets (`secure:` in the file), and refuses
  // credentials in plain text.
  pulumi.runtime.setAllConfig(pulumi.runtime.allConfig(), [...file.secretKeys]);
  const failures: unknown[] = [];
  const onRejection = (e: unknown): void => {
    failures.push(e);
  };
  process.on("unhandledRejection", onRejection);
  try {
    // The program as a function, not `require("../index")`: a module runs once per process, and the next render
    // would get the first one's state.
    gpushareProgram({ render: true });
    await settle(runtime);
  } finally {
    process.off("unhandledRejection", onRejection);
  }
  if (failures.length > 0) throw failures[0];

  // Written beside `out` and moved into place whole: a refused render leaves the previous one as it was.
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const staging = fs.mkdtempSync(path.join(path.dirname(path.resolve(out)), `.${path.basename(out)}-`));
  try {
    writeRender(staging, runtime);
    fs.rmSync(out, { recursive: true, force: true });
    fs.renameSync(staging, out);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return runtime.resources;
}

/** Writes a render's files into `out`, an empty directory. */
function writeRender(out: string, runtime: MockRuntime): void {
  fs.mkdirSync(path.join(out, "manifests"), { recursive: true });
  const resources = runtime.resources.map((r) => ({
    type: r.type,
    name: r.name,
    parent: r.parent ?? null,
    inputs: r.inputs,
  }));
  fs.writeFileSync(path.join(out, "resources.json"), `${JSON.stringify(resources, null, 2)}\n`);
  runtime.resources.forEach((r, i) => {
    if (!r.custom || !r.type.startsWith("kubernetes:") || r.type === "pulumi:providers:kubernetes") return;
    const body = r.type.startsWith("kubernetes:helm.sh/") ? { helmRelease: r.name, ...r.inputs } : r.inputs;
    fs.writeFileSync(path.join(out, "manifests", manifestFileName(i, r)), stringify(body, { sortMapEntries: false }));
  });
}

/**
 * The user's error `e` is, as `render` prints it: its command line's, or a bad stack file or config, however the
 * program reported it — the stack config error the program ends with (as the `RunError` Pulumi prints), a
 * component's `InputPropertiesError`, another of gpushare's user errors (a component rule the stack validation does
 * not hold yet), or a `RunError` of Pulumi's config API. `undefined` for anything else: a bug, whose stack is
 * printed.
 */
export function renderError(e: unknown): UserError | undefined {
  if (e instanceof UsageError || e instanceof StackConfigError) return e;
  if (e instanceof UserError) return new StackConfigError(e.problems);
  if (e instanceof StackConfigRunError) return e.error;
  if (pulumi.InputPropertiesError.isInstance(e)) {
    return new StackConfigError(e.errors.map((x) => ({ path: x.propertyPath, reason: x.reason })));
  }
  if (pulumi.RunError.isInstance(e)) return new StackConfigError([{ path: "", reason: e.message }]);
  return undefined;
}

async function main(): Promise<number> {
  const { values } = cliArgs({ stack: { type: "string" }, out: { type: "string" } }, RENDER_USAGE);
  if (values.stack === undefined) throw new UsageError({ path: "", reason: "--stack is missing" }, RENDER_USAGE);
  if (values.out !== undefined) checkOutputDirectory("--out", values.out, RENDER_USAGE);
  const stack = values.stack;
  const out = values.out ?? path.join("out", stack);
  const resources = await render(stack, out);
  process.stdout.write(`${resources.length} resources of stack ${stack} written to ${out}\n`);
  for (const r of resources) process.stdout.write(`  ${r.type}  ${r.name}\n`);
  return 0;
}

if (require.main === module) void runCommand(main, renderError);
