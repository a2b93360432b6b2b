import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import type { PolicyResource } from "../../policy/lib/resource";

/** What the engine hands a resource validation: `resource` plus the fields the guardrails do not read. */
export function engineArgs(resource: PolicyResource): ResourceValidationArgs {
  return {
    type: resource.type,
    name: resource.name,
    props: resource.props,
    urn: `urn:pulumi:test::gpushare::${resource.type}::${resource.name}`,
    opts: {
      protect: resource.opts?.protect ?? false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
    },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig<T extends object>(): T {
      throw new Error("the guardrails take no config");
    },
    notApplicable(reason?: string): never {
      throw new Error(`not applicable: ${reason ?? ""}`);
    },
  };
}

/** Every message `policy` reports for `resource` through CrossGuard's validateResource. */
export async function reportedBy(
  policy: ResourceValidationPolicy | undefined,
  resource: PolicyResource,
): Promise<string[]> {
  const messages: string[] = [];
  const report: ReportViolation = (message) => messages.push(message);
  const validate = policy?.validateResource;
  for (const v of validate === undefined ? [] : [validate].flat()) await v(engineArgs(resource), report);
  return messages;
}
