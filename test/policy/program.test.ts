import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { GUARDRAILS } from "../../policy/guardrails";
import type { PolicyResource } from "../../policy/lib/resource";
import type { RecordedResource } from "../../scripts/mock-runtime";
import { GpuInferencePlatform } from "../../stacks/platform";
import { PROJECT_DIR, ofType, runProgram, stackFileConfig } from "../helpers";
import { reportedBy } from "./harness";

const STACKS = fs
  .readdirSync(PROJECT_DIR)
  .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
  .filter((stack): stack is string => stack !== undefined)
  .sort();

/** The resource as the policy pack would see it: its inputs and its `protect` option. */
function asPolicyResource(r: RecordedResource): PolicyResource {
  return { type: r.type, name: r.name, props: r.inputs, opts: { protect: r.protect } };
}

async function violations(resources: readonly RecordedResource[]): Promise<string[]> {
  const messages: string[] = [];
  for (const resource of resources.map(asPolicyResource)) {
    for (const policy of GUARDRAILS) {
      for (const m of await reportedBy(policy, resource)) messages.push(`${policy.name}: ${m}`);
    }
  }
  return messages;
}

describe("the gpushare program under the gpushare-guardrails pack", () => {
  it("has stack files to check", () => {
    expect(STACKS).toEqual(expect.arrayContaining(["dev", "prod"]));
  });

  it.each(STACKS)("passes every guardrail on stack %s", async (stack) => {
    const config = stackFileConfig(stack);
    const resources = await runProgram(() => new GpuInferencePlatform("gpushare", { config }), stack);
    expect(await violations(resources)).toEqual([]);
  });

  it("checks real resources on prod: the share, the Triton Deployments and Services, the Helm releases", async () => {
    const config = stackFileConfig("prod");
    const resources = await runProgram(() => new GpuInferencePlatform("gpushare", { config }), "prod");
    expect(ofType(resources, "openstack:sharedfilesystem/share:Share")).toHaveLength(1);
    expect(ofType(resources, "kubernetes:apps/v1:Deployment", "triton").length).toBeGreaterThan(0);
    expect(ofType(resources, "kubernetes:core/v1:Service", "triton").length).toBeGreaterThan(0);
    expect(ofType(resources, "kubernetes:helm.sh/v3:Release").length).toBeGreaterThan(0);
  });
});
