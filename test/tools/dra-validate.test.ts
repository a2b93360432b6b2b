import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { tritonDeviceClaim } from "../../components/k8s/triton-spec";
import { findGpuModel, gpuModelNames, maxMpsClients } from "../../gpu/catalog";
import { DRA_DRIVER_VERSION, draGateProblems } from "../../gpu/dra";
import { namedLayouts } from "../../gpu/layouts";
import { tritonServerSpec } from "../../stacks/args";
import { parseStackConfig } from "../../stacks/config";
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
  configs: readonly { name: string; parameters: unknown }[],
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

interface Shape {
  readonly name: string;
  readonly gates: Readonly<Record<string, boolean>>;
  readonly pool: Record<string, unknown>;
}

/**
 * Every shape of DRA pool whose claims carry an opaque config: each GPU model's whole GPUs time-sliced (2 and 8
 * shares) and under MPS (2 clients and the most its architecture takes), and each MIG profile of each model, alone
 * in its `all-<profile>` layout, time-sliced and under MPS.
 */
function shapes(): Shape[] {
  const out: Shape[] = [];
  for (const model of gpuModelNames()) {
    const gpu = findGpuModel(model);
    if (gpu === undefined) continue;
    for (const r of [2, 8]) {
      out.push({ name: `${model}-ts${r}`, gates: TS_GATES, pool: { gpu: model, timeSlicing: { replicas: r } } });
    }
    for (const r of [...new Set([2, maxMpsClients(gpu)])]) {
      out.push({ name: `${model}-mps${r}`, gates: MPS_GATES, pool: { gpu: model, mps: { replicas: r } } });
    }
    for (const layout of namedLayouts(gpu).filter((l) => l.migEnabled && Object.keys(l.counts).length === 1)) {
      const mig = { layout: layout.name };
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

/** The opaque config of the one server of a one-pool DRA stack of `shape`, as the program would create it. */
function opaqueConfig(shape: Shape): { name: string; parameters: unknown } {
  const config = parseStackConfig(
    minimalConfig({
      cluster: { kubernetesVersion: "1.36" },
      draDriver: { featureGates: shape.gates },
      gpuPools: { p: { nodes: { min: 1, max: 1 }, allocation: "dra", ...shape.pool } },
      servers: { s: { pool: "p" } },
    }),
  );
  const claim = tritonDeviceClaim(tritonServerSpec(config.servers[0]));
  const spec = (claim?.mode === "template" ? claim.spec.spec : claim?.spec) as
    { devices: { config?: { opaque: { parameters: unknown } }[] } } | undefined;
  const parameters = spec?.devices.config?.[0]?.opaque.parameters;
  if (parameters === undefined) throw new Error(`${shape.name}: no opaque config generated`);
  return { name: shape.name, parameters };
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
    ["time-sliced", TS_GATES],
    ["MPS", MPS_GATES],
  ])("accepts every %s opaque config gpushare generates", (_, gates) => {
    const configs = shapes()
      .filter((s) => s.gates === gates)
      .map(opaqueConfig);
    expect(configs.length).toBeGreaterThan(20);
    const report = validate(gates, configs);
    expect(report.featureGates).toEqual({ accepted: true });
    expect(report.configs.filter((v) => !v.accepted)).toEqual([]);
    expect(report.configs).toHaveLength(configs.length);
    // Both kinds were generated and judged: whole GPUs and MIG devices.
    expect(new Set(report.configs.map((v) => v.kind))).toEqual(new Set(["GpuConfig", "MigDeviceConfig"]));
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
    expect(validate({}, [opaqueConfig(shape)]).configs[0].message).toBe(
      `object at T4-ts2 is invalid: "TimeSlicing" is selected as the GPU sharing strategy, but the "TimeSlicingSettings" feature gate is not enabled`,
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
});
