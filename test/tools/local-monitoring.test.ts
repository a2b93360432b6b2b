import { describe, expect, it } from "vitest";
import { containerEnv, expandEnv } from "../../tools/local-monitoring/main";
import { renderPodInfo } from "../../tools/local-monitoring/pod-info";

describe("local-monitoring's config expansion", () => {
  it("expands $(NAME) as prometheus-config-reloader does, and leaves unknown names and $NAME alone", () => {
    const text = "external_labels:\n  prometheus_replica: $(POD_NAME)\n  other: $(UNSET) $POD_NAME\n";
    expect(expandEnv(text, { POD_NAME: "prometheus-x-0" })).toBe(
      "external_labels:\n  prometheus_replica: prometheus-x-0\n  other: $(UNSET) $POD_NAME\n",
    );
  });
});

describe("local-monitoring's container environment", () => {
  it("takes plain values and the pod name, as the operator's config-reloader container gets them", () => {
    const env = [
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "SHARD", value: "0" },
      { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
    ];
    expect(containerEnv(env, "prometheus-x-0")).toEqual({ POD_NAME: "prometheus-x-0", SHARD: "0" });
    expect(expandEnv("shard: $(SHARD) pod: $(POD_NAME)", containerEnv(env, "p-0"))).toBe("shard: 0 pod: p-0");
  });
});

describe("local-monitoring's kube_pod_info", () => {
  it("gives one series of value 1 per pod with kube-state-metrics' labels, the node among them", () => {
    const text = renderPodInfo([
      {
        metadata: {
          namespace: "inference",
          name: "resnet-abc",
          uid: "u1",
          ownerReferences: [{ kind: "ReplicaSet", name: "resnet-5d", controller: true }],
        },
        spec: { nodeName: "gpu-h200-0" },
        status: { hostIP: "10.0.0.1", podIP: "127.245.0.3" },
      },
      { metadata: { namespace: "default", name: 'odd"name' } },
    ]);
    expect(text.split("\n")).toEqual([
      "# HELP kube_pod_info [STABLE] Information about pod.",
      "# TYPE kube_pod_info gauge",
      'kube_pod_info{namespace="inference",pod="resnet-abc",uid="u1",host_ip="10.0.0.1",pod_ip="127.245.0.3",node="gpu-h200-0",created_by_kind="ReplicaSet",created_by_name="resnet-5d",priority_class="",host_network="false"} 1',
      'kube_pod_info{namespace="default",pod="odd\\"name",uid="",host_ip="",pod_ip="",node="",created_by_kind="<none>",created_by_name="<none>",priority_class="",host_network="false"} 1',
      "",
    ]);
  });
});
