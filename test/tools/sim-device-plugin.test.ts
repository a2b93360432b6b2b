import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { NodeState, Observation } from "../../tools/sim-device-plugin/advertise";
import {
  advertise,
  devicePluginDeployed,
  INITIAL_BACKOFF_MS,
  observe,
  parseHardware,
  statusPatch,
} from "../../tools/sim-device-plugin/advertise";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");
const MAIN = path.join(PROJECT_DIR, "tools", "sim-device-plugin", "main.ts");

const T4 = parseHardware({ "sim.gpushare.io/gpu-model": "T4" });
const A100_BALANCED = parseHardware({
  "sim.gpushare.io/gpu-model": "A100-SXM4-40GB",
  "sim.gpushare.io/mig-devices": "1g.5gb=2,2g.10gb=1,3g.20gb=1",
});
const A100_7X1G = parseHardware({
  "sim.gpushare.io/gpu-model": "A100-SXM4-40GB",
  "sim.gpushare.io/mig-devices": "1g.5gb=7",
});

function timeSliced(replicas: number, renameByDefault = false, name = "nvidia.com/gpu"): string {
  return `version: v1
flags:
  migStrategy: none
sharing:
  timeSlicing:
    renameByDefault: ${renameByDefault}
    resources:
      - name: ${name}
        replicas: ${replicas}
`;
}

describe("parseHardware", () => {
  it("reads one GPU without MIG when only the model is given", () => {
    expect(T4).toEqual({ model: "T4", gpus: [{ migDevices: {} }] });
  });

  it("gives every GPU the one MIG list, or each GPU its own", () => {
    const hw = parseHardware({
      "sim.gpushare.io/gpu-model": "A100-SXM4-40GB",
      "sim.gpushare.io/gpu-count": "2",
      "sim.gpushare.io/mig-devices": "1g.5gb=7;",
    });
    expect(hw.gpus).toEqual([{ migDevices: { "1g.5gb": 7 } }, { migDevices: {} }]);
  });

  it.each([
    [{ "sim.gpushare.io/gpu-count": "0" }, 'sim.gpushare.io/gpu-count: "0" is not a positive integer'],
    [
      { "sim.gpushare.io/mig-devices": "1g.5gb" },
      'sim.gpushare.io/mig-devices: "1g.5gb" is not <profile>=<count>, e.g. 1g.5gb=2',
    ],
    [
      { "sim.gpushare.io/gpu-count": "3", "sim.gpushare.io/mig-devices": "1g.5gb=7;" },
      'sim.gpushare.io/mig-devices: 2 per-GPU lists for 3 GPUs; give one list for all GPUs or one per GPU, separated by ";"',
    ],
  ])("fails when the annotations are %j", (extra, message) => {
    expect(() => parseHardware({ "sim.gpushare.io/gpu-model": "A100-SXM4-40GB", ...extra })).toThrow(message);
  });
});

describe("advertise", () => {
  it("time-slices one T4 four ways into nvidia.com/gpu=4", () => {
    expect(advertise(timeSliced(4), T4)).toEqual({ ok: true, resources: { "nvidia.com/gpu": 4 } });
  });

  it("renames the shared resource to nvidia.com/gpu.shared with renameByDefault", () => {
    expect(advertise(timeSliced(4, true), T4)).toEqual({ ok: true, resources: { "nvidia.com/gpu.shared": 4 } });
  });

  it("adds the nvidia.com/ prefix to a resource name given without it", () => {
    expect(advertise(timeSliced(3, false, "gpu"), T4)).toEqual({ ok: true, resources: { "nvidia.com/gpu": 3 } });
  });

  it("advertises the same arithmetic for MPS", () => {
    const config =
      "flags: {migStrategy: none}\nsharing:\n  mps:\n    resources: [{name: nvidia.com/gpu, replicas: 3}]\n";
    expect(advertise(config, T4)).toEqual({ ok: true, resources: { "nvidia.com/gpu": 3 } });
  });

  it("counts both GPUs of a two-GPU node", () => {
    const twoT4 = parseHardware({ "sim.gpushare.io/gpu-model": "T4", "sim.gpushare.io/gpu-count": "2" });
    expect(advertise(timeSliced(4), twoT4)).toEqual({ ok: true, resources: { "nvidia.com/gpu": 8 } });
    expect(advertise("version: v1\n", twoT4)).toEqual({ ok: true, resources: { "nvidia.com/gpu": 2 } });
  });

  it("advertises one nvidia.com/mig-<profile> per MIG device under mixed", () => {
    expect(advertise("flags: {migStrategy: mixed}", A100_BALANCED)).toEqual({
      ok: true,
      resources: { "nvidia.com/mig-1g.5gb": 2, "nvidia.com/mig-2g.10gb": 1, "nvidia.com/mig-3g.20gb": 1 },
    });
  });

  it("shares only the listed MIG resource under mixed", () => {
    const config = `flags: {migStrategy: mixed}
sharing:
  timeSlicing:
    resources: [{name: nvidia.com/mig-1g.5gb, replicas: 4}]
`;
    expect(advertise(config, A100_BALANCED)).toEqual({
      ok: true,
      resources: { "nvidia.com/mig-1g.5gb": 8, "nvidia.com/mig-2g.10gb": 1, "nvidia.com/mig-3g.20gb": 1 },
    });
  });

  it("writes + of a MIG profile as . in the resource name", () => {
    const hw = parseHardware({
      "sim.gpushare.io/gpu-model": "A100-SXM4-40GB",
      "sim.gpushare.io/mig-devices": "1g.5gb+me=1",
    });
    expect(advertise("flags: {migStrategy: mixed}", hw)).toEqual({
      ok: true,
      resources: { "nvidia.com/mig-1g.5gb.me": 1 },
    });
  });

  it("advertises whole GPUs beside MIG devices under mixed", () => {
    const hw = parseHardware({
      "sim.gpushare.io/gpu-model": "A100-SXM4-40GB",
      "sim.gpushare.io/gpu-count": "2",
      "sim.gpushare.io/mig-devices": "1g.5gb=7;",
    });
    expect(advertise("flags: {migStrategy: mixed}", hw)).toEqual({
      ok: true,
      resources: { "nvidia.com/gpu": 1, "nvidia.com/mig-1g.5gb": 7 },
    });
  });

  it("advertises each MIG device as nvidia.com/gpu under single", () => {
    expect(advertise("flags: {migStrategy: single}", A100_7X1G)).toEqual({
      ok: true,
      resources: { "nvidia.com/gpu": 7 },
    });
  });

  it("advertises whole GPUs under single when MIG is off", () => {
    expect(advertise("flags: {migStrategy: single}", T4)).toEqual({ ok: true, resources: { "nvidia.com/gpu": 1 } });
  });

  it("ignores MIG devices under none", () => {
    expect(advertise("flags: {migStrategy: none}", A100_BALANCED)).toEqual({
      ok: true,
      resources: { "nvidia.com/gpu": 1 },
    });
  });

  it("lets --mig-strategy win over flags.migStrategy", () => {
    expect(advertise("flags: {migStrategy: none}", A100_7X1G, "single")).toEqual({
      ok: true,
      resources: { "nvidia.com/gpu": 7 },
    });
  });

  it.each([
    [
      "flags: {migStrategy: single}",
      A100_BALANCED,
      "invalid MIG configuration: more than one MIG device type present on node",
    ],
    [
      "flags: {migStrategy: single}",
      parseHardware({
        "sim.gpushare.io/gpu-model": "A100-SXM4-40GB",
        "sim.gpushare.io/gpu-count": "2",
        "sim.gpushare.io/mig-devices": "1g.5gb=7;",
      }),
      "all devices on the node must be configured with the same migEnabled value",
    ],
    [
      "flags: {migStrategy: mixed}\nsharing:\n  mps:\n    resources: [{name: nvidia.com/gpu, replicas: 2}]\n",
      T4,
      "using --mig-strategy=mixed is not supported with MPS",
    ],
    [
      "flags: {migStrategy: single}\nsharing:\n  mps:\n    resources: [{name: nvidia.com/gpu, replicas: 2}]\n",
      A100_7X1G,
      "sharing using MPS is not supported for MIG devices",
    ],
    [timeSliced(1), T4, "sharing.timeSlicing.resources[0]: number of replicas must be >= 2"],
    ["sharing:\n  timeSlicing:\n    renameByDefault: true\n", T4, "sharing.timeSlicing: no resources specified"],
    ["version: v2", T4, "unknown version: v2"],
    ["flags: {migStrategy: all}", T4, "unknown MIG strategy: all"],
  ])("fails when the config is %j", (config, hardware, error) => {
    expect(advertise(config, hardware)).toEqual({ ok: false, error });
  });

  it("advertises GPUs × replicas for any whole-GPU node", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 2, max: 64 }), (gpus, replicas) => {
        const hw = parseHardware({ "sim.gpushare.io/gpu-model": "L4", "sim.gpushare.io/gpu-count": String(gpus) });
        const result = advertise(timeSliced(replicas), hw);
        return result.ok && result.resources["nvidia.com/gpu"] === gpus * replicas;
      }),
    );
  });
});

describe("statusPatch", () => {
  it("sets what is advertised, nulls nvidia.com resources no longer advertised, leaves the rest", () => {
    const current = {
      capacity: { cpu: "8", pods: "110", "nvidia.com/gpu": "1", "nvidia.com/mig-1g.5gb": "2" },
      allocatable: { cpu: "7", "nvidia.com/gpu": "1" },
    };
    expect(statusPatch(current, { "nvidia.com/gpu.shared": 4 })).toEqual({
      status: {
        capacity: { "nvidia.com/gpu": null, "nvidia.com/mig-1g.5gb": null, "nvidia.com/gpu.shared": "4" },
        allocatable: { "nvidia.com/gpu": null, "nvidia.com/gpu.shared": "4" },
      },
    });
  });
});

describe("observe (config-manager)", () => {
  const configs = (data: Record<string, string>) => new Map(Object.entries(data));
  const at = (now: number, label: string, data: Record<string, string> | undefined): Observation => ({
    label,
    hardware: "hw",
    configs: data === undefined ? undefined : configs(data),
    now,
  });

  it("applies the label's config once at start", () => {
    const { action } = observe(undefined, at(0, "t4-a", { "t4-a": "A" }), "default");
    expect(action).toEqual({ kind: "apply", config: "t4-a", content: "A", cause: "start" });
  });

  it("skips an unchanged label even when the config's content changed, and says so once", () => {
    let s = observe(undefined, at(0, "t4-a", { "t4-a": "A" }), "default").state;
    const changed = observe(s, at(1000, "t4-a", { "t4-a": "A2" }), "default");
    expect(changed.action).toEqual({ kind: "skip", config: "t4-a", reason: "content-changed" });
    s = changed.state;
    expect(observe(s, at(2000, "t4-a", { "t4-a": "A2" }), "default").action).toEqual({ kind: "none" });
    expect(s.applied).toBe("t4-a");
  });

  it("applies a changed label", () => {
    const s = observe(undefined, at(0, "t4-a", { "t4-a": "A", "t4-b": "B" }), "default").state;
    expect(observe(s, at(1000, "t4-b", { "t4-a": "A", "t4-b": "B" }), "default").action).toEqual({
      kind: "apply",
      config: "t4-b",
      content: "B",
      cause: "label",
    });
  });

  it("uses the default config for an empty label, and skips when that is already applied", () => {
    const first = observe(undefined, at(0, "", { default: "D" }), "default");
    expect(first.action).toEqual({ kind: "apply", config: "default", content: "D", cause: "start" });
    expect(observe(first.state, at(1000, "default", { default: "D" }), "default").action).toEqual({
      kind: "skip",
      config: "default",
      reason: "already-configured",
    });
  });

  it("crashes on a missing key, waits out the backoff, then re-reads the label", () => {
    const s0 = observe(undefined, at(0, "t4-a", { "t4-a": "A" }), "default").state;
    const missing = observe(s0, at(1000, "t4-b", { "t4-a": "A" }), "default");
    expect(missing.action).toEqual({ kind: "missing", config: "t4-b", retryInMs: 2000, pluginStarted: true });
    expect(missing.state.label).toBeUndefined();
    expect(missing.state.applied).toBe("t4-a");
    // Still crashed: the key arriving does not help before the restart.
    expect(observe(missing.state, at(2999, "t4-b", { "t4-a": "A", "t4-b": "B" }), "default").action).toEqual({
      kind: "none",
    });
    expect(observe(missing.state, at(3000, "t4-b", { "t4-a": "A", "t4-b": "B" }), "default").action).toEqual({
      kind: "apply",
      config: "t4-b",
      content: "B",
      cause: "label",
    });
  });

  it("reports that the plugin never started when the first config is missing", () => {
    expect(observe(undefined, at(0, "", { "t4-a": "A" }), "default").action).toEqual({
      kind: "missing",
      config: "default",
      retryInMs: 2000,
      pluginStarted: false,
    });
  });

  it("doubles the backoff on each crash up to 10 s", () => {
    let s: NodeState | undefined;
    let now = 0;
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const step = observe(s, at(now, "gone", undefined), "default");
      if (step.action.kind !== "missing") throw new Error(`expected missing, got ${step.action.kind}`);
      waits.push(step.action.retryInMs);
      now += step.action.retryInMs;
      s = step.state;
    }
    expect(waits).toEqual([2000, 4000, 8000, 10000, 10000]);
  });

  it("starts afresh when the simulated hardware changes (mig-manager restarts the plugin pod)", () => {
    const s = observe(undefined, at(0, "a100-a", { "a100-a": "A" }), "default").state;
    const step = observe(s, { ...at(1000, "a100-a", { "a100-a": "A2" }), hardware: "hw2" }, "default");
    expect(step.action).toEqual({ kind: "apply", config: "a100-a", content: "A2", cause: "hardware" });
    expect(step.state.backoffMs).toBe(INITIAL_BACKOFF_MS);
  });

  it("advertises nothing once while nvidia.com/gpu.deploy.device-plugin=false, then starts afresh", () => {
    expect(devicePluginDeployed({ "nvidia.com/gpu.deploy.device-plugin": "false" })).toBe(false);
    expect(devicePluginDeployed({ "nvidia.com/gpu.deploy.device-plugin": "true" })).toBe(true);
    expect(devicePluginDeployed({})).toBe(true);
    const running = observe(undefined, at(0, "t4-a", { "t4-a": "A" }), "default").state;
    const off = observe(running, { ...at(1000, "t4-a", { "t4-a": "A" }), deployed: false }, "default");
    expect(off.action).toEqual({ kind: "undeployed" });
    const stillOff = observe(off.state, { ...at(2000, "t4-a", { "t4-a": "A" }), deployed: false }, "default");
    expect(stillOff.action).toEqual({ kind: "none" });
    // The same label as before: a new pod applies it, where a running one would have skipped it.
    const on = observe(stillOff.state, at(3000, "t4-a", { "t4-a": "A" }), "default");
    expect(on.action).toEqual({ kind: "apply", config: "t4-a", content: "A", cause: "start" });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// main.ts against a fake API server on 127.0.0.1 (TLS both ways, with a throwaway self-signed certificate)

interface FakeNode {
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  status: { capacity: Record<string, string>; allocatable: Record<string, string> };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

class FakeApiServer {
  readonly nodes = new Map<string, FakeNode>();
  configMapData: Record<string, string> | undefined;
  readonly patches: { path: string; body: unknown }[] = [];
  private readonly server: https.Server;

  constructor(cert: Buffer, key: Buffer) {
    this.server = https.createServer(
      { cert, key, ca: cert, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const reply = (status: number, body: unknown) => {
            res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
          };
          const url = req.url ?? "";
          if (req.method === "GET" && url === "/api/v1/nodes") {
            return reply(200, { kind: "NodeList", items: [...this.nodes.values()] });
          }
          if (
            req.method === "GET" &&
            url === "/api/v1/namespaces/gpu-operator/configmaps/gpushare-device-plugin-configs"
          ) {
            return this.configMapData === undefined
              ? reply(404, { kind: "Status", code: 404 })
              : reply(200, { kind: "ConfigMap", data: this.configMapData });
          }
          const m = /^\/api\/v1\/nodes\/([^/]+)(\/status)?$/.exec(url);
          const node = m === null ? undefined : this.nodes.get(m[1]);
          if (
            req.method === "PATCH" &&
            node !== undefined &&
            req.headers["content-type"] === "application/merge-patch+json"
          ) {
            const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
            this.patches.push({ path: url, body });
            // Like the API server: /status changes only the status, the node itself only the rest.
            const patched = mergePatch(
              node,
              m?.[2] === undefined ? { metadata: body.metadata } : { status: body.status },
            );
            this.nodes.set(node.metadata.name, patched as FakeNode);
            return reply(200, patched);
          }
          reply(404, { kind: "Status", code: 404 });
        });
      },
    );
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function until(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("sim-device-plugin main.ts", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("patches status on a label change and not on a content-only change", { timeout: 20_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sim-device-plugin-"));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const [certFile, keyFile] = [path.join(dir, "tls.crt"), path.join(dir, "tls.key")];
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
      "-keyout", keyFile, "-out", certFile,
    ], { stdio: "ignore" }); // prettier-ignore

    const api = new FakeApiServer(fs.readFileSync(certFile), fs.readFileSync(keyFile));
    const base = { cpu: "8", memory: "32Gi", pods: "110", "nvidia.com/gpu": "1" };
    api.nodes.set("gpu-t4-0", {
      metadata: {
        name: "gpu-t4-0",
        labels: { "nvidia.com/device-plugin.config": "t4-a" },
        annotations: { "sim.gpushare.io/gpu-model": "T4", "sim.gpushare.io/gpu-count": "1" },
      },
      status: { capacity: { ...base }, allocatable: { ...base } },
    });
    api.nodes.set("gpu-a100-0", {
      metadata: {
        name: "gpu-a100-0",
        labels: {},
        annotations: { "sim.gpushare.io/gpu-model": "A100-SXM4-40GB", "sim.gpushare.io/mig-devices": "1g.5gb=7" },
      },
      status: { capacity: { ...base }, allocatable: { ...base } },
    });
    api.nodes.set("cpu-0", {
      metadata: { name: "cpu-0", labels: {}, annotations: {} },
      status: { capacity: { cpu: "4" }, allocatable: { cpu: "4" } },
    });
    api.configMapData = { "t4-a": timeSliced(4) };
    const port = await api.listen();
    cleanups.push(() => api.close());

    const kubeconfig = path.join(dir, "kubeconfig");
    fs.writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:${port}
    certificate-authority: ${certFile}
users:
- name: admin
  user:
    client-certificate: ${certFile}
    client-key: ${keyFile}
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
`,
    );

    const child: ChildProcess = spawn(
      process.execPath,
      ["--import", "tsx", MAIN, "--kubeconfig", kubeconfig, "--interval", "0.1"],
      { cwd: PROJECT_DIR, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    cleanups.push(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    const node = () => api.nodes.get("gpu-t4-0") as FakeNode;

    // Start: the label's config is applied.
    await until("the first config", () => node().metadata.annotations["sim.gpushare.io/applied-config"] === "t4-a");
    expect(node().status.capacity).toEqual({ cpu: "8", memory: "32Gi", pods: "110", "nvidia.com/gpu": "4" });
    expect(node().status.allocatable).toEqual({ cpu: "8", memory: "32Gi", pods: "110", "nvidia.com/gpu": "4" });
    // The log line is written after the patch returns and reaches the pipe a moment later.
    await until("the first config's log line", () =>
      out.includes("node gpu-t4-0: label nvidia.com/device-plugin.config=t4-a: advertising nvidia.com/gpu=4"),
    );
    // No label and no default config: the plugin never starts there.
    const a100 = () => api.nodes.get("gpu-a100-0") as FakeNode;
    await until("the A100's crash", () => "sim.gpushare.io/config-manager-error" in a100().metadata.annotations);
    expect(a100().metadata.annotations["sim.gpushare.io/config-manager-error"]).toBe(
      "specified config default does not exist",
    );
    expect(a100().status.capacity).toEqual({ cpu: "8", memory: "32Gi", pods: "110" });
    const t4StatusPatches = () => api.patches.filter((p) => p.path === "/api/v1/nodes/gpu-t4-0/status").length;
    expect(t4StatusPatches()).toBe(1);

    // Content-only change: the node keeps what it has.
    api.configMapData = { "t4-a": timeSliced(8) };
    await until("the skip", () => out.includes("t4-a unchanged: Already configured. Skipping update"));
    await new Promise((r) => setTimeout(r, 500));
    expect(t4StatusPatches()).toBe(1);
    expect(node().status.capacity["nvidia.com/gpu"]).toBe("4");

    // Label change: the new config reaches the node; the old resource goes.
    api.configMapData = { ...api.configMapData, "t4-b": timeSliced(2, true), default: "flags: {migStrategy: single}" };
    node().metadata.labels["nvidia.com/device-plugin.config"] = "t4-b";
    await until("the second config", () => node().metadata.annotations["sim.gpushare.io/applied-config"] === "t4-b");
    expect(t4StatusPatches()).toBe(2);
    expect(node().status.capacity).toEqual({ cpu: "8", memory: "32Gi", pods: "110", "nvidia.com/gpu.shared": "2" });
    expect(node().status.allocatable).toEqual({ cpu: "8", memory: "32Gi", pods: "110", "nvidia.com/gpu.shared": "2" });

    // A label naming a missing key: config-manager crash-loops until the key exists.
    node().metadata.labels["nvidia.com/device-plugin.config"] = "t4-c";
    await until("the crash", () => out.includes("specified config t4-c does not exist"));
    await until("the error annotation", () => "sim.gpushare.io/config-manager-error" in node().metadata.annotations);
    expect(t4StatusPatches()).toBe(2);
    api.configMapData = { ...api.configMapData, "t4-c": timeSliced(3) };
    await until("the retry", () => node().metadata.annotations["sim.gpushare.io/applied-config"] === "t4-c");
    expect(node().status.capacity["nvidia.com/gpu"]).toBe("3");
    expect(node().metadata.annotations).not.toHaveProperty("sim.gpushare.io/config-manager-error");

    // The A100 picked up the default config at its restart.
    expect(a100().metadata.annotations["sim.gpushare.io/applied-config"]).toBe("default");
    expect(a100().status.capacity).toEqual({ cpu: "8", memory: "32Gi", pods: "110", "nvidia.com/gpu": "7" });
    expect(api.patches.filter((p) => p.path.startsWith("/api/v1/nodes/cpu-0"))).toEqual([]);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(out).toMatch(/SIGTERM: stopping\n.*stopped\n$/);
  });
});
