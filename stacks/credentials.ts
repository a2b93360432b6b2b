/**
 * OpenStack credentials: where the provider finds them, and what is missing. The provider reads its own
 * config keys (`openstack:*`) or the `OS_*` environment variables; a clouds.yaml entry (`OS_CLOUD` /
 * `openstack:cloud`) can stand for all of them.
 * @see https://www.pulumi.com/registry/packages/openstack/installation-configuration/
 */
export interface CredentialSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `openstack:` provider config keys that are set (values are not needed). */
  readonly providerConfig: ReadonlySet<string>;
}

interface Requirement {
  readonly what: string;
  /** Alternatives: any one satisfies the requirement. Each is [config key, environment variable]. */
  readonly anyOf: readonly (readonly [string, string])[];
}

const AUTH_URL: Requirement = { what: "the Keystone URL", anyOf: [["authUrl", "OS_AUTH_URL"]] };
const APP_CREDENTIAL: Requirement[] = [
  {
    what: "the application credential id",
    anyOf: [
      ["applicationCredentialId", "OS_APPLICATION_CREDENTIAL_ID"],
      ["applicationCredentialName", "OS_APPLICATION_CREDENTIAL_NAME"],
    ],
  },
  {
    what: "the application credential secret",
    anyOf: [["applicationCredentialSecret", "OS_APPLICATION_CREDENTIAL_SECRET"]],
  },
];
const PASSWORD: Requirement[] = [
  {
    what: "the user",
    anyOf: [
      ["userName", "OS_USERNAME"],
      ["userId", "OS_USER_ID"],
    ],
  },
  { what: "the password", anyOf: [["password", "OS_PASSWORD"]] },
  {
    what: "the project",
    anyOf: [
      ["tenantName", "OS_PROJECT_NAME"],
      ["tenantId", "OS_PROJECT_ID"],
    ],
  },
];

function satisfied(req: Requirement, src: CredentialSources): boolean {
  return req.anyOf.some(([key, env]) => src.providerConfig.has(key) || (src.env[env] ?? "") !== "");
}

function describe(req: Requirement): string {
  return `${req.what} (${req.anyOf.map(([key, env]) => `${env} or openstack:${key}`).join(", or ")})`;
}

/**
 * What is missing for the OpenStack provider to authenticate, as messages; empty when nothing is.
 * Secrets belong in `pulumi config set --secret openstack:password ...` or the environment, never in plain
 * stack config.
 */
export function missingOpenStackCredentials(src: CredentialSources): string[] {
  if (src.providerConfig.has("cloud") || (src.env.OS_CLOUD ?? "") !== "") return [];
  const missing: Requirement[] = [];
  if (!satisfied(AUTH_URL, src)) missing.push(AUTH_URL);
  const usesAppCredential = APP_CREDENTIAL.some((r) => satisfied(r, src));
  for (const r of usesAppCredential ? APP_CREDENTIAL : PASSWORD) if (!satisfied(r, src)) missing.push(r);
  return missing.map(
    (r) =>
      `OpenStack credentials: ${describe(r)} is not set; export it in the environment, or run pulumi config set --secret openstack:<key> <value>, or name a clouds.yaml entry with OS_CLOUD`,
  );
}
