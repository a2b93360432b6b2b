import { RBAC_GROUP, isKind, kubernetesKind, namespaceOf } from "../lib/kubernetes";
import type { PolicyResource } from "../lib/resource";
import { describeResource, guardrail, record } from "../lib/resource";

export const KUBE_SYSTEM = "kube-system";

/**
 * kube-system belongs to the cluster's own components; gpushare's workloads live in namespaces of their own.
 * The one exception: a RoleBinding to a Role of kube-system (e.g. extension-apiserver-authentication-reader,
 * which an aggregated API server needs) can only live there.
 */
export function kubeSystemViolations(resource: PolicyResource): string[] {
  const kind = kubernetesKind(resource.type);
  if (kind === undefined || namespaceOf(resource) !== KUBE_SYSTEM) return [];
  if (isKind(resource, RBAC_GROUP, "RoleBinding") && record(resource.props.roleRef)?.kind === "Role") return [];
  const field = kind.group === "helm.sh" ? "namespace" : "metadata.namespace";
  return [
    `${describeResource(resource)}: ${field} is "${KUBE_SYSTEM}", which belongs to the cluster's own components; use a namespace of gpushare's own (gpuOperator, monitoring, metricsAdapter or inference .namespace in the stack config)`,
  ];
}

export const noKubeSystem = guardrail(
  {
    name: "no-kube-system-workloads",
    description: "gpushare puts nothing in kube-system but RoleBindings to kube-system's own Roles.",
    remediationSteps: "Move the resource to one of gpushare's namespaces (see the stack config's *.namespace).",
  },
  kubeSystemViolations,
);
