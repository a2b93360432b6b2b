import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelStore, type ModelStoreArgs } from "../../../components/k8s/model-store";
import {
  buildSeedScript,
  contentHash,
  normalizeSubPath,
  type SeedModel,
  seedScriptProblems,
  shellQuote,
} from "../../../components/k8s/model-store-seed-script";
import { DEFAULT_SEED_MODELS } from "../../../stacks/config/defaults";
import type { RecordedResource } from "../../../scripts/mock-runtime";
import { at, one, ofType, PROJECT_DIR, resolve, runFailing, runProgram } from "../../helpers";

type Obj = Record<string, unknown>;
type StoreSettings = Omit<ModelStoreArgs, "nfsServer" | "nfsPath">;

/** The seed script for MODELS under subPath "repo", on a share mounted at /share, as the builder writes it. */
const SEED_SCRIPT_REPO = fs.readFileSync(path.join(PROJECT_DIR, "test", "fixtures", "seed-script-repo.sh"), "utf8");

interface Built {
  readonly resources: RecordedResource[];
  readonly namespace: string;
  readonly claimName: string;
}

async function build(settings: StoreSettings, nfsServer = "10.0.0.5", nfsPath = "/export"): Promise<Built> {
  let store: ModelStore | undefined;
  const resources = await runProgram(() => {
    store = new ModelStore("store", { ...settings, nfsServer, nfsPath });
  });
  if (store === undefined) throw new Error("ModelStore was not constructed");
  return { resources, namespace: await resolve(store.namespace), claimName: await resolve(store.claimName) };
}

const MODELS: SeedModel[] = [
  {
    name: "densenet_onnx",
    files: [
      { path: "config.pbtxt", url: "https://models.example/densenet/config.pbtxt" },
      { path: "1/model.onnx", url: "https://models.example/densenet/model.onnx" },
    ],
  },
];

describe("ModelStore", () => {
  it("creates the inference namespace, restricted by Pod Security, and resolves it", async () => {
    const { resources, namespace } = await build({});
    const ns = one(resources, "kubernetes:core/v1:Namespace");
    expect(at(ns.inputs, "metadata", "name")).toBe("inference");
    expect(at(ns.inputs, "metadata", "labels", "pod-security.kubernetes.io/enforce")).toBe("restricted");
    expect(namespace).toBe("inference");
  });

  it("exposes a read-only claim of the repository, pre-bound both ways to a Retain NFS volume", async () => {
    const { resources, claimName } = await build({ subPath: "triton//repo/", namespace: "serving" });
    const pv = one(resources, "kubernetes:core/v1:PersistentVolume", "-models-pv");
    const pvc = one(resources, "kubernetes:core/v1:PersistentVolumeClaim", "-models-pvc");
    expect(claimName).toBe("models");
    expect(at(pv.inputs, "spec")).toMatchObject({
      accessModes: ["ReadOnlyMany"],
      persistentVolumeReclaimPolicy: "Retain",
      storageClassName: "",
      mountOptions: ["hard"],
      nfs: { server: "10.0.0.5", path: "/export/triton/repo", readOnly: true },
      claimRef: { kind: "PersistentVolumeClaim", namespace: "serving", name: "models" },
    });
    expect(at(pvc.inputs, "metadata")).toMatchObject({ name: "models", namespace: "serving" });
    expect(at(pvc.inputs, "spec")).toMatchObject({ accessModes: ["ReadOnlyMany"], storageClassName: "" });
    expect(at(pvc.inputs, "spec", "volumeName")).toBe(at(pv.inputs, "metadata", "name"));
    expect(at(pvc.inputs, "spec", "resources", "requests", "storage")).toBe(
      at(pv.inputs, "spec", "capacity", "storage"),
    );
  });

  it("sizes the volumes and their claims as given", async () => {
    const { resources } = await build({ capacity: "20Gi", seed: { models: MODELS } }, "192.0.2.21", "/shares/x");
    for (const pv of ofType(resources, "kubernetes:core/v1:PersistentVolume")) {
      expect(at(pv.inputs, "spec", "capacity", "storage")).toBe("20Gi");
    }
    for (const pvc of ofType(resources, "kubernetes:core/v1:PersistentVolumeClaim")) {
      expect(at(pvc.inputs, "spec", "resources", "requests", "storage")).toBe("20Gi");
    }
  });

  it("sizes the volumes of an export of unknown size 1Gi", async () => {
    const { resources } = await build({});
    expect(at(one(resources, "kubernetes:core/v1:PersistentVolume").inputs, "spec", "capacity", "storage")).toBe("1Gi");
  });

  it("records its arguments as the component's inputs", async () => {
    const { resources } = await build({ subPath: "repo", namespace: "serving", seed: { models: MODELS } });
    expect(one(resources, "gpushare:k8s:ModelStore").inputs).toEqual({
      subPath: "repo",
      namespace: "serving",
      seed: { models: MODELS },
      nfsServer: "10.0.0.5",
      nfsPath: "/export",
    });
  });

  it("names the volumes after the NFS location, so that moving the store replaces them", async () => {
    const pvName = async (server: string, p: string): Promise<unknown> =>
      at(
        one((await build({}, server, p)).resources, "kubernetes:core/v1:PersistentVolume", "-models-pv").inputs,
        "metadata",
        "name",
      );
    // <namespace>-<claim>-<contentHash(server, path)>: printf '8:10.0.0.57:/export' | sha256sum | cut -c1-10
    expect(await pvName("10.0.0.5", "/export")).toBe("inference-models-2c402351e8");
    expect(await pvName("10.0.0.6", "/export")).not.toBe("inference-models-2c402351e8");
  });

  it("gives the seed Job its own read-write claim of the export root", async () => {
    const { resources } = await build({ subPath: "repo", seed: { models: MODELS } });
    const pv = one(resources, "kubernetes:core/v1:PersistentVolume", "-seed-pv");
    const pvc = one(resources, "kubernetes:core/v1:PersistentVolumeClaim", "-seed-pvc");
    expect(at(pv.inputs, "spec")).toMatchObject({
      accessModes: ["ReadWriteMany"],
      persistentVolumeReclaimPolicy: "Retain",
      storageClassName: "",
      nfs: { server: "10.0.0.5", path: "/export", readOnly: false },
      claimRef: { name: "models-seed", namespace: "inference" },
    });
    expect(at(pvc.inputs, "spec", "volumeName")).toBe(at(pv.inputs, "metadata", "name"));
    const job = one(resources, "kubernetes:batch/v1:Job");
    const pod = at(job.inputs, "spec", "template", "spec") as Obj;
    expect(at(pod, "volumes")).toEqual([
      { name: "share", persistentVolumeClaim: { claimName: "models-seed" } },
      { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
    ]);
    expect(at(pod, "containers", 0, "volumeMounts")).toEqual([
      { name: "share", mountPath: "/share" },
      { name: "tmp", mountPath: "/tmp" },
    ]);
  });

  it("runs the seed Job non-root on a read-only root filesystem, with the script built from the model list", async () => {
    const { resources } = await build({ subPath: "repo", seed: { models: MODELS } });
    const job = one(resources, "kubernetes:batch/v1:Job");
    expect(at(job.inputs, "spec", "ttlSecondsAfterFinished")).toBeUndefined();
    const pod = at(job.inputs, "spec", "template", "spec") as Obj;
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    const container = at(pod, "containers", 0) as Obj;
    expect(container.image).toBe("curlimages/curl:8.11.1");
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container.command).toEqual(["/bin/sh", "-c", SEED_SCRIPT_REPO]);
  });

  it("keeps the seed Job's name while the model list stays, and changes it when the list or image changes", async () => {
    const jobName = async (settings: StoreSettings): Promise<unknown> =>
      at(one((await build(settings)).resources, "kubernetes:batch/v1:Job").inputs, "metadata", "name");
    // seed-models-<contentHash(script, image)>:
    // { printf '%s:' "$(wc -c < seed-script-repo.sh)"; cat seed-script-repo.sh; printf '22:curlimages/curl:8.11.1'; } | sha256sum
    const base = await jobName({ subPath: "repo", seed: { models: MODELS } });
    expect(base).toBe("seed-models-935c37de64");
    expect(await jobName({ subPath: "repo", seed: { models: structuredClone(MODELS) } })).toBe(base);
    const more = [
      ...MODELS,
      { name: "resnet", files: [{ path: "config.pbtxt", url: "https://models.example/resnet" }] },
    ];
    expect(await jobName({ subPath: "repo", seed: { models: more } })).not.toBe(base);
    expect(await jobName({ subPath: "repo", seed: { models: MODELS, image: "curlimages/curl:8.12.0" } })).not.toBe(
      base,
    );
  });

  it("creates neither the seed Job nor its read-write claim without seed models", async () => {
    const { resources } = await build({});
    expect(ofType(resources, "kubernetes:batch/v1:Job")).toEqual([]);
    expect(ofType(resources, "kubernetes:core/v1:PersistentVolumeClaim").map((r) => r.name)).toEqual([
      "store-models-pvc",
    ]);
    expect(ofType(resources, "kubernetes:core/v1:PersistentVolume")).toHaveLength(1);
  });

  it("fails when subPath leaves the export, before any resource exists", async () => {
    const { error, resources } = await runFailing(
      () => new ModelStore("store", { subPath: "../other", nfsServer: "10.0.0.5", nfsPath: "/export" }),
    );
    expect(resources).toEqual([]);
    expect(pulumi.InputPropertiesError.isInstance(error)).toBe(true);
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      {
        propertyPath: "subPath",
        reason: '"../other" contains "." or ".." segments; give a relative directory inside the model repository',
      },
    ]);
  });

  it("fails when subPath is absolute", async () => {
    const { error } = await runFailing(
      () => new ModelStore("store", { subPath: "/abs", nfsServer: "10.0.0.5", nfsPath: "/export" }),
    );
    expect((error as Error).message).toBe(
      'ModelStore store: 1 problem:\n  - subPath: "/abs" is absolute; give it relative to the export (nfsPath)',
    );
  });

  it("fails when a seed model has an unusable name or file, listing every problem", async () => {
    const models = [
      { name: "a/b", files: [{ path: "/etc/passwd", url: "ftp://x" }] },
      {
        name: "ok",
        files: [
          { path: "1", url: "https://x/1" },
          { path: "1/model.onnx", url: "https://x/2" },
        ],
      },
    ];
    const { error, resources } = await runFailing(
      () => new ModelStore("store", { seed: { models }, nfsServer: "10.0.0.5", nfsPath: "/export" }),
    );
    expect(resources).toEqual([]);
    expect((error as pulumi.InputPropertiesError).errors).toEqual([
      {
        propertyPath: "seed.models[0].name",
        reason:
          '"a/b" is not a model directory name; use a name without "/", NUL or newline that does not start with "."',
      },
      {
        propertyPath: "seed.models[0].files[0].path",
        reason: '"/etc/passwd" is not a relative file path; write it like "1/model.onnx"',
      },
      {
        propertyPath: "seed.models[0].files[0].url",
        reason: '"ftp://x" is not an http(s) URL without spaces; give the https:// address of the file',
      },
      {
        propertyPath: "seed.models[1].files",
        reason: '"1" is a file and also the directory of "1/model.onnx"; rename one of them',
      },
    ]);
  });
});

describe("seed script builders", () => {
  it.each([
    ["", ""],
    ["/", ""],
    ["models", "models"],
    ["/a//b/", "a/b"],
  ])("normalizes subPath %j to %j", (input, expected) => {
    expect(normalizeSubPath(input)).toBe(expected);
  });

  it("hashes content stably and without ambiguity between parts", () => {
    // The first 10 hex digits of the SHA-256 of each part as <length>:<part>: printf '1:a1:b' | sha256sum
    expect(contentHash("a", "b")).toBe("facdde7abf");
    expect(contentHash("ab", "")).not.toBe("facdde7abf");
  });

  it("quotes any string so that sh reads it back unchanged", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !s.includes("\0")),
        (s) => {
          const out = spawnSync("sh", ["-c", `printf '%s' ${shellQuote(s)}`], { encoding: "utf8" });
          expect(out.status).toBe(0);
          expect(out.stdout).toBe(s);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("writes the script for a model list, line for line", () => {
    expect(buildSeedScript({ shareMountPath: "/share", subPath: "repo", models: MODELS })).toBe(SEED_SCRIPT_REPO);
  });

  it("downloads only to a temporary file on the share and moves files and new models into place by rename", () => {
    const script = buildSeedScript({ shareMountPath: "/share", subPath: "repo", models: MODELS });
    const curlLines = script.split("\n").filter((l) => l.includes("curl "));
    expect(curlLines).toEqual([
      '    if curl --fail --silent --show-error --location --connect-timeout 30 --output "$tmp" "$1"; then',
    ]);
    expect(script).toContain('tmp="$PARTIAL/${HOSTNAME:-seed}.$$"');
    expect(script).toContain('mv -f "$tmp" "$2"');
    expect(script).toContain('mv "$target" "$REPO/$model"');
    expect(script).toContain("REPO='/share/repo'");
    expect(script).toContain("STAGING='/share/.gpushare-staging'");
    expect(script).toContain(
      "begin_model 'densenet_onnx'\nadd_file 'config.pbtxt' 'https://models.example/densenet/config.pbtxt'",
    );
  });

  it("reports no problems for the default seed models", () => {
    expect(seedScriptProblems(DEFAULT_SEED_MODELS, "")).toEqual([]);
  });

  it("names the problems by the builder's own fields, or by the caller's paths", () => {
    const models = [{ name: ".hidden", files: [{ path: "a", url: "https://x/a" }] }];
    expect(seedScriptProblems(models, "a/../b")).toEqual([
      'subPath: "a/../b" contains "." or ".." segments; give a relative directory inside the model repository',
      'models[0].name: ".hidden" is not a model directory name; use a name without "/", NUL or newline that does not start with "."',
    ]);
    expect(seedScriptProblems(models, "", { models: "modelStore.seed.models", subPath: "modelStore.subPath" })).toEqual(
      [
        'modelStore.seed.models[0].name: ".hidden" is not a model directory name; use a name without "/", NUL or newline that does not start with "."',
      ],
    );
  });

  it("fails to build a script for a bad model list, with every problem", () => {
    expect(() => buildSeedScript({ shareMountPath: "/share", subPath: "", models: [], attempts: 0 })).toThrow(
      "the model seed cannot be built:\n  - attempts: 0 is not a whole number ≥ 1",
    );
  });
});

/** Runs the generated script under /bin/sh against a temporary "share", with a fake curl on PATH. */
describe("the seed script, run", () => {
  let dir: string;
  let share: string;
  let log: string;

  const FAKE_CURL = `#!/bin/sh
out=""; url=""
while [ $# -gt 0 ]; do
  case "$1" in
    --output|--connect-timeout) [ "$1" = --output ] && out=$2; shift 2 ;;
    -*) shift ;;
    *) url=$1; shift ;;
  esac
done
printf '%s\\n' "$url" >> "$FAKE_CURL_LOG"
printf 'partial' > "$out"
if [ "$url" = "\${FAKE_CURL_FAIL_URL:-}" ]; then exit 22; fi
if [ "$url" = "\${FAKE_CURL_FLAKY_URL:-}" ] && [ "$(grep -cxF -- "$url" "$FAKE_CURL_LOG")" -le "\${FAKE_CURL_FLAKY_TIMES:-0}" ]; then exit 7; fi
printf '%s' "$url" > "$out"
`;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpushare-seed-"));
    share = path.join(dir, "share");
    fs.mkdirSync(share);
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "curl"), FAKE_CURL, { mode: 0o755 });
    log = path.join(dir, "curl.log");
    fs.writeFileSync(log, "");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function run(models: readonly SeedModel[], env: Record<string, string> = {}, subPath = "", attempts = 3) {
    const script = buildSeedScript({ shareMountPath: share, subPath, models, attempts, retryDelaySeconds: 0 });
    const file = path.join(dir, "seed.sh");
    fs.writeFileSync(file, script);
    const result = spawnSync("sh", [file], {
      cwd: dir,
      encoding: "utf8",
      env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH ?? ""}`, FAKE_CURL_LOG: log, HOSTNAME: "pod", ...env },
    });
    const calls = fs
      .readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l !== "");
    fs.writeFileSync(log, "");
    return { status: result.status, stderr: result.stderr, calls };
  }

  /** Every path under the share with its size, mtime and inode: what a second run must not change. */
  function tree(root = share): string[] {
    const out: string[] = [];
    const walk = (p: string): void => {
      for (const e of fs.readdirSync(p, { withFileTypes: true })) {
        const full = path.join(p, e.name);
        const st = fs.statSync(full);
        out.push(`${path.relative(root, full)} ${st.size} ${st.mtimeMs} ${st.ino}`);
        if (e.isDirectory()) walk(full);
      }
    };
    walk(root);
    return out.sort();
  }

  const read = (...p: string[]): string => fs.readFileSync(path.join(share, ...p), "utf8");

  it("puts every file of every model into the repository and leaves no staging behind", () => {
    const r = run(MODELS);
    expect(r.status).toBe(0);
    expect(read("densenet_onnx", "config.pbtxt")).toBe("https://models.example/densenet/config.pbtxt");
    expect(read("densenet_onnx", "1", "model.onnx")).toBe("https://models.example/densenet/model.onnx");
    expect(fs.readdirSync(share)).toEqual(["densenet_onnx"]);
  });

  it("changes nothing and downloads nothing on a second run", () => {
    expect(run(MODELS).status).toBe(0);
    const before = tree();
    const again = run(MODELS);
    expect(again.status).toBe(0);
    expect(again.calls).toEqual([]);
    expect(tree()).toEqual(before);
    expect(again.stderr).toContain("densenet_onnx: complete, nothing to do");
  });

  it("never shows a half model: a failed download leaves the model out of the repository, and a rerun resumes", () => {
    const failing = "https://models.example/densenet/model.onnx";
    const first = run(MODELS, { FAKE_CURL_FAIL_URL: failing });
    expect(first.status).not.toBe(0);
    expect(first.stderr).toContain(`giving up on ${failing} after 3 attempts`);
    expect(fs.existsSync(path.join(share, "densenet_onnx"))).toBe(false);
    // The complete file waits in staging; the failed one left nothing but its temporary file.
    expect(read(".gpushare-staging", "densenet_onnx", "config.pbtxt")).toBe(
      "https://models.example/densenet/config.pbtxt",
    );
    expect(fs.existsSync(path.join(share, ".gpushare-staging", "densenet_onnx", "1", "model.onnx"))).toBe(false);

    const second = run(MODELS);
    expect(second.status).toBe(0);
    expect(second.calls).toEqual([failing]);
    expect(read("densenet_onnx", "1", "model.onnx")).toBe(failing);
    expect(fs.readdirSync(share)).toEqual(["densenet_onnx"]);
  });

  it("retries a flaky download with backoff and fails after the last attempt", () => {
    const flaky = "https://models.example/densenet/config.pbtxt";
    const ok = run(MODELS, { FAKE_CURL_FLAKY_URL: flaky, FAKE_CURL_FLAKY_TIMES: "2" });
    expect(ok.status).toBe(0);
    expect(ok.calls.filter((u) => u === flaky)).toHaveLength(3);
    expect(ok.stderr).toContain(`attempt 2 of ${flaky} failed; retrying in 0s`);
    expect(read("densenet_onnx", "config.pbtxt")).toBe(flaky);

    fs.rmSync(path.join(share, "densenet_onnx"), { recursive: true });
    const tooFlaky = run(MODELS, { FAKE_CURL_FLAKY_URL: flaky, FAKE_CURL_FLAKY_TIMES: "5" });
    expect(tooFlaky.status).not.toBe(0);
  });

  it("adds a file missing from a model already in the repository, in place, leaving the others untouched", () => {
    expect(run(MODELS).status).toBe(0);
    const configBefore = fs.statSync(path.join(share, "densenet_onnx", "config.pbtxt"));
    const more: SeedModel[] = [
      {
        name: "densenet_onnx",
        files: [...MODELS[0].files, { path: "labels.txt", url: "https://models.example/labels" }],
      },
    ];
    const r = run(more);
    expect(r.status).toBe(0);
    expect(r.calls).toEqual(["https://models.example/labels"]);
    expect(read("densenet_onnx", "labels.txt")).toBe("https://models.example/labels");
    const configAfter = fs.statSync(path.join(share, "densenet_onnx", "config.pbtxt"));
    expect([configAfter.ino, configAfter.mtimeMs]).toEqual([configBefore.ino, configBefore.mtimeMs]);
  });

  it("creates the repository under subPath and stages outside it", () => {
    const r = run(MODELS, {}, "triton/repo");
    expect(r.status).toBe(0);
    expect(read("triton", "repo", "densenet_onnx", "config.pbtxt")).toBe(
      "https://models.example/densenet/config.pbtxt",
    );
    expect(fs.readdirSync(share)).toEqual(["triton"]);
  });

  it("handles names, paths and URLs with quotes, spaces and shell syntax literally", () => {
    const name = `it's "odd" $(touch pwned) \`touch pwned2\` & ; | *`;
    const file = `1/we ird'$HOME;$(touch pwned3).onnx`;
    const url = 'https://models.example/a\'b?c=$(touch${IFS}pwned4)&d=`touch${IFS}pwned5`;e="f"|x>y';
    const r = run([{ name, files: [{ path: file, url }] }]);
    expect([r.status, r.stderr]).toEqual([0, expect.any(String)]);
    expect(read(name, ...file.split("/"))).toBe(url);
    expect(r.calls).toEqual([url]);
    for (const where of [dir, share]) {
      expect(fs.readdirSync(where).filter((f) => f.startsWith("pwned"))).toEqual([]);
    }
  });
});
