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

/**
 * This stack's own outputs as its last successful deployment left them, read through a StackReference to
 * itself: the engine serves the stored checkpoint, whose root outputs are the previous ones until this update
 * completes. A stack never deployed has none. Read once, by the stack layer; components get plain values.
 */
export function readPreviousDeployment(): pulumi.Output<PreviousDeployment> {
  const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
  const ref = new pulumi.StackReference(`${pulumi.getStack()}-previous-deployment`, { name: self });
  return pulumi.all([ref.getOutput("sharing"), ref.getOutput("capacity")]).apply(([sharing, capacity]) => ({
    ...(isObject(sharing) ? { sharing: sharing as SharingState } : {}),
    ...(Array.isArray(capacity) ? { capacity: capacity as PoolCapacityRow[] } : {}),
  }));
}

function isObject(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
