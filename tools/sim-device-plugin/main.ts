/**
 * Simulated NVIDIA device plugin for the local KWOK cluster (tools/cluster-up.sh): no GPUs, no kubelet. It
 * polls the nodes, follows NVIDIA config-manager's rules for the `nvidia.com/device-plugin.config` label, and
 * writes what the device plugin would advertise into each node's status. See README.md next to this file.
 *
 *   node --import tsx tools/sim-device-plugin/main.ts --kubeconfig "$KUBECONFIG"
 */
import { parseArgs } from "node:util";
import type { Endpoint } from "../kube-client";
import { ApiError, intervalFlag, kubeconfigFlag, log, request, runDaemon, UsageError } from "../kube-client";
import type { Action, MigStrategy, NodeState } from "./advertise";
import {
  advertise,
  APPLIED_CONFIG_ANNOTATION,
  CONFIG_MANAGER_ERROR_ANNOTATION,
  DEVICE_PLUGIN_CONFIG_LABEL,
  DEVICE_PLUGIN_DEPLOY_LABEL,
  devicePluginDeployed,
  formatResources,
  GPU_MODEL_ANNOTATION,
  hardwareFingerprint,
  MIG_STRATEGIES,
  observe,
  parseHardware,
  PLUGIN_ERROR_ANNOTATION,
  statusPatch,
} from "./advertise";

const USAGE = `usage: sim-device-plugin [--kubeconfig PATH] [--namespace NS] [--configmap NAME]
                         [--default-config KEY] [--interval SECONDS] [--mig-strategy none|single|mixed]
  --kubeconfig      kubeconfig of a loopback API server (default: $KUBECONFIG)
  --namespace       namespace of the device-plugin ConfigMap (default: gpu-operator)
  --configmap       name of the device-plugin ConfigMap (default: gpushare-device-plugin-configs)
  --default-config  key used when a node has no ${DEVICE_PLUGIN_CONFIG_LABEL} label (default: default)
  --interval        seconds between two polls of the API server (default: 1)
  --mig-strategy    the device plugin's --mig-strategy (MIG_STRATEGY), which overrides the config's
                    flags.migStrategy (default: unset, the config decides)`;

interface Options {
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly configMap: string;
  readonly defaultConfig: string;
  readonly intervalMs: number;
  readonly migStrategy?: MigStrategy;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: "string" },
      namespace: { type: "string", default: "gpu-operator" },
      configmap: { type: "string", default: "gpushare-device-plugin-configs" },
      "default-config": { type: "string", default: "default" },
      interval: { type: "string", default: "1" },
      "mig-strategy": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) return undefined;
  const kubeconfig = kubeconfigFlag(values.kubeconfig);
  const intervalMs = intervalFlag(values.interval);
  const migStrategy = values["mig-strategy"];
  if (migStrategy !== undefined && !MIG_STRATEGIES.includes(migStrategy as MigStrategy)) {
    throw new UsageError(`--mig-strategy: "${migStrategy}" is not one of ${MIG_STRATEGIES.join(", ")}`);
  }
  if (values["default-config"] === "") throw new UsageError("--default-config must not be empty");
  return {
    kubeconfig,
    namespace: values.namespace,
    configMap: values.configmap,
    defaultConfig: values["default-config"],
    intervalMs,
    migStrategy: migStrategy as MigStrategy | undefined,
  };
}

interface Node {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  status?: { capacity?: Record<string, string>; allocatable?: Record<string, string> };
}

// ---------------------------------------------------------------------------------------------------------------
// The loop

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

  private async configs(): Promise<Map<string, string> | undefined> {
    const { namespace, configMap } = this.options;
    try {
      const cm = (await this.api("GET", `/api/v1/namespaces/${namespace}/configmaps/${configMap}`)) as {
        data?: Record<string, string>;
      };
      return new Map(Object.entries(cm.data ?? {}));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  async tick(): Promise<void> {
    const list = (await this.api("GET", "/api/v1/nodes")) as { items: Node[] };
    const nodes = list.items.filter((n) => n.metadata.annotations?.[GPU_MODEL_ANNOTATION] !== undefined);
    const configs = nodes.length === 0 ? undefined : await this.configs();
    for (const name of this.states.keys()) {
      if (!nodes.some((n) => n.metadata.name === name)) this.states.delete(name);
    }
    for (const node of nodes) {
      const annotations = node.metadata.annotations ?? {};
      const label = node.metadata.labels?.[DEVICE_PLUGIN_CONFIG_LABEL] ?? "";
      const step = observe(
        this.states.get(node.metadata.name),
        {
          label,
          hardware: hardwareFingerprint(annotations),
          configs,
          now: Date.now(),
          deployed: devicePluginDeployed(node.metadata.labels ?? {}),
        },
        this.options.defaultConfig,
      );
      try {
        await this.act(node, label, step.action);
        // Only a finished action counts: a failed patch is tried again at the next poll.
        this.states.set(node.metadata.name, step.state);
      } catch (e) {
        if (this.signal.aborted) return;
        log(`node ${node.metadata.name}: error: ${(e as Error).message}`);
      }
    }
  }

  private async act(node: Node, label: string, action: Action): Promise<void> {
    const name = node.metadata.name;
    const on =
      label === ""
        ? `node ${name}: label ${DEVICE_PLUGIN_CONFIG_LABEL} not set (config ${this.options.defaultConfig})`
        : `node ${name}: label ${DEVICE_PLUGIN_CONFIG_LABEL}=${label}`;
    const source = `ConfigMap ${this.options.namespace}/${this.options.configMap}`;
    switch (action.kind) {
      case "none":
        return;
      case "undeployed":
        log(`node ${name}: label ${DEVICE_PLUGIN_DEPLOY_LABEL}=false: no device plugin runs here; advertising nothing`);
        await this.clearResources(node);
        await this.annotate(node, {
          [APPLIED_CONFIG_ANNOTATION]: null,
          [PLUGIN_ERROR_ANNOTATION]: null,
          [CONFIG_MANAGER_ERROR_ANNOTATION]: null,
        });
        return;
      case "skip":
        if (action.reason === "content-changed") {
          log(
            `${on} unchanged: Already configured. Skipping update (key ${action.config} of ${source} changed; ` +
              `the node keeps what it advertises)`,
          );
        } else {
          log(`${on}: Already configured. Skipping update`);
        }
        await this.annotate(node, { [CONFIG_MANAGER_ERROR_ANNOTATION]: null });
        return;
      case "missing": {
        const error = `specified config ${action.config} does not exist`;
        const plugin = action.pluginStarted ? "" : "; the device plugin has not started: advertising nothing";
        log(`${on}: ${error} (${source}); config-manager restarts in ${action.retryInMs / 1000} s${plugin}`);
        if (!action.pluginStarted) await this.clearResources(node);
        await this.annotate(node, { [CONFIG_MANAGER_ERROR_ANNOTATION]: error });
        return;
      }
      case "apply": {
        let result;
        try {
          result = advertise(action.content, parseHardware(node.metadata.annotations ?? {}), this.options.migStrategy);
        } catch (e) {
          result = { ok: false as const, error: `invalid simulated hardware: ${(e as Error).message}` };
        }
        const resources = result.ok ? result.resources : {};
        await this.api("PATCH", `/api/v1/nodes/${name}/status`, statusPatch(node.status ?? {}, resources));
        await this.annotate(node, {
          [APPLIED_CONFIG_ANNOTATION]: action.config,
          [PLUGIN_ERROR_ANNOTATION]: result.ok ? null : result.error,
          [CONFIG_MANAGER_ERROR_ANNOTATION]: null,
        });
        const restart = action.cause === "hardware" ? "simulated hardware changed, device plugin restarted: " : "";
        const what = result.ok
          ? `advertising ${formatResources(resources)}`
          : `device plugin fails: ${result.error}; advertising nothing`;
        log(`${on}: ${restart}${what}`);
        return;
      }
    }
  }

  /** Removes every `nvidia.com/*` resource from the node's status, if it has any. */
  private async clearResources(node: Node): Promise<void> {
    const patch = statusPatch(node.status ?? {}, {});
    if (Object.keys(patch.status.capacity).length + Object.keys(patch.status.allocatable).length === 0) return;
    await this.api("PATCH", `/api/v1/nodes/${node.metadata.name}/status`, patch);
  }

  /** Patches the node's annotations unless they already hold these values (`null` removes one). */
  private async annotate(node: Node, values: Record<string, string | null>): Promise<void> {
    const current = node.metadata.annotations ?? {};
    const changed = Object.entries(values).filter(([k, v]) => (current[k] ?? null) !== v);
    if (changed.length === 0) return;
    await this.api("PATCH", `/api/v1/nodes/${node.metadata.name}`, {
      metadata: { annotations: Object.fromEntries(changed) },
    });
  }
}

void runDaemon("sim-device-plugin", USAGE, parseOptions, (options, endpoint, signal) => {
  const sim = new Simulator(options, endpoint, signal);
  return {
    banner:
      `simulated device plugin: polling ${endpoint.server.origin} every ${options.intervalMs / 1000} s; configs from ` +
      `ConfigMap ${options.namespace}/${options.configMap}, default config ${options.defaultConfig}`,
    intervalMs: options.intervalMs,
    tick: () => sim.tick(),
  };
}).then((code) => {
  process.exitCode = code;
});
