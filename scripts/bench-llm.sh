#!/usr/bin/env bash
# The LLM client benchmark of docs/benchmarks.md, in one command: installs
# what is missing, builds a Release tree in build-bench/, starts the
# throwaway Postgres cluster in .bench/pg (or reuses the one it made
# before), and runs tests/bench/bench_llm.py: the real daemon, one llm_chat
# per table against the fake OpenAI-compatible server at 200 ms latency,
#   - concurrency 16, no rate limit: calls/s against 16 / 0.2 s = 80/s
#     (target >= 0.9 of it);
#   - rate_per_second 30: the achieved rate (target within 5 %);
# then prints the machine and the date with the figures (also kept in
# .bench/llm-results-<date>.txt).  Everything talks to 127.0.0.1 only.
# About 30 seconds on 2 cores once build-bench/ is built.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh
bench_prepare bench-llm

results=.bench/llm-results-$(date -u +%Y%m%dT%H%M%SZ).txt
{
  bench_machine
  echo
  /usr/bin/python3 tests/bench/bench_llm.py
} 2>&1 | tee "$results"
echo "bench-llm: results kept in $results"
