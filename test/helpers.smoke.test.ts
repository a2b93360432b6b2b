import * as k8s from "@pulumi/kubernetes";
import { describe, expect, it } from "vitest";
import { MOCK_LOAD_BALANCER_IP } from "../scripts/mock-runtime";
import { GpuInferencePlatform } from "../stacks/platform";
import { ofType, one, resolve, runProgram, stackFileConfig } from "./helpers";

describe("the mock runtime helper", () => {
  it("records the platform component and its kubernetes provider with their parent", async () => {
    const config = stackFileConfig("staging");
    const resources = await runProgram(() => new GpuInferencePlatform("gpushare", { config }));
    const provider = ofType(resources, "pulumi:providers:kubernetes").find((p) => p.name === "gpushare-k8s");
    if (provider === undefined) throw new Error("no provider gpushare-k8s");
    expect(provider.parent).toMatch(/GpuInferencePlatform::gpushare$/);
    expect(provider.inputs.enableServerSideApply).toBe("true");
  });

  it.each([
    ["LoadBalancer", [{ ip: MOCK_LOAD_BALANCER_IP }]],
    ["ClusterIP", undefined],
    ["NodePort", undefined],
  ])("gives a %s Service the load-balancer ingress %j, as a cloud would", async (type, ingress) => {
    let service: k8s.core.v1.Service | undefined;
    await runProgram(() => {
      service = new k8s.core.v1.Service("svc", { spec: { type, ports: [{ port: 80 }] } });
    });
    if (service === undefined) throw new Error("no Service");
    expect(MOCK_LOAD_BALANCER_IP).toBe("192.0.2.30");
    expect((await resolve(service.status)).loadBalancer.ingress).toEqual(ingress);
  });

  it("records custom timeouts and deleteBeforeReplace", async () => {
    const resources = await runProgram(
      () =>
        new k8s.core.v1.ConfigMap(
          "cm",
          { data: {} },
          { customTimeouts: { create: "5m", delete: "1m" }, deleteBeforeReplace: true },
        ),
    );
    const cm = one(resources, "kubernetes:core/v1:ConfigMap");
    expect(cm.customTimeouts).toEqual({ create: "5m", update: "", delete: "1m" });
    expect(cm.deleteBeforeReplace).toBe(true);
  });
});
