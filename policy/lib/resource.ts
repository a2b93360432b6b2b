import type { ResourceValidationPolicy } from "@pulumi/policy";

/**
 * What a guardrail sees of one resource: the part of `ResourceValidationArgs` the checks read. Plain data, so
 * every check is a pure function that tests call without a Pulumi engine.
 * @see https://www.pulumi.com/docs/iac/using-pulumi/crossguard/core-concepts/
 */
export interface PolicyResource {
  /** Type token, e.g. `kubernetes:apps/v1:Deployment`. */
  readonly type: string;
  /** The resource's Pulumi name. */
  readonly name: string;
  /** The resource's inputs, as the engine passes them to the policy pack. */
  readonly props: Readonly<Record<string, unknown>>;
  /** The resource options a check reads. */
  readonly opts?: { readonly protect?: boolean };
}

/** A guardrail's logic: every violation of one resource, as messages naming the resource, the value and the fix. */
export type ResourceCheck = (resource: PolicyResource) => string[];

/** The metadata of a guardrail as the policy pack reports it. */
export interface GuardrailArgs {
  /** Policy name, kebab-case; the key of `--policy-pack-config` entries. */
  readonly name: string;
  /** One line: what the policy requires. */
  readonly description: string;
  /** How to comply, shown with a violation. */
  readonly remediationSteps: string;
}

/**
 * A resource validation policy that reports every message of `check`. The enforcement level is the pack's
 * (mandatory) unless `--policy-pack-config` overrides it per policy.
 */
export function guardrail(args: GuardrailArgs, check: ResourceCheck): ResourceValidationPolicy {
  return {
    ...args,
    validateResource: (resource, reportViolation) => {
      for (const message of check(resource)) reportViolation(message);
    },
  };
}

/** The kind and Pulumi name of a resource, as violations name it: `Deployment "triton-t4"`. */
export function describeResource(resource: PolicyResource): string {
  const kind = resource.type.slice(resource.type.lastIndexOf(":") + 1);
  return `${kind} "${resource.name}"`;
}

/** `value` when it is a plain object, else undefined. */
export function record(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** `value` when it is an array, else an empty one. */
export function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** `value` when it is a string, else undefined. */
export function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A value as it appears in a message: strings quoted, everything else as JSON. */
export function show(value: unknown): string {
  return value === undefined ? "unset" : JSON.stringify(value);
}
