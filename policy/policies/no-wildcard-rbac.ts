import { RBAC_GROUP, isKind } from "../lib/kubernetes";
import type { PolicyResource } from "../lib/resource";
import { describeResource, guardrail, list, record, show } from "../lib/resource";

const FIELDS = {
  apiGroups: 'list the API groups it uses ("" for the core group)',
  resources: "list the resources (and subresources) it uses",
  verbs: "list the verbs it uses (get, list, watch, ...)",
} as const;

/** A `*` in a Role's rules grants everything of that kind, including what a newer cluster adds later. */
export function wildcardRbacViolations(resource: PolicyResource): string[] {
  if (!isKind(resource, RBAC_GROUP, "ClusterRole", "Role")) return [];
  return list(resource.props.rules).flatMap((rule, i) =>
    Object.entries(FIELDS).flatMap(([field, fix]) =>
      list(record(rule)?.[field])
        .filter((entry) => typeof entry === "string" && entry.includes("*"))
        .map((entry) => `${describeResource(resource)}: rules[${i}].${field} contains ${show(entry)}; ${fix}`),
    ),
  );
}

export const noWildcardRbac = guardrail(
  {
    name: "no-wildcard-rbac",
    description: "No Role or ClusterRole rule uses a * wildcard in apiGroups, resources or verbs.",
    remediationSteps: "List the API groups, resources and verbs the role's subjects use, one by one.",
  },
  wildcardRbacViolations,
);
