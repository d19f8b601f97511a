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
. scripts/bench-common.sh
bench_prepare bench-pii
values=${CS_BENCH_PII_VALUES:-2000000}

results=.bench/pii-results-$(date -u +%Y%m%dT%H%M%SZ).txt
{
  bench_machine
  echo "pcre2:    $(pkg-config --modversion libpcre2-8)"
  echo
  echo "== recognizer throughput (tests/bench/pii_throughput.c)"
  build-bench/tests/bench_pii_throughput "$values" "$(nproc)"
  echo
  /usr/bin/python3 tests/bench/bench_pii.py
} 2>&1 | tee "$results"
echo "bench-pii: results kept in $results"
