#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run): installs the build and test
# dependencies (Debian packages), builds, starts the real servers the tests
# use on 127.0.0.1, runs every test, then the unit tests under ASan/UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-true}"
scripts/install-deps.sh --test
cmake --preset release >/dev/null
cmake --build --preset release
if [[ -x scripts/start-rgw.sh ]]; then
  scripts/start-rgw.sh start >/dev/null
  eval "$(scripts/start-rgw.sh env)"
fi
ctest --preset release
cmake --preset asan >/dev/null
# Only the unit tests run under ASan/UBSan: build just their programs.
mapfile -t unit < <(ctest --test-dir build/asan -L unit -N | sed -n 's/^ *Test *#[0-9]*: //p')
[[ ${#unit[@]} -gt 0 ]] || { echo "test.sh: no unit tests found in build/asan" >&2; exit 1; }
cmake --build --preset asan --target "${unit[@]}"
ctest --preset unit-asan
