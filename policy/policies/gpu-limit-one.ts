import { containersOf, podSpecOf } from "../lib/kubernetes";
import type { PolicyResource } from "../lib/resource";
import { describeResource, guardrail, record, show } from "../lib/resource";

/** Resource names the NVIDIA device plugin advertises: `nvidia.com/gpu`, `nvidia.com/mig-1g.5gb`, ... */
export const GPU_RESOURCE_PREFIX = "nvidia.com/";

function isOne(quantity: unknown): boolean {
  return quantity === 1 || quantity === "1";
}

/**
 * Extended resources are allocated from limits, and a request without a limit is refused. One Triton replica
 * uses one GPU, MIG slice or time-slice replica: capacity and the HPA's maxReplicas are counted that way, so a
 * container asking for two would halve what the capacity model promises.
 */
export function gpuLimitViolations(resource: PolicyResource): string[] {
  const podSpec = podSpecOf(resource);
  if (podSpec === undefined) return [];
  return containersOf(podSpec).flatMap(({ label, container }) => {
    const resources = record(container.resources);
    const limits = record(resources?.limits) ?? {};
    const requests = record(resources?.requests) ?? {};
    const gpuNames = [...new Set([...Object.keys(limits), ...Object.keys(requests)])]
      .filter((name) => name.startsWith(GPU_RESOURCE_PREFIX))
      .sort();
    return gpuNames.flatMap((gpu) => {
      const at = `${describeResource(resource)} ${label}`;
      const violations: string[] = [];
      if (!(gpu in limits)) {
        violations.push(
          `${at}: resources.requests["${gpu}"] has no limit; GPUs are allocated from limits: set resources.limits["${gpu}"] to 1`,
        );
      } else if (!isOne(limits[gpu])) {
        violations.push(
          `${at}: resources.limits["${gpu}"] is ${show(limits[gpu])}; set it to 1 (one GPU or slice per container) and scale with replicas`,
        );
      }
      if (gpu in requests && !isOne(requests[gpu])) {
        violations.push(
          `${at}: resources.requests["${gpu}"] is ${show(requests[gpu])}; set it to 1 or leave it out (it defaults to the limit)`,
        );
      }
      return violations;
    });
  });
}

export const gpuLimitOne = guardrail(
  {
    name: "gpu-limit-exactly-one",
    description: "Every container that asks for an nvidia.com/ resource sets it as a limit of exactly 1.",
    remediationSteps: "Set resources.limits[<nvidia.com/...>] to 1 (requests equal or unset); scale with replicas.",
  },
  gpuLimitViolations,
);
