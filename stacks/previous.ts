import * as pulumi from "@pulumi/pulumi";
import {
  CAPACITY_OUTPUT,
  type PreviousSharing,
  readPreviousSharing,
  SHARING_STATE_OUTPUT,
  SharingStateError,
} from "../components/k8s/gpu-operator-sharing-state";
import type { PoolCapacityRow } from "./capacity-table";

/** The outputs of this stack's previous deployment that the next one reads, as they were exported. */
export interface PreviousDeployment {
  /**
   * Its sharing state (`sharing`), read by `readPreviousSharing` of components/k8s/gpu-operator-sharing-state; absent before
   * configs were named after their content.
   */
  readonly sharing?: unknown;
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
      const sharing = outputs[SHARING_STATE_OUTPUT];
      const capacity = outputs[CAPACITY_OUTPUT];
      return {
        ...(sharing === undefined || sharing === null ? {} : { sharing }),
        ...(Array.isArray(capacity) ? { capacity: capacity as PoolCapacityRow[] } : {}),
      };
    }),
  );
}

/**
 * The sharing the previous deployment left, for the GPU operator and the capacity comparison. An output gpushare
 * cannot read fails the update with what is wrong and what to do (a `RunError`, printed without a stack trace)
 * before any node's config changes.
 */
export function previousSharing(previous: PreviousDeployment): PreviousSharing {
  try {
    return readPreviousSharing({ [SHARING_STATE_OUTPUT]: previous.sharing, [CAPACITY_OUTPUT]: previous.capacity });
  } catch (e) {
    if (e instanceof SharingStateError) throw new pulumi.RunError(e.message);
    throw e;
  }
}
