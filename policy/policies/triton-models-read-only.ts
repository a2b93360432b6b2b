import { containersOf, isKind, labelsOf, podSpecOf } from "../lib/kubernetes";
import type { PolicyResource } from "../lib/resource";
import { describeResource, guardrail, list, record, text } from "../lib/resource";

/** The label that marks a Triton Deployment (on the Deployment or on its pod template). */
export const TRITON_LABEL = { name: "app.kubernetes.io/name", value: "triton" } as const;
/** The model volume's conventional name; any PVC or NFS volume of a Triton pod is the model store too. */
export const MODELS_VOLUME = "models";

/** Names of the pod's volumes that hold the model repository. */
function modelVolumes(podSpec: Readonly<Record<string, unknown>>): Set<string> {
  const names = list(podSpec.volumes).flatMap((v) => {
    const volume = record(v);
    const name = text(volume?.name);
    if (volume === undefined || name === undefined) return [];
    const isModelStore =
      name === MODELS_VOLUME || volume.persistentVolumeClaim !== undefined || volume.nfs !== undefined;
    return isModelStore ? [name] : [];
  });
  return new Set(names);
}

/**
 * Triton only reads models; a writable mount lets one replica (or an exploit in it) corrupt the repository every
 * replica serves. Only the model store's seed Job writes.
 */
export function tritonModelsReadOnlyViolations(resource: PolicyResource): string[] {
  if (!isKind(resource, "apps", "Deployment")) return [];
  if (labelsOf(resource)[TRITON_LABEL.name] !== TRITON_LABEL.value) return [];
  const podSpec = podSpecOf(resource);
  if (podSpec === undefined) return [];
  const volumes = modelVolumes(podSpec);
  return containersOf(podSpec).flatMap(({ label, container }) =>
    list(container.volumeMounts).flatMap((m) => {
      const mount = record(m);
      const name = text(mount?.name);
      if (mount === undefined || name === undefined || !volumes.has(name) || mount.readOnly === true) return [];
      return [
        `${describeResource(resource)} ${label}: volumeMount "${name}" at ${text(mount.mountPath) ?? "?"} is writable; set readOnly: true (Triton only reads models; the model store's seed Job writes them)`,
      ];
    }),
  );
}

export const tritonModelsReadOnly = guardrail(
  {
    name: "triton-models-read-only",
    description: "Triton Deployments mount the model volume read-only in every container.",
    remediationSteps: "Set readOnly: true on every volumeMount of the model volume; write models from the seed Job.",
  },
  tritonModelsReadOnlyViolations,
);
