import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { GpuArchitecture } from "../../gpu/catalog";
import { findGpuModel, findMigProfile, gpuModels, maxMpsClients, UNMEASURED_RESERVED_MIB } from "../../gpu/catalog";
import {
  CONTEXT_MIB,
  DEFAULT_REPLICA_OVERHEAD_GIB,
  LIBRARIES_MIB,
  MPS_SERVER_GIB,
  TRITON_POOL_MIB,
} from "../../gpu/memory";
import { allProfileLayoutName, findNamedLayout, namedLayouts } from "../../gpu/layouts";
import { maxInstancesOf, placeMigLayout } from "../../gpu/placement";

const migModels = gpuModels().filter((m) => m.mig !== undefined);

describe("the GPU catalog", () => {
  it("knows the MIG models the design names, and the non-MIG ones as such", () => {
    expect(migModels.map((m) => m.name)).toEqual([
      "A100-SXM4-40GB",
      "A100-80GB",
      "H100-80GB",
      "H200-141GB",
      "A30-24GB",
    ]);
    for (const name of ["T4", "L4", "A10", "L40S"]) expect(findGpuModel(name)?.mig).toBeUndefined();
  });

  it.each([
    ["T4", 48],
    ["A100-SXM4-40GB", 48],
    ["V100-16GB", 16],
  ])("allows %s at most %i MPS clients", (name, max) => {
    const model = findGpuModel(name);
    expect(model).toBeDefined();
    if (model !== undefined) expect(maxMpsClients(model)).toBe(max);
  });

  it.each(migModels.map((m) => [m.name, m] as const))(
    "%s: every profile fits the GPU at each of its placements",
    (_, model) => {
      const mig = model.mig;
      if (mig === undefined) throw new Error("not a MIG model");
      for (const p of mig.profiles) {
        expect(p.computeSlices).toBe(Number(p.name.split("g.")[0]));
        for (const start of p.placements) expect(start + p.memorySlices).toBeLessThanOrEqual(mig.memorySlices);
      }
    },
  );
});

describe("named layouts", () => {
  const expected: Record<string, Record<string, Record<string, number>>> = {
    "A100-SXM4-40GB": {
      "all-1g.5gb": { "1g.5gb": 7 },
      "all-1g.5gb.me": { "1g.5gb+me": 1 },
      "all-1g.10gb": { "1g.10gb": 4 },
      "all-2g.10gb": { "2g.10gb": 3 },
      "all-3g.20gb": { "3g.20gb": 2 },
      "all-4g.20gb": { "4g.20gb": 1 },
      "all-7g.40gb": { "7g.40gb": 1 },
      "all-balanced": { "1g.5gb": 2, "2g.10gb": 1, "3g.20gb": 1 },
    },
    "A100-80GB": {
      "all-1g.10gb": { "1g.10gb": 7 },
      "all-1g.10gb.me": { "1g.10gb+me": 1 },
      "all-1g.20gb": { "1g.20gb": 4 },
      "all-2g.20gb": { "2g.20gb": 3 },
      "all-3g.40gb": { "3g.40gb": 2 },
      "all-4g.40gb": { "4g.40gb": 1 },
      "all-7g.80gb": { "7g.80gb": 1 },
      "all-balanced": { "1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1 },
    },
    "H100-80GB": {
      "all-1g.10gb": { "1g.10gb": 7 },
      "all-1g.10gb.me": { "1g.10gb+me": 1 },
      "all-1g.20gb": { "1g.20gb": 4 },
      "all-2g.20gb": { "2g.20gb": 3 },
      "all-3g.40gb": { "3g.40gb": 2 },
      "all-4g.40gb": { "4g.40gb": 1 },
      "all-7g.80gb": { "7g.80gb": 1 },
      "all-balanced": { "1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1 },
    },
    "H200-141GB": {
      "all-1g.18gb": { "1g.18gb": 7 },
      "all-1g.18gb.me": { "1g.18gb+me": 1 },
      "all-1g.35gb": { "1g.35gb": 4 },
      "all-2g.35gb": { "2g.35gb": 3 },
      "all-3g.71gb": { "3g.71gb": 2 },
      "all-4g.71gb": { "4g.71gb": 1 },
      "all-7g.141gb": { "7g.141gb": 1 },
      "all-balanced": { "1g.18gb": 2, "2g.35gb": 1, "3g.71gb": 1 },
    },
    "A30-24GB": {
      "all-1g.6gb": { "1g.6gb": 4 },
      "all-1g.6gb.me": { "1g.6gb+me": 1 },
      "all-2g.12gb": { "2g.12gb": 2 },
      "all-2g.12gb.me": { "2g.12gb+me": 1 },
      "all-4g.24gb": { "4g.24gb": 1 },
      "all-balanced": { "1g.6gb": 2, "2g.12gb": 1 },
    },
  };

  const cases = Object.entries(expected).flatMap(([gpu, layouts]) =>
    Object.entries(layouts).map(([name, counts]) => [gpu, name, counts] as const),
  );

  it.each(cases)("%s %s has the counts mig-manager gives it and a legal placement", (gpu, name, counts) => {
    const model = findGpuModel(gpu);
    if (model?.mig === undefined) throw new Error(`${gpu} is not a MIG model`);
    const layout = findNamedLayout(model, name);
    expect(layout?.counts).toEqual(counts);
    expect(placeMigLayout(model.mig, counts)).toBeDefined();
  });

  it.each(migModels.map((m) => [m.name, m] as const))(
    "%s: exactly the named layouts mig-manager generates",
    (name, model) => {
      const names = namedLayouts(model).map((l) => l.name);
      expect(new Set(names).size).toBe(names.length);
      expect(names).toContain("all-disabled");
      expect(names).toContain("all-enabled");
      for (const n of Object.keys(expected[name])) expect(names).toContain(n);
      expect(names).toHaveLength(Object.keys(expected[name]).length + 2);
    },
  );

  it("writes + as . in all-<profile> names", () => {
    expect(allProfileLayoutName("1g.5gb+me")).toBe("all-1g.5gb.me");
  });

  it("offers non-MIG GPUs only all-disabled", () => {
    const t4 = findGpuModel("T4");
    if (t4 === undefined) throw new Error("T4 missing");
    expect(namedLayouts(t4).map((l) => l.name)).toEqual(["all-disabled"]);
  });
});

describe("MIG placement", () => {
  const a100 = findGpuModel("A100-SXM4-40GB")?.mig;
  if (a100 === undefined) throw new Error("A100 missing");

  it.each([
    [{ "3g.20gb": 2, "1g.5gb": 1 }, "two 3g and one 1g: the 3g instances take all 8 memory slices"],
    [{ "4g.20gb": 1, "3g.20gb": 1, "1g.5gb": 1 }, "4g+3g+1g: 8 compute slices"],
    [{ "1g.5gb": 8 }, "eight 1g.5gb: only seven placements"],
    [{ "1g.5gb+me": 2 }, "two media-extension instances"],
    [{ "7g.40gb": 1, "1g.5gb": 1 }, "a full-GPU instance beside anything"],
  ])("refuses %j (%s)", (counts, _why) => {
    expect(placeMigLayout(a100, counts)).toBeUndefined();
  });

  it.each([
    [{ "4g.20gb": 1, "3g.20gb": 1 }],
    [{ "3g.20gb": 1, "2g.10gb": 1, "1g.5gb": 2 }],
    [{ "2g.10gb": 3, "1g.5gb": 1 }],
    [{ "1g.10gb": 3, "1g.5gb": 1 }],
    [{ "2g.10gb": 3, "1g.10gb": 1 }],
  ])("places %j", (counts) => {
    expect(placeMigLayout(a100, counts)).toBeDefined();
  });

  it("finds the maximum count of each profile", () => {
    expect(maxInstancesOf(a100, "1g.5gb")).toBe(7);
    expect(maxInstancesOf(a100, "3g.20gb")).toBe(2);
  });

  it("never accepts a layout whose instances overlap on memory slices or exceed the compute slices", () => {
    for (const model of migModels) {
      const mig = model.mig;
      if (mig === undefined) continue;
      const countsArb = fc.record(
        Object.fromEntries(mig.profiles.map((p) => [p.name, fc.integer({ min: 0, max: 4 })])) as Record<
          string,
          fc.Arbitrary<number>
        >,
      );
      fc.assert(
        fc.property(countsArb, (counts) => {
          const placed = placeMigLayout(mig, counts);
          if (placed === undefined) return true;
          const used = new Array<number>(mig.memorySlices).fill(0);
          let compute = 0;
          for (const inst of placed) {
            const p = mig.profiles.find((x) => x.name === inst.profile);
            if (p === undefined || !p.placements.includes(inst.start)) return false;
            compute += p.computeSlices;
            for (let s = inst.start; s < inst.start + inst.memorySlices; s++) used[s]++;
          }
          const requested = Object.values(counts).reduce((a, b) => a + b, 0);
          return used.every((u) => u <= 1) && compute <= mig.computeSlices && placed.length === requested;
        }),
        { numRuns: 300 },
      );
    }
  });
});

describe("the H200 entry against real nvidia-smi output", () => {
  // `nvidia-smi mig -lgip; nvidia-smi mig -lgipp` of a real H200, kept with the tests.
  const text = fs.readFileSync(path.resolve(__dirname, "../fixtures/h200-mig-profiles.txt"), "utf8");
  const profiles = [...text.matchAll(/MIG (\S+)\s+(\d+)\s+(\d+)\/(\d+)\s+([\d.]+)/g)].map((m) => ({
    name: m[1],
    id: Number(m[2]),
    total: Number(m[4]),
    memoryGiB: Number(m[5]),
  }));
  const placements = new Map(
    [...text.matchAll(/Profile ID\s+(\d+) Placements?\s*:\s*\{([\d,]+)\}:(\d+)/g)].map((m) => [
      Number(m[1]),
      { starts: m[2].split(",").map(Number), size: Number(m[3]) },
    ]),
  );
  const h200 = findGpuModel("H200-141GB");

  it("reads every profile and placement of the output", () => {
    expect(profiles.map((p) => p.name)).toEqual([
      "1g.18gb",
      "1g.18gb+me",
      "1g.35gb",
      "2g.35gb",
      "3g.71gb",
      "4g.71gb",
      "7g.141gb",
    ]);
    expect([...placements.keys()]).toEqual([19, 20, 15, 14, 9, 5, 0]);
  });

  it("lists the same profiles", () => {
    expect(h200?.mig?.profiles.map((p) => p.name).sort()).toEqual(profiles.map((p) => p.name).sort());
  });

  it.each(profiles.map((p) => [p.name, p] as const))(
    "%s: memory, placements, slice span and instance count agree",
    (name, real) => {
      const mig = h200?.mig;
      if (mig === undefined || h200 === undefined) throw new Error("H200 has no MIG entry");
      const p = findMigProfile(h200, name);
      const place = placements.get(real.id);
      expect(p?.memoryGiB).toBe(real.memoryGiB);
      expect(p?.placements).toEqual(place?.starts);
      expect(p?.memorySlices).toBe(place?.size);
      expect(maxInstancesOf(mig, name)).toBe(real.total);
    },
  );
});

describe("PCI device ids", () => {
  // NVIDIA's default mig-parted config (gpu-operator v26.7.0, assets/state-mig-manager) groups these ids under
  // one profile table; a node with any of them must get its pool's labels.
  it.each([
    ["20b0", "A100-SXM4-40GB"],
    ["20b1", "A100-SXM4-40GB"],
    ["20f1", "A100-SXM4-40GB"],
    ["20f6", "A100-SXM4-40GB"], // A800-40GB
    ["20b2", "A100-80GB"],
    ["20b5", "A100-80GB"],
    ["20f3", "A100-80GB"], // A800-80GB
    ["20f5", "A100-80GB"], // A800-80GB
    ["2330", "H100-80GB"],
    ["2331", "H100-80GB"],
    ["2322", "H100-80GB"], // H800-80GB
    ["2324", "H100-80GB"], // H800-80GB
    ["2335", "H200-141GB"],
    ["233b", "H200-141GB"], // H200 NVL
    ["20b7", "A30-24GB"],
  ])("recognises %s as %s", (id, model) => {
    const owners = gpuModels().filter((m) => m.pciDeviceIds.includes(id));
    expect(owners.map((m) => m.name)).toEqual([model]);
  });

  it("lists each id once, lowercase hex, as node-feature-discovery reports it", () => {
    const ids = gpuModels().flatMap((m) => m.pciDeviceIds);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{4}$/);
  });
});

describe("whole-GPU memory against its cited readings (docs/gpu-memory.md)", () => {
  const doc = fs.readFileSync(path.resolve(__dirname, "../../docs/gpu-memory.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Whole GPUs"), doc.indexOf("## Per-replica overhead"));
  // | GPU | nvidia-smi total MiB | source | usable MiB | source |
  const readings = [...section.matchAll(/^\| ([\w-]+) \| (\d+) \| (.+?) \| (\d+) \| (.+?) \|$/gm)].map((m) => ({
    gpu: m[1],
    totalMiB: Number(m[2]),
    totalSource: m[3],
    usableMiB: Number(m[4]),
    usableSource: m[5],
  }));

  it("cites a reading for every GPU model of the catalog, and none for a model it does not know", () => {
    expect(readings.map((r) => r.gpu).sort()).toEqual(
      gpuModels()
        .map((m) => m.name)
        .sort(),
    );
  });

  it.each(readings.map((r) => [r.gpu, r] as const))("%s: the catalog holds the cited figures", (name, r) => {
    const m = findGpuModel(name);
    expect(m?.smiTotalMiB).toBe(r.totalMiB);
    expect(m?.memoryGiB).toBe(r.usableMiB / 1024);
    // A usable figure without a reading of its own is the total less the largest reservation measured.
    if (r.usableSource.startsWith("derived")) expect(r.usableMiB).toBe(r.totalMiB - UNMEASURED_RESERVED_MIB);
    else expect(r.usableSource).not.toMatch(/derived/);
  });

  it("holds the H200 as measured here", () => {
    const measured = fs.readFileSync(path.resolve(__dirname, "../fixtures/h200-sharing-measured.md"), {
      encoding: "utf8",
      flag: "r",
    });
    expect(measured).toContain("143771 MiB as nvidia-smi reports it");
    expect(measured).toContain("CUDA reported 143155 MiB total");
    expect(findGpuModel("H200-141GB")).toMatchObject({ smiTotalMiB: 143771, memoryGiB: 143155 / 1024 });
  });

  it.each([
    ["T4", 15079],
    ["A100-SXM4-40GB", 40536],
  ])("%s: usable memory is below its name, as nvidia-smi shows (%i MiB)", (name, mib) => {
    const m = findGpuModel(name);
    expect(m?.memoryGiB).toBe(mib / 1024);
    expect(m?.memoryGiB).toBeLessThan(m?.nominalMemoryGB ?? 0);
  });

  it("never gives a whole GPU less usable memory than its largest MIG slice by more than the driver's reservation", () => {
    for (const m of gpuModels()) {
      const largest = Math.max(0, ...(m.mig?.profiles.map((p) => p.memoryGiB) ?? [0]));
      expect(largest - m.memoryGiB).toBeLessThanOrEqual(m.reservedMiB / 1024);
    }
  });
});

describe("per-replica overhead against its cited parts (docs/gpu-memory.md)", () => {
  const doc = fs.readFileSync(path.resolve(__dirname, "../../docs/gpu-memory.md"), "utf8");
  const rows = [...doc.matchAll(/^\| (\w+) \([^)]*\) \| (\d+) \| .+? \| (\d+) \| ([\d.]+) \|$/gm)].map((m) => ({
    architecture: m[1] as GpuArchitecture,
    contextMiB: Number(m[2]),
    overheadMiB: Number(m[3]),
    gib: Number(m[4]),
  }));

  it("gives every architecture of the catalog a row", () => {
    expect(rows.map((r) => r.architecture).sort()).toEqual([...new Set(gpuModels().map((m) => m.architecture))].sort());
  });

  it.each(rows.map((r) => [r.architecture, r] as const))("%s: context, libraries and Triton's pool", (arch, r) => {
    expect(CONTEXT_MIB[arch]).toBe(r.contextMiB);
    expect(r.overheadMiB).toBe(r.contextMiB + LIBRARIES_MIB + TRITON_POOL_MIB);
    expect(DEFAULT_REPLICA_OVERHEAD_GIB[arch]).toBe(r.overheadMiB / 1024);
    expect(DEFAULT_REPLICA_OVERHEAD_GIB[arch].toFixed(2)).toBe(r.gib.toFixed(2));
  });

  it("reads the libraries' share off the H200 measurement: 794 MiB with cuBLAS and cuDNN, 612 MiB bare", () => {
    const measured = fs.readFileSync(path.resolve(__dirname, "../fixtures/h200-sharing-measured.md"), "utf8");
    expect(measured).toMatch(/CUDA context only .*\| 612 MiB \|/);
    expect(measured).toMatch(/ResNet-50 fp16 after one forward pass .*\| 794 MiB \|/);
    expect(measured).toContain("plus 66 MiB for the MPS server");
    expect(LIBRARIES_MIB).toBe(794 - 612);
    expect(MPS_SERVER_GIB).toBe(66 / 1024);
  });
});
