import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { spawn } from "node:child_process";
import * as path from "node:path";
// @grpc/grpc-js and google-protobuf: the copies @pulumi/pulumi's analyzer stubs are built on.
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import type { AnalyzeResponse, AnalyzerInfo } from "@pulumi/pulumi/proto/analyzer_pb";
import { AnalyzeRequest, AnalyzerResourceOptions, EnforcementLevel } from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import type { JavaScriptValue } from "google-protobuf/google/protobuf/struct_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GUARDRAILS, PACK_NAME } from "../../policy/guardrails";

/**
 * The pack as the engine runs it: `@pulumi/pulumi/cmd/run-policy-pack` compiles policy/index.ts with ts-node
 * (type-checked), serves the Analyzer gRPC service and prints its port; the engine then calls GetAnalyzerInfo
 * and Analyze per resource. This test plays the engine.
 */
const POLICY_DIR = path.resolve(__dirname, "../../policy");
const RUN_POLICY_PACK = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");
const START_TIMEOUT_MS = 180_000;

let pack: ChildProcessWithoutNullStreams;
let client: AnalyzerClient;

function startPack(): Promise<string> {
  // The engine address is only used by remediation and stack config calls, which this test does not make.
  pack = spawn(process.execPath, [RUN_POLICY_PACK, "127.0.0.1:1", "."], { cwd: POLICY_DIR });
  let stderr = "";
  pack.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    pack.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    pack.once("exit", (code) => reject(new Error(`the policy pack exited with ${code}:\n${stderr}`)));
  });
}

function analyzerInfo(): Promise<AnalyzerInfo> {
  return new Promise((resolve, reject) =>
    client.getAnalyzerInfo(new Empty(), (err, info) => (err === null ? resolve(info) : reject(err))),
  );
}

function analyze(
  type: string,
  name: string,
  props: Record<string, JavaScriptValue>,
  protect: boolean,
): Promise<AnalyzeResponse> {
  const request = new AnalyzeRequest();
  request.setType(type);
  request.setName(name);
  request.setUrn(`urn:pulumi:dev::gpushare::${type}::${name}`);
  request.setProperties(Struct.fromJavaScript(props));
  const options = new AnalyzerResourceOptions();
  options.setProtect(protect);
  request.setOptions(options);
  return new Promise((resolve, reject) =>
    client.analyze(request, (err, response) => (err === null ? resolve(response) : reject(err))),
  );
}

const SHARE = "openstack:sharedfilesystem/share:Share";

describe("the policy pack served as the engine runs it", () => {
  beforeAll(async () => {
    const port = await startPack();
    client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }, START_TIMEOUT_MS);

  afterAll(() => {
    client?.close();
    pack?.kill();
  });

  it(`is ${PACK_NAME}, with every guardrail mandatory`, async () => {
    const info = await analyzerInfo();
    expect(info.getName()).toBe(PACK_NAME);
    const policies = info.getPoliciesList();
    expect(policies.map((p) => p.getName())).toEqual(GUARDRAILS.map((p) => p.name));
    expect(policies.map((p) => p.getEnforcementlevel())).toEqual(GUARDRAILS.map(() => EnforcementLevel.MANDATORY));
  });

  it("passes a protected share", async () => {
    const response = await analyze(SHARE, "models-share", { shareProto: "NFS", size: 100 }, true);
    expect(response.getDiagnosticsList()).toEqual([]);
  });

  it("fails when the engine sends an unprotected share: one mandatory violation", async () => {
    const response = await analyze(SHARE, "models-share", { shareProto: "NFS", size: 100 }, false);
    const diagnostics = response.getDiagnosticsList().map((d) => ({
      policy: d.getPolicyname(),
      level: d.getEnforcementlevel(),
      message: d.getMessage(),
    }));
    expect(diagnostics).toEqual([
      {
        policy: "nfs-share-protected",
        level: EnforcementLevel.MANDATORY,
        message:
          'The Manila NFS share that holds the models is protected.\nShare "models-share": protect is false, so pulumi destroy or a replacing change deletes the share and every model in it; create it with { protect: true } (stack config modelStore.allowDestroy: false, the default)',
      },
    ]);
  });

  it("fails when a Helm release floats in kube-system: both guardrails report", async () => {
    const response = await analyze(
      "kubernetes:helm.sh/v3:Release",
      "gpu-operator",
      { chart: "gpu-operator", version: "^26.7.0", namespace: "kube-system" },
      false,
    );
    expect(response.getDiagnosticsList().map((d) => d.getPolicyname())).toEqual([
      "helm-release-pinned",
      "no-kube-system-workloads",
    ]);
  });
});
