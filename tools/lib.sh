# Shared helpers for tools/*.sh (sourced, not executed).
# shellcheck shell=bash

GPUSHARE_TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$GPUSHARE_TOOLS_DIR/versions.env"

GPUSHARE_CACHE="${GPUSHARE_CACHE:-$HOME/.cache/gpushare}"
GPUSHARE_BIN="$GPUSHARE_CACHE/bin"

# Cache directory of one tool at one version: $GPUSHARE_CACHE/bin/<tool>-<version>/
gp_tool_dir() { printf '%s/%s-%s\n' "$GPUSHARE_BIN" "$1" "$2"; }

# Cache directories that go on PATH, in order (providers are not: they are used from the Pulumi plugin cache).
gp_all_tool_dirs() {
  gp_tool_dir pulumi "v$PULUMI_VERSION"
  gp_tool_dir pulumi-language-nodejs "v$PULUMI_LANGHOST_VERSION"
  gp_tool_dir kubernetes "v$KUBERNETES_VERSION"
  gp_tool_dir etcd "v$ETCD_VERSION"
  gp_tool_dir kwok "v$KWOK_VERSION"
  gp_tool_dir nfd "v$NFD_VERSION"
  gp_tool_dir dra-validate "v$DRA_VALIDATE_VERSION"
}

gp_log() { printf '[gpushare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
gp_die() { gp_log "ERROR: $*"; exit 1; }
