import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../../stacks/config";

export interface ModelStoreArgs {
  readonly config: StackConfig;
  readonly nfsServer: pulumi.Input<string>;
  readonly nfsPath: pulumi.Input<string>;
}

/** CONTRACT SKELETON (issue 6 fills it in). */
export class ModelStore extends pulumi.ComponentResource {
  /** The inference namespace (created here), resolved once it exists. */
  public readonly namespace: pulumi.Output<string>;
  public readonly claimName: pulumi.Output<string>;

  constructor(name: string, args: ModelStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpushare:k8s:ModelStore", name, {}, opts);
    this.namespace = pulumi.output(args.config.raw.inference.namespace);
    this.claimName = pulumi.output("models");
    this.registerOutputs({ namespace: this.namespace, claimName: this.claimName });
  }
}
