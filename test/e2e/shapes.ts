import type { Engine } from "./engine";
import { kubectlJson } from "./engine";

/** The shapes of the Kubernetes objects the e2e tests read back through `kubectl -o json`, as far as they read them. */

/** The namespace the program deploys the inference servers into. */
export const NS = "inference";

export interface Pod {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: { phase: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

export interface List<T> {
  items: T[];
}

/** The pods of one inference server (by its Helm-style instance label), in any phase. */
export function podsOf(engine: Engine, server: string): Pod[] {
  return kubectlJson<List<Pod>>(engine, ["get", "pods", "-n", NS, "-l", `app.kubernetes.io/instance=${server}`]).items;
}
