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

/** The first {@link CONFIG_HASH_LENGTH} hex digits of the SHA-256 of `content`. */
export function contentHash(content: string): string {
  return createHash("sha256").update(content, "utf8").digest("hex").slice(0, CONFIG_HASH_LENGTH);
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
