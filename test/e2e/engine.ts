import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "../helpers";

export const TOOLS = path.join(PROJECT_DIR, "tools");
export const FIXTURE = path.join(PROJECT_DIR, "test", "e2e", "fixture");

export interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; output is captured, never inherited, so failures can quote it. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Result {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? PROJECT_DIR,
    env: opts.env ?? process.env,
    input: opts.input,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error !== undefined) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like `run`, but fails with the command's own output when it does not exit 0. */
export function must(cmd: string, args: readonly string[], opts: Parameters<typeof run>[2] = {}): string {
  const r = run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${r.code}\n--- stdout\n${r.stdout.slice(-8000)}\n--- stderr\n${r.stderr.slice(-8000)}`,
    );
  }
  return r.stdout;
}

/**
 * The engine's environment: the toolchain on PATH (built or found by tools/toolchain.sh), a fresh loopback
 * control plane of this test run's own (state, ports), a file backend and a copy of the project, so that
 * nothing the user has - their `npm run local` cluster and stacks, the committed stack files - is touched.
 */
export interface Engine {
  readonly env: NodeJS.ProcessEnv;
  readonly project: string;
  readonly kubeconfig: string;
  readonly scratch: string;
}

export interface EngineOptions {
  /**
   * Added to every control-plane port (apiserver 17443, etcd 24790 and its peer +10, controller-manager 21257,
   * scheduler 21259, KWOK 21247, nfd-master 21280, Prometheus 22090, prometheus-operator 22281, prometheus-adapter
   * 22443, the simulated Triton's control API 22291, kube_pod_info 22292), so that test files on engines of their own never share a
   * port; a multiple of 100 also gives the cluster its own loopback pod range (127.(245 + offset/100).0.0/16), so
   * pods of two clusters never share an address. Default 0.
   */
  readonly portOffset?: number;
  /** More environment for the control plane's scripts, e.g. `GPUSHARE_DRA_CONSUMABLE_SHARES` (tools/README.md). */
  readonly clusterEnv?: Readonly<Record<string, string>>;
}

export function provideEngine(opts: EngineOptions = {}): Engine {
  const port = (base: number): string => String(base + (opts.portOffset ?? 0));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-e2e-"));
  // Its progress (a cold build takes tens of minutes) goes straight to the test log; stdout carries the PATH.
  const toolchain = spawnSync("bash", [path.join(TOOLS, "toolchain.sh")], {
    cwd: PROJECT_DIR,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (toolchain.status !== 0) {
    throw new Error(
      `the end-to-end tests need the Pulumi engine and a local control plane, and tools/toolchain.sh could not provide them (exit ${toolchain.status}); its messages are above`,
    );
  }
  const pathLine = /^export PATH="?([^"\n]*)"?$/m.exec(toolchain.stdout);
  if (pathLine === null) throw new Error(`tools/toolchain.sh printed no PATH line:\n${toolchain.stdout}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: pathLine[1].replace("$PATH", process.env.PATH ?? ""),
    GPUSHARE_CLUSTER_DIR: path.join(scratch, "cluster"),
    GPUSHARE_APISERVER_PORT: port(17443),
    GPUSHARE_ETCD_PORT: port(24790),
    GPUSHARE_KCM_PORT: port(21257),
    GPUSHARE_SCHEDULER_PORT: port(21259),
    GPUSHARE_KWOK_PORT: port(21247),
    GPUSHARE_NFD_PORT: port(21280),
    GPUSHARE_PROMETHEUS_PORT: port(22090),
    GPUSHARE_OPERATOR_PORT: port(22281),
    GPUSHARE_ADAPTER_PORT: port(22443),
    GPUSHARE_SIM_TRITON_PORT: port(22291),
    GPUSHARE_POD_INFO_PORT: port(22292),
    GPUSHARE_POD_CIDR: `127.${245 + Math.floor((opts.portOffset ?? 0) / 100)}.0.1/16`,
    PULUMI_BACKEND_URL: `file://${path.join(scratch, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "gpushare-local",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    NO_COLOR: "1",
    ...opts.clusterEnv,
  };
  fs.mkdirSync(path.join(scratch, "state"));
  let kubeconfig: string;
  try {
    kubeconfig = must("bash", [path.join(TOOLS, "cluster-up.sh")], { env }).trim();
  } catch (e) {
    // What started before the failure would hold its ports and fail the next run.
    run("bash", [path.join(TOOLS, "cluster-down.sh"), "--purge"], { env });
    throw e;
  }
  env.KUBECONFIG = kubeconfig;

  const project = path.join(scratch, "project");
  fs.cpSync(PROJECT_DIR, project, {
    recursive: true,
    filter: (src) => !/(^|\/)(node_modules|\.git|out|bin)$/.test(path.relative(PROJECT_DIR, src)),
  });
  fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(project, "node_modules"));
  return { env, project, kubeconfig, scratch };
}

export function stopEngine(engine: Engine): void {
  run("bash", [path.join(TOOLS, "cluster-down.sh"), "--purge"], { env: engine.env });
  fs.rmSync(engine.scratch, { recursive: true, force: true });
}

export function kubectl(engine: Engine, args: readonly string[]): string {
  return must("kubectl", args, { env: engine.env });
}

export function kubectlJson<T>(engine: Engine, args: readonly string[]): T {
  return JSON.parse(kubectl(engine, [...args, "-o", "json"])) as T;
}

export function pulumi(engine: Engine, args: readonly string[]): Result {
  return run("pulumi", [...args, "--non-interactive"], { cwd: engine.project, env: engine.env });
}

/** Polls `check` until it returns a value, or fails after `seconds` with the last reason it gave. */
export async function eventually<T>(seconds: number, check: () => Promise<T | string> | T | string): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last = "";
  while (Date.now() < deadline) {
    const r = await check();
    if (typeof r !== "string") return r;
    last = r;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`not within ${seconds}s: ${last}`);
}

/** Creates a stack of the project copy with the passphrase secrets provider. */
export function initStack(engine: Engine, stack: string, cwd = engine.project): void {
  must("pulumi", ["stack", "init", stack, "--secrets-provider", "passphrase", "--non-interactive"], {
    cwd,
    env: engine.env,
  });
}

/**
 * The local stack, ready to preview: the installed operator's namespace and the simulated GPU nodes of test/e2e/fixture applied,
 * the stack created, and its one secret set - the cluster's kubeconfig with its client key embedded, which it
 * returns. Another stack (its `Pulumi.<stack>.yaml` already in the project copy) on other nodes: `stack`, `nodes`
 * (a fixture file) and the names of the nodes in it.
 */
export function prepareLocalStack(
  engine: Engine,
  opts: { stack?: string; nodes?: string; nodeNames?: readonly string[] } = {},
): string {
  const stack = opts.stack ?? "local";
  kubectl(engine, ["apply", "--server-side", "-f", path.join(FIXTURE, "installed-namespaces.yaml")]);
  kubectl(engine, ["wait", "--for=condition=Established", "--timeout=60s", "crd/podmonitors.monitoring.coreos.com"]);
  kubectl(engine, ["apply", "--server-side", "-f", path.join(FIXTURE, opts.nodes ?? "gpu-nodes.yaml")]);
  const nodes = opts.nodeNames ?? ["gpu-a100-0", "gpu-t4-0"];
  kubectl(engine, ["wait", "--for=condition=Ready", "--timeout=60s", ...nodes.map((n) => `node/${n}`)]);
  initStack(engine, stack);
  const kubeconfig = kubectl(engine, ["config", "view", "--raw", "--flatten", "--minify"]);
  must("pulumi", ["config", "set", "--secret", "gpushare:kubeconfig", "--stack", stack, "--non-interactive"], {
    cwd: engine.project,
    env: engine.env,
    input: kubeconfig,
  });
  return kubeconfig;
}

/**
 * The stack config of what the local cluster already runs (tools/cluster-up.sh): the operator, monitoring and the
 * adapter "installed", the model store on an NFS export no pod mounts, no seed Job (no internet).
 */
export const LOCAL_CLUSTER_PARTS = {
  "gpushare:modelStore": { nfs: { server: "127.0.0.1", path: "/srv/models" }, seed: { enabled: false } },
  "gpushare:gpuOperator": { installed: true },
  "gpushare:monitoring": {
    installed: true,
    prometheusUrl: "http://prometheus-operated.monitoring.svc:9090",
    monitorLabels: { release: "kube-prometheus-stack" },
  },
  "gpushare:metricsAdapter": { installed: true },
};

/** The simulated Triton's control API (tools/sim-triton/README.md). */
export async function simTriton(engine: Engine, method: string, apiPath: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${engine.env.GPUSHARE_SIM_TRITON_PORT}${apiPath}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as unknown;
  if (!res.ok) throw new Error(`sim-triton ${method} ${apiPath}: HTTP ${res.status}: ${JSON.stringify(json)}`);
  return json;
}
