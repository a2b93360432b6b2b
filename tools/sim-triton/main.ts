/**
 * Simulated Triton metrics for the local KWOK cluster (tools/cluster-up.sh): KWOK pods run no containers, so this
 * program serves each Triton pod's `/metrics` on the pod's own address and Triton's metrics port, with counters
 * whose load a test sets through a control API, directly or as requests offered to a server that the pods share
 * out over their GPUs (contention.ts). Pod addresses must be loopback (KWOK's pod CIDR is 127.x in the
 * local cluster); any other address is refused. See README.md next to this file.
 *
 *   node --import tsx tools/sim-triton/main.ts --kubeconfig "$KUBECONFIG" --control-port 20290
 */
import * as http from "node:http";
import { parseArgs } from "node:util";
import type { Endpoint } from "../kube-client";
import { intervalFlag, kubeconfigFlag, log, request, runDaemon, UsageError } from "../kube-client";
import type { SharingCurve } from "../../gpu/sharing-curve";
import type { DefaultSharing, ResolvedLoad, ServerSettings } from "./contention";
import { curveFor, DEFAULT_SHARING, devicesOf, resolveAll } from "./contention";
import type { Control } from "./control";
import { controlServer } from "./control";
import type { Load } from "./metrics";
import { IDLE, isLoopbackIPv4, modelsOf, TritonCounters } from "./metrics";

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
  spec: { nodeName?: string; containers: { command?: string[]; args?: string[] }[] };
  status?: { phase?: string; podIP?: string };
}

interface Node {
  metadata: { name: string; annotations?: Record<string, string> };
}

/** What the simulation knows of one pod: its counters and the listener on its address. */
interface SimPod {
  readonly uid: string;
  readonly ip: string;
  readonly server: string;
  /** The node it runs on (`spec.nodeName`), which decides the GPU it shares. */
  readonly node: string;
  readonly counters: TritonCounters;
  readonly listener: http.Server;
  listening: boolean;
  /** A load set for this pod alone; otherwise its server's. */
  override?: Load;
  /** Its load as last resolved, and where from. */
  resolved?: ResolvedLoad;
}

const SERVER_LABEL = "app.kubernetes.io/instance";

class Simulator implements Control {
  private readonly served = new Map<string, SimPod>();
  private readonly settings = new Map<string, ServerSettings>();
  /** Physical GPUs per node, from the last poll. */
  private devices = new Map<string, number>();

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
    const nodes = (await request(this.endpoint, this.signal, "GET", "/api/v1/nodes")) as { items: Node[] };
    this.devices = new Map(nodes.items.map((n) => [n.metadata.name, devicesOf(n.metadata.annotations)]));
    const seen = new Set<string>();
    for (const pod of list.items) {
      const ip = pod.status?.podIP ?? "";
      if (pod.status?.phase !== "Running" || ip === "" || pod.metadata.deletionTimestamp !== undefined) continue;
      seen.add(pod.metadata.name);
      const known = this.served.get(pod.metadata.name);
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
    for (const [name, sim] of this.served) if (!seen.has(name)) this.drop(name, sim);
    this.apply();
  }

  /** Every pod's load from what is set and, for servers offered requests, from the model over today's pods. */
  private apply(): void {
    const now = Date.now();
    const pods = [...this.served].map(([name, p]) => ({ name, server: p.server, node: p.node, override: p.override }));
    const resolved = resolveAll(pods, this.settings, (node) => this.devices.get(node) ?? 1);
    for (const [name, sim] of this.served) {
      sim.resolved = resolved.get(name);
      sim.counters.setLoad(sim.resolved?.load ?? IDLE, now);
    }
  }

  private add(pod: Pod, ip: string): void {
    const now = Date.now();
    const args = pod.spec.containers.flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])]);
    const server = pod.metadata.labels?.[SERVER_LABEL] ?? "";
    const counters = new TritonCounters(modelsOf(args), now);
    counters.setLoad(this.settings.get(server)?.load ?? IDLE, now);
    const listener = http.createServer((req, res) => {
      if (req.method === "GET" && (req.url ?? "").split("?")[0] === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
        res.end(counters.render(Date.now()));
        return;
      }
      res.writeHead(404).end();
    });
    const node = pod.spec.nodeName ?? "";
    const sim: SimPod = { uid: pod.metadata.uid, ip, server, node, counters, listener, listening: false };
    this.served.set(pod.metadata.name, sim);
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
    this.served.delete(name);
    log(`pod ${name}: gone, /metrics on ${sim.ip} closed`);
  }

  pods(): unknown {
    return [...this.served].map(([name, p]) => ({
      name,
      server: p.server,
      node: p.node,
      ip: p.ip,
      listening: p.listening,
      from: p.resolved?.from ?? "idle",
      load: p.counters.currentLoad(),
      ...(p.resolved?.modelled === undefined
        ? {}
        : {
            offeredRequestsPerSecond: p.resolved.modelled.offeredRequestsPerSecond,
            podsOnDevice: p.resolved.modelled.podsOnDevice,
            utilisation: p.resolved.modelled.utilisation,
          }),
    }));
  }

  servers(): unknown {
    return [...this.settings].map(([server, set]) => ({
      server,
      pods: this.podsOf(server),
      load: set.load,
      offeredRequestsPerSecond: set.offered,
      sharing: set.sharing ?? DEFAULT_SHARING,
      curve: curveFor(set.curve, set.sharing),
    }));
  }

  private podsOf(server: string): number {
    return [...this.served.values()].filter((p) => p.server === server).length;
  }

  private update(server: string, change: Partial<ServerSettings>): void {
    this.settings.set(server, { ...this.settings.get(server), ...change });
    this.apply();
  }

  setServerLoad(server: string, load: Load | undefined): number {
    this.update(server, { load });
    const n = [...this.served.values()].filter((p) => p.server === server && p.override === undefined).length;
    log(
      load === undefined
        ? `server ${server}: no load set, its pods follow the model (${n} pods now)`
        : `server ${server}: ${load.requestsPerSecond} requests/s at ${load.queueUsPerRequest} µs queue time (${n} pods now)`,
    );
    return n;
  }

  setPodLoad(name: string, load: Load | undefined): boolean {
    const sim = this.served.get(name);
    if (sim === undefined) return false;
    sim.override = load;
    this.apply();
    log(
      `pod ${name}: ${load === undefined ? "its server's load" : `${load.requestsPerSecond} requests/s at ${load.queueUsPerRequest} µs`}`,
    );
    return true;
  }

  reset(name: string): boolean {
    const sim = this.served.get(name);
    if (sim === undefined) return false;
    sim.counters.reset(Date.now());
    log(`pod ${name}: counters reset to 0 (a restarted Triton)`);
    return true;
  }

  setOffered(server: string, requestsPerSecond: number | undefined): number {
    this.update(server, { offered: requestsPerSecond });
    const n = this.podsOf(server);
    log(`server ${server}: ${requestsPerSecond ?? 0} requests/s offered, over ${n} pods now`);
    return n;
  }

  setCurve(server: string, curve: SharingCurve | undefined): void {
    this.update(server, { curve });
    log(
      `server ${server}: ${curve === undefined ? "the measured default curve" : `a ${curve.sharing} curve of ${curve.gpu}`}`,
    );
  }

  setSharing(server: string, sharing: DefaultSharing | undefined): void {
    this.update(server, { sharing });
    log(`server ${server}: default curve for ${sharing ?? DEFAULT_SHARING}`);
  }

  close(): void {
    for (const [name, sim] of this.served) this.drop(name, sim);
  }
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
