#!/usr/bin/env bash
# The benchmarks of docs/benchmarks.md, in one command: installs what is
# missing, builds a Release tree in build-bench/, starts a throwaway
# Postgres cluster in .bench/pg (or reuses the one it made before), and runs
#   tests/bench/bench_host.py     host overhead: no-op pass through the
#                                 job queue (10,000 entities), RSS
#   tests/bench/bench_profile.py  discovery + profile of 1,000 tables
#                                 against the same statements from psql,
#                                 twice: tables of the demo database's
#                                 sizes, then tiny 200-row tables (where
#                                 the host's own overhead shows most)
# then prints the machine and the date with the results (also kept in
# .bench/results-<date>.txt).  Everything talks to 127.0.0.1 only.
# Takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh
bench_prepare bench
export CS_BENCH_ENTITIES=${CS_BENCH_ENTITIES:-10000}
export CS_BENCH_TABLES=${CS_BENCH_TABLES:-1000}

results=.bench/results-$(date -u +%Y%m%dT%H%M%SZ).txt
{
  bench_machine
  echo
  echo "== host overhead (tests/bench/bench_host.py, $CS_BENCH_ENTITIES entities)"
  /usr/bin/python3 tests/bench/bench_host.py
  echo
  echo "== profiling vs psql (tests/bench/bench_profile.py, $CS_BENCH_TABLES demo-sized tables)"
  CS_BENCH_ROWS=demo /usr/bin/python3 tests/bench/bench_profile.py
  echo
  echo "== profiling vs psql (tests/bench/bench_profile.py, $CS_BENCH_TABLES tables of 200 rows)"
  CS_BENCH_ROWS=200 /usr/bin/python3 tests/bench/bench_profile.py
} 2>&1 | tee "$results"
echo "bench: results kept in $results"
