import { afterEach, describe, expect, it, vi } from "vitest";
import { UserError } from "../../problems";
import { runCommand, UsageError } from "../../scripts/cli";
import { StackConfigError } from "../../stacks/config/errors";

/** What `runCommand(main)` writes to stderr and the exit code it sets. */
async function outcome(
  main: () => number | Promise<number>,
  toUserError?: (e: unknown) => UserError | undefined,
): Promise<{ stderr: string; exitCode: typeof process.exitCode }> {
  let stderr = "";
  const write = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    await runCommand(main, toUserError);
  } finally {
    write.mockRestore();
  }
  return { stderr, exitCode: process.exitCode };
}

describe("a command run by runCommand", () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  it("exits with main's code and prints nothing of its own", async () => {
    expect(await outcome(() => 0)).toEqual({ stderr: "", exitCode: 0 });
    expect(await outcome(async () => 3)).toEqual({ stderr: "", exitCode: 3 });
  });

  it("fails on a user's error with its message alone and exit code 1", async () => {
    const r = await outcome(() => {
      throw new StackConfigError([{ path: "gpuPools.t4.gpu", reason: '"T5" is not a known GPU model' }]);
    });
    expect(r).toEqual({
      stderr: 'gpushare stack config has 1 problem:\n  - gpuPools.t4.gpu: "T5" is not a known GPU model\n',
      exitCode: 1,
    });
  });

  it("fails on a bad command line with its one line, the usage and exit code 2", async () => {
    const r = await outcome(async () => {
      throw new UsageError({ path: "", reason: "--stack is missing" }, "usage: render --stack <name>\n");
    });
    expect(r).toEqual({ stderr: "--stack is missing\nusage: render --stack <name>\n", exitCode: 2 });
  });

  it("fails on a bug with its stack trace and exit code 1", async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'name')");
    const r = await outcome(() => {
      throw bug;
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`${bug.stack}\n`);
    expect(r.stderr).toMatch(/^TypeError: Cannot read properties of undefined \(reading 'name'\)\n {4}at /);
  });

  it("fails on something thrown that is not an Error as a bug, printing it", async () => {
    const r = await outcome(() => {
      throw "a string";
    });
    expect(r).toEqual({ stderr: "a string\n", exitCode: 1 });
  });

  it("prints what toUserError makes of an error of another shape as the user's", async () => {
    const r = await outcome(
      () => {
        throw new RangeError("from a library");
      },
      (e) => (e instanceof RangeError ? new StackConfigError([{ path: "", reason: e.message }]) : undefined),
    );
    expect(r).toEqual({ stderr: "gpushare stack config has 1 problem:\n  - from a library\n", exitCode: 1 });
  });
});
