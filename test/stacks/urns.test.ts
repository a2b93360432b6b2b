import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import type { RecordedResource } from "../../scripts/mock-runtime";
import { GpuInferencePlatform, PLATFORM_NAME } from "../../stacks/platform";
import { PROJECT_DIR, runProgram, stackFileConfig } from "../helpers";

/**
 * Names are a contract. `pulumi up` matches resources to its state by URN (stack, project, the parents' types, the
 * resource's type and logical name); a URN that changes is a delete of the old resource and a create of a new one:
 * a new load-balancer address, new GPU nodes, an emptied model share. These golden lists hold every URN each
 * committed stack registers; a change fails here unless an alias keeps the old URN.
 */

const GOLDEN_DIR = path.join(__dirname, "urns");

const STACKS = fs
  .readdirSync(PROJECT_DIR)
  .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
  .filter((stack): stack is string => stack !== undefined)
  .sort();

function goldenFile(stack: string): string {
  return path.join(GOLDEN_DIR, `${stack}.json`);
}

function readGolden(stack: string): string[] {
  return JSON.parse(fs.readFileSync(goldenFile(stack), "utf8")) as string[];
}

interface UrnDrift {
  /** Golden URNs that no resource has, nor keeps as an alias: `pulumi up` would delete them. */
  readonly lost: readonly string[];
  /** URNs of resources that the golden list does not hold, under their own URN nor under an alias. */
  readonly unlisted: readonly string[];
}

function urnDrift(golden: readonly string[], resources: readonly RecordedResource[]): UrnDrift {
  const listed = new Set(golden);
  const answered = new Set(resources.flatMap((r) => [r.engineUrn, ...r.aliases]));
  return {
    lost: golden.filter((urn) => !answered.has(urn)),
    unlisted: resources
      .filter((r) => !listed.has(r.engineUrn) && !r.aliases.some((a) => listed.has(a)))
      .map((r) => r.engineUrn)
      .sort(),
  };
}

function lostMessage(stack: string, lost: readonly string[]): string {
  return [
    `stack ${stack}: ${lost.length} resource(s) of the golden list would get a new URN, which \`pulumi up\` carries out as a delete and a create (a new load balancer and address, new GPU nodes, a new model share):`,
    ...lost.map((urn) => `  ${urn}`),
    "Keep the old type and name, or make the renamed resource answer to its old URN with an alias, e.g.",
    "  new k8s.core.v1.Service(`${name}-svc`, args, { parent: this, aliases: [{ name: `${name}-service` }] })",
    "  super(NEW_TYPE, name, args, { ...opts, aliases: [{ type: OLD_TYPE }] })",
    "(children whose names start with their component's name follow an alias of the component). If the resource is",
    `meant to go, remove its line from ${path.relative(PROJECT_DIR, goldenFile(stack))}.`,
  ].join("\n");
}

function unlistedMessage(stack: string, unlisted: readonly string[]): string {
  return [
    `stack ${stack}: ${unlisted.length} resource(s) are not in the golden list. If they are new, add these lines to ${path.relative(PROJECT_DIR, goldenFile(stack))} (sorted);`,
    "if they are renamed, give each an alias to its old URN instead (see the lost URNs):",
    ...unlisted.map((urn) => `  ${JSON.stringify(urn)},`),
  ].join("\n");
}

describe("the URNs of every committed stack", () => {
  it("has a golden list for every stack file, sorted, without duplicates", () => {
    expect(STACKS).toEqual(["dev", "local", "prod", "staging"]);
    for (const stack of STACKS) {
      expect(fs.existsSync(goldenFile(stack)), `add ${goldenFile(stack)} for Pulumi.${stack}.yaml`).toBe(true);
      const golden = readGolden(stack);
      expect(golden).toEqual([...new Set(golden)].sort());
    }
  });

  it.each(STACKS)("keeps every URN of stack %s", async (stack) => {
    const config = stackFileConfig(stack);
    const resources = await runProgram(() => new GpuInferencePlatform(PLATFORM_NAME, { config }), stack);
    const drift = urnDrift(readGolden(stack), resources);
    expect(drift.lost, lostMessage(stack, drift.lost)).toEqual([]);
    expect(drift.unlisted, unlistedMessage(stack, drift.unlisted)).toEqual([]);
  });

  it("names the Triton Services, node groups and model share the way live stacks know them", () => {
    expect(readGolden("prod")).toEqual(
      expect.arrayContaining([
        "urn:pulumi:prod::gpushare::gpushare:stack:GpuInferencePlatform$gpushare:k8s:TritonServer$kubernetes:core/v1:Service::gpushare-triton-mig-service",
        "urn:pulumi:prod::gpushare::gpushare:stack:GpuInferencePlatform$gpushare:cloud:OpenStackCluster$openstack:containerinfra/nodeGroup:NodeGroup::gpushare-cluster-a100",
        "urn:pulumi:prod::gpushare::gpushare:stack:GpuInferencePlatform$gpushare:cloud:ModelShare$openstack:sharedfilesystem/share:Share::gpushare-models-share",
      ]),
    );
  });
});

class Leaf extends pulumi.CustomResource {
  constructor(name: string, opts: pulumi.CustomResourceOptions) {
    super("gpushare:test:Leaf", name, {}, opts);
  }
}

/** A component with one child, as a stand-in for the platform: the rules above on a program small enough to read. */
class Thing extends pulumi.ComponentResource {
  constructor(name: string, child: string, opts: pulumi.ComponentResourceOptions = {}, childAliases?: pulumi.Alias[]) {
    super("gpushare:test:Thing", name, {}, opts);
    new Leaf(child, { parent: this, aliases: childAliases ?? [] });
    this.registerOutputs({});
  }
}

async function urnsOf(program: () => void): Promise<RecordedResource[]> {
  return runProgram(program, "golden");
}

describe("the golden-list check", () => {
  const golden = [
    "urn:pulumi:golden::gpushare::gpushare:test:Thing$gpushare:test:Leaf::thing-leaf",
    "urn:pulumi:golden::gpushare::gpushare:test:Thing::thing",
  ];

  it("records URNs with the whole parent chain, as the engine forms them", async () => {
    const resources = await urnsOf(() => {
      const outer = new Thing("outer", "outer-leaf");
      new Thing("inner", "inner-leaf", { parent: outer });
    });
    expect(resources.map((r) => r.engineUrn).sort()).toEqual([
      "urn:pulumi:golden::gpushare::gpushare:test:Thing$gpushare:test:Leaf::outer-leaf",
      "urn:pulumi:golden::gpushare::gpushare:test:Thing$gpushare:test:Thing$gpushare:test:Leaf::inner-leaf",
      "urn:pulumi:golden::gpushare::gpushare:test:Thing$gpushare:test:Thing::inner",
      "urn:pulumi:golden::gpushare::gpushare:test:Thing::outer",
    ]);
  });

  it("passes an unchanged program", async () => {
    const resources = await urnsOf(() => new Thing("thing", "thing-leaf"));
    expect(urnDrift(golden, resources)).toEqual({ lost: [], unlisted: [] });
  });

  it("fails when a child is renamed, naming the old URN and the new one", async () => {
    const resources = await urnsOf(() => new Thing("thing", "thing-leaf2"));
    const drift = urnDrift(golden, resources);
    expect(drift).toEqual({
      lost: ["urn:pulumi:golden::gpushare::gpushare:test:Thing$gpushare:test:Leaf::thing-leaf"],
      unlisted: ["urn:pulumi:golden::gpushare::gpushare:test:Thing$gpushare:test:Leaf::thing-leaf2"],
    });
    expect(lostMessage("golden", drift.lost)).toContain("aliases: [{ name:");
  });

  it("passes a renamed child that keeps its old URN as an alias", async () => {
    const resources = await urnsOf(() => new Thing("thing", "thing-leaf2", {}, [{ name: "thing-leaf" }]));
    expect(urnDrift(golden, resources)).toEqual({ lost: [], unlisted: [] });
  });

  it("passes a renamed component whose alias its children follow", async () => {
    const resources = await urnsOf(() => new Thing("renamed", "renamed-leaf", { aliases: [{ name: "thing" }] }));
    expect(urnDrift(golden, resources)).toEqual({ lost: [], unlisted: [] });
  });

  it("fails when a component's type changes without an alias", async () => {
    class Other extends pulumi.ComponentResource {
      constructor(name: string) {
        super("gpushare:test:Other", name, {}, {});
        new Leaf(`${name}-leaf`, { parent: this });
      }
    }
    const resources = await urnsOf(() => new Other("thing"));
    expect(urnDrift(golden, resources).lost).toEqual(golden);
  });

  it("passes a new type that keeps the old one as an alias", async () => {
    class Other extends pulumi.ComponentResource {
      constructor(name: string) {
        super("gpushare:test:Other", name, {}, { aliases: [{ type: "gpushare:test:Thing" }] });
        new Leaf(`${name}-leaf`, { parent: this });
      }
    }
    const resources = await urnsOf(() => new Other("thing"));
    expect(urnDrift(golden, resources)).toEqual({ lost: [], unlisted: [] });
  });
});
