import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import {
  DEFAULT_CLUSTER_COE,
  DEFAULT_CLUSTER_CREATE_TIMEOUT_MINUTES,
  DEFAULT_CLUSTER_NETWORK_DRIVER,
  DEFAULT_MASTER_COUNT,
  DEFAULT_WORKER_COUNT,
} from "../defaults";
import { clusterTemplateProblems, magnumNodeNamePattern, nodeGroupNameProblems } from "./magnum-names";

/**
 * Magnum role of every GPU node group. The Heat driver labels the nodes `magnum.openstack.org/role=gpu`; the pool
 * itself is the node group's name (`magnum.openstack.org/nodegroup=<pool>`).
 */
export const GPU_NODE_GROUP_ROLE = "gpu";

/**
 * A Magnum cluster template gpushare creates.
 * @see https://www.pulumi.com/registry/packages/openstack/api-docs/containerinfra/clustertemplate/
 */
export interface ClusterTemplateArgs {
  /** Glance image of the cluster's nodes (e.g. a Fedora CoreOS image Magnum supports). */
  readonly image: string;
  /** Neutron network for floating IPs and the API load balancer. */
  readonly externalNetworkId: string;
  /** Nova flavor of the masters. */
  readonly masterFlavor: string;
  /** Nova flavor of the default (non-GPU) worker group. */
  readonly flavor: string;
  /**
   * Container orchestration engine.
   * @default "kubernetes"
   */
  readonly coe?: string;
  /**
   * The cluster network's driver.
   * @default "calico"
   */
  readonly networkDriver?: string;
  /**
   * GiB of the container volume of each node.
   * @default - Magnum's default.
   */
  readonly dockerVolumeSize?: number;
  /**
   * DNS server of the cluster's network.
   * @default - Magnum's default.
   */
  readonly dnsNameserver?: string;
  /**
   * Magnum labels of the template (`kube_tag`, `container_runtime`, `auto_scaling_enabled`, ...).
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * A node group of GPU nodes, all of one Nova flavor. Its name is the node group's name in Magnum, and the prefix of
 * its nodes' names.
 * @see https://www.pulumi.com/registry/packages/openstack/api-docs/containerinfra/nodegroup/
 */
export interface GpuNodeGroupArgs {
  /** The node group's name (gpushare: the pool's): unique in the cluster, and not one of Magnum's own groups. */
  readonly name: string;
  /** Nova flavor of the group's nodes (a GPU flavor). */
  readonly flavor: string;
  /**
   * Glance image of the group's nodes.
   * @default - the cluster template's.
   */
  readonly image?: string;
  /** Node bounds for Magnum's cluster autoscaler. */
  readonly nodes: {
    readonly min: number;
    readonly max: number;
    /**
     * Nodes at creation; afterwards, between min and max, the count is the autoscaler's.
     * @default - `min`, at least 1.
     */
    readonly initial?: number;
  };
}

export interface OpenStackClusterArgs {
  /**
   * An existing Magnum cluster template, by id. Give exactly one of `clusterTemplateId` and `template`.
   * @see https://www.pulumi.com/registry/packages/openstack/api-docs/containerinfra/cluster/
   */
  readonly clusterTemplateId?: string;
  /** A cluster template gpushare creates. Give exactly one of `clusterTemplateId` and `template`. */
  readonly template?: ClusterTemplateArgs;
  /**
   * Nova keypair installed on the nodes.
   * @default - none.
   */
  readonly keypair?: string;
  /**
   * Masters; odd, so that etcd keeps quorum. Above 1, the template puts a load balancer in front of them.
   * @default 1
   */
  readonly masterCount?: number;
  /**
   * Nodes of the default worker group, which runs system workloads (Prometheus, the adapter, operator controllers).
   * @default 1
   */
  readonly workerCount?: number;
  /**
   * Neutron network of the nodes.
   * @default - a network Magnum creates.
   */
  readonly fixedNetwork?: string;
  /**
   * Neutron subnet of the nodes, in `fixedNetwork`.
   * @default - a subnet Magnum creates.
   */
  readonly fixedSubnet?: string;
  /**
   * Minutes Magnum may take to create the cluster or a node group.
   * @default 60
   */
  readonly createTimeoutMinutes?: number;
  /** The GPU node groups, created one at a time in this order. */
  readonly nodeGroups: readonly GpuNodeGroupArgs[];
}

function validate(name: string, args: OpenStackClusterArgs): void {
  const errors: { propertyPath: string; reason: string }[] = [];
  for (const reason of clusterTemplateProblems(args)) errors.push({ propertyPath: "clusterTemplateId", reason });
  for (const reason of nodeGroupNameProblems(args.nodeGroups.map((g) => g.name))) {
    errors.push({ propertyPath: "nodeGroups", reason });
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
 * group for system workloads and the GPU node groups. OpenStack credentials come from the provider's
 * configuration or the `OS_*` environment, never from here.
 */
export class OpenStackCluster extends pulumi.ComponentResource {
  /** Raw kubeconfig of the cluster (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly clusterName: pulumi.Output<string>;
  /** Node-group name → regular expression matching the names of that group's nodes. */
  public readonly nodeNamePatterns: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: OpenStackClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before super(): bad arguments register nothing, not even the component.
    validate(name, args);
    super("gpushare:cloud:OpenStackCluster", name, args, opts);
    const masterCount = args.masterCount ?? DEFAULT_MASTER_COUNT;
    const createTimeoutMinutes = args.createTimeoutMinutes ?? DEFAULT_CLUSTER_CREATE_TIMEOUT_MINUTES;
    // Magnum may take up to createTimeoutMinutes; the provider must wait as long instead of its own default.
    const createTimeout = `${createTimeoutMinutes}m`;

    const clusterTemplateId = this.clusterTemplate(name, args, masterCount);

    const cluster = new openstack.containerinfra.Cluster(
      `${name}-magnum`,
      {
        clusterTemplateId,
        masterCount,
        // The default worker group (system workloads: Prometheus, the adapter, operator controllers) takes the
        // template's flavor. Not repeated here: a cluster's flavor forces a new cluster, a template's does not.
        nodeCount: args.workerCount ?? DEFAULT_WORKER_COUNT,
        keypair: args.keypair,
        fixedNetwork: args.fixedNetwork,
        fixedSubnet: args.fixedSubnet,
        createTimeout: createTimeoutMinutes,
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
    for (const group of args.nodeGroups) {
      const { min, max } = group.nodes;
      const nodeGroup = new openstack.containerinfra.NodeGroup(
        `${name}-${group.name}`,
        {
          clusterId: cluster.id,
          // The node name pattern depends on it, and Magnum keeps node-group names unique per cluster.
          name: group.name,
          role: GPU_NODE_GROUP_ROLE,
          flavorId: group.flavor,
          imageId: group.image,
          nodeCount: group.nodes.initial ?? Math.max(min, 1),
          minNodeCount: min,
          maxNodeCount: max,
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
          ...(min < max ? { ignoreChanges: ["nodeCount"] } : {}),
          customTimeouts: { create: createTimeout },
          // One at a time: concurrent node-group creation is reported to fail in Magnum
          // (https://bugs.launchpad.net/magnum/+bug/2097946).
          ...(previous === undefined ? {} : { dependsOn: [previous] }),
        },
      );
      previous = nodeGroup;
      this.nodeNamePatterns[group.name] = pulumi
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
  private clusterTemplate(name: string, args: OpenStackClusterArgs, masterCount: number): pulumi.Input<string> {
    const template = args.template;
    if (template === undefined) {
      if (args.clusterTemplateId !== undefined) return args.clusterTemplateId;
      // Unreachable: validate() refuses this first.
      throw new Error(`OpenStackCluster ${name}: neither clusterTemplateId nor template is set`);
    }
    return new openstack.containerinfra.ClusterTemplate(
      `${name}-template`,
      {
        coe: template.coe ?? DEFAULT_CLUSTER_COE,
        image: template.image,
        externalNetworkId: template.externalNetworkId,
        masterFlavor: template.masterFlavor,
        flavor: template.flavor,
        networkDriver: template.networkDriver ?? DEFAULT_CLUSTER_NETWORK_DRIVER,
        dockerVolumeSize: template.dockerVolumeSize,
        dnsNameserver: template.dnsNameserver,
        labels: { ...(template.labels ?? {}) },
        // Magnum refuses master_count > 1 without a load balancer in front of the API servers.
        masterLbEnabled: masterCount > 1,
      },
      { parent: this },
    ).id;
  }
}
