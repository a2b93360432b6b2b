#!/usr/bin/env bash
# Starts a local Kubernetes control plane on loopback only, with KWOK simulating nodes and pods (no kubelet):
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok,
#   nfd-master (the real node-feature-discovery master: evaluates NodeFeatureRules against NodeFeature objects and
#     labels nodes; its CRDs are generated from its API types by tools/toolchain.sh),
#   sim-device-plugin (ours, a SIMULATION of NVIDIA's device plugin and its config-manager: tools/sim-device-plugin/),
#   sim-dra-plugin (ours, a SIMULATION of the GPU kubelet plugin of NVIDIA's DRA driver: ResourceSlices for the nodes
#     labelled gpushare.io/gpu-allocation=dra, tools/sim-dra-plugin/) and the driver chart's two DeviceClasses,
#   the monitoring loop of an "installed" kube-prometheus-stack and prometheus-adapter, real: prometheus-operator (its
#     CRDs generated from its API types), Prometheus (configured by the operator from a Prometheus resource that
#     selects monitors by release: kube-prometheus-stack, as the chart's does), prometheus-adapter (serving
#     v1beta1.custom.metrics.k8s.io behind the API server's aggregation layer, TLS verified with its CA bundle);
#     tools/local-monitoring/ plays the kubelet for them (config files from the Secret and ConfigMap, reload/restart),
#   sim-triton (ours, a SIMULATION of Triton's metrics endpoint on each Triton pod's loopback address: tools/sim-triton/)
# Binaries come from tools/toolchain.sh --cluster (PATH -> cache -> build). Certificates and keys are made with
# openssl. State (pki, etcd data, logs, pid files, kubeconfig) lives in ${GPUSHARE_CACHE:-~/.cache/gpushare}/cluster/.
# Idempotent: components already running (by pid file) are left alone. Waits until everything is healthy, then
# prints the kubeconfig path as the only line on stdout:
#   export KUBECONFIG="$(tools/cluster-up.sh)"
# KWOK manages nodes annotated kwok.x-k8s.io/node=fake and the pods bound to them (default stages: nodes and
# pods become Ready/Running).
# Ports (127.0.0.1), overridable: GPUSHARE_APISERVER_PORT (16443), GPUSHARE_ETCD_PORT (23790, peer +10),
# GPUSHARE_KCM_PORT (20257), GPUSHARE_SCHEDULER_PORT (20259), GPUSHARE_KWOK_PORT (20247), GPUSHARE_NFD_PORT (20280;
# nfd-master's metrics/health server, which binds every interface: nfd-master has no bind-address flag),
# GPUSHARE_PROMETHEUS_PORT (19090), GPUSHARE_OPERATOR_PORT (20281), GPUSHARE_ADAPTER_PORT (20443),
# GPUSHARE_SIM_TRITON_PORT (20291, the simulation's control API). Pods get addresses from GPUSHARE_POD_CIDR
# (127.244.0.1/16: loopback, so the simulated Triton metrics are served, and scraped, on loopback only).
# GPUSHARE_DRA_CONSUMABLE_SHARES (disabled): the simulated DRA kubelet plugin's --consumable-shares (disabled or N,
# the driver chart's consumableShares); the scheduler's defaults (Kubernetes 1.36: DRAConsumableCapacity on) allocate
# shares without extra flags.
set -euo pipefail

# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

APISERVER_PORT="${GPUSHARE_APISERVER_PORT:-16443}"
ETCD_PORT="${GPUSHARE_ETCD_PORT:-23790}"
ETCD_PEER_PORT="$((ETCD_PORT + 10))"
KCM_PORT="${GPUSHARE_KCM_PORT:-20257}"
SCHEDULER_PORT="${GPUSHARE_SCHEDULER_PORT:-20259}"
KWOK_PORT="${GPUSHARE_KWOK_PORT:-20247}"
NFD_PORT="${GPUSHARE_NFD_PORT:-20280}"
PROMETHEUS_PORT="${GPUSHARE_PROMETHEUS_PORT:-19090}"
OPERATOR_PORT="${GPUSHARE_OPERATOR_PORT:-20281}"
ADAPTER_PORT="${GPUSHARE_ADAPTER_PORT:-20443}"
SIM_TRITON_PORT="${GPUSHARE_SIM_TRITON_PORT:-20291}"
POD_INFO_PORT="${GPUSHARE_POD_INFO_PORT:-20292}"
POD_CIDR="${GPUSHARE_POD_CIDR:-127.244.0.1/16}"
case "$POD_CIDR" in 127.*) ;; *) gp_die "cluster-up: GPUSHARE_POD_CIDR=$POD_CIDR is not in 127.0.0.0/8 (loopback only)" ;; esac
# The "installed" monitoring stack: its namespace and the Prometheus resource that plays kube-prometheus-stack's.
MONITORING_NAMESPACE=monitoring
PROMETHEUS_NAME=kube-prometheus-stack-prometheus
# Where NodeFeature objects (what nfd-worker would publish per node) live; nfd-master reads every namespace.
NFD_NAMESPACE=node-feature-discovery
CONTROL_PLANE_NODE=gpushare-control-plane
ROOT="$(cd "$GPUSHARE_TOOLS_DIR/.." && pwd)"
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1

STATE="${GPUSHARE_CLUSTER_DIR:-$GPUSHARE_CACHE/cluster}"
PKI="$STATE/pki"
LOGS="$STATE/logs"
PIDS="$STATE/pids"
KUBECONFIG_FILE="$STATE/kubeconfig"
mkdir -p "$PKI" "$LOGS" "$PIDS" "$STATE/etcd"
chmod 700 "$STATE"

exec 8>"$STATE/cluster.lock"
flock -w 300 8 || gp_die "cluster-up: another cluster-up/cluster-down holds $STATE/cluster.lock"

# Binaries.
eval "$("$GPUSHARE_TOOLS_DIR/toolchain.sh" --cluster)"
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok nfd-master prometheus \
  prometheus-operator prometheus-adapter node openssl curl; do
  command -v "$b" >/dev/null || gp_die "cluster-up: $b not found"
done

# ---------------------------------------------------------------------------------------------------------------
# PKI (openssl): CA, API server serving cert, admin client cert (system:masters), service-account key pair.
gen_pki() {
  local tmp
  [ -f "$PKI/ca.crt" ] || {
    gp_log "cluster: generating CA"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=gpushare-local-ca" \
      -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
  }
  [ -f "$PKI/apiserver.crt" ] || {
    gp_log "cluster: generating API server certificate"
    tmp="$(mktemp)"
    cat >"$tmp" <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
      -keyout "$PKI/apiserver.key" -out "$PKI/apiserver.csr" 2>/dev/null
    openssl x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
      -days 3650 -extfile "$tmp" -out "$PKI/apiserver.crt" 2>/dev/null
    rm -f "$tmp" "$PKI/apiserver.csr"
  }
  [ -f "$PKI/admin.crt" ] || {
    gp_log "cluster: generating admin client certificate"
    tmp="$(mktemp)"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$tmp"
    openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=gpushare-admin" \
      -keyout "$PKI/admin.key" -out "$PKI/admin.csr" 2>/dev/null
    openssl x509 -req -in "$PKI/admin.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
      -days 3650 -extfile "$tmp" -out "$PKI/admin.crt" 2>/dev/null
    rm -f "$tmp" "$PKI/admin.csr"
  }
  # The aggregation layer: the API server proxies custom-metrics requests to the adapter as front-proxy-client,
  # which the adapter trusts through the front-proxy CA (published in kube-system/extension-apiserver-authentication).
  [ -f "$PKI/front-proxy-ca.crt" ] || {
    gp_log "cluster: generating front-proxy CA and client certificate"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=gpushare-front-proxy-ca" \
      -keyout "$PKI/front-proxy-ca.key" -out "$PKI/front-proxy-ca.crt" 2>/dev/null
    tmp="$(mktemp)"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$tmp"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=front-proxy-client" \
      -keyout "$PKI/front-proxy-client.key" -out "$PKI/front-proxy-client.csr" 2>/dev/null
    openssl x509 -req -in "$PKI/front-proxy-client.csr" -CA "$PKI/front-proxy-ca.crt" -CAkey "$PKI/front-proxy-ca.key" \
      -CAcreateserial -days 3650 -extfile "$tmp" -out "$PKI/front-proxy-client.crt" 2>/dev/null
    rm -f "$tmp" "$PKI/front-proxy-client.csr"
  }
  # prometheus-adapter's own CA and serving certificate: the APIService trusts that CA alone (caBundle), and the API
  # server verifies the name <service>.<namespace>.svc.
  [ -f "$PKI/adapter-ca.crt" ] || {
    gp_log "cluster: generating prometheus-adapter CA and serving certificate"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=gpushare-local-adapter-ca" -keyout "$PKI/adapter-ca.key" -out "$PKI/adapter-ca.crt" 2>/dev/null
    tmp="$(mktemp)"
    cat >"$tmp" <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:prometheus-adapter.$MONITORING_NAMESPACE.svc,DNS:prometheus-adapter.$MONITORING_NAMESPACE.svc.cluster.local
EOF
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/CN=prometheus-adapter.$MONITORING_NAMESPACE.svc" \
      -keyout "$PKI/adapter.key" -out "$PKI/adapter.csr" 2>/dev/null
    openssl x509 -req -in "$PKI/adapter.csr" -CA "$PKI/adapter-ca.crt" -CAkey "$PKI/adapter-ca.key" \
      -CAcreateserial -days 3650 -extfile "$tmp" -out "$PKI/adapter.crt" 2>/dev/null
    rm -f "$tmp" "$PKI/adapter.csr"
  }
  [ -f "$PKI/sa.key" ] || {
    gp_log "cluster: generating service-account signing key"
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  }
  chmod 600 "$PKI"/*.key
  # Always rewrite the kubeconfig (the port may have changed).
  cat >"$KUBECONFIG_FILE.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: gpushare-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: gpushare-admin
  user:
    client-certificate: $PKI/admin.crt
    client-key: $PKI/admin.key
contexts:
- name: gpushare-local
  context:
    cluster: gpushare-local
    user: gpushare-admin
    namespace: default
current-context: gpushare-local
EOF
  chmod 600 "$KUBECONFIG_FILE.tmp"
  mv "$KUBECONFIG_FILE.tmp" "$KUBECONFIG_FILE"
}

# ---------------------------------------------------------------------------------------------------------------
# Processes: one pid file per component; a pid counts only if it is alive and runs the expected binary.
# running NAME [EXE]: EXE is the binary's name when it differs from NAME (node for sim-device-plugin).
running() {
  local name=$1 bin=${2:-$1} pid exe
  [ -f "$PIDS/$name.pid" ] || return 1
  pid="$(cat "$PIDS/$name.pid")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  [ "$(basename "${exe% (deleted)}")" = "$bin" ] || return 1
  [ "$bin" = "$name" ] || tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$name"
}

port_in_use() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# start NAME PORT ARGS...: start NAME unless it already runs; PORT must be free (it's the component's own port).
start() {
  local name=$1 port=$2
  shift 2
  if running "$name"; then
    gp_log "cluster: $name already running (pid $(cat "$PIDS/$name.pid"))"
    return
  fi
  if port_in_use "$port"; then
    gp_die "cluster: cannot start $name: 127.0.0.1:$port is already in use by another process" \
      "(set GPUSHARE_*_PORT, see the header of $0)"
  fi
  gp_log "cluster: starting $name (log: $LOGS/$name.log)"
  # 8>&- 9>&-: the daemons must not inherit (and so hold) the cluster and toolchain lock files.
  setsid "$(command -v "$name")" "$@" </dev/null >>"$LOGS/$name.log" 2>&1 8>&- 9>&- &
  local pid=$! i
  echo "$pid" >"$PIDS/$name.pid"
  # Until the forked shell has exec'd the binary, /proc/PID/exe is still bash; wait for that (or for an exit).
  for i in $(seq 1 50); do
    running "$name" || ! kill -0 "$pid" 2>/dev/null && break
    sleep 0.1
  done
  : "$i"
}

# wait_for NAME TIMEOUT CMD...: wait until CMD succeeds; fail (showing the log) if NAME dies or time runs out.
wait_for() {
  local name=$1 timeout=$2 start=$SECONDS
  shift 2
  until running "$name" && "$@" >/dev/null 2>&1; do
    if ! running "$name"; then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      gp_die "cluster: $name exited (log: $LOGS/$name.log)"
    fi
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      gp_die "cluster: $name not healthy after ${timeout}s (log: $LOGS/$name.log)"
    fi
    sleep 1
  done
  gp_log "cluster: $name healthy"
}

http_ok() { [ "$(curl -fsS --max-time 3 "$@" 2>/dev/null)" = ok ]; }
etcd_healthy() { curl -fsS --max-time 3 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
kctl() { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }
# kubectl wait fails at once, rather than waiting, on an object whose status has no conditions yet (".status.conditions
# accessor error: <nil>"), as a CRD or a KWOK node has for a moment after it is created: ask again until the timeout.
# Usage: kwait SECONDS <kubectl wait arguments, without --timeout>
kwait() {
  local seconds=$1 deadline
  shift
  deadline=$((SECONDS + seconds))
  until kctl wait --timeout=5s "$@" >/dev/null 2>"$STATE/kwait.err"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      cat "$STATE/kwait.err" >&2
      return 1
    fi
    sleep 1
  done
}

# A cluster already running from this state directory must have been started with the same ports.
PORTS="apiserver=$APISERVER_PORT etcd=$ETCD_PORT kcm=$KCM_PORT scheduler=$SCHEDULER_PORT kwok=$KWOK_PORT nfd=$NFD_PORT"
PORTS+=" prometheus=$PROMETHEUS_PORT operator=$OPERATOR_PORT adapter=$ADAPTER_PORT sim-triton=$SIM_TRITON_PORT pod-info=$POD_INFO_PORT pods=$POD_CIDR"
for name in etcd kube-apiserver kube-controller-manager kube-scheduler kwok nfd-master prometheus prometheus-operator; do
  if running "$name" && [ "$(cat "$STATE/ports" 2>/dev/null)" != "$PORTS" ]; then
    gp_die "cluster: $STATE already has a running cluster with other ports ($(cat "$STATE/ports" 2>/dev/null ||
      echo unknown)); use the same GPUSHARE_*_PORT values, another GPUSHARE_CACHE, or tools/cluster-down.sh first"
  fi
done
printf '%s\n' "$PORTS" >"$STATE/ports"

gen_pki

start etcd "$ETCD_PORT" \
  --name gpushare --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "gpushare=http://127.0.0.1:$ETCD_PEER_PORT" \
  --quota-backend-bytes 2147483648 --log-level warn
wait_for etcd 60 etcd_healthy

start kube-apiserver "$APISERVER_PORT" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --authorization-mode RBAC --allow-privileged=true \
  --endpoint-reconciler-type none \
  --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key"
wait_for kube-apiserver 120 http_ok --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
  "https://127.0.0.1:$APISERVER_PORT/readyz"

start kube-controller-manager "$KCM_PORT" \
  --kubeconfig "$KUBECONFIG_FILE" \
  --authentication-kubeconfig "$KUBECONFIG_FILE" --authorization-kubeconfig "$KUBECONFIG_FILE" \
  --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --leader-elect=false \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" --use-service-account-credentials=true
start kube-scheduler "$SCHEDULER_PORT" \
  --kubeconfig "$KUBECONFIG_FILE" \
  --authentication-kubeconfig "$KUBECONFIG_FILE" --authorization-kubeconfig "$KUBECONFIG_FILE" \
  --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --leader-elect=false
[ -s "${GPUSHARE_KWOK_STAGES:-}" ] || gp_die "cluster-up: KWOK stages file missing (toolchain.sh --cluster makes it)"
start kwok "$KWOK_PORT" \
  --kubeconfig "$KUBECONFIG_FILE" --config "$GPUSHARE_KWOK_STAGES" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --disregard-status-with-annotation-selector=kwok.x-k8s.io/status=custom \
  --cidr="$POD_CIDR" --node-ip=10.240.0.1 --node-lease-duration-seconds=40 \
  --server-address "127.0.0.1:$KWOK_PORT"

wait_for kube-controller-manager 90 http_ok -k "https://127.0.0.1:$KCM_PORT/healthz"
wait_for kube-scheduler 90 http_ok -k "https://127.0.0.1:$SCHEDULER_PORT/healthz"
wait_for kwok 60 http_ok "http://127.0.0.1:$KWOK_PORT/healthz"
# Pods need the namespace's default service account, which the controller-manager creates.
wait_for kube-controller-manager 60 kctl -n default get serviceaccount default

# node-feature-discovery: its CRDs, a namespace for the NodeFeature objects, and the master. The label namespaces
# repeat what gpushare's gpu-operator values allow (nvidia.com, gpushare.io).
[ -s "${GPUSHARE_NFD_CRDS:-}" ] || gp_die "cluster-up: node-feature-discovery CRDs missing (toolchain.sh --cluster makes them)"
kctl apply --server-side --force-conflicts -f "$GPUSHARE_NFD_CRDS" >/dev/null
kwait 60 --for=condition=Established crd/nodefeatures.nfd.k8s-sigs.io crd/nodefeaturerules.nfd.k8s-sigs.io
kctl create namespace "$NFD_NAMESPACE" --dry-run=client -o yaml | kctl apply --server-side -f - >/dev/null
# nfd-master annotates the node it runs on (NODE_NAME) and exits without one: a control-plane node (KWOK, tainted so
# that no workload lands there) plays that part, as the node an nfd-master pod would run on.
kctl apply --server-side --force-conflicts -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $CONTROL_PLANE_NODE
  annotations: { kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0" }
  labels: { kubernetes.io/hostname: $CONTROL_PLANE_NODE, node-role.kubernetes.io/control-plane: "", type: kwok }
spec:
  taints: [{ key: node-role.kubernetes.io/control-plane, effect: NoSchedule }]
EOF
kwait 60 --for=condition=Ready "node/$CONTROL_PLANE_NODE"
NODE_NAME="$CONTROL_PLANE_NODE" KUBERNETES_NAMESPACE="$NFD_NAMESPACE" start nfd-master "$NFD_PORT" \
  -kubeconfig "$KUBECONFIG_FILE" -port "$NFD_PORT" -config /dev/null -extra-label-ns nvidia.com,gpushare.io
wait_for nfd-master 60 curl -fsS --max-time 3 "http://127.0.0.1:$NFD_PORT/healthz"

# start_node NAME SCRIPT ARGS...: one of our TypeScript programs (node, tsx from the project's node_modules).
start_node() {
  local name=$1 script=$2
  shift 2
  if running "$name" node; then
    gp_log "cluster: $name already running (pid $(cat "$PIDS/$name.pid"))"
    return
  fi
  [ -x "$ROOT/node_modules/.bin/tsx" ] || gp_die "cluster-up: $name needs node_modules; run npm ci first"
  gp_log "cluster: starting $name (log: $LOGS/$name.log)"
  setsid node --import tsx "$ROOT/$script" "$@" </dev/null >>"$LOGS/$name.log" 2>&1 8>&- 9>&- &
  echo "$!" >"$PIDS/$name.pid"
  sleep 1
  running "$name" node || {
    tail -n 30 "$LOGS/$name.log" >&2
    gp_die "cluster: $name exited (log: $LOGS/$name.log)"
  }
}

# The simulated device plugin (see tools/sim-device-plugin/README.md).
start_node sim-device-plugin tools/sim-device-plugin/main.ts --kubeconfig "$KUBECONFIG_FILE"
# The DRA side: the DeviceClasses NVIDIA's driver chart creates, and the simulated GPU kubelet plugin (see
# tools/sim-dra-plugin/README.md). resource.k8s.io/v1 is served, and consumable capacity allocated, by default.
kctl apply --server-side --force-conflicts -f "$ROOT/tools/sim-dra-plugin/installation.yaml" >/dev/null
start_node sim-dra-plugin tools/sim-dra-plugin/main.ts --kubeconfig "$KUBECONFIG_FILE" \
  --consumable-shares "${GPUSHARE_DRA_CONSUMABLE_SHARES:-disabled}"

# ---------------------------------------------------------------------------------------------------------------
# The monitoring loop of an "installed" kube-prometheus-stack and prometheus-adapter (what gpushare's `installed`
# mode expects to find): the operator's CRDs, generated from its API types; the objects those charts would have
# created (service accounts and their RBAC, the Prometheus resource, the adapter's Service and APIService); then the
# operator, Prometheus, the adapter (through tools/local-monitoring) and the simulated Triton metrics.
MON="$STATE/monitoring"
mkdir -p "$MON"
[ -s "${GPUSHARE_PROMETHEUS_OPERATOR_CRDS:-}" ] ||
  gp_die "cluster-up: prometheus-operator CRDs missing (toolchain.sh --cluster makes them)"
kctl apply --server-side --force-conflicts -f "$GPUSHARE_PROMETHEUS_OPERATOR_CRDS" >/dev/null
kwait 60 --for=condition=Established crd/prometheuses.monitoring.coreos.com \
  crd/podmonitors.monitoring.coreos.com crd/servicemonitors.monitoring.coreos.com
sed -e "s|@NAMESPACE@|$MONITORING_NAMESPACE|g" -e "s|@PROMETHEUS@|$PROMETHEUS_NAME|g" \
  -e "s|@APISERVER@|https://127.0.0.1:$APISERVER_PORT|g" -e "s|@CA_FILE@|$PKI/ca.crt|g" \
  -e "s|@TOKEN_FILE@|$MON/prometheus.token|g" -e "s|@CONTROL_PLANE_NODE@|$CONTROL_PLANE_NODE|g" \
  -e "s|\"@ADAPTER_PORT@\"|$ADAPTER_PORT|g" -e "s|@POD_INFO_PORT@|$POD_INFO_PORT|g" -e "s|@ADAPTER_CA_BUNDLE@|$(base64 -w0 <"$PKI/adapter-ca.crt")|g" \
  "$ROOT/tools/local-monitoring/installation.yaml" | kctl apply --server-side --force-conflicts -f - >/dev/null
# Service-account tokens for Prometheus' service discovery and for the adapter (a year: the cluster is throwaway).
kctl -n "$MONITORING_NAMESPACE" create token prometheus --duration 8760h >"$MON/prometheus.token"
kctl -n "$MONITORING_NAMESPACE" create token prometheus-adapter --duration 8760h >"$MON/adapter.token"
chmod 600 "$MON"/*.token
cat >"$MON/adapter.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters: [{ name: local, cluster: { server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: "$PKI/ca.crt" } }]
users: [{ name: prometheus-adapter, user: { tokenFile: "$MON/adapter.token" } }]
contexts: [{ name: local, context: { cluster: local, user: prometheus-adapter } }]
current-context: local
EOF
# The HPA controller (its own identity: --use-service-account-credentials) may read only the custom metrics it is
# granted: Kubernetes' bootstrap role would let it read any, so its custom-metrics rule is dropped here (and the
# API server told not to restore it). The grant then comes from the program alone (gpushare's hpa-metrics-reader).
node "$ROOT/tools/local-monitoring/hpa-role.mjs" "$KUBECONFIG_FILE"

start prometheus-operator "$OPERATOR_PORT" \
  --apiserver "https://127.0.0.1:$APISERVER_PORT" --ca-file "$PKI/ca.crt" \
  --cert-file "$PKI/admin.crt" --key-file "$PKI/admin.key" \
  --web.listen-address "127.0.0.1:$OPERATOR_PORT" --log-level warn
[ -f "$MON/prometheus.yaml" ] || printf 'global:\n  scrape_interval: 30s\n' >"$MON/prometheus.yaml"
start prometheus "$PROMETHEUS_PORT" \
  --config.file "$MON/prometheus.yaml" --storage.tsdb.path "$MON/data" --storage.tsdb.retention.time 1d \
  --web.listen-address "127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle --log.level warn
wait_for prometheus-operator 60 curl -fsS --max-time 3 "http://127.0.0.1:$OPERATOR_PORT/healthz"
wait_for prometheus 60 curl -fsS --max-time 3 "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
start_node local-monitoring tools/local-monitoring/main.ts --kubeconfig "$KUBECONFIG_FILE" \
  --prometheus-secret "$MONITORING_NAMESPACE/prometheus-$PROMETHEUS_NAME" --prometheus-config "$MON/prometheus.yaml" \
  --prometheus-url "http://127.0.0.1:$PROMETHEUS_PORT" \
  --adapter-configmap "$MONITORING_NAMESPACE/gpushare-adapter-rules" --adapter-config "$MON/adapter-rules.yaml" \
  --pod-info-port "$POD_INFO_PORT" -- \
  prometheus-adapter --config "$MON/adapter-rules.yaml" --prometheus-url "http://127.0.0.1:$PROMETHEUS_PORT" \
  --metrics-relist-interval 15s \
  --bind-address 127.0.0.1 --secure-port "$ADAPTER_PORT" \
  --tls-cert-file "$PKI/adapter.crt" --tls-private-key-file "$PKI/adapter.key" \
  --lister-kubeconfig "$MON/adapter.kubeconfig" \
  --authentication-kubeconfig "$MON/adapter.kubeconfig" --authorization-kubeconfig "$MON/adapter.kubeconfig" \
  --v 1
kwait 90 --for=condition=Available apiservice/v1beta1.custom.metrics.k8s.io ||
  gp_die "cluster: the custom metrics APIService is not Available (logs: $LOGS/local-monitoring.log)"
gp_log "cluster: custom metrics API available"
start_node sim-triton tools/sim-triton/main.ts --kubeconfig "$KUBECONFIG_FILE" --control-port "$SIM_TRITON_PORT"

gp_log "cluster: ready (kubeconfig: $KUBECONFIG_FILE)"
printf '%s\n' "$KUBECONFIG_FILE"
