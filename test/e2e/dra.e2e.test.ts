import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { Engine } from "./engine";
import {
  eventually,
  FIXTURE,
  kubectl,
  kubectlJson,
  LOCAL_CLUSTER_PARTS,
  prepareLocalStack,
  provideEngine,
  pulumi,
  stopEngine,
} from "./engine";
import type { List, Pod } from "./shapes";
import { NS, podsOf } from "./shapes";

/**
 * DRA pools on the real engine and the real kube-scheduler: a stack with two DRA pools (an A100 split by MIG, an H200
 * time-sliced through the driver's consumable shares) beside a device-plugin pool (a time-sliced T4). The simulated
 * DRA kubelet plugin (tools/sim-dra-plugin) publishes each DRA node's ResourceSlice as NVIDIA's would; the scheduler
 * allocates the servers' claims against them; KWOK runs the pods.
 */

const STACK = "dra";
const SHARES = 4;
const GATES = { TimeSlicingSettings: true, ConsumableShares: true };

function server(pool: string, replicas: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    pool,
    replicas,
    resources: { cpu: "100m", memory: "256Mi" },
    service: { annotations: { "pulumi.com/skipAwait": "true" } },
    ...extra,
  };
}

const STACK_CONFIG = {
  "gpushare:cluster": { kind: "existing", kubernetesVersion: "1.36", migStrategy: "mixed" },
  "gpushare:gpuPools": {
    a100: { gpu: "A100-SXM4-40GB", nodes: { min: 1, max: 1 }, allocation: "dra", mig: { layout: "all-balanced" } },
    h200: { gpu: "H200-141GB", nodes: { min: 1, max: 1 }, allocation: "dra", timeSlicing: { replicas: SHARES } },
    t4: { gpu: "T4", nodes: { min: 1, max: 1 }, timeSlicing: { replicas: SHARES } },
  },
  // The driver is "installed": cluster-up.sh runs the simulated kubelet plugin with --consumable-shares 4 and applies
  // the DeviceClasses the driver's chart would create.
  "gpushare:draDriver": { installed: true, featureGates: GATES },
  ...LOCAL_CLUSTER_PARTS,
  "gpushare:servers": {
    "triton-mig": server("a100", 2, { resource: "mig.nvidia.com/1g.5gb" }),
    "triton-h200": server("h200", SHARES),
    "triton-t4": server("t4", 2),
  },
};

interface Node {
  metadata: { name: string; labels?: Record<string, string> };
  status: { allocatable?: Record<string, string> };
}

interface ResourceSlice {
  spec: {
    nodeName: string;
    pool: { name: string; generation: number };
    devices: { name: string; attributes: Record<string, { string?: string }> }[];
  };
}

interface ResourceClaim {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { devices: { requests: { exactly?: { deviceClassName: string } }[] } };
  status?: {
    allocation?: {
      devices: { results: { device: string; pool: string; consumedCapacity?: Record<string, string> }[] };
    };
    reservedFor?: { name: string }[];
  };
}

let engine: Engine;

function stackFile(): string {
  return path.join(engine.project, `Pulumi.${STACK}.yaml`);
}

function editConfig(edit: (config: Record<string, Record<string, Record<string, unknown>>>) => void): void {
  const file = parse(fs.readFileSync(stackFile(), "utf8")) as {
    config: Record<string, Record<string, Record<string, unknown>>>;
  };
  edit(file.config);
  fs.writeFileSync(stackFile(), stringify(file));
}

function up(): void {
  const r = pulumi(engine, ["up", "--yes", "--skip-preview", "--stack", STACK]);
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
}

/**
 * `pulumi up` without waiting for it: it waits for the servers' Deployments, whose pods need devices that only
 * mig-manager's work (played by the test meanwhile) brings.
 */
function upInBackground(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--stack", STACK, "--non-interactive"], {
      cwd: engine.project,
      env: engine.env,
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("close", (code) => resolve({ code, output }));
  });
}

function running(name: string): Pod[] {
  return podsOf(engine, name).filter((p) => p.status.phase === "Running" && p.metadata.deletionTimestamp === undefined);
}

function slices(): ResourceSlice[] {
  return kubectlJson<List<ResourceSlice>>(engine, ["get", "resourceslices"]).items;
}

function sliceOf(node: string): ResourceSlice | undefined {
  return slices().find((s) => s.spec.nodeName === node);
}

/** The allocated claims of one server's pods: which device of which node each got. */
function allocations(server: string): { pod: string; pool: string; device: string; shares?: string }[] {
  const pods = new Set(podsOf(engine, server).map((p) => p.metadata.name));
  return kubectlJson<List<ResourceClaim>>(engine, ["get", "resourceclaims", "-n", NS])
    .items.filter((c) => (c.status?.reservedFor ?? []).some((r) => pods.has(r.name)))
    .flatMap((c) =>
      (c.status?.allocation?.devices.results ?? []).map((r) => ({
        pod: c.status?.reservedFor?.[0]?.name ?? "",
        pool: r.pool,
        device: r.device,
        ...(r.consumedCapacity?.shares === undefined ? {} : { shares: r.consumedCapacity.shares }),
      })),
    );
}

/** The pods of a server the scheduler left Pending, with its message. */
function unschedulable(server: string): string[] {
  return podsOf(engine, server).flatMap((p) =>
    (p.status.conditions ?? [])
      .filter((c) => c.type === "PodScheduled" && c.reason === "Unschedulable")
      .map((c) => c.message ?? ""),
  );
}

describe.sequential("DRA pools on the real engine and scheduler", { timeout: 15 * 60_000 }, () => {
  beforeAll(() => {
    engine = provideEngine({ portOffset: 500, clusterEnv: { GPUSHARE_DRA_CONSUMABLE_SHARES: String(SHARES) } });
    fs.writeFileSync(stackFile(), stringify({ config: STACK_CONFIG }));
    kubectl(engine, ["apply", "--server-side", "-f", path.join(FIXTURE, "h200-node.yaml")]);
    prepareLocalStack(engine, { stack: STACK, nodeNames: ["gpu-a100-0", "gpu-t4-0", "gpu-h200-0"] });
  }, 75 * 60_000);

  afterAll(() => {
    if (engine !== undefined) stopEngine(engine);
  });

  it("deploys: every server's pods Running, the DRA ones through claims the scheduler allocated", async () => {
    up();
    await eventually(120, () => {
      const counts = ["triton-mig", "triton-h200", "triton-t4"].map((s) => `${s} ${running(s).length}`);
      return counts.join(", ") === `triton-mig 2, triton-h200 ${SHARES}, triton-t4 2` ? true : counts.join(", ");
    });
    for (const p of running("triton-mig")) expect(p.spec.nodeName).toBe("gpu-a100-0");
    for (const p of running("triton-h200")) expect(p.spec.nodeName).toBe("gpu-h200-0");
    for (const p of running("triton-t4")) expect(p.spec.nodeName).toBe("gpu-t4-0");

    // The two 1g.5gb devices of the balanced A100 (placements 2 and 3), one per pod; unshared claims on a node with
    // consumable shares take all of a device's shares.
    const mig = allocations("triton-mig");
    expect(mig.map((a) => [a.pool, a.device, a.shares]).sort()).toEqual([
      ["gpu-a100-0", "gpu-0-mig-1g5gb-19-2", String(SHARES)],
      ["gpu-a100-0", "gpu-0-mig-1g5gb-19-3", String(SHARES)],
    ]);
    // Four claims on the H200's one GPU, one share each.
    const h200 = allocations("triton-h200");
    expect(h200).toHaveLength(SHARES);
    for (const a of h200) expect([a.pool, a.device, a.shares]).toEqual(["gpu-h200-0", "gpu-0", "1"]);
  });

  it("labels the DRA pools' nodes for the driver, off the device plugin; the T4 keeps its extended resource", () => {
    const node = (name: string): Node => kubectlJson<Node>(engine, ["get", "node", name]);
    for (const name of ["gpu-a100-0", "gpu-h200-0"]) {
      expect(node(name).metadata.labels).toMatchObject({
        "gpushare.io/gpu-allocation": "dra",
        "nvidia.com/gpu.deploy.device-plugin": "false",
      });
      const advertised = Object.keys(node(name).status.allocatable ?? {}).filter((k) => k.startsWith("nvidia.com/"));
      expect(advertised, name).toEqual([]);
    }
    expect(node("gpu-t4-0").metadata.labels?.["gpushare.io/gpu-allocation"]).toBeUndefined();
    expect(node("gpu-t4-0").status.allocatable?.["nvidia.com/gpu"]).toBe(String(SHARES));
    expect(sliceOf("gpu-t4-0")).toBeUndefined();
    expect(
      sliceOf("gpu-a100-0")
        ?.spec.devices.map((d) => d.name)
        .sort(),
    ).toEqual(["gpu-0-mig-1g5gb-19-2", "gpu-0-mig-1g5gb-19-3", "gpu-0-mig-2g10gb-14-0", "gpu-0-mig-3g20gb-9-4"]);
  });

  it("plans no changes on a second preview, and tells of no sharing change", () => {
    const r = pulumi(engine, ["preview", "--stack", STACK, "--expect-no-changes"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toContain("GPU sharing changes");
  });

  it("leaves the pod past the shares Pending, with the scheduler's claim reason", async () => {
    kubectl(engine, ["scale", "deployment/triton-h200", "-n", NS, `--replicas=${SHARES + 1}`]);
    const messages = await eventually(60, () => {
      const m = unschedulable("triton-h200");
      return m.length > 0 ? m : `no unschedulable pod yet, ${running("triton-h200").length} Running`;
    });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain("cannot allocate all claims");
    expect(running("triton-h200")).toHaveLength(SHARES);
    kubectl(engine, ["scale", "deployment/triton-h200", "-n", NS, `--replicas=${SHARES}`]);
    await eventually(60, () =>
      podsOf(engine, "triton-h200").length === SHARES ? true : `${podsOf(engine, "triton-h200").length} pods`,
    );
  });

  it("previews a MIG layout change of a DRA pool, then republishes the devices and fills them", async () => {
    editConfig((c) => {
      c["gpushare:gpuPools"].a100.mig = { layout: "all-1g.5gb" };
      c["gpushare:servers"]["triton-mig"].replicas = 7;
    });
    const preview = pulumi(engine, ["preview", "--stack", STACK, "--diff"]);
    expect(preview.code, `${preview.stdout}\n${preview.stderr}`).toBe(0);
    const said = `${preview.stdout}\n${preview.stderr}`.replace(/\s+\n/g, "\n");
    expect(said).toContain("GPU sharing changes with this update:");
    expect(said).toContain("MIG layout all-balanced → all-1g.5gb (the DRA driver's kubelet plugin finds static MIG");

    const update = upInBackground();
    await eventually(120, () => {
      const layout = kubectlJson<Node>(engine, ["get", "node", "gpu-a100-0"]).metadata.labels?.[
        "nvidia.com/mig.config"
      ];
      return layout === "all-1g.5gb" ? true : `mig.config is ${layout}`;
    });
    // mig-manager's part, as on a drained node: the GPU now holds seven 1g.5gb devices, and the plugin restarts.
    kubectl(engine, ["annotate", "--overwrite", "node/gpu-a100-0", "sim.gpushare.io/mig-devices=1g.5gb=7"]);
    await eventually(60, () => {
      const devices = sliceOf("gpu-a100-0")?.spec.devices ?? [];
      return devices.length === 7 ? true : `${devices.length} devices published`;
    });
    expect(
      sliceOf("gpu-a100-0")
        ?.spec.devices.map((d) => d.name)
        .sort(),
    ).toEqual([0, 1, 2, 3, 4, 5, 6].map((start) => `gpu-0-mig-1g5gb-19-${start}`));
    await eventually(120, () =>
      running("triton-mig").length === 7 ? true : `${running("triton-mig").length} of 7 Running`,
    );
    const r = await update;
    expect(r.code, r.output).toBe(0);
    expect(new Set(allocations("triton-mig").map((a) => a.device)).size).toBe(7);
  });

  it("drops the previous layout on the next update, then plans no changes and tells of none", () => {
    up();
    const again = pulumi(engine, ["preview", "--stack", STACK, "--expect-no-changes"]);
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(`${again.stdout}${again.stderr}`).not.toContain("GPU sharing changes");
  });
});
