import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { DraDriver, DRA_DRIVER_RELEASE_NAME } from "../../../components/k8s/dra-driver";
import { DRA_DRIVER_VERSION } from "../../../gpu/dra";
import { helmValues, one, reveal, runFailing, runProgram } from "../../helpers";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const NAMESPACE = "kubernetes:core/v1:Namespace";

describe("DraDriver", () => {
  it("installs the driver's chart at the release gpu/dra.ts was read from, in a privileged namespace", async () => {
    const resources = await runProgram(() => new DraDriver("dra", { featureGates: { MPSSupport: true } }));
    const release = one(resources, RELEASE);
    expect(reveal(release.inputs)).toMatchObject({
      name: DRA_DRIVER_RELEASE_NAME,
      chart: "oci://registry.k8s.io/dra-driver-nvidia/charts/dra-driver-nvidia-gpu",
      version: DRA_DRIVER_VERSION,
      namespace: "dra-driver-nvidia-gpu",
      skipAwait: false,
    });
    expect(release.inputs.repositoryOpts).toBeUndefined();
    expect(helmValues(resources).featureGates).toEqual({ MPSSupport: true });
    expect(reveal(one(resources, NAMESPACE).inputs)).toMatchObject({
      metadata: { name: "dra-driver-nvidia-gpu", labels: { "pod-security.kubernetes.io/enforce": "privileged" } },
    });
  });

  it("takes the chart from a repository mirror when given one", async () => {
    const resources = await runProgram(
      () =>
        new DraDriver("dra", {
          chart: "dra-driver-nvidia-gpu",
          repository: "https://charts.example.internal/nvidia",
          chartVersion: "0.5.1",
          namespace: "nvidia-dra",
        }),
    );
    expect(reveal(one(resources, RELEASE).inputs)).toMatchObject({
      chart: "dra-driver-nvidia-gpu",
      version: "0.5.1",
      repositoryOpts: { repo: "https://charts.example.internal/nvidia" },
      namespace: "nvidia-dra",
    });
  });

  it("creates nothing for an installed driver, and still says what it must run with", async () => {
    let driver: DraDriver | undefined;
    const resources = await runProgram(() => {
      driver = new DraDriver("dra", { installed: true, consumableShares: 7 });
    });
    expect(resources.map((r) => r.type)).toEqual(["gpushare:k8s:DraDriver"]);
    expect(driver?.values.consumableShares).toBe("7");
    const ns = await new Promise((resolve) => driver?.namespace.apply(resolve));
    expect(ns).toBe("dra-driver-nvidia-gpu");
  });

  it("refuses values it owns before registering anything", async () => {
    const { error, resources } = await runFailing(
      () =>
        new DraDriver("dra", {
          values: { featureGates: { MPSSupport: true }, kubeletPlugin: { nodeSelector: { gpu: "yes" } } },
        }),
    );
    expect(resources).toEqual([]);
    expect(error).toBeInstanceOf(pulumi.InputPropertiesError);
    const errors = (error as { errors: { propertyPath: string; reason: string }[] }).errors;
    expect(errors.map((e) => e.propertyPath)).toEqual(["values.featureGates", "values.kubeletPlugin.nodeSelector"]);
    expect(errors[1].reason).toContain("gpushare.io/gpu-allocation=dra");
  });
});
