#!/usr/bin/env bash
# The main job: a local control plane (loopback only) with simulated GPU nodes, and `pulumi up` of the `local`
# stack against it. Tools that are missing are obtained first (tools/toolchain.sh: PATH -> cache -> build).
#   npm run local            # or: tools/local-up.sh [extra `pulumi up` flags]
# State: the Pulumi file backend under ${GPUSHARE_CACHE:-~/.cache/gpushare}/pulumi-state (or PULUMI_BACKEND_URL),
# secrets under the passphrase "gpushare-local" (or PULUMI_CONFIG_PASSPHRASE). Stop the cluster with
# tools/cluster-down.sh.
set -euo pipefail

# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
ROOT="$(cd "$GPUSHARE_TOOLS_DIR/.." && pwd)"
FIXTURE="$ROOT/test/e2e/fixture"

eval "$("$GPUSHARE_TOOLS_DIR/toolchain.sh")"
KUBECONFIG="$("$GPUSHARE_TOOLS_DIR/cluster-up.sh")"
export KUBECONFIG

gp_log "local: the installed operator's namespace and simulated GPU nodes"
kubectl apply --server-side --force-conflicts -f "$FIXTURE/installed-namespaces.yaml" >&2
kubectl wait --for=condition=Established --timeout=60s \
  crd/podmonitors.monitoring.coreos.com crd/servicemonitors.monitoring.coreos.com >&2
kubectl apply --server-side --force-conflicts -f "$FIXTURE/gpu-nodes.yaml" >&2
kubectl wait --for=condition=Ready --timeout=60s node/gpu-a100-0 node/gpu-t4-0 >&2

export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$GPUSHARE_CACHE/pulumi-state}"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-gpushare-local}"
# tsc type-checks the program in the tests; the engine only needs it transpiled.
export PULUMI_NODEJS_TRANSPILE_ONLY=true
mkdir -p "${PULUMI_BACKEND_URL#file://}"

cd "$ROOT"
[ -d node_modules ] || gp_die "local: node_modules missing; run npm ci first"
pulumi stack select --create --secrets-provider passphrase local >&2
gp_log "local: pulumi up (stack local, backend $PULUMI_BACKEND_URL)"
pulumi up --yes --stack local "$@"
gp_log "local: up. KUBECONFIG=$KUBECONFIG; stop with tools/cluster-down.sh"
gp_log "local: watch the autoscaling loop: kubectl get hpa -n inference -w; in another shell, load triton-t4 with"
gp_log "  curl -X PUT 127.0.0.1:${GPUSHARE_SIM_TRITON_PORT:-20291}/servers/triton-t4/load \\"
gp_log "    -d '{\"requestsPerSecond\": 20, \"queueUsPerRequest\": 300}'   (0 and 0 to stop; tools/sim-triton/README.md)"
