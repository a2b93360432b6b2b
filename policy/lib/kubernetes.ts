import type { PolicyResource } from "./resource";
import { list, record, text } from "./resource";

/** API group, version and kind of a Kubernetes type token (`kubernetes:apps/v1:Deployment`). */
export interface KubernetesKind {
  /** `core` for the legacy group, as in the type token. */
  readonly group: string;
  readonly version: string;
  /** The kind; a server-side-apply `...Patch` resource counts as the kind it patches. */
  readonly kind: string;
}

export const RBAC_GROUP = "rbac.authorization.k8s.io";
export const HELM_GROUP = "helm.sh";

const KUBERNETES_TYPE = /^kubernetes:([^:/]+)\/([^:/]+):([A-Za-z0-9]+?)(?:Patch)?$/;

/** The group, version and kind of a Kubernetes resource; undefined for any other provider's resources. */
export function kubernetesKind(type: string): KubernetesKind | undefined {
  const match = KUBERNETES_TYPE.exec(type);
  return match === null ? undefined : { group: match[1], version: match[2], kind: match[3] };
}

/** Whether the resource is one of `kinds` of API group `group`, at any version. */
export function isKind(resource: PolicyResource, group: string, ...kinds: string[]): boolean {
  const k = kubernetesKind(resource.type);
  return k !== undefined && k.group === group && kinds.includes(k.kind);
}

/** `metadata.namespace` of a Kubernetes object, or a Helm release's `namespace`. */
export function namespaceOf(resource: PolicyResource): string | undefined {
  if (kubernetesKind(resource.type)?.group === HELM_GROUP) return text(resource.props.namespace);
  return text(record(resource.props.metadata)?.namespace);
}

/** The object's labels merged with its pod template's (the workload kinds), template last. */
export function labelsOf(resource: PolicyResource): Readonly<Record<string, unknown>> {
  const spec = record(resource.props.spec);
  return {
    ...record(record(resource.props.metadata)?.labels),
    ...record(record(record(spec?.template)?.metadata)?.labels),
  };
}

/** The pod spec of a Pod or of a workload's pod template; undefined for every other kind. */
export function podSpecOf(resource: PolicyResource): Readonly<Record<string, unknown>> | undefined {
  const k = kubernetesKind(resource.type);
  if (k === undefined) return undefined;
  const spec = record(resource.props.spec);
  const templateSpec = (template: unknown) => record(record(template)?.spec);
  switch (`${k.group}/${k.kind}`) {
    case "core/Pod":
      return spec;
    case "apps/Deployment":
    case "apps/StatefulSet":
    case "apps/DaemonSet":
    case "apps/ReplicaSet":
    case "batch/Job":
    case "core/ReplicationController":
      return templateSpec(spec?.template);
    case "batch/CronJob":
      return templateSpec(record(record(spec?.jobTemplate)?.spec)?.template);
    default:
      return undefined;
  }
}

/** One container of a pod spec and how a message names it: `container "triton"`, `init container "seed"`. */
export interface ContainerRef {
  readonly label: string;
  readonly container: Readonly<Record<string, unknown>>;
}

/** Init containers, then containers, of a pod spec. */
export function containersOf(podSpec: Readonly<Record<string, unknown>>): ContainerRef[] {
  const refs = (field: string, what: string): ContainerRef[] =>
    list(podSpec[field]).flatMap((c) => {
      const container = record(c);
      return container === undefined ? [] : [{ label: `${what} "${text(container.name) ?? "?"}"`, container }];
    });
  return [...refs("initContainers", "init container"), ...refs("containers", "container")];
}
