import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { render } from "../../scripts/render";
import { PROJECT_DIR } from "../helpers";

const TSX = path.join(PROJECT_DIR, "node_modules", ".bin", "tsx");
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-render-twice-"));

/** Every file of a render, by its path relative to `dir`, with its content. */
function tree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const rel of fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).sort()) {
    const file = path.join(dir, rel);
    if (fs.statSync(file).isFile()) files[rel] = fs.readFileSync(file, "utf8");
  }
  return files;
}

/** A render of `stack` in a process of its own: what `render()` has to match, however often it ran before. */
function renderAlone(stack: string): Record<string, string> {
  const out = path.join(scratch, `${stack}-alone`);
  execFileSync(TSX, [path.join(PROJECT_DIR, "scripts", "render.ts"), "--stack", stack, "--out", out], {
    cwd: PROJECT_DIR,
    encoding: "utf8",
  });
  return tree(out);
}

describe("render(), called more than once in one process", () => {
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it("renders staging, then prod, then staging again, each as it renders alone", async () => {
    const staging = path.join(scratch, "staging-first");
    const prod = path.join(scratch, "prod-second");
    const stagingAgain = path.join(scratch, "staging-third");
    const first = await render("staging", staging, PROJECT_DIR);
    const second = await render("prod", prod, PROJECT_DIR);
    const third = await render("staging", stagingAgain, PROJECT_DIR);

    // Each call returns its own stack's resources, none of an earlier call's.
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
    expect(second.every((r) => r.urn.startsWith("urn:pulumi:prod::"))).toBe(true);
    expect(third.map((r) => r.urn)).toEqual(first.map((r) => r.urn));

    const stagingAlone = renderAlone("staging");
    const prodAlone = renderAlone("prod");
    expect(Object.keys(stagingAlone)).toContain("resources.json");
    expect(stagingAlone).not.toEqual(prodAlone);
    expect(tree(staging)).toEqual(stagingAlone);
    expect(tree(prod)).toEqual(prodAlone);
    expect(tree(stagingAgain)).toEqual(stagingAlone);
  }, 240_000);
});
