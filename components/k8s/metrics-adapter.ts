import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../../stacks/config";

export interface MetricsAdapterArgs {
  readonly config: StackConfig;
  readonly prometheusUrl: pulumi.Input<string>;
  /** The namespace name, resolved once the namespace exists. */
  readonly namespaceReady: pulumi.Input<string>;
}

/** CONTRACT SKELETON (issue 5 fills it in). */
export class MetricsAdapter extends pulumi.ComponentResource {
  /** The custom metric HPAs scale on. */
  public readonly metricName: string;

  constructor(name: string, args: MetricsAdapterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpushare:k8s:MetricsAdapter", name, {}, opts);
    this.metricName = args.config.raw.metricsAdapter.metricName;
    this.registerOutputs({});
  }
}
