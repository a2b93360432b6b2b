import { describe, expect, it } from "vitest";
import { GpuInferencePlatform } from "../stacks/platform";
import { ofType, runProgram, stackFileConfig } from "./helpers";

describe("the mock runtime helper", () => {
  it("records the platform component and its kubernetes provider with their parent", async () => {
    const config = stackFileConfig("staging");
    const resources = await runProgram(() => new GpuInferencePlatform("gpushare", { config }));
    const provider = ofType(resources, "pulumi:providers:kubernetes").find((p) => p.name === "gpushare-k8s");
    if (provider === undefined) throw new Error("no provider gpushare-k8s");
    expect(provider.parent).toMatch(/GpuInferencePlatform::gpushare$/);
    expect(provider.inputs.enableServerSideApply).toBe("true");
  });
});
