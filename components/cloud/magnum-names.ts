/**
 * How Magnum names the nodes of a node group, as pure functions: the platform matches a pool's nodes by name
 * (node-feature-discovery rules), and stack validation refuses pool names that would make two pools' nodes look
 * alike. No Pulumi import, so the config parser can use it.
 */

/** Node groups Magnum creates with every cluster; a pool may not take their names. */
export const MAGNUM_DEFAULT_NODE_GROUPS = ["default-master", "default-worker"];

/** Characters of the cluster and node-group names Magnum's Heat driver keeps in a node group's stack name. */
const CLUSTER_NAME_CHARS = 20;
const NODE_GROUP_NAME_CHARS = 9;

/** A name as Magnum's Heat driver puts it into a stack name: "_" and "." become "-", other than [A-Za-z0-9-] go. */
function stackNamePart(name: string): string {
  return name.replace(/[_.]/g, "-").replace(/[^A-Za-z0-9-]/g, "");
}

/** The prefix of the Nova (and so the Kubernetes) names of a node group's nodes, as Magnum's Heat driver builds it. */
export function magnumNodeGroupStackPrefix(clusterName: string, nodeGroupName: string): string {
  // magnum/drivers/heat/driver.py `_create_stack`: a node group's Heat stack is "<cluster[:20]>-<nodegroup[:9]>",
  // cleaned, then "-<12-character short id>" is appended and the whole lowercased. Its servers are
  // "<stack>-node-<index>", and kubelet registers a node under its server's name.
  return stackNamePart(
    `${clusterName.slice(0, CLUSTER_NAME_CHARS)}-${nodeGroupName.slice(0, NODE_GROUP_NAME_CHARS)}`,
  ).toLowerCase();
}

/**
 * A regular expression (RE2, as node-feature-discovery's `InRegexp` takes it) matching exactly the node names of a
 * Magnum node group: `<prefix>-<short id>-node-<index>`, with an optional domain suffix. The prefix holds only
 * `[a-z0-9-]`, so it needs no escaping. Nodes of the Cluster API driver are named differently and do not match.
 */
export function magnumNodeNamePattern(clusterName: string, nodeGroupName: string): string {
  return `^${magnumNodeGroupStackPrefix(clusterName, nodeGroupName)}-[a-z0-9]+-node-[0-9]+(\\..+)?$`;
}

/**
 * Why these pools cannot be Magnum node groups of one cluster, one line per problem; empty when they can. Node names
 * keep only the first 9 characters of a node group's name, so two pools alike in those would share a name pattern
 * and each would label the other's nodes.
 */
export function nodeGroupNameProblems(poolNames: readonly string[]): string[] {
  const problems: string[] = [];
  const byPrefix = new Map<string, string[]>();
  for (const pool of poolNames) {
    if (MAGNUM_DEFAULT_NODE_GROUPS.includes(pool)) {
      problems.push(
        `gpuPools.${pool}: "${pool}" is the name of a node group Magnum creates with every cluster; rename the pool`,
      );
    }
    const prefix = stackNamePart(pool.slice(0, NODE_GROUP_NAME_CHARS)).toLowerCase();
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), pool]);
  }
  for (const [prefix, pools] of byPrefix) {
    if (pools.length > 1) {
      problems.push(
        `gpuPools: ${pools.map((p) => `"${p}"`).join(", ")} start with the same ${NODE_GROUP_NAME_CHARS} characters ("${prefix}"), the only part of a node group's name Magnum keeps in node names; rename them so their first ${NODE_GROUP_NAME_CHARS} characters differ`,
      );
    }
  }
  return problems;
}
