import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { StackConfigError } from "../stacks/config";
import { SECRET_STAND_IN } from "../stacks/schema";

export interface StackFile {
  /** Every config key of the file (`gpushare:servers`, `openstack:region`, ...) with its value; `secure:` values
   * replaced by SECRET_STAND_IN, since the offline tools need to know a secret is set, not what it is. */
  readonly config: Record<string, unknown>;
}

export class StackFileError extends Error {}

/**
 * The exit code of a command that failed with `e`: a bad stack file or config is the user's to fix, so its
 * message alone goes to stderr and the code is 1; anything else is a bug and is rethrown with its stack.
 */
export function stackErrorExitCode(e: unknown): number {
  if (e instanceof StackConfigError || e instanceof StackFileError) {
    process.stderr.write(`${e.message}\n`);
    return 1;
  }
  throw e;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSecure(value: unknown): boolean {
  return typeof value === "object" && value !== null && Object.keys(value).length === 1 && "secure" in value;
}

/** Reads a `Pulumi.<stack>.yaml` file: YAML errors (including duplicate keys) become one clear error. */
export function readStackFile(file: string): StackFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new StackFileError(`${file}: cannot read the stack file; pass --config Pulumi.<stack>.yaml of this project`);
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new StackFileError(
      doc.errors
        .map((e) =>
          e.code === "DUPLICATE_KEY"
            ? `${path.basename(file)}: duplicate key at line ${e.linePos?.[0].line ?? "?"}: names of pools, servers and config keys must be unique; rename or merge one of them`
            : `${path.basename(file)}: ${e.message}`,
        )
        .join("\n"),
    );
  }
  const root: unknown = doc.toJS();
  const section = isMapping(root) ? root.config : undefined;
  if (!isMapping(section)) {
    throw new StackFileError(
      `${file}: not a Pulumi stack file: it has no top-level "config:" mapping of gpushare keys; pass a Pulumi.<stack>.yaml of this project`,
    );
  }
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(section)) {
    config[key] = isSecure(value) ? SECRET_STAND_IN : value;
  }
  return { config };
}

/** The `gpushare:` keys of a stack file, without the namespace, as `parseStackConfig` takes them. */
export function gpushareConfig(file: StackFile): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(file.config)) {
    if (key.startsWith("gpushare:")) out[key.slice("gpushare:".length)] = value;
  }
  return out;
}
