import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { SeedScriptError } from "../components/k8s/seed-script";
import { StackConfigError } from "../stacks/errors";
import { StackConfigRunError } from "../stacks/load";
import { gpushareProgram } from "../stacks/program";
import { MockRuntime, settle } from "./mock-runtime";
import type { RecordedResource } from "./mock-runtime";
import { checkOutputDirectory, cliArgs, usageExitCode, UsageError } from "./cli";
import { readStackFile, stackErrorExitCode } from "./stack-file";

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
 * The user's error `e` is, as the one error type commands print: a bad stack file or config, however the program
 * reported it — the stack config error the program ends with, a component's `InputPropertiesError` or the seed
 * script's error (a rule the stack validation does not hold yet), or a `RunError` of Pulumi's config API.
 * `undefined` for anything else: a bug, whose stack is printed.
 */
export function userError(e: unknown): StackConfigError | undefined {
  if (e instanceof StackConfigError) return e;
  if (e instanceof StackConfigRunError || e instanceof SeedScriptError) return new StackConfigError(e.problems);
  if (pulumi.InputPropertiesError.isInstance(e)) {
    return new StackConfigError(e.errors.map((x) => `${x.propertyPath}: ${x.reason}`));
  }
  if (pulumi.RunError.isInstance(e)) return new StackConfigError([e.message]);
  return undefined;
}

async function main(): Promise<number> {
  let stack: string;
  let out: string;
  try {
    const { values } = cliArgs({ stack: { type: "string" }, out: { type: "string" } }, RENDER_USAGE);
    if (values.stack === undefined) throw new UsageError("--stack is missing", RENDER_USAGE);
    if (values.out !== undefined) checkOutputDirectory("--out", values.out, RENDER_USAGE);
    stack = values.stack;
    out = values.out ?? path.join("out", stack);
  } catch (e) {
    return usageExitCode(e);
  }
  try {
    const resources = await render(stack, out);
    process.stdout.write(`${resources.length} resources of stack ${stack} written to ${out}\n`);
    for (const r of resources) process.stdout.write(`  ${r.type}  ${r.name}\n`);
    return 0;
  } catch (e) {
    return stackErrorExitCode(e, userError);
  }
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
