import { describe, expect, it } from "vitest";
import { missingOpenStackCredentials } from "../../../stacks/config/credentials";

const none = new Set<string>();

describe("OpenStack credentials", () => {
  it("are complete with a clouds.yaml entry alone", () => {
    expect(missingOpenStackCredentials({ env: { OS_CLOUD: "mycloud" }, providerConfig: none })).toEqual([]);
    expect(missingOpenStackCredentials({ env: {}, providerConfig: new Set(["cloud"]) })).toEqual([]);
  });

  it("are complete with a password login from the environment", () => {
    const env = { OS_AUTH_URL: "https://keystone:5000/v3", OS_USERNAME: "u", OS_PASSWORD: "p", OS_PROJECT_NAME: "x" };
    expect(missingOpenStackCredentials({ env, providerConfig: none })).toEqual([]);
  });

  it("are complete with an application credential from provider config", () => {
    const providerConfig = new Set(["authUrl", "applicationCredentialId", "applicationCredentialSecret"]);
    expect(missingOpenStackCredentials({ env: {}, providerConfig })).toEqual([]);
  });

  it("are complete with an application credential named rather than identified", () => {
    const env = {
      OS_AUTH_URL: "https://keystone:5000/v3",
      OS_APPLICATION_CREDENTIAL_NAME: "ci",
      OS_APPLICATION_CREDENTIAL_SECRET: "s",
    };
    expect(missingOpenStackCredentials({ env, providerConfig: none })).toEqual([]);
    const providerConfig = new Set(["authUrl", "applicationCredentialName", "applicationCredentialSecret"]);
    expect(missingOpenStackCredentials({ env: {}, providerConfig })).toEqual([]);
  });

  it("fails when an application credential has its secret but no id or name", () => {
    const env = { OS_AUTH_URL: "https://keystone:5000/v3", OS_APPLICATION_CREDENTIAL_SECRET: "s" };
    expect(missingOpenStackCredentials({ env, providerConfig: none })).toEqual([
      "OpenStack credentials: the application credential id (OS_APPLICATION_CREDENTIAL_ID or openstack:applicationCredentialId, or OS_APPLICATION_CREDENTIAL_NAME or openstack:applicationCredentialName) is not set; export it in the environment, or run pulumi config set --secret openstack:<key> <value>, or name a clouds.yaml entry with OS_CLOUD",
    ]);
  });

  it("fails when nothing is set, naming the variables and keys of each missing piece", () => {
    expect(missingOpenStackCredentials({ env: {}, providerConfig: none })).toEqual([
      "OpenStack credentials: the Keystone URL (OS_AUTH_URL or openstack:authUrl) is not set; export it in the environment, or run pulumi config set --secret openstack:<key> <value>, or name a clouds.yaml entry with OS_CLOUD",
      "OpenStack credentials: the user (OS_USERNAME or openstack:userName, or OS_USER_ID or openstack:userId) is not set; export it in the environment, or run pulumi config set --secret openstack:<key> <value>, or name a clouds.yaml entry with OS_CLOUD",
      "OpenStack credentials: the password (OS_PASSWORD or openstack:password) is not set; export it in the environment, or run pulumi config set --secret openstack:<key> <value>, or name a clouds.yaml entry with OS_CLOUD",
      "OpenStack credentials: the project (OS_PROJECT_NAME or openstack:tenantName, or OS_PROJECT_ID or openstack:tenantId) is not set; export it in the environment, or run pulumi config set --secret openstack:<key> <value>, or name a clouds.yaml entry with OS_CLOUD",
    ]);
  });

  it("fails when an application credential lacks its secret, and an empty variable counts as unset", () => {
    const env = {
      OS_AUTH_URL: "https://keystone:5000/v3",
      OS_APPLICATION_CREDENTIAL_ID: "id",
      OS_APPLICATION_CREDENTIAL_SECRET: "",
    };
    expect(missingOpenStackCredentials({ env, providerConfig: none })).toEqual([
      "OpenStack credentials: the application credential secret (OS_APPLICATION_CREDENTIAL_SECRET or openstack:applicationCredentialSecret) is not set; export it in the environment, or run pulumi config set --secret openstack:<key> <value>, or name a clouds.yaml entry with OS_CLOUD",
    ]);
  });
});
