import * as pulumi from "@pulumi/pulumi";
import type { PoolConfig } from "../../stacks/config";
import type { RawStackConfig } from "../../stacks/schema";

export type OpenStackClusterSettings = NonNullable<RawStackConfig["cluster"]["openstack"]>;

export interface OpenStackClusterArgs {
  readonly cluster: OpenStackClusterSettings;
  readonly pools: readonly PoolConfig[];
}

/** CONTRACT SKELETON (issue 3 fills it in): Magnum cluster + one node group per GPU pool. */
export class OpenStackCluster extends pulumi.ComponentResource {
  /** Raw kubeconfig of the cluster (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly clusterName: pulumi.Output<string>;
  /** Pool name → regular expression matching the names of that pool's nodes. */
  public readonly nodeNamePatterns: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: OpenStackClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpushare:cloud:OpenStackCluster", name, {}, opts);
    this.kubeconfig = pulumi.secret("");
    this.clusterName = pulumi.output(name);
    this.nodeNamePatterns = Object.fromEntries(args.pools.map((p) => [p.name, pulumi.output(p.name)]));
    this.registerOutputs({ clusterName: this.clusterName });
  }
}
