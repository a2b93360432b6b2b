import { describe, expect, it } from "vitest";
import {
  annotationsProblems,
  dns1035Problem,
  labelsProblems,
  labelValueProblem,
  MAX_ANNOTATIONS_BYTES,
  qualifiedNameProblem,
  quantityProblem,
  quote,
} from "../../../stacks/config/rules/kubernetes-syntax";
import { cidrProblem } from "../../../components/cloud/network-range";
import { imageReferenceProblem } from "../../../stacks/config/rules/image-reference";

describe("image references", () => {
  it.each([
    "nvcr.io/nvidia/tritonserver:24.08-py3",
    "curlimages/curl:8.11.1",
    "ubuntu:24.04",
    "localhost:5000/triton:dev",
    "registry.example.com:443/a/b/c:1",
    "team/triton__server.v2-x:Tag_1.0",
    "nvcr.io/nvidia/tritonserver@sha256:" + "0123456789abcdef".repeat(4),
    "nvcr.io/nvidia/tritonserver:24.08@sha256:" + "f".repeat(64),
    "nvcr.io/nvidia/tritonserver@sha512:" + "e".repeat(128),
    "r.io/" + "a".repeat(250) + ":1",
  ])("accepts %s", (image) => {
    expect(imageReferenceProblem("x.image", image)).toBeUndefined();
  });

  const grammar =
    '([registry[:port]/]repository[:tag][@sha256:digest], the repository in lowercase letters, digits, ".", "_" and "-"); use e.g. nvcr.io/nvidia/tritonserver:24.08-py3';
  it.each([
    [
      "NVCR.io/NVIDIA/Triton:latest",
      'is not an image reference: the registry and repository must be lowercase; use "nvcr.io/nvidia/triton:latest"',
    ],
    [
      "nvcr.io/NVIDIA/triton@sha256:" + "a".repeat(64),
      `is not an image reference: the registry and repository must be lowercase; use "nvcr.io/nvidia/triton@sha256:${"a".repeat(64)}"`,
    ],
    [
      "Localhost:5000/X:1",
      'is not an image reference: the registry and repository must be lowercase; use "localhost:5000/x:1"',
    ],
    [
      "NVCR.IO/NVIDIA/TRITON:1",
      'is not an image reference: the registry and repository must be lowercase; use "nvcr.io/nvidia/triton:1"',
    ],
    [
      "NVCR.io/NVIDIA/TritoN",
      'is not an image reference: the registry and repository must be lowercase; use "nvcr.io/nvidia/triton"',
    ],
    ["nvcr.io/nvidia/triton", "has no tag or digest; pin it, e.g. nvcr.io/nvidia/tritonserver:24.08-py3"],
    [
      "r.io/" + "a".repeat(251) + ":1",
      "has a 256-character repository name; registries take at most 255, so shorten it",
    ],
    ["nvcr.io/nvidia/triton:", `is not an image reference ${grammar}`],
    ["nvcr.io/nvidia/triton:.tag", `is not an image reference ${grammar}`],
    ["nvcr.io/nvidia/triton:" + "t".repeat(129), `is not an image reference ${grammar}`],
    ["nvcr.io//triton:1", `is not an image reference ${grammar}`],
    ["nvcr.io/-triton:1", `is not an image reference ${grammar}`],
    ["nvcr.io/triton-:1", `is not an image reference ${grammar}`],
    ["nvcr.io/tri___ton:1", `is not an image reference ${grammar}`],
    ["-nvcr.io/triton:1", `is not an image reference ${grammar}`],
    ["nvcr.io/triton@sha256:" + "a".repeat(63), `is not an image reference ${grammar}`],
    ["nvcr.io/triton@sha256:" + "A".repeat(64), `is not an image reference ${grammar}`],
    ["nvcr.io/triton@md5:" + "a".repeat(32), `is not an image reference ${grammar}`],
    [" nvcr.io/triton:1", `is not an image reference ${grammar}`],
    ["nvcr.io/TRITON SERVER:1", `is not an image reference ${grammar}`],
  ])("fails when the image is %j", (image, reason) => {
    expect(imageReferenceProblem("servers.s.image", image)).toBe(`servers.s.image: "${image}" ${reason}`);
  });
});

describe("network ranges", () => {
  it.each([
    ["10.0.0.0/24", true],
    ["10.0.0.0/8", true],
    ["192.168.1.128/25", true],
    ["10.1.2.3/32", true],
    ["10.0.0.0/8", false],
    ["fd00::/64", true],
    ["fd00:0:0:1::/64", true],
    ["::ffff:10.0.0.0/120", true],
    ["::ffff:10.0.0.0/104", true],
    ["::ffff:10.20.30.64/122", true],
    ["fd00:1:2:3:4:5:6:0/112", true],
    ["10.0.0.5", false],
    ["fd00::5", false],
    // The /96s just below and just above the IPv4-mapped block: neither holds a mapped address.
    ["::fffe:0:0/96", true],
    ["::1:0:0:0/96", true],
  ])("accepts %s", (value, prefixRequired) => {
    expect(cidrProblem("x", value, prefixRequired)).toBeUndefined();
  });

  const example = "e.g. 10.0.0.0/24";
  it.each([
    ["not-a-cidr", false, `is not an IP address or CIDR; give the nodes' subnet, ${example}`],
    ["not-a-cidr", true, `is not a CIDR (address/prefix length); give the nodes' subnet, ${example}`],
    ["10.0.0.5", true, `is not a CIDR (address/prefix length); give the nodes' subnet, ${example}`],
    ["256.0.0.0/8", true, `is not a CIDR (address/prefix length); give the nodes' subnet, ${example}`],
    ["10.0.0.0/33", true, `has no valid prefix length; use /1 to /32 for an IPv4 address, ${example}`],
    ["10.0.0.0/", true, `has no valid prefix length; use /1 to /32 for an IPv4 address, ${example}`],
    ["10.0.0.0/2a", true, `has no valid prefix length; use /1 to /32 for an IPv4 address, ${example}`],
    ["10.0.0.0/-1", true, `has no valid prefix length; use /1 to /32 for an IPv4 address, ${example}`],
    ["10.0.0.0/0024", true, `has no valid prefix length; use /1 to /32 for an IPv4 address, ${example}`],
    ["fd00::/129", true, `has no valid prefix length; use /1 to /128 for an IPv6 address, ${example}`],
    ["0.0.0.0/0", true, `admits every address; give the nodes' subnet, ${example}`],
    ["10.0.0.0/0", false, `admits every address; give the nodes' subnet, ${example}`],
    ["::/0", true, `admits every address; give the nodes' subnet, ${example}`],
    [
      "128.0.0.0/1",
      true,
      `admits 2^31 addresses, far more than a subnet of nodes; use a prefix of /8 or longer, ${example}`,
    ],
    [
      "0.0.0.0/1",
      false,
      `admits 2^31 addresses, far more than a subnet of nodes; use a prefix of /8 or longer, ${example}`,
    ],
    [
      "10.0.0.0/7",
      true,
      `admits 2^25 addresses, far more than a subnet of nodes; use a prefix of /8 or longer, ${example}`,
    ],
    [
      "2000::/3",
      true,
      `admits 2^125 addresses, far more than a subnet of nodes; use a prefix of /32 or longer, ${example}`,
    ],
    [
      "::ffff:0.0.0.0/96",
      true,
      `admits 2^32 IPv4 addresses in mapped form, far more than a subnet of nodes; use a prefix of /104 or longer, ${example}`,
    ],
    [
      "::/80",
      true,
      `covers every IPv4 address in IPv4-mapped form (::ffff:0:0/96); write the nodes' IPv4 subnet as IPv4, ${example}`,
    ],
    ["10.0.0.5/24", true, "has host bits set below its /24 prefix, which Manila refuses; use 10.0.0.0/24"],
    ["10.0.0.1/31", true, "has host bits set below its /31 prefix, which Manila refuses; use 10.0.0.0/31"],
    ["172.16.255.255/12", true, "has host bits set below its /12 prefix, which Manila refuses; use 172.16.0.0/12"],
    [
      "fd00::1/64",
      true,
      "has host bits set below its /64 prefix, which Manila refuses; clear the bits below the prefix",
    ],
    [
      "fd00:0:0:1::/48",
      true,
      "has host bits set below its /48 prefix, which Manila refuses; clear the bits below the prefix",
    ],
    [
      "::ffff:10.0.0.1/120",
      true,
      "has host bits set below its /120 prefix, which Manila refuses; clear the bits below the prefix",
    ],
    [
      "fd00:1:2:3:4:5:6:1/112",
      true,
      "has host bits set below its /112 prefix, which Manila refuses; clear the bits below the prefix",
    ],
    [
      "fd00:0:1::0/32",
      true,
      "has host bits set below its /32 prefix, which Manila refuses; clear the bits below the prefix",
    ],
  ])("fails when the range is %j (prefix required: %s)", (value, prefixRequired, reason) => {
    expect(cidrProblem("modelStore.manila.accessCidr", value, prefixRequired)).toBe(
      `modelStore.manila.accessCidr: "${value}" ${reason}`,
    );
  });
});

describe("Kubernetes syntax, as apimachinery's validation.go and quantity.go have it", () => {
  const KEY_FIX =
    'use an optional DNS subdomain prefix and "/", then at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit (e.g. example.com/node-group)';
  it.each([
    "app",
    "gpushare.io/pool",
    "nvidia.com/device-plugin.config",
    "a",
    "A_b.c-d",
    "x".repeat(63),
    `${"a".repeat(253)}/x`,
    "kubernetes.io/hostname",
    // Labels of one character, first and later, in the prefix.
    "x.y/z",
    "a/b",
  ])("accepts the key %j", (key) => {
    expect(qualifiedNameProblem("k", key)).toBeUndefined();
  });

  it.each<[string, string]>([
    ["bad key!", "is not a Kubernetes label or annotation key"],
    ["", "is not a Kubernetes label or annotation key"],
    ["-a", "is not a Kubernetes label or annotation key"],
    ["a-", "is not a Kubernetes label or annotation key"],
    ["x".repeat(64), "is not a Kubernetes label or annotation key"],
    ["a/b/c", 'has more than one "/"'],
    ["Example.com/a", "has a prefix that is not a lowercase DNS subdomain of at most 253 characters"],
    [`${"a".repeat(254)}/x`, "has a prefix that is not a lowercase DNS subdomain of at most 253 characters"],
    ["/a", "has a prefix that is not a lowercase DNS subdomain of at most 253 characters"],
    ["example.com-/a", "has a prefix that is not a lowercase DNS subdomain of at most 253 characters"],
    ["example.com/", "is not a Kubernetes label or annotation key"],
  ])("refuses the key %j", (key, why) => {
    expect(qualifiedNameProblem("k", key)).toBe(`k: key ${quote(key)} ${why}; ${KEY_FIX}`);
  });

  it.each(["", "t4", "T4_pool.a-b", "x".repeat(63)])("accepts the label value %j", (value) => {
    expect(labelValueProblem("v", value)).toBeUndefined();
  });

  it.each(["x".repeat(64), "-t4", "t4-", "a b", "a/b"])("refuses the label value %j", (value) => {
    expect(labelValueProblem("v", value)).toBe(
      `v: ${quote(value)} is not a Kubernetes label value; use at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, or ""`,
    );
  });

  it("checks a label map's keys and values, each at its path", () => {
    expect(labelsProblems("n", { ok: "ok", "bad key": "ok", good: "bad value" })).toEqual([
      `n: key "bad key" is not a Kubernetes label or annotation key; ${KEY_FIX}`,
      'n.good: "bad value" is not a Kubernetes label value; use at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, or ""',
    ]);
  });

  it("takes 256 KiB of annotations, keys and values together in UTF-8 bytes, and not a byte more", () => {
    const at = (bytes: number): string[] => annotationsProblems("a", { k: "x".repeat(bytes - 1) });
    expect(at(MAX_ANNOTATIONS_BYTES)).toEqual([]);
    expect(at(MAX_ANNOTATIONS_BYTES + 1)).toEqual([
      "a: 262145 bytes of annotations; Kubernetes takes at most 262144 (256 KiB) per object, keys and values together; keep large data in a ConfigMap",
    ]);
    // Two bytes per character: half as many characters.
    expect(annotationsProblems("a", { k: "é".repeat(MAX_ANNOTATIONS_BYTES / 2) })).toHaveLength(1);
    expect(annotationsProblems("a", { "bad key": "v" })).toEqual([
      `a: key "bad key" is not a Kubernetes label or annotation key; ${KEY_FIX}`,
    ]);
  });

  it.each(["triton", "t", "triton-t4", `t${"x".repeat(62)}`])("accepts the Service name %j", (name) => {
    expect(dns1035Problem("servers", name)).toBeUndefined();
  });

  it.each(["9triton", "-t", "t-", "Triton", "tri.ton", "tri_ton", `t${"x".repeat(63)}`, ""])(
    "refuses the Service name %j",
    (name) => {
      expect(dns1035Problem("servers", name)).toBe(
        `servers: ${quote(name)} cannot name a Kubernetes Service; use a DNS-1035 label: lowercase letters, digits and "-", starting with a letter, at most 63 characters`,
      );
    },
  );

  it.each([
    "1",
    "500m",
    "1.5",
    ".5",
    "4Gi",
    "1Ki",
    "2Ei",
    "1e3",
    "1E-2",
    "+1",
    "0",
    "100n",
    "3u",
    "2k",
    "7M",
    "1.5Gi",
    "1.25",
    ".25",
    "1e10",
  ])("accepts the quantity %j", (value) => {
    expect(quantityProblem("q", value, '"1"')).toBeUndefined();
  });

  it.each(["lots", "", "-1", "1 Gi", "1gb", "Gi", "1.2.3", "1Kii", "e3", "1e", "0x10"])(
    "refuses the quantity %j",
    (value) => {
      expect(quantityProblem("q", value, '"1"')).toBe(
        `q: ${quote(value)} is not a Kubernetes quantity; use a number with an optional suffix (Ki, Mi, Gi, m, k, M, G, ...), e.g. "1"`,
      );
    },
  );

  it("quotes a long value cut short, with its length", () => {
    expect(quote("x".repeat(60))).toBe(`"${"x".repeat(60)}"`);
    expect(quote("x".repeat(61))).toBe(`"${"x".repeat(59)}…" (61 characters)`);
  });
});
