#!/usr/bin/env bash
# Builds a pass out of tree, exactly as the SDK guide tells third parties:
#   build.sh PREFIX SOURCE OUTPUT [extra cc flags...]
# PREFIX is where `cmake --install` put catalog-sync (its pkg-config file
# is found there).
set -euo pipefail
prefix=$1 src=$2 out=$3; shift 3
export PKG_CONFIG_PATH="$(ls -d "$prefix"/lib*/pkgconfig "$prefix"/lib/*/pkgconfig 2>/dev/null | tr '\n' ':')${PKG_CONFIG_PATH:-}"
cc -std=c99 -Wall -Wextra -Wno-unused-parameter -Werror -shared -o "$out" "$src" \
  $(pkg-config --cflags --libs catalog-sync-pass) "$@"
