import * as fs from "node:fs";
import * as path from "node:path";
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Problem } from "../problems";
import type { StackSettings } from "../stacks/config/parse";
import { StackConfigError } from "../stacks/config/errors";
import { SECRET_STAND_IN } from "../stacks/config/schema";

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
 * Mappings and sequences nested deeper than this are refused: a config's own keys go a few levels deep, a chart's
 * extra values (`config.gpushare:monitoring.values.prometheus.prometheusSpec...`) a dozen or so; the YAML parser
 * itself gives up, with a stack overflow, at several hundred, leaving hundreds of errors that name no key.
 */
const MAX_YAML_DEPTH = 64;

/** How many segments of a too-deep value's path the message names: enough to find the key, the line does the rest. */
const DEEP_PATH_SEGMENTS = 4;

/**
 * Where a document's `root` first nests collections deeper than {@link MAX_YAML_DEPTH}: the path of keys (`config.gpushare:x`) and
 * indices (`[0]`) to it, and the offset of the first collection too deep. Walks without recursion, since the
 * document may be as deep as the parser's stack allowed.
 */
function tooDeep(root: unknown): { path: string[]; offset: number } | undefined {
  // Breadth first: the shallowest collection too deep, the first of its level in the file.
  const queue: { node: unknown; path: string[]; depth: number }[] = [{ node: root, path: [], depth: 0 }];
  for (let next = 0; next < queue.length; next++) {
    const { node, path: at, depth } = queue[next];
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth === MAX_YAML_DEPTH) return { path: at, offset: node.range?.[0] ?? 0 };
    node.items.forEach((item: unknown, i: number) => {
      if (isPair(item)) {
        const key = isScalar(item.key) ? String(item.key.value) : "?";
        queue.push({ node: item.value, path: [...at, key], depth: depth + 1 });
      } else {
        queue.push({ node: item, path: [...at, `[${i}]`], depth: depth + 1 });
      }
    });
  }
  return undefined;
}

/** A path as a config names it: `config.gpushare:servers[0].name`, cut after a few segments. */
function pathText(segments: readonly string[]): string {
  const shown = segments
    .slice(0, DEEP_PATH_SEGMENTS)
    .map((s, i) => (i === 0 || s.startsWith("[") ? s : `.${s}`))
    .join("");
  return segments.length > DEEP_PATH_SEGMENTS ? `${shown}…` : shown;
}

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
  const lines = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, lineCounter: lines });
  // Before the errors: a nesting deep enough to overflow the parser's stack leaves hundreds of them.
  const deep = tooDeep(doc.contents);
  if (deep !== undefined) {
    throw fail([
      {
        path: name,
        reason: `${pathText(deep.path)} (line ${lines.linePos(deep.offset).line}): nested deeper than ${MAX_YAML_DEPTH} levels, far deeper than ${expected} needs; write the values out plainly`,
      },
    ]);
  }
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
    if (e instanceof ReferenceError) {
      throw fail([
        {
          path: name,
          reason: "the YAML expands past what a config needs (too many alias expansions); write the values out plainly",
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
