import * as fs from "node:fs";
import * as path from "node:path";
import type { ParseArgsConfig } from "node:util";
import { parseArgs } from "node:util";

/**
 * What the commands (`capacity`, `render`, `plan`) share about their own input: flags and output paths. A bad flag
 * or an output that cannot be written is the user's error, said in one line with the usage, never a stack trace.
 */

/** A command line the command cannot run: what is wrong, with the command's usage. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = "UsageError";
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
      throw new UsageError((e as Error).message, usage);
    }
    throw e;
  }
}

/** Prints a {@link UsageError} as the command's answer and gives its exit code (2); rethrows anything else. */
export function usageExitCode(e: unknown): number {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`${e.message}\n${e.usage}`);
  return 2;
}

/** Kernel pseudo-filesystems: writing there is never an output, and some paths there block. */
const PSEUDO = ["/proc", "/sys", "/dev"];

function underPseudo(p: string): boolean {
  const abs = path.resolve(p);
  return PSEUDO.some((root) => abs === root || abs.startsWith(`${root}/`));
}

/** What is wrong with `dir` as a directory to write into (it or its nearest existing ancestor), or `undefined`. */
function directoryProblem(flag: string, dir: string): string | undefined {
  if (underPseudo(dir))
    return `${flag} ${dir}: a kernel pseudo-filesystem, not a place for output; pick a directory of your own`;
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
        return `${flag} ${dir}: ${probe} is a file, not a directory; pick a path under a directory`;
      }
      try {
        fs.accessSync(probe, fs.constants.W_OK);
      } catch {
        return `${flag} ${dir}: ${probe} is not writable; pick a directory you may write to`;
      }
      return undefined;
    }
    const parent = path.dirname(probe);
    if (parent === probe) return `${flag} ${dir}: no part of the path exists; pick a directory that does`;
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
  if (underPseudo(file)) {
    throw new UsageError(
      `${flag} ${file}: a kernel pseudo-filesystem, not a place for output; pick a file of your own`,
      usage,
    );
  }
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UsageError(
      `${flag} ${file}: the directory ${dir} does not exist; create it first or pick another path`,
      usage,
    );
  }
  const problem = directoryProblem(flag, dir);
  if (problem !== undefined) throw new UsageError(problem, usage);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
    throw new UsageError(
      `${flag} ${file}: is a directory; give a file name, e.g. ${path.join(file, "Pulumi.planned.yaml")}`,
      usage,
    );
  }
}
