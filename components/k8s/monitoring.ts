import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../../stacks/config";

export interface MonitoringArgs {
  readonly config: StackConfig;
}

/** CONTRACT SKELETON (issue 5 fills it in). */
export class Monitoring extends pulumi.ComponentResource {
  public readonly namespace: pulumi.Output<string>;
  /** Resolves once the monitoring namespace exists (others may share it). */
  public readonly namespaceReady: pulumi.Output<string>;
  public readonly prometheusUrl: pulumi.Output<string>;
  /** Labels a PodMonitor needs for this Prometheus to select it. */
  public readonly monitorLabels: Record<string, string>;
  public readonly grafanaAdminPassword: pulumi.Output<string> | undefined;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpushare:k8s:Monitoring", name, {}, opts);
    this.namespace = pulumi.output(args.config.raw.monitoring.namespace);
    this.namespaceReady = this.namespace;
    this.prometheusUrl = pulumi.output("");
    this.monitorLabels = {};
    this.grafanaAdminPassword = undefined;
    this.registerOutputs({ namespace: this.namespace });
  }
}
