import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { GpuInferencePlatform } from "../../stacks/platform";
import { runProgram, stackFileConfig } from "../helpers";
import type { Engine } from "./engine";
import {
  eventually,
  initStack,
  kubectl,
  kubectlJson,
  must,
  prepareLocalStack,
  provideEngine,
  pulumi,
  stopEngine,
} from "./engine";

/**
 * The real Pulumi engine and providers against a real Kubernetes API server (loopback, KWOK-simulated GPU nodes):
 * preview, up, a no-op preview, refresh, export, the scheduler's verdict on one pod too many, a bad config, and
 * destroy - each step asserting what it claims, in order, on the `local` stack.
 */

interface Pod {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: { phase: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}
interface List<T> {
  items: T[];
}
interface Deployment {
  metadata: { name: string };
  spec: { replicas: number };
  status: { availableReplicas?: number; readyReplicas?: number };
}

const NS = "inference";
let engine: Engine;
let flatKubeconfig = "";

function podsOf(server: string): Pod[] {
  return kubectlJson<List<Pod>>(engine, ["get", "pods", "-n", NS, "-l", `app.kubernetes.io/instance=${server}`]).items;
}

describe.sequential("the local stack on the real engine", { timeout: 15 * 60_000 }, () => {
  beforeAll(() => {
    engine = provideEngine();
    flatKubeconfig = prepareLocalStack(engine);
  }, 75 * 60_000);

  afterAll(() => {
    if (engine !== undefined) stopEngine(engine);
  });

  it("previews exactly the resources the program registers under mocks", async () => {
    const r = pulumi(engine, ["preview", "--stack", "local", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const steps = (JSON.parse(r.stdout) as { steps: { op: string; urn: string }[] }).steps;
    const planned = steps
      .filter((s) => s.op === "create")
      // urn:pulumi:<stack>::<project>::<parent types $-joined>$<type>::<name>
      .map((s) => {
        const [types, name] = s.urn.split("::").slice(-2);
        return `${types.split("$").pop() ?? ""}::${name}`;
      })
      .filter((r) => r !== "pulumi:pulumi:Stack::gpushare-local");
    const mocked = await runProgram(() => new GpuInferencePlatform("gpushare", { config: stackFileConfig("local") }));
    expect(planned.sort()).toEqual(mocked.map((m) => `${m.type}::${m.name}`).sort());
  });

  it("up creates everything and every Deployment becomes available", () => {
    const r = pulumi(engine, ["up", "--yes", "--skip-preview", "--stack", "local"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const deployments = kubectlJson<List<Deployment>>(engine, ["get", "deployments", "-n", NS]).items;
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(["triton-mig", "triton-t4"]);
    for (const d of deployments) expect(d.status.availableReplicas, d.metadata.name).toBe(d.spec.replicas);
  });

  it("puts Triton pods only on their pool's simulated nodes", () => {
    const mig = podsOf("triton-mig");
    const t4 = podsOf("triton-t4");
    expect(mig).toHaveLength(2);
    expect(t4).toHaveLength(2);
    for (const p of mig) expect(p.spec.nodeName).toBe("gpu-a100-0");
    for (const p of t4) expect(p.spec.nodeName).toBe("gpu-t4-0");
  });

  it("plans no changes on a second preview", () => {
    const r = pulumi(engine, ["preview", "--stack", "local", "--expect-no-changes"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  });

  it("finds no drift on refresh", () => {
    const r = pulumi(engine, ["refresh", "--yes", "--skip-preview", "--stack", "local", "--expect-no-changes"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  });

  it("keeps no secret in plain text in the exported state", () => {
    const exported = must("pulumi", ["stack", "export", "--stack", "local"], { cwd: engine.project, env: engine.env });
    const key = /client-key-data: (\S+)/.exec(flatKubeconfig)?.[1] ?? "";
    expect(key.length, "the kubeconfig embeds a client key").toBeGreaterThan(100);
    expect(exported).not.toContain(key);
    expect(exported).not.toContain(key.slice(0, 40));
    expect(exported).not.toContain("BEGIN RSA PRIVATE KEY");
    expect(exported).not.toContain("BEGIN EC PRIVATE KEY");
    expect(exported).toContain('"ciphertext"');
  });

  it("leaves exactly the one pod past a pool's capacity Pending with Insufficient <resource>", async () => {
    kubectl(engine, ["scale", "deployment/triton-mig", "-n", NS, "--replicas=3"]);
    const pending = await eventually(60, () => {
      const pods = podsOf("triton-mig").filter((p) => p.status.phase === "Pending");
      const unschedulable = pods.filter((p) =>
        (p.status.conditions ?? []).some((c) => c.type === "PodScheduled" && c.reason === "Unschedulable"),
      );
      return unschedulable.length > 0 ? unschedulable : `pending pods: ${pods.map((p) => p.metadata.name).join(", ")}`;
    });
    expect(pending).toHaveLength(1);
    const message = pending[0].status.conditions?.find((c) => c.type === "PodScheduled")?.message ?? "";
    expect(message).toContain("Insufficient nvidia.com/mig-1g.5gb");
    expect(podsOf("triton-mig").filter((p) => p.status.phase === "Running")).toHaveLength(2);
    kubectl(engine, ["scale", "deployment/triton-mig", "-n", NS, "--replicas=2"]);
    await eventually(60, () => (podsOf("triton-mig").length === 2 ? true : "still 3 pods"));
  });

  it("fails preview of a bad config with the foundation's message and creates nothing", () => {
    // The local stack, with one server allowed to scale one past its pool's capacity.
    const doc = parseDocument(fs.readFileSync(path.join(engine.project, "Pulumi.local.yaml"), "utf8"));
    expect(doc.getIn(["config", "gpushare:servers", "triton-t4", "autoscaling", "maxReplicas"])).toBe(4);
    doc.setIn(["config", "gpushare:servers", "triton-t4", "autoscaling", "maxReplicas"], 5);
    doc.delete("encryptionsalt");
    doc.deleteIn(["config", "gpushare:kubeconfig"]);
    fs.writeFileSync(path.join(engine.project, "Pulumi.bad.yaml"), doc.toString());
    initStack(engine, "bad");
    const before = kubectl(engine, ["get", "all,configmaps", "-A", "-o", "name"]);
    const r = pulumi(engine, ["preview", "--stack", "bad"]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(
      "servers.triton-t4.autoscaling.maxReplicas: 5 pods of nvidia.com/gpu do not fit pool t4: at its 1 max node it advertises 4, 1 short; lower autoscaling.maxReplicas to 4 or raise gpuPools.t4.nodes.max",
    );
    const state = JSON.parse(
      must("pulumi", ["stack", "export", "--stack", "bad"], { cwd: engine.project, env: engine.env }),
    ) as { deployment: { resources?: unknown[] } };
    expect(state.deployment.resources ?? []).toEqual([]);
    expect(kubectl(engine, ["get", "all,configmaps", "-A", "-o", "name"])).toBe(before);
  });

  it("destroy removes everything it created", async () => {
    const r = pulumi(engine, ["destroy", "--yes", "--skip-preview", "--stack", "local"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    await eventually(120, () => {
      const ns = kubectlJson<List<{ metadata: { name: string } }>>(engine, ["get", "namespaces"]).items.map(
        (n) => n.metadata.name,
      );
      return ns.includes(NS) ? `namespace ${NS} still there` : true;
    });
    expect(kubectl(engine, ["get", "nodefeaturerules", "-o", "name"]).trim()).toBe("");
    expect(kubectl(engine, ["get", "configmaps", "-n", "gpu-operator", "-o", "name"]).trim()).toBe(
      "configmap/kube-root-ca.crt",
    );
    const state = JSON.parse(
      must("pulumi", ["stack", "export", "--stack", "local"], { cwd: engine.project, env: engine.env }),
    ) as { deployment: { resources?: unknown[] } };
    expect(state.deployment.resources ?? []).toEqual([]);
  });
});
