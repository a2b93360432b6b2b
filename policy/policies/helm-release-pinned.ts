import { HELM_GROUP, isKind } from "../lib/kubernetes";
import type { PolicyResource } from "../lib/resource";
import { describeResource, guardrail, show, text } from "../lib/resource";

/** One exact SemVer 2 version, as Helm chart versions are written (an optional leading `v`). */
const EXACT_VERSION = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * Without an exact chart version, an update installs whatever the repository serves that day: previews stop
 * telling what will change, and dev and prod drift apart.
 */
export function helmReleasePinnedViolations(resource: PolicyResource): string[] {
  if (!isKind(resource, HELM_GROUP, "Release", "Chart")) return [];
  const version = text(resource.props.version) ?? "";
  if (version === "") {
    return [
      `${describeResource(resource)}: version is unset, so every update installs the newest chart; set version to one exact chart version (MAJOR.MINOR.PATCH)`,
    ];
  }
  if (!EXACT_VERSION.test(version.trim())) {
    return [
      `${describeResource(resource)}: version ${show(version)} is a range, not one chart version; set one exact chart version (MAJOR.MINOR.PATCH, no ^ ~ * x or comparison)`,
    ];
  }
  return [];
}

export const helmReleasePinned = guardrail(
  {
    name: "helm-release-pinned",
    description: "Every Helm release names one exact chart version.",
    remediationSteps: "Set the release's version to an exact chart version (MAJOR.MINOR.PATCH).",
  },
  helmReleasePinnedViolations,
);
