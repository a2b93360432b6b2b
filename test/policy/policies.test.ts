import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { GUARDRAILS, PACK_NAME } from "../../policy/guardrails";
import type { PolicyResource } from "../../policy/lib/resource";
import { apiServiceTlsViolations } from "../../policy/policies/apiservice-tls";
import { gpuLimitViolations } from "../../policy/policies/gpu-limit-one";
import { helmReleasePinnedViolations } from "../../policy/policies/helm-release-pinned";
import { loadBalancerPortViolations } from "../../policy/policies/load-balancer-ports";
import { nfsShareProtectedViolations } from "../../policy/policies/nfs-share-protected";
import { clusterAdminBindingViolations } from "../../policy/policies/no-cluster-admin-binding";
import { kubeSystemViolations } from "../../policy/policies/no-kube-system";
import { wildcardRbacViolations } from "../../policy/policies/no-wildcard-rbac";
import { tritonModelsReadOnlyViolations } from "../../policy/policies/triton-models-read-only";
import { reportedBy } from "./harness";

// ---------------------------------------------------------------------------------------------------------------
// Compliant baselines: each test changes one field.

const RBAC = "rbac.authorization.k8s.io";

const adapterBinding: PolicyResource = {
  type: `kubernetes:${RBAC}/v1:ClusterRoleBinding`,
  name: "adapter-resource-reader",
  props: {
    metadata: { name: "gpushare-adapter-resource-reader" },
    roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "gpushare-adapter-resource-reader" },
    subjects: [{ kind: "ServiceAccount", name: "prometheus-adapter", namespace: "monitoring" }],
  },
};

const adapterRole: PolicyResource = {
  type: `kubernetes:${RBAC}/v1:ClusterRole`,
  name: "adapter-resource-reader",
  props: {
    rules: [
      { apiGroups: [""], resources: ["namespaces", "pods", "services"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["custom.metrics.k8s.io"], resources: ["pods/avg_time_queue_us"], verbs: ["get"] },
    ],
  },
};

const apiService: PolicyResource = {
  type: "kubernetes:apiregistration.k8s.io/v1:APIService",
  name: "custom-metrics",
  props: {
    metadata: { name: "v1beta1.custom.metrics.k8s.io" },
    spec: {
      group: "custom.metrics.k8s.io",
      version: "v1beta1",
      groupPriorityMinimum: 100,
      versionPriority: 100,
      service: { namespace: "monitoring", name: "prometheus-adapter", port: 443 },
      caBundle: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
    },
  },
};

const tritonDeployment: PolicyResource = {
  type: "kubernetes:apps/v1:Deployment",
  name: "triton-t4",
  props: {
    metadata: { namespace: "inference", labels: { "app.kubernetes.io/name": "triton" } },
    spec: {
      replicas: 4,
      template: {
        metadata: { labels: { "app.kubernetes.io/name": "triton", "app.kubernetes.io/instance": "triton-t4" } },
        spec: {
          containers: [
            {
              name: "triton",
              image: "nvcr.io/nvidia/tritonserver:24.08-py3",
              ports: [{ containerPort: 8000 }, { containerPort: 8001 }, { containerPort: 8002 }],
              resources: {
                requests: { cpu: "1", memory: "4Gi", "nvidia.com/gpu": "1" },
                limits: { memory: "4Gi", "nvidia.com/gpu": 1 },
              },
              volumeMounts: [
                { name: "models", mountPath: "/models", readOnly: true },
                { name: "dshm", mountPath: "/dev/shm" },
              ],
            },
          ],
          volumes: [
            { name: "models", persistentVolumeClaim: { claimName: "models" } },
            { name: "dshm", emptyDir: { medium: "Memory" } },
          ],
        },
      },
    },
  },
};

const seedJob: PolicyResource = {
  type: "kubernetes:batch/v1:Job",
  name: "models-seed",
  props: {
    metadata: { namespace: "inference" },
    spec: {
      template: {
        spec: {
          containers: [
            { name: "seed", image: "curlimages/curl:8.11.1", volumeMounts: [{ name: "models", mountPath: "/models" }] },
          ],
          volumes: [{ name: "models", persistentVolumeClaim: { claimName: "models" } }],
        },
      },
    },
  },
};

const tritonService: PolicyResource = {
  type: "kubernetes:core/v1:Service",
  name: "triton-t4",
  props: {
    metadata: { namespace: "inference" },
    spec: {
      type: "LoadBalancer",
      ports: [
        { name: "http", port: 8000, targetPort: 8000 },
        { name: "grpc", port: 8001, targetPort: "grpc" },
      ],
    },
  },
};

const operatorRelease: PolicyResource = {
  type: "kubernetes:helm.sh/v3:Release",
  name: "gpu-operator",
  props: { chart: "gpu-operator", version: "v26.7.0", namespace: "gpu-operator" },
};

const modelShare: PolicyResource = {
  type: "openstack:sharedfilesystem/share:Share",
  name: "models-share",
  props: { shareProto: "NFS", size: 100 },
  opts: { protect: true },
};

const authReaderBinding: PolicyResource = {
  type: `kubernetes:${RBAC}/v1:RoleBinding`,
  name: "adapter-auth-reader",
  props: {
    metadata: { namespace: "kube-system" },
    roleRef: { apiGroup: RBAC, kind: "Role", name: "extension-apiserver-authentication-reader" },
    subjects: [{ kind: "ServiceAccount", name: "prometheus-adapter", namespace: "monitoring" }],
  },
};

/** A copy of `resource` whose prop at `path` is `value` (removed when `value` is undefined). */
function withProp(resource: PolicyResource, path: readonly (string | number)[], value: unknown): PolicyResource {
  const props: Record<string, unknown> = structuredClone({ ...resource.props });
  let node: Record<string | number, unknown> = props;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null) throw new Error(`no object at ${path.join(".")}`);
    node = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
  return { ...resource, props };
}

const TRITON_CONTAINER = ["spec", "template", "spec", "containers", 0] as const;

// ---------------------------------------------------------------------------------------------------------------

describe("no-cluster-admin-binding", () => {
  it("passes a binding to a least-privilege ClusterRole", () => {
    expect(clusterAdminBindingViolations(adapterBinding)).toEqual([]);
  });

  it("fails when a ClusterRoleBinding binds cluster-admin", () => {
    expect(clusterAdminBindingViolations(withProp(adapterBinding, ["roleRef", "name"], "cluster-admin"))).toEqual([
      'ClusterRoleBinding "adapter-resource-reader": roleRef is ClusterRole "cluster-admin", full control of the cluster for its subjects; bind a Role or ClusterRole that grants only the verbs and resources they use',
    ]);
  });

  it("fails when a namespaced RoleBinding binds cluster-admin", () => {
    const binding = {
      ...withProp(adapterBinding, ["roleRef", "name"], "cluster-admin"),
      type: `kubernetes:${RBAC}/v1:RoleBinding`,
    };
    expect(clusterAdminBindingViolations(binding)).toEqual([
      'RoleBinding "adapter-resource-reader": roleRef is ClusterRole "cluster-admin", full control of the cluster for its subjects; bind a Role or ClusterRole that grants only the verbs and resources they use',
    ]);
  });
});

describe("no-wildcard-rbac", () => {
  it("passes a ClusterRole that lists its groups, resources and verbs", () => {
    expect(wildcardRbacViolations(adapterRole)).toEqual([]);
  });

  it.each([
    [
      "verbs",
      ["*"],
      'ClusterRole "adapter-resource-reader": rules[0].verbs contains "*"; list the verbs it uses (get, list, watch, ...)',
    ],
    [
      "resources",
      ["pods", "*"],
      'ClusterRole "adapter-resource-reader": rules[0].resources contains "*"; list the resources (and subresources) it uses',
    ],
    [
      "apiGroups",
      ["*"],
      'ClusterRole "adapter-resource-reader": rules[0].apiGroups contains "*"; list the API groups it uses ("" for the core group)',
    ],
  ])("fails when a rule's %s has a wildcard", (field, value, message) => {
    expect(wildcardRbacViolations(withProp(adapterRole, ["rules", 0, field], value))).toEqual([message]);
  });

  it("fails when a namespaced Role has a subresource wildcard", () => {
    const role = {
      ...withProp(adapterRole, ["rules", 1, "resources"], ["pods/*"]),
      type: `kubernetes:${RBAC}/v1:Role`,
    };
    expect(wildcardRbacViolations(role)).toEqual([
      'Role "adapter-resource-reader": rules[1].resources contains "pods/*"; list the resources (and subresources) it uses',
    ]);
  });
});

describe("apiservice-verified-tls", () => {
  it("passes an APIService with a CA bundle", () => {
    expect(apiServiceTlsViolations(apiService)).toEqual([]);
  });

  it("passes a local APIService, which has no backend service", () => {
    const local = withProp(withProp(apiService, ["spec", "service"], undefined), ["spec", "caBundle"], undefined);
    expect(apiServiceTlsViolations(local)).toEqual([]);
  });

  it("fails when insecureSkipTLSVerify is true", () => {
    expect(apiServiceTlsViolations(withProp(apiService, ["spec", "insecureSkipTLSVerify"], true))).toEqual([
      `APIService "custom-metrics": spec.insecureSkipTLSVerify is true, so the API server trusts any certificate its backend presents; remove it and set spec.caBundle to the CA that signed the backend's serving certificate`,
    ]);
  });

  it("fails when the caBundle is missing", () => {
    expect(apiServiceTlsViolations(withProp(apiService, ["spec", "caBundle"], undefined))).toEqual([
      `APIService "custom-metrics": spec.caBundle is unset, so the API server cannot verify its backend service "monitoring/prometheus-adapter"; set it to the base64-encoded PEM of the CA that signed the backend's serving certificate`,
    ]);
  });
});

describe("gpu-limit-exactly-one", () => {
  it("passes a Triton container with one GPU as limit and request", () => {
    expect(gpuLimitViolations(tritonDeployment)).toEqual([]);
  });

  it("passes containers without GPUs", () => {
    expect(gpuLimitViolations(seedJob)).toEqual([]);
  });

  it("fails when the GPU is requested but not limited", () => {
    const d = withProp(tritonDeployment, [...TRITON_CONTAINER, "resources", "limits", "nvidia.com/gpu"], undefined);
    expect(gpuLimitViolations(d)).toEqual([
      'Deployment "triton-t4" container "triton": resources.requests["nvidia.com/gpu"] has no limit; GPUs are allocated from limits: set resources.limits["nvidia.com/gpu"] to 1',
    ]);
  });

  it("fails when the limit is two GPUs", () => {
    const d = withProp(tritonDeployment, [...TRITON_CONTAINER, "resources", "limits", "nvidia.com/gpu"], 2);
    expect(gpuLimitViolations(d)).toEqual([
      'Deployment "triton-t4" container "triton": resources.limits["nvidia.com/gpu"] is 2; set it to 1 (one GPU or slice per container) and scale with replicas',
    ]);
  });

  it("fails when the request differs from one", () => {
    const d = withProp(tritonDeployment, [...TRITON_CONTAINER, "resources", "requests", "nvidia.com/gpu"], "2");
    expect(gpuLimitViolations(d)).toEqual([
      'Deployment "triton-t4" container "triton": resources.requests["nvidia.com/gpu"] is "2"; set it to 1 or leave it out (it defaults to the limit)',
    ]);
  });

  it("fails when a MIG slice limit in a CronJob's pod is not one", () => {
    const cronJob: PolicyResource = {
      type: "kubernetes:batch/v1:CronJob",
      name: "warmup",
      props: {
        spec: {
          jobTemplate: {
            spec: {
              template: {
                spec: { containers: [{ name: "warm", resources: { limits: { "nvidia.com/mig-1g.5gb": "3" } } }] },
              },
            },
          },
        },
      },
    };
    expect(gpuLimitViolations(cronJob)).toEqual([
      'CronJob "warmup" container "warm": resources.limits["nvidia.com/mig-1g.5gb"] is "3"; set it to 1 (one GPU or slice per container) and scale with replicas',
    ]);
  });
});

describe("triton-models-read-only", () => {
  it("passes a Triton Deployment that mounts its models read-only", () => {
    expect(tritonModelsReadOnlyViolations(tritonDeployment)).toEqual([]);
  });

  it("passes the seed Job, the one writer of the model store", () => {
    expect(tritonModelsReadOnlyViolations(seedJob)).toEqual([]);
  });

  it("passes a Deployment that is not Triton", () => {
    const other = withProp(
      withProp(tritonDeployment, ["metadata", "labels", "app.kubernetes.io/name"], "loader"),
      ["spec", "template", "metadata", "labels", "app.kubernetes.io/name"],
      "loader",
    );
    expect(
      tritonModelsReadOnlyViolations(withProp(other, [...TRITON_CONTAINER, "volumeMounts", 0, "readOnly"], false)),
    ).toEqual([]);
  });

  it("fails when the models volume is mounted read-write", () => {
    const d = withProp(tritonDeployment, [...TRITON_CONTAINER, "volumeMounts", 0, "readOnly"], undefined);
    expect(tritonModelsReadOnlyViolations(d)).toEqual([
      'Deployment "triton-t4" container "triton": volumeMount "models" at /models is writable; set readOnly: true (Triton only reads models; the model store\'s seed Job writes them)',
    ]);
  });

  it("fails when an NFS volume under another name is mounted read-write", () => {
    const nfs = withProp(tritonDeployment, ["spec", "template", "spec", "volumes", 0], {
      name: "repo",
      nfs: { server: "10.0.0.5", path: "/models" },
    });
    const d = withProp(nfs, [...TRITON_CONTAINER, "volumeMounts", 0], {
      name: "repo",
      mountPath: "/models",
      readOnly: false,
    });
    expect(tritonModelsReadOnlyViolations(d)).toEqual([
      'Deployment "triton-t4" container "triton": volumeMount "repo" at /models is writable; set readOnly: true (Triton only reads models; the model store\'s seed Job writes them)',
    ]);
  });
});

describe("load-balancer-serving-ports-only", () => {
  it("passes a LoadBalancer with Triton's HTTP and gRPC ports", () => {
    expect(loadBalancerPortViolations(tritonService)).toEqual([]);
  });

  it("passes any port of a ClusterIP Service", () => {
    const clusterIp = withProp(
      withProp(tritonService, ["spec", "type"], "ClusterIP"),
      ["spec", "ports", 1, "port"],
      8002,
    );
    expect(loadBalancerPortViolations(clusterIp)).toEqual([]);
  });

  it("fails when the metrics port is exposed through the LoadBalancer", () => {
    const svc = withProp(tritonService, ["spec", "ports", 2], { name: "metrics", port: 8002, targetPort: 8002 });
    expect(loadBalancerPortViolations(svc)).toEqual([
      `Service "triton-t4": spec.ports[2] (metrics) exposes port 8002; expose only Triton's serving ports 8000 and 8001 through a LoadBalancer, or make the Service ClusterIP`,
      `Service "triton-t4": spec.ports[2] (metrics) forwards to targetPort 8002; expose only Triton's serving ports 8000 and 8001 through a LoadBalancer, or make the Service ClusterIP`,
    ]);
  });

  it("fails when a serving port forwards to another container port", () => {
    const svc = withProp(tritonService, ["spec", "ports", 0, "targetPort"], 8002);
    expect(loadBalancerPortViolations(svc)).toEqual([
      `Service "triton-t4": spec.ports[0] (http) forwards to targetPort 8002; expose only Triton's serving ports 8000 and 8001 through a LoadBalancer, or make the Service ClusterIP`,
    ]);
  });
});

describe("helm-release-pinned", () => {
  it.each(["v26.7.0", "88.5.3", "5.3.0", "1.0.0-rc.1+build.5"])("passes the exact version %s", (version) => {
    expect(helmReleasePinnedViolations(withProp(operatorRelease, ["version"], version))).toEqual([]);
  });

  it("fails when the version is unset", () => {
    expect(helmReleasePinnedViolations(withProp(operatorRelease, ["version"], undefined))).toEqual([
      'Release "gpu-operator": version is unset, so every update installs the newest chart; set version to one exact chart version (MAJOR.MINOR.PATCH)',
    ]);
  });

  it("fails when the version is empty", () => {
    expect(helmReleasePinnedViolations(withProp(operatorRelease, ["version"], ""))).toEqual([
      'Release "gpu-operator": version is unset, so every update installs the newest chart; set version to one exact chart version (MAJOR.MINOR.PATCH)',
    ]);
  });

  it.each(["^5.3.0", "~5.3.0", "*", "5.x", "5.3.X", ">=5.3.0", "5.3", ">5.0.0 <6.0.0", "5.3.0 || 5.4.0"])(
    "fails when the version is the range %s",
    (version) => {
      expect(helmReleasePinnedViolations(withProp(operatorRelease, ["version"], version))).toEqual([
        `Release "gpu-operator": version "${version}" is a range, not one chart version; set one exact chart version (MAJOR.MINOR.PATCH, no ^ ~ * x or comparison)`,
      ]);
    },
  );
});

describe("nfs-share-protected", () => {
  it("passes a protected share", () => {
    expect(nfsShareProtectedViolations(modelShare)).toEqual([]);
  });

  it("fails when the share is not protected", () => {
    expect(nfsShareProtectedViolations({ ...modelShare, opts: { protect: false } })).toEqual([
      'Share "models-share": protect is false, so pulumi destroy or a replacing change deletes the share and every model in it; create it with { protect: true } (stack config modelStore.allowDestroy: false, the default)',
    ]);
  });
});

describe("no-kube-system-workloads", () => {
  it.each([tritonDeployment, seedJob, tritonService, operatorRelease])("passes $type in its own namespace", (r) => {
    expect(kubeSystemViolations(r)).toEqual([]);
  });

  it("passes the extension-apiserver-authentication-reader RoleBinding, which must live in kube-system", () => {
    expect(kubeSystemViolations(authReaderBinding)).toEqual([]);
  });

  it("fails when a Deployment is in kube-system", () => {
    expect(kubeSystemViolations(withProp(tritonDeployment, ["metadata", "namespace"], "kube-system"))).toEqual([
      `Deployment "triton-t4": metadata.namespace is "kube-system", which belongs to the cluster's own components; use a namespace of gpushare's own (gpuOperator, monitoring, metricsAdapter or inference .namespace in the stack config)`,
    ]);
  });

  it.each([
    ["kubernetes:batch/v1:Job", "Job"],
    ["kubernetes:core/v1:Service", "Service"],
    ["kubernetes:core/v1:ConfigMap", "ConfigMap"],
    ["kubernetes:monitoring.coreos.com/v1:PodMonitor", "PodMonitor"],
  ])("fails when a %s is in kube-system", (type, kind) => {
    const r: PolicyResource = { type, name: "adapter", props: { metadata: { namespace: "kube-system" } } };
    expect(kubeSystemViolations(r)).toEqual([
      `${kind} "adapter": metadata.namespace is "kube-system", which belongs to the cluster's own components; use a namespace of gpushare's own (gpuOperator, monitoring, metricsAdapter or inference .namespace in the stack config)`,
    ]);
  });

  it("fails when a Helm release installs into kube-system", () => {
    expect(kubeSystemViolations(withProp(operatorRelease, ["namespace"], "kube-system"))).toEqual([
      `Release "gpu-operator": namespace is "kube-system", which belongs to the cluster's own components; use a namespace of gpushare's own (gpuOperator, monitoring, metricsAdapter or inference .namespace in the stack config)`,
    ]);
  });

  it("fails when a kube-system RoleBinding binds a ClusterRole", () => {
    const binding = withProp(authReaderBinding, ["roleRef"], { apiGroup: RBAC, kind: "ClusterRole", name: "edit" });
    expect(kubeSystemViolations(binding)).toEqual([
      `RoleBinding "adapter-auth-reader": metadata.namespace is "kube-system", which belongs to the cluster's own components; use a namespace of gpushare's own (gpuOperator, monitoring, metricsAdapter or inference .namespace in the stack config)`,
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The pack: every guardrail reports through CrossGuard's validateResource.

describe(`the ${PACK_NAME} pack`, () => {
  it("has ten guardrails with unique names, none lowering the pack's mandatory level", () => {
    const names = GUARDRAILS.map((p) => p.name);
    expect(names).toEqual([
      "no-cluster-admin-binding",
      "no-wildcard-rbac",
      "apiservice-verified-tls",
      "gpu-limit-exactly-one",
      "dra-claim-one-gpu",
      "triton-models-read-only",
      "load-balancer-serving-ports-only",
      "helm-release-pinned",
      "nfs-share-protected",
      "no-kube-system-workloads",
    ]);
    expect(GUARDRAILS.every((p) => p.enforcementLevel === undefined)).toBe(true);
  });

  it("depends on the @pulumi/policy, @pulumi/pulumi and typescript of the root package.json", () => {
    const read = (file: string): Record<string, Record<string, string>> =>
      JSON.parse(fs.readFileSync(path.resolve(__dirname, "../..", file), "utf8"));
    const root = read("package.json");
    const pack = read("policy/package.json");
    const rootVersions = { ...root.dependencies, ...root.devDependencies };
    const packVersions = { ...pack.dependencies, ...pack.devDependencies };
    for (const name of ["@pulumi/policy", "@pulumi/pulumi", "typescript", "@types/node"]) {
      expect(packVersions[name], name).toBe(rootVersions[name]);
    }
  });

  it("passes every compliant baseline through every guardrail", async () => {
    const baselines = [adapterBinding, adapterRole, apiService, tritonDeployment, seedJob, tritonService];
    for (const resource of [...baselines, operatorRelease, modelShare, authReaderBinding]) {
      for (const policy of GUARDRAILS) expect(await reportedBy(policy, resource)).toEqual([]);
    }
  });

  it("fails when the engine passes an unprotected share: nfs-share-protected reads the resource options", async () => {
    const policy = GUARDRAILS.find((p) => p.name === "nfs-share-protected");
    expect(await reportedBy(policy, { ...modelShare, opts: { protect: false } })).toEqual([
      'Share "models-share": protect is false, so pulumi destroy or a replacing change deletes the share and every model in it; create it with { protect: true } (stack config modelStore.allowDestroy: false, the default)',
    ]);
  });

  it("fails when one resource breaks two rules: each message is reported", async () => {
    const svc = withProp(tritonService, ["spec", "ports", 0], { name: "admin", port: 9000, targetPort: 9000 });
    const policy = GUARDRAILS.find((p) => p.name === "load-balancer-serving-ports-only");
    expect(await reportedBy(policy, svc)).toHaveLength(2);
  });
});
