import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { tritonDeviceClaim } from "../../components/k8s/triton-server-spec";
import { findGpuModel, gpuModelNames, maxMpsClients } from "../../gpu/catalog";
import { DRA_DRIVER_VERSION, DRA_FEATURE_GATES, draGateProblems } from "../../gpu/dra";
import { namedLayouts } from "../../gpu/layouts";
import { tritonServerSpec } from "../../stacks/args";
import { parseStackConfig } from "../../stacks/config/parse";
import { minimalConfig, PROJECT_DIR } from "../helpers";

/**
 * NVIDIA's own code judges the opaque configs gpushare generates: tools/dra-validate (built by `toolchain.sh --dra`
 * from the driver's module) runs the driver's strict decoder, Normalize and Validate over them, as its admission
 * webhook would. The tool is required: without it these tests fail, naming it.
 */

const TOOL = "dra-validate";
let found: { bin?: string; error?: string } | undefined;

/**
 * The tool's path, from `tools/toolchain.sh --dra` (PATH at the pinned version → cache → Go module build), asked
 * once. Every test that needs it fails, naming it, when it cannot be had: they are never skipped.
 */
function tool(): string {
  if (found === undefined) {
    const run = spawnSync("bash", [path.join(PROJECT_DIR, "tools", "toolchain.sh"), "--dra"], { encoding: "utf8" });
    const line = /^export PATH="([^"]*)/m.exec(run.stdout);
    const dir = line?.[1].split(":").find((d) => fs.existsSync(path.join(d, TOOL)));
    found =
      run.status !== 0
        ? { error: `tools/toolchain.sh --dra could not provide it (exit ${run.status}):\n${run.stderr.slice(-2000)}` }
        : dir === undefined
          ? { error: `tools/toolchain.sh --dra put no ${TOOL} on PATH:\n${run.stdout}` }
          : { bin: path.join(dir, TOOL) };
  }
  if (found.bin === undefined) throw new Error(`${TOOL}: ${found.error ?? "not found"}`);
  return found.bin;
}

interface Verdict {
  readonly name: string;
  readonly accepted: boolean;
  readonly kind?: string;
  readonly message?: string;
}
interface Report {
  readonly featureGates: { readonly accepted: boolean; readonly message?: string };
  readonly configs: readonly Verdict[];
}

function validate(
  gates: Readonly<Record<string, boolean>>,
  configs: readonly ({ name: string; parameters: unknown } | ClaimInput)[],
): Report {
  const flag = Object.entries(gates)
    .map(([g, on]) => `${g}=${on}`)
    .join(",");
  const run = spawnSync(tool(), flag === "" ? [] : ["--feature-gates", flag], {
    input: JSON.stringify(configs),
    encoding: "utf8",
  });
  if (run.status !== 0 && run.status !== 1) throw new Error(`${TOOL} failed (exit ${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as Report;
}

const TS_GATES = { TimeSlicingSettings: true, ConsumableShares: true };
const MPS_GATES = { MPSSupport: true };
const NO_GATES = {};
const T4_SHARED = { gpu: "T4", timeSlicing: { replicas: 4 } };

interface Shape {
  readonly name: string;
  readonly gates: Readonly<Record<string, boolean>>;
  readonly pool: Record<string, unknown>;
  /** A second pool of the stack, which changes the first one's claims (its consumable shares). */
  readonly beside?: Record<string, unknown>;
}

/**
 * Every shape of DRA pool gpushare generates claims for: each GPU model's whole GPUs unshared (alone, and beside a
 * time-sliced pool, which makes their claims take every consumable share), time-sliced (2 and 8 shares) and under MPS
 * (2 clients and the most its architecture takes); each MIG profile of each model, alone in its `all-<profile>`
 * layout, unshared, time-sliced and under MPS.
 */
function shapes(): Shape[] {
  const out: Shape[] = [];
  for (const model of gpuModelNames()) {
    const gpu = findGpuModel(model);
    if (gpu === undefined) continue;
    out.push({ name: `${model}-whole`, gates: NO_GATES, pool: { gpu: model } });
    out.push({ name: `${model}-whole-beside-shares`, gates: TS_GATES, pool: { gpu: model }, beside: T4_SHARED });
    for (const r of [2, 8]) {
      out.push({ name: `${model}-ts${r}`, gates: TS_GATES, pool: { gpu: model, timeSlicing: { replicas: r } } });
    }
    for (const r of [...new Set([2, maxMpsClients(gpu)])]) {
      out.push({ name: `${model}-mps${r}`, gates: MPS_GATES, pool: { gpu: model, mps: { replicas: r } } });
    }
    for (const layout of namedLayouts(gpu).filter((l) => l.migEnabled && Object.keys(l.counts).length === 1)) {
      const mig = { layout: layout.name };
      out.push({ name: `${model}-${layout.name}`, gates: NO_GATES, pool: { gpu: model, mig } });
      out.push({
        name: `${model}-${layout.name}-ts4`,
        gates: TS_GATES,
        pool: { gpu: model, mig, timeSlicing: { replicas: 4 } },
      });
      out.push({
        name: `${model}-${layout.name}-mps2`,
        gates: MPS_GATES,
        pool: { gpu: model, mig, mps: { replicas: 2 } },
      });
    }
  }
  return out;
}

interface ClaimInput {
  readonly name: string;
  readonly object: { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> };
}

/** The claim object of the server on pool `p` of a DRA stack of `shape`, as the program would create it. */
function claimObject(shape: Shape): ClaimInput {
  // Labels of their own, so that two pools of one GPU model can be told apart.
  const pool = (name: string, p: Record<string, unknown>): Record<string, unknown> => ({
    nodes: { min: 1, max: 1 },
    allocation: "dra",
    nodeSelector: { "example.com/pool": name },
    ...p,
  });
  const config = parseStackConfig(
    minimalConfig({
      cluster: { kubernetesVersion: "1.36" },
      draDriver: { featureGates: shape.gates },
      gpuPools: { p: pool("p", shape.pool), ...(shape.beside === undefined ? {} : { q: pool("q", shape.beside) }) },
      servers: { s: { pool: "p" } },
    }),
  );
  const claim = tritonDeviceClaim(tritonServerSpec(config.servers[0]));
  if (claim === undefined) throw new Error(`${shape.name}: no claim generated`);
  return {
    name: shape.name,
    object: { apiVersion: claim.apiVersion, kind: claim.kind, metadata: { name: claim.name }, spec: claim.spec },
  };
}

// The first test may build the tool from Go modules (about a minute on 2 cores).
describe(`NVIDIA's DRA driver ${DRA_DRIVER_VERSION}`, { timeout: 20 * 60_000 }, () => {
  it("is the version tools/dra-validate is built against", () => {
    const env = fs.readFileSync(path.join(PROJECT_DIR, "tools", "versions.env"), "utf8");
    expect(env).toMatch(new RegExp(`^DRA_DRIVER_VERSION=${DRA_DRIVER_VERSION.replace(/\./g, "\\.")}$`, "m"));
    const gomod = fs.readFileSync(path.join(PROJECT_DIR, "tools", "dra-validate", "go.mod"), "utf8");
    expect(gomod).toContain(`sigs.k8s.io/dra-driver-nvidia-gpu v${DRA_DRIVER_VERSION}`);
  });

  it.each([
    ["time-sliced", TS_GATES, ["GpuConfig", "MigDeviceConfig", "ResourceClaimTemplate"]],
    ["MPS", MPS_GATES, ["GpuConfig", "MigDeviceConfig"]],
    ["unshared", NO_GATES, ["ResourceClaimTemplate"]],
  ])("accepts every %s claim gpushare generates, and its opaque config", (_, gates, kinds) => {
    const claims = shapes()
      .filter((s) => s.gates === gates)
      .map(claimObject);
    expect(claims.length).toBeGreaterThan(12);
    const report = validate(gates, claims);
    expect(report.featureGates).toEqual({ accepted: true });
    expect(report.configs.filter((v) => !v.accepted)).toEqual([]);
    // One verdict per claim: its one opaque config, or the claim itself where it has none.
    expect(report.configs).toHaveLength(claims.length);
    // Whole GPUs and MIG devices were both generated and judged (a claim without a config by its own kind).
    expect(new Set(report.configs.map((v) => v.kind))).toEqual(new Set(kinds));
  });

  it("refuses a claim with a field resource.k8s.io/v1 does not have, in the API types' words", () => {
    const claim = claimObject({ name: "typo", gates: NO_GATES, pool: { gpu: "T4" } });
    const devices = (claim.object.spec.spec as { devices: { requests: { exactly: object }[] } }).devices;
    devices.requests[0].exactly = { ...devices.requests[0].exactly, allocationMod: "ExactCount" };
    expect(validate(NO_GATES, [claim]).configs).toEqual([
      {
        name: "typo",
        accepted: false,
        message: `error decoding object typo: strict decoding error: unknown field "spec.spec.devices.requests[0].exactly.allocationMod"`,
      },
    ]);
  });

  it("refuses a deliberately bad config with its own message", () => {
    const report = validate(TS_GATES, [
      {
        name: "mig-interval",
        parameters: {
          apiVersion: "resource.nvidia.com/v1beta1",
          kind: "MigDeviceConfig",
          sharing: { strategy: "TimeSlicing", timeSlicingConfig: { interval: "Default" } },
        },
      },
      {
        name: "mps-threads",
        parameters: {
          apiVersion: "resource.nvidia.com/v1beta1",
          kind: "GpuConfig",
          sharing: { strategy: "MPS", mpsConfig: { defaultActiveThreadPercentage: 150 } },
        },
      },
    ]);
    expect(report.configs).toEqual([
      {
        name: "mig-interval",
        accepted: false,
        message: `error decoding object at mig-interval: strict decoding error: unknown field "sharing.timeSlicingConfig"`,
      },
      {
        name: "mps-threads",
        accepted: false,
        kind: "GpuConfig",
        message: `object at mps-threads is invalid: "MPS" is selected as the GPU sharing strategy, but the "MPSSupport" feature gate is not enabled`,
      },
    ]);
    expect(
      validate(MPS_GATES, [
        {
          name: "mps-threads",
          parameters: {
            apiVersion: "resource.nvidia.com/v1beta1",
            kind: "GpuConfig",
            sharing: { strategy: "MPS", mpsConfig: { defaultActiveThreadPercentage: 150 } },
          },
        },
      ]).configs[0].message,
    ).toBe("object at mps-threads is invalid: active thread percentage must not be greater than 100");
  });

  it("refuses our time-sliced configs without the gate gpushare asks for", () => {
    const shape = shapes().find((s) => s.name === "T4-ts2");
    if (shape === undefined) throw new Error("no T4-ts2 shape");
    expect(validate({}, [claimObject(shape)]).configs[0].message).toBe(
      `object at T4-ts2: spec.spec.devices.config[0].opaque.parameters is invalid: "TimeSlicing" is selected as the GPU sharing strategy, but the "TimeSlicingSettings" feature gate is not enabled`,
    );
  });

  it.each([
    [{ DynamicMIG: true, MPSSupport: true }],
    [{ DynamicMIG: true, PassthroughSupport: true }],
    [{ DynamicMIG: true, NVMLDeviceHealthCheck: true }],
    [{ PassthroughSupport: true, NVMLDeviceHealthCheck: true }],
    [{ DeviceMetadata: true }],
    [{ IMEXDaemonsWithDNSNames: false }],
  ])("refuses the gates %o as gpushare's stack validation does, in the same words", (gates) => {
    const report = validate(gates, []);
    expect(report.featureGates.accepted).toBe(false);
    const ours = draGateProblems("draDriver.featureGates", gates);
    expect(ours).toHaveLength(1);
    expect(ours[0]).toContain(`(${report.featureGates.message})`);
  });

  it("starts with the gates gpushare's DRA pools ask for", () => {
    expect(validate({ ...TS_GATES, ...MPS_GATES }, []).featureGates).toEqual({ accepted: true });
  });

  it("has exactly the feature gates, stages and defaults gpushare's rules assume", () => {
    const run = spawnSync(tool(), ["--list-gates"], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(DRA_FEATURE_GATES);
  });
});
