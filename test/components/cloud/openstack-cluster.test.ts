import { describe, expect, it } from "vitest";
import {
  magnumNodeGroupStackPrefix,
  magnumNodeNamePattern,
  nodeGroupNameProblems,
} from "../../../components/cloud/magnum-names";
import {
  GPU_NODE_GROUP_ROLE,
  OpenStackCluster,
  type OpenStackClusterArgs,
} from "../../../components/cloud/openstack-cluster";
import { GpuInferencePlatform } from "../../../stacks/platform";
import { isSecret, ofType, one, resolve, runFailing, runProgram, stackFileConfig } from "../../helpers";

const CLUSTER = "openstack:containerinfra/cluster:Cluster";
const TEMPLATE = "openstack:containerinfra/clusterTemplate:ClusterTemplate";
const NODE_GROUP = "openstack:containerinfra/nodeGroup:NodeGroup";
const COMPONENT = "gpushare:cloud:OpenStackCluster";

/** The kubeconfig scripts/mock-runtime.ts returns as a Magnum cluster's `kubeconfig.raw_config`. */
function mockRawConfig(clusterName: string): string {
  return (
    `apiVersion: v1\nkind: Config\nclusters:\n- name: ${clusterName}\n  cluster:\n    server: https://192.0.2.10:6443\n` +
    `contexts:\n- name: ${clusterName}\n  context: {cluster: ${clusterName}, user: admin}\n` +
    `current-context: ${clusterName}\nusers:\n- name: admin\n  user: {token: mock-token}\n`
  );
}

/** The value inside a secret the mock monitor recorded as a resource input; fails when the input is not secret. */
function secretValue(input: unknown): unknown {
  const envelope = input as Record<string, unknown>;
  expect(envelope["4dabf18193072939515e22adb298388d"]).toBe("1b47061264138c4ac30d75fd1eb44270");
  return envelope.value;
}

/** The message a program fails with; fails the test when it does not. */
async function failureOf(program: () => void): Promise<string> {
  return runProgram(program).then(
    () => {
      throw new Error("the program did not fail");
    },
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );
}

/** Three masters behind a load balancer, two workers and two fixed-size GPU node groups, on a template of its own. */
const CLUSTER_ARGS: OpenStackClusterArgs = {
  template: {
    image: "ubuntu-2204-kube-v1.30.4",
    externalNetworkId: "public",
    masterFlavor: "m1.large",
    flavor: "m1.xlarge",
    labels: { kube_tag: "v1.30.4" },
  },
  keypair: "gpushare-prod",
  masterCount: 3,
  workerCount: 2,
  nodeGroups: [
    { name: "a100", flavor: "gpu.a100.1", nodes: { min: 1, max: 1 } },
    { name: "t4", flavor: "gpu.t4.1", nodes: { min: 1, max: 1 } },
  ],
};

function buildCluster(
  args: OpenStackClusterArgs,
  name = "c",
): { component: () => OpenStackCluster | undefined; program: () => void } {
  let component: OpenStackCluster | undefined;
  return {
    component: () => component,
    program: () => {
      component = new OpenStackCluster(name, args);
    },
  };
}

describe("magnumNodeNamePattern", () => {
  // Names as Magnum's Heat driver gives them: "<cluster[:20]>-<nodegroup[:9]>-<short id>-node-<index>".
  it.each([
    ["gpushare-cluster-magnum-1a2b3c4", "a100", "gpushare-cluster-mag-a100-abcdefgh2345-node-0", true],
    ["gpushare-cluster-magnum-1a2b3c4", "a100", "gpushare-cluster-mag-a100-abcdefgh2345-node-12", true],
    ["gpushare-cluster-magnum-1a2b3c4", "a100", "gpushare-cluster-mag-a100-abcdefgh2345-node-0.novalocal", true],
    ["gpushare-cluster-magnum-1a2b3c4", "a100", "gpushare-cluster-mag-t4-abcdefgh2345-node-0", false],
    ["gpushare-cluster-magnum-1a2b3c4", "a100", "gpushare-cluster-mag-a100-big-abcdefgh2345-node-0", false],
    ["gpushare-cluster-magnum-1a2b3c4", "a100", "gpushare-cluster-magnum-1a2b3c-abcdefgh2345-node-0", false],
    ["gpushare-cluster-magnum-1a2b3c4", "a100", "gpushare-cluster-magnum-1a2b3c-abcdefgh2345-master-0", false],
    ["gpushare-cluster-magnum-1a2b3c4", "a100", "x-gpushare-cluster-mag-a100-abcdefgh2345-node-0", false],
    ["gpushare-cluster-magnum-1a2b3c4", "a100-balanced", "gpushare-cluster-mag-a100-bala-abcdefgh2345-node-0", true],
    ["My_Cluster.v2", "t4", "my-cluster-v2-t4-abcdefgh2345-node-3", true],
  ])("cluster %s, node group %s: %s matches: %s", (cluster, nodeGroup, node, matches) => {
    expect(new RegExp(magnumNodeNamePattern(cluster, nodeGroup)).test(node)).toBe(matches);
  });

  it("keeps 20 characters of the cluster and 9 of the node group, cleaned and lowercased", () => {
    expect(magnumNodeGroupStackPrefix("Prod_GPU.cluster-magnum-1234567", "a100_balanced")).toBe(
      "prod-gpu-cluster-mag-a100-bala",
    );
    expect(magnumNodeNamePattern("c-magnum", "t4")).toBe("^c-magnum-t4-[a-z0-9]+-node-[0-9]+(\\..+)?$");
  });
});

describe("nodeGroupNameProblems", () => {
  it("accepts node groups whose first 9 characters differ", () => {
    expect(nodeGroupNameProblems(["a100", "t4", "a100-small", "a100-large"])).toEqual([]);
  });

  it("fails when two node groups share their first 9 characters", () => {
    expect(nodeGroupNameProblems(["t4-shared-a", "t4", "t4-shared-b"])).toEqual([
      'nodeGroups: "t4-shared-a", "t4-shared-b" start with the same 9 characters ("t4-shared"), the only part of a node group\'s name Magnum keeps in node names; rename them so their first 9 characters differ',
    ]);
  });

  it("fails when a node group takes the name of a Magnum default node group", () => {
    expect(nodeGroupNameProblems(["default-worker"])).toEqual([
      'nodeGroups.default-worker: "default-worker" is the name of a node group Magnum creates with every cluster; rename the node group',
    ]);
  });

  it("names the caller's paths and words", () => {
    expect(nodeGroupNameProblems(["default-master"], { list: "gpuPools", noun: "pool" })).toEqual([
      'gpuPools.default-master: "default-master" is the name of a node group Magnum creates with every cluster; rename the pool',
    ]);
  });
});

describe("OpenStackCluster", () => {
  it("creates the template, the cluster and the node groups with their flavors and counts", async () => {
    const { program } = buildCluster(CLUSTER_ARGS);
    const resources = await runProgram(program);
    const component = one(resources, COMPONENT);
    for (const r of [...ofType(resources, TEMPLATE), ...ofType(resources, CLUSTER), ...ofType(resources, NODE_GROUP)]) {
      expect(r.parent).toBe(component.urn);
      expect(r.name.startsWith("c-")).toBe(true);
    }

    expect(one(resources, TEMPLATE, "c-template").inputs).toEqual({
      coe: "kubernetes",
      image: "ubuntu-2204-kube-v1.30.4",
      externalNetworkId: "public",
      masterFlavor: "m1.large",
      flavor: "m1.xlarge",
      networkDriver: "calico",
      labels: { kube_tag: "v1.30.4" },
      masterLbEnabled: true,
    });

    const cluster = one(resources, CLUSTER, "c-magnum");
    // clusterTemplateId is the template's id, unknown in a preview.
    const { clusterTemplateId, ...clusterInputs } = cluster.inputs;
    expect(clusterTemplateId).toBeDefined();
    expect(cluster.dependencies).toContain(one(resources, TEMPLATE).urn);
    expect(clusterInputs).toEqual({ masterCount: 3, nodeCount: 2, keypair: "gpushare-prod", createTimeout: 60 });

    const groups = ofType(resources, NODE_GROUP);
    expect(groups.map((g) => g.name)).toEqual(["c-a100", "c-t4"]);
    const byName = Object.fromEntries(
      groups.map((g) => {
        const { clusterId, ...inputs } = g.inputs;
        expect(clusterId).toBeDefined();
        expect(g.dependencies).toContain(cluster.urn);
        return [g.name, inputs];
      }),
    );
    expect(byName).toEqual({
      "c-a100": {
        name: "a100",
        role: GPU_NODE_GROUP_ROLE,
        flavorId: "gpu.a100.1",
        nodeCount: 1,
        minNodeCount: 1,
        maxNodeCount: 1,
        mergeLabels: true,
      },
      "c-t4": {
        name: "t4",
        role: "gpu",
        flavorId: "gpu.t4.1",
        nodeCount: 1,
        minNodeCount: 1,
        maxNodeCount: 1,
        mergeLabels: true,
      },
    });
    // Fixed-size groups keep their node count managed; node groups are created one after another.
    expect(groups.map((g) => g.ignoreChanges)).toEqual([[], []]);
    expect(one(resources, NODE_GROUP, "c-t4").dependencies).toContain(one(resources, NODE_GROUP, "c-a100").urn);
  });

  it("outputs the cluster's raw kubeconfig as a secret, its name and a node name pattern per node group", async () => {
    const { program, component } = buildCluster(CLUSTER_ARGS);
    await runProgram(program);
    const cluster = component();
    if (cluster === undefined) throw new Error("no component");
    expect(await isSecret(cluster.kubeconfig)).toBe(true);
    expect(await resolve(cluster.kubeconfig)).toBe(mockRawConfig("c-magnum"));
    expect(await resolve(cluster.clusterName)).toBe("c-magnum");
    expect(Object.keys(cluster.nodeNamePatterns)).toEqual(["a100", "t4"]);
    expect(await resolve(cluster.nodeNamePatterns.a100)).toBe("^c-magnum-a100-[a-z0-9]+-node-[0-9]+(\\..+)?$");
    expect(await resolve(cluster.nodeNamePatterns.t4)).toBe("^c-magnum-t4-[a-z0-9]+-node-[0-9]+(\\..+)?$");
  });

  it("leaves an autoscaled group's node count to the autoscaler after creation and sets the group's image", async () => {
    const args: OpenStackClusterArgs = {
      ...CLUSTER_ARGS,
      masterCount: 1,
      nodeGroups: [
        { name: "t4", flavor: "gpu.t4.1", image: "ubuntu-22.04-nvidia", nodes: { min: 1, max: 4, initial: 2 } },
      ],
    };
    const resources = await runProgram(buildCluster(args).program);
    const group = one(resources, NODE_GROUP, "c-t4");
    expect(group.inputs).toMatchObject({
      imageId: "ubuntu-22.04-nvidia",
      nodeCount: 2,
      minNodeCount: 1,
      maxNodeCount: 4,
    });
    expect(group.ignoreChanges).toEqual(["nodeCount"]);
    expect(one(resources, TEMPLATE).inputs.masterLbEnabled).toBe(false);
  });

  it("uses an existing cluster template by id and creates none, with one master and one worker by default", async () => {
    const resources = await runProgram(
      buildCluster({
        clusterTemplateId: "tmpl-42",
        fixedNetwork: "net-1",
        fixedSubnet: "subnet-1",
        nodeGroups: [{ name: "t4", flavor: "gpu.t4.1", nodes: { min: 0, max: 3 } }],
      }).program,
    );
    expect(ofType(resources, TEMPLATE)).toEqual([]);
    expect(one(resources, CLUSTER).inputs).toEqual({
      clusterTemplateId: "tmpl-42",
      masterCount: 1,
      nodeCount: 1,
      fixedNetwork: "net-1",
      fixedSubnet: "subnet-1",
      createTimeout: 60,
    });
    // Without `initial`, a group starts at its minimum but with at least one node.
    expect(one(resources, NODE_GROUP).inputs).toMatchObject({ nodeCount: 1, minNodeCount: 0, maxNodeCount: 3 });
  });

  it("creates the template with Magnum's Kubernetes defaults when the template leaves them out", async () => {
    const { template } = CLUSTER_ARGS;
    if (template === undefined) throw new Error("CLUSTER_ARGS has no template");
    const resources = await runProgram(
      buildCluster({ ...CLUSTER_ARGS, masterCount: 1, template: { ...template, labels: undefined } }).program,
    );
    expect(one(resources, TEMPLATE).inputs).toEqual({
      coe: "kubernetes",
      image: "ubuntu-2204-kube-v1.30.4",
      externalNetworkId: "public",
      masterFlavor: "m1.large",
      flavor: "m1.xlarge",
      networkDriver: "calico",
      labels: {},
      masterLbEnabled: false,
    });
  });

  it("records its arguments as the component's inputs", async () => {
    const resources = await runProgram(buildCluster(CLUSTER_ARGS).program);
    expect(one(resources, COMPONENT).inputs).toEqual(CLUSTER_ARGS);
  });

  it("fails when two node groups cannot be told apart by node name", async () => {
    const group = (name: string, flavor: string) => ({ name, flavor, nodes: { min: 1, max: 1 } });
    const args = { ...CLUSTER_ARGS, nodeGroups: [group("t4-shared-a", "gpu.t4.1"), group("t4-shared-b", "gpu.t4.2")] };
    expect(await failureOf(buildCluster(args).program)).toBe(
      'OpenStackCluster c: nodeGroups: "t4-shared-a", "t4-shared-b" start with the same 9 characters ("t4-shared"), the only part of a node group\'s name Magnum keeps in node names; rename them so their first 9 characters differ',
    );
  });

  it.each([
    ["neither", { template: undefined }, "it has neither"],
    ["both", { clusterTemplateId: "tmpl-42" }, "it has both"],
  ])("fails when %s of a template and a template id are given, registering nothing", async (_, change, what) => {
    const { error, resources } = await runFailing(buildCluster({ ...CLUSTER_ARGS, ...change }).program);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      `OpenStackCluster c: give exactly one of clusterTemplateId (an existing Magnum template) or template (one gpushare creates); ${what}`,
    );
    expect(resources).toEqual([]);
  });
});

describe("the prod platform on OpenStack", () => {
  it("registers the cluster, both node groups, the share and its access rule, and talks to the cluster it creates", async () => {
    const config = stackFileConfig("prod");
    const resources = await runProgram(() => new GpuInferencePlatform("gpushare", { config }));

    const cluster = one(resources, CLUSTER, "gpushare-cluster-magnum");
    one(resources, TEMPLATE, "gpushare-cluster-template");
    expect(ofType(resources, NODE_GROUP).map((g) => [g.name, g.inputs.name, g.inputs.flavorId])).toEqual([
      ["gpushare-cluster-a100", "a100", "gpu.a100.1"],
      ["gpushare-cluster-t4", "t4", "gpu.t4.1"],
    ]);

    const share = one(resources, "openstack:sharedfilesystem/share:Share", "gpushare-models-share");
    expect(share.inputs).toMatchObject({ shareProto: "NFS", size: 100, shareType: "default" });
    expect(share.protect).toBe(true);
    const access = one(resources, "openstack:sharedfilesystem/shareAccess:ShareAccess", "gpushare-models-access");
    // In OpenStack mode the share admits the cluster's node subnet and nothing wider.
    expect(access.inputs).toMatchObject({ accessType: "ip", accessTo: "10.0.0.0/24", accessLevel: "rw" });

    // Both Kubernetes providers (the main one and the GPU operator ConfigMaps' one) talk to the new cluster.
    const providers = ofType(resources, "pulumi:providers:kubernetes");
    expect(providers.map((p) => p.name).sort()).toEqual(["gpushare-gpu-operator-configmaps", "gpushare-k8s"]);
    for (const provider of providers) {
      expect(secretValue(provider.inputs.kubeconfig)).toBe(mockRawConfig("gpushare-cluster-magnum"));
      expect(provider.dependencies).toContain(cluster.urn);
    }
  });
});
