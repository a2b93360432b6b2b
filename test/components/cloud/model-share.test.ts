import { describe, expect, it } from "vitest";
import type { ModelShareArgs, ShareExportLocation } from "../../../components/cloud/model-share";
import { ModelShare, nfsExportOf, splitExportLocation } from "../../../components/cloud/model-share";
import type { RecordedResource } from "../../../scripts/mock-runtime";
import { one, resolve, runProgram } from "../../helpers";

const SHARE = "openstack:sharedfilesystem/share:Share";
const ACCESS = "openstack:sharedfilesystem/shareAccess:ShareAccess";

const MALFORMED = (location: string) =>
  `Manila export location "${location}" is not <server>:/<path>; gpushare mounts the share over NFS, so use a share type whose back end exports NFS`;

function args(overrides: Partial<ModelShareArgs> = {}): ModelShareArgs {
  return {
    sizeGiB: 50,
    shareType: "nfs-ssd",
    shareNetworkId: "sn-1",
    availabilityZone: "nova",
    accessCidr: "10.0.0.0/24",
    allowDestroy: false,
    ...overrides,
  };
}

/** Runs a program that builds one ModelShare "models", and waits for its outputs as the component registers them. */
async function runShare(shareArgs: ModelShareArgs): Promise<{ resources: RecordedResource[]; share: ModelShare }> {
  let share: ModelShare | undefined;
  const resources = await runProgram(() => {
    share = new ModelShare("models", shareArgs);
  });
  if (share === undefined) throw new Error("the program built no ModelShare");
  await Promise.all([resolve(share.server), resolve(share.path)]);
  return { resources, share };
}

/** The message a program fails with; fails the test when it does not. */
async function failureOf(program: () => void): Promise<string> {
  return runProgram(program).then(
    () => {
      throw new Error("the program did not fail");
    },
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );
}

describe("splitExportLocation", () => {
  it.each([
    ["10.0.0.5:/shares/share-x", "10.0.0.5", "/shares/share-x"],
    ["[fd00::5]:/shares/share-x", "fd00::5", "/shares/share-x"],
    ["[2001:db8::1:2]:/shares/share-x", "2001:db8::1:2", "/shares/share-x"],
    ["fd00::5:/shares/share-x", "fd00::5", "/shares/share-x"],
    ["nfs.example.org:/export/models", "nfs.example.org", "/export/models"],
    ["10.0.0.5:/", "10.0.0.5", "/"],
    ["10.0.0.5:/odd:/path", "10.0.0.5", "/odd:/path"],
  ])("splits %s into %s and %s", (location, server, path) => {
    expect(splitExportLocation(location)).toEqual({ server, path });
  });

  it.each([
    "/shares/share-x",
    "10.0.0.5/shares/share-x",
    ":/shares/share-x",
    "[fd00::5:/shares",
    "[]:/shares",
    "10.0.0.5: /x",
    "",
  ])("fails when the location is %j", (location) => {
    expect(() => splitExportLocation(location)).toThrow(new Error(MALFORMED(location)));
  });
});

describe("nfsExportOf", () => {
  const at = (path: string, preferred: string): ShareExportLocation => ({ path, preferred });

  it.each([
    ["the preferred location", [at("10.0.0.5:/a", "false"), at("10.0.0.6:/b", "true")], "10.0.0.6", "/b"],
    ["the first preferred one", [at("10.0.0.5:/a", "true"), at("10.0.0.6:/b", "true")], "10.0.0.5", "/a"],
    [
      "the first location when none is preferred",
      [at("10.0.0.5:/a", "false"), at("10.0.0.6:/b", "false")],
      "10.0.0.5",
      "/a",
    ],
    ["an IPv6 location", [at("[fd00::6]:/b", "true")], "fd00::6", "/b"],
  ])("takes %s", (_what, locations, server, path) => {
    expect(nfsExportOf(locations)).toEqual({ server, path });
  });

  it("fails when the share has no export locations", () => {
    expect(() => nfsExportOf([])).toThrow(
      new Error(
        "the Manila share has no export locations; check that it is available (`openstack share show`) and that its share type exports NFS",
      ),
    );
  });

  it("fails when the preferred location is malformed", () => {
    expect(() => nfsExportOf([at("10.0.0.5:/a", "false"), at("cephfs-path", "true")])).toThrow(
      new Error(MALFORMED("cephfs-path")),
    );
  });
});

describe("ModelShare", () => {
  it("creates an NFS share of the configured size and one read-write rule for exactly the node subnet", async () => {
    const { resources, share: component } = await runShare(args());
    const parent = one(resources, "gpushare:cloud:ModelShare", "models").urn;

    const share = one(resources, SHARE);
    expect(share.name).toBe("models-share");
    expect(share.parent).toBe(parent);
    expect(share.inputs).toEqual({
      name: "models",
      description: "gpushare model repository (Triton)",
      shareProto: "NFS",
      size: 50,
      shareType: "nfs-ssd",
      shareNetworkId: "sn-1",
      availabilityZone: "nova",
    });
    expect(share.ignoreChanges).toEqual([]);

    const access = one(resources, ACCESS);
    expect(access.name).toBe("models-access");
    expect(access.parent).toBe(parent);
    const { shareId, ...rule } = access.inputs;
    expect(shareId).toBeDefined();
    expect(access.dependencies).toEqual([share.urn]);
    expect(rule).toEqual({ accessType: "ip", accessTo: "10.0.0.0/24", accessLevel: "rw" });
    expect(access.protect).toBe(false);

    // The mock share exports 192.0.2.20 (not preferred) and 192.0.2.21 (preferred).
    expect(await resolve(component.server)).toBe("192.0.2.21");
    expect(await resolve(component.path)).toBe("/shares/share-models-share");
  });

  it("leaves out the optional Manila settings that are not given", async () => {
    const resources = (await runShare({ sizeGiB: 1, accessCidr: "10.0.0.0/24" })).resources;
    expect(one(resources, SHARE).inputs).toEqual({
      name: "models",
      description: "gpushare model repository (Triton)",
      shareProto: "NFS",
      size: 1,
    });
  });

  it.each([
    [false, true],
    [true, false],
  ])("with allowDestroy %s the share's protect and retainOnDelete are %s", async (allowDestroy, kept) => {
    const { resources } = await runShare(args({ allowDestroy }));
    const share = one(resources, SHARE);
    expect(share.protect).toBe(kept);
    expect(share.retainOnDelete).toBe(kept);
  });

  it("protects the share when allowDestroy is not given", async () => {
    const { resources } = await runShare({ sizeGiB: 1, accessCidr: "10.0.0.0/24" });
    expect(one(resources, SHARE).protect).toBe(true);
    expect(one(resources, SHARE).retainOnDelete).toBe(true);
  });

  it("records its arguments as the component's inputs", async () => {
    const { resources } = await runShare(args());
    expect(one(resources, "gpushare:cloud:ModelShare").inputs).toEqual({
      sizeGiB: 50,
      shareType: "nfs-ssd",
      shareNetworkId: "sn-1",
      availabilityZone: "nova",
      accessCidr: "10.0.0.0/24",
      allowDestroy: false,
    });
  });

  it("fails when the size is not a whole number of GiB", async () => {
    expect(await failureOf(() => new ModelShare("models", args({ sizeGiB: 0.5 })))).toBe(
      "ModelShare models: sizeGiB: 0.5 is not a size; use a whole number of GiB ≥ 1",
    );
  });

  it("fails when the access rule would admit every address", async () => {
    expect(await failureOf(() => new ModelShare("models", args({ accessCidr: "0.0.0.0/0" })))).toBe(
      'ModelShare models: accessCidr: "0.0.0.0/0" admits every address; give the nodes\' subnet, e.g. 10.0.0.0/24',
    );
  });

  it("fails when the access rule is not an address", async () => {
    expect(await failureOf(() => new ModelShare("models", args({ accessCidr: "nodes" })))).toBe(
      'ModelShare models: accessCidr: "nodes" is not an IP address or CIDR; give the nodes\' subnet, e.g. 10.0.0.0/24',
    );
  });

  it.each(["10.0.0.7", "10.0.0.0/24", "fd00:10::/64", "2001:db8::1"])("admits the address or CIDR %s", async (cidr) => {
    const { resources } = await runShare(args({ accessCidr: cidr }));
    expect(one(resources, ACCESS).inputs.accessTo).toBe(cidr);
  });
});
