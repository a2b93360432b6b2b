import { isKind } from "../lib/kubernetes";
import type { PolicyResource } from "../lib/resource";
import { describeResource, guardrail, list, record, show, text } from "../lib/resource";

/** Triton's HTTP and gRPC inference ports: the only ones a LoadBalancer may expose. */
export const SERVING_PORTS: readonly number[] = [8000, 8001];

/**
 * A LoadBalancer puts a port on the internet. Triton's metrics (8002) and every other service stay inside the
 * cluster, where Prometheus scrapes them.
 */
export function loadBalancerPortViolations(resource: PolicyResource): string[] {
  if (!isKind(resource, "core", "Service")) return [];
  const spec = record(resource.props.spec);
  if (spec?.type !== "LoadBalancer") return [];
  return list(spec.ports).flatMap((p, i) => {
    const port = record(p);
    const name = text(port?.name);
    const at = `${describeResource(resource)}: spec.ports[${i}]${name === undefined ? "" : ` (${name})`}`;
    const fix = `expose only Triton's serving ports ${SERVING_PORTS.join(" and ")} through a LoadBalancer, or make the Service ClusterIP`;
    const violations: string[] = [];
    if (typeof port?.port !== "number" || !SERVING_PORTS.includes(port.port)) {
      violations.push(`${at} exposes port ${show(port?.port)}; ${fix}`);
    }
    if (typeof port?.targetPort === "number" && !SERVING_PORTS.includes(port.targetPort)) {
      violations.push(`${at} forwards to targetPort ${port.targetPort}; ${fix}`);
    }
    return violations;
  });
}

export const loadBalancerPorts = guardrail(
  {
    name: "load-balancer-serving-ports-only",
    description: `LoadBalancer Services expose only Triton's serving ports (${SERVING_PORTS.join(", ")}).`,
    remediationSteps: "Drop other ports from LoadBalancer Services; reach metrics and admin ports inside the cluster.",
  },
  loadBalancerPortViolations,
);
