import { isKind } from "../lib/kubernetes";
import type { PolicyResource } from "../lib/resource";
import { describeResource, guardrail, record, text } from "../lib/resource";

/**
 * The aggregation layer forwards requests, with the user's identity, to an APIService's backend; the API server
 * must verify that backend's certificate. The article skipped verification; gpushare sets a CA bundle.
 */
export function apiServiceTlsViolations(resource: PolicyResource): string[] {
  if (!isKind(resource, "apiregistration.k8s.io", "APIService")) return [];
  const spec = record(resource.props.spec);
  const service = record(spec?.service);
  const violations: string[] = [];
  if (spec?.insecureSkipTLSVerify === true) {
    violations.push(
      `${describeResource(resource)}: spec.insecureSkipTLSVerify is true, so the API server trusts any certificate its backend presents; remove it and set spec.caBundle to the CA that signed the backend's serving certificate`,
    );
  }
  // An APIService without a service is served by the API server itself and has no backend to verify.
  if (service !== undefined && (text(spec?.caBundle) ?? "") === "") {
    const backend = `${text(service.namespace) ?? "?"}/${text(service.name) ?? "?"}`;
    violations.push(
      `${describeResource(resource)}: spec.caBundle is unset, so the API server cannot verify its backend service "${backend}"; set it to the base64-encoded PEM of the CA that signed the backend's serving certificate`,
    );
  }
  return violations;
}

export const apiServiceTls = guardrail(
  {
    name: "apiservice-verified-tls",
    description: "Every APIService backed by a service verifies it: a caBundle, and no insecureSkipTLSVerify.",
    remediationSteps:
      "Issue the backend a serving certificate from a CA you create, set spec.caBundle to that CA, drop insecureSkipTLSVerify.",
  },
  apiServiceTlsViolations,
);
