import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  CONFIG_NAME_PREFIX_MAX_LENGTH,
  contentHash,
  defaultMigLayoutPrefix,
  generationName,
} from "../../gpu/config-names";
import { contentHash as seedContentHash } from "../../components/k8s/model-store-seed-script";

describe("generationName", () => {
  it("appends the first 8 hex digits of the content's SHA-256", () => {
    // printf 'version: v1\nflags:\n  migStrategy: single\n' | sha256sum  ->  f678f195...
    expect(generationName("t4", "version: v1\nflags:\n  migStrategy: single\n")).toBe("t4-f678f195");
    expect(contentHash("")).toBe("e3b0c442");
  });

  it("changes with any change of content, and only then", () => {
    const a = generationName("t4", "replicas: 14\n");
    expect(generationName("t4", "replicas: 14\n")).toBe(a);
    expect(generationName("t4", "replicas: 7\n")).not.toBe(a);
    expect(generationName("t4", "replicas: 14 \n")).not.toBe(a);
  });

  it("cuts a long prefix to 54 characters so the name stays a 63-character label value", () => {
    const prefix = "a".repeat(70);
    const name = generationName(prefix, "x");
    expect(CONFIG_NAME_PREFIX_MAX_LENGTH).toBe(54);
    expect(name).toHaveLength(63);
    expect(name.startsWith(`${"a".repeat(54)}-`)).toBe(true);
  });

  it("drops separators a cut leaves at the end of the prefix", () => {
    expect(generationName(`${"a".repeat(53)}-b`, "x")).toBe(`${"a".repeat(53)}-${contentHash("x")}`);
    expect(generationName("pool.", "x")).toBe(`pool-${contentHash("x")}`);
  });

  it("always gives a valid label value for valid pool names", () => {
    const label = /^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/;
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/), fc.string(), (pool, content) => {
        const name = generationName(pool, content);
        return name.length <= 63 && label.test(name);
      }),
    );
  });

  it("prefixes explicit MIG layouts with gpushare-<pool>", () => {
    expect(defaultMigLayoutPrefix("a100")).toBe("gpushare-a100");
  });
});

// Both hashes are part of live resource names (config generations, model-store PVs, seed Jobs): these values,
// computed with sha256sum, must never change.
describe("content hashes in live names", () => {
  it.each([
    ["", "e3b0c442"],
    ["x", "2d711642"],
    ["version: v1", "79311187"],
    ["é✓", "1e77cb71"],
  ])("hashes config content %j bare, to 8 hex digits: %s", (content, expected) => {
    expect(contentHash(content)).toBe(expected);
  });

  it.each([
    [["a", "b"], "facdde7abf"],
    [["ab", ""], "bd9027e9db"],
    [[""], "ba768b331f"],
    [["x"], "553f121d1e"],
    [["é✓", "a:b"], "aa2fb1405a"],
  ])("hashes seed parts %j as <UTF-16 length>:<part>, to 10 hex digits: %s", (parts, expected) => {
    expect(seedContentHash(...parts)).toBe(expected);
  });
});
