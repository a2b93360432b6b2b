import * as pulumi from "@pulumi/pulumi";
import type { ServerConfig } from "../../stacks/config";

export interface TritonServerArgs {
  readonly server: ServerConfig;
  readonly namespace: pulumi.Input<string>;
  readonly claimName: pulumi.Input<string>;
  /** Labels the PodMonitor needs for Prometheus to select it. */
  readonly monitorLabels: Record<string, string>;
  /** The custom metric the HPA scales on. */
  readonly metricName: string;
}

/** CONTRACT SKELETON (issue 6 fills it in). */
export class TritonServer extends pulumi.ComponentResource {
  public readonly endpoint: pulumi.Output<string>;

  constructor(name: string, args: TritonServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpushare:k8s:TritonServer", name, {}, opts);
    this.endpoint = pulumi.output(args.server.name);
    this.registerOutputs({ endpoint: this.endpoint });
  }
}
