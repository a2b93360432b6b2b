import { createHash } from "node:crypto";

/**
 * Names of the configs a node's labels point at. NVIDIA's config-manager (device plugin) and mig-manager act
 * only when the value of `nvidia.com/device-plugin.config` or `nvidia.com/mig.config` on a node changes; a
 * ConfigMap rewritten under the same key is never read again. So every config gpushare generates is named
 * after its content: a change of content is a change of name, the node label moves, and the node acts.
 * @see https://github.com/NVIDIA/k8s-device-plugin/blob/main/cmd/config-manager/main.go
 */

/** Kubernetes label values: at most 63 characters. */
export const LABEL_VALUE_MAX_LENGTH = 63;
/** Hex digits of the content hash in a generated name: 32 bits, enough to tell two generations apart. */
export const CONFIG_HASH_LENGTH = 8;
/** The longest prefix (pool name, `mig.name`) that still leaves room for `-<hash>` within a label value. */
export const CONFIG_NAME_PREFIX_MAX_LENGTH = LABEL_VALUE_MAX_LENGTH - CONFIG_HASH_LENGTH - 1;

/**
 * How a content hash reads its parts and how much of the digest it keeps. Each scheme in use is part of live
 * resource names (ConfigMap keys, node labels, PVs, Jobs): changing one renames them.
 */
export interface HashScheme {
  /** Hex digits kept from the start of the SHA-256. */
  readonly hexDigits: number;
  /**
   * Whether each part is written `<length>:<part>` (length in UTF-16 code units) before it is hashed, so that
   * `("ab", "")` and `("a", "b")` differ; unframed parts are hashed as they are, one after the other.
   */
  readonly framed: boolean;
}

/** Config generations: one content, hashed as it is, {@link CONFIG_HASH_LENGTH} hex digits. */
export const CONFIG_HASH: HashScheme = { hexDigits: CONFIG_HASH_LENGTH, framed: false };

/** The SHA-256 of `parts`, UTF-8, read and cut as `scheme` says: the one content hash of gpushare's names. */
export function hashParts(scheme: HashScheme, parts: readonly string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(scheme.framed ? `${part.length}:${part}` : part, "utf8");
  return hash.digest("hex").slice(0, scheme.hexDigits);
}

/** The first {@link CONFIG_HASH_LENGTH} hex digits of the SHA-256 of `content`. */
export function contentHash(content: string): string {
  return hashParts(CONFIG_HASH, [content]);
}

/**
 * `<prefix>-<hash of content>`, a valid label value: the prefix is cut to
 * {@link CONFIG_NAME_PREFIX_MAX_LENGTH} and loses trailing `-`, `_` and `.` (a label value ends alphanumeric).
 */
export function generationName(prefix: string, content: string): string {
  const head = prefix.slice(0, CONFIG_NAME_PREFIX_MAX_LENGTH).replace(/[-_.]+$/, "");
  return `${head}-${contentHash(content)}`;
}

/** The prefix of an explicit MIG layout's name when the pool gives no `mig.name`. */
export function defaultMigLayoutPrefix(pool: string): string {
  return `gpushare-${pool}`;
}
