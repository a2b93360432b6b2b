import { isIP } from "node:net";

/**
 * Network ranges of the stack config: the nodes' subnet and who may mount the model share. Manila parses an
 * access rule's address with Python's `ipaddress.ip_network`, which refuses host bits set below the prefix; the
 * same rule here fails `pulumi preview` instead of the share's access rule half-way through `pulumi up`.
 * @see https://docs.openstack.org/manila/latest/user/share-network-operations.html
 */

/** The address as a number, for IPv4 (32 bits) or IPv6 (128 bits). */
function addressBits(address: string, version: 4 | 6): bigint {
  if (version === 4) return address.split(".").reduce((n, octet) => (n << 8n) | BigInt(octet), 0n);
  let text = address;
  // An IPv6 address may end in dotted IPv4 (::ffff:10.0.0.1): two groups of 16 bits.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted !== null) {
    const v4 = addressBits(dotted[1], 4);
    text = `${text.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
  return groups.reduce((n, group) => (n << 16n) | BigInt(`0x${group}`), 0n);
}

/**
 * What is wrong with the network range at config path `at`, or `undefined` when it is one. `prefixRequired`:
 * only `address/prefix` is accepted (a subnet), else a single address is one too. A range that admits every
 * address (`/0`) is refused: it would open the share to the whole internet.
 */
export function cidrProblem(at: string, value: string, prefixRequired: boolean): string | undefined {
  const reason = networkRangeReason(value, prefixRequired);
  return reason === undefined ? undefined : `${at}: ${reason}`;
}

/**
 * What is wrong with a network range, without where it sits (`"10.0.0.5/24" has host bits set ...`), or `undefined`:
 * the reason a component gives in its `InputPropertiesError`, and the stack layer after the config path.
 */
export function networkRangeReason(value: string, prefixRequired: boolean): string | undefined {
  const example = "e.g. 10.0.0.0/24";
  const slash = value.indexOf("/");
  const address = slash < 0 ? value : value.slice(0, slash);
  const family = isIP(address);
  if (family === 0 || (slash < 0 && prefixRequired)) {
    const what = prefixRequired ? "a CIDR (address/prefix length)" : "an IP address or CIDR";
    return `"${value}" is not ${what}; give the nodes' subnet, ${example}`;
  }
  const version = family === 4 ? 4 : 6;
  if (slash < 0) return undefined;
  const width = version === 4 ? 32 : 128;
  const prefixText = value.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > width) {
    return `"${value}" has no valid prefix length; use /1 to /${width} for an IPv${version} address, ${example}`;
  }
  if (prefix === 0) {
    return `"${value}" admits every address; give the nodes' subnet, ${example}`;
  }
  const hostBits = BigInt(width - prefix);
  const bits = addressBits(address, version);
  if ((bits & ((1n << hostBits) - 1n)) !== 0n) {
    const network = (bits >> hostBits) << hostBits;
    const fix =
      version === 4
        ? `use ${[24n, 16n, 8n, 0n].map((s) => String((network >> s) & 0xffn)).join(".")}/${prefix}`
        : "clear the bits below the prefix";
    return `"${value}" has host bits set below its /${prefix} prefix, which Manila refuses; ${fix}`;
  }
  if (version === 6) {
    // ::ffff:0:0/96 holds every IPv4 address in mapped form: a rule over it reaches the IPv4 internet.
    const start = bits;
    const end = bits + (1n << hostBits);
    if (start < MAPPED_V4 + (1n << 32n) && MAPPED_V4 < end) {
      if (prefix < 96) {
        return `"${value}" covers every IPv4 address in IPv4-mapped form (::ffff:0:0/96); write the nodes' IPv4 subnet as IPv4, ${example}`;
      }
      // Within the mapped block: an IPv4 range, judged as one.
      if (prefix - 96 < MIN_PREFIX_V4) {
        return `"${value}" admits 2^${width - prefix} IPv4 addresses in mapped form, far more than a subnet of nodes; use a prefix of /${96 + MIN_PREFIX_V4} or longer, ${example}`;
      }
      return undefined;
    }
  }
  const widest = version === 4 ? MIN_PREFIX_V4 : MIN_PREFIX_V6;
  if (prefix < widest) {
    return `"${value}" admits 2^${width - prefix} addresses, far more than a subnet of nodes; use a prefix of /${widest} or longer, ${example}`;
  }
  return undefined;
}

/** Where IPv4-mapped IPv6 addresses start: ::ffff:0.0.0.0. */
const MAPPED_V4 = 0xffffn << 32n;
/** The widest range a subnet of nodes can be: a /8 of IPv4 (10.0.0.0/8), a /32 of IPv6 (an ISP's allocation). */
const MIN_PREFIX_V4 = 8;
const MIN_PREFIX_V6 = 32;
