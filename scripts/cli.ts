import * as fs from "node:fs";
import * as path from "node:path";
import type { ParseArgsConfig } from "node:util";
import { parseArgs } from "node:util";
import { type Problem, UserError } from "../problems";

/**
 * What the commands (`capacity`, `render`, `plan`) share: how they end, and their own input, flags and output
 * paths. A bad flag or an output that cannot be written is the user's error, said in one line with the usage,
 * never a stack trace.
 */

/** A command line the command cannot run: what is wrong, in one line, above the command's usage; exit code 2. */
export class UsageError extends UserError {
  constructor(
    problem: Problem,
    readonly usage: string,
  ) {
    super("the command line", [problem], { heading: null, exitCode: 2 });
    this.name = "UsageError";
  }
}

/**
 * Runs a command's `main` and sets the process's exit code: `main`'s own, or a {@link UserError}'s after printing
 * its message (and the usage, for a {@link UsageError}) to stderr. Anything else is a bug: its stack is printed and
 * the code is 1. `toUserError` recognizes errors of other shapes as the user's (`render`: Pulumi's).
 */
export async function runCommand(
  main: () => number | Promise<number>,
  toUserError: (e: unknown) => UserError | undefined = (e) => (e instanceof UserError ? e : undefined),
): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (e) {
    const error = toUserError(e);
    if (error === undefined) {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`${error.message}\n${error instanceof UsageError ? error.usage : ""}`);
    process.exitCode = error.exitCode;
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The flags of a command line, or a {@link UsageError} naming the flag Node's parser refused. */
export function cliArgs<T extends Options>(options: T, usage: string) {
  try {
    return parseArgs({ options, allowPositionals: false, strict: true });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
      throw new UsageError({ path: "", reason: (e as Error).message }, usage);
    }
    throw e;
  }
}

/** Kernel pseudo-filesystems: writing there is never an output, and some paths there block. */
const PSEUDO = ["/proc", "/sys", "/dev"];

function underPseudo(p: string): boolean {
  const abs = path.resolve(p);
  return PSEUDO.some((root) => abs === root || abs.startsWith(`${root}/`));
}

/** What is wrong with `dir` as a directory to write into (it or its nearest existing ancestor), or `undefined`. */
function directoryProblem(flag: string, dir: string): Problem | undefined {
  const where = `${flag} ${dir}`;
  if (underPseudo(dir)) {
    return { path: where, reason: "a kernel pseudo-filesystem, not a place for output; pick a directory of your own" };
  }
  let probe = path.resolve(dir);
  for (;;) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(probe);
    } catch {
      stat = undefined;
    }
    if (stat !== undefined) {
      if (!stat.isDirectory()) {
        return { path: where, reason: `${probe} is a file, not a directory; pick a path under a directory` };
      }
      try {
        fs.accessSync(probe, fs.constants.W_OK);
      } catch {
        return { path: where, reason: `${probe} is not writable; pick a directory you may write to` };
      }
      return undefined;
    }
    const parent = path.dirname(probe);
    if (parent === probe) return { path: where, reason: "no part of the path exists; pick a directory that does" };
    probe = parent;
  }
}

/** Checks an output directory (`render --out`): it may not exist yet, but must be creatable. */
export function checkOutputDirectory(flag: string, dir: string, usage: string): void {
  const problem = directoryProblem(flag, dir);
  if (problem !== undefined) throw new UsageError(problem, usage);
}

/** Checks an output file (`plan --out`): its directory exists and is writable, and it is not a directory itself. */
export function checkOutputFile(flag: string, file: string, usage: string): void {
  const dir = path.dirname(path.resolve(file));
  const at = `${flag} ${file}`;
  if (underPseudo(file)) {
    throw new UsageError(
      { path: at, reason: "a kernel pseudo-filesystem, not a place for output; pick a file of your own" },
      usage,
    );
  }
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UsageError(
      { path: at, reason: `the directory ${dir} does not exist; create it first or pick another path` },
      usage,
    );
  }
  const problem = directoryProblem(flag, dir);
  if (problem !== undefined) throw new UsageError(problem, usage);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
    throw new UsageError(
      { path: at, reason: `is a directory; give a file name, e.g. ${path.join(file, "Pulumi.planned.yaml")}` },
      usage,
    );
  }
}
