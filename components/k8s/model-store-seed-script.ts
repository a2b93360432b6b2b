import * as path from "node:path";
import { type HashScheme, hashParts } from "../../gpu/config-names";
import { type Problem, problemFromText, UserError } from "../../problems";

/**
 * The shell script the model store's seed Job runs: it downloads every file of every configured model into the
 * NFS model repository so that a Triton pod never sees a half-written file or a half-written model. Pure: the
 * component puts the script into the Job, the tests run it under `/bin/sh` with a fake `curl`.
 *
 * How it stays safe for readers:
 * - a file is downloaded to a temporary file in a staging directory on the same share and renamed into place;
 *   rename(2) within one filesystem is atomic, so a file either is complete or is not there;
 * - a model that is not in the repository yet is assembled complete in the staging directory and then moved
 *   into the repository with one rename, so Triton sees all of it or none of it;
 * - a file that is already present is skipped (it can only be there complete), so a second run downloads and
 *   writes nothing, and a run that failed half-way resumes where it stopped;
 * - each download is retried with exponential backoff before the Job's own retries.
 * Models and files no longer configured are left alone: the seed never deletes what someone may serve.
 */

/** One file of a model: its path inside the model directory and where to download it from. */
export interface SeedFile {
  readonly path: string;
  readonly url: string;
}

/** One model directory of the Triton model repository. */
export interface SeedModel {
  readonly name: string;
  readonly files: readonly SeedFile[];
}

export interface SeedScriptOptions {
  /** Where the seed Job mounts the root of the NFS export. */
  readonly shareMountPath: string;
  /** The model repository relative to the export root; `""` when the root is the repository. */
  readonly subPath: string;
  readonly models: readonly SeedModel[];
  /**
   * Download attempts per file before the run fails (the Job then retries the whole, idempotent run).
   * @default 5
   */
  readonly attempts?: number;
  /**
   * Seconds before the second attempt; doubled before each further one (2, 4, 8, 16 s by default).
   * @default 2
   */
  readonly retryDelaySeconds?: number;
}

export const DEFAULT_SEED_ATTEMPTS = 5;
export const DEFAULT_SEED_RETRY_DELAY_SECONDS = 2;
/**
 * Staging directory at the export root, on the same filesystem as the repository so that renames are atomic.
 * When the repository is the export root itself it is a hidden directory inside it, removed at the end of a
 * successful run.
 */
export const SEED_STAGING_DIR = ".gpushare-staging";

/** Quotes a string for POSIX sh: single quotes, each embedded `'` written as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Model-store names (PVs, seed Jobs): parts framed by their length, 10 hex digits. */
const MODEL_STORE_HASH: HashScheme = { hexDigits: 10, framed: true };

/** A short stable digest of `parts`, for names that must change exactly when their content does. */
export function contentHash(...parts: readonly string[]): string {
  return hashParts(MODEL_STORE_HASH, parts);
}

/** `subPath` without leading, trailing or repeated slashes; `""` for the export root. */
export function normalizeSubPath(subPath: string): string {
  return subPath
    .split("/")
    .filter((s) => s !== "")
    .join("/");
}

function pathProblems(at: string, value: string, what: string): string[] {
  const problems: string[] = [];
  if (value.includes("\0") || value.includes("\n")) {
    problems.push(`${at}: ${JSON.stringify(value)} contains a NUL or newline; use a plain ${what}`);
  }
  const segments = value.split("/");
  if (segments.some((s) => s === "." || s === "..")) {
    problems.push(`${at}: "${value}" contains "." or ".." segments; give a ${what} inside the model repository`);
  }
  return problems;
}

/** Where the caller's input holds the model list and the sub-path, for the messages. */
export interface SeedInputPaths {
  readonly models: string;
  readonly subPath: string;
}

/**
 * Every problem of a seed configuration, each starting with its path in the caller's input (by default the fields of
 * {@link SeedScriptOptions}: `models[0].files[1].path`, `subPath`). Empty when the script can be built.
 */
export function seedScriptProblems(
  models: readonly SeedModel[],
  subPath: string,
  where: SeedInputPaths = { models: "models", subPath: "subPath" },
): string[] {
  const problems: string[] = [];
  problems.push(...pathProblems(where.subPath, subPath, "relative directory"));
  const names = new Set<string>();
  models.forEach((model, i) => {
    const at = `${where.models}[${i}]`;
    const name = model.name;
    if (name === "" || name.includes("/") || name.startsWith(".") || name.includes("\0") || name.includes("\n")) {
      problems.push(
        `${at}.name: ${JSON.stringify(name)} is not a model directory name; use a name without "/", NUL or newline that does not start with "."`,
      );
    }
    if (names.has(name)) {
      problems.push(`${at}.name: "${name}" is listed twice; merge the two entries' files`);
    }
    names.add(name);
    if (model.files.length === 0) {
      problems.push(`${at}.files: a model needs at least one file (its config.pbtxt and a version directory)`);
    }
    const paths = new Set<string>();
    model.files.forEach((file, j) => {
      const fat = `${at}.files[${j}]`;
      if (file.path === "" || file.path.startsWith("/") || file.path.endsWith("/") || file.path.includes("//")) {
        problems.push(`${fat}.path: "${file.path}" is not a relative file path; write it like "1/model.onnx"`);
      }
      problems.push(...pathProblems(`${fat}.path`, file.path, "relative file path"));
      if (paths.has(file.path)) {
        problems.push(`${fat}.path: "${file.path}" is listed twice in model "${name}"; keep one`);
      }
      paths.add(file.path);
      if (!/^https?:\/\/[^\s]+$/.test(file.url)) {
        problems.push(
          `${fat}.url: "${file.url}" is not an http(s) URL without spaces; give the https:// address of the file`,
        );
      }
    });
    for (const p of paths) {
      for (const q of paths) {
        if (q.startsWith(`${p}/`)) {
          problems.push(`${at}.files: "${p}" is a file and also the directory of "${q}"; rename one of them`);
        }
      }
    }
  });
  return problems;
}

/** Thrown by {@link buildSeedScript} with every problem of the seed configuration. */
export class SeedScriptError extends UserError {
  constructor(problems: readonly Problem[]) {
    super("the model seed", problems, { heading: "the model seed cannot be built:" });
    this.name = "SeedScriptError";
  }
}

/** The seed script for `options`; throws {@link SeedScriptError} listing every problem of the model list. */
export function buildSeedScript(options: SeedScriptOptions): string {
  const problems = seedScriptProblems(options.models, options.subPath);
  const attempts = options.attempts ?? DEFAULT_SEED_ATTEMPTS;
  const delay = options.retryDelaySeconds ?? DEFAULT_SEED_RETRY_DELAY_SECONDS;
  if (!Number.isInteger(attempts) || attempts < 1) problems.push(`attempts: ${attempts} is not a whole number ≥ 1`);
  if (!Number.isInteger(delay) || delay < 0) problems.push(`retryDelaySeconds: ${delay} is not a whole number ≥ 0`);
  if (problems.length > 0) throw new SeedScriptError(problems.map(problemFromText));

  const share = options.shareMountPath.replace(/\/+$/, "");
  const sub = normalizeSubPath(options.subPath);
  const repo = sub === "" ? share : path.posix.join(share, sub);
  const staging = path.posix.join(share, SEED_STAGING_DIR);

  const body = options.models.flatMap((model) => [
    `begin_model ${shellQuote(model.name)}`,
    ...model.files.map((f) => `add_file ${shellQuote(f.path)} ${shellQuote(f.url)}`),
    "end_model",
  ]);

  return [
    "#!/bin/sh",
    // The file's name before it was model-store-seed-script.ts. The script's bytes name the seed Job
    // (`seed-models-<hash>`): a new header would re-run the Job on every stack, so it stays as it was.
    "# Seeds the Triton model repository. Generated by gpushare (components/k8s/seed-script.ts); do not edit.",
    "set -eu",
    "umask 022",
    `REPO=${shellQuote(repo)}`,
    `STAGING=${shellQuote(staging)}`,
    `ATTEMPTS=${attempts}`,
    `FIRST_DELAY=${delay}`,
    'PARTIAL="$STAGING/.partial"',
    "writable=no",
    "",
    "log() { printf 'seed: %s\\n' \"$*\" >&2; }",
    "",
    "# Checked on the first write only, so that a run with nothing to do needs no write access.",
    "ensure_writable() {",
    '  [ "$writable" = yes ] && return 0',
    '  if ! mkdir -p "$REPO" "$PARTIAL" 2>/dev/null || [ ! -w "$REPO" ] || [ ! -w "$PARTIAL" ]; then',
    '    log "cannot write to $REPO as uid $(id -u): make the repository directory on the NFS export writable by this uid"',
    "    exit 1",
    "  fi",
    "  writable=yes",
    "}",
    "",
    "# fetch URL DEST: download to a temporary file on the share, then rename it into place (atomic on one",
    "# filesystem); retried with exponential backoff.",
    "fetch() {",
    "  ensure_writable",
    '  tmp="$PARTIAL/${HOSTNAME:-seed}.$$"',
    "  attempt=1",
    "  delay=$FIRST_DELAY",
    "  while :; do",
    '    if curl --fail --silent --show-error --location --connect-timeout 30 --output "$tmp" "$1"; then',
    '      mkdir -p "$(dirname "$2")"',
    '      mv -f "$tmp" "$2"',
    "      return 0",
    "    fi",
    '    rm -f "$tmp"',
    '    if [ "$attempt" -ge "$ATTEMPTS" ]; then',
    '      log "giving up on $1 after $attempt attempts"',
    "      return 1",
    "    fi",
    '    log "attempt $attempt of $1 failed; retrying in ${delay}s"',
    '    sleep "$delay"',
    "    attempt=$((attempt + 1))",
    "    delay=$((delay * 2))",
    "  done",
    "}",
    "",
    "# A model already in the repository gets its missing files added in place, each with one atomic rename;",
    "# a new model is assembled in the staging directory and moved into the repository whole by end_model.",
    "begin_model() {",
    "  model=$1",
    '  if [ -d "$REPO/$model" ]; then',
    '    target="$REPO/$model"',
    '  elif [ -e "$REPO/$model" ]; then',
    '    log "$REPO/$model exists and is not a directory; remove it"',
    "    exit 1",
    "  else",
    '    target="$STAGING/$model"',
    "  fi",
    "  fetched=0",
    "}",
    "",
    "add_file() {",
    '  if [ -f "$target/$1" ]; then',
    "    return 0",
    "  fi",
    '  log "downloading $model/$1"',
    '  fetch "$2" "$target/$1"',
    "  fetched=$((fetched + 1))",
    "}",
    "",
    "end_model() {",
    '  if [ "$target" = "$STAGING/$model" ]; then',
    '    if [ ! -d "$target" ]; then',
    '      log "$model: no files"',
    "      exit 1",
    "    fi",
    '    mv "$target" "$REPO/$model"',
    '    log "$model: added to the repository"',
    '  elif [ "$fetched" -gt 0 ]; then',
    '    log "$model: $fetched missing file(s) added"',
    "  else",
    '    log "$model: complete, nothing to do"',
    "  fi",
    "}",
    "",
    ...body,
    "",
    'if [ "$writable" = yes ]; then',
    '  rm -rf "$PARTIAL"',
    '  rmdir "$STAGING" 2>/dev/null || true',
    "fi",
    'log "done"',
    "",
  ].join("\n");
}

/**
 * What is wrong with the repository's sub-path at `at`: it lies below the export, so it is relative. The one owner of
 * the rule; `exportAt` names where the caller's input holds the export.
 */
export function subPathProblems(at: string, subPath: string, exportAt: string): string[] {
  return subPath.startsWith("/")
    ? [`${at}: "${subPath}" is absolute; give it relative to the export (${exportAt})`]
    : [];
}
