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
  /** Outputs the program asked to be stored as secrets (`additionalSecretOutputs`). */
  readonly additionalSecretOutputs: readonly string[];
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
  getAdditionalsecretoutputsList(): string[];
}

type Callback = (err: unknown, response: { getUrn(): string } | undefined) => void;
interface PatchableMonitor {
  registerResource(req: RegisterResourceRequest, callback: Callback): unknown;
}

/**
 * The suffix the mock Kubernetes provider appends when it names an object without `metadata.name` after its
 * resource, as the real one appends a random one.
 */
export const MOCK_AUTONAME_SUFFIX = "5f7c2a1d";

/** A PEM block of the mock tls provider, named after the resource that made it. */
export function mockPem(kind: string, name: string): string {
  return `-----BEGIN ${kind}-----\nmock-${name}\n-----END ${kind}-----\n`;
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
    case "tls:index/privateKey:PrivateKey":
      return { privateKeyPem: mockPem("PRIVATE KEY", name), publicKeyPem: mockPem("PUBLIC KEY", name) };
    case "tls:index/selfSignedCert:SelfSignedCert":
    case "tls:index/locallySignedCert:LocallySignedCert":
      return { certPem: mockPem("CERTIFICATE", name) };
    case "tls:index/certRequest:CertRequest":
      return { certRequestPem: mockPem("CERTIFICATE REQUEST", name) };
    case "kubernetes:core/v1:Service":
      return { ...autoNamed(type, name, inputs), status: { loadBalancer: { ingress: [{ ip: "192.0.2.30" }] } } };
    default:
      return autoNamed(type, name, inputs);
  }
}

/** The name the Kubernetes provider gives an object the program does not name: `<resource name>-<suffix>`. */
function autoNamed(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const metadata = inputs.metadata as Record<string, unknown> | undefined;
  if (!type.startsWith("kubernetes:") || type.startsWith("kubernetes:helm.sh/") || metadata?.name !== undefined) {
    return {};
  }
  return { metadata: { ...metadata, name: `${name}-${MOCK_AUTONAME_SUFFIX}` } };
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
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
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
