import { parser } from "@prometheus-io/lezer-promql";

/**
 * PromQL assertions over the official parser's tree (Prometheus's own lezer grammar), not by pattern matching
 * the text: whether a query parses, and which functions and metrics it uses.
 */

type Tree = ReturnType<typeof parser.parse>;
type Enter = NonNullable<Parameters<Tree["iterate"]>[0]["enter"]>;
type NodeRef = Parameters<Enter>[0];

/** What `pick` returns for the nodes of `query`'s parse tree, in document order, skipping `undefined`. */
function collect<T>(query: string, pick: (node: NodeRef) => T | undefined): T[] {
  const found: T[] = [];
  parser.parse(query).iterate({
    enter: (node) => {
      const value = pick(node);
      if (value !== undefined) found.push(value);
    },
  });
  return found;
}

/** Positions of the parser's error nodes (`⚠`) in `query`; empty when it parses. */
export function promqlErrors(query: string): number[] {
  return collect(query, (node) => (node.type.isError ? node.from : undefined));
}

/** Fails unless `query` is PromQL the official parser accepts without error nodes. */
export function assertParses(query: string): void {
  const errors = promqlErrors(query);
  if (errors.length > 0) throw new Error(`not PromQL: error nodes at ${errors.join(", ")} in ${query}`);
}

/** The names of the functions a query calls. */
export function functionsOf(query: string): string[] {
  return collect(query, (node) => (node.name === "FunctionIdentifier" ? query.slice(node.from, node.to) : undefined));
}

/** The metric names a query selects. */
export function metricsOf(query: string): string[] {
  return collect(query, (node) => {
    if (node.name !== "VectorSelector") return undefined;
    const id = node.node.getChild("Identifier");
    return id === null ? undefined : query.slice(id.from, id.to);
  });
}
