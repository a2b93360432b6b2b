import type { PolicyResource } from "../lib/resource";
import { describeResource, guardrail } from "../lib/resource";

export const SHARE_TYPE = "openstack:sharedfilesystem/share:Share";

/** The share holds every model; `protect` makes `pulumi destroy` and replacing changes refuse to delete it. */
export function nfsShareProtectedViolations(resource: PolicyResource): string[] {
  if (resource.type !== SHARE_TYPE || resource.opts?.protect === true) return [];
  return [
    `${describeResource(resource)}: protect is false, so pulumi destroy or a replacing change deletes the share and every model in it; create it with { protect: true } (stack config modelStore.allowDestroy: false, the default)`,
  ];
}

export const nfsShareProtected = guardrail(
  {
    name: "nfs-share-protected",
    description: "The Manila NFS share that holds the models is protected.",
    remediationSteps:
      "Keep modelStore.allowDestroy false; to tear the share down on purpose, set this policy to advisory with --policy-pack-config.",
  },
  nfsShareProtectedViolations,
);
