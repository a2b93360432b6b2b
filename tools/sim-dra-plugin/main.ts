/**
 * Simulated GPU kubelet plugin of NVIDIA's DRA driver for the local KWOK cluster (tools/cluster-up.sh): no GPUs, no
 * kubelet. It polls the nodes and publishes, for each simulated GPU node its node selector picks, the ResourceSlice
 * the real plugin would publish, so that the real scheduler allocates ResourceClaims against it. See README.md next
 * to this file.
 *
 *   node --import tsx tools/sim-dra-plugin/main.ts --kubeconfig "$KUBECONFIG"
 */
import { parseArgs } from "node:util";
import type { Endpoint } from "../kube-client";
import { intervalFlag, kubeconfigFlag, log, request, runDaemon, UsageError } from "../kube-client";
import { GPU_MODEL_ANNOTATION, hardwareFingerprint, parseHardware } from "../sim-device-plugin/advertise";
import type { ConsumableShares, Device, ExistingSlice, NodeSelector, SlicePlan } from "./slices";
import {
  DEFAULT_NODE_SELECTOR,
  DRIVER_NAME,
  nodeDevices,
  parseConsumableShares,
  parseNodeSelector,
  planSlice,
  sliceGenerateName,
} from "./slices";

const USAGE = `usage: sim-dra-plugin [--kubeconfig PATH] [--node-selector KEY=VALUE] [--consumable-shares disabled|N]
                      [--interval SECONDS]
  --kubeconfig         kubeconfig of a loopback API server (default: $KUBECONFIG)
  --node-selector      the nodes the kubelet plugin runs on, one label (default: ${DEFAULT_NODE_SELECTOR})
  --consumable-shares  the plugin's --consumable-shares: every device gets N shares (default: disabled)
  --interval           seconds between two polls of the API server (default: 1)`;

const SLICES_PATH = "/apis/resource.k8s.io/v1/resourceslices";

interface Options {
  readonly kubeconfig: string;
  readonly nodeSelector: NodeSelector;
  readonly consumableShares: ConsumableShares;
  readonly intervalMs: number;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: "string" },
      "node-selector": { type: "string", default: DEFAULT_NODE_SELECTOR },
      "consumable-shares": { type: "string", default: "disabled" },
      interval: { type: "string", default: "1" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) return undefined;
  const kubeconfig = kubeconfigFlag(values.kubeconfig);
  const intervalMs = intervalFlag(values.interval);
  try {
    return {
      kubeconfig,
      nodeSelector: parseNodeSelector(values["node-selector"]),
      consumableShares: parseConsumableShares(values["consumable-shares"]),
      intervalMs,
    };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

interface Node {
  metadata: { name: string; uid: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

interface ResourceSlice {
  metadata: { name: string; ownerReferences?: { uid: string; controller?: boolean }[] };
  spec: ExistingSlice["spec"];
}

/** What the simulated plugin remembers about a node it runs on. */
interface NodeState {
  /** hardwareFingerprint when the plugin (re)started. */
  readonly hardware: string;
  /** Why the plugin fails on this node, if it does; logged once. */
  readonly error?: string;
}

function deviceList(devices: readonly Device[]): string {
  return devices.length === 0 ? "no devices" : devices.map((d) => d.name).join(" ");
}

class Simulator {
  private readonly states = new Map<string, NodeState>();

  constructor(
    private readonly options: Options,
    private readonly endpoint: Endpoint,
    private readonly signal: AbortSignal,
  ) {}

  private api(method: string, urlPath: string, body?: unknown): Promise<unknown> {
    return request(this.endpoint, this.signal, method, urlPath, body);
  }

  private handles(node: Node): boolean {
    const { key, value } = this.options.nodeSelector;
    return node.metadata.annotations?.[GPU_MODEL_ANNOTATION] !== undefined && node.metadata.labels?.[key] === value;
  }

  async tick(): Promise<void> {
    const nodes = ((await this.api("GET", "/api/v1/nodes")) as { items: Node[] }).items;
    const slices = ((await this.api("GET", SLICES_PATH)) as { items: ResourceSlice[] }).items.filter(
      (s) => s.spec.driver === DRIVER_NAME,
    );
    const handled = nodes.filter((n) => this.handles(n));
    for (const node of handled) {
      try {
        await this.sync(
          node,
          slices.filter((s) => s.spec.pool.name === node.metadata.name),
        );
      } catch (e) {
        if (this.signal.aborted) return;
        log(`node ${node.metadata.name}: error: ${(e as Error).message}`);
      }
    }

    // The plugin does not run on the other nodes: their slices go (the kubelet removes those of a plugin gone).
    const names = new Set(handled.map((n) => n.metadata.name));
    for (const name of this.states.keys()) if (!names.has(name)) this.states.delete(name);
    for (const slice of slices.filter((s) => !names.has(s.spec.pool.name))) {
      const node = nodes.find((n) => n.metadata.name === slice.spec.pool.name);
      const why =
        node === undefined
          ? "node gone"
          : `not selected by ${this.options.nodeSelector.key}=${this.options.nodeSelector.value}` +
            (node.metadata.annotations?.[GPU_MODEL_ANNOTATION] === undefined ? ` or ${GPU_MODEL_ANNOTATION}` : "");
      try {
        await this.api("DELETE", `${SLICES_PATH}/${slice.metadata.name}`);
        log(`node ${slice.spec.pool.name}: ${why}: deleted ResourceSlice ${slice.metadata.name}`);
      } catch (e) {
        if (this.signal.aborted) return;
        log(`node ${slice.spec.pool.name}: error: ${(e as Error).message}`);
      }
    }
  }

  private async sync(node: Node, slices: ResourceSlice[]): Promise<void> {
    const name = node.metadata.name;
    const annotations = node.metadata.annotations ?? {};
    const hardware = hardwareFingerprint(annotations);
    const previous = this.states.get(name);
    const restart =
      previous === undefined
        ? "kubelet plugin started: "
        : previous.hardware !== hardware
          ? "simulated hardware changed, kubelet plugin restarted: "
          : "";

    let devices: Device[];
    try {
      devices = nodeDevices(name, parseHardware(annotations), this.options.consumableShares);
    } catch (e) {
      const error = (e as Error).message;
      // The real plugin fails to start: it publishes nothing, and the kubelet removes what was published before.
      for (const slice of slices) await this.api("DELETE", `${SLICES_PATH}/${slice.metadata.name}`);
      if (previous?.error !== error || restart !== "") {
        log(`node ${name}: ${restart}kubelet plugin fails: invalid simulated hardware: ${error}; publishing nothing`);
      }
      this.states.set(name, { hardware, error });
      return;
    }

    const existing: ExistingSlice[] = slices.map((s) => ({
      name: s.metadata.name,
      spec: s.spec,
      ownerUid: s.metadata.ownerReferences?.find((o) => o.controller === true)?.uid,
    }));
    const plan = planSlice(name, node.metadata.uid, devices, existing);
    await this.apply(node, plan, restart, devices);
    this.states.set(name, { hardware });
  }

  private async apply(node: Node, plan: SlicePlan, restart: string, devices: readonly Device[]): Promise<void> {
    const name = node.metadata.name;
    for (const obsolete of plan.obsolete) {
      await this.api("DELETE", `${SLICES_PATH}/${obsolete}`);
      log(`node ${name}: deleted obsolete ResourceSlice ${obsolete}`);
    }
    switch (plan.kind) {
      case "none":
        if (restart !== "") {
          log(`node ${name}: ${restart}ResourceSlice ${plan.name} already publishes ${deviceList(devices)}`);
        }
        return;
      case "create": {
        const created = (await this.api("POST", SLICES_PATH, {
          apiVersion: "resource.k8s.io/v1",
          kind: "ResourceSlice",
          metadata: {
            generateName: sliceGenerateName(name),
            ownerReferences: [{ apiVersion: "v1", kind: "Node", name, uid: node.metadata.uid, controller: true }],
          },
          spec: plan.spec,
        })) as ResourceSlice;
        log(
          `node ${name}: ${restart}created ResourceSlice ${created.metadata.name} ` +
            `(pool generation ${plan.spec.pool.generation}): ${deviceList(devices)}`,
        );
        return;
      }
      case "update":
        await this.api("PATCH", `${SLICES_PATH}/${plan.name}`, { spec: plan.spec });
        log(
          `node ${name}: ${restart}updated ResourceSlice ${plan.name} ` +
            `(pool generation ${plan.spec.pool.generation}): ${deviceList(devices)}`,
        );
        return;
    }
  }
}

void runDaemon("sim-dra-plugin", USAGE, parseOptions, (options, endpoint, signal) => {
  const sim = new Simulator(options, endpoint, signal);
  const { key, value } = options.nodeSelector;
  return {
    banner:
      `simulated DRA kubelet plugin (${DRIVER_NAME}): polling ${endpoint.server.origin} every ` +
      `${options.intervalMs / 1000} s; nodes ${key}=${value} with ${GPU_MODEL_ANNOTATION}; consumable shares ` +
      `${options.consumableShares}`,
    intervalMs: options.intervalMs,
    tick: () => sim.tick(),
  };
}).then((code) => {
  process.exitCode = code;
});
