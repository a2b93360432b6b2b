/**
 * What is wrong with a user's input, in one shape for every part of gpushare: the stack config and its file, the
 * workloads file of the planner, a component's arguments, a command's flags. Each is a {@link Problem}, collected
 * and thrown together as one {@link UserError} before anything is created; the commands print its message alone
 * and exit with its code. Anything else that is thrown is a bug and keeps its stack.
 *
 * Imports nothing, so that every folder (`gpu/`, `components/`, `stacks/`, `scripts/`) may use it without pulling
 * in the Pulumi SDK or another folder.
 */

/** One thing wrong with one value. */
export interface Problem {
  /** Where the value is: a config path (`gpuPools.t4.timeSlicing.replicas`), a file, a flag (`--out DIR`), or "". */
  readonly path: string;
  /** What is wrong and the fix: `<value> is not allowed ...; <fix>`. */
  readonly reason: string;
}

/** A problem as one line: `<path>: <reason>`, or the reason alone when nothing names where. */
export function problemText(problem: Problem): string {
  return problem.path === "" ? problem.reason : `${problem.path}: ${problem.reason}`;
}

/**
 * A problem of a rule that reports lines of the form `<path>: <reason>`: the path is what precedes the first ": ",
 * the reason what follows; a line without ": " has no path. Only the bridge for such rules: a rule that knows its
 * path builds the {@link Problem} itself.
 */
export function problemFromText(text: string): Problem {
  const at = text.indexOf(": ");
  return at < 0 ? { path: "", reason: text } : { path: text.slice(0, at), reason: text.slice(at + 2) };
}

/** `1 problem`, `2 problems`. */
export function problemCount(n: number): string {
  return `${n} problem${n === 1 ? "" : "s"}`;
}

/** The exit code of a command that failed on its input (1) or on its command line (2, with the usage). */
export type ExitCode = 1 | 2;

export interface UserErrorOptions {
  /**
   * The line above the list of problems; `null` for the problems alone, one a line, as a command prints a bad
   * command line above its usage.
   * @default - `<subject> has <n> problem(s):`
   */
  readonly heading?: string | null;
  /** @default 1 - the input is wrong */
  readonly exitCode?: ExitCode;
}

/**
 * Every problem of one input, thrown once. Its message is the heading and one `  - <path>: <reason>` line per
 * problem; a command prints it without a stack trace and exits with {@link exitCode}.
 */
export class UserError extends Error {
  readonly exitCode: ExitCode;

  /**
   * @param subject what the input is, for the heading: `gpushare stack config`, `gpushare workloads file`.
   * @param problems every problem found, in the order found.
   */
  constructor(
    readonly subject: string,
    readonly problems: readonly Problem[],
    options: UserErrorOptions = {},
  ) {
    const heading =
      options.heading === undefined ? `${subject} has ${problemCount(problems.length)}:` : options.heading;
    super(
      heading === null
        ? problems.map(problemText).join("\n")
        : `${heading}\n${problems.map((p) => `  - ${problemText(p)}`).join("\n")}`,
    );
    this.name = "UserError";
    this.exitCode = options.exitCode ?? 1;
  }
}

/**
 * Problems of a component's arguments as `pulumi.InputPropertiesError` takes them (`InputPropertyErrorDetails`),
 * written out here so that this module needs no Pulumi import.
 */
export function inputPropertyErrors(problems: readonly Problem[]): { propertyPath: string; reason: string }[] {
  return problems.map((p) => ({ propertyPath: p.path, reason: p.reason }));
}
