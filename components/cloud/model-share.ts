import * as pulumi from "@pulumi/pulumi";
import type { RawStackConfig } from "../../stacks/schema";

export type ManilaSettings = NonNullable<RawStackConfig["modelStore"]["manila"]>;

export interface ModelShareArgs {
  readonly manila: ManilaSettings;
  /** The only network that may mount the share (the nodes' subnet). */
  readonly accessCidr: string;
  /** Allow `pulumi destroy` and replacements to delete the share. */
  readonly allowDestroy: boolean;
}

/** CONTRACT SKELETON (issue 3 fills it in): Manila NFS share + access rule, export split in server/path. */
export class ModelShare extends pulumi.ComponentResource {
  public readonly server: pulumi.Output<string>;
  public readonly path: pulumi.Output<string>;

  constructor(name: string, args: ModelShareArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpushare:cloud:ModelShare", name, {}, opts);
    this.server = pulumi.output(args.accessCidr);
    this.path = pulumi.output("/");
    this.registerOutputs({ server: this.server, path: this.path });
  }
}
