#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: formatting, the
# unit and integration suites, then the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/setup.sh

echo "== formatting (clang-format)"
if ! git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror; then
  echo "test: formatting differs from .clang-format (fix: git ls-files '*.c' '*.h' | xargs clang-format -i)" >&2
  exit 1
fi

run_suite() {
  local dir=$1; shift
  echo "== build $dir ($*)"
  cmake -S . -B "$dir" -DCS_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "== tests in $dir"
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 900
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allow_user_segv_handler=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DCS_SANITIZE=ON
