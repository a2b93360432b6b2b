import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { findGpuModel } from "../../gpu/catalog";
import { H200_RESNET50_BATCH1 } from "../../gpu/measured-curves";
import { curveProblems, sharingCurveSchema } from "../../gpu/sharing-curve";

/** The batch-1 rows of the measured table, as `mode pods total p99`. */
function measuredRows(mode: "ts" | "mps"): { pods: number; requestsPerSecond: number; p99Ms: number }[] {
  const text = fs.readFileSync(path.join(__dirname, "../fixtures/h200-sharing-measured.md"), "utf8");
  return text
    .split("\n")
    .filter((l) => l.startsWith(`| ${mode} | 1 |`))
    .map((l) => l.split("|").map((c) => c.trim()))
    .map((c) => ({ pods: Number(c[3]), requestsPerSecond: Number(c[4]), p99Ms: Number(c[7]) }));
}

describe("the measured H200 curves", () => {
  it.each([
    ["timeSlicing", "ts"],
    ["mps", "mps"],
  ] as const)("%s holds exactly the batch-1 rows of the measured table", (mode, row) => {
    expect(H200_RESNET50_BATCH1[mode].points).toEqual(measuredRows(row));
    expect(H200_RESNET50_BATCH1[mode].sharing).toBe(mode);
  });

  it("are valid curves that cite their source", () => {
    for (const curve of Object.values(H200_RESNET50_BATCH1)) {
      expect(sharingCurveSchema.safeParse(curve).success).toBe(true);
      expect(curveProblems("c", curve)).toEqual([]);
      expect(curve.source).toContain("test/fixtures/h200-sharing-measured.md");
      // A stack compares a curve's GPU with its pool's by the catalog's name.
      expect(findGpuModel(curve.gpu)?.name).toBe("H200-141GB");
    }
  });
});
