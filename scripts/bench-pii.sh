#!/usr/bin/env bash
# The PII tagging benchmark of docs/benchmarks.md (section 3), in one
# command: installs what is missing, builds a Release tree in build-bench/,
# starts the throwaway Postgres cluster in .bench/pg (or reuses the one it
# made before), and runs
#   build-bench/tests/bench_pii_throughput   recognizer throughput: cell
#                                            values per second per core
#                                            (tests/bench/pii_throughput.c)
#   tests/bench/bench_pii.py                 column-level precision/recall of
#                                            pii_tag on the labeled corpus
#                                            (tests/pii/) and on Pagila,
#                                            Chinook and Northwind when
#                                            ../shared/datasets is there
# then prints the machine and the date with the results (also kept in
# .bench/pii-results-<date>.txt).  Everything talks to 127.0.0.1 only.
# About 15 seconds on 2 cores once build-bench/ is built.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/setup.sh
echo "bench-pii: building build-bench (Release)"
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
values=${CS_BENCH_PII_VALUES:-2000000}

port=$(cat .bench/pg/port)
mkdir -p .bench
results=.bench/pii-results-$(date -u +%Y%m%dT%H%M%SZ).txt
{
  echo "== machine"
  echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpus:     $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))"
  echo "memory:   $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel:   $(uname -sr)"
  echo "pcre2:    $(pkg-config --modversion libpcre2-8)"
  echo "postgres: $(psql -X -At "host=127.0.0.1 port=$port user=postgres dbname=postgres" -c 'show server_version')"
  echo "build:    $("$CS_BIN" version 2>/dev/null | head -n 1), CMAKE_BUILD_TYPE=Release"
  echo
  echo "== recognizer throughput (tests/bench/pii_throughput.c)"
  build-bench/tests/bench_pii_throughput "$values" "$(nproc)"
  echo
  /usr/bin/python3 tests/bench/bench_pii.py
} 2>&1 | tee "$results"
echo "bench-pii: results kept in $results"
