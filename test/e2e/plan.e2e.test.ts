import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseDocument } from "yaml";
import type { Engine } from "./engine";
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

interface Pod {
  spec: { nodeName?: string };
  status: { phase: string };
}

const NS = "inference";
// Small models: seven isolated replicas (only a MIG slice or a whole GPU will do) and four shared ones.
const WORKLOADS = `gpus:
  A100-SXM4-40GB: { gpusPerNode: 1, costPerNode: 3.2, maxNodes: 1 }
  T4: { gpusPerNode: 1, costPerNode: 0.55, maxNodes: 1 }
servers:
  isolated: { modelMemoryGiB: 0.5, maxReplicas: 7, isolation: full }
  shared: { modelMemoryGiB: 0.5, maxReplicas: 4, isolation: shared }
`;

interface Fragment {
  config: {
    "gpushare:cluster": { migStrategy: string };
    "gpushare:gpuPools": Record<string, { gpu: string; mig?: { profiles?: Record<string, number>; layout?: string } }>;
    "gpushare:servers": Record<string, { pool: string; resource: string; autoscaling?: { maxReplicas: number } }>;
  };
}

let engine: Engine;
let fragment: Fragment;

function podsOf(server: string): Pod[] {
  return kubectlJson<{ items: Pod[] }>(engine, ["get", "pods", "-n", NS, "-l", `app.kubernetes.io/instance=${server}`])
    .items;
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
    const workloads = path.join(engine.scratch, "workloads.yaml");
    const out = path.join(engine.scratch, "fragment.yaml");
    fs.writeFileSync(workloads, WORKLOADS);
    const r = run(
      path.join(engine.project, "node_modules", ".bin", "tsx"),
      ["scripts/plan.ts", "--workloads", workloads, "--out", out],
      { cwd: engine.project, env: engine.env },
    );
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    fragment = parse(fs.readFileSync(out, "utf8")) as Fragment;
    const pools = Object.values(fragment.config["gpushare:gpuPools"]).map((p) => p.gpu);
    expect(pools.sort()).toEqual(["A100-SXM4-40GB", "T4"]);
    expect(Object.keys(fragment.config["gpushare:servers"]).sort()).toEqual(["isolated", "shared"]);
  });

  it("deploys the plan merged into the local stack, and every server reaches its peak on its pool's node", async () => {
    // The local stack's settings (existing cluster, installed operator and monitoring), with the plan's pools,
    // strategy and servers; Services skip waiting for a load balancer nobody answers here.
    const doc = parseDocument(fs.readFileSync(path.join(engine.project, "Pulumi.local.yaml"), "utf8"));
    doc.delete("encryptionsalt");
    doc.deleteIn(["config", "gpushare:kubeconfig"]);
    doc.setIn(["config", "gpushare:cluster", "migStrategy"], fragment.config["gpushare:cluster"].migStrategy);
    doc.setIn(["config", "gpushare:gpuPools"], fragment.config["gpushare:gpuPools"]);
    const servers = structuredClone(fragment.config["gpushare:servers"]) as Record<string, Record<string, unknown>>;
    for (const s of Object.values(servers)) {
      s.resources = { cpu: "100m", memory: "256Mi" };
      s.service = { annotations: { "pulumi.com/skipAwait": "true" } };
    }
    doc.setIn(["config", "gpushare:servers"], servers);
    fs.writeFileSync(path.join(engine.project, "Pulumi.planned.yaml"), doc.toString());

    // mig-manager is not simulated: give the A100 node the slices the planned layout makes, as it would.
    const a100 = Object.values(fragment.config["gpushare:gpuPools"]).find((p) => p.gpu === "A100-SXM4-40GB");
    const profiles = a100?.mig?.profiles;
    if (profiles !== undefined) {
      const slices = Object.entries(profiles)
        .map(([p, n]) => `${p}=${n}`)
        .join(",");
      kubectl(engine, ["annotate", "--overwrite", "node/gpu-a100-0", `sim.gpushare.io/mig-devices=${slices}`]);
    }

    initStack(engine, "planned");
    const kubeconfig = kubectl(engine, ["config", "view", "--raw", "--flatten", "--minify"]);
    must("pulumi", ["config", "set", "--secret", "gpushare:kubeconfig", "--stack", "planned", "--non-interactive"], {
      cwd: engine.project,
      env: engine.env,
      input: kubeconfig,
    });
    const up = pulumi(engine, ["up", "--yes", "--skip-preview", "--stack", "planned"]);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);

    // Each server at its peak: an autoscaled one through its HPA, driven by simulated queue time above the target
    // (the HPA would undo a scale by hand), a fixed one by hand.
    for (const [name, server] of Object.entries(fragment.config["gpushare:servers"])) {
      if (server.autoscaling === undefined) {
        kubectl(engine, ["scale", `deployment/${name}`, "-n", NS, "--replicas=1"]);
      } else {
        await simTriton(engine, "PUT", `/servers/${name}/load`, { requestsPerSecond: 20, queueUsPerRequest: 300 });
      }
    }
    for (const [name, server] of Object.entries(fragment.config["gpushare:servers"])) {
      const peak = server.autoscaling?.maxReplicas ?? 1;
      await eventually(240, () => {
        const running = podsOf(name).filter((p) => p.status.phase === "Running");
        return running.length === peak ? true : `${name}: ${running.length} of ${peak} Running`;
      });
      const node = fragment.config["gpushare:gpuPools"][server.pool].gpu === "T4" ? "gpu-t4-0" : "gpu-a100-0";
      for (const p of podsOf(name)) expect(p.spec.nodeName, name).toBe(node);
    }
  });

  it("destroys what it deployed", () => {
    const r = pulumi(engine, ["destroy", "--yes", "--skip-preview", "--stack", "planned"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  });
});
