import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { GpuInferencePlatform } from "../../stacks/platform";
import { runProgram, stackFileConfig } from "../helpers";
import type { Engine } from "./engine";
import type { List } from "./shapes";
import { NS, podsOf } from "./shapes";
import {
  eventually,
  initStack,
  kubectl,
  kubectlJson,
  must,
  prepareLocalStack,
  provideEngine,
  pulumi,
  simTriton,
  stopEngine,
} from "./engine";

/**
 * The real Pulumi engine and providers against a real Kubernetes API server (loopback, KWOK-simulated GPU nodes):
 * preview, up, a no-op preview, refresh, export, the scheduler's verdict on one pod too many, a bad config, and
 * destroy - each step asserting what it claims, in order, on the `local` stack.
 */

interface Node {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  status: { allocatable?: Record<string, string> };
}
interface Deployment {
  metadata: { name: string };
  spec: { replicas: number };
  status: { availableReplicas?: number; readyReplicas?: number };
}

let engine: Engine;
let flatKubeconfig = "";

function node(name: string): Node {
  return kubectlJson<Node>(engine, ["get", "node", name]);
}

/** The GPU resources a node advertises (what the simulated device plugin wrote into its status). */
function gpuResources(name: string): Record<string, string> {
  const allocatable = node(name).status.allocatable ?? {};
  return Object.fromEntries(Object.entries(allocatable).filter(([k]) => k.startsWith("nvidia.com/")));
}

function devicePluginKeys(): string[] {
  const cm = kubectlJson<{ data: Record<string, string> }>(engine, [
    "get",
    "configmap",
    "gpushare-device-plugin-configs",
    "-n",
    "gpu-operator",
  ]);
  return Object.keys(cm.data).sort();
}

// The known answers, worked out by hand: a pool's device-plugin key is <pool>-<first 8 hex digits of the SHA-256
// of its config YAML> (`printf '<yaml>' | sha256sum`); T4 time-sliced 4 ways under mixed is t4-4887afcf, 7 ways
// t4-bc30085b; the A100 without sharing under mixed is a100-f2bcc930.
const T4_KEY_4 = "t4-4887afcf";
const T4_KEY_7 = "t4-bc30085b";
const A100_KEY = "a100-f2bcc930";

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
    const mig = podsOf(engine, "triton-mig");
    const t4 = podsOf(engine, "triton-t4");
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

  it("has node-feature-discovery label each simulated node from the program's NodeFeatureRules", () => {
    expect(node("gpu-t4-0").metadata.labels).toMatchObject({
      "gpushare.io/pool": "t4",
      "nvidia.com/device-plugin.config": T4_KEY_4,
    });
    expect(node("gpu-t4-0").metadata.labels?.["nvidia.com/mig.config"]).toBeUndefined();
    expect(node("gpu-a100-0").metadata.labels).toMatchObject({
      "gpushare.io/pool": "a100",
      "nvidia.com/device-plugin.config": A100_KEY,
      "nvidia.com/mig.config": "all-balanced",
    });
  });

  it("has the simulated device plugin advertise what NVIDIA's would for each node's config and hardware", () => {
    expect(gpuResources("gpu-t4-0")).toEqual({ "nvidia.com/gpu": "4" });
    expect(gpuResources("gpu-a100-0")).toEqual({
      "nvidia.com/mig-1g.5gb": "2",
      "nvidia.com/mig-2g.10gb": "1",
      "nvidia.com/mig-3g.20gb": "1",
    });
    expect(node("gpu-t4-0").metadata.annotations?.["sim.gpushare.io/applied-config"]).toBe(T4_KEY_4);
  });

  it("previews a time-slicing change as a capacity table before anything changes", () => {
    for (const [key, value] of [
      ["gpushare:gpuPools.t4.timeSlicing.replicas", "7"],
      ["gpushare:servers.triton-t4.autoscaling.maxReplicas", "7"],
    ]) {
      must(
        "pulumi",
        ["config", "set", "--path", "--type", "int", key, value, "--stack", "local", "--non-interactive"],
        {
          cwd: engine.project,
          env: engine.env,
        },
      );
    }
    const r = pulumi(engine, ["preview", "--stack", "local", "--diff"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    // With --diff the CLI prints diagnostics (the warning) to stderr, the diff to stdout.
    const out = `${r.stdout}\n${r.stderr}`.replace(/\s+\n/g, "\n");
    expect(out).toContain("GPU sharing changes with this update:");
    expect(out).toMatch(/t4 +nvidia\.com\/gpu +4 +7 \(\+3\)/);
    expect(out).toMatch(/triton-t4 +nvidia\.com\/gpu +7 +NO +yes/);
    expect(out).toContain(T4_KEY_7);
    // Nothing has moved yet.
    expect(gpuResources("gpu-t4-0")).toEqual({ "nvidia.com/gpu": "4" });
  });

  it("moves the node's label on up, and the node then advertises the new count", async () => {
    const r = pulumi(engine, ["up", "--yes", "--skip-preview", "--stack", "local"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    // The new key is there, and the previous one is kept until the next update.
    expect(devicePluginKeys()).toEqual([A100_KEY, "default", T4_KEY_4, T4_KEY_7].sort());
    await eventually(60, () =>
      node("gpu-t4-0").metadata.labels?.["nvidia.com/device-plugin.config"] === T4_KEY_7
        ? true
        : `label is ${node("gpu-t4-0").metadata.labels?.["nvidia.com/device-plugin.config"]}`,
    );
    await eventually(60, () =>
      gpuResources("gpu-t4-0")["nvidia.com/gpu"] === "7"
        ? true
        : `gpu-t4-0 advertises ${JSON.stringify(gpuResources("gpu-t4-0"))}`,
    );
    expect(gpuResources("gpu-t4-0")).toEqual({ "nvidia.com/gpu": "7" });
    // The A100 pool did not change: same label, same resources.
    expect(node("gpu-a100-0").metadata.labels?.["nvidia.com/device-plugin.config"]).toBe(A100_KEY);
  });

  it("schedules exactly the new capacity: the HPA runs 7 pods on the T4 node, an 8th stays Pending", async () => {
    // Queue time above the HPA's target on every triton-t4 pod (simulated Triton metrics): the HPA scales to its
    // maximum, which the config change raised to the pool's new capacity.
    await simTriton(engine, "PUT", "/servers/triton-t4/load", { requestsPerSecond: 20, queueUsPerRequest: 300 });
    await eventually(240, () => {
      const running = podsOf(engine, "triton-t4").filter((p) => p.status.phase === "Running");
      return running.length === 7 ? true : `${running.length} of 7 Running`;
    });
    for (const p of podsOf(engine, "triton-t4")) expect(p.spec.nodeName).toBe("gpu-t4-0");
    // One past capacity: the program refuses it, so the live HPA is widened by hand.
    kubectl(engine, ["patch", "hpa", "triton-t4", "-n", NS, "--type", "merge", "-p", '{"spec":{"maxReplicas":8}}']);
    const pending = await eventually(120, () => {
      const unschedulable = podsOf(engine, "triton-t4").filter((p) =>
        (p.status.conditions ?? []).some((c) => c.type === "PodScheduled" && c.reason === "Unschedulable"),
      );
      return unschedulable.length > 0 ? unschedulable : "no unschedulable pod yet";
    });
    expect(pending).toHaveLength(1);
    expect(pending[0].status.conditions?.find((c) => c.type === "PodScheduled")?.message ?? "").toContain(
      "Insufficient nvidia.com/gpu",
    );
    expect(podsOf(engine, "triton-t4").filter((p) => p.status.phase === "Running")).toHaveLength(7);
    kubectl(engine, ["patch", "hpa", "triton-t4", "-n", NS, "--type", "merge", "-p", '{"spec":{"maxReplicas":7}}']);
    await simTriton(engine, "PUT", "/servers/triton-t4/load", { requestsPerSecond: 0, queueUsPerRequest: 0 });
    await eventually(300, () =>
      podsOf(engine, "triton-t4").length === 2 ? true : `${podsOf(engine, "triton-t4").length} pods`,
    );
  });

  it("drops the previous generation's key on the next update, and then plans no changes", () => {
    const r = pulumi(engine, ["up", "--yes", "--skip-preview", "--stack", "local"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(devicePluginKeys()).toEqual([A100_KEY, "default", T4_KEY_7].sort());
    const again = pulumi(engine, ["preview", "--stack", "local", "--expect-no-changes"]);
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(again.stdout).not.toContain("GPU sharing changes");
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
      const pods = podsOf(engine, "triton-mig").filter((p) => p.status.phase === "Pending");
      const unschedulable = pods.filter((p) =>
        (p.status.conditions ?? []).some((c) => c.type === "PodScheduled" && c.reason === "Unschedulable"),
      );
      return unschedulable.length > 0 ? unschedulable : `pending pods: ${pods.map((p) => p.metadata.name).join(", ")}`;
    });
    expect(pending).toHaveLength(1);
    const message = pending[0].status.conditions?.find((c) => c.type === "PodScheduled")?.message ?? "";
    expect(message).toContain("Insufficient nvidia.com/mig-1g.5gb");
    expect(podsOf(engine, "triton-mig").filter((p) => p.status.phase === "Running")).toHaveLength(2);
    kubectl(engine, ["scale", "deployment/triton-mig", "-n", NS, "--replicas=2"]);
    await eventually(60, () => (podsOf(engine, "triton-mig").length === 2 ? true : "still 3 pods"));
  });

  it("fails preview of a bad config with the foundation's message and creates nothing", () => {
    // The local stack as the sharing change left it (T4 time-sliced 7 ways), with one server allowed to scale one
    // past its pool's capacity.
    const doc = parseDocument(fs.readFileSync(path.join(engine.project, "Pulumi.local.yaml"), "utf8"));
    expect(doc.getIn(["config", "gpushare:servers", "triton-t4", "autoscaling", "maxReplicas"])).toBe(7);
    doc.setIn(["config", "gpushare:servers", "triton-t4", "autoscaling", "maxReplicas"], 8);
    doc.delete("encryptionsalt");
    doc.deleteIn(["config", "gpushare:kubeconfig"]);
    fs.writeFileSync(path.join(engine.project, "Pulumi.bad.yaml"), doc.toString());
    initStack(engine, "bad");
    const before = kubectl(engine, ["get", "all,configmaps", "-A", "-o", "name"]);
    const r = pulumi(engine, ["preview", "--stack", "bad"]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(
      "servers.triton-t4.autoscaling.maxReplicas: 8 pods of nvidia.com/gpu do not fit pool t4: at its 1 max node it advertises 7, 1 short; lower autoscaling.maxReplicas to 7 or raise gpuPools.t4.nodes.max",
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
