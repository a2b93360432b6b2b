import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACK_NAME } from "../../policy/guardrails";
import type { Engine } from "./engine";
import { initStack, kubectl, prepareLocalStack, provideEngine, pulumi, run, stopEngine } from "./engine";

/**
 * The policy pack as `pulumi preview --policy-pack` runs it: the engine asks the Node.js language host (our
 * stand-in, tools/langhost-nodejs) to RunPlugin the pack, which serves the Analyzer over gRPC. The `local` stack
 * passes every guardrail; a tiny program of its own that binds cluster-admin fails with the policy's message.
 * The pack's dependencies come from the project's node_modules (npm ci): policy/ resolves them from its parent.
 */

const VIOLATION =
  'ClusterRoleBinding "ops-admin": roleRef is ClusterRole "cluster-admin", full control of the cluster for its subjects; bind a Role or ClusterRole that grants only the verbs and resources they use';

let engine: Engine;
let policyPack = "";

describe.sequential("the policy pack on the real engine", { timeout: 10 * 60_000 }, () => {
  beforeAll(() => {
    // Ports of its own: the local-stack test file may run on the same machine at the same time.
    engine = provideEngine({ portOffset: 100 });
    policyPack = path.join(engine.project, "policy");
    prepareLocalStack(engine);
  }, 75 * 60_000);

  afterAll(() => {
    if (engine !== undefined) stopEngine(engine);
  });

  it("passes preview of the local stack and names the pack", () => {
    const r = pulumi(engine, ["preview", "--stack", "local", "--policy-pack", "policy"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`✅ ${PACK_NAME}@v\\d+\\.\\d+\\.\\d+ \\(local: policy\\)`));
    expect(r.stdout).not.toContain("❌");
    expect(r.stdout).not.toContain("[mandatory]");
  });

  it("fails preview of a program that binds cluster-admin, with the policy's message", () => {
    const program = path.join(engine.scratch, "violating");
    fs.mkdirSync(program);
    fs.writeFileSync(
      path.join(program, "Pulumi.yaml"),
      "name: gpushare-policy-violation\nruntime: nodejs\ndescription: binds cluster-admin, which the guardrails refuse\n",
    );
    fs.writeFileSync(
      path.join(program, "package.json"),
      JSON.stringify({ name: "gpushare-policy-violation", private: true, main: "index.js" }),
    );
    fs.writeFileSync(
      path.join(program, "index.js"),
      `const k8s = require("@pulumi/kubernetes");
new k8s.rbac.v1.ClusterRoleBinding("ops-admin", {
  metadata: { name: "ops-admin" },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
  subjects: [{ kind: "ServiceAccount", name: "ops", namespace: "default" }],
});
`,
    );
    fs.symlinkSync(path.join(engine.project, "node_modules"), path.join(program, "node_modules"));
    initStack(engine, "violating", program);

    const r = run("pulumi", ["preview", "--stack", "violating", "--policy-pack", policyPack, "--non-interactive"], {
      cwd: program,
      env: engine.env,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.code, out).not.toBe(0);
    expect(out).toContain(`❌ ${PACK_NAME}@v`);
    expect(out).toMatch(
      /\[mandatory\] +no-cluster-admin-binding +\(kubernetes:rbac\.authorization\.k8s\.io\/v1:ClusterRoleBinding: ops-admin\)/,
    );
    expect(out).toContain(VIOLATION);
    expect(kubectl(engine, ["get", "clusterrolebindings", "-o", "name"])).not.toContain("ops-admin");
  });
});
