import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "../..");
const ACTIONLINT = path.join(ROOT, "tools", "actionlint.sh");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
/** The stack the end-to-end tests deploy to a control plane of their own; no workflow previews it. */
const E2E_STACK = "local";
/** Every `Pulumi.<stack>.yaml` of the project. */
const STACK_FILES = fs
  .readdirSync(ROOT)
  .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
  .filter((stack): stack is string => stack !== undefined)
  .sort();

/** The README's test command: the code block under "Run the tests" in "Set up". */
function readmeTestCommand(): string {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const block = /Run the tests[^\n]*\n+```sh\n([^`]+)```/.exec(readme);
  if (block === null) throw new Error('README.md has no "Run the tests" code block');
  return block[1].trim();
}

/** The first run may build actionlint from Go modules (about half a minute on a cold Go cache). */
const BUILD_TIMEOUT_MS = 600_000;

interface Run {
  readonly status: number | null;
  readonly output: string;
}

function run(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [ACTIONLINT, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output }));
  });
}

function readWorkflow(file: string): { text: string; doc: Record<string, unknown> } {
  const text = fs.readFileSync(path.join(WORKFLOWS, file), "utf8");
  return { text, doc: parse(text) as Record<string, unknown> };
}

/** The jobs of a parsed workflow, loosely typed for assertions. */
function jobsOf(doc: Record<string, unknown>): Record<string, Record<string, unknown>> {
  return doc.jobs as Record<string, Record<string, unknown>>;
}

interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly if?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
}

function stepsOf(job: Record<string, unknown>): Step[] {
  return job.steps as Step[];
}

/** The `with:` of a job's step that uses pulumi/actions. */
function pulumiStep(job: Record<string, unknown>): Record<string, unknown> {
  const steps = job.steps as Record<string, unknown>[];
  const step = steps.find((s) => typeof s.uses === "string" && s.uses.startsWith("pulumi/actions@"));
  if (step === undefined) throw new Error("no pulumi/actions step");
  return step.with as Record<string, unknown>;
}

describe("the GitHub Actions workflows", () => {
  let scratch: string;

  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-actionlint-"));
    const provisioned = await run(["--print-path"], ROOT);
    expect(provisioned.status, provisioned.output).toBe(0);
  }, BUILD_TIMEOUT_MS);

  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it("pass actionlint", async () => {
    const result = await run([], ROOT);
    expect(result.status, result.output).toBe(0);
  });

  it("fails when a workflow needs a job that does not exist: actionlint catches it", async () => {
    const dir = path.join(scratch, ".github", "workflows");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, "broken.yml"),
      [
        "on: push",
        "permissions: {}",
        "jobs:",
        "  deploy:",
        "    needs: build",
        "    runs-on: ubuntu-24.04",
        "    steps:",
        "      - run: echo deploy",
        "",
      ].join("\n"),
    );
    const result = await run([path.join(dir, "broken.yml")], scratch);
    expect(result.output).toContain('job "deploy" needs job "build" which does not exist in this workflow [job-needs]');
    expect(result.status).toBe(1);
  });

  it.each(["preview.yml", "deploy.yml", "test.yml"])(
    "%s pins every action to a commit, with its version beside it",
    (file) => {
      const uses = readWorkflow(file).text.match(/^\s*-?\s*uses:.*$/gm) ?? [];
      expect(uses.length).toBeGreaterThan(0);
      for (const line of uses)
        expect(line).toMatch(/uses: [\w.-]+\/[\w.-]+(?:\/[\w.-]+)*@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    },
  );

  it("previews every stack but the end-to-end tests' own on pull requests, with the policy pack and a PR comment", () => {
    const { doc } = readWorkflow("preview.yml");
    expect(Object.keys(doc.on as object)).toEqual(["pull_request"]);
    expect(doc.permissions).toEqual({ contents: "read" });
    const job = jobsOf(doc).preview;
    expect(job.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    expect(job.strategy).toMatchObject({ "fail-fast": false });
    const matrix = (job.strategy as { matrix: { stack: string[] } }).matrix.stack;
    expect(STACK_FILES).toContain(E2E_STACK);
    expect([...matrix].sort()).toEqual(STACK_FILES.filter((stack) => stack !== E2E_STACK));
    expect(pulumiStep(job)).toMatchObject({
      command: "preview",
      "stack-name": "${{ matrix.stack }}",
      policyPacks: "policy",
      "comment-on-pr": true,
    });
    // The capacity comparison gets a comment of its own: with diff: true the preview's warnings go to stderr.
    const steps = (job as unknown as { steps: { name?: string; run?: string }[] }).steps;
    const compare = steps.find((st) => st.name === "Capacity change against the base branch");
    expect(compare?.run).toContain('npm run --silent capacity -- --config "Pulumi.$STACK.yaml" --compare');
    expect(compare?.run).toContain('gh pr comment "$PR" --body-file');
  });

  it("runs the README's test command on every pull request, as .ci/run does", () => {
    const command = readmeTestCommand();
    expect(command).toBe("npm ci && npm test");
    const ciRun = fs
      .readFileSync(path.join(ROOT, ".ci", "run"), "utf8")
      .trim()
      .split("\n");
    expect(ciRun[ciRun.length - 1]).toBe(command);

    const { doc } = readWorkflow("test.yml");
    expect(doc.on).toEqual({ pull_request: { branches: ["main"] }, push: { branches: ["main"] } });
    expect(doc.permissions).toEqual({ contents: "read" });
    const steps = stepsOf(jobsOf(doc).test);
    const last = steps[steps.length - 1];
    expect(last.run?.trim()).toBe(command);
    expect(last.if).toBeUndefined();
  });

  it("test.yml keeps the toolchain and the Go caches, keyed on tools/versions.env, saved before the tests run", () => {
    const steps = stepsOf(jobsOf(readWorkflow("test.yml").doc).test);
    const key = "${{ hashFiles('tools/versions.env') }}";
    const restores = steps.filter((st) => st.uses?.startsWith("actions/cache/restore@"));
    const saves = steps.filter((st) => st.uses?.startsWith("actions/cache/save@"));
    const paths = (st: Step): string[] => String(st.with?.path).trim().split("\n");
    expect(restores.map(paths)).toEqual([["~/.cache/gpushare"], ["~/go/pkg/mod", "~/.cache/go-build"]]);
    for (const restore of restores) expect(String(restore.with?.key).endsWith(key)).toBe(true);
    // The toolchain only on its exact key: an older one holds binaries of versions no longer pinned.
    expect(restores[0].with?.["restore-keys"]).toBeUndefined();
    expect(saves.map(paths)).toEqual(restores.map(paths));
    expect(saves.map((st) => st.with?.key)).toEqual(
      restores.map((st) => `\${{ steps.${st.id}.outputs.cache-primary-key }}`),
    );
    const testStep = steps.findIndex((st) => st.run?.includes("npm test") === true);
    for (const save of saves) expect(steps.indexOf(save)).toBeLessThan(testStep);
  });

  it("deploys dev, then prod behind the prod environment, never cancelling an update", () => {
    const { doc } = readWorkflow("deploy.yml");
    expect(doc.on).toEqual({ push: { branches: ["main"] } });
    expect(doc.permissions).toEqual({ contents: "read" });
    const { dev, prod } = jobsOf(doc);
    expect(dev.environment).toBe("dev");
    expect(prod.environment).toBe("prod");
    expect(prod.needs).toBe("dev");
    expect(dev.concurrency).toEqual({ group: "pulumi-up-dev", "cancel-in-progress": false });
    expect(prod.concurrency).toEqual({ group: "pulumi-up-prod", "cancel-in-progress": false });
    expect(pulumiStep(dev)).toMatchObject({ command: "up", "stack-name": "dev", policyPacks: "policy" });
    expect(pulumiStep(prod)).toMatchObject({ command: "up", "stack-name": "prod", policyPacks: "policy" });
  });
});
