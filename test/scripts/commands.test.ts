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
      "GiB PER DEVICE",
      "PER NODE",
      "MAX NODES",
      "AT MAX NODES",
    ]);
    expect(lines[1].split(/\s{2,}/)).toEqual([
      "a100",
      "A100-SXM4-40GB",
      "mig+timeSlicing (all-balanced, mixed)",
      "nvidia.com/mig-1g.5gb",
      "4.75",
      "8",
      "1",
      "8",
    ]);
    // A T4 as nvidia-smi reports it: 15079 MiB, not the 16 GB of its name.
    expect(lines[4].split(/\s{2,}/)).toEqual(["t4", "T4", "timeSlicing", "nvidia.com/gpu", "14.73", "14", "1", "14"]);
  });

  it("counts requests where a server has a sharing curve: the knee, requests/s and p99 at max replicas, the SLO", () => {
    const r = run("capacity.ts", ["--config", "examples/serving-h200.yaml"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    const serving = r.stdout.trim().split("\n\n")[2].split("\n");
    expect(serving.map((l) => l.split(/\s{2,}/))).toEqual([
      [
        "SERVER",
        "DEVICES",
        "MAX REPLICAS",
        "PODS PER DEVICE",
        "KNEE",
        "REQ/S AT MAX",
        "P99 ms AT MAX",
        "REQ/S AT KNEE",
        "SLO",
      ],
      // maxReplicas is unset: the knee (7) on the one H200, not its 14 slots.
      ["resnet", "1", "7", "7", "7", "833", "8.4", "833", "800/s ≤ 10 ms: met at 7"],
    ]);
    const json = JSON.parse(run("capacity.ts", ["--config", "examples/serving-h200.yaml", "--json"]).stdout) as {
      serving: { servers: { maxReplicas: number; knee: object; slo: { metBy: { replicas: number } } }[] };
    };
    expect(json.serving.servers[0]).toMatchObject({
      maxReplicas: 7,
      knee: { podsPerDevice: 7, measured: true, fraction: 0.1 },
      slo: { metBy: { replicas: 7 } },
    });
  });

  it("lists the DRA example's devices by DeviceClass, with what a count is made of, beside a device-plugin pool", () => {
    const r = run("capacity.ts", ["--config", "examples/dra.yaml"]);
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout
      .trim()
      .split("\n\n")[0]
      .split("\n")
      .slice(1)
      .map((l) => l.split(/\s{2,}/));
    // H100-80GB all-1g.10gb: 7 devices a node, 2 nodes; L4 with 4 consumable shares; the T4 time-sliced 4 ways.
    expect(rows).toEqual([
      ["h100", "H100-80GB", "mig (all-1g.10gb, DRA)", "mig.nvidia.com/1g.10gb", "9.75", "7", "2", "14"],
      ["l4", "L4", "timeSlicing (DRA)", "gpu.nvidia.com", "21.89", "4 (1 device × 4 shares)", "2", "8"],
      ["t4", "T4", "timeSlicing", "nvidia.com/gpu", "14.73", "4", "2", "8"],
    ]);
  });

  it("says which servers are counted in slots when they have no curve", () => {
    const r = run("capacity.ts", ["--config", "Pulumi.dev.yaml"]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n").at(-1)).toMatch(
      /^Counted in slots, not requests \(no sharingCurve\): .+; npm run advise learns a curve from the running platform\.$/,
    );
  });

  it("prints each server's memory per replica: the real figure, the overhead and the headroom", () => {
    const r = run("capacity.ts", ["--config", "Pulumi.prod.yaml"]);
    expect(r.status).toBe(0);
    const servers = r.stdout.trim().split("\n\n")[1].split("\n");
    expect(servers.map((l) => l.split(/\s{2,}/))).toEqual([
      ["SERVER", "POOL", "RESOURCE", "PODS PER DEVICE", "MODEL GiB", "OVERHEAD GiB", "GiB PER REPLICA", "HEADROOM GiB"],
      // 4.75 GiB ÷ 4 − 0.5 − 0.49; 14.73 GiB ÷ 14 − 0.5 − 0.49.
      ["triton-mig", "a100", "nvidia.com/mig-1g.5gb", "4 (timeSlicing)", "0.5", "0.49", "1.19", "0.20"],
      ["triton-t4", "t4", "nvidia.com/gpu", "14 (timeSlicing)", "0.5", "0.49", "1.05", "0.06"],
    ]);
    const json = run("capacity.ts", ["--config", "Pulumi.prod.yaml", "--json"]);
    const rows = (JSON.parse(json.stdout) as { servers: { server: string; headroomGiB: number; fits: boolean }[] })
      .servers;
    expect(rows.map((x) => [x.server, x.fits])).toEqual([
      ["triton-mig", true],
      ["triton-t4", true],
    ]);
    expect(rows[1].headroomGiB).toBeCloseTo(15079 / 1024 / 14 - 0.5 - 502 / 1024, 12);
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
      "gpushare stack config has 1 problem:\n  - Pulumi.dup.yaml: duplicate key at line 4: names of pools, servers and config keys must be unique; rename or merge one of them",
    );
  });

  it("--compare prints, as JSON, what a replicas change does to capacity and to the servers", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-compare-"));
    const file = path.join(dir, "Pulumi.new.yaml");
    const text = fs
      .readFileSync(path.join(PROJECT_DIR, "Pulumi.local.yaml"), "utf8")
      .replace("replicas: 4\n", "replicas: 7\n")
      .replace("maxReplicas: 4\n", "maxReplicas: 7\n");
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
      'gpushare stack config has 1 problem:\n  - --compare: package.json: not a Pulumi stack file: it has no top-level "config:" mapping of gpushare keys; pass a Pulumi.<stack>.yaml of this project',
    );
  });

  it("fails when the --compare file is an invalid stack file, naming the flag", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-compare-"));
    const file = path.join(dir, "Pulumi.old.yaml");
    fs.writeFileSync(
      file,
      "config:\n  gpushare:modelStore: {nfs: {server: a, path: /m}}\n  gpushare:gpuPools:\n    t4: {gpu: T5, nodes: {min: 1, max: 1}}\n",
    );
    const r = run("capacity.ts", ["--config", "Pulumi.local.yaml", "--compare", file]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `gpushare stack config has 1 problem:\n  - --compare ${file}: gpuPools.t4.gpu: "T5" is not a known GPU model; use one of A100-SXM4-40GB, A100-80GB, H100-80GB, H200-141GB, A30-24GB, T4, L4, A10, A40, L40S, V100-16GB, V100-32GB`,
    );
  });

  it("parses stack config without loading any Pulumi SDK, which would make it slow", () => {
    const r = spawnSync(
      TSX,
      ["-e", 'require("./stacks/config/parse"); process.stdout.write(JSON.stringify(Object.keys(require.cache)))'],
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

/**
 * Bad stack files as a user writes them, each through `capacity` and through `render` (which runs the program
 * under the mock runtime, as `pulumi preview` runs it): both refuse it with the same problems, exit 1, and print
 * no stack trace.
 */
describe("a bad stack file, through both commands", () => {
  const base = [
    "config:",
    "  gpushare:modelStore: {nfs: {server: 10.0.0.5, path: /m}, seed: {enabled: false}}",
    "  gpushare:gpuOperator: {installed: true}",
    "  gpushare:monitoring: {installed: true, prometheusUrl: 'http://prometheus:9090'}",
    "  gpushare:metricsAdapter: {installed: true}",
  ];
  const heading = (n: number) => `gpushare stack config has ${n} problem${n === 1 ? "" : "s"}:`;
  const PLAIN_KUBECONFIG =
    "gpushare:kubeconfig: a credential in plain text in the stack file; encrypt it: run pulumi config set --secret gpushare:kubeconfig < path/to/kubeconfig";
  const PLAIN_PASSWORD =
    "openstack:password: a credential in plain text in the stack file; encrypt it: run pulumi config set --secret openstack:password (it prompts for the value, which keeps it out of shell history), or remove it and export OS_PASSWORD";

  /**
   * Writes `Pulumi.<stack>.yaml` into a fresh copy of the program (render reads the stack file next to
   * index.ts): the base's keys, each replaced by a line of `lines` that sets the same key, then the others.
   */
  function project(stack: string, lines: string[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-bad-"));
    for (const entry of [
      "index.ts",
      "problems.ts",
      "Pulumi.yaml",
      "package.json",
      "tsconfig.json",
      "stacks",
      "components",
      "gpu",
      "scripts",
    ]) {
      fs.cpSync(path.join(PROJECT_DIR, entry), path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(dir, "node_modules"));
    const key = (line: string): string => line.split(":").slice(0, 2).join(":");
    const own = new Set(lines.map(key));
    const kept = base.filter((line, i) => i === 0 || !own.has(key(line)));
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), [...kept, ...lines, ""].join("\n"));
    return dir;
  }

  it.each<[string, string[], string[]]>([
    [
      "an unknown gpushare: key",
      ["  gpushare:foo: 42"],
      ['gpushare: unknown key "foo"; remove it or check the spelling against the README\'s config reference'],
    ],
    ["a kubeconfig in plain text", ["  gpushare:kubeconfig: 'apiVersion: v1'"], [PLAIN_KUBECONFIG]],
    ["an OpenStack password in plain text", ["  openstack:password: hunter2"], [PLAIN_PASSWORD]],
    [
      "a node subnet that is not a CIDR",
      [
        "  gpushare:cluster: {kind: openstack, openstack: {clusterTemplateId: tpl, nodeSubnetCidr: 10.0.0.0/33}}",
        "  gpushare:modelStore: {manila: {sizeGiB: 10}, seed: {enabled: false}}",
      ],
      [
        'cluster.openstack.nodeSubnetCidr: "10.0.0.0/33" has no valid prefix length; use /1 to /32 for an IPv4 address, e.g. 10.0.0.0/24',
      ],
    ],
    [
      "an unknown GPU and a server on its pool",
      ["  gpushare:gpuPools: {t4: {gpu: T5, nodes: {min: 1, max: 1}}}", "  gpushare:servers: {s: {pool: t4}}"],
      [
        'gpuPools.t4.gpu: "T5" is not a known GPU model; use one of A100-SXM4-40GB, A100-80GB, H100-80GB, H200-141GB, A30-24GB, T4, L4, A10, A40, L40S, V100-16GB, V100-32GB',
      ],
    ],
    [
      "an image in capitals",
      [
        "  gpushare:gpuPools: {t4: {gpu: T4, nodes: {min: 1, max: 1}}}",
        "  gpushare:servers: {s: {pool: t4, image: 'NVCR.io/NVIDIA/Triton:latest'}}",
      ],
      [
        'servers.s.image: "NVCR.io/NVIDIA/Triton:latest" is not an image reference: the registry and repository must be lowercase; use "nvcr.io/nvidia/triton:latest"',
      ],
    ],
  ])("fails on %s with the problems alone", (_, lines, problems) => {
    const dir = project("bad", lines);
    const file = path.join(dir, "Pulumi.bad.yaml");
    const expected = `${heading(problems.length)}\n${problems.map((p) => `  - ${p}`).join("\n")}`;

    const capacity = run("capacity.ts", ["--config", file]);
    expect(capacity.status).toBe(1);
    expect(capacity.stdout).toBe("");
    expect(capacity.stderr.trim()).toBe(expected);

    const render = spawnSync(
      TSX,
      [path.join(dir, "scripts", "render.ts"), "--stack", "bad", "--out", path.join(dir, "out")],
      {
        cwd: dir,
        encoding: "utf8",
      },
    );
    expect(render.status).toBe(1);
    expect(render.stdout).toBe("");
    expect(render.stderr.trim()).toBe(expected);
    expect(render.stderr).not.toMatch(/^ {4}at /m);
    expect(fs.existsSync(path.join(dir, "out"))).toBe(false);
  });

  it("renders a stack whose credentials are secure: values", () => {
    const dir = project("good", [
      "  gpushare:kubeconfig: {secure: v1:abc:def}",
      "  gpushare:gpuPools: {t4: {gpu: T4, nodes: {min: 1, max: 1}}}",
    ]);
    const r = spawnSync(
      TSX,
      [path.join(dir, "scripts", "render.ts"), "--stack", "good", "--out", path.join(dir, "out")],
      {
        cwd: dir,
        encoding: "utf8",
      },
    );
    expect(r.stderr).not.toContain("problem");
    expect(r.status).toBe(0);
  });

  it("leaves a previous render as it was when the next one is refused", () => {
    const dir = project("stale", ["  gpushare:gpuPools: {t4: {gpu: T4, nodes: {min: 1, max: 1}}}"]);
    const out = path.join(dir, "out");
    const render = () =>
      spawnSync(TSX, [path.join(dir, "scripts", "render.ts"), "--stack", "stale", "--out", out], {
        cwd: dir,
        encoding: "utf8",
      });
    expect(render().status).toBe(0);
    const before = fs.readFileSync(path.join(out, "resources.json"), "utf8");
    const manifests = fs.readdirSync(path.join(out, "manifests")).sort();
    const file = path.join(dir, "Pulumi.stale.yaml");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("gpu: T4", "gpu: T5"));
    const refused = render();
    expect(refused.status).toBe(1);
    expect(fs.readFileSync(path.join(out, "resources.json"), "utf8")).toBe(before);
    expect(fs.readdirSync(path.join(out, "manifests")).sort()).toEqual(manifests);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(".out-"))).toEqual([]);
  });
});

describe("a stack file nested past any config", () => {
  const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-deep-"));
  const fix =
    "nested deeper than 64 levels, far deeper than a Pulumi.<stack>.yaml of this project needs; write the values out plainly";

  it.each<[string, string, string]>([
    // Deep enough to overflow the YAML parser's stack: hundreds of its errors, one problem.
    [
      "10000 unclosed [",
      `config:\n  gpushare:servers: ${"[".repeat(10000)}\n`,
      "config.gpushare:servers[0][0]… (line 2)",
    ],
    [
      "100 nested flow maps",
      `config:\n  gpushare:gpuOperator:\n    values: ${"{a: ".repeat(100)}1${"}".repeat(100)}\n`,
      "config.gpushare:gpuOperator.values.a… (line 3)",
    ],
    [
      "70 nested block maps",
      `config:\n  gpushare:monitoring:\n${Array.from({ length: 70 }, (_, i) => `${"  ".repeat(i + 2)}k${i}:\n`).join("")}${"  ".repeat(72)}x: 1\n`,
      "config.gpushare:monitoring.k0.k1… (line 65)",
    ],
  ])("fails on %s, naming the key and line, without a stack trace", (_, text, where) => {
    const file = path.join(tmp(), "Pulumi.deep.yaml");
    fs.writeFileSync(file, text);
    const r = run("capacity.ts", ["--config", file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`gpushare stack config has 1 problem:\n  - Pulumi.deep.yaml: ${where}: ${fix}\n`);
  });

  it("accepts a config 64 levels deep, and refuses one a level deeper", () => {
    // The file's mapping, config's, gpushare:gpuOperator's, and `n` below values.
    const deep = (n: number): string => {
      const file = path.join(tmp(), "Pulumi.deep.yaml");
      fs.writeFileSync(
        file,
        `config:\n  gpushare:modelStore: {nfs: {server: 10.0.0.5, path: /models}}\n  gpushare:gpuOperator:\n    values: ${"{a: ".repeat(n)}1${"}".repeat(n)}\n`,
      );
      return file;
    };
    const ok = run("capacity.ts", ["--config", deep(61), "--json"]);
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    const refused = run("capacity.ts", ["--config", deep(62), "--json"]);
    expect(refused.stderr).toBe(
      `gpushare stack config has 1 problem:\n  - Pulumi.deep.yaml: config.gpushare:gpuOperator.values.a… (line 4): ${fix}\n`,
    );
    expect(refused.status).toBe(1);
  });
});

describe("the errors render prints as problems", () => {
  it("are the user's: the stack config's, a component's input properties, the seed script's, a RunError's", async () => {
    const pulumi = await import("@pulumi/pulumi");
    const { SeedScriptError } = await import("../../components/k8s/model-store-seed-script");
    const { StackConfigError } = await import("../../stacks/config/errors");
    const { StackConfigRunError } = await import("../../stacks/config/load");
    const { renderError } = await import("../../scripts/render");
    const ab = { path: "a", reason: "b" };
    const cd = { path: "c", reason: "d" };
    const asStackConfig = (e: unknown) => {
      const error = renderError(e);
      expect(error).toBeInstanceOf(StackConfigError);
      return error?.problems;
    };

    const config = new StackConfigError([ab]);
    expect(renderError(config)).toBe(config);
    expect(asStackConfig(new StackConfigRunError(new StackConfigError([ab, cd])))).toEqual([ab, cd]);
    const seed = { path: "modelStore.seed.models[0].name", reason: "bad" };
    expect(asStackConfig(new SeedScriptError([seed]))).toEqual([seed]);
    expect(
      asStackConfig(
        new pulumi.InputPropertiesError({
          message: "ModelShare x: bad",
          errors: [{ propertyPath: "accessCidr", reason: '"x" is not an IP address or CIDR' }],
        }),
      ),
    ).toEqual([{ path: "accessCidr", reason: '"x" is not an IP address or CIDR' }]);
    expect(asStackConfig(new pulumi.RunError("Missing required configuration variable 'gpushare:x'"))).toEqual([
      { path: "", reason: "Missing required configuration variable 'gpushare:x'" },
    ]);
  });

  it("keep a command line's error as it is, with its usage and exit code 2", async () => {
    const { UsageError } = await import("../../scripts/cli");
    const { renderError } = await import("../../scripts/render");
    const usage = new UsageError({ path: "", reason: "--stack is missing" }, "usage: render\n");
    expect(renderError(usage)).toBe(usage);
  });

  it("are not a bug's, whose stack is printed", async () => {
    const { renderError } = await import("../../scripts/render");
    expect(renderError(new TypeError("Cannot read properties of undefined"))).toBeUndefined();
    expect(renderError("a string")).toBeUndefined();
  });
});

describe("the commands' own input: flags, output paths, files that are not stack files", () => {
  const CAPACITY_USAGE =
    "usage: npm run --silent capacity -- --config Pulumi.<stack>.yaml [--compare OLD.yaml] [--json]\n";
  const RENDER_USAGE = "usage: npm run --silent render -- --stack <name> [--out <dir>]\n";
  const PLAN_USAGE =
    "usage: npm run --silent plan -- --workloads FILE.yaml [--json] [--out Pulumi.<stack>.yaml] [--allocation dra --kubernetes-version 1.36]\n";
  const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-cli-"));

  it.each<[string, string, string[], string]>([
    [
      "capacity: an unknown flag",
      "capacity.ts",
      ["--config", "Pulumi.prod.yaml", "--bogus"],
      `Unknown option '--bogus'`,
    ],
    ["render: an unknown flag", "render.ts", ["--stack", "prod", "--verbose"], `Unknown option '--verbose'`],
    ["plan: an unknown flag", "plan.ts", ["--workloads", "examples/workloads.yaml", "-x"], `Unknown option '-x'`],
    ["render: no --stack", "render.ts", [], "--stack is missing"],
    ["capacity: no --config", "capacity.ts", ["--json"], "--config is missing"],
    ["plan: no --workloads", "plan.ts", ["--json"], "--workloads is missing"],
    ["capacity: a flag without its value", "capacity.ts", ["--config"], `Option '--config <value>' argument missing`],
  ])("%s: one line and the usage, exit 2", (_, script, args, message) => {
    const r = run(script, args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    const usage = { "capacity.ts": CAPACITY_USAGE, "render.ts": RENDER_USAGE, "plan.ts": PLAN_USAGE }[script];
    expect(r.stderr).toBe(`${message}\n${usage}`);
  });

  it("plan --out into a missing directory: refused before planning, nothing written", () => {
    const dir = tmp();
    const out = path.join(dir, "missing", "Pulumi.planned.yaml");
    const r = run("plan.ts", ["--workloads", "examples/workloads.yaml", "--out", out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `--out ${out}: the directory ${path.join(dir, "missing")} does not exist; create it first or pick another path\n${PLAN_USAGE}`,
    );
    expect(fs.existsSync(path.join(dir, "missing"))).toBe(false);
  });

  it("render --out under a regular file, or in /proc: refused at once", () => {
    const file = path.join(tmp(), "a-file");
    fs.writeFileSync(file, "");
    const under = run("render.ts", ["--stack", "prod", "--out", path.join(file, "out")]);
    expect(under.status).toBe(2);
    expect(under.stderr).toBe(
      `--out ${path.join(file, "out")}: ${file} is a file, not a directory; pick a path under a directory\n${RENDER_USAGE}`,
    );
    const proc = run("render.ts", ["--stack", "prod", "--out", "/proc/gpushare"]);
    expect(proc.status).toBe(2);
    expect(proc.stderr).toBe(
      `--out /proc/gpushare: a kernel pseudo-filesystem, not a place for output; pick a directory of your own\n${RENDER_USAGE}`,
    );
  });

  it.each<[string, string, string]>([
    ["a Markdown file", "# Title\n\nSome: text: here\n- a\n  b: c\n: x\n:::\n] [\n} {\n@@\n`x`\n", "not YAML ("],
    ["a binary file", "\u0000\u0001ELF", "a binary file, not YAML; pass a Pulumi.<stack>.yaml of this project"],
    [
      "an alias bomb",
      [
        "config:",
        '  a: &a ["x","x","x","x","x","x","x","x","x"]',
        "  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
        "  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
        "  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
        "  e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
        "",
      ].join("\n"),
      "the YAML expands past what a config needs (too many alias expansions); write the values out plainly",
    ],
  ])("--compare with %s: one problem, no stack trace", (_, text, message) => {
    const file = path.join(tmp(), "OLD.yaml");
    fs.writeFileSync(file, text);
    const r = run("capacity.ts", ["--config", "Pulumi.prod.yaml", "--compare", file]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toBe("gpushare stack config has 1 problem:");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(message);
    expect(r.stderr).not.toMatch(/^ {4}at /m);
  });
});
