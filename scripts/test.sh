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
cmake --build --preset asan
ctest --preset unit-asan
