import { containersOf, isKind, podSpecOf } from "../lib/kubernetes";
import type { PolicyResource } from "../lib/resource";
import { describeResource, guardrail, list, record, show, text } from "../lib/resource";
import { GPU_RESOURCE_PREFIX } from "./gpu-limit-one";

/** NVIDIA's DRA driver: its name, its DeviceClasses (whole GPUs, static MIG devices) and its opaque configs. */
export const NVIDIA_DRA_DRIVER = "gpu.nvidia.com";
export const NVIDIA_DEVICE_CLASSES = ["gpu.nvidia.com", "mig.nvidia.com"];
export const NVIDIA_CONFIG_API_VERSION = "resource.nvidia.com/v1beta1";
const NVIDIA_CONFIG_KINDS = ["GpuConfig", "MigDeviceConfig"];
const RESOURCE_GROUP = "resource.k8s.io";

/** The ResourceClaimSpec of a ResourceClaim (`spec`) or of a ResourceClaimTemplate's claims (`spec.spec`). */
function claimSpecOf(resource: PolicyResource): Readonly<Record<string, unknown>> | undefined {
  const spec = record(resource.props.spec);
  return isKind(resource, RESOURCE_GROUP, "ResourceClaimTemplate") ? record(spec?.spec) : spec;
}

function claimViolations(resource: PolicyResource): string[] {
  const devices = record(claimSpecOf(resource)?.devices);
  const at = describeResource(resource);
  const violations: string[] = [];
  for (const r of list(devices?.requests)) {
    const request = record(r);
    const exactly = record(request?.exactly);
    const deviceClass = text(exactly?.deviceClassName);
    if (exactly === undefined || deviceClass === undefined || !NVIDIA_DEVICE_CLASSES.includes(deviceClass)) continue;
    const name = show(request?.name);
    const mode = exactly.allocationMode ?? "ExactCount";
    const count = exactly.count ?? 1;
    if (mode !== "ExactCount") {
      violations.push(
        `${at}: request ${name} asks for allocationMode ${show(mode)} of ${deviceClass}, every device of a node; ask for one (allocationMode "ExactCount", count 1) and scale with replicas`,
      );
    } else if (count !== 1) {
      violations.push(
        `${at}: request ${name} asks for ${show(count)} devices of ${deviceClass}; set count to 1 (one GPU or MIG device per claim) and scale with replicas`,
      );
    }
  }
  for (const c of list(devices?.config)) {
    const opaque = record(record(c)?.opaque);
    if (text(opaque?.driver) !== NVIDIA_DRA_DRIVER) continue;
    const parameters = record(opaque?.parameters);
    const apiVersion = parameters?.apiVersion;
    const kind = parameters?.kind;
    if (apiVersion !== NVIDIA_CONFIG_API_VERSION || typeof kind !== "string" || !NVIDIA_CONFIG_KINDS.includes(kind)) {
      violations.push(
        `${at}: opaque config for ${NVIDIA_DRA_DRIVER} is ${show(apiVersion)} ${show(kind)}, which the driver does not decode for GPUs; use apiVersion "${NVIDIA_CONFIG_API_VERSION}" with kind "GpuConfig" or "MigDeviceConfig"`,
      );
    }
  }
  return violations;
}

function podViolations(resource: PolicyResource): string[] {
  const podSpec = podSpecOf(resource);
  if (podSpec === undefined) return [];
  return containersOf(podSpec).flatMap(({ label, container }) => {
    const resources = record(container.resources);
    const claims = list(resources?.claims);
    const gpus = [
      ...new Set([...Object.keys(record(resources?.limits) ?? {}), ...Object.keys(record(resources?.requests) ?? {})]),
    ].filter((n) => n.startsWith(GPU_RESOURCE_PREFIX));
    if (claims.length === 0 || gpus.length === 0) return [];
    return [
      `${describeResource(resource)} ${label}: takes devices both through resources.claims and as ${gpus.join(", ")}; a pool's GPUs are either the device plugin's or DRA's: keep the claim on a DRA pool, the extended resource on a device-plugin pool`,
    ];
  });
}

/**
 * One device per claim, as capacity and the HPA's maxReplicas count them, with the opaque config NVIDIA's driver
 * decodes; and no container that takes a GPU both by claim and by extended resource, which no node offers (the
 * driver's chart and the device plugin do not share a node).
 */
export function draClaimViolations(resource: PolicyResource): string[] {
  if (isKind(resource, RESOURCE_GROUP, "ResourceClaim", "ResourceClaimTemplate")) return claimViolations(resource);
  return podViolations(resource);
}

export const draClaimOneGpu = guardrail(
  {
    name: "dra-claim-one-gpu",
    description:
      "Claims on NVIDIA's DeviceClasses ask for exactly one device with the driver's own config, and no container takes a GPU by claim and by extended resource at once.",
    remediationSteps:
      "Set allocationMode ExactCount and count 1, use resource.nvidia.com/v1beta1 GpuConfig or MigDeviceConfig, and keep one way of taking the GPU.",
  },
  draClaimViolations,
);
