import { describe, expect, it } from "vitest";
import { parseStackSettings } from "../../../stacks/config/parse";
import { settingsProblemsOf as problemsOf } from "../../support/config";

/**
 * The battery of bad inputs: one row per case, each a whole stack's settings (namespaced keys, as Pulumi holds them)
 * and the one message it must get — path, value, what is allowed, the fix. Nothing is created for any of them: the
 * program, `capacity` and `render` all stop at this validation.
 */

const T4_POOL = { gpu: "T4", nodes: { min: 1, max: 1 } };
const NFS = { nfs: { server: "10.0.0.5", path: "/models" } };

/** A valid existing-cluster stack with one T4 pool and one server, `overrides` merged over its gpushare: keys. */
function stack(overrides: Record<string, unknown> = {}, others: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    "gpushare:gpuPools": { t4: T4_POOL },
    "gpushare:modelStore": NFS,
    "gpushare:servers": { triton: { pool: "t4" } },
  };
  for (const [k, v] of Object.entries(overrides)) base[`gpushare:${k}`] = v;
  return { ...base, ...others };
}

const OPENSTACK = {
  kind: "openstack",
  openstack: { clusterTemplateId: "tpl", nodeSubnetCidr: "10.0.0.0/24" },
};

describe("bad inputs, each refused with one message", () => {
  it("accepts the base stack", () => {
    expect(() => parseStackSettings({ config: stack(), secretKeys: new Set() })).not.toThrow();
  });

  it.each<[string, Record<string, unknown>, string]>([
    // Security
    [
      "an access rule for half the internet",
      stack({ modelStore: { manila: { sizeGiB: 10, accessCidr: "0.0.0.0/1" } } }),
      'modelStore.manila.accessCidr: "0.0.0.0/1" admits 2^31 addresses, far more than a subnet of nodes; use a prefix of /8 or longer, e.g. 10.0.0.0/24',
    ],
    [
      "every IPv4 address in mapped form",
      stack({
        cluster: { ...OPENSTACK, openstack: { ...OPENSTACK.openstack, nodeSubnetCidr: "::ffff:0.0.0.0/96" } },
        gpuPools: { t4: { ...T4_POOL, flavor: "g" } },
      }),
      `cluster.openstack.nodeSubnetCidr: "::ffff:0.0.0.0/96" admits 2^32 IPv4 addresses in mapped form, far more than a subnet of nodes; use a prefix of /104 or longer, e.g. 10.0.0.0/24`,
    ],
    [
      "an IPv6 range that holds the mapped IPv4 addresses",
      stack({ modelStore: { manila: { sizeGiB: 10, accessCidr: "::/64" } } }),
      `modelStore.manila.accessCidr: "::/64" covers every IPv4 address in IPv4-mapped form (::ffff:0:0/96); write the nodes' IPv4 subnet as IPv4, e.g. 10.0.0.0/24`,
    ],
    [
      "a kubeconfig with a token in the Kubernetes provider's plain config",
      stack({}, { "kubernetes:kubeconfig": "apiVersion: v1\nusers:\n- user: {token: abc}\n" }),
      "kubernetes:kubeconfig: a kubeconfig's content in plain text in the stack file (it holds tokens or keys); encrypt it: run pulumi config set --secret kubernetes:kubeconfig < path/to/kubeconfig, or give a path to the file instead",
    ],
    // Silent loss
    [
      "a key one capital letter off the program's namespace",
      { ...stack(), "Gpushare:servers": { other: { pool: "t4" } } },
      `"Gpushare:servers": no part of this stack reads the namespace "Gpushare", so the value would be ignored; did you mean "gpushare:servers"? gpushare reads gpushare:, its providers openstack:, kubernetes:, random:, tls:, and Pulumi pulumi:`,
    ],
    [
      "a provider namespace misspelled",
      { ...stack(), "opnestack:authUrl": "https://keystone.example:5000/v3" },
      `"opnestack:authUrl": no part of this stack reads the namespace "opnestack", so the value would be ignored; did you mean "openstack:authUrl"? gpushare reads gpushare:, its providers openstack:, kubernetes:, random:, tls:, and Pulumi pulumi:`,
    ],
    [
      "a key that starts with its colon",
      { ...stack(), ":servers": {} },
      `":servers": no part of this stack reads the namespace "", so the value would be ignored; did you mean "gpushare:servers"? gpushare reads gpushare:, its providers openstack:, kubernetes:, random:, tls:, and Pulumi pulumi:`,
    ],
    // The closest namespace by edit distance, where a cruder measure picks another.
    ...[
      ["stack", "openstack"],
      ["pului", "pulumi"],
      ["pulumo", "pulumi"],
      ["opnstack", "openstack"],
    ].map(([namespace, closest]): [string, Record<string, unknown>, string] => [
      `the namespace ${namespace}`,
      { ...stack(), [`${namespace}:x`]: "1" },
      `"${namespace}:x": no part of this stack reads the namespace "${namespace}", so the value would be ignored; did you mean "${closest}:x"? gpushare reads gpushare:, its providers openstack:, kubernetes:, random:, tls:, and Pulumi pulumi:`,
    ]),
    // Values Kubernetes refuses at apply time
    [
      "a label key with a space and a bang",
      stack({ gpuPools: { t4: { ...T4_POOL, nodeSelector: { "bad key!": "x" } } } }),
      'gpuPools.t4.nodeSelector: key "bad key!" is not a Kubernetes label or annotation key; use an optional DNS subdomain prefix and "/", then at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit (e.g. example.com/node-group)',
    ],
    [
      "a 72-character label value",
      stack({
        monitoring: { installed: true, prometheusUrl: "http://p:9090", monitorLabels: { release: "x".repeat(72) } },
      }),
      'monitoring.monitorLabels.release: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…" (72 characters) is not a Kubernetes label value; use at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, or ""',
    ],
    [
      "an annotation key that is not one",
      stack({ servers: { triton: { pool: "t4", service: { annotations: { "a/b/c": "x" } } } } }),
      'servers.triton.service.annotations: key "a/b/c" has more than one "/"; use an optional DNS subdomain prefix and "/", then at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit (e.g. example.com/node-group)',
    ],
    [
      "5 MB of annotations",
      stack({ servers: { triton: { pool: "t4", service: { annotations: { big: "x".repeat(5_000_000) } } } } }),
      "servers.triton.service.annotations: 5000003 bytes of annotations; Kubernetes takes at most 262144 (256 KiB) per object, keys and values together; keep large data in a ConfigMap",
    ],
    [
      "a server name that cannot name a Service",
      stack({ servers: { "9triton": { pool: "t4" } } }),
      'servers: "9triton" cannot name a Kubernetes Service; use a DNS-1035 label: lowercase letters, digits and "-", starting with a letter, at most 63 characters',
    ],
    [
      "a CPU request that is not a quantity",
      stack({ servers: { triton: { pool: "t4", resources: { cpu: "lots" } } } }),
      'servers.triton.resources.cpu: "lots" is not a Kubernetes quantity; use a number with an optional suffix (Ki, Mi, Gi, m, k, M, G, ...), e.g. "1" or "500m"',
    ],
    [
      "a relative NFS path",
      stack({ modelStore: { nfs: { server: "10.0.0.5", path: "models" } } }),
      'modelStore.nfs.path: "models" is not allowed; give the export\'s absolute path as the server exports it, without ".", ".." or control characters (e.g. /exports/models)',
    ],
    [
      "an NFS server given as a URL",
      stack({ modelStore: { nfs: { server: "nfs://10.0.0.5", path: "/models" } } }),
      'modelStore.nfs.server: "nfs://10.0.0.5" is not a host name or IP address (no scheme: the kubelet mounts server:path); give the server alone, e.g. nfs.example.internal or 10.0.0.5, and the export under modelStore.nfs.path',
    ],
    [
      "a newline in an NFS path",
      stack({ modelStore: { nfs: { server: "10.0.0.5", path: "/models\n/etc" } } }),
      'modelStore.nfs.path: "/models\\n/etc" is not allowed; give the export\'s absolute path as the server exports it, without ".", ".." or control characters (e.g. /exports/models)',
    ],
    // Unbounded counts and sizes
    [
      "100000 system workers",
      stack({
        cluster: { ...OPENSTACK, openstack: { ...OPENSTACK.openstack, workerCount: 100000 } },
        gpuPools: { t4: { ...T4_POOL, flavor: "g" } },
      }),
      "cluster.openstack.workerCount: 100000 is not allowed; use a whole number from 1 to 5000 for the system node group (Kubernetes supports at most 5000 nodes per cluster)",
    ],
    [
      "10001 control-plane nodes",
      stack({
        cluster: { ...OPENSTACK, openstack: { ...OPENSTACK.openstack, masterCount: 10001 } },
        gpuPools: { t4: { ...T4_POOL, flavor: "g" } },
      }),
      "cluster.openstack.masterCount: 10001 is not allowed; use an odd whole number from 1 to 7 (1, 3, 5 or 7) so etcd keeps quorum (etcd advises at most 7 members)",
    ],
    [
      "a share of 1e12 GiB",
      stack({ modelStore: { manila: { sizeGiB: 1e12, accessCidr: "10.0.0.0/24" } } }),
      "modelStore.manila.sizeGiB: 1000000000000 is not allowed; Manila shares are whole GiB, from 1 to 1048576 (1 PiB, far past any model repository and Manila's default project quota of 1000 GiB)",
    ],
    [
      "two pools of 5000 nodes each in one cluster",
      stack({
        gpuPools: {
          t4: { ...T4_POOL, nodes: { min: 1, max: 5000 } },
          l4: { gpu: "L4", nodes: { min: 1, max: 5000 } },
        },
      }),
      "gpuPools: gpuPools.t4.nodes.max 5000 + gpuPools.l4.nodes.max 5000 = 10000 nodes, but Kubernetes supports at most 5000 nodes per cluster; lower nodes.max of the pools",
    ],
    // Values that defeat pinning
    [
      "an empty chart version",
      stack({ gpuOperator: { chartVersion: "" } }),
      'gpuOperator.chartVersion: "" is not a chart version; pin an exact SemVer version (e.g. the default), since an empty or loose one lets Helm pick whatever is newest',
    ],
    [
      "a chart repository that is not a URL",
      stack({ gpuOperator: { repository: "not a url" } }),
      'gpuOperator.repository: "not a url" is not a Helm repository URL; use an https:// chart repository or an oci:// registry path (e.g. the default)',
    ],
  ])("refuses %s", (_, config, message) => {
    expect(problemsOf(config)).toEqual([message]);
  });

  it.each<[string, Record<string, unknown>]>([
    ["a kubeconfig path in the Kubernetes provider's config", stack({}, { "kubernetes:kubeconfig": "~/.kube/config" })],
    // Only text is a kubeconfig's content; a list is not, whatever its items say.
    ["a kubeconfig that is not text", stack({}, { "kubernetes:kubeconfig": ["token"] })],
    ["Pulumi's own namespace", stack({}, { "pulumi:tags": { team: "ml" } })],
    ["a label with a prefix", stack({ gpuPools: { t4: { ...T4_POOL, nodeSelector: { "example.com/group": "t4" } } } })],
    ["an IPv6 node subnet", stack({ modelStore: { manila: { sizeGiB: 10, accessCidr: "2001:db8::/48" } } })],
    ["an oci:// chart repository", stack({ gpuOperator: { repository: "oci://registry.example/charts" } })],
    [
      "quantities with suffixes",
      stack({ servers: { triton: { pool: "t4", resources: { cpu: "1500m", memory: "1.5Gi" } } } }),
    ],
  ])("accepts %s", (_, config) => {
    expect(() => parseStackSettings({ config, secretKeys: new Set() })).not.toThrow();
  });

  it("accepts a kubeconfig's content held as a secret", () => {
    const config = stack({}, { "kubernetes:kubeconfig": "apiVersion: v1\nusers:\n- user: {token: abc}\n" });
    expect(() => parseStackSettings({ config, secretKeys: new Set(["kubernetes:kubeconfig"]) })).not.toThrow();
  });
});

describe("every problem at once", () => {
  it("reports a type error and, beside it, the problems of the parts that parse", () => {
    const problems = problemsOf(
      stack({
        gpuPools: { t4: { ...T4_POOL, timeSlicing: { replicas: "4" } }, l4: { gpu: "L5", nodes: { min: 1, max: 1 } } },
        servers: { triton: { pool: "t4" }, other: { pool: "l4", image: "NVCR.io/x:1" } },
      }),
    );
    expect(problems).toEqual([
      'gpuPools.t4.timeSlicing.replicas: "4" is not allowed (a number or a mapping, not a string); set gpuPools.t4.timeSlicing.replicas in the stack file to a number or a mapping',
      'gpuPools.l4.gpu: "L5" is not a known GPU model; use one of A100-SXM4-40GB, A100-80GB, H100-80GB, H200-141GB, A30-24GB, T4, L4, A10, A40, L40S, V100-16GB, V100-32GB',
      'servers.other.image: "NVCR.io/x:1" is not an image reference: the registry and repository must be lowercase; use "nvcr.io/x:1"',
    ]);
  });

  it("says nothing more about a server whose pool has the type error", () => {
    expect(problemsOf(stack({ gpuPools: { t4: { ...T4_POOL, gpusPerNode: "1" } } }))).toEqual([
      'gpuPools.t4.gpusPerNode: "1" is not allowed (a number, not a string); set gpuPools.t4.gpusPerNode in the stack file to a number',
    ]);
  });
});

describe("the rules at their edges", () => {
  const nfs = (server: string, path = "/models") => problemsOf(stack({ modelStore: { nfs: { server, path } } }));
  const accepts = (config: Record<string, unknown>) =>
    expect(() => parseStackSettings({ config, secretKeys: new Set() })).not.toThrow();

  it.each(["nfs.example.internal", "nfs-1", "NFS01.corp", "10.0.0.5", "fd00::5", `${"a".repeat(63)}.b`])(
    "accepts the NFS server %j",
    (server) => accepts(stack({ modelStore: { nfs: { server, path: "/models" } } })),
  );

  it.each<[string, boolean]>([
    ["nfs://10.0.0.5", true],
    ["NFS+TCP://host", true],
    ["10.0.0.5:/models", false],
    ["-host", false],
    ["host-", false],
    ["a..b", false],
    ["a_b", false],
    ["a_b://c", false],
    [`${"a".repeat(250)}.com`, false],
  ])("refuses the NFS server %j", (server, scheme) => {
    expect(nfs(server)).toEqual([
      `modelStore.nfs.server: ${JSON.stringify(server).length > 62 ? `"${server.slice(0, 59)}…" (${server.length} characters)` : JSON.stringify(server)} is not a host name or IP address${scheme ? " (no scheme: the kubelet mounts server:path)" : ""}; give the server alone, e.g. nfs.example.internal or 10.0.0.5, and the export under modelStore.nfs.path`,
    ]);
  });

  it.each(["/", "/exports/models", "/a.b/..c/d..", "/srv/nfs/share-3010a65e"])("accepts the NFS path %j", (path) =>
    accepts(stack({ modelStore: { nfs: { server: "10.0.0.5", path } } })),
  );

  it.each(["/a/../b", "/a/./b", "/a/..", "/a\tb", "/a\u007fb", "models/"])("refuses the NFS path %j", (path) => {
    expect(nfs("10.0.0.5", path)).toEqual([
      `modelStore.nfs.path: ${JSON.stringify(path)} is not allowed; give the export's absolute path as the server exports it, without ".", ".." or control characters (e.g. /exports/models)`,
    ]);
  });

  it.each(["v26.7.0", "88.5.3", "0.1.0", "1.0.0-rc.1+build.5", "2.3.4-alpha-1", "1.10.0-rc.12+build.5.ab"])(
    "accepts the chart version %j",
    (chartVersion) => accepts(stack({ monitoring: { chartVersion } })),
  );

  it.each(["26.7", "latest", "01.2.3", "^1.2.3", "1.2.3.4", "v", "1.2.3-", "1.2.3+"])(
    "refuses the chart version %j",
    (chartVersion) => {
      expect(problemsOf(stack({ metricsAdapter: { chartVersion } }))).toEqual([
        `metricsAdapter.chartVersion: ${JSON.stringify(chartVersion)} is not a chart version; pin an exact SemVer version (e.g. the default), since an empty or loose one lets Helm pick whatever is newest`,
      ]);
    },
  );

  it.each(["https://charts.example/x", "http://mirror.internal:8080/charts", "oci://registry.example/charts"])(
    "accepts the chart repository %j",
    (repository) => accepts(stack({ gpuOperator: { repository } })),
  );

  it.each(["ftp://charts.example", "https://", "charts.example/x", "file:///charts", "oci:registry.example/charts"])(
    "refuses the chart repository %j",
    (repository) => {
      expect(problemsOf(stack({ monitoring: { repository } }))).toEqual([
        `monitoring.repository: ${JSON.stringify(repository)} is not a Helm repository URL; use an https:// chart repository or an oci:// registry path (e.g. the default)`,
      ]);
    },
  );

  it("counts the control plane and the system workers with the pools toward 5000 nodes in OpenStack mode", () => {
    const openstack = (masterCount: number, workerCount: number) =>
      stack({
        cluster: { ...OPENSTACK, openstack: { ...OPENSTACK.openstack, masterCount, workerCount } },
        gpuPools: { t4: { ...T4_POOL, flavor: "g", nodes: { min: 1, max: 4990 } } },
      });
    accepts(openstack(3, 7));
    expect(problemsOf(openstack(3, 8))).toEqual([
      "gpuPools: gpuPools.t4.nodes.max 4990 + cluster.openstack.masterCount 3 + cluster.openstack.workerCount 8 = 5001 nodes, but Kubernetes supports at most 5000 nodes per cluster; lower nodes.max of the pools",
    ]);
    // A count that is wrong says so itself; it is not added up.
    expect(problemsOf(openstack(3, 1.5))).toEqual([
      "cluster.openstack.workerCount: 1.5 is not allowed; use a whole number from 1 to 5000 for the system node group (Kubernetes supports at most 5000 nodes per cluster)",
    ]);
  });

  it("adds up the pools alone in an existing cluster, at exactly 5000", () => {
    accepts(
      stack({
        gpuPools: {
          t4: { ...T4_POOL, nodes: { min: 0, max: 2500 } },
          l4: { gpu: "L4", nodes: { min: 0, max: 2500 } },
        },
      }),
    );
  });

  it.each<[string, unknown, string]>([
    ["a list", [4], "a list"],
    ["a mapping", { n: 4 }, "a mapping"],
    ["true", true, "a boolean"],
    ["null", null, "null"],
  ])("names what a number was given as: %s", (_, max, kind) => {
    expect(problemsOf(stack({ gpuPools: { t4: { ...T4_POOL, nodes: { min: 1, max } } } }))[0]).toBe(
      `gpuPools.t4.nodes.max: ${JSON.stringify(max)} is not allowed (a number, not ${kind}); set gpuPools.t4.nodes.max in the stack file to a number`,
    );
  });

  it("cuts a long mapping short in a message, and shows Infinity inside it as Infinity", () => {
    const profiles = {
      "1g.5gb": 7,
      "1g.10gb": 4,
      "2g.10gb": 3,
      "3g.20gb": 2,
      "4g.20gb": 1,
      "7g.40gb": 1,
      "1g.5gb+me": 1,
    };
    const [problem] = problemsOf(
      stack({ gpuPools: { t4: { gpu: "A100-SXM4-40GB", nodes: { min: 1, max: 1 }, mig: { profiles } } } }),
    );
    expect(problem).toBe(
      'gpuPools.t4.mig.profiles: {"1g.5gb":7,"1g.10gb":4,"2g.10gb":3,"3g.20gb":2,"4g.20gb":1,"7g.40gb":1,"1g.5… has no legal placement on A100-SXM4-40GB (instances overlap on its 8 memory slices or exceed its 7 compute slices); remove an instance or use a named layout such as all-balanced',
    );
    const [inf] = problemsOf(stack({ gpuPools: { t4: { ...T4_POOL, mig: { profiles: { "1g.5gb": Infinity } } } } }));
    expect(inf).toBe(
      "gpuPools.t4.mig.profiles.1g.5gb: Infinity is not allowed (a finite number, not Infinity); set gpuPools.t4.mig.profiles.1g.5gb in the stack file to a finite number",
    );
  });

  it("suggests the namespace for a key that has none", () => {
    expect(problemsOf({ ...stack(), servers: {} })).toEqual([
      `"servers": no part of this stack reads the namespace "", so the value would be ignored; did you mean "gpushare:servers"? gpushare reads gpushare:, its providers openstack:, kubernetes:, random:, tls:, and Pulumi pulumi:`,
    ]);
  });

  it("keeps checking the rest when a section has a type error, and drops an unknown key of an entry", () => {
    expect(
      problemsOf(
        stack({
          modelStore: 5,
          gpuPools: { t4: { ...T4_POOL, colour: "red", nodes: { min: 2, max: 1 } } },
        }),
      ),
    ).toEqual([
      'gpuPools.t4: unknown key "colour"; remove it or check the spelling against the README\'s config reference',
      "modelStore: 5 is not allowed (a mapping, not a number); set modelStore in the stack file to a mapping",
      "gpuPools.t4.nodes: min 2 is greater than max 1; raise nodes.max or lower nodes.min",
    ]);
  });

  it("accepts a share of exactly 1 PiB", () => {
    accepts(stack({ modelStore: { manila: { sizeGiB: 1024 * 1024, accessCidr: "10.0.0.0/24" } } }));
  });

  it("accepts 7 etcd members, and 5000 system workers that only the sum refuses", () => {
    const openstack = (masterCount: number, workerCount: number, max: number) =>
      stack({
        cluster: { ...OPENSTACK, openstack: { ...OPENSTACK.openstack, masterCount, workerCount } },
        gpuPools: { t4: { ...T4_POOL, flavor: "g", nodes: { min: 0, max } } },
      });
    accepts(openstack(7, 1, 1));
    expect(problemsOf(openstack(1, 5000, 1))).toEqual([
      "gpuPools: gpuPools.t4.nodes.max 1 + cluster.openstack.masterCount 1 + cluster.openstack.workerCount 5000 = 5002 nodes, but Kubernetes supports at most 5000 nodes per cluster; lower nodes.max of the pools",
    ]);
  });

  const pools = (third: unknown) =>
    stack({
      gpuPools: {
        t4: { ...T4_POOL, nodes: { min: 0, max: 2502 } },
        l4: { gpu: "L4", nodes: { min: 0, max: 2500 } },
        a10: { gpu: "A10", nodes: { min: 0, max: third } },
      },
    });
  it("adds a count of 0, which is wrong for its own reason, to the nodes of the cluster", () => {
    expect(problemsOf(pools(0))).toEqual([
      "gpuPools.a10.nodes.max: 0 is not allowed; use a whole number from 1 to 5000 (Kubernetes supports at most 5000 nodes per cluster)",
      "gpuPools: gpuPools.t4.nodes.max 2502 + gpuPools.l4.nodes.max 2500 + gpuPools.a10.nodes.max 0 = 5002 nodes, but Kubernetes supports at most 5000 nodes per cluster; lower nodes.max of the pools",
    ]);
  });

  it("does not measure a pool's pods against a pod limit that is wrong itself", () => {
    expect(problemsOf(stack({ cluster: { maxPodsPerNode: 1.5 } }))).toEqual([
      "cluster.maxPodsPerNode: 1.5 is not allowed; use a whole number from 1 to 1000 (the kubelet's --max-pods on the GPU nodes; its default is 110)",
    ]);
  });

  it("accepts a pool whose pods fill a node's pod budget exactly", () => {
    accepts(
      stack({
        cluster: { maxPodsPerNode: 20, systemPodsPerNode: 6 },
        gpuPools: { t4: { ...T4_POOL, timeSlicing: { replicas: 14 } } },
      }),
    );
  });

  // With -1 the others would add up to 5001.
  it.each([-1, 1.5])("does not add up the nodes when a count is %j", (max) => {
    expect(problemsOf(pools(max))).toEqual([
      `gpuPools.a10.nodes.max: ${max} is not allowed; use a whole number from 1 to 5000 (Kubernetes supports at most 5000 nodes per cluster)`,
    ]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      "true or false",
      { modelStore: { ...NFS, seed: { enabled: "yes" } } },
      'modelStore.seed.enabled: "yes" is not allowed (true or false, not a string); set modelStore.seed.enabled in the stack file to true or false',
    ],
    [
      "a list",
      { servers: { triton: { pool: "t4", models: "resnet50" } } },
      'servers.triton.models: "resnet50" is not allowed (a list, not a string); set servers.triton.models in the stack file to a list',
    ],
    [
      "a number, not a long string, cut short",
      { gpuPools: { t4: { ...T4_POOL, gpusPerNode: "x".repeat(70) } } },
      `gpuPools.t4.gpusPerNode: "${"x".repeat(59)}…" (70 characters) is not allowed (a number, not a string); set gpuPools.t4.gpusPerNode in the stack file to a number`,
    ],
    [
      "a number, not a mapping of 80 characters, whole",
      { gpuPools: { t4: { ...T4_POOL, gpusPerNode: { a: "x".repeat(72) } } } },
      `gpuPools.t4.gpusPerNode: {"a":"${"x".repeat(72)}"} is not allowed (a number, not a mapping); set gpuPools.t4.gpusPerNode in the stack file to a number`,
    ],
    [
      "a number, not a mapping that holds Infinity",
      { gpuPools: { t4: { ...T4_POOL, gpusPerNode: { n: Infinity } } } },
      'gpuPools.t4.gpusPerNode: {"n":"Infinity"} is not allowed (a number, not a mapping); set gpuPools.t4.gpusPerNode in the stack file to a number',
    ],
  ])("names what was expected: %s", (_, overrides, message) => {
    expect(problemsOf(stack(overrides))).toEqual([message]);
  });
});

describe("every problem at once, past a type error", () => {
  it("reports an entry's type error and its unknown key, and the other entries' problems", () => {
    expect(
      problemsOf(
        stack({
          gpuPools: { t4: { ...T4_POOL, nodes: { min: 1, max: "1" }, colour: "red" } },
          servers: { a: { pool: "t4", replicas: "2" }, b: { pool: "t4", image: "NVCR.io/x:1" } },
        }),
      ),
    ).toEqual([
      'gpuPools.t4.nodes.max: "1" is not allowed (a number, not a string); set gpuPools.t4.nodes.max in the stack file to a number',
      'gpuPools.t4: unknown key "colour"; remove it or check the spelling against the README\'s config reference',
      'servers.a.replicas: "2" is not allowed (a number, not a string); set servers.a.replicas in the stack file to a number',
      'servers.b.image: "NVCR.io/x:1" is not an image reference: the registry and repository must be lowercase; use "nvcr.io/x:1"',
    ]);
  });

  it("leaves out a whole section whose part has a type error, and what its absence causes", () => {
    expect(
      problemsOf(
        stack({ modelStore: { nfs: { server: 5, path: "/models" }, seed: { enabled: true, image: "NVCR.io/x:1" } } }),
      ),
    ).toEqual([
      "modelStore.nfs.server: 5 is not allowed (a string, not a number); set modelStore.nfs.server in the stack file to a string",
    ]);
    expect(problemsOf(stack({ gpuPools: 5 }))).toEqual([
      "gpuPools: 5 is not allowed (a mapping, not a number); set gpuPools in the stack file to a mapping",
    ]);
  });
});
