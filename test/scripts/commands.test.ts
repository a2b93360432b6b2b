import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_DIR } from "../helpers";

const TSX = path.join(PROJECT_DIR, "node_modules", ".bin", "tsx");

function run(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(TSX, [path.join(PROJECT_DIR, "scripts", script), ...args], {
    cwd: PROJECT_DIR,
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run capacity", () => {
  it.each([
    ["Pulumi.staging.yaml", { a100: { "nvidia.com/gpu": 7 }, t4: { "nvidia.com/gpu": 14 } }],
    [
      "Pulumi.prod.yaml",
      {
        a100: { "nvidia.com/mig-1g.5gb": 8, "nvidia.com/mig-2g.10gb": 3, "nvidia.com/mig-3g.20gb": 4 },
        t4: { "nvidia.com/gpu": 14 },
      },
    ],
    ["Pulumi.dev.yaml", { t4: { "nvidia.com/gpu": 14 } }],
  ])("--json of %s gives the article's numbers per node", (file, expected) => {
    const r = run("capacity.ts", ["--config", file, "--json"]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { pools: { name: string; gpu: string; perNode: object; atMaxNodes: object }[] };
    expect(Object.fromEntries(out.pools.map((p) => [p.name, p.perNode]))).toEqual(expected);
    expect(Object.fromEntries(out.pools.map((p) => [p.name, p.atMaxNodes]))).toEqual(expected);
  });

  it("prints a table with the GPU, the sharing and each resource", () => {
    const r = run("capacity.ts", ["--config", "Pulumi.prod.yaml"]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0].split(/\s{2,}/)).toEqual([
      "POOL",
      "GPU",
      "SHARING",
      "RESOURCE",
      "PER NODE",
      "MAX NODES",
      "AT MAX NODES",
    ]);
    expect(lines[1].split(/\s{2,}/)).toEqual([
      "a100",
      "A100-SXM4-40GB",
      "mig+timeSlicing (all-balanced, mixed)",
      "nvidia.com/mig-1g.5gb",
      "8",
      "1",
      "8",
    ]);
    expect(lines[4].split(/\s{2,}/)).toEqual(["t4", "T4", "timeSlicing", "nvidia.com/gpu", "14", "1", "14"]);
  });

  it("fails when the config is bad, printing every problem", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-capacity-"));
    const file = path.join(dir, "Pulumi.bad.yaml");
    fs.writeFileSync(
      file,
      [
        "config:",
        "  gpushare:modelStore: {nfs: {server: 10.0.0.5, path: /m}}",
        "  gpushare:gpuPools:",
        "    t4: {gpu: T4, nodes: {min: 2, max: 1}, timeSlicing: {replicas: 1}}",
        "",
      ].join("\n"),
    );
    const r = run("capacity.ts", ["--config", file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("gpuPools.t4.nodes: min 2 is greater than max 1; raise nodes.max or lower nodes.min");
    expect(r.stderr).toContain("gpuPools.t4.timeSlicing.replicas: 1 is not allowed");
  });

  it("fails when the stack file repeats a pool name", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-capacity-"));
    const file = path.join(dir, "Pulumi.dup.yaml");
    fs.writeFileSync(
      file,
      [
        "config:",
        "  gpushare:gpuPools:",
        "    t4: {gpu: T4, nodes: {min: 1, max: 1}}",
        "    t4: {gpu: T4, nodes: {min: 1, max: 2}}",
        "",
      ].join("\n"),
    );
    const r = run("capacity.ts", ["--config", file]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      "Pulumi.dup.yaml: duplicate key at line 4: names of pools, servers and config keys must be unique; rename or merge one of them",
    );
  });

  it("--compare prints, as JSON, what a replicas change does to capacity and to the servers", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-compare-"));
    const file = path.join(dir, "Pulumi.new.yaml");
    const text = fs
      .readFileSync(path.join(PROJECT_DIR, "Pulumi.local.yaml"), "utf8")
      .replace("replicas: 4\n", "replicas: 7\n")
      .replace("maxReplicas: 4 }", "maxReplicas: 7 }");
    fs.writeFileSync(file, text);
    const r = run("capacity.ts", ["--config", file, "--compare", "Pulumi.local.yaml", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out.changes).toEqual([{ pool: "t4", resource: "nvidia.com/gpu", before: 4, after: 7 }]);
    expect(out.servers).toEqual([
      { name: "triton-mig", resource: "nvidia.com/mig-1g.5gb", maxReplicas: 2, fitsBefore: true, fitsAfter: true },
      { name: "triton-t4", resource: "nvidia.com/gpu", maxReplicas: 7, fitsBefore: false, fitsAfter: true },
    ]);
    expect(out.disruptions).toEqual([]);
  });

  it("fails when the --compare file is not a stack file", () => {
    const r = run("capacity.ts", ["--config", "Pulumi.local.yaml", "--compare", "package.json"]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      '--compare: package.json: not a Pulumi stack file: it has no top-level "config:" mapping of gpushare keys; pass a Pulumi.<stack>.yaml of this project',
    );
  });

  it("fails when the --compare file is an invalid stack file, naming the flag", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-compare-"));
    const file = path.join(dir, "Pulumi.old.yaml");
    fs.writeFileSync(file, "config:\n  gpushare:gpuPools:\n    t4: {gpu: T5, nodes: {min: 1, max: 1}}\n");
    const r = run("capacity.ts", ["--config", "Pulumi.local.yaml", "--compare", file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`--compare ${file}: gpushare stack config has`);
    expect(r.stderr).toContain('gpuPools.t4.gpu: "T5" is not a known GPU model');
  });

  it("parses stack config without loading any Pulumi SDK, which would make it slow", () => {
    const r = spawnSync(
      TSX,
      ["-e", 'require("./stacks/config"); process.stdout.write(JSON.stringify(Object.keys(require.cache)))'],
      { cwd: PROJECT_DIR, encoding: "utf8" },
    );
    expect(r.status).toBe(0);
    const loaded = JSON.parse(r.stdout) as string[];
    expect(loaded.filter((f) => /node_modules[\\/]@pulumi[\\/]/.test(f))).toEqual([]);
  });
});

describe("npm run render", () => {
  it("writes every registered resource in order, with parents, and the Kubernetes objects as YAML", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-render-"));
    execFileSync(TSX, [path.join(PROJECT_DIR, "scripts", "render.ts"), "--stack", "staging", "--out", out], {
      cwd: PROJECT_DIR,
      encoding: "utf8",
    });
    const resources = JSON.parse(fs.readFileSync(path.join(out, "resources.json"), "utf8")) as {
      type: string;
      name: string;
      parent: string | null;
      inputs: object;
    }[];
    expect(resources[0]).toMatchObject({ type: "gpushare:stack:GpuInferencePlatform", name: "gpushare", parent: null });
    for (const r of resources.slice(1)) expect(r.parent).toMatch(/^urn:pulumi:staging::gpushare::/);
    const k8sObjects = resources.filter(
      (r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm"),
    );
    expect(
      fs.readdirSync(path.join(out, "manifests")).filter((f) => !f.includes("-release-")).length,
    ).toBeGreaterThanOrEqual(k8sObjects.length);
  });

  it("fails on a stack whose config is bad, creating nothing", () => {
    const r = run("render.ts", ["--stack", "does-not-exist"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Pulumi.does-not-exist.yaml: cannot read the stack file");
  });
});
