/**
 * The kubelet's part for the monitoring processes of the local cluster (tools/cluster-up.sh), which run on the
 * host, not in KWOK pods:
 * - Prometheus: the config prometheus-operator generates (Secret `prometheus-<name>`, key `prometheus.yaml.gz`) is
 *   written to Prometheus' config file whenever it changes, with `$(VAR)` expanded from the config-reloader's
 *   environment in the operator's StatefulSet (`POD_NAME`, `SHARD`), and Prometheus is told to
 *   reload (`POST /-/reload`) - what the Secret volume and prometheus-config-reloader do in a cluster.
 * - prometheus-adapter: the rule file gpushare writes (ConfigMap `gpushare-adapter-rules`, key `config.yaml`) is
 *   written to the adapter's `--config` file, and the adapter is (re)started when it changes - what a ConfigMap
 *   volume and the chart's config checksum do. Until the ConfigMap exists the adapter runs with a rule of the
 *   installation's own; when it is deleted the adapter keeps its last rules. It is restarted 5 s after it exits.
 * - kube-state-metrics, its `kube_pod_info` only (`--pod-info-port`, pod-info.ts): the node of every pod, from the
 *   pods it lists each interval, on 127.0.0.1:PORT/metrics.
 *
 *   node --import tsx tools/local-monitoring/main.ts --kubeconfig K --prometheus-secret monitoring/prometheus-x \
 *     --prometheus-config FILE --prometheus-url http://127.0.0.1:9090 --adapter-configmap monitoring/gpushare-adapter-rules \
 *     --adapter-config FILE -- prometheus-adapter --config FILE ...
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import * as http from "node:http";
import { gunzipSync } from "node:zlib";
import type { Endpoint } from "../kube-client";
import { ApiError, intervalFlag, kubeconfigFlag, log, request, runDaemon, UsageError } from "../kube-client";
import type { PodInfoSource } from "./pod-info";
import { renderPodInfo } from "./pod-info";

const USAGE = `usage: local-monitoring --prometheus-secret NS/NAME --prometheus-config FILE --prometheus-url URL
                        --adapter-configmap NS/NAME --adapter-config FILE [--kubeconfig PATH] [--pod-name NAME]
                        [--pod-info-port PORT] [--interval SECONDS] -- ADAPTER_COMMAND [ARGS...]`;

interface Options {
  readonly kubeconfig: string;
  readonly prometheusSecret: readonly [string, string];
  readonly prometheusConfig: string;
  readonly prometheusUrl: URL;
  readonly podName: string;
  readonly adapterConfigMap: readonly [string, string];
  readonly adapterConfig: string;
  readonly adapterCommand: readonly string[];
  readonly intervalMs: number;
  /** Where kube_pod_info is served (127.0.0.1); absent: not served. */
  readonly podInfoPort?: number;
}

function objectRef(flag: string, value: string | undefined): [string, string] {
  const m = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(value ?? "");
  if (m === null) throw new UsageError(`${flag}: "${value ?? ""}" is not NAMESPACE/NAME`);
  return [m[1], m[2]];
}

function required(flag: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new UsageError(`${flag} is required`);
  return value;
}

function parseOptions(argv: string[]): Options | undefined {
  const dash = argv.indexOf("--");
  const { values } = parseArgs({
    args: dash < 0 ? argv : argv.slice(0, dash),
    options: {
      kubeconfig: { type: "string" },
      "prometheus-secret": { type: "string" },
      "prometheus-config": { type: "string" },
      "prometheus-url": { type: "string" },
      "pod-name": { type: "string" },
      "adapter-configmap": { type: "string" },
      "adapter-config": { type: "string" },
      interval: { type: "string", default: "1" },
      "pod-info-port": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) return undefined;
  const kubeconfig = kubeconfigFlag(values.kubeconfig);
  const prometheusUrl = new URL(required("--prometheus-url", values["prometheus-url"]));
  if (prometheusUrl.hostname !== "127.0.0.1")
    throw new UsageError(`--prometheus-url: ${prometheusUrl.href} is not on 127.0.0.1`);
  const adapterCommand = dash < 0 ? [] : argv.slice(dash + 1);
  if (adapterCommand.length === 0) throw new UsageError("the adapter's command line is required after --");
  const intervalMs = intervalFlag(values.interval);
  const prometheusSecret = objectRef("--prometheus-secret", values["prometheus-secret"]);
  const podInfoPortText = values["pod-info-port"];
  const podInfoPort = podInfoPortText === undefined ? undefined : Number(podInfoPortText);
  if (podInfoPort !== undefined && !(/^\d+$/.test(podInfoPortText ?? "") && podInfoPort >= 1 && podInfoPort <= 65535))
    throw new UsageError(`--pod-info-port: "${podInfoPortText ?? ""}" is not a port number`);
  return {
    kubeconfig,
    prometheusSecret,
    prometheusConfig: required("--prometheus-config", values["prometheus-config"]),
    prometheusUrl,
    // The operator's StatefulSet is named after the Secret (prometheus-<name>); its first pod is -0.
    podName: values["pod-name"] ?? `${prometheusSecret[1]}-0`,
    adapterConfigMap: objectRef("--adapter-configmap", values["adapter-configmap"]),
    adapterConfig: required("--adapter-config", values["adapter-config"]),
    adapterCommand,
    intervalMs,
    podInfoPort,
  };
}

/**
 * The adapter's config before gpushare's ConfigMap exists: a rule of the installation's own (whether Prometheus
 * scrapes a pod, as `scrape_up`). prometheus-adapter serves no custom metrics API at all without a rule, and an
 * APIService that is not available breaks API discovery for every client.
 */
export const INSTALLATION_RULES = `rules:
  - seriesQuery: 'up{namespace!="",pod!=""}'
    resources: { overrides: { namespace: { resource: namespace }, pod: { resource: pod } } }
    name: { matches: "^up$", as: "scrape_up" }
    metricsQuery: "max by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})"
`;

/** The config-reloader's expansion: `$(NAME)` becomes the variable's value; unknown names stay as they are. */
export function expandEnv(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath?: string } };
}
interface StatefulSet {
  spec?: { template?: { spec?: { containers?: { name: string; env?: EnvVar[] }[] } } };
}

/** A container's environment as the kubelet gives it: plain values, and the pod's name from `metadata.name`. */
export function containerEnv(env: readonly EnvVar[], podName: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.name") out[e.name] = podName;
  }
  return out;
}

/** Writes `content` to `file` (atomically) unless it already holds it; true when it wrote. */
function writeIfChanged(file: string, content: string): boolean {
  if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === content) return false;
  fs.writeFileSync(`${file}.tmp`, content, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  return true;
}

class Kubelet {
  private adapter: ChildProcess | undefined;
  private adapterRestartAt = 0;
  private reloadPending = false;
  private podInfo = renderPodInfo([]);
  private podInfoServer: http.Server | undefined;

  constructor(
    private readonly options: Options,
    private readonly endpoint: Endpoint,
    private readonly signal: AbortSignal,
  ) {}

  private async get(urlPath: string): Promise<{ data?: Record<string, string> } | undefined> {
    try {
      return (await request(this.endpoint, this.signal, "GET", urlPath)) as { data?: Record<string, string> };
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  async tick(): Promise<void> {
    await this.syncPrometheus();
    await this.syncAdapter();
    await this.syncPodInfo();
  }

  /** kube-state-metrics' part: the pods as they are now, served until the next tick. */
  private async syncPodInfo(): Promise<void> {
    const port = this.options.podInfoPort;
    if (port === undefined) return;
    const pods = (await request(this.endpoint, this.signal, "GET", "/api/v1/pods")) as { items: PodInfoSource[] };
    this.podInfo = renderPodInfo(pods.items);
    if (this.podInfoServer !== undefined) return;
    const server = http.createServer((req, res) => {
      if (req.method === "GET" && (req.url ?? "").split("?")[0] === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
        res.end(this.podInfo);
        return;
      }
      res.writeHead(404).end();
    });
    this.podInfoServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        log(`kube-state-metrics (kube_pod_info only): serving /metrics on 127.0.0.1:${port}`);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.podInfoServer?.close();
    await this.stopAdapter();
  }

  private async syncPrometheus(): Promise<void> {
    const [ns, name] = this.options.prometheusSecret;
    const secret = await this.get(`/api/v1/namespaces/${ns}/secrets/${name}`);
    const gz = secret?.data?.["prometheus.yaml.gz"];
    // The reloader expands $(VAR) from its container's environment, which the operator's StatefulSet sets.
    const sts = (await this.get(`/apis/apps/v1/namespaces/${ns}/statefulsets/${name}`)) as StatefulSet | undefined;
    const reloader = sts?.spec?.template?.spec?.containers?.find((c) => c.name === "config-reloader");
    if (gz !== undefined && reloader !== undefined) {
      const env = containerEnv(reloader.env ?? [], this.options.podName);
      const config = expandEnv(gunzipSync(Buffer.from(gz, "base64")).toString("utf8"), env);
      if (writeIfChanged(this.options.prometheusConfig, config)) {
        log(
          `prometheus: new config from Secret ${ns}/${name} (${config.length} bytes) written to ${this.options.prometheusConfig}`,
        );
        this.reloadPending = true;
      }
    }
    if (!this.reloadPending) return;
    const res = await fetch(new URL("/-/reload", this.options.prometheusUrl), { method: "POST", signal: this.signal });
    if (res.ok) {
      this.reloadPending = false;
      log("prometheus: reloaded");
    } else {
      log(`prometheus: reload failed: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}; trying again`);
    }
  }

  private async syncAdapter(): Promise<void> {
    const [ns, name] = this.options.adapterConfigMap;
    const cm = await this.get(`/api/v1/namespaces/${ns}/configmaps/${name}`);
    // Before the ConfigMap exists the adapter serves the installation's own rule (no gpushare rule yet);
    // once it is gone, the adapter keeps the rules it has, as a running pod keeps its mounted files.
    const config =
      cm?.data?.["config.yaml"] ?? (fs.existsSync(this.options.adapterConfig) ? undefined : INSTALLATION_RULES);
    if (config !== undefined && writeIfChanged(this.options.adapterConfig, config)) {
      log(
        config === INSTALLATION_RULES
          ? `adapter: no ConfigMap ${ns}/${name} yet; starting with the installation's own rule only`
          : `adapter: rules from ConfigMap ${ns}/${name} written to ${this.options.adapterConfig}`,
      );
      if (this.adapter !== undefined) {
        log("adapter: restarting for the new rules");
        await this.stopAdapter();
      }
    }
    if (this.adapter === undefined && Date.now() >= this.adapterRestartAt) this.startAdapter();
  }

  private startAdapter(): void {
    const [cmd, ...args] = this.options.adapterCommand;
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const prefix = (d: Buffer): void => {
      for (const line of d.toString("utf8").split("\n")) if (line !== "") process.stdout.write(`adapter: ${line}\n`);
    };
    child.stdout.on("data", prefix);
    child.stderr.on("data", prefix);
    child.on("error", (e) => log(`adapter: cannot start ${cmd}: ${e.message}`));
    child.on("exit", (code, signal) => {
      if (this.adapter !== child) return;
      this.adapter = undefined;
      this.adapterRestartAt = Date.now() + 5000;
      log(`adapter: exited (${signal ?? `code ${code}`}); restarting in 5 s`);
    });
    this.adapter = child;
    log(`adapter: started (pid ${child.pid}): ${this.options.adapterCommand.join(" ")}`);
  }

  async stopAdapter(): Promise<void> {
    const child = this.adapter;
    if (child === undefined) return;
    this.adapter = undefined;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
    log("adapter: stopped");
  }
}

if (process.argv[1]?.endsWith("main.ts") === true) {
  void runDaemon("local-monitoring", USAGE, parseOptions, (options, endpoint, signal) => {
    const kubelet = new Kubelet(options, endpoint, signal);
    return {
      banner:
        `local monitoring: Prometheus config from Secret ${options.prometheusSecret.join("/")}, adapter rules from ` +
        `ConfigMap ${options.adapterConfigMap.join("/")}`,
      intervalMs: options.intervalMs,
      tick: () => kubelet.tick(),
      close: () => kubelet.close(),
    };
  }).then((code) => {
    process.exitCode = code;
  });
}
