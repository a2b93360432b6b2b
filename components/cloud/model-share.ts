import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { networkRangeReason } from "./network-range";

/** Manila protocol of the share: Kubernetes mounts it with its built-in NFS volume. */
export const MODEL_SHARE_PROTOCOL = "NFS";
/** Read-write for the rule: the seed Job writes the models; Triton's pods mount the volume read-only in Kubernetes. */
export const MODEL_SHARE_ACCESS_LEVEL = "rw";

/**
 * The share and who may mount it. The share type, share network and availability zone (and the protocol) cannot
 * change without a new share, which `allowDestroy: false` refuses.
 * @see https://www.pulumi.com/registry/packages/openstack/api-docs/sharedfilesystem/share/
 */
export interface ModelShareArgs {
  /** Size of the share, whole GiB (at least 1); grows in place. */
  readonly sizeGiB: number;
  /**
   * Manila share type, which decides the back end (it must export NFS).
   * @default - the project's default share type.
   */
  readonly shareType?: string;
  /**
   * Manila share network, for share types that need one (driver_handles_share_servers).
   * @default - none.
   */
  readonly shareNetworkId?: string;
  /**
   * Availability zone of the share.
   * @default - Manila's default availability zone.
   */
  readonly availabilityZone?: string;
  /**
   * The only network that may mount the share (the nodes' subnet), an IP address or CIDR; the access rule admits
   * exactly this and nothing wider.
   * @see https://www.pulumi.com/registry/packages/openstack/api-docs/sharedfilesystem/shareaccess/
   */
  readonly accessCidr: string;
  /**
   * Allow `pulumi destroy` and replacements to delete the share. When false the share is protected: the engine
   * refuses to replace or delete it and fails the preview saying so; and it is retained in OpenStack if it ever
   * leaves the stack.
   * @default false
   */
  readonly allowDestroy?: boolean;
}

/** One export location of a Manila share, as the provider reports it. */
export interface ShareExportLocation {
  /** `<server>:<path>`, e.g. `10.0.0.5:/shares/share-1` or `[fd00::5]:/shares/share-1`. */
  readonly path: string;
  /** `"true"` for the location Manila prefers. */
  readonly preferred: string;
}

/** An NFS export: what a Kubernetes `nfs` volume takes. */
export interface NfsExport {
  /** Address of the NFS server; an IPv6 address without brackets. */
  readonly server: string;
  /** Exported path, starting with `/`. */
  readonly path: string;
}

/** Splits `<server>:/<path>` at its first `:/` (IPv6 addresses hold no `/`); the brackets of an IPv6 server go. */
export function splitExportLocation(location: string): NfsExport {
  const at = location.indexOf(":/");
  const bracketed = location.startsWith("[");
  const server = at < 0 ? "" : bracketed ? location.slice(1, at - 1) : location.slice(0, at);
  const wellFormed =
    server !== "" && !/\s/.test(location) && (!bracketed || location[at - 1] === "]") && !/[[\]]/.test(server);
  if (!wellFormed) {
    throw new Error(
      `Manila export location "${location}" is not <server>:/<path>; gpushare mounts the share over NFS, so use a share type whose back end exports NFS`,
    );
  }
  // A bare IPv6 address is what the Kubernetes NFS volume takes: kubelet adds the brackets for mount.nfs itself
  // (kubernetes/kubernetes#101067, Kubernetes 1.22).
  return { server, path: location.slice(at + 1) };
}

/** The NFS export of a share: its preferred export location (`preferred == "true"`), else its first. */
export function nfsExportOf(locations: readonly ShareExportLocation[]): NfsExport {
  const chosen = locations.find((l) => l.preferred === "true") ?? locations[0];
  if (chosen === undefined) {
    throw new Error(
      "the Manila share has no export locations; check that it is available (`openstack share show`) and that its share type exports NFS",
    );
  }
  return splitExportLocation(chosen.path);
}

function validate(name: string, args: ModelShareArgs): void {
  const errors: { propertyPath: string; reason: string }[] = [];
  const cidr = args.accessCidr;
  // The same rule as the stack's `modelStore.manila.accessCidr`: one owner, here.
  const reason = networkRangeReason(cidr, false);
  if (reason !== undefined) errors.push({ propertyPath: "accessCidr", reason });
  const size = args.sizeGiB;
  if (!Number.isInteger(size) || size < 1) {
    errors.push({ propertyPath: "sizeGiB", reason: `${size} is not a size; use a whole number of GiB ≥ 1` });
  }
  if (errors.length > 0) {
    throw new pulumi.InputPropertiesError({
      message: `ModelShare ${name}: ${errors.map((e) => `${e.propertyPath}: ${e.reason}`).join("; ")}`,
      errors,
    });
  }
}

/**
 * The NFS share on OpenStack Manila that holds the Triton model repository, with one access rule for the nodes'
 * subnet. Unless `allowDestroy`, the models are safe from gpushare: the share is protected and retained on delete.
 */
export class ModelShare extends pulumi.ComponentResource {
  /** Address of the NFS server of the share's preferred export location. */
  public readonly server: pulumi.Output<string>;
  /** Exported path of the share's preferred export location. */
  public readonly path: pulumi.Output<string>;

  constructor(name: string, args: ModelShareArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before super(): bad arguments register nothing, not even the component.
    validate(name, args);
    super("gpushare:cloud:ModelShare", name, args, opts);

    // Data safety rests on `protect`. The engine refuses to replace a protected resource and fails the preview with
    // "unable to replace resource ... as it is currently marked for protection" (pulumi/pulumi#8810; since #15969
    // the preview also shows the diff that forces it), and refuses to delete one: "... cannot be deleted because it
    // is protected" (pulumi/pulumi#11819). The share's replacing inputs in terraform-provider-openstack are
    // share_proto, share_type, share_network_id, availability_zone, snapshot_id and region; size, name, description
    // and metadata update in place. `retainOnDelete` keeps the share in OpenStack if it leaves the stack anyway
    // (`pulumi state unprotect` then destroy). With allowDestroy both are off in the same update, which the engine
    // permits: it checks the new protect flag.
    const keep = !(args.allowDestroy ?? false);
    const share = new openstack.sharedfilesystem.Share(
      `${name}-share`,
      {
        // Explicit, so auto-naming never picks a new physical name.
        name,
        description: "gpushare model repository (Triton)",
        shareProto: MODEL_SHARE_PROTOCOL,
        size: args.sizeGiB,
        shareType: args.shareType,
        shareNetworkId: args.shareNetworkId,
        availabilityZone: args.availabilityZone,
      },
      { parent: this, protect: keep, retainOnDelete: keep },
    );

    const access = new openstack.sharedfilesystem.ShareAccess(
      `${name}-access`,
      {
        shareId: share.id,
        accessType: "ip",
        accessTo: args.accessCidr,
        accessLevel: MODEL_SHARE_ACCESS_LEVEL,
      },
      // Manila refuses a second rule for the same address on a share, so a changed rule goes before its successor.
      { parent: this, deleteBeforeReplace: true },
    );

    // Resolved only once the access rule exists, so nothing mounts the share before the nodes may.
    const nfsExport = pulumi.all([share.exportLocations, access.urn]).apply(([locations]) => nfsExportOf(locations));
    this.server = nfsExport.server;
    this.path = nfsExport.path;
    this.registerOutputs({ server: this.server, path: this.path });
  }
}
