/**
 * kube-state-metrics' `kube_pod_info`, for the local cluster's installed monitoring stack: kube-prometheus-stack
 * ships kube-state-metrics, and `npm run advise` reads from it the node each pod runs on. kube-state-metrics cannot
 * be built here, so tools/local-monitoring serves this one family, with kube-state-metrics' labels, from the pods it
 * lists; Prometheus scrapes it through the installation's ScrapeConfig (installation.yaml). Pure: no I/O.
 * @see https://github.com/kubernetes/kube-state-metrics/blob/main/docs/metrics/workload/pod-metrics.md
 */

export interface PodInfoSource {
  readonly metadata: {
    readonly namespace?: string;
    readonly name: string;
    readonly uid?: string;
    readonly ownerReferences?: readonly {
      readonly kind: string;
      readonly name: string;
      readonly controller?: boolean;
    }[];
  };
  readonly spec?: { readonly nodeName?: string; readonly priorityClassName?: string; readonly hostNetwork?: boolean };
  readonly status?: { readonly hostIP?: string; readonly podIP?: string };
}

export const POD_INFO_METRIC = "kube_pod_info";

function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** The exposition text of `kube_pod_info` for `pods`: one series of value 1 per pod, as kube-state-metrics gives. */
export function renderPodInfo(pods: readonly PodInfoSource[]): string {
  const lines = [`# HELP ${POD_INFO_METRIC} [STABLE] Information about pod.`, `# TYPE ${POD_INFO_METRIC} gauge`];
  for (const p of pods) {
    const owner = p.metadata.ownerReferences?.find((o) => o.controller === true) ?? p.metadata.ownerReferences?.[0];
    const labels: [string, string][] = [
      ["namespace", p.metadata.namespace ?? ""],
      ["pod", p.metadata.name],
      ["uid", p.metadata.uid ?? ""],
      ["host_ip", p.status?.hostIP ?? ""],
      ["pod_ip", p.status?.podIP ?? ""],
      ["node", p.spec?.nodeName ?? ""],
      ["created_by_kind", owner?.kind ?? "<none>"],
      ["created_by_name", owner?.name ?? "<none>"],
      ["priority_class", p.spec?.priorityClassName ?? ""],
      ["host_network", String(p.spec?.hostNetwork ?? false)],
    ];
    lines.push(`${POD_INFO_METRIC}{${labels.map(([k, v]) => `${k}="${escape(v)}"`).join(",")}} 1`);
  }
  return `${lines.join("\n")}\n`;
}
