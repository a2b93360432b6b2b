import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { capacityTable } from "../../stacks/capacity-table";
import { parseStackConfig } from "../../stacks/config";
import { gpushareConfig, readStackFile } from "../../scripts/stack-file";
import { PROJECT_DIR } from "../helpers";

const TSX = path.join(PROJECT_DIR, "node_modules", ".bin", "tsx");
const EXAMPLE = "examples/workloads.yaml";

function run(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(TSX, [path.join(PROJECT_DIR, "scripts", script), ...args], {
    cwd: PROJECT_DIR,
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempFile(name: string, text?: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-plan-")), name);
  if (text !== undefined) fs.writeFileSync(file, text);
  return file;
}

describe("npm run plan", () => {
  it("prints the plan of the example: cost against its bound, pools, servers", () => {
    const r = run("plan.ts", ["--workloads", EXAMPLE]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const [head, pools, servers] = r.stdout.trim().split("\n\n");
    expect(head).toBe(
      "cost 5.65 for 5 GPUs on 5 nodes; lower bound 5.65 (optimal, proven by the integer program); MIG strategy single",
    );
    const poolRows = pools.split("\n").map((l) => l.split(/\s{2,}/));
    expect(poolRows[0]).toEqual([
      "POOL",
      "GPU",
      "NODES",
      "GPUS",
      "COST",
      "LAYOUT",
      "RESOURCE",
      "SHARING",
      "ADVERTISED",
      "CLAIMED",
    ]);
    expect(poolRows.slice(1)).toEqual([
      ["a100-sxm4-40gb", "A100-SXM4-40GB", "1..1", "1", "3.2", "7×1g.5gb", "nvidia.com/gpu", "none", "7", "7"],
      ["t4", "T4", "1..2", "2", "1.1", "whole GPUs", "nvidia.com/gpu", "none", "2", "2"],
      ["t4-2", "T4", "1..1", "1", "0.55", "whole GPUs", "nvidia.com/gpu", "timeSlicing × 14", "14", "14"],
      ["l4", "L4", "1..1", "1", "0.8", "whole GPUs", "nvidia.com/gpu", "mps × 6", "6", "6"],
    ]);
    expect(servers.split("\n").map((l) => l.split(/\s{2,}/))).toEqual([
      ["SERVER", "POOL", "RESOURCE", "ISOLATION", "MAX REPLICAS", "MODEL GiB", "GiB PER REPLICA", "HEADROOM GiB"],
      ["densenet-isolated", "a100-sxm4-40gb", "nvidia.com/gpu", "full", "7", "0.5", "4.75", "4.25"],
      ["densenet-shared", "t4-2", "nvidia.com/gpu", "shared", "14", "0.5", "1.14", "0.64"],
      ["yolo", "l4", "nvidia.com/gpu", "memory", "6", "3", "4.00", "1.00"],
      ["llm-7b", "t4", "nvidia.com/gpu", "full", "2", "15", "16.00", "1.00"],
    ]);
  });

  it("--json gives the totals, the bound and the stack config", () => {
    const r = run("plan.ts", ["--workloads", EXAMPLE, "--json"]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as {
      cost: number;
      gpus: number;
      lowerBound: number;
      provenOptimal: boolean;
      config: Record<string, unknown>;
    };
    expect([out.cost, out.gpus, out.lowerBound, out.provenOptimal]).toEqual([5.65, 5, 5.65, true]);
    expect(Object.keys(out.config)).toEqual([
      "gpushare:cluster",
      "gpushare:gpuPools",
      "gpushare:servers",
      "gpushare:modelStore",
    ]);
    expect(out.config["gpushare:servers"]).toMatchObject({
      "densenet-shared": {
        pool: "t4-2",
        resource: "nvidia.com/gpu",
        modelMemoryGiB: 0.5,
        replicas: 4,
        autoscaling: { minReplicas: 4, maxReplicas: 14 },
      },
    });
  });

  it("--out writes a stack file that capacity accepts, with every server's peak fitting", () => {
    const out = tempFile("Pulumi.planned.yaml");
    const r = run("plan.ts", ["--workloads", EXAMPLE, "--out", out]);
    expect(r.status).toBe(0);
    const text = fs.readFileSync(out, "utf8");
    expect(text).toContain("# A placeholder, so that this file validates alone: replace it with your model store.");
    expect(text).toContain("# Another pool runs T4 too: label this pool's node group gpushare.io/node-group=t4.");
    const config = parseStackConfig(gpushareConfig(readStackFile(out)));
    expect(config.warnings).toEqual([]);
    for (const row of capacityTable(config)) expect(row.headroom).toBeGreaterThanOrEqual(0);
    const capacity = run("capacity.ts", ["--config", out, "--json"]);
    expect(capacity.stderr).toBe("");
    expect(capacity.status).toBe(0);
    const pools = (JSON.parse(capacity.stdout) as { pools: { name: string; atMaxNodes: object }[] }).pools;
    expect(Object.fromEntries(pools.map((p) => [p.name, p.atMaxNodes]))).toEqual({
      "a100-sxm4-40gb": { "nvidia.com/gpu": 7 },
      t4: { "nvidia.com/gpu": 2 },
      "t4-2": { "nvidia.com/gpu": 14 },
      l4: { "nvidia.com/gpu": 6 },
    });
  });

  it("fails when the workloads file is bad, printing every problem and no stack trace", () => {
    const file = tempFile(
      "workloads.yaml",
      [
        "gpus:",
        "  T5: {costPerNode: 1, maxNodes: 1}",
        "servers:",
        "  densenet: {modelMemoryGiB: 0.5, maxReplicas: 0, isolation: shared}",
        "",
      ].join("\n"),
    );
    const r = run("plan.ts", ["--workloads", file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      [
        "gpushare workloads file has 2 problems:",
        `  - gpus.T5: "T5" is not a GPU model gpushare knows; use one of A100-SXM4-40GB, A100-80GB, H100-80GB, H200-141GB, A30-24GB, T4, L4, A10, A40, L40S, V100-16GB, V100-32GB`,
        "  - servers.densenet.maxReplicas: 0 is not allowed; use a whole number ≥ 1",
        "",
      ].join("\n"),
    );
  });

  it("fails when a key is repeated", () => {
    const file = tempFile(
      "workloads.yaml",
      "gpus:\n  T4: {costPerNode: 1, maxNodes: 1}\n  T4: {costPerNode: 2, maxNodes: 1}\nservers: {}\n",
    );
    const r = run("plan.ts", ["--workloads", file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "gpushare workloads file has 1 problem:\n  - workloads.yaml: duplicate key at line 3: names of GPU models and servers must be unique; rename or merge one of them\n",
    );
  });

  it("fails when the file cannot be read", () => {
    const r = run("plan.ts", ["--workloads", "no-such-file.yaml"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "gpushare workloads file has 1 problem:\n  - no-such-file.yaml: cannot read the workloads file; pass --workloads FILE.yaml\n",
    );
  });

  it("fails when nothing on offer holds a model, naming the server and the largest slice", () => {
    const file = tempFile(
      "workloads.yaml",
      "gpus:\n  T4: {costPerNode: 1, maxNodes: 4}\nservers:\n  llm: {modelMemoryGiB: 200, maxReplicas: 1, isolation: full}\n",
    );
    const r = run("plan.ts", ["--workloads", file, "--out", tempFile("Pulumi.never.yaml")]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "no plan hosts these workloads (1 problem):\n  - servers.llm.modelMemoryGiB: 200 GiB fits no GPU or MIG slice on offer; the largest is a whole T4 (16 GiB); offer a GPU with more memory under gpus, or a smaller model\n",
    );
  });

  it("fails when --workloads is missing, with the usage", () => {
    const r = run("plan.ts", []);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "usage: npm run --silent plan -- --workloads FILE.yaml [--json] [--out Pulumi.<stack>.yaml]\n",
    );
  });
});
