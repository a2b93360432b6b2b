import * as pulumi from "@pulumi/pulumi";

/** A resource the program registered, as the mock monitor saw it. */
export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  /** The URN of the parent resource, or `undefined` for the stack itself. */
  readonly parent: string | undefined;
  /** The URN the mock monitor gave it, which keeps only the parent's own type (`Parent$Type`). */
  readonly urn: string;
  /**
   * The URN the Pulumi engine gives it: the parent's whole type chain (`Platform$Component$Type`), the root stack
   * left out. What `pulumi up` matches against state, so what a rename changes.
   */
  readonly engineUrn: string;
  /**
   * Engine URNs this resource also answers to: its own `aliases`, and those it inherits from its parents' aliases
   * (the engine's rule: a child named `<parent name>-x` follows its parent's renamed name).
   */
  readonly aliases: readonly string[];
  readonly inputs: Record<string, unknown>;
  readonly custom: boolean;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly ignoreChanges: readonly string[];
  readonly deleteBeforeReplace: boolean;
  /** `customTimeouts` as the engine receives them (`"20m"`); an empty string where none is set. */
  readonly customTimeouts: { readonly create: string; readonly update: string; readonly delete: string };
  readonly replaceOnChanges: readonly string[];
  readonly dependencies: readonly string[];
  readonly provider: string | undefined;
  /** Outputs the program asked to be stored as secrets (`additionalSecretOutputs`). */
  readonly additionalSecretOutputs: readonly string[];
}

interface AliasSpec {
  getName(): string;
  getType(): string;
  getStack(): string;
  getProject(): string;
  getParenturn(): string;
  getNoparent(): boolean;
}

interface Alias {
  hasUrn(): boolean;
  getUrn(): string;
  getSpec(): AliasSpec | undefined;
}

interface RegisterResourceRequest {
  getAliasesList(): Alias[];
  getDeletebeforereplace(): boolean;
  getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
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

/** The address the mock cloud gives every Service of `type: LoadBalancer`. */
export const MOCK_LOAD_BALANCER_IP = "192.0.2.30";

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
      // Only a LoadBalancer Service gets an address from the cloud; the others' status stays empty, as in a cluster.
      return (inputs.spec as Record<string, unknown> | undefined)?.type === "LoadBalancer"
        ? { ...autoNamed(type, name, inputs), status: { loadBalancer: { ingress: [{ ip: MOCK_LOAD_BALANCER_IP }] } } }
        : { ...autoNamed(type, name, inputs), status: { loadBalancer: {} } };
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

/** The parts of a URN: `urn:pulumi:<stack>::<project>::<qualified type>::<name>`. */
function urnParts(urn: string): { stack: string; project: string; qualifiedType: string; name: string } {
  const [head, project, qualifiedType, ...name] = urn.split("::");
  return { stack: head.slice("urn:pulumi:".length), project, qualifiedType, name: name.join("::") };
}

function makeUrn(stack: string, project: string, parentType: string | undefined, type: string, name: string): string {
  return `urn:pulumi:${stack}::${project}::${parentType === undefined ? type : `${parentType}$${type}`}::${name}`;
}

/**
 * Runs Pulumi programs under the mock runtime and records every resource they register, in order, with
 * its parent and resource options (which `pulumi.runtime.Mocks` alone does not see).
 */
export class MockRuntime {
  readonly resources: RecordedResource[] = [];
  private stack = "";
  private project = "";
  private readonly byUrn = new Map<string, RecordedResource>();
  private readonly pendingInputs = new Map<string, Record<string, unknown>[]>();

  /** Installs the mocks for `stack`, with the given `gpushare:` config (values as the stack file holds them). */
  async install(stack: string, config: Record<string, unknown>, project = "gpushare"): Promise<void> {
    this.stack = stack;
    this.project = project;
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
          const parent = req.getParent() === "" ? undefined : this.byUrn.get(req.getParent());
          const engineUrn = makeUrn(
            this.stack,
            this.project,
            parent === undefined ? undefined : urnParts(parent.engineUrn).qualifiedType,
            req.getType(),
            req.getName(),
          );
          const record: RecordedResource = {
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent() === "" ? undefined : req.getParent(),
            urn: response.getUrn(),
            engineUrn,
            aliases: this.aliasesOf(req, parent),
            inputs,
            custom: req.getCustom(),
            protect: req.getProtect(),
            retainOnDelete: req.getRetainondelete(),
            ignoreChanges: req.getIgnorechangesList(),
            deleteBeforeReplace: req.getDeletebeforereplace(),
            customTimeouts: {
              create: req.getCustomtimeouts()?.getCreate() ?? "",
              update: req.getCustomtimeouts()?.getUpdate() ?? "",
              delete: req.getCustomtimeouts()?.getDelete() ?? "",
            },
            replaceOnChanges: req.getReplaceonchangesList(),
            dependencies: req.getDependenciesList(),
            provider: req.getProvider() === "" ? undefined : req.getProvider(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
          };
          this.resources.push(record);
          this.byUrn.set(record.urn, record);
        }
        callback(err, response);
      });
  }

  /** The engine URN of a parent given by the URN the program holds (the mock's, or a URN of an alias). */
  private parentType(urn: string): string {
    const known = this.byUrn.get(urn);
    return urnParts(known === undefined ? urn : known.engineUrn).qualifiedType;
  }

  /**
   * The engine URNs a resource answers to besides its own, as the engine derives them: each alias spec's blanks
   * filled from the resource, then every URN of the parent's aliases with this resource (and each of its aliases)
   * under it, `<parent name>` at the start of the child's name replaced by the aliased parent's name.
   */
  private aliasesOf(req: RegisterResourceRequest, parent: RecordedResource | undefined): string[] {
    const own: { urn: string; type: string; name: string }[] = [];
    for (const alias of req.getAliasesList()) {
      const spec = alias.getSpec();
      if (alias.hasUrn() || spec === undefined) {
        const parts = urnParts(alias.getUrn());
        own.push({ urn: alias.getUrn(), type: parts.qualifiedType.split("$").pop() ?? "", name: parts.name });
        continue;
      }
      const type = spec.getType() || req.getType();
      const name = spec.getName() || req.getName();
      const parentUrn = spec.getNoparent() ? "" : spec.getParenturn() || req.getParent();
      own.push({
        urn: makeUrn(
          spec.getStack() || this.stack,
          spec.getProject() || this.project,
          parentUrn === "" ? undefined : this.parentType(parentUrn),
          type,
          name,
        ),
        type,
        name,
      });
    }
    const all = new Set(own.map((a) => a.urn));
    for (const parentAlias of parent?.aliases ?? []) {
      const aliased = urnParts(parentAlias);
      for (const child of [{ type: req.getType(), name: req.getName() }, ...own]) {
        const name = child.name.startsWith(parent?.name ?? "")
          ? aliased.name + child.name.slice(parent?.name.length ?? 0)
          : child.name;
        all.add(makeUrn(aliased.stack, aliased.project, aliased.qualifiedType, child.type, name));
      }
    }
    return [...all];
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
