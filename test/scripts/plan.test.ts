import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { capacityTable } from "../../stacks/capacity-table";
import { parseStackConfig } from "../../stacks/config/parse";
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
    // 14.45 = the four servers counted in replicas as before (6.45, proven optimal without resnet) + one H200 (8).
    // resnet's curves are H200's only, so it needs an H200 device: time-sliced it serves at most 833/s (3 devices,
    // 24); under MPS one device serves 2000/s from 11 pods (10 serve 1878/s), and those 11 pods claim the device's
    // every slot, so nothing else can share it; a second H200 (8) costs more than any pool the others use.
    expect(head).toBe(
      "cost 14.45 for 7 GPUs on 7 nodes; lower bound 14.45 (optimal among plans that put each server on one resource of one pool, proven by the integer program); MIG strategy single",
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
    // llm-7b (15 GiB) goes to L4s: a T4 holds 14.73 GiB, less than the model and its process's overhead.
    expect(poolRows.slice(1)).toEqual([
      ["a100-sxm4-40gb", "A100-SXM4-40GB", "1..1", "1", "3.2", "7×1g.5gb", "nvidia.com/gpu", "none", "7", "7"],
      ["t4", "T4", "1..2", "2", "1.1", "whole GPUs", "nvidia.com/gpu", "mps × 3", "6", "6"],
      ["t4-2", "T4", "1..1", "1", "0.55", "whole GPUs", "nvidia.com/gpu", "timeSlicing × 14", "14", "14"],
      ["l4", "L4", "1..2", "2", "1.6", "whole GPUs", "nvidia.com/gpu", "none", "2", "2"],
      ["h200-141gb", "H200-141GB", "1..1", "1", "8", "whole GPUs", "nvidia.com/gpu", "mps × 11", "11", "11"],
    ]);
    expect(servers.split("\n").map((l) => l.split(/\s{2,}/))).toEqual([
      [
        "SERVER",
        "POOL",
        "RESOURCE",
        "ISOLATION",
        "MAX REPLICAS",
        "MODEL GiB",
        "OVERHEAD GiB",
        "GiB PER REPLICA",
        "HEADROOM GiB",
        "SERVED AT PEAK (OBJECTIVE)",
      ],
      ["densenet-isolated", "a100-sxm4-40gb", "nvidia.com/gpu", "full", "7", "0.5", "0.49", "4.75", "3.76", "-"],
      ["densenet-shared", "t4-2", "nvidia.com/gpu", "shared", "14", "0.5", "0.49", "1.05", "0.06", "-"],
      ["yolo", "t4", "nvidia.com/gpu", "memory", "6", "3", "0.49", "4.89", "1.40", "-"],
      ["llm-7b", "l4", "nvidia.com/gpu", "full", "2", "15", "0.66", "21.89", "6.24", "-"],
      // MPS at 11 pods: 1316 + 4/7 × (2628 − 1316) = 2065.7/s at p99 8.86 + 4/7 × (6.45 − 8.86) = 7.48 ms.
      [
        "resnet",
        "h200-141gb",
        "nvidia.com/gpu",
        "shared",
        "11",
        "0.2",
        "0.84",
        "12.70",
        "11.67",
        "2065/s p99 7.48 ms on 1 × 11 pods (2000/s ≤ 10 ms)",
      ],
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
    expect([out.cost, out.gpus, out.lowerBound, out.provenOptimal]).toEqual([14.45, 7, 14.45, true]);
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
      resnet: {
        pool: "h200-141gb",
        autoscaling: { minReplicas: 1, maxReplicas: 11 },
        slo: { requestsPerSecond: 2000, p99Ms: 10 },
        sharingCurve: { gpu: "H200-141GB", sharing: "mps" },
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
      t4: { "nvidia.com/gpu": 6 },
      "t4-2": { "nvidia.com/gpu": 14 },
      l4: { "nvidia.com/gpu": 2 },
      "h200-141gb": { "nvidia.com/gpu": 11 },
    });
  });

  it("--out for OpenStack mode writes flavors and cluster placeholders, and no node-group labels", () => {
    const workloads = tempFile(
      "workloads.yaml",
      `cluster: openstack\n${fs.readFileSync(path.join(PROJECT_DIR, EXAMPLE), "utf8")}`,
    );
    const out = tempFile("Pulumi.planned.yaml");
    const r = run("plan.ts", ["--workloads", workloads, "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const text = fs.readFileSync(out, "utf8");
    expect(text).not.toContain("gpushare.io/node-group");
    expect(text).toContain("# Placeholders, so that this file validates alone");
    const config = parseStackConfig(gpushareConfig(readStackFile(out)));
    expect(config.raw.cluster.kind).toBe("openstack");
    expect(config.raw.cluster.openstack?.nodeSubnetCidr).toBe("192.0.2.0/24");
    expect(config.pools.map((p) => [p.name, p.raw.flavor, p.nodeSelector])).toEqual([
      ["a100-sxm4-40gb", "replace-with-a-flavor-with-1x-a100-sxm4-40gb", { "gpushare.io/pool": "a100-sxm4-40gb" }],
      ["t4", "replace-with-a-flavor-with-1x-t4", { "gpushare.io/pool": "t4" }],
      ["t4-2", "replace-with-a-flavor-with-1x-t4", { "gpushare.io/pool": "t4-2" }],
      ["l4", "replace-with-a-flavor-with-1x-l4", { "gpushare.io/pool": "l4" }],
      ["h200-141gb", "replace-with-a-flavor-with-1x-h200-141gb", { "gpushare.io/pool": "h200-141gb" }],
    ]);
  });

  it.each<[string, string, string]>([
    [
      "120 small replicas with one T4 offer of 4 nodes: two T4s of 60",
      "gpus:\n  T4: {costPerNode: 0.55, maxNodes: 4}\nservers:\n  tiny: {modelMemoryGiB: 0.1, overheadGiB: 0.01, maxReplicas: 120, isolation: shared}\n",
      "timeSlicing × 60",
    ],
    [
      "400 small replicas on 4-GPU T4 nodes: 20 a GPU, 80 pods a node",
      "gpus:\n  T4: {gpusPerNode: 4, costPerNode: 0.55, maxNodes: 8}\nservers:\n  tiny: {modelMemoryGiB: 0.1, overheadGiB: 0.01, maxReplicas: 400, isolation: shared}\n",
      "timeSlicing × 20",
    ],
  ])("plans %s, with no stack trace", (_, text, sharing) => {
    const r = run("plan.ts", ["--workloads", tempFile("workloads.yaml", text)]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(sharing);
  });

  it("refuses 3 × 30 GiB on 2 A100-40GB and 1 A100-80GB, saying a server runs on one pool, with no stack trace", () => {
    const text =
      "gpus:\n  A100-SXM4-40GB: {costPerNode: 3.2, maxNodes: 2}\n  A100-80GB: {costPerNode: 4.5, maxNodes: 1}\nservers:\n  big: {modelMemoryGiB: 30, maxReplicas: 3, isolation: full}\n";
    const r = run("plan.ts", ["--workloads", tempFile("workloads.yaml", text)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("gpushare puts each server on one resource of one pool");
    expect(r.stderr).not.toMatch(/\n\s+at /);
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

  it("fails when the file nests past any workloads file, naming the key and line", () => {
    const file = tempFile("workloads.yaml", `gpus:\n  T4: ${"[".repeat(10000)}\n`);
    const r = run("plan.ts", ["--workloads", file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "gpushare workloads file has 1 problem:\n  - workloads.yaml: gpus.T4[0][0]… (line 2): nested deeper than 64 levels, far deeper than a workloads file (gpus: and servers:) needs; write the values out plainly\n",
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
      "no plan hosts these workloads (1 problem):\n  - servers.llm.modelMemoryGiB: 200 GiB fits no GPU or MIG slice on offer; the most a replica's model gets is 14.24 GiB (a whole T4: 14.73 GiB as nvidia-smi reports it, less 0.49 GiB per-replica overhead); offer a GPU with more memory under gpus, or a smaller model\n",
    );
  });

  it("fails when --workloads is missing, with the usage", () => {
    const r = run("plan.ts", []);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "--workloads is missing\nusage: npm run --silent plan -- --workloads FILE.yaml [--json] [--out Pulumi.<stack>.yaml] [--allocation dra --kubernetes-version 1.36]\n",
    );
  });
});
