/**
 * How Magnum names the nodes of a node group, as pure functions: the platform matches a pool's nodes by name
 * (node-feature-discovery rules), and node-group names that would make two groups' nodes look alike are refused.
 * No Pulumi import, so a config check can use it before any resource exists.
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

/** Where the caller's input holds the node-group names, for the messages. */
export interface NodeGroupNamesAt {
  /** The path of the whole list or map, e.g. `nodeGroups`. */
  readonly list: string;
  /** What one entry is called in the fix, e.g. `node group`. */
  readonly noun: string;
}

/**
 * Why these names cannot be Magnum node groups of one cluster, one line per problem, each starting with its path
 * (`<list>.<name>` or `<list>`); empty when they can. Node names keep only the first 9 characters of a node group's
 * name, so two groups alike in those would share a name pattern and each would label the other's nodes.
 */
export function nodeGroupNameProblems(
  names: readonly string[],
  at: NodeGroupNamesAt = { list: "nodeGroups", noun: "node group" },
): string[] {
  const problems: string[] = [];
  const byPrefix = new Map<string, string[]>();
  for (const name of names) {
    if (MAGNUM_DEFAULT_NODE_GROUPS.includes(name)) {
      problems.push(
        `${at.list}.${name}: "${name}" is the name of a node group Magnum creates with every cluster; rename the ${at.noun}`,
      );
    }
    const prefix = stackNamePart(name.slice(0, NODE_GROUP_NAME_CHARS)).toLowerCase();
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), name]);
  }
  for (const [prefix, group] of byPrefix) {
    if (group.length > 1) {
      problems.push(
        `${at.list}: ${group.map((p) => `"${p}"`).join(", ")} start with the same ${NODE_GROUP_NAME_CHARS} characters ("${prefix}"), the only part of a node group's name Magnum keeps in node names; rename them so their first ${NODE_GROUP_NAME_CHARS} characters differ`,
      );
    }
  }
  return problems;
}

/**
 * What is wrong with where the cluster's template comes from: exactly one of an existing template's id or a template
 * to create. The one owner of the rule; the stack layer puts its config path before each reason.
 */
export function clusterTemplateProblems(args: {
  readonly clusterTemplateId?: unknown;
  readonly template?: unknown;
}): string[] {
  if ((args.clusterTemplateId === undefined) !== (args.template === undefined)) return [];
  return [
    `give exactly one of clusterTemplateId (an existing Magnum template) or template (one gpushare creates); it has ${args.template === undefined ? "neither" : "both"}`,
  ];
}
