import { describe, expect, it } from "vitest";
import { PlanError } from "../planner/plan";
import { PlanInputError } from "../planner/input";
import { SeedScriptError } from "../components/k8s/model-store-seed-script";
import { inputPropertyErrors, problemCount, problemFromText, problemText, UserError, type Problem } from "../problems";
import { UsageError } from "../scripts/cli";
import { StackConfigError } from "../stacks/config/errors";

const replicas: Problem = {
  path: "gpuPools.t4.timeSlicing.replicas",
  reason: "1 is not allowed; use a whole number from 2 to 48",
};
const out: Problem = { path: "--out /proc/x", reason: "a kernel pseudo-filesystem, not a place for output" };

describe("a problem", () => {
  it("prints as its path and reason", () => {
    expect(problemText(replicas)).toBe(
      "gpuPools.t4.timeSlicing.replicas: 1 is not allowed; use a whole number from 2 to 48",
    );
  });

  it("prints as its reason alone when nothing names where", () => {
    expect(problemText({ path: "", reason: "--stack is missing" })).toBe("--stack is missing");
  });

  it.each<[string, Problem]>([
    ["a.b: wrong; fix it", { path: "a.b", reason: "wrong; fix it" }],
    // The first ": " ends the path; a key with a namespace (gpushare:x) has no space after its colon.
    ["gpushare:x: 1: not allowed", { path: "gpushare:x", reason: "1: not allowed" }],
    [
      "Missing required configuration variable 'gpushare:x'",
      { path: "", reason: "Missing required configuration variable 'gpushare:x'" },
    ],
    ["", { path: "", reason: "" }],
  ])("is read from the line %j of a rule that reports lines", (text, problem) => {
    expect(problemFromText(text)).toEqual(problem);
    expect(problemText(problemFromText(text))).toBe(text);
  });

  it("becomes the input property error a component throws", () => {
    expect(inputPropertyErrors([replicas])).toEqual([
      { propertyPath: "gpuPools.t4.timeSlicing.replicas", reason: "1 is not allowed; use a whole number from 2 to 48" },
    ]);
  });
});

describe("the user's error", () => {
  it.each([
    [0, "0 problems"],
    [1, "1 problem"],
    [2, "2 problems"],
  ])("counts %i as %j", (n, text) => {
    expect(problemCount(n)).toBe(text);
  });

  it("heads its list with the subject and the count, one problem a line", () => {
    const e = new UserError("gpushare stack config", [replicas, out]);
    expect(e.message).toBe(
      "gpushare stack config has 2 problems:\n" +
        "  - gpuPools.t4.timeSlicing.replicas: 1 is not allowed; use a whole number from 2 to 48\n" +
        "  - --out /proc/x: a kernel pseudo-filesystem, not a place for output",
    );
    expect(e.subject).toBe("gpushare stack config");
    expect(e.problems).toEqual([replicas, out]);
    expect(e.exitCode).toBe(1);
  });

  it("takes a heading of its own, or none", () => {
    expect(new UserError("x", [replicas], { heading: "x fails:" }).message).toBe(
      `x fails:\n  - ${problemText(replicas)}`,
    );
    expect(new UserError("x", [replicas, out], { heading: null }).message).toBe(
      `${problemText(replicas)}\n${problemText(out)}`,
    );
  });

  it.each<[string, UserError, string, string, 1 | 2]>([
    [
      "StackConfigError",
      new StackConfigError([replicas]),
      "gpushare stack config",
      "gpushare stack config has 1 problem:",
      1,
    ],
    [
      "PlanInputError",
      new PlanInputError([replicas, out]),
      "gpushare workloads file",
      "gpushare workloads file has 2 problems:",
      1,
    ],
    [
      "PlanError",
      new PlanError([replicas]),
      "no plan hosts these workloads",
      "no plan hosts these workloads (1 problem):",
      1,
    ],
    ["SeedScriptError", new SeedScriptError([replicas]), "the model seed", "the model seed cannot be built:", 1],
  ])("%s is one, with its heading and exit code", (name, e, subject, heading, exitCode) => {
    expect(e).toBeInstanceOf(UserError);
    expect(e.name).toBe(name);
    expect(e.subject).toBe(subject);
    expect(e.message.split("\n")[0]).toBe(heading);
    expect(e.exitCode).toBe(exitCode);
  });

  it("of a command line is its one line, exit code 2, with the usage beside it", () => {
    const e = new UsageError(out, "usage: render\n");
    expect(e).toBeInstanceOf(UserError);
    expect(e.name).toBe("UsageError");
    expect(e.message).toBe("--out /proc/x: a kernel pseudo-filesystem, not a place for output");
    expect(e.exitCode).toBe(2);
    expect(e.usage).toBe("usage: render\n");
  });
});
