import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { previousSharing } from "../../stacks/previous";

describe("previousSharing", () => {
  it("reads nothing from a stack never deployed", () => {
    expect(previousSharing({})).toEqual({});
  });

  it("fails the update with a RunError naming the output when the previous sharing state is not gpushare's", () => {
    let error: unknown;
    try {
      previousSharing({ sharing: { version: 7 } });
    } catch (e) {
      error = e;
    }
    // A RunError: `pulumi preview` prints the message without a stack trace.
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('the stack output "sharing" of the previous deployment cannot be read:');
    expect((error as Error).message).toContain("sharing.version: 7 is not a version this gpushare reads");
  });
});
