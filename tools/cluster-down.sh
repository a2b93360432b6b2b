#!/usr/bin/env bash
# Stops the control plane started by tools/cluster-up.sh: only the processes recorded in its pid files, and only
# if they still run the expected binary. Usage: tools/cluster-down.sh [--purge]
#   --purge  also delete the cluster state (etcd data, certificates, kubeconfig, logs).
set -euo pipefail

# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

purge=0
for arg in "$@"; do
  case "$arg" in
    --purge) purge=1 ;;
    *) gp_die "unknown argument: $arg (usage: cluster-down.sh [--purge])" ;;
  esac
done

STATE="${GPUSHARE_CLUSTER_DIR:-$GPUSHARE_CACHE/cluster}"
PIDS="$STATE/pids"

# pid_of NAME: the recorded pid of NAME if it is alive and still runs the NAME binary (for our TypeScript programs,
# sim-* and local-monitoring: node running their main.ts).
pid_of() {
  local name=$1 bin=$1 pid exe
  case "$name" in sim-* | local-monitoring) bin=node ;; esac
  [ -f "$PIDS/$name.pid" ] || return 1
  pid="$(cat "$PIDS/$name.pid")"
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(basename "${exe% (deleted)}")" = "$bin" ] || return 1
  [ "$bin" = "$name" ] || tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$name" || return 1
  echo "$pid"
}

# stop NAME...: SIGTERM the named components together, wait up to 10s, then SIGKILL what is left.
stop() {
  local name pid pids=() n
  for name in "$@"; do
    if pid="$(pid_of "$name")"; then
      gp_log "cluster: stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for n in $(seq 1 50); do
    [ ${#pids[@]} -eq 0 ] && break
    local alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    pids=("${alive[@]+"${alive[@]}"}")
    [ ${#pids[@]} -eq 0 ] || sleep 0.2
  done
  for pid in "${pids[@]+"${pids[@]}"}"; do
    gp_log "cluster: pid $pid did not stop in 10s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  done
  for name in "$@"; do rm -f "$PIDS/$name.pid"; done
  : "$n"
}

if [ -d "$STATE" ]; then
  exec 8>"$STATE/cluster.lock"
  # Stopping is safe without the lock; don't wait forever on a stale holder.
  flock -w 30 8 || gp_log "cluster: $STATE/cluster.lock is busy; stopping anyway"
  stop sim-triton local-monitoring prometheus prometheus-operator
  stop sim-dra-plugin sim-device-plugin nfd-master kwok kube-scheduler kube-controller-manager
  stop kube-apiserver
  stop etcd
  if [ "$purge" = 1 ]; then
    gp_log "cluster: removing $STATE"
    rm -rf "$STATE"
  fi
fi
gp_log "cluster: down"
