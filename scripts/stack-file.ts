import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import type { Problem } from "../problems";
import type { StackSettings } from "../stacks/config";
import { StackConfigError } from "../stacks/errors";
import { SECRET_STAND_IN } from "../stacks/schema";

export interface StackFile extends StackSettings {
  /** Every config key of the file (`gpushare:servers`, `openstack:region`, ...) with its value; `secure:` values
   * replaced by SECRET_STAND_IN, since the offline tools need to know a secret is set, not what it is. */
  readonly config: Record<string, unknown>;
  /** The keys whose values are `secure:` (encrypted with `pulumi config set --secret`). */
  readonly secretKeys: ReadonlySet<string>;
}

/** More YAML errors than this, or a NUL byte, and the file is not YAML at all: one line says so. */
const MAX_YAML_ERRORS = 5;

/**
 * A YAML file's content, refused as the user's error (`fail`) when it is not YAML, has errors or duplicate keys, or
 * expands aliases or nesting past what a config needs (an alias bomb, a nesting that exhausts the stack): each with
 * the file and line, never a stack trace and never a flood of messages.
 */
export function readYaml(
  file: string,
  text: string,
  uniqueWhat: string,
  expected: string,
  fail: (problems: Problem[]) => Error,
): unknown {
  const name = path.basename(file);
  if (text.includes("\u0000")) throw fail([{ path: file, reason: `a binary file, not YAML; pass ${expected}` }]);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > MAX_YAML_ERRORS) {
    const first = doc.errors[0];
    throw fail([
      {
        path: file,
        reason: `not YAML (${doc.errors.length} errors, the first at line ${first.linePos?.[0].line ?? "?"}: ${first.message.split("\n")[0]}); pass ${expected}`,
      },
    ]);
  }
  if (doc.errors.length > 0) {
    throw fail(
      doc.errors.map((e) =>
        e.code === "DUPLICATE_KEY"
          ? {
              path: name,
              reason: `duplicate key at line ${e.linePos?.[0].line ?? "?"}: ${uniqueWhat}; rename or merge one of them`,
            }
          : { path: name, reason: e.message.split("\n")[0] },
      ),
    );
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    if (e instanceof ReferenceError || e instanceof RangeError) {
      throw fail([
        {
          path: name,
          reason: `the YAML expands past what a config needs (${e instanceof RangeError ? "nesting too deep" : "too many alias expansions"}); write the values out plainly`,
        },
      ]);
    }
    throw e;
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSecure(value: unknown): boolean {
  return isMapping(value) && Object.keys(value).length === 1 && "secure" in value;
}

/**
 * Reads a `Pulumi.<stack>.yaml` file: an unreadable file, YAML errors (including duplicate keys) and a file
 * without a `config:` mapping are a {@link StackConfigError}.
 */
export function readStackFile(file: string): StackFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new StackConfigError([
      {
        path: file,
        reason:
          "cannot read the stack file; name a Pulumi.<stack>.yaml of this project (capacity --config FILE, render --stack NAME)",
      },
    ]);
  }
  const root = readYaml(
    file,
    text,
    "names of pools, servers and config keys must be unique",
    "a Pulumi.<stack>.yaml of this project",
    (p) => new StackConfigError(p),
  );
  const section = isMapping(root) ? root.config : undefined;
  if (!isMapping(section)) {
    throw new StackConfigError([
      {
        path: file,
        reason:
          'not a Pulumi stack file: it has no top-level "config:" mapping of gpushare keys; pass a Pulumi.<stack>.yaml of this project',
      },
    ]);
  }
  const config: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  for (const [key, value] of Object.entries(section)) {
    if (isSecure(value)) secretKeys.add(key);
    config[key] = isSecure(value) ? SECRET_STAND_IN : value;
  }
  return { config, secretKeys };
}

/** The `gpushare:` keys of a stack file, without the namespace, as `parseStackConfig` takes them. */
export function gpushareConfig(file: StackFile): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(file.config)) {
    if (key.startsWith("gpushare:")) out[key.slice("gpushare:".length)] = value;
  }
  return out;
}
