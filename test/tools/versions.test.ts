import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_DIR } from "../helpers";

function versionsEnv(): Record<string, string> {
  const text = fs.readFileSync(path.join(PROJECT_DIR, "tools", "versions.env"), "utf8");
  return Object.fromEntries(
    text
      .split("\n")
      .map((l) => /^([A-Z0-9_]+)=(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
}

describe("pinned versions", () => {
  it("pair the npm Kubernetes SDK with the provider the toolchain builds", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(pkg.dependencies["@pulumi/kubernetes"]).toBe(versionsEnv().K8S_PROVIDER_VERSION);
  });
});
