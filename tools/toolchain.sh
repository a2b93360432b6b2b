#!/usr/bin/env bash
# Provides the pinned toolchain (versions in tools/versions.env) without internet access:
#   pulumi CLI, pulumi-language-nodejs, pulumi-resource-kubernetes   (--pulumi)
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, kwok,
#   nfd-master and node-feature-discovery's CRDs (generated with controller-gen),
#   prometheus, prometheus-operator (and its CRDs, generated likewise), prometheus-adapter   (--cluster)
#   dra-validate: NVIDIA's DRA driver's own checks of opaque device configs (tools/dra-validate)   (--dra)
# For each tool: already on PATH at the pinned version -> use it; else the per-version cache
# ${GPUSHARE_CACHE:-$HOME/.cache/gpushare}/bin/<tool>-v<version>/; else build it from Go modules (module proxy)
# in a wrapper module under $GPUSHARE_CACHE/build/. Providers are then registered with `pulumi plugin install`
# (into ${PULUMI_HOME:-~/.pulumi}).
#
# Usage: tools/toolchain.sh [--pulumi] [--cluster] [--dra] [--with-random] [--no-build]
#   no component flag = all three. Progress goes to stderr; stdout gets only `export PATH=...`, so
#   eval "$(tools/toolchain.sh)"     or afterwards   . tools/env.sh
# Exits non-zero, naming the tool and the reason, when a tool cannot be had.
set -euo pipefail

# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

want_pulumi=0 want_cluster=0 want_dra=0 want_random=0 allow_build=1
for arg in "$@"; do
  case "$arg" in
    --pulumi) want_pulumi=1 ;;
    --cluster) want_cluster=1 ;;
    --dra) want_dra=1 ;;
    --with-random) want_random=1 ;;
    --no-build) allow_build=0 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) gp_die "unknown argument: $arg (see --help)" ;;
  esac
done
if [ "$want_pulumi" = 0 ] && [ "$want_cluster" = 0 ] && [ "$want_dra" = 0 ]; then
  want_pulumi=1 want_cluster=1 want_dra=1
fi

mkdir -p "$GPUSHARE_BIN" "$GPUSHARE_CACHE/build" "$GPUSHARE_CACHE/logs"
exec 9>"$GPUSHARE_CACHE/.toolchain.lock"
flock 9 # one toolchain.sh at a time per cache

PATH_DIRS=() # directories to put in front of PATH, in order

add_path_dir() {
  local d
  for d in "${PATH_DIRS[@]}"; do [ "$d" = "$1" ] && return 0; done
  PATH_DIRS+=("$1")
}

# ---------------------------------------------------------------------------------------------------------------
# Building

ensure_go() {
  if ! command -v go >/dev/null 2>&1; then
    [ -x /usr/local/go/bin/go ] || gp_die "$1: needs a build, but no Go toolchain was found (install Go 1.26)"
    export PATH="/usr/local/go/bin:$PATH"
  fi
  export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
}

# write_if_changed FILE CONTENT: rewrite a wrapper's generated file only when its content changes.
write_if_changed() {
  if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then printf '%s\n' "$2" >"$1"; fi
}

# new_wrapper NAME-VERSION GO_MOD_CONTENT [IMPORT...]: a wrapper module in $GPUSHARE_CACHE/build/NAME-VERSION
# whose tools.go imports the given main packages (so `go mod tidy` keeps them).
new_wrapper() {
  local dir="$GPUSHARE_CACHE/build/$1" gomod="$2" imp
  shift 2
  mkdir -p "$dir"
  if [ ! -f "$dir/go.mod.in" ] || [ "$(cat "$dir/go.mod.in")" != "$gomod" ]; then
    printf '%s\n' "$gomod" >"$dir/go.mod.in"
    printf '%s\n' "$gomod" >"$dir/go.mod"
    rm -f "$dir/go.sum"
  fi
  if [ $# -gt 0 ]; then
    local tools=$'//go:build tools\n\npackage tools\n\nimport ('
    for imp in "$@"; do tools+=$'\n\t_ "'"$imp"'"'; done
    tools+=$'\n)'
    write_if_changed "$dir/tools.go" "$tools"
  fi
  printf '%s\n' "$dir"
}

# go_build TOOL VERSION WRAPPER_DIR LDFLAGS TAGS OUTPUT PKG...: tidy + build into the tool's cache dir.
# OUTPUT is a binary name (single package) or "" (several packages: binaries named after their packages).
go_build() {
  local tool=$1 version=$2 wdir=$3 ldflags=$4 tags=$5 output=$6
  shift 6
  local out tmp log start pid elapsed
  out="$(gp_tool_dir "$tool" "$version")"
  tmp="$out.tmp"
  log="$GPUSHARE_CACHE/logs/$tool-$version.log"
  rm -rf "$tmp" && mkdir -p "$tmp"
  gp_log "building $tool $version from Go modules (wrapper: $wdir, log: $log)"
  start=$SECONDS
  (
    cd "$wdir"
    echo "+ go mod tidy"
    go mod tidy
    echo "+ go build $*"
    TIMEFORMAT='+ build-cpu: wall %R s, user %U s, sys %S s'
    time nice -n 10 go build -trimpath ${tags:+-tags "$tags"} -ldflags "-s -w $ldflags" -o "$tmp/$output" "$@"
  ) >"$log" 2>&1 &
  pid=$!
  local next=60
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    elapsed=$((SECONDS - start))
    if [ "$elapsed" -ge "$next" ]; then
      gp_log "  ... still building $tool $version (${elapsed}s, last: $(tail -n1 "$log" | cut -c1-100))"
      next=$((next + 60))
    fi
  done
  if ! wait "$pid"; then
    tail -n 30 "$log" >&2 || true
    gp_die "$tool $version: build failed (full log: $log)"
  fi
  rm -rf "$out" && mv "$tmp" "$out"
  elapsed=$((SECONDS - start))
  printf '%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$tool" "$version" "$elapsed" >>"$GPUSHARE_CACHE/logs/build-times.tsv"
  gp_log "built $tool $version in ${elapsed}s -> $out"
}

# ---------------------------------------------------------------------------------------------------------------
# Resolution: PATH -> cache -> build

# on_path_matches BINARY EXPECTED CMD...: BINARY is on PATH (outside our cache) and CMD's output contains EXPECTED.
on_path_matches() {
  local bin=$1 expected=$2 found
  shift 2
  found="$(command -v "$bin" 2>/dev/null)" || return 1
  case "$found" in "$GPUSHARE_BIN"/*) return 1 ;; esac
  [ -z "$expected" ] && return 0
  "$@" 2>&1 | grep -qF -- "$expected"
}

# resolve TOOL VERSION BUILD_FN BINARY:CHECK_EXPECTED:CHECK_ARGS... ; one spec per binary the tool provides.
# Sets RESOLVED_DIR to the directory holding the binaries.
resolve() {
  local tool=$1 version=$2 build_fn=$3 spec bin expected args all_on_path=1 dirs=() cache
  shift 3
  for spec in "$@"; do
    IFS=: read -r bin expected args <<<"$spec"
    # shellcheck disable=SC2086
    if on_path_matches "$bin" "$expected" "$bin" $args; then
      dirs+=("$(dirname "$(command -v "$bin")")")
    else
      all_on_path=0
    fi
  done
  if [ "$all_on_path" = 1 ]; then
    RESOLVED_DIR="${dirs[0]}"
    gp_log "$tool $version: using PATH ($RESOLVED_DIR)"
    return
  fi
  cache="$(gp_tool_dir "$tool" "$version")"
  local complete=1
  for spec in "$@"; do [ -x "$cache/${spec%%:*}" ] || complete=0; done
  if [ "$complete" = 1 ]; then
    gp_log "$tool $version: cached ($cache)"
  else
    [ "$allow_build" = 1 ] || gp_die "$tool $version: not on PATH and not cached ($cache), and --no-build was given"
    ensure_go "$tool $version"
    "$build_fn"
  fi
  RESOLVED_DIR="$cache"
}

build_pulumi() {
  local w
  w="$(new_wrapper "pulumi-v$PULUMI_VERSION" "module gpushare.local/pulumi-build

go 1.26.6

require (
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
)

// Non-local replace copied from github.com/pulumi/pulumi/pkg/v3's go.mod (its sdk => ../sdk is dropped).
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)"
  go_build pulumi "v$PULUMI_VERSION" "$w" \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    osusergo,grpcnotrace pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_langhost() {
  local w
  w="$(new_wrapper "pulumi-language-nodejs-v$PULUMI_LANGHOST_VERSION" "module gpushare.local/pulumi-language-nodejs

go 1.26.0

require github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION")"
  cp "$GPUSHARE_TOOLS_DIR/langhost-nodejs/main.go" "$w/main.go"
  go_build pulumi-language-nodejs "v$PULUMI_LANGHOST_VERSION" "$w" \
    "-X main.version=$PULUMI_LANGHOST_VERSION -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    "" pulumi-language-nodejs .
}

build_k8s_provider() {
  local w src
  w="$(new_wrapper "pulumi-resource-kubernetes-v$K8S_PROVIDER_VERSION" "module gpushare.local/pulumi-resource-kubernetes

go 1.24.7

require $K8S_PROVIDER_MODULE $K8S_PROVIDER_MODULE_VERSION")"
  # The provider's main package embeds generated files that are not part of the module; generate them here from
  # the committed schema.json / terraform-mapping.json of the module cache copy (as its generate.go does).
  gp_log "pulumi-resource-kubernetes: downloading $K8S_PROVIDER_MODULE@$K8S_PROVIDER_MODULE_VERSION"
  src="$(cd "$w" && go mod download -json "$K8S_PROVIDER_MODULE@$K8S_PROVIDER_MODULE_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/cmd/pulumi-resource-kubernetes"
  [ -f "$src/schema.json" ] || gp_die "pulumi-resource-kubernetes: schema.json not found in $src"
  install -m 0644 "$src/main.go" "$w/main.go"
  jq -c --arg v "$K8S_PROVIDER_VERSION" '.version = $v' "$src/schema.json" >"$w/schema-embed.json"
  jq -c . "$src/terraform-mapping.json" >"$w/terraform-mapping-embed.json"
  go_build pulumi-resource-kubernetes "v$K8S_PROVIDER_VERSION" "$w" \
    "-X $K8S_PROVIDER_MODULE/pkg/version.Version=$K8S_PROVIDER_VERSION" "" pulumi-resource-kubernetes .
}

build_kubernetes() {
  local w gomod m ld="" p
  # k8s.io/kubernetes replaces its staging modules by local paths; use their published releases instead.
  gp_log "kubernetes: reading k8s.io/kubernetes@v$KUBERNETES_VERSION go.mod"
  gomod="$(cd "$GPUSHARE_CACHE/build" && go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  [ -f "$gomod" ] || gp_die "kubernetes: could not download k8s.io/kubernetes@v$KUBERNETES_VERSION"
  local content="module gpushare.local/kubernetes-build

go 1.26.0

godebug default=go1.26

require k8s.io/kubernetes v$KUBERNETES_VERSION

replace ("
  for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod"); do
    content+=$'\n\t'"$m => $m v$KUBERNETES_STAGING_VERSION"
  done
  content+=$'\n)'
  w="$(new_wrapper "kubernetes-v$KUBERNETES_VERSION" "$content" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)"
  local major=${KUBERNETES_VERSION%%.*} minor=${KUBERNETES_VERSION#*.}
  minor=${minor%%.*}
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=v$KUBERNETES_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  go_build kubernetes "v$KUBERNETES_VERSION" "$w" "$ld" "" "" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
}

build_etcd() {
  local w
  # etcd's server module replaces its sibling modules by local paths; require the same release instead.
  w="$(new_wrapper "etcd-v$ETCD_VERSION" "module gpushare.local/etcd-build

go 1.26.0

require (
	go.etcd.io/etcd/server/v3 v$ETCD_VERSION
	go.etcd.io/etcd/api/v3 v$ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 v$ETCD_VERSION
	go.etcd.io/etcd/client/v3 v$ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 v$ETCD_VERSION
)" go.etcd.io/etcd/server/v3)"
  go_build etcd "v$ETCD_VERSION" "$w" "-X go.etcd.io/etcd/api/v3/version.GitSHA=v$ETCD_VERSION" "" etcd \
    go.etcd.io/etcd/server/v3
}

build_kwok() {
  local w
  w="$(new_wrapper "kwok-v$KWOK_VERSION" "module gpushare.local/kwok-build

go 1.26.0

require sigs.k8s.io/kwok v$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok)"
  go_build kwok "v$KWOK_VERSION" "$w" "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" "" kwok \
    sigs.k8s.io/kwok/cmd/kwok
}

build_nfd() {
  local w content m
  # node-feature-discovery replaces its API module by a local path and pins the k8s.io modules by replace; use
  # the published API module of the same release and repeat the pins.
  content="module gpushare.local/nfd-build

go 1.26.0

require (
	sigs.k8s.io/node-feature-discovery v$NFD_VERSION
	sigs.k8s.io/node-feature-discovery/api/nfd v$NFD_VERSION
)

replace ("
  gp_log "nfd: reading sigs.k8s.io/node-feature-discovery@v$NFD_VERSION go.mod"
  local gomod
  gomod="$(cd "$GPUSHARE_CACHE/build" && go mod download -json "sigs.k8s.io/node-feature-discovery@v$NFD_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  [ -f "$gomod" ] || gp_die "nfd: could not download sigs.k8s.io/node-feature-discovery@v$NFD_VERSION"
  while read -r m; do content+=$'\n\t'"$m"; done < <(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]* => k8s.io/[a-z0-9-]* v[0-9.]*\)$#\1#p' "$gomod")
  content+=$'\n)'
  w="$(new_wrapper "nfd-v$NFD_VERSION" "$content" sigs.k8s.io/node-feature-discovery/cmd/nfd-master)"
  go_build nfd "v$NFD_VERSION" "$w" "-X sigs.k8s.io/node-feature-discovery/pkg/version.version=v$NFD_VERSION" "" \
    nfd-master sigs.k8s.io/node-feature-discovery/cmd/nfd-master
}

build_controller_gen() {
  local w
  w="$(new_wrapper "controller-gen-v$CONTROLLER_TOOLS_VERSION" "module gpushare.local/controller-gen-build

go 1.26.0

require sigs.k8s.io/controller-tools v$CONTROLLER_TOOLS_VERSION" sigs.k8s.io/controller-tools/cmd/controller-gen)"
  go_build controller-gen "v$CONTROLLER_TOOLS_VERSION" "$w" "" "" controller-gen \
    sigs.k8s.io/controller-tools/cmd/controller-gen
}

build_prometheus() {
  local w
  w="$(new_wrapper "prometheus-v$PROMETHEUS_VERSION" "module gpushare.local/prometheus-build

go 1.26.0

require github.com/prometheus/prometheus v$PROMETHEUS_VERSION" github.com/prometheus/prometheus/cmd/prometheus)"
  go_build prometheus "v$PROMETHEUS_VERSION" "$w" \
    "-X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" remove_all_sd,enable_kubernetes_sd \
    prometheus github.com/prometheus/prometheus/cmd/prometheus
}

build_prometheus_operator() {
  local w
  # The operator replaces its API and client modules by local paths; use the published modules of the release.
  # cloud.google.com/go: a dependency's test graph pulls v0.34.0, which still holds compute/metadata, now a module
  # of its own; a version without it makes that import unambiguous for `go mod tidy`.
  w="$(new_wrapper "prometheus-operator-v$PROMETHEUS_OPERATOR_VERSION" "module gpushare.local/prometheus-operator-build

go 1.26.0

require (
	cloud.google.com/go v0.123.0
	github.com/prometheus-operator/prometheus-operator v$PROMETHEUS_OPERATOR_VERSION
	github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring v$PROMETHEUS_OPERATOR_VERSION
	github.com/prometheus-operator/prometheus-operator/pkg/client v$PROMETHEUS_OPERATOR_VERSION
)" github.com/prometheus-operator/prometheus-operator/cmd/operator)"
  go_build prometheus-operator "v$PROMETHEUS_OPERATOR_VERSION" "$w" \
    "-X github.com/prometheus/common/version.Version=$PROMETHEUS_OPERATOR_VERSION" "" \
    prometheus-operator github.com/prometheus-operator/prometheus-operator/cmd/operator
}

build_prometheus_adapter() {
  local w
  w="$(new_wrapper "prometheus-adapter-v$PROMETHEUS_ADAPTER_VERSION" "module gpushare.local/prometheus-adapter-build

go 1.26.0

require sigs.k8s.io/prometheus-adapter v$PROMETHEUS_ADAPTER_VERSION" sigs.k8s.io/prometheus-adapter/cmd/adapter)"
  go_build prometheus-adapter "v$PROMETHEUS_ADAPTER_VERSION" "$w" "" "" \
    prometheus-adapter sigs.k8s.io/prometheus-adapter/cmd/adapter
}

build_dra_validate() {
  local w src="$GPUSHARE_TOOLS_DIR/dra-validate"
  # Our own program (tools/dra-validate), built against the driver's module at DRA_DRIVER_VERSION: its go.mod and
  # go.sum are copied, then the requirement is set to the pinned version (a no-op while they agree).
  w="$(new_wrapper "dra-validate-v$DRA_VALIDATE_VERSION" "$(cat "$src/go.mod")")"
  install -m 0644 "$src/main.go" "$w/main.go"
  install -m 0644 "$src/go.sum" "$w/go.sum"
  (cd "$w" && go mod edit -require="sigs.k8s.io/dra-driver-nvidia-gpu@v$DRA_DRIVER_VERSION") ||
    gp_die "dra-validate: go mod edit failed"
  go_build dra-validate "v$DRA_VALIDATE_VERSION" "$w" "-X main.version=$DRA_VALIDATE_VERSION" "" dra-validate .
}

# generate_crds NAME OUT WRAPPER MODULE@VERSION PATHS...: CustomResourceDefinitions generated by controller-gen
# (crd:crdVersions=v1, as upstream generates its manifests) from the API types of a pinned release, read from the Go
# module cache copy of the API module (downloaded in the tool's wrapper module), concatenated into OUT. Kept once made.
generate_crds() {
  local name=$1 out=$2 wrapper=$3 module=$4 src cg f paths=()
  shift 4
  [ -s "$out" ] && return
  ensure_go "$name CRDs"
  cg="$(gp_tool_dir controller-gen "v$CONTROLLER_TOOLS_VERSION")/controller-gen"
  src="$(cd "$GPUSHARE_CACHE/build/$wrapper" && go mod download -json "$module" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$src" ] || gp_die "$name CRDs: API module $module not found"
  for f in "$@"; do paths+=("paths=$f"); done
  mkdir -p "$(dirname "$out")" && rm -rf "$out.d" && mkdir -p "$out.d"
  # controller-gen loads packages relative to the working directory: run it in the API module's own copy.
  (cd "$src" && GOFLAGS=-mod=mod "$cg" crd:crdVersions=v1 "${paths[@]}" output:crd:dir="$out.d") >&2 ||
    gp_die "$name CRDs: controller-gen failed"
  : >"$out.tmp"
  for f in "$out.d"/*.yaml; do { echo "---"; cat "$f"; } >>"$out.tmp"; done
  mv "$out.tmp" "$out" && rm -rf "$out.d"
  gp_log "$name CRDs: wrote $out"
}

# KWOK's standalone binary has no built-in stages (kwokctl adds them). Assemble the upstream default stages (node
# initialize + heartbeat with lease; pod ready/complete/delete) from the module cache copy of sigs.k8s.io/kwok.
ensure_kwok_stages() {
  local out src f
  out="$GPUSHARE_CACHE/share/kwok-v$KWOK_VERSION/stages.yaml"
  KWOK_STAGES="$out"
  [ -s "$out" ] && return
  ensure_go "kwok stages"
  mkdir -p "$(dirname "$out")"
  src="$(cd "$GPUSHARE_CACHE/build" && go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/kustomize/stage"
  : >"$out.tmp"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [ -f "$src/$f" ] || gp_die "kwok stages: $src/$f not found"
    { echo "---"; cat "$src/$f"; } >>"$out.tmp"
  done
  mv "$out.tmp" "$out"
  gp_log "kwok stages: wrote $out"
}

# register_plugin KIND NAME VERSION BINARY: install into the Pulumi plugin cache unless the same binary is there.
register_plugin() {
  local kind=$1 name=$2 version=$3 bin=$4 pdir
  pdir="${PULUMI_HOME:-$HOME/.pulumi}/plugins/$kind-$name-v$version"
  if [ -f "$pdir/pulumi-$kind-$name" ] && [ ! -e "$pdir.partial" ] && cmp -s "$pdir/pulumi-$kind-$name" "$bin"; then
    gp_log "plugin $kind $name $version: already registered ($pdir)"
    return
  fi
  gp_log "plugin $kind $name $version: registering $bin"
  PULUMI_SKIP_UPDATE_CHECK=true pulumi plugin install "$kind" "$name" "$version" --file "$bin" --reinstall >&2 ||
    gp_die "plugin $kind $name $version: pulumi plugin install failed"
}

# ---------------------------------------------------------------------------------------------------------------

if [ "$want_pulumi" = 1 ]; then
  resolve pulumi "v$PULUMI_VERSION" build_pulumi "pulumi:v$PULUMI_VERSION:version"
  add_path_dir "$RESOLVED_DIR"
  pulumi_dir="$RESOLVED_DIR"
  resolve pulumi-language-nodejs "v$PULUMI_LANGHOST_VERSION" build_langhost "pulumi-language-nodejs::"
  if [ "$pulumi_dir" = "$(gp_tool_dir pulumi "v$PULUMI_VERSION")" ]; then
    # Next to the CLI, the language host counts as bundled (as in Pulumi's release archives): no PATH warning.
    ln -sfn "$RESOLVED_DIR/pulumi-language-nodejs" "$pulumi_dir/pulumi-language-nodejs"
  fi
  add_path_dir "$RESOLVED_DIR"
  resolve pulumi-resource-kubernetes "v$K8S_PROVIDER_VERSION" build_k8s_provider "pulumi-resource-kubernetes::"
  k8s_provider_bin="$RESOLVED_DIR/pulumi-resource-kubernetes"
  PATH="$(IFS=:; echo "${PATH_DIRS[*]}"):$PATH"
  export PATH
  register_plugin resource kubernetes "$K8S_PROVIDER_VERSION" "$k8s_provider_bin"
  if [ "$want_random" = 1 ]; then
    random_bin="$(command -v pulumi-resource-random 2>/dev/null)" ||
      gp_die "pulumi-resource-random $RANDOM_PROVIDER_VERSION: cannot be had: its provider module" \
        "(github.com/pulumi/pulumi-random/provider/v4) is not served by the Go module proxy at any version," \
        "and no pulumi-resource-random binary is on PATH"
    register_plugin resource random "$RANDOM_PROVIDER_VERSION" "$random_bin"
  fi
fi

if [ "$want_cluster" = 1 ]; then
  resolve kubernetes "v$KUBERNETES_VERSION" build_kubernetes \
    "kube-apiserver:v$KUBERNETES_VERSION:--version" \
    "kube-controller-manager:v$KUBERNETES_VERSION:--version" \
    "kube-scheduler:v$KUBERNETES_VERSION:--version" \
    "kubectl:v$KUBERNETES_VERSION:version --client"
  add_path_dir "$RESOLVED_DIR"
  resolve etcd "v$ETCD_VERSION" build_etcd "etcd:$ETCD_VERSION:--version"
  add_path_dir "$RESOLVED_DIR"
  resolve kwok "v$KWOK_VERSION" build_kwok "kwok:$KWOK_VERSION:--version"
  add_path_dir "$RESOLVED_DIR"
  ensure_kwok_stages
  resolve nfd "v$NFD_VERSION" build_nfd "nfd-master:v$NFD_VERSION:-version"
  add_path_dir "$RESOLVED_DIR"
  resolve controller-gen "v$CONTROLLER_TOOLS_VERSION" build_controller_gen "controller-gen:v$CONTROLLER_TOOLS_VERSION:--version"
  NFD_CRDS="$GPUSHARE_CACHE/share/nfd-v$NFD_VERSION/crds.yaml"
  generate_crds nfd "$NFD_CRDS" "nfd-v$NFD_VERSION" "sigs.k8s.io/node-feature-discovery/api/nfd@v$NFD_VERSION" \
    ./v1alpha1/...
  resolve prometheus "v$PROMETHEUS_VERSION" build_prometheus "prometheus:$PROMETHEUS_VERSION:--version"
  add_path_dir "$RESOLVED_DIR"
  resolve prometheus-operator "v$PROMETHEUS_OPERATOR_VERSION" build_prometheus_operator \
    "prometheus-operator:$PROMETHEUS_OPERATOR_VERSION:--version"
  add_path_dir "$RESOLVED_DIR"
  # Every API version of monitoring.coreos.com (v1, v1alpha1, v1beta1), as upstream's `make generate-crds`.
  PROMETHEUS_OPERATOR_CRDS="$GPUSHARE_CACHE/share/prometheus-operator-v$PROMETHEUS_OPERATOR_VERSION/crds.yaml"
  generate_crds prometheus-operator "$PROMETHEUS_OPERATOR_CRDS" "prometheus-operator-v$PROMETHEUS_OPERATOR_VERSION" \
    "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring@v$PROMETHEUS_OPERATOR_VERSION" ./...
  resolve prometheus-adapter "v$PROMETHEUS_ADAPTER_VERSION" build_prometheus_adapter "prometheus-adapter::"
  add_path_dir "$RESOLVED_DIR"
fi

if [ "$want_dra" = 1 ]; then
  resolve dra-validate "v$DRA_VALIDATE_VERSION" build_dra_validate "dra-validate:$DRA_VALIDATE_VERSION:--version"
  add_path_dir "$RESOLVED_DIR"
fi

gp_log "toolchain ready"
printf 'export PATH="%s:$PATH"\n' "$(IFS=:; echo "${PATH_DIRS[*]}")"
[ -n "${KWOK_STAGES:-}" ] && printf 'export GPUSHARE_KWOK_STAGES="%s"\n' "$KWOK_STAGES"
[ -n "${NFD_CRDS:-}" ] && printf 'export GPUSHARE_NFD_CRDS="%s"\n' "$NFD_CRDS"
[ -n "${PROMETHEUS_OPERATOR_CRDS:-}" ] && printf 'export GPUSHARE_PROMETHEUS_OPERATOR_CRDS="%s"\n' "$PROMETHEUS_OPERATOR_CRDS"
exit 0
