import { describe, expect, it } from "vitest";
import { tritonDeviceClaim, tritonPodResourceClaim, tritonPodSpec } from "../../components/k8s/triton-server-spec";
import { GUARDRAILS } from "../../policy/guardrails";
import type { PolicyResource } from "../../policy/lib/resource";
import { draClaimViolations } from "../../policy/policies/dra-claim-one-gpu";
import { tritonServerSpec } from "../../stacks/args";
import { parseStackConfig } from "../../stacks/config/parse";
import { minimalConfig } from "../helpers";
import { reportedBy } from "./harness";

/** dra-claim-one-gpu: the claims gpushare generates pass; what would break capacity or the driver does not. */

function server(pool: Record<string, unknown>, gates: Record<string, boolean> = {}) {
  const config = parseStackConfig(
    minimalConfig({
      cluster: { kubernetesVersion: "1.36" },
      draDriver: { featureGates: gates },
      gpuPools: { p: { nodes: { min: 1, max: 1 }, allocation: "dra", ...pool } },
      servers: { s: { pool: "p" } },
    }),
  );
  return tritonServerSpec(config.servers[0]);
}

function claimResource(pool: Record<string, unknown>, gates: Record<string, boolean> = {}): PolicyResource {
  const claim = tritonDeviceClaim(server(pool, gates));
  if (claim === undefined) throw new Error("no claim");
  return {
    type: `kubernetes:resource.k8s.io/v1:${claim.kind}`,
    name: "gpushare-s-claim",
    props: { apiVersion: claim.apiVersion, kind: claim.kind, metadata: { name: claim.name }, spec: claim.spec },
  };
}

const SHAPES: [string, Record<string, unknown>, Record<string, boolean>][] = [
  ["a whole GPU", { gpu: "H100-80GB" }, {}],
  ["a MIG device", { gpu: "H200-141GB", mig: { layout: "all-1g.18gb" } }, {}],
  [
    "a time-sliced share",
    { gpu: "T4", timeSlicing: { replicas: 4 } },
    { TimeSlicingSettings: true, ConsumableShares: true },
  ],
  ["an MPS claim", { gpu: "H100-80GB", mps: { replicas: 4 } }, { MPSSupport: true }],
];

describe("dra-claim-one-gpu", () => {
  it.each(SHAPES)("passes gpushare's claim for %s, and its pods", async (_, pool, gates) => {
    const resource = claimResource(pool, gates);
    expect(draClaimViolations(resource)).toEqual([]);
    expect(
      await reportedBy(
        GUARDRAILS.find((p) => p.name === "dra-claim-one-gpu"),
        resource,
      ),
    ).toEqual([]);
    const spec = server(pool, gates);
    const claim = tritonDeviceClaim(spec);
    if (claim === undefined) throw new Error("no claim");
    const deployment: PolicyResource = {
      type: "kubernetes:apps/v1:Deployment",
      name: "s",
      props: {
        spec: { template: { spec: tritonPodSpec(spec, "models", tritonPodResourceClaim(claim.mode, claim.name)) } },
      },
    };
    expect(draClaimViolations(deployment)).toEqual([]);
  });

  const template = claimResource({ gpu: "H200-141GB", mig: { layout: "all-1g.18gb" } });
  const exactly = (overrides: Record<string, unknown>): PolicyResource => {
    const spec = structuredClone(template.props.spec) as { spec: { devices: { requests: Record<string, unknown>[] } } };
    spec.spec.devices.requests[0].exactly = { ...(spec.spec.devices.requests[0].exactly as object), ...overrides };
    return { ...template, props: { ...template.props, spec } };
  };

  it("fails when a claim asks for every device of a node", () => {
    expect(draClaimViolations(exactly({ allocationMode: "All", count: undefined }))).toEqual([
      `ResourceClaimTemplate "gpushare-s-claim": request "gpu" asks for allocationMode "All" of mig.nvidia.com, every device of a node; ask for one (allocationMode "ExactCount", count 1) and scale with replicas`,
    ]);
  });

  it("fails when a claim asks for two devices", () => {
    expect(draClaimViolations(exactly({ count: 2 }))).toEqual([
      `ResourceClaimTemplate "gpushare-s-claim": request "gpu" asks for 2 devices of mig.nvidia.com; set count to 1 (one GPU or MIG device per claim) and scale with replicas`,
    ]);
  });

  it("fails when the driver's opaque config is not one it decodes", () => {
    const claim = claimResource({ gpu: "H100-80GB", mps: { replicas: 4 } }, { MPSSupport: true });
    const spec = structuredClone(claim.props.spec) as { devices: { config: { opaque: { parameters: object } }[] } };
    spec.devices.config[0].opaque.parameters = { apiVersion: "resource.nvidia.com/v1alpha1", kind: "GpuConfig" };
    expect(draClaimViolations({ ...claim, props: { ...claim.props, spec } })).toEqual([
      `ResourceClaim "gpushare-s-claim": opaque config for gpu.nvidia.com is "resource.nvidia.com/v1alpha1" "GpuConfig", which the driver does not decode for GPUs; use apiVersion "resource.nvidia.com/v1beta1" with kind "GpuConfig" or "MigDeviceConfig"`,
    ]);
  });

  it("fails when a container takes a GPU by claim and by extended resource", () => {
    const deployment: PolicyResource = {
      type: "kubernetes:apps/v1:Deployment",
      name: "triton-s",
      props: {
        spec: {
          template: {
            spec: {
              resourceClaims: [{ name: "gpu", resourceClaimTemplateName: "s-0123abcd" }],
              containers: [
                { name: "triton", resources: { limits: { "nvidia.com/gpu": 1 }, claims: [{ name: "gpu" }] } },
              ],
            },
          },
        },
      },
    };
    expect(draClaimViolations(deployment)).toEqual([
      `Deployment "triton-s" container "triton": takes devices both through resources.claims and as nvidia.com/gpu; a pool's GPUs are either the device plugin's or DRA's: keep the claim on a DRA pool, the extended resource on a device-plugin pool`,
    ]);
  });

  it("leaves other drivers' claims alone", () => {
    const other: PolicyResource = {
      type: "kubernetes:resource.k8s.io/v1:ResourceClaim",
      name: "nic",
      props: {
        spec: {
          devices: {
            requests: [{ name: "nic", exactly: { deviceClassName: "nic.example.com", allocationMode: "All" } }],
          },
        },
      },
    };
    expect(draClaimViolations(other)).toEqual([]);
  });
});
