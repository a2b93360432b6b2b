# Source this file (`. tools/env.sh`) to put the cached toolchain on PATH without building anything.
# Run tools/toolchain.sh first to build or find the tools; it also registers the provider plugins.
# shellcheck shell=bash
# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

__gp_path=""
for __gp_dir in $(gp_all_tool_dirs); do
  if [ -d "$__gp_dir" ]; then
    case ":$PATH:" in *":$__gp_dir:"*) ;; *) __gp_path="${__gp_path:+$__gp_path:}$__gp_dir" ;; esac
  fi
done
[ -n "$__gp_path" ] && export PATH="$__gp_path:$PATH"
unset __gp_path __gp_dir

export GPUSHARE_CACHE
# No update checks and no plugin downloads: everything comes from the local cache.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
