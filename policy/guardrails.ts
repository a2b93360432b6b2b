import type { ResourceValidationPolicy } from "@pulumi/policy";
import { apiServiceTls } from "./policies/apiservice-tls";
import { draClaimOneGpu } from "./policies/dra-claim-one-gpu";
import { gpuLimitOne } from "./policies/gpu-limit-one";
import { helmReleasePinned } from "./policies/helm-release-pinned";
import { loadBalancerPorts } from "./policies/load-balancer-ports";
import { nfsShareProtected } from "./policies/nfs-share-protected";
import { noClusterAdminBinding } from "./policies/no-cluster-admin-binding";
import { noKubeSystem } from "./policies/no-kube-system";
import { noWildcardRbac } from "./policies/no-wildcard-rbac";
import { tritonModelsReadOnly } from "./policies/triton-models-read-only";

/** The policy pack's name, as `pulumi preview --policy-pack` reports it. */
export const PACK_NAME = "gpushare-guardrails";

/** Every guardrail of the pack, in the order they report. */
export const GUARDRAILS: readonly ResourceValidationPolicy[] = [
  noClusterAdminBinding,
  noWildcardRbac,
  apiServiceTls,
  gpuLimitOne,
  draClaimOneGpu,
  tritonModelsReadOnly,
  loadBalancerPorts,
  helmReleasePinned,
  nfsShareProtected,
  noKubeSystem,
];
