import { RBAC_GROUP, isKind } from "../lib/kubernetes";
import type { PolicyResource } from "../lib/resource";
import { describeResource, guardrail, record } from "../lib/resource";

/**
 * A (Cluster)RoleBinding to `cluster-admin` hands its subjects the whole cluster: the article did that for every
 * service account. gpushare binds roles that list what each component uses (the metrics adapter's RBAC).
 */
export function clusterAdminBindingViolations(resource: PolicyResource): string[] {
  if (!isKind(resource, RBAC_GROUP, "ClusterRoleBinding", "RoleBinding")) return [];
  const roleRef = record(resource.props.roleRef);
  if (roleRef?.kind !== "ClusterRole" || roleRef.name !== "cluster-admin") return [];
  return [
    `${describeResource(resource)}: roleRef is ClusterRole "cluster-admin", full control of the cluster for its subjects; bind a Role or ClusterRole that grants only the verbs and resources they use`,
  ];
}

export const noClusterAdminBinding = guardrail(
  {
    name: "no-cluster-admin-binding",
    description: "No RoleBinding or ClusterRoleBinding grants the cluster-admin ClusterRole.",
    remediationSteps: "Bind a Role or ClusterRole that lists only the verbs and resources the subjects use.",
  },
  clusterAdminBindingViolations,
);
