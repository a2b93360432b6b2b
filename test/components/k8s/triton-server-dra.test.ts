import { describe, expect, it } from "vitest";
import { TritonServer } from "../../../components/k8s/triton-server";
import { tritonDeviceClaim, type TritonServerSpec } from "../../../components/k8s/triton-server-spec";
import { tritonServerSpec } from "../../../stacks/args";
import { parseStackConfig } from "../../../stacks/config/parse";
import type { RecordedResource } from "../../../scripts/mock-runtime";
import { at, minimalConfig, one, ofType, runProgram } from "../../helpers";

/** A Triton server on a DRA pool: its claim object and the pod spec that references it. */

type Obj = Record<string, unknown>;
const TEMPLATE = "kubernetes:resource.k8s.io/v1:ResourceClaimTemplate";
const CLAIM = "kubernetes:resource.k8s.io/v1:ResourceClaim";

function serverOn(pool: Record<string, unknown>, gates: Record<string, boolean>, server: Obj = {}): TritonServerSpec {
  const config = parseStackConfig(
    minimalConfig({
      cluster: { kubernetesVersion: "1.36" },
      draDriver: { featureGates: gates },
      gpuPools: { p: { nodes: { min: 1, max: 2 }, allocation: "dra", ...pool } },
      servers: { "triton-dra": { pool: "p", ...server } },
    }),
  );
  return tritonServerSpec(config.servers[0]);
}

async function build(server: TritonServerSpec): Promise<RecordedResource[]> {
  return runProgram(() => {
    new TritonServer(`gpushare-${server.serverName}`, {
      ...server,
      namespace: "inference",
      claimName: "models",
      monitorLabels: { release: "kube-prometheus-stack" },
      metricName: "avg_time_queue_us",
    });
  });
}

const podSpec = (r: RecordedResource[]): Obj =>
  at(one(r, "kubernetes:apps/v1:Deployment").inputs, "spec", "template", "spec") as Obj;

describe("TritonServer on a DRA MIG pool", () => {
  const server = serverOn(
    { gpu: "H200-141GB", mig: { profiles: { "1g.18gb": 3, "2g.35gb": 2 } } },
    {},
    {
      resource: "mig.nvidia.com/2g.35gb",
      replicas: 2,
    },
  );

  it("asks a ResourceClaimTemplate, named after the server and its spec, for one MIG device by its profile", async () => {
    const resources = await build(server);
    const template = one(resources, TEMPLATE);
    expect(template.name).toBe("gpushare-triton-dra-claim");
    expect(template.parent).toContain("gpushare:k8s:TritonServer");
    expect(at(template.inputs, "metadata")).toMatchObject({
      name: tritonDeviceClaim(server)?.name,
      namespace: "inference",
    });
    expect(String(at(template.inputs, "metadata", "name"))).toMatch(/^triton-dra-[0-9a-f]{8}$/);
    expect(at(template.inputs, "spec")).toEqual({
      spec: {
        devices: {
          requests: [
            {
              name: "gpu",
              exactly: {
                deviceClassName: "mig.nvidia.com",
                allocationMode: "ExactCount",
                count: 1,
                selectors: [{ cel: { expression: "device.attributes['gpu.nvidia.com'].profile == '2g.35gb'" } }],
              },
            },
          ],
        },
      },
    });
    expect(ofType(resources, CLAIM)).toEqual([]);
  });

  it("gives each pod a claim from the template and no extended resource", async () => {
    const resources = await build(server);
    const spec = podSpec(resources);
    expect(spec.resourceClaims).toEqual([
      { name: "gpu", resourceClaimTemplateName: at(one(resources, TEMPLATE).inputs, "metadata", "name") },
    ]);
    expect(at(spec, "containers", 0, "resources")).toEqual({
      requests: { cpu: "1", memory: "4Gi" },
      limits: { memory: "4Gi" },
      claims: [{ name: "gpu" }],
    });
  });
});

describe("TritonServer on a time-sliced DRA pool", () => {
  it("takes one consumable share with the driver's TimeSlicing config", async () => {
    const server = serverOn(
      { gpu: "T4", timeSlicing: { replicas: 4 } },
      { TimeSlicingSettings: true, ConsumableShares: true },
      { replicas: 6 },
    );
    const resources = await build(server);
    expect(at(one(resources, TEMPLATE).inputs, "spec", "spec", "devices")).toEqual({
      requests: [
        {
          name: "gpu",
          exactly: {
            deviceClassName: "gpu.nvidia.com",
            allocationMode: "ExactCount",
            count: 1,
            capacity: { requests: { shares: "1" } },
          },
        },
      ],
      config: [
        {
          requests: ["gpu"],
          opaque: {
            driver: "gpu.nvidia.com",
            parameters: {
              apiVersion: "resource.nvidia.com/v1beta1",
              kind: "GpuConfig",
              sharing: { strategy: "TimeSlicing", timeSlicingConfig: { interval: "Default" } },
            },
          },
        },
      ],
    });
  });
});

describe("TritonServer on an MPS DRA pool", () => {
  it("shares one ResourceClaim between its pods, with the device plugin's per-client limits", async () => {
    const server = serverOn({ gpu: "H100-80GB", mps: { replicas: 4 } }, { MPSSupport: true }, { replicas: 4 });
    const resources = await build(server);
    expect(ofType(resources, TEMPLATE)).toEqual([]);
    const claim = one(resources, CLAIM);
    expect(at(claim.inputs, "spec", "devices", "config", 0, "opaque", "parameters")).toEqual({
      apiVersion: "resource.nvidia.com/v1beta1",
      kind: "GpuConfig",
      sharing: {
        strategy: "MPS",
        // 100 / 4 % of the SMs; (80943 MiB as nvidia-smi reports an H100 80GB − 66 MiB MPS server) / 4.
        mpsConfig: { defaultActiveThreadPercentage: 25, defaultPinnedDeviceMemoryLimit: "20219Mi" },
      },
    });
    expect(podSpec(resources).resourceClaims).toEqual([
      { name: "gpu", resourceClaimName: at(claim.inputs, "metadata", "name") },
    ]);
  });

  it("rolls out without a surge pod, which would be a client too many of the one claim", async () => {
    const server = serverOn({ gpu: "H100-80GB", mps: { replicas: 4 } }, { MPSSupport: true }, { replicas: 4 });
    const deployment = one(await build(server), "kubernetes:apps/v1:Deployment");
    expect(at(deployment.inputs, "spec", "strategy")).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
  });
});

describe("TritonServer on a device-plugin pool", () => {
  it("creates no claim and keeps its extended resource", async () => {
    const config = parseStackConfig(
      minimalConfig({
        gpuPools: { t4: { gpu: "T4", nodes: { min: 1, max: 1 } } },
        servers: { s: { pool: "t4" } },
      }),
    );
    const resources = await build(tritonServerSpec(config.servers[0]));
    expect([...ofType(resources, TEMPLATE), ...ofType(resources, CLAIM)]).toEqual([]);
    expect(podSpec(resources).resourceClaims).toBeUndefined();
    expect(at(podSpec(resources), "containers", 0, "resources", "limits")).toEqual({
      memory: "4Gi",
      "nvidia.com/gpu": "1",
    });
  });
});
