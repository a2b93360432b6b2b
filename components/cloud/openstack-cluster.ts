import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import type { PoolConfig } from "../../stacks/config";
import type { RawStackConfig } from "../../stacks/schema";
import { magnumNodeNamePattern, nodeGroupNameProblems } from "./magnum-names";

export { magnumNodeGroupStackPrefix, magnumNodeNamePattern, nodeGroupNameProblems } from "./magnum-names";

export type OpenStackClusterSettings = NonNullable<RawStackConfig["cluster"]["openstack"]>;

/**
 * Magnum role of every GPU node group. The Heat driver labels the nodes `magnum.openstack.org/role=gpu`; the pool
 * itself is the node group's name (`magnum.openstack.org/nodegroup=<pool>`).
 */
export const GPU_NODE_GROUP_ROLE = "gpu";

export interface OpenStackClusterArgs {
  /**
   * The `cluster.openstack` section of the stack config: the cluster template (one gpushare creates from
   * `template`, or an existing one by `clusterTemplateId`), master and default-worker counts, keypair, network.
   * @see https://www.pulumi.com/registry/packages/openstack/api-docs/containerinfra/cluster/
   */
  readonly cluster: OpenStackClusterSettings;
  /**
   * The resolved GPU pools; each becomes one Magnum node group named after the pool, with the pool's Nova
   * flavor (`raw.flavor`), image (`raw.image`, the template's if unset) and node bounds.
   * @see https://www.pulumi.com/registry/packages/openstack/api-docs/containerinfra/nodegroup/
   */
  readonly pools: readonly PoolConfig[];
}

function validate(name: string, args: OpenStackClusterArgs): void {
  const errors: { propertyPath: string; reason: string }[] = [];
  const { cluster } = args;
  if ((cluster.clusterTemplateId === undefined) === (cluster.template === undefined)) {
    errors.push({
      propertyPath: "cluster",
      reason: "give exactly one of clusterTemplateId (an existing Magnum template) or template (one gpushare creates)",
    });
  }
  for (const pool of args.pools) {
    if (pool.raw.flavor === undefined) {
      errors.push({
        propertyPath: `pools.${pool.name}.raw.flavor`,
        reason: `missing; set gpuPools.${pool.name}.flavor to the Nova flavor of the pool's GPU nodes`,
      });
    }
  }
  for (const reason of nodeGroupNameProblems(args.pools.map((p) => p.name))) {
    errors.push({ propertyPath: "pools", reason });
  }
  if (errors.length > 0) {
    throw new pulumi.InputPropertiesError({
      message: `OpenStackCluster ${name}: ${errors.map((e) => e.reason).join("; ")}`,
      errors,
    });
  }
}

/**
 * A Magnum Kubernetes cluster (from a cluster template gpushare creates or an existing one) with a default worker
 * group for system workloads and one node group per GPU pool. OpenStack credentials come from the provider's
 * configuration or the `OS_*` environment, never from here.
 */
export class OpenStackCluster extends pulumi.ComponentResource {
  /** Raw kubeconfig of the cluster (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly clusterName: pulumi.Output<string>;
  /** Pool name → regular expression matching the names of that pool's nodes. */
  public readonly nodeNamePatterns: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: OpenStackClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before super(): bad arguments register nothing, not even the component.
    validate(name, args);
    super("gpushare:cloud:OpenStackCluster", name, {}, opts);
    const settings = args.cluster;
    // Magnum may take up to createTimeoutMinutes; the provider must wait as long instead of its own default.
    const createTimeout = `${settings.createTimeoutMinutes}m`;

    const clusterTemplateId = this.clusterTemplate(name, settings);

    const cluster = new openstack.containerinfra.Cluster(
      `${name}-magnum`,
      {
        clusterTemplateId,
        masterCount: settings.masterCount,
        // The default worker group (system workloads: Prometheus, the adapter, operator controllers) takes the
        // template's flavor. Not repeated here: a cluster's flavor forces a new cluster, a template's does not.
        nodeCount: settings.workerCount,
        keypair: settings.keypair,
        fixedNetwork: settings.fixedNetwork,
        fixedSubnet: settings.fixedSubnet,
        createTimeout: settings.createTimeoutMinutes,
      },
      { parent: this, customTimeouts: { create: createTimeout } },
    );

    this.clusterName = cluster.name;
    // The provider renders `raw_config` (snake_case: `kubeconfig` is a plain map, its keys are not renamed) from a
    // client certificate Magnum signs. The provider marks the map secret; the raw text stays secret here too.
    this.kubeconfig = pulumi.secret(
      cluster.kubeconfig.apply((k) => {
        const raw = k["raw_config"];
        if (raw === undefined || raw === "") {
          throw new Error(`OpenStackCluster ${name}: the Magnum cluster returned no kubeconfig (raw_config)`);
        }
        return raw;
      }),
    );

    this.nodeNamePatterns = {};
    let previous: pulumi.Resource | undefined;
    for (const pool of args.pools) {
      const nodeGroup = new openstack.containerinfra.NodeGroup(
        `${name}-${pool.name}`,
        {
          clusterId: cluster.id,
          // The node name pattern depends on it, and Magnum keeps node-group names unique per cluster.
          name: pool.name,
          role: GPU_NODE_GROUP_ROLE,
          flavorId: pool.raw.flavor,
          imageId: pool.raw.image,
          nodeCount: pool.nodes.initial,
          minNodeCount: pool.nodes.min,
          maxNodeCount: pool.nodes.max,
          // Inherit the cluster's labels (kube_tag, container runtime, ...). No labels of our own: labels force a new
          // node group, so min/max as labels would turn every resize into a replacement of the GPU nodes; the
          // min/max fields above update in place and are what Magnum's autoscaler reads.
          mergeLabels: true,
        },
        {
          parent: this,
          // A replacement takes the same name, which Magnum refuses while the old group exists.
          deleteBeforeReplace: true,
          // Between min and max the cluster autoscaler owns the node count once the group exists: `nodes.initial`
          // applies at creation only, and `pulumi up --refresh` must not undo a scale-up.
          ...(pool.nodes.min < pool.nodes.max ? { ignoreChanges: ["nodeCount"] } : {}),
          customTimeouts: { create: createTimeout },
          // One at a time: concurrent node-group creation is reported to fail in Magnum
          // (https://bugs.launchpad.net/magnum/+bug/2097946).
          ...(previous === undefined ? {} : { dependsOn: [previous] }),
        },
      );
      previous = nodeGroup;
      this.nodeNamePatterns[pool.name] = pulumi
        .all([cluster.name, nodeGroup.name])
        .apply(([clusterName, nodeGroupName]) => magnumNodeNamePattern(clusterName, nodeGroupName));
    }

    this.registerOutputs({
      kubeconfig: this.kubeconfig,
      clusterName: this.clusterName,
      nodeNamePatterns: this.nodeNamePatterns,
    });
  }

  /** The id of the cluster template: the one gpushare creates from `template`, or `clusterTemplateId`. */
  private clusterTemplate(name: string, settings: OpenStackClusterSettings): pulumi.Input<string> {
    const template = settings.template;
    if (template === undefined) {
      if (settings.clusterTemplateId !== undefined) return settings.clusterTemplateId;
      // Unreachable: validate() refuses this first.
      throw new Error(`OpenStackCluster ${name}: neither clusterTemplateId nor template is set`);
    }
    return new openstack.containerinfra.ClusterTemplate(
      `${name}-template`,
      {
        coe: template.coe,
        image: template.image,
        externalNetworkId: template.externalNetworkId,
        masterFlavor: template.masterFlavor,
        flavor: template.flavor,
        networkDriver: template.networkDriver,
        dockerVolumeSize: template.dockerVolumeSize,
        dnsNameserver: template.dnsNameserver,
        labels: template.labels,
        // Magnum refuses master_count > 1 without a load balancer in front of the API servers.
        masterLbEnabled: settings.masterCount > 1,
      },
      { parent: this },
    ).id;
  }
}
