import * as fs from "node:fs";
import type * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { MOCK_AUTONAME_SUFFIX, type RecordedResource } from "../../scripts/mock-runtime";
import { GpuInferencePlatform } from "../../stacks/platform";
import { PROJECT_DIR, reveal, runProgram, stackFileConfig } from "../helpers";

/**
 * Every Kubernetes object every stack of the project would create, validated against the Kubernetes OpenAPI
 * schema (kubernetes-models' generated validators) — the ladder's second rung. Objects of API groups the package
 * does not know (CustomResources: PodMonitor, NodeFeatureRule, ...) get the checks the API server applies to any
 * object: apiVersion, kind and metadata. The schema checks types, required fields, enums and quantities; like the
 * API server's non-strict decoding it does not reject unknown fields.
 *
 * The Kubernetes provider names an object without `metadata.name` after its resource (`<name>-<random suffix>`)
 * when it creates it. The shared mocks give such an object that name as an output only, so references to it
 * resolve but its own inputs have no metadata to check. `emulateAutoNaming` gives those objects the name before
 * they are registered, so that they are validated as the API server will see them.
 */

function emulateAutoNaming(args: pulumi.ResourceTransformationArgs): pulumi.ResourceTransformationResult | undefined {
  const props = args.props as Record<string, unknown>;
  if (!args.type.startsWith("kubernetes:") || typeof props.apiVersion !== "string") return undefined;
  const metadata = (props.metadata ?? {}) as Record<string, unknown>;
  if (metadata.name !== undefined || metadata.generateName !== undefined) return undefined;
  return {
    props: { ...props, metadata: { ...metadata, name: `${args.name}-${MOCK_AUTONAME_SUFFIX}` } },
    opts: args.opts,
  };
}

/** Every stack of the project: `Pulumi.<stack>.yaml` files next to `Pulumi.yaml`. */
const STACKS = fs
  .readdirSync(PROJECT_DIR)
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => s !== undefined)
  .sort();

type Obj = Record<string, unknown>;
interface Validatable {
  validate(): void;
}
type ModelConstructor = new (data: Obj) => Validatable;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** The kubernetes-models class of `apiVersion`/`kind`, or undefined when the package does not know it. */
async function modelFor(apiVersion: string, kind: string): Promise<ModelConstructor | undefined> {
  const slash = apiVersion.indexOf("/");
  // The core group (`v1`) lives at `kubernetes-models/v1`, every other group at `kubernetes-models/<group>/<version>`.
  const dir = slash < 0 ? apiVersion : `${apiVersion.slice(0, slash)}/${apiVersion.slice(slash + 1)}`;
  let module: Obj;
  try {
    module = await import(/* @vite-ignore */ `kubernetes-models/${dir}`);
  } catch {
    return undefined;
  }
  const ctor = module[kind];
  return typeof ctor === "function" ? (ctor as ModelConstructor) : undefined;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** Kinds whose names must be DNS labels (they become DNS names or path segments). */
const LABEL_NAMED_KINDS = new Set(["Namespace", "Service"]);

function keyProblems(where: string, key: string): string[] {
  const slash = key.lastIndexOf("/");
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  const problems: string[] = [];
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    problems.push(`${where}: key prefix "${prefix}" is not a DNS subdomain`);
  }
  if (name.length > 63 || !QUALIFIED_NAME.test(name)) problems.push(`${where}: key "${key}" is not a qualified name`);
  return problems;
}

/** What the API server checks of every object's type and metadata, schema or not. */
function objectMetaProblems(obj: Obj): string[] {
  const problems: string[] = [];
  if (typeof obj.apiVersion !== "string" || !/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/.test(obj.apiVersion)) {
    problems.push(`apiVersion ${JSON.stringify(obj.apiVersion)} is not <group>/<version>`);
  }
  if (typeof obj.kind !== "string" || !/^[A-Z][A-Za-z0-9]*$/.test(obj.kind)) {
    problems.push(`kind ${JSON.stringify(obj.kind)} is not a kind`);
  }
  const meta = obj.metadata;
  if (!isObj(meta)) return [...problems, "metadata is missing"];
  // Pulumi auto-names objects without a name at apply time; a given name must be valid.
  if (meta.name !== undefined) {
    const pattern = LABEL_NAMED_KINDS.has(String(obj.kind)) ? DNS_LABEL : DNS_SUBDOMAIN;
    const max = LABEL_NAMED_KINDS.has(String(obj.kind)) ? 63 : 253;
    if (typeof meta.name !== "string" || meta.name.length > max || !pattern.test(meta.name)) {
      problems.push(`metadata.name ${JSON.stringify(meta.name)} is not a valid ${String(obj.kind)} name`);
    }
  }
  if (meta.namespace !== undefined && (typeof meta.namespace !== "string" || !DNS_LABEL.test(meta.namespace))) {
    problems.push(`metadata.namespace ${JSON.stringify(meta.namespace)} is not a DNS label`);
  }
  for (const [field, checkValue] of [
    ["labels", true],
    ["annotations", false],
  ] as const) {
    const map = meta[field];
    if (map === undefined) continue;
    if (!isObj(map)) {
      problems.push(`metadata.${field} is not a map`);
      continue;
    }
    for (const [key, value] of Object.entries(map)) {
      problems.push(...keyProblems(`metadata.${field}`, key));
      if (typeof value !== "string")
        problems.push(`metadata.${field}.${key}: ${JSON.stringify(value)} is not a string`);
      else if (checkValue && (value.length > 63 || !LABEL_VALUE.test(value))) {
        problems.push(`metadata.${field}.${key}: "${value}" is not a label value`);
      }
    }
  }
  return problems;
}

function schemaProblems(model: ModelConstructor, obj: Obj): string[] {
  try {
    new model(obj).validate();
    return [];
  } catch (e) {
    return [e instanceof Error ? e.message : String(e)];
  }
}

/** The Kubernetes objects among the recorded resources (custom resources with an apiVersion and a kind). */
function kubernetesObjects(resources: readonly RecordedResource[]): RecordedResource[] {
  return resources.filter(
    (r) =>
      r.custom &&
      r.type.startsWith("kubernetes:") &&
      typeof r.inputs.apiVersion === "string" &&
      typeof r.inputs.kind === "string",
  );
}

describe("the project's stacks", () => {
  it("include dev, staging and prod", () => {
    expect(STACKS).toEqual(expect.arrayContaining(["dev", "prod", "staging"]));
  });
});

describe.each(STACKS)("every Kubernetes object of stack %s", (stack) => {
  let objects: RecordedResource[] = [];
  let all: RecordedResource[] = [];

  beforeAll(async () => {
    const config = stackFileConfig(stack);
    all = await runProgram(
      () => new GpuInferencePlatform("gpushare", { config }, { transformations: [emulateAutoNaming] }),
      stack,
    );
    objects = kubernetesObjects(all);
  });

  it("is there to validate: the model store and the Triton servers at least", () => {
    const kinds = new Set(objects.map((r) => `${String(r.inputs.apiVersion)}/${String(r.inputs.kind)}`));
    for (const kind of [
      "v1/Namespace",
      "v1/PersistentVolume",
      "v1/PersistentVolumeClaim",
      "apps/v1/Deployment",
      "v1/Service",
      "policy/v1/PodDisruptionBudget",
      "monitoring.coreos.com/v1/PodMonitor",
    ]) {
      expect(kinds, kind).toContain(kind);
    }
    // Only objects without an apiVersion/kind (Helm releases) are left out of the validation.
    const skipped = all.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !objects.includes(r));
    expect(skipped.map((r) => r.type).filter((t) => !t.startsWith("kubernetes:helm.sh/"))).toEqual([]);
  });

  it("matches the Kubernetes OpenAPI schema, or for custom resources the API server's metadata rules", async () => {
    const problems: string[] = [];
    let schemaValidated = 0;
    for (const r of objects) {
      // The API server sees a secret input's value, not Pulumi's wrapper around it.
      const obj = reveal(r.inputs) as Obj;
      const model = await modelFor(String(obj.apiVersion), String(obj.kind));
      const found = [...objectMetaProblems(obj), ...(model === undefined ? [] : schemaProblems(model, obj))];
      if (model !== undefined) schemaValidated++;
      else if (!isObj(obj.spec) && obj.data === undefined) found.push("a custom resource without spec or data");
      problems.push(...found.map((p) => `${r.type} ${r.name}: ${p}`));
    }
    expect(problems).toEqual([]);
    expect(schemaValidated).toBeGreaterThanOrEqual(8);
  });
});

describe("the validator", () => {
  const deploymentModel = async (): Promise<ModelConstructor> => {
    const model = await modelFor("apps/v1", "Deployment");
    if (model === undefined) throw new Error("kubernetes-models has no apps/v1 Deployment");
    return model;
  };
  const deployment = (): Obj => ({
    metadata: { name: "triton", namespace: "inference", labels: { app: "triton" } },
    spec: {
      selector: { matchLabels: { app: "triton" } },
      template: {
        metadata: { labels: { app: "triton" } },
        spec: { containers: [{ name: "triton", image: "nvcr.io/nvidia/tritonserver:24.08-py3" }] },
      },
    },
  });

  it("accepts a well-formed Deployment", async () => {
    expect(schemaProblems(await deploymentModel(), deployment())).toEqual([]);
  });

  it("fails when a Deployment is broken: a container without a name, a port as a string, a bad GPU quantity", async () => {
    const Deployment = await deploymentModel();
    const broken = deployment();
    const containers = [
      { image: "x", ports: [{ containerPort: "8000" }], resources: { limits: { "nvidia.com/gpu": "one" } } },
    ];
    (((broken.spec as Obj).template as Obj).spec as Obj).containers = containers;
    const [message] = schemaProblems(Deployment, broken);
    expect(message).toContain("data/spec/template/spec/containers/0 must have required property name");
    expect(() => new Deployment(broken).validate()).toThrow();
  });

  it("finds a broken object among the recorded ones, as the stack test would", async () => {
    expect(await modelFor("v1", "PersistentVolume")).toBeDefined();
    expect(await modelFor("autoscaling/v2", "HorizontalPodAutoscaler")).toBeDefined();
    expect(await modelFor("monitoring.coreos.com/v1", "PodMonitor")).toBeUndefined();
    const bad = { apiVersion: "apps/v1", kind: "Deployment", ...deployment(), metadata: { name: "Triton_A100" } };
    expect(objectMetaProblems(bad)).toEqual(['metadata.name "Triton_A100" is not a valid Deployment name']);
    const badLabel = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "x", labels: { "gpushare.io/pool": "a 100" } },
    };
    expect(objectMetaProblems(badLabel)).toEqual(['metadata.labels.gpushare.io/pool: "a 100" is not a label value']);
  });
});
