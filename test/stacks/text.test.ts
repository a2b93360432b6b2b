import { describe, expect, it } from "vitest";
import { round } from "../../stacks/text";

describe("round", () => {
  it.each([
    [1234.56789, 4, 1234.5679],
    [0.00004, 4, 0],
    [12.25, 1, 12.3],
    [7, 2, 7],
    // Held as 66.09499…: the decimal nearest the value itself, not the one nearest 100 × it.
    [66.095, 2, 66.09],
  ])("rounds %d to %d decimals as %d", (n, digits, want) => {
    expect(round(n, digits)).toBe(want);
  });
});
