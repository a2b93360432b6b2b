/**
 * Simulated Triton metrics for the local KWOK cluster (tools/cluster-up.sh): KWOK pods run no containers, so this
 * program serves each Triton pod's `/metrics` on the pod's own address and Triton's metrics port, with counters
 * whose load a test sets through a control API. Pod addresses must be loopback (KWOK's pod CIDR is 127.x in the
 * local cluster); any other address is refused. See README.md next to this file.
 *
 *   node --import tsx tools/sim-triton/main.ts --kubeconfig "$KUBECONFIG" --control-port 20290
 */
import * as http from "node:http";
import { parseArgs } from "node:util";
import type { Endpoint } from "../kube-client";
import { intervalFlag, kubeconfigFlag, log, request, runDaemon, UsageError } from "../kube-client";
import type { Load } from "./metrics";
import { IDLE, isLoopbackIPv4, modelsOf, parseLoad, TritonCounters } from "./metrics";

const USAGE = `usage: sim-triton [--kubeconfig PATH] [--namespace NS] [--selector LABELS] [--metrics-port PORT]
                  [--control-port PORT] [--interval SECONDS]
  --kubeconfig    kubeconfig of a loopback API server (default: $KUBECONFIG)
  --namespace     namespace of the Triton pods (default: inference)
  --selector      label selector of the Triton pods (default: app.kubernetes.io/name=triton)
  --metrics-port  the port each pod's /metrics is served on, Triton's --metrics-port (default: 8002)
  --control-port  port of the control API on 127.0.0.1 (default: 20290)
  --interval      seconds between two polls of the pods (default: 1)`;

interface Options {
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly selector: string;
  readonly metricsPort: number;
  readonly controlPort: number;
  readonly intervalMs: number;
}

function port(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${flag}: "${value}" is not a port (1-65535)`);
  return n;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: "string" },
      namespace: { type: "string", default: "inference" },
      selector: { type: "string", default: "app.kubernetes.io/name=triton" },
      "metrics-port": { type: "string", default: "8002" },
      "control-port": { type: "string", default: "20290" },
      interval: { type: "string", default: "1" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) return undefined;
  const kubeconfig = kubeconfigFlag(values.kubeconfig);
  const intervalMs = intervalFlag(values.interval);
  return {
    kubeconfig,
    namespace: values.namespace,
    selector: values.selector,
    metricsPort: port("--metrics-port", values["metrics-port"]),
    controlPort: port("--control-port", values["control-port"]),
    intervalMs,
  };
}

interface Pod {
  metadata: { name: string; uid: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { containers: { command?: string[]; args?: string[] }[] };
  status?: { phase?: string; podIP?: string };
}

/** What the simulation knows of one pod: its counters and the listener on its address. */
interface SimPod {
  readonly uid: string;
  readonly ip: string;
  readonly server: string;
  readonly counters: TritonCounters;
  readonly listener: http.Server;
  listening: boolean;
  /** A load set for this pod alone; otherwise its server's. */
  override?: Load;
}

const SERVER_LABEL = "app.kubernetes.io/instance";

class Simulator {
  readonly pods = new Map<string, SimPod>();
  private readonly serverLoads = new Map<string, Load>();

  constructor(
    private readonly options: Options,
    private readonly endpoint: Endpoint,
    private readonly signal: AbortSignal,
  ) {}

  async tick(): Promise<void> {
    const { namespace, selector } = this.options;
    const list = (await request(
      this.endpoint,
      this.signal,
      "GET",
      `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`,
    )) as { items: Pod[] };
    const seen = new Set<string>();
    for (const pod of list.items) {
      const ip = pod.status?.podIP ?? "";
      if (pod.status?.phase !== "Running" || ip === "" || pod.metadata.deletionTimestamp !== undefined) continue;
      seen.add(pod.metadata.name);
      const known = this.pods.get(pod.metadata.name);
      if (known !== undefined && known.uid === pod.metadata.uid && known.ip === ip) {
        if (!known.listening) this.listen(pod.metadata.name, known);
        continue;
      }
      if (known !== undefined) this.drop(pod.metadata.name, known);
      if (!isLoopbackIPv4(ip)) {
        log(`pod ${pod.metadata.name}: address ${ip} is not loopback (127.0.0.0/8); not served`);
        continue;
      }
      this.add(pod, ip);
    }
    for (const [name, sim] of this.pods) if (!seen.has(name)) this.drop(name, sim);
  }

  private add(pod: Pod, ip: string): void {
    const now = Date.now();
    const args = pod.spec.containers.flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])]);
    const server = pod.metadata.labels?.[SERVER_LABEL] ?? "";
    const counters = new TritonCounters(modelsOf(args), now);
    counters.setLoad(this.serverLoads.get(server) ?? IDLE, now);
    const listener = http.createServer((req, res) => {
      if (req.method === "GET" && (req.url ?? "").split("?")[0] === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
        res.end(counters.render(Date.now()));
        return;
      }
      res.writeHead(404).end();
    });
    const sim: SimPod = { uid: pod.metadata.uid, ip, server, counters, listener, listening: false };
    this.pods.set(pod.metadata.name, sim);
    this.listen(pod.metadata.name, sim);
  }

  private listen(name: string, sim: SimPod): void {
    sim.listener.removeAllListeners("error");
    sim.listener.once("error", (e) =>
      log(`pod ${name}: cannot listen on ${sim.ip}:${this.options.metricsPort}: ${e.message}`),
    );
    sim.listener.listen(this.options.metricsPort, sim.ip, () => {
      sim.listening = true;
      log(
        `pod ${name} (${sim.server}): serving /metrics on ${sim.ip}:${this.options.metricsPort}, models ${sim.counters.models.join(", ")}`,
      );
    });
  }

  private drop(name: string, sim: SimPod): void {
    sim.listener.closeAllConnections();
    sim.listener.close();
    this.pods.delete(name);
    log(`pod ${name}: gone, /metrics on ${sim.ip} closed`);
  }

  setServerLoad(server: string, load: Load): number {
    this.serverLoads.set(server, load);
    const now = Date.now();
    let n = 0;
    for (const sim of this.pods.values()) {
      if (sim.server === server && sim.override === undefined) {
        sim.counters.setLoad(load, now);
        n += 1;
      }
    }
    log(
      `server ${server}: ${load.requestsPerSecond} requests/s at ${load.queueUsPerRequest} µs queue time (${n} pods now)`,
    );
    return n;
  }

  setPodLoad(name: string, load: Load | undefined): boolean {
    const sim = this.pods.get(name);
    if (sim === undefined) return false;
    sim.override = load;
    sim.counters.setLoad(load ?? this.serverLoads.get(sim.server) ?? IDLE, Date.now());
    log(
      `pod ${name}: ${load === undefined ? "its server's load" : `${load.requestsPerSecond} requests/s at ${load.queueUsPerRequest} µs`}`,
    );
    return true;
  }

  reset(name: string): boolean {
    const sim = this.pods.get(name);
    if (sim === undefined) return false;
    sim.counters.reset(Date.now());
    log(`pod ${name}: counters reset to 0 (a restarted Triton)`);
    return true;
  }

  close(): void {
    for (const [name, sim] of this.pods) this.drop(name, sim);
  }
}

/** The control API, on 127.0.0.1 only. */
function controlServer(sim: Simulator): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const reply = (status: number, body: unknown): void => {
        res.writeHead(status, { "content-type": "application/json" }).end(`${JSON.stringify(body)}\n`);
      };
      try {
        const url = (req.url ?? "").split("?")[0];
        const body = (): Load => parseLoad(JSON.parse(Buffer.concat(chunks).toString("utf8") || "null"));
        let m: RegExpExecArray | null;
        if (req.method === "GET" && url === "/pods") {
          return reply(
            200,
            [...sim.pods].map(([name, p]) => ({
              name,
              server: p.server,
              ip: p.ip,
              listening: p.listening,
              load: p.counters.currentLoad(),
            })),
          );
        }
        if (req.method === "PUT" && (m = /^\/servers\/([^/]+)\/load$/.exec(url)) !== null) {
          return reply(200, { pods: sim.setServerLoad(decodeURIComponent(m[1]), body()) });
        }
        if ((req.method === "PUT" || req.method === "DELETE") && (m = /^\/pods\/([^/]+)\/load$/.exec(url)) !== null) {
          const ok = sim.setPodLoad(decodeURIComponent(m[1]), req.method === "PUT" ? body() : undefined);
          return ok ? reply(200, {}) : reply(404, { error: `no pod ${m[1]} is served` });
        }
        if (req.method === "POST" && (m = /^\/pods\/([^/]+)\/reset$/.exec(url)) !== null) {
          return sim.reset(decodeURIComponent(m[1]))
            ? reply(200, {})
            : reply(404, { error: `no pod ${m[1]} is served` });
        }
        reply(404, { error: `${req.method} ${url}: not a control route` });
      } catch (e) {
        reply(400, { error: (e as Error).message });
      }
    });
  });
}

void runDaemon("sim-triton", USAGE, parseOptions, async (options, endpoint, signal) => {
  const sim = new Simulator(options, endpoint, signal);
  const control = controlServer(sim);
  await new Promise<void>((resolve, reject) => {
    control.once("error", (e) =>
      reject(new Error(`control API: cannot listen on 127.0.0.1:${options.controlPort}: ${e.message}`)),
    );
    control.listen(options.controlPort, "127.0.0.1", resolve);
  });
  return {
    banner:
      `simulated Triton metrics: pods ${options.selector} in ${options.namespace} from ${endpoint.server.origin}, ` +
      `/metrics on each pod's address :${options.metricsPort}; control API on 127.0.0.1:${options.controlPort}`,
    intervalMs: options.intervalMs,
    tick: () => sim.tick(),
    close: () => {
      sim.close();
      control.closeAllConnections();
      control.close();
    },
  };
}).then((code) => {
  process.exitCode = code;
});
