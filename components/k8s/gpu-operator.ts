import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../../stacks/config";

export interface GpuOperatorArgs {
  readonly config: StackConfig;
  /** Pool name → regex of its node names (OpenStack mode), for the label rules. */
  readonly nodeNamePatterns?: Record<string, pulumi.Input<string>>;
}

/** CONTRACT SKELETON (issue 4 fills it in). */
export class GpuOperator extends pulumi.ComponentResource {
  public readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: GpuOperatorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpushare:k8s:GpuOperator", name, {}, opts);
    this.namespace = pulumi.output(args.config.raw.gpuOperator.namespace);
    this.registerOutputs({ namespace: this.namespace });
  }
}
