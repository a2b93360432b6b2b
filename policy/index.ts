import { PolicyPack } from "@pulumi/policy";
import { GUARDRAILS, PACK_NAME } from "./guardrails";

// Mandatory by default: a violation fails `pulumi preview` and stops `pulumi up` before anything changes.
// A stack can lower one policy with --policy-pack-config (see README.md).
new PolicyPack(PACK_NAME, {
  description: "gpushare's guardrails: least-privilege RBAC, verified TLS, GPU limits, read-only models, ...",
  enforcementLevel: "mandatory",
  policies: [...GUARDRAILS],
});
