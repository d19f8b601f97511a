#!/usr/bin/env bash
# The foreign-key discovery benchmark of docs/benchmarks.md (section 4), in
# one command: installs what is missing, builds a Release tree in
# build-bench/, starts the throwaway Postgres cluster in .bench/pg (or
# reuses the one it made before), and runs
#   build-bench/tests/bench_fk_scale   candidate generation over 10k, 100k
#                                      and 1M synthetic column records:
#                                      time and memory per column
#                                      (tests/bench/fk_scale.c)
#   tests/bench/bench_fk.py            precision/recall of fingerprint +
#                                      fk_discover against the declared
#                                      foreign keys of Pagila, Chinook and
#                                      Northwind (../shared/datasets), with
#                                      the constraints dropped before the run
# then prints the machine and the date with the results (also kept in
# .bench/fk-results-<date>.txt).  Everything talks to 127.0.0.1 only.
# CS_BENCH_FK_SIZES (default "10000 100000 1000000") sets the scale run's
# sizes, CS_BENCH_FK_SCALE_ARGS adds options to it (--max-posting N,
# --timeout S, --mem-limit MiB), CS_BENCH_FK_DATASETS picks datasets
# (comma-separated), CS_BENCH_FK_CONFIG is merged into fk_discover's config,
# CS_BENCH_FK_ANALYZE=0 measures on never-analyzed tables (default: ANALYZE
# after loading, as autovacuum would).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh
bench_prepare bench-fk
read -r -a sizes <<< "${CS_BENCH_FK_SIZES:-10000 100000 1000000}"
read -r -a scale_args <<< "${CS_BENCH_FK_SCALE_ARGS:-}"

results=.bench/fk-results-$(date -u +%Y%m%dT%H%M%SZ).txt
{
  bench_machine
  echo
  echo "== FK candidate generation at scale (tests/bench/fk_scale.c)"
  if [ -x build-bench/tests/bench_fk_scale ]; then
    build-bench/tests/bench_fk_scale "${scale_args[@]}" "${sizes[@]}" || echo "bench-fk: the scale run reported a failure"
  else
    echo "SKIPPED: build-bench/tests/bench_fk_scale was not built (no plugin/fk_common)"
  fi
  echo
  /usr/bin/python3 tests/bench/bench_fk.py || echo "bench-fk: bench_fk.py exited $?"
} 2>&1 | tee "$results"
echo "bench-fk: results kept in $results"
