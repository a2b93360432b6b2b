import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseDocument } from "yaml";
import type { Engine } from "./engine";
import { NS, podsOf } from "./shapes";
import {
  eventually,
  FIXTURE,
  initStack,
  kubectl,
  kubectlJson,
  must,
  provideEngine,
  pulumi,
  run,
  simTriton,
  stopEngine,
} from "./engine";

/**
 * A plan deployed: `npm run plan` for workloads sized to the local cluster's simulated hardware (one A100-SXM4-40GB
 * node, one T4 node), its stack fragment merged into a copy of the local stack, `pulumi up`, and every server's pods
 * scheduled at their peak on the nodes node-feature-discovery labels for the planned pools.
 */

// Small models: seven isolated replicas (only a MIG slice or a whole GPU will do) and four shared ones.
const WORKLOADS = `gpus:
  A100-SXM4-40GB: { gpusPerNode: 1, costPerNode: 3.2, maxNodes: 1 }
  T4: { gpusPerNode: 1, costPerNode: 0.55, maxNodes: 1 }
servers:
  isolated: { modelMemoryGiB: 0.5, maxReplicas: 7, isolation: full }
  shared: { modelMemoryGiB: 0.5, maxReplicas: 4, isolation: shared }
`;

// A whole T4 for a model that needs one to itself, and a T4 time-sliced for small shared ones: two pools of one model.
const TWO_T4_WORKLOADS = `gpus:
  T4: { gpusPerNode: 1, costPerNode: 0.55, maxNodes: 2 }
servers:
  isolated: { modelMemoryGiB: 14, maxReplicas: 1, isolation: full }
  shared: { modelMemoryGiB: 0.5, maxReplicas: 4, isolation: shared }
`;

/** A second simulated T4 node and what nfd-worker would publish for it, as test/e2e/fixture/gpu-nodes.yaml has. */
const SECOND_T4 = `apiVersion: v1
kind: Node
metadata:
  name: gpu-t4-1
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
    sim.gpushare.io/gpu-model: T4
    sim.gpushare.io/gpu-count: "1"
  labels:
    kubernetes.io/hostname: gpu-t4-1
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
status:
  allocatable: { cpu: "16", memory: 64Gi, pods: "110" }
  capacity: { cpu: "16", memory: 64Gi, pods: "110" }
---
apiVersion: nfd.k8s-sigs.io/v1alpha1
kind: NodeFeature
metadata:
  name: gpu-t4-1
  namespace: node-feature-discovery
  labels:
    nfd.node.kubernetes.io/node-name: gpu-t4-1
spec:
  features:
    attributes:
      system.name:
        elements:
          nodename: gpu-t4-1
    instances:
      pci.device:
        elements:
          - attributes: { class: "0302", vendor: "10de", device: "1eb8", subsystem_vendor: "10de", subsystem_device: "12a2" }
`;

interface Fragment {
  config: {
    "gpushare:cluster": { migStrategy: string };
    "gpushare:gpuPools": Record<
      string,
      {
        gpu: string;
        mig?: { profiles?: Record<string, number>; layout?: string };
        nodeSelector?: Record<string, string>;
      }
    >;
    "gpushare:servers": Record<string, { pool: string; resource: string; autoscaling?: { maxReplicas: number } }>;
  };
}

let engine: Engine;
let fragment: Fragment;

/** `npm run plan --out` for `workloads`, read back as the stack fragment it writes. */
function planFragment(workloads: string, name: string): Fragment {
  const input = path.join(engine.scratch, `${name}.workloads.yaml`);
  const out = path.join(engine.scratch, name);
  fs.writeFileSync(input, workloads);
  const r = run(
    path.join(engine.project, "node_modules", ".bin", "tsx"),
    ["scripts/plan.ts", "--workloads", input, "--out", out],
    { cwd: engine.project, env: engine.env },
  );
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return parse(fs.readFileSync(out, "utf8")) as Fragment;
}

/**
 * The local stack's settings (existing cluster, installed operator and monitoring), with the plan's strategy, pools
 * and servers; Services skip waiting for a load balancer nobody answers here.
 */
function writePlannedStack(planned: Fragment, file: string): void {
  const doc = parseDocument(fs.readFileSync(path.join(engine.project, "Pulumi.local.yaml"), "utf8"));
  doc.delete("encryptionsalt");
  doc.deleteIn(["config", "gpushare:kubeconfig"]);
  doc.setIn(["config", "gpushare:cluster", "migStrategy"], planned.config["gpushare:cluster"].migStrategy);
  doc.setIn(["config", "gpushare:gpuPools"], planned.config["gpushare:gpuPools"]);
  const servers = structuredClone(planned.config["gpushare:servers"]) as Record<string, Record<string, unknown>>;
  for (const s of Object.values(servers)) {
    s.resources = { cpu: "100m", memory: "256Mi" };
    s.service = { annotations: { "pulumi.com/skipAwait": "true" } };
  }
  doc.setIn(["config", "gpushare:servers"], servers);
  fs.writeFileSync(path.join(engine.project, file), doc.toString());
}

/** A new stack on the written stack file, its kubeconfig set as a secret. */
function initPlanned(stack: string): void {
  initStack(engine, stack);
  const kubeconfig = kubectl(engine, ["config", "view", "--raw", "--flatten", "--minify"]);
  must("pulumi", ["config", "set", "--secret", "gpushare:kubeconfig", "--stack", stack, "--non-interactive"], {
    cwd: engine.project,
    env: engine.env,
    input: kubeconfig,
  });
}

/** A new stack on the written stack file, and `pulumi up`. */
function upPlanned(stack: string): ReturnType<typeof pulumi> {
  initPlanned(stack);
  return pulumi(engine, ["up", "--yes", "--skip-preview", "--stack", stack]);
}

/**
 * Each server at its peak: an autoscaled one through its HPA, driven by simulated queue time above the target (the
 * HPA would undo a scale by hand), a fixed one by hand; every pod on the node `nodeOf` names.
 */
async function serversAtPeak(
  planned: Fragment,
  nodeOf: (server: Fragment["config"]["gpushare:servers"][string]) => string,
): Promise<void> {
  for (const [name, server] of Object.entries(planned.config["gpushare:servers"])) {
    if (server.autoscaling === undefined) {
      kubectl(engine, ["scale", `deployment/${name}`, "-n", NS, "--replicas=1"]);
    } else {
      await simTriton(engine, "PUT", `/servers/${name}/load`, { requestsPerSecond: 20, queueUsPerRequest: 300 });
    }
  }
  for (const [name, server] of Object.entries(planned.config["gpushare:servers"])) {
    const peak = server.autoscaling?.maxReplicas ?? 1;
    await eventually(240, () => {
      const running = podsOf(engine, name).filter((p) => p.status.phase === "Running");
      return running.length === peak ? true : `${name}: ${running.length} of ${peak} Running`;
    });
    for (const p of podsOf(engine, name)) expect(p.spec.nodeName, name).toBe(nodeOf(server));
  }
}

describe.sequential("a planned layout on the real engine", { timeout: 10 * 60_000 }, () => {
  beforeAll(() => {
    // Ports of its own: the other end-to-end files may run at the same time.
    engine = provideEngine({ portOffset: 200 });
    kubectl(engine, ["apply", "--server-side", "-f", path.join(FIXTURE, "installed-namespaces.yaml")]);
    kubectl(engine, ["wait", "--for=condition=Established", "--timeout=60s", "crd/podmonitors.monitoring.coreos.com"]);
    kubectl(engine, ["apply", "--server-side", "-f", path.join(FIXTURE, "gpu-nodes.yaml")]);
    kubectl(engine, ["wait", "--for=condition=Ready", "--timeout=60s", "node/gpu-a100-0", "node/gpu-t4-0"]);
  }, 75 * 60_000);

  afterAll(() => {
    if (engine !== undefined) stopEngine(engine);
  });

  it("plans the workloads onto the two simulated GPUs", () => {
    fragment = planFragment(WORKLOADS, "fragment.yaml");
    const pools = Object.values(fragment.config["gpushare:gpuPools"]).map((p) => p.gpu);
    expect(pools.sort()).toEqual(["A100-SXM4-40GB", "T4"]);
    expect(Object.keys(fragment.config["gpushare:servers"]).sort()).toEqual(["isolated", "shared"]);
  });

  it("deploys the plan merged into the local stack, and every server reaches its peak on its pool's node", async () => {
    writePlannedStack(fragment, "Pulumi.planned.yaml");

    // mig-manager is not simulated: give the A100 node the slices the planned layout makes, as it would.
    const a100 = Object.values(fragment.config["gpushare:gpuPools"]).find((p) => p.gpu === "A100-SXM4-40GB");
    const profiles = a100?.mig?.profiles;
    if (profiles !== undefined) {
      const slices = Object.entries(profiles)
        .map(([p, n]) => `${p}=${n}`)
        .join(",");
      kubectl(engine, ["annotate", "--overwrite", "node/gpu-a100-0", `sim.gpushare.io/mig-devices=${slices}`]);
    }

    const up = upPlanned("planned");
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);

    await serversAtPeak(fragment, (server) =>
      fragment.config["gpushare:gpuPools"][server.pool].gpu === "T4" ? "gpu-t4-0" : "gpu-a100-0",
    );
  });

  it("destroys what it deployed", () => {
    const r = pulumi(engine, ["destroy", "--yes", "--skip-preview", "--stack", "planned"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  });

  // Two pools of one GPU model in an existing cluster: node-feature-discovery cannot tell their nodes apart, so the
  // plan selects a node-group label per pool, and the node groups carry it with the labels the preview names.
  let twoT4: Fragment;

  it("plans two T4 pools apart by a node-group label each", async () => {
    const manifest = path.join(engine.scratch, "second-t4.yaml");
    fs.writeFileSync(manifest, SECOND_T4);
    kubectl(engine, ["apply", "--server-side", "-f", manifest]);
    // A node KWOK has not reported on yet has no conditions, which kubectl wait refuses rather than waits for.
    await eventually(60, () => {
      const node = kubectlJson<{ status: { conditions?: { type: string; status: string }[] } }>(engine, [
        "get",
        "node/gpu-t4-1",
      ]);
      const ready = node.status.conditions?.find((c) => c.type === "Ready")?.status === "True";
      return ready ? true : "gpu-t4-1 not Ready";
    });
    twoT4 = planFragment(TWO_T4_WORKLOADS, "two-t4.yaml");
    const pools = twoT4.config["gpushare:gpuPools"];
    expect(Object.values(pools).map((p) => p.gpu)).toEqual(["T4", "T4"]);
    expect(Object.entries(pools).map(([name, p]) => [name, p.nodeSelector])).toEqual([
      ["t4", { "gpushare.io/node-group": "t4" }],
      ["t4-2", { "gpushare.io/node-group": "t4-2" }],
    ]);
  });

  it("deploys as printed once each node group carries the labels the preview names: every server on its own T4", async () => {
    writePlannedStack(twoT4, "Pulumi.planned-t4.yaml");
    initPlanned("planned-t4");
    // gpushare cannot label nodes node-feature-discovery cannot tell apart: the preview names what each node group
    // must carry, and the operator labels the groups before the update.
    const preview = pulumi(engine, ["preview", "--stack", "planned-t4"]);
    expect(preview.code, `${preview.stdout}\n${preview.stderr}`).toBe(0);
    const named = new Map(
      [
        ...`${preview.stdout}\n${preview.stderr}`.matchAll(
          /pool (\S+): shares its GPU model with another pool, so gpushare cannot label its nodes; its node group must carry (\{[^}]*\})/g,
        ),
      ].map((m) => [m[1], JSON.parse(m[2]) as Record<string, string>]),
    );
    expect([...named.keys()].sort()).toEqual(["t4", "t4-2"]);
    const nodes: Record<string, string> = { t4: "gpu-t4-1", "t4-2": "gpu-t4-0" };
    for (const [pool, node] of Object.entries(nodes)) {
      const labels = { ...twoT4.config["gpushare:gpuPools"][pool].nodeSelector, ...named.get(pool) };
      kubectl(engine, ["label", "--overwrite", `node/${node}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
    }
    const up = pulumi(engine, ["up", "--yes", "--skip-preview", "--stack", "planned-t4"]);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    await serversAtPeak(twoT4, (server) => nodes[server.pool]);
  });

  it("destroys the two-pool stack", () => {
    const r = pulumi(engine, ["destroy", "--yes", "--skip-preview", "--stack", "planned-t4"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  });
});
