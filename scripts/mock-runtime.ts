import * as pulumi from "@pulumi/pulumi";

/** A resource the program registered, as the mock monitor saw it. */
export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  /** The URN of the parent resource, or `undefined` for the stack itself. */
  readonly parent: string | undefined;
  readonly urn: string;
  readonly inputs: Record<string, unknown>;
  readonly custom: boolean;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly ignoreChanges: readonly string[];
  readonly replaceOnChanges: readonly string[];
  readonly dependencies: readonly string[];
  readonly provider: string | undefined;
}

interface RegisterResourceRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getDependenciesList(): string[];
  getProvider(): string;
}

type Callback = (err: unknown, response: { getUrn(): string } | undefined) => void;
interface PatchableMonitor {
  registerResource(req: RegisterResourceRequest, callback: Callback): unknown;
}

/** Outputs a fake cloud returns for resource types whose outputs the program reads. */
function fakeOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "openstack:containerinfra/cluster:Cluster":
      return {
        kubeconfig: {
          raw_config: `apiVersion: v1\nkind: Config\nclusters:\n- name: ${name}\n  cluster:\n    server: https://192.0.2.10:6443\ncontexts:\n- name: ${name}\n  context: {cluster: ${name}, user: admin}\ncurrent-context: ${name}\nusers:\n- name: admin\n  user: {token: mock-token}\n`,
          host: "https://192.0.2.10:6443",
        },
        name: inputs.name ?? name,
      };
    case "openstack:sharedfilesystem/share:Share":
      return {
        exportLocations: [
          { path: `192.0.2.20:/shares/share-${name}`, preferred: "false" },
          { path: `192.0.2.21:/shares/share-${name}`, preferred: "true" },
        ],
      };
    case "random:index/randomPassword:RandomPassword":
      return { result: `mock-password-${name}` };
    case "kubernetes:core/v1:Service":
      return { status: { loadBalancer: { ingress: [{ ip: "192.0.2.30" }] } } };
    default:
      return {};
  }
}

/**
 * Runs Pulumi programs under the mock runtime and records every resource they register, in order, with
 * its parent and resource options (which `pulumi.runtime.Mocks` alone does not see).
 */
export class MockRuntime {
  readonly resources: RecordedResource[] = [];
  private readonly pendingInputs = new Map<string, Record<string, unknown>[]>();

  /** Installs the mocks for `stack`, with the given `gpushare:` config (values as the stack file holds them). */
  async install(stack: string, config: Record<string, unknown>, project = "gpushare"): Promise<void> {
    const all: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
      all[key.includes(":") ? key : `${project}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    }
    pulumi.runtime.setAllConfig(all);
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          const key = `${args.type}::${args.name}`;
          this.pendingInputs.set(key, [...(this.pendingInputs.get(key) ?? []), args.inputs]);
          return {
            id: args.id ?? `${args.name}-id`,
            state: { ...args.inputs, ...fakeOutputs(args.type, args.name, args.inputs) },
          };
        },
        call: (args) => {
          if (args.token === "openstack:identity/getAuthScope:getAuthScope") return { projectId: "mock-project" };
          return args.inputs;
        },
      },
      project,
      stack,
      true,
    );
    const monitor = pulumi.runtime.getMonitor() as unknown as PatchableMonitor;
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) =>
      original(req, (err, response) => {
        if (err === null && response !== undefined) {
          const key = `${req.getType()}::${req.getName()}`;
          const queue = this.pendingInputs.get(key) ?? [];
          const inputs = queue.shift() ?? {};
          this.resources.push({
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent() === "" ? undefined : req.getParent(),
            urn: response.getUrn(),
            inputs,
            custom: req.getCustom(),
            protect: req.getProtect(),
            retainOnDelete: req.getRetainondelete(),
            ignoreChanges: req.getIgnorechangesList(),
            replaceOnChanges: req.getReplaceonchangesList(),
            dependencies: req.getDependenciesList(),
            provider: req.getProvider() === "" ? undefined : req.getProvider(),
          });
        }
        callback(err, response);
      });
  }
}

/** Waits until every resource registration the program started has finished. */
export async function settle(runtime: MockRuntime): Promise<void> {
  let last = -1;
  let stableTicks = 0;
  while (stableTicks < 5) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (runtime.resources.length === last) stableTicks++;
    else {
      stableTicks = 0;
      last = runtime.resources.length;
    }
  }
}
