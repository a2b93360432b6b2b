/**
 * Container image references, checked against the grammar of the distribution reference (the one Docker,
 * containerd and every OCI registry client parse), so a typo fails `pulumi preview` instead of leaving pods in
 * `InvalidImageName` or `ErrImagePull`.
 * @see https://github.com/distribution/reference/blob/main/reference.go
 * @see https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests
 */

/** `registry[:port]`: DNS labels joined by dots, or `localhost`, with an optional port. */
const DOMAIN = String.raw`(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]+)?`;
/** One repository path component: lowercase alphanumerics joined by `.`, `_`, `__` or dashes. */
const PATH_COMPONENT = String.raw`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`;
const TAG = String.raw`[\w][\w.-]{0,127}`;
/** The digests OCI registers: lowercase hex, 64 digits for sha256 and 128 for sha512. */
const DIGEST = String.raw`sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}`;

/**
 * A whole reference: an optional registry (the first component, when it has a `.` or `:` or is `localhost`),
 * the repository, then a tag, a digest, or both.
 */
const REFERENCE = new RegExp(
  String.raw`^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);
/** The longest repository name (registry and path) a reference may have. */
const MAX_IMAGE_NAME_LENGTH = 255;

const EXAMPLE = "nvcr.io/nvidia/tritonserver:24.08-py3";

/**
 * What is wrong with the image reference at config path `at`, or `undefined` when it is a valid reference with
 * a tag or a digest. Registry host names are case-insensitive but a reference must spell them, and always its
 * repository, in lowercase; the message then gives the lowercased reference.
 */
export function imageReferenceProblem(at: string, image: string): string | undefined {
  const subject = `${at}: "${image}"`;
  const match = REFERENCE.exec(image);
  if (match === null) {
    const cut = image.search(/[:@][^/]*$/);
    const name = cut < 0 ? image : image.slice(0, cut);
    const lowered = `${name.toLowerCase()}${image.slice(name.length)}`;
    if (name !== name.toLowerCase() && REFERENCE.test(lowered)) {
      return `${subject} is not an image reference: the registry and repository must be lowercase; use "${lowered}"`;
    }
    return `${subject} is not an image reference ([registry[:port]/]repository[:tag][@sha256:digest], the repository in lowercase letters, digits, ".", "_" and "-"); use e.g. ${EXAMPLE}`;
  }
  const [, domain, path, tag, digest] = match;
  const nameLength = path.length + (domain === undefined ? 0 : domain.length + 1);
  if (nameLength > MAX_IMAGE_NAME_LENGTH) {
    return `${subject} has a ${nameLength}-character repository name; registries take at most ${MAX_IMAGE_NAME_LENGTH}, so shorten it`;
  }
  if (tag === undefined && digest === undefined) {
    return `${subject} has no tag or digest; pin it, e.g. ${EXAMPLE}`;
  }
  return undefined;
}
