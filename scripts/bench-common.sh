# Sourced by scripts/bench*.sh: what every benchmark does before measuring.
#   bench_prepare NAME   installs what is missing, builds the Release tree in
#                        build-bench/, starts (or reuses) the throwaway cluster
#                        in .bench/pg (stopped again on exit), and exports the
#                        environment tests/integration/cslib.py reads
#   bench_machine        prints the machine, the date and the build
# Callers run from the repository root with `set -euo pipefail`.

bench_prepare() {
  local name=$1
  root=$PWD
  scripts/setup.sh
  echo "$name: building build-bench (Release)"
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-bench -j"$(nproc)" >/dev/null
  scripts/pgcluster.sh start .bench/pg >/dev/null
  trap 'scripts/pgcluster.sh stop "$root/.bench/pg"' EXIT
  export CS_BIN=$root/build-bench/catalog-sync
  export CS_PASS_DIR=$root/build-bench/passes
  export CS_SOURCE_DIR=$root
  export CS_BUILD_DIR=$root/build-bench
  export CS_TEST_PGDIR=$root/.bench/pg
  export CS_SHARED_DIR=${CS_SHARED_DIR:-$root/../shared}
  port=$(cat .bench/pg/port)
  mkdir -p .bench
}

bench_machine() {
  echo "== machine"
  echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpus:     $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))"
  echo "memory:   $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel:   $(uname -sr)"
  echo "postgres: $(psql -X -At "host=127.0.0.1 port=$port user=postgres dbname=postgres" -c 'show server_version')"
  echo "build:    $("$CS_BIN" version 2>/dev/null | head -n 1), CMAKE_BUILD_TYPE=Release"
}
