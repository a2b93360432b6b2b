import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../stacks/config/parse";
import { GpuInferencePlatform } from "../../stacks/platform";
import { at, minimalConfig, ofType, one, runProgram } from "../helpers";

/** A whole stack with a DRA pool beside a device-plugin pool, under Pulumi's mocks. */

const TEMPLATE = "kubernetes:resource.k8s.io/v1:ResourceClaimTemplate";
const CLAIM = "kubernetes:resource.k8s.io/v1:ResourceClaim";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const NODE_FEATURE_RULE = "kubernetes:nfd.k8s-sigs.io/v1alpha1:NodeFeatureRule";

function stack(pools: Record<string, unknown>, servers: Record<string, unknown>, gates: Record<string, boolean>) {
  return parseStackConfig(
    minimalConfig({
      cluster: { kubernetesVersion: "1.36" },
      draDriver: { featureGates: gates },
      gpuPools: pools,
      servers,
    }),
  );
}

describe("a stack with a DRA pool and a device-plugin pool", () => {
  const config = stack(
    {
      h200: {
        gpu: "H200-141GB",
        nodes: { min: 1, max: 1 },
        allocation: "dra",
        mig: { layout: "all-1g.18gb" },
        mps: { replicas: 4 },
      },
      t4: { gpu: "T4", nodes: { min: 1, max: 1 }, timeSlicing: { replicas: 4 } },
    },
    { "triton-mps": { pool: "h200", replicas: 4 }, "triton-t4": { pool: "t4", replicas: 4 } },
    { MPSSupport: true },
  );

  it("gives the DRA pool's server a shared claim and the other its extended resource", async () => {
    const resources = await runProgram(() => new GpuInferencePlatform("gpushare", { config }));
    expect(ofType(resources, TEMPLATE)).toEqual([]);
    const claim = one(resources, CLAIM);
    expect(claim.engineUrn).toContain(
      "GpuInferencePlatform$gpushare:k8s:TritonServer$kubernetes:resource.k8s.io/v1:ResourceClaim::",
    );
    expect(at(claim.inputs, "spec", "devices", "requests", 0, "exactly", "deviceClassName")).toBe("mig.nvidia.com");
    const spec = (name: string): unknown => at(one(resources, DEPLOYMENT, name).inputs, "spec", "template", "spec");
    expect(at(spec("triton-mps"), "resourceClaims")).toEqual([
      { name: "gpu", resourceClaimName: at(claim.inputs, "metadata", "name") },
    ]);
    expect(at(spec("triton-t4"), "resourceClaims")).toBeUndefined();
    expect(at(spec("triton-t4"), "containers", 0, "resources", "limits", "nvidia.com/gpu")).toBe("1");
  });

  it("labels only the DRA pool's nodes to keep the operator's device plugin off them", async () => {
    const resources = await runProgram(() => new GpuInferencePlatform("gpushare", { config }));
    const labels = Object.fromEntries(
      ofType(resources, NODE_FEATURE_RULE).map((r) => [
        r.name,
        at(r.inputs, "spec", "rules", 0, "labels", "nvidia.com/gpu.deploy.device-plugin"),
      ]),
    );
    expect(Object.values(labels).sort()).toEqual(["false", undefined]);
  });

  it("installs NVIDIA's DRA driver beside the operator, with the gates the pools need, before the servers", async () => {
    const resources = await runProgram(() => new GpuInferencePlatform("gpushare", { config }));
    const driver = one(resources, "gpushare:k8s:DraDriver");
    expect(driver.engineUrn).toContain("GpuInferencePlatform$gpushare:k8s:DraDriver::gpushare-dra-driver");
    const release = one(resources, RELEASE, "dra-driver");
    expect(at(release.inputs, "values", "featureGates")).toEqual({ MPSSupport: true });
    // MPS pools take no consumable shares: the driver refuses MPS with them on.
    expect(at(release.inputs, "values", "consumableShares")).toBe("");
    for (const server of ["triton-mps", "triton-t4"]) {
      // A dependency on a component is one on each of its resources.
      expect(one(resources, "gpushare:k8s:TritonServer", server).dependencies).toContain(release.urn);
    }
  });
});

describe("a stack without a DRA pool", () => {
  it("has no DRA driver", async () => {
    const config = stack({ t4: { gpu: "T4", nodes: { min: 1, max: 1 } } }, { s: { pool: "t4" } }, {});
    const resources = await runProgram(() => new GpuInferencePlatform("gpushare", { config }));
    expect(ofType(resources, "gpushare:k8s:DraDriver")).toEqual([]);
    expect(ofType(resources, RELEASE, "dra-driver")).toEqual([]);
  });
});
