import { describe, expect, it } from "vitest";
import type { GpuModel } from "../../gpu/catalog";
import { findGpuModel, gpuModels } from "../../gpu/catalog";
import { namedLayouts } from "../../gpu/layouts";
import { placeMigLayout } from "../../gpu/placement";

function migModel(name: string): GpuModel & { mig: NonNullable<GpuModel["mig"]> } {
  const model = findGpuModel(name);
  if (model?.mig === undefined) throw new Error(`${name} has no MIG`);
  return model as GpuModel & { mig: NonNullable<GpuModel["mig"]> };
}

const a100 = migModel("A100-SXM4-40GB").mig;

describe("MIG placement, the rule that refuses a layout", () => {
  it.each(
    gpuModels()
      .filter((m) => m.mig !== undefined)
      .map((m) => [m.name]),
  )("places every named layout of %s legally: legal starts, no overlap, within the GPU, in order of start", (name) => {
    const model = migModel(name);
    for (const layout of namedLayouts(model)) {
      const placed = placeMigLayout(model.mig, layout.counts);
      expect(placed, layout.name).toBeDefined();
      const used = new Set<number>();
      for (const instance of placed ?? []) {
        const profile = model.mig.profiles.find((p) => p.name === instance.profile);
        expect(profile?.placements).toContain(instance.start);
        expect(instance.memorySlices).toBe(profile?.memorySlices);
        for (let s = instance.start; s < instance.start + instance.memorySlices; s++) {
          expect(used.has(s), `${layout.name}: slice ${s} twice`).toBe(false);
          expect(s).toBeLessThan(model.mig.memorySlices);
          used.add(s);
        }
      }
      const starts = (placed ?? []).map((p) => p.start);
      expect(starts).toEqual([...starts].sort((x, y) => x - y));
      const instances = Object.values(layout.counts).reduce((n, c) => n + c, 0);
      expect(placed).toHaveLength(instances);
    }
  });

  it("places the all-balanced A100 in a fixed order: 2g.10gb, two 1g.5gb, then 3g.20gb", () => {
    expect(placeMigLayout(a100, { "1g.5gb": 2, "2g.10gb": 1, "3g.20gb": 1 })).toEqual([
      { profile: "2g.10gb", start: 0, memorySlices: 2 },
      { profile: "1g.5gb", start: 2, memorySlices: 1 },
      { profile: "1g.5gb", start: 3, memorySlices: 1 },
      { profile: "3g.20gb", start: 4, memorySlices: 4 },
    ]);
  });

  it("places a profile with no instances as nothing", () => {
    expect(placeMigLayout(a100, { "1g.5gb": 0 })).toEqual([]);
  });

  it.each<[string, Record<string, number>]>([
    ["a count is negative", { "1g.5gb": -1 }],
    ["a count is not whole", { "1g.5gb": 1.5 }],
    ["a profile exceeds its instances per GPU", { "3g.20gb": 3 }],
    ["the instances need more compute slices than the GPU has", { "4g.20gb": 1, "3g.20gb": 1, "1g.5gb": 1 }],
    ["the instances overlap on memory slices", { "3g.20gb": 2, "1g.5gb": 1 }],
  ])("finds no placement when %s", (_, counts) => {
    expect(placeMigLayout(a100, counts)).toBeUndefined();
  });

  it("fails, as the bug it is, when a profile is not in the catalog", () => {
    expect(() => placeMigLayout(a100, { "2g.20gb": 1 })).toThrow("MIG profile 2g.20gb is not in this GPU's catalog");
  });
});
