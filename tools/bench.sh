#!/usr/bin/env bash
# Measures the engine against the article's way on the same API server, in one run, and prints a Markdown table:
#   - warm end-to-end time of the local stack (pulumi up from nothing, then destroy)
#   - `pulumi preview` and no-op `pulumi up` of the local stack, beside `kubectl diff --server-side` and
#     `kubectl apply --server-side` of the very same objects (taken from the stack's state), as ratios
#   - the autoscaling loop: seconds from a load step to the HPA's desired replicas and to the pods Running, and from
#     the load's end back to minReplicas (tools/bench-loop.ts)
#   - the cold build time of each tool of the toolchain, as recorded when it was built
#   - without the cluster: the layout planner (tools/bench-plan.ts) and the sharing-curve advisor's fit
#     (tools/bench-advise.ts)
# Usage: tools/bench.sh [runs]   (default 5; medians are reported). Uses its own cluster state and ports.
set -euo pipefail

# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
ROOT="$(cd "$GPUSHARE_TOOLS_DIR/.." && pwd)"
RUNS="${1:-5}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpushare-bench-XXXXXX")"
export GPUSHARE_CLUSTER_DIR="$WORK/cluster"
export GPUSHARE_APISERVER_PORT=18443 GPUSHARE_ETCD_PORT=25790 GPUSHARE_KCM_PORT=22257 GPUSHARE_SCHEDULER_PORT=22259 \
  GPUSHARE_KWOK_PORT=22247 GPUSHARE_NFD_PORT=23280 GPUSHARE_PROMETHEUS_PORT=23090 GPUSHARE_OPERATOR_PORT=23281 \
  GPUSHARE_ADAPTER_PORT=23443 GPUSHARE_SIM_TRITON_PORT=23291 GPUSHARE_POD_INFO_PORT=23292 GPUSHARE_POD_CIDR=127.250.0.1/16
export PULUMI_BACKEND_URL="file://$WORK/state" PULUMI_CONFIG_PASSPHRASE=gpushare-local \
  PULUMI_NODEJS_TRANSPILE_ONLY=true PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
mkdir -p "$WORK/state" "$WORK/manifests"
cleanup() { "$GPUSHARE_TOOLS_DIR/cluster-down.sh" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

eval "$("$GPUSHARE_TOOLS_DIR/toolchain.sh")"
KUBECONFIG="$("$GPUSHARE_TOOLS_DIR/cluster-up.sh")"
export KUBECONFIG
kubectl apply --server-side -f "$ROOT/test/e2e/fixture/installed-namespaces.yaml" >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/podmonitors.monitoring.coreos.com >/dev/null
kubectl apply --server-side -f "$ROOT/test/e2e/fixture/gpu-nodes.yaml" >/dev/null

# A copy of the project, so the committed stack file stays as it is.
mkdir -p "$WORK/project"
tar -C "$ROOT" --exclude=./node_modules --exclude=./.git --exclude=./out -cf - . | tar -C "$WORK/project" -xf -
ln -s "$ROOT/node_modules" "$WORK/project/node_modules"
cd "$WORK/project"
pulumi stack init local --secrets-provider passphrase --non-interactive >/dev/null

seconds() { # seconds CMD...: wall time of one run, failing loudly
  local start end
  start=$(date +%s.%N)
  "$@" >"$WORK/last.log" 2>&1 || { cat "$WORK/last.log" >&2; gp_die "bench: $* failed"; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f\n", b - a}'
}
median() { sort -g | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.2f", m}'; }
measure() { # measure CMD...: median of RUNS runs
  local i
  for ((i = 0; i < RUNS; i++)); do seconds "$@"; done | median
}

gp_log "bench: warm end-to-end (up from nothing + destroy), $RUNS runs"
e2e_runs=()
for ((i = 0; i < RUNS; i++)); do
  up=$(seconds pulumi up --yes --skip-preview --stack local --non-interactive)
  down=$(seconds pulumi destroy --yes --skip-preview --stack local --non-interactive)
  e2e_runs+=("$(awk -v a="$up" -v b="$down" 'BEGIN {printf "%.3f", a + b}')")
done
e2e=$(printf '%s\n' "${e2e_runs[@]}" | median)

pulumi up --yes --skip-preview --stack local --non-interactive >/dev/null
gp_log "bench: pulumi preview / no-op up, $RUNS runs each"
preview=$(measure pulumi preview --stack local --non-interactive --expect-no-changes)
noop_up=$(measure pulumi up --yes --skip-preview --stack local --non-interactive)

# The same objects, from the stack's state: every Kubernetes resource's applied inputs.
pulumi stack export --stack local --show-secrets >"$WORK/state.json"
node -e '
  const fs = require("fs");
  const state = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const objs = state.deployment.resources
    .filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers"))
    .map((r) => r.inputs);
  fs.writeFileSync(process.argv[2], JSON.stringify({ apiVersion: "v1", kind: "List", items: objs }));
  console.error(`${objs.length} objects`);
' "$WORK/state.json" "$WORK/manifests/objects.json"
pulumi destroy --yes --skip-preview --stack local --non-interactive >/dev/null
kubectl apply --server-side -f "$WORK/manifests/objects.json" >/dev/null
gp_log "bench: kubectl diff / apply --server-side of the same objects, $RUNS runs each"
kdiff=$(measure kubectl diff --server-side -f "$WORK/manifests/objects.json")
kapply=$(measure kubectl apply --server-side -f "$WORK/manifests/objects.json")
kubectl delete -f "$WORK/manifests/objects.json" --wait=false >/dev/null 2>&1 || true

# The autoscaling loop: the stack up again, load steps on triton-t4 through the simulated Triton metrics.
kubectl wait --for=delete namespace/inference --timeout=120s >/dev/null 2>&1 || true
pulumi up --yes --skip-preview --stack local --non-interactive >/dev/null
gp_log "bench: autoscaling loop latencies, 3 runs"
loop_table="$("$ROOT/node_modules/.bin/tsx" "$ROOT/tools/bench-loop.ts" 3)"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / b}'; }
cat <<TABLE
| measure (median of $RUNS, seconds, $(nproc) cores) | gpushare (Pulumi) | kubectl --server-side | ratio |
|---|---|---|---|
| plan: \`pulumi preview\` vs \`kubectl diff\` | $preview | $kdiff | $(ratio "$preview" "$kdiff")× |
| no-op apply: \`pulumi up\` vs \`kubectl apply\` | $noop_up | $kapply | $(ratio "$noop_up" "$kapply")× |
| warm end-to-end: \`pulumi up\` from nothing + \`pulumi destroy\` | $e2e | | |
TABLE
echo
printf '%s\n' "$loop_table"
echo
echo "| tool (cold build from Go modules) | seconds |"
echo "|---|---|"
awk -F'\t' '{t[$2" "$3]=$4} END {for (k in t) {printf "| %s | %s |\n", k, t[k]; s+=t[k]} printf "| total | %d |\n", s}' \
  "$GPUSHARE_CACHE/logs/build-times.tsv" | sort

# The layout planner: needs no cluster (`npm run bench:plan` runs it alone); its own tables follow.
echo
gp_log "bench: layout planner (plan time, cost against the lower bound)"
"$ROOT/node_modules/.bin/tsx" "$ROOT/tools/bench-plan.ts"

# The sharing-curve advisor's fit: needs no cluster either (`npm run bench:advise` runs it alone).
echo
gp_log "bench: sharing-curve advisor (fit time of an hour of 10 s samples, 20 pods)"
"$ROOT/node_modules/.bin/tsx" "$ROOT/tools/bench-advise.ts"
