#!/usr/bin/env bash
# Lints GitHub Actions workflows with actionlint (pinned: ACTIONLINT_VERSION in versions.env).
# Finds actionlint in this order, without other downloads than Debian packages and Go modules:
#   1. on PATH (any version; a version other than the pinned one is reported)
#   2. the per-version cache ${GPUSHARE_CACHE:-$HOME/.cache/gpushare}/bin/actionlint-v<version>/
#   3. the Debian package `actionlint`, when apt has a candidate for it and we are root
#   4. `go install github.com/rhysd/actionlint/cmd/actionlint@v<version>` into that cache (module proxy)
#
# Usage: tools/actionlint.sh [--print-path] [ACTIONLINT-ARG... FILE...]
#   no argument      lint every workflow under .github/workflows of this repository
#   arguments        passed to actionlint as they are, from the caller's directory
#   --print-path     only make actionlint available and print its path
# Exit status: actionlint's (0 clean, 1 problems found, 2+ failure), or 1 when actionlint cannot be had.
set -euo pipefail

# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

ACTIONLINT_MODULE=github.com/rhysd/actionlint

from_path() {
  command -v actionlint 2>/dev/null || return 1
}

from_cache() {
  local bin
  bin="$(gp_tool_dir actionlint "v$ACTIONLINT_VERSION")/actionlint"
  [ -x "$bin" ] && printf '%s\n' "$bin"
}

from_debian() {
  local candidate
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  candidate="$(apt-cache policy actionlint 2>/dev/null | awk '/Candidate:/ { print $2 }')"
  [ -n "$candidate" ] && [ "$candidate" != "(none)" ] || return 1
  gp_log "installing Debian package actionlint $candidate"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq actionlint >&2 || return 1
  command -v actionlint
}

from_go() {
  local out tmp start
  if ! command -v go >/dev/null 2>&1; then
    [ -x /usr/local/go/bin/go ] || return 1
    export PATH="/usr/local/go/bin:$PATH"
  fi
  out="$(gp_tool_dir actionlint "v$ACTIONLINT_VERSION")"
  tmp="$out.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp" "$GPUSHARE_CACHE/logs"
  gp_log "building actionlint v$ACTIONLINT_VERSION with go install (log: $GPUSHARE_CACHE/logs/actionlint.log)"
  start=$SECONDS
  if ! GOBIN="$tmp" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
    nice -n 10 go install -trimpath -ldflags "-s -w" "$ACTIONLINT_MODULE/cmd/actionlint@v$ACTIONLINT_VERSION" \
    >"$GPUSHARE_CACHE/logs/actionlint.log" 2>&1; then
    tail -n 20 "$GPUSHARE_CACHE/logs/actionlint.log" >&2 || true
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$out" && mv "$tmp" "$out"
  printf '%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" actionlint "v$ACTIONLINT_VERSION" "$((SECONDS - start))" \
    >>"$GPUSHARE_CACHE/logs/build-times.tsv"
  gp_log "built actionlint v$ACTIONLINT_VERSION in $((SECONDS - start))s -> $out"
  printf '%s\n' "$out/actionlint"
}

ensure_actionlint() {
  local bin version
  if bin="$(from_path)"; then
    version="$("$bin" -version 2>/dev/null | head -n1)"
    [ "$version" = "v$ACTIONLINT_VERSION" ] ||
      gp_log "using actionlint $version from PATH ($bin); pinned is v$ACTIONLINT_VERSION"
    printf '%s\n' "$bin"
    return 0
  fi
  bin="$(from_cache)" && { printf '%s\n' "$bin"; return 0; }
  mkdir -p "$GPUSHARE_BIN"
  # One install at a time per cache: parallel callers wait, then find the cached binary.
  exec 8>"$GPUSHARE_CACHE/.actionlint.lock"
  flock 8
  bin="$(from_cache)" && { printf '%s\n' "$bin"; return 0; }
  bin="$(from_debian)" && { printf '%s\n' "$bin"; return 0; }
  bin="$(from_go)" && { printf '%s\n' "$bin"; return 0; }
  gp_die "actionlint v$ACTIONLINT_VERSION: not on PATH, not cached, no Debian package, and go install failed or no Go toolchain (install Go 1.26)"
}

actionlint_bin="$(ensure_actionlint)"

if [ "${1:-}" = "--print-path" ]; then
  printf '%s\n' "$actionlint_bin"
  exit 0
fi

if [ $# -eq 0 ]; then
  cd "$GPUSHARE_TOOLS_DIR/.."
  shopt -s nullglob
  workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
  [ ${#workflows[@]} -gt 0 ] || gp_die "no workflow files under $(pwd)/.github/workflows"
  set -- "${workflows[@]}"
fi
command -v shellcheck >/dev/null 2>&1 ||
  gp_log "shellcheck not on PATH: run: scripts are not checked (apt-get install shellcheck to enable)"
exec "$actionlint_bin" "$@"
