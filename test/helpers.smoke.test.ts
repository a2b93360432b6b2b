import { describe, expect, it } from "vitest";
import { GpuInferencePlatform } from "../stacks/platform";
import { one, runProgram, stackFileConfig } from "./helpers";

describe("the mock runtime helper", () => {
  it("records the platform component and its kubernetes provider with their parent", async () => {
    const config = stackFileConfig("staging");
    const resources = await runProgram(() => new GpuInferencePlatform("gpushare", { config }));
    const provider = one(resources, "pulumi:providers:kubernetes");
    expect(provider.parent).toMatch(/GpuInferencePlatform::gpushare$/);
    expect(provider.inputs.enableServerSideApply).toBe("true");
  });
});
