import { SECRET_STACK_CONFIG_KEYS } from "./schema";

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

/**
 * `openstack:` provider keys that hold a credential rather than say where one is (the password, a token, an
 * application credential's secret, a client private key), with the environment variable that can carry it instead.
 */
const OPENSTACK_SECRET_KEYS: Readonly<Record<string, string>> = {
  password: "OS_PASSWORD",
  token: "OS_TOKEN",
  applicationCredentialSecret: "OS_APPLICATION_CREDENTIAL_SECRET",
  key: "OS_KEY",
};

/** The config keys whose values are credentials, each with how to set it encrypted. */
function secretKeyFixes(): [string, string][] {
  return [
    ...SECRET_STACK_CONFIG_KEYS.map((k): [string, string] => [
      `gpushare:${k}`,
      `run pulumi config set --secret gpushare:${k} < path/to/${k}`,
    ]),
    ...Object.entries(OPENSTACK_SECRET_KEYS).map(([k, env]): [string, string] => [
      `openstack:${k}`,
      `run pulumi config set --secret openstack:${k} (it prompts for the value, which keeps it out of shell history), or remove it and export ${env}`,
    ]),
  ];
}

/**
 * The credentials a stack's config holds in plain text, each with the `pulumi config set --secret` command that
 * stores it encrypted instead. `config` holds every key of the stack with its namespace, `secretKeys` those that
 * are secrets; an empty value is unset (Pulumi.yaml's default of `gpushare:kubeconfig`).
 */
export function plainTextSecretProblems(settings: {
  readonly config: Readonly<Record<string, unknown>>;
  readonly secretKeys: ReadonlySet<string>;
}): string[] {
  const problems = secretKeyFixes()
    .filter(([key]) => {
      const value = settings.config[key];
      return value !== undefined && value !== "" && !settings.secretKeys.has(key);
    })
    .map(([key, fix]) => `${key}: a credential in plain text in the stack file; encrypt it: ${fix}`);
  // The Kubernetes provider's kubeconfig is a path or the file's content; content holds tokens or keys.
  const kubeconfig = settings.config["kubernetes:kubeconfig"];
  if (
    typeof kubeconfig === "string" &&
    !settings.secretKeys.has("kubernetes:kubeconfig") &&
    /[\n{]|apiVersion|client-key-data|token/.test(kubeconfig)
  ) {
    problems.push(
      `kubernetes:kubeconfig: a kubeconfig's content in plain text in the stack file (it holds tokens or keys); encrypt it: run pulumi config set --secret kubernetes:kubeconfig < path/to/kubeconfig, or give a path to the file instead`,
    );
  }
  return problems;
}
