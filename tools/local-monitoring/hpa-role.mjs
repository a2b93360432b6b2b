// Narrows Kubernetes' bootstrap ClusterRole of the HPA controller in the local cluster (tools/cluster-up.sh): its
// rule for custom.metrics.k8s.io (every resource) is removed and the API server is told not to restore it
// (rbac.authorization.kubernetes.io/autoupdate: "false"). Any custom metric the HPAs read must then be granted
// explicitly - as gpushare's hpa-metrics-reader ClusterRole does for its one metric. Idempotent.
//   node tools/local-monitoring/hpa-role.mjs KUBECONFIG
import { execFileSync } from "node:child_process";

const kubeconfig = process.argv[2];
if (kubeconfig === undefined) {
  process.stderr.write("usage: hpa-role.mjs KUBECONFIG\n");
  process.exit(2);
}
const ROLE = "system:controller:horizontal-pod-autoscaler";
const kubectl = (args, input) =>
  execFileSync("kubectl", ["--kubeconfig", kubeconfig, ...args], { input, encoding: "utf8" });

const role = JSON.parse(kubectl(["get", "clusterrole", ROLE, "-o", "json"]));
const rules = role.rules.filter((r) => !(r.apiGroups ?? []).includes("custom.metrics.k8s.io"));
const annotations = role.metadata.annotations ?? {};
if (rules.length === role.rules.length && annotations["rbac.authorization.kubernetes.io/autoupdate"] === "false") {
  process.exit(0);
}
role.rules = rules;
role.metadata.annotations = { ...annotations, "rbac.authorization.kubernetes.io/autoupdate": "false" };
kubectl(["replace", "-f", "-"], JSON.stringify(role));
process.stderr.write(`${ROLE}: custom.metrics.k8s.io rule removed; the HPA controller reads only granted metrics\n`);
