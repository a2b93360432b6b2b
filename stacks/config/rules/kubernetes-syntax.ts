/**
 * The Kubernetes API server's syntax rules for values that become part of an object, ported from apimachinery so
 * that a bad value fails `pulumi preview` rather than the apply, after the cloud cluster and node groups exist.
 * Each function returns what is wrong with the value at config path `at`, or `undefined`.
 * @see https://github.com/kubernetes/apimachinery/blob/master/pkg/util/validation/validation.go
 * @see https://github.com/kubernetes/apimachinery/blob/master/pkg/api/validation/objectmeta.go
 * @see https://github.com/kubernetes/apimachinery/blob/master/pkg/api/resource/quantity.go
 */

/** `qualifiedNameFmt`: a name part of a label or annotation key, and a label value's form. */
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
/** `qualifiedNameMaxLength`, `LabelValueMaxLength`. */
const NAME_MAX = 63;
/** `dns1123SubdomainFmt` and `DNS1123SubdomainMaxLength`: a key's prefix. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SUBDOMAIN_MAX = 253;
/** `dns1035LabelFmt`: a Service's name. */
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** `TotalAnnotationSizeLimitB`: keys and values of one object's annotations together. */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/** A value as a message quotes it: JSON, cut short past 60 characters. */
export function quote(value: string): string {
  const json = JSON.stringify(value);
  return json.length > 62 ? `${json.slice(0, 60)}…" (${value.length} characters)` : json;
}

/** What is wrong with a label or annotation key (`IsQualifiedName`). */
export function qualifiedNameProblem(at: string, key: string): string | undefined {
  const parts = key.split("/");
  const name = parts[parts.length - 1];
  const prefix = parts.length === 2 ? parts[0] : undefined;
  const fix =
    'use an optional DNS subdomain prefix and "/", then at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit (e.g. example.com/node-group)';
  if (parts.length > 2) return `${at}: key ${quote(key)} has more than one "/"; ${fix}`;
  if (prefix !== undefined && (prefix.length > SUBDOMAIN_MAX || !DNS1123_SUBDOMAIN.test(prefix))) {
    return `${at}: key ${quote(key)} has a prefix that is not a lowercase DNS subdomain of at most ${SUBDOMAIN_MAX} characters; ${fix}`;
  }
  if (name.length > NAME_MAX || !QUALIFIED_NAME.test(name)) {
    return `${at}: key ${quote(key)} is not a Kubernetes label or annotation key; ${fix}`;
  }
  return undefined;
}

/** What is wrong with a label value (`IsValidLabelValue`): empty, or a qualified name's form, at most 63. */
export function labelValueProblem(at: string, value: string): string | undefined {
  if (value === "" || (value.length <= NAME_MAX && QUALIFIED_NAME.test(value))) return undefined;
  return `${at}: ${quote(value)} is not a Kubernetes label value; use at most ${NAME_MAX} letters, digits, "-", "_" or ".", starting and ending with a letter or digit, or ""`;
}

/** Every problem of a label map (`ValidateLabels`) at config path `at`. */
export function labelsProblems(at: string, labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels).flatMap(([key, value]) =>
    [qualifiedNameProblem(at, key), labelValueProblem(`${at}.${key}`, value)].filter((p) => p !== undefined),
  );
}

/** Every problem of an annotation map (`ValidateAnnotations`): its keys, and its size all together (UTF-8 bytes). */
export function annotationsProblems(at: string, annotations: Readonly<Record<string, string>>): string[] {
  const problems = Object.keys(annotations).flatMap((key) => qualifiedNameProblem(at, key) ?? []);
  const bytes = Object.entries(annotations).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (bytes > MAX_ANNOTATIONS_BYTES) {
    problems.push(
      `${at}: ${bytes} bytes of annotations; Kubernetes takes at most ${MAX_ANNOTATIONS_BYTES} (256 KiB) per object, keys and values together; keep large data in a ConfigMap`,
    );
  }
  return problems;
}

/** What is wrong with a name that becomes a Service's (`IsDNS1035Label`). */
export function dns1035Problem(at: string, name: string): string | undefined {
  if (name.length <= NAME_MAX && DNS1035_LABEL.test(name)) return undefined;
  return `${at}: ${quote(name)} cannot name a Kubernetes Service; use a DNS-1035 label: lowercase letters, digits and "-", starting with a letter, at most ${NAME_MAX} characters`;
}

/**
 * `resource.ParseQuantity`'s grammar: a signed decimal number and an optional suffix, binary (Ki … Ei), decimal
 * (n u m k M G T P E) or a decimal exponent (e3, E-2).
 */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

/** What is wrong with a resource request (`ParseQuantity`, and requests are never negative). */
export function quantityProblem(at: string, value: string, example: string): string | undefined {
  if (QUANTITY.test(value) && !value.startsWith("-")) return undefined;
  return `${at}: ${quote(value)} is not a Kubernetes quantity; use a number with an optional suffix (Ki, Mi, Gi, m, k, M, G, ...), e.g. ${example}`;
}
