import { describe, expect, it } from "vitest";
import { containerEnv, expandEnv } from "../../tools/local-monitoring/main";

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
