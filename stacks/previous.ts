import * as pulumi from "@pulumi/pulumi";
import type { SharingState } from "../components/k8s/gpu-operator-values";
import type { PoolCapacityRow } from "./capacity-table";

/** The outputs of this stack's previous deployment that the next one reads. */
export interface PreviousDeployment {
  /** What the previous deployment configured; absent before configs were named after their content. */
  readonly sharing?: SharingState;
  /** Its capacity table; absent for a stack never deployed. */
  readonly capacity?: readonly PoolCapacityRow[];
}

/** The engine's built-in function behind StackReference: a stack's outputs from the backend, no resource. */
const READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs";

/**
 * This stack's own outputs as its last successful deployment left them. The engine serves them from the stored
 * checkpoint, whose root outputs stay the previous ones until this update completes; a stack never deployed has
 * none. An invoke rather than a StackReference resource: nothing is recorded in state, so `pulumi refresh` finds
 * no drift in a reference to outputs that every update changes. Read once, by the stack layer; components get
 * plain values.
 */
export function readPreviousDeployment(): pulumi.Output<PreviousDeployment> {
  const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
  const read = pulumi.runtime.invokeOutput<{ outputs?: Record<string, unknown> }>(READ_STACK_OUTPUTS, { name: self });
  // The kubeconfig output is secret, which would taint everything read with it; the two picked here are not.
  return pulumi.unsecret(
    read.apply((r) => {
      const outputs = r.outputs ?? {};
      const sharing = outputs.sharing;
      const capacity = outputs.capacity;
      return {
        ...(isObject(sharing) ? { sharing: sharing as SharingState } : {}),
        ...(Array.isArray(capacity) ? { capacity: capacity as PoolCapacityRow[] } : {}),
      };
    }),
  );
}

function isObject(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
