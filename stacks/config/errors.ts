import { type Problem, UserError } from "../../problems";

/** What a stack config's problems are problems of, for the heading of their list. */
const STACK_CONFIG = "gpushare stack config";

/**
 * The one error a user's stack config ends in. Every rule of `parseStackConfig` and of the stack file reports a
 * problem of the form `<config path>: <value> is not allowed ...; <fix>`; they are collected and thrown together,
 * before any resource exists. The commands (`capacity`, `render`) print its message and exit 1; the program turns
 * it into Pulumi's `RunError`, which `pulumi preview` prints without a stack trace. Anything else that is thrown is
 * a bug and keeps its stack.
 */
export class StackConfigError extends UserError {
  constructor(problems: readonly Problem[]) {
    super(STACK_CONFIG, problems);
    this.name = "StackConfigError";
  }
}
