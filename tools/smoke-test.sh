#!/usr/bin/env bash
# End-to-end check of tools/: toolchain, a fresh local cluster with a KWOK GPU node, a GPU pod that gets scheduled
# and Running, and `pulumi up`/`destroy` of a ConfigMap from a throwaway TypeScript program (file backend) that uses
# the repository's node_modules. Uses its own GPUSHARE_CACHE-independent cluster state and ports, so it does not
# touch a cluster started by tools/cluster-up.sh with the defaults. Usage: tools/smoke-test.sh
set -euo pipefail

TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$TOOLS")"
[ -d "$REPO/node_modules/@pulumi/kubernetes" ] || { echo "smoke-test: run npm ci in $REPO first" >&2; exit 1; }

eval "$("$TOOLS/toolchain.sh")"
# shellcheck source=env.sh
. "$TOOLS/env.sh"

WORK="$(mktemp -d /tmp/gpushare-smoke.XXXXXX)"
# The cluster gets its own state dir (binaries are found on PATH, so nothing is rebuilt) and ports.
export GPUSHARE_CACHE="$WORK/cache"
export GPUSHARE_APISERVER_PORT=18643 GPUSHARE_ETCD_PORT=25990 GPUSHARE_KCM_PORT=21457
export GPUSHARE_SCHEDULER_PORT=21459 GPUSHARE_KWOK_PORT=21447
cleanup() {
  "$TOOLS/cluster-down.sh" --purge || true
  rm -rf "$WORK"
}
trap cleanup EXIT

KUBECONFIG="$("$TOOLS/cluster-up.sh")"
export KUBECONFIG
[ "$(kubectl get --raw /readyz)" = ok ] || { echo "smoke-test: /readyz is not ok" >&2; exit 1; }

kubectl apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Node
metadata:
  name: kwok-gpu-0
  annotations: {kwok.x-k8s.io/node: fake}
  labels: {type: kwok}
status:
  capacity: {cpu: "32", memory: 256Gi, pods: "110", nvidia.com/gpu: "7"}
  allocatable: {cpu: "32", memory: 256Gi, pods: "110", nvidia.com/gpu: "7"}
---
apiVersion: v1
kind: Pod
metadata: {name: gpu-pod, namespace: default}
spec:
  containers:
  - name: c
    image: fake
    resources: {limits: {nvidia.com/gpu: "2"}}
EOF
kubectl wait --for=condition=Ready node/kwok-gpu-0 --timeout=60s >/dev/null
kubectl wait --for=condition=Ready pod/gpu-pod --timeout=60s >/dev/null
[ "$(kubectl get pod gpu-pod -o jsonpath='{.status.phase}/{.spec.nodeName}')" = Running/kwok-gpu-0 ] ||
  { echo "smoke-test: gpu-pod is not Running on kwok-gpu-0" >&2; exit 1; }
echo "smoke-test: KWOK node Ready, GPU pod Running" >&2

mkdir -p "$WORK/program" "$WORK/state"
cd "$WORK/program"
ln -s "$REPO/node_modules" node_modules
printf 'name: smoke\nruntime: nodejs\n' >Pulumi.yaml
printf '{"name": "smoke", "private": true, "main": "index.ts"}\n' >package.json
cat >index.ts <<'EOF'
import * as k8s from "@pulumi/kubernetes";

const cm = new k8s.core.v1.ConfigMap("smoke", { metadata: { namespace: "default" }, data: { hello: "gpushare" } });
export const name = cm.metadata.name;
EOF
export PULUMI_BACKEND_URL="file://$WORK/state" PULUMI_CONFIG_PASSPHRASE=smoke PULUMI_HOME="${PULUMI_HOME:-$HOME/.pulumi}"
pulumi stack init dev --non-interactive >/dev/null
pulumi preview --non-interactive >&2
pulumi up --yes --non-interactive >&2
cm="$(pulumi stack output name)"
[ "$(kubectl get configmap "$cm" -o jsonpath='{.data.hello}')" = gpushare ] ||
  { echo "smoke-test: ConfigMap $cm not found" >&2; exit 1; }
pulumi destroy --yes --non-interactive >&2
! kubectl get configmap "$cm" >/dev/null 2>&1 || { echo "smoke-test: ConfigMap $cm still exists" >&2; exit 1; }
echo "smoke-test: 3 passed, 0 failed"
