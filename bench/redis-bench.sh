#!/usr/bin/env bash
# Redis backup and restore benchmark: ward's RedisSource and Redis restore
# target against `redis-cli --rdb`, on a throw-away redis-server filled with
# DEBUG POPULATE (see src/source/redis/redis_bench.cc for the steps).
#
#   bench/redis-bench.sh [--build DIR] [--repeat N] [-- redis_bench options]
#
#   --build DIR   CMake build directory (default build/redis; configured
#                 RelWithDebInfo if missing)
#   --repeat N    run N times (default 1)
#   redis_bench options: --keys N (default 1000000), --value-size BYTES
#                 (default 100), --workers N (backup workers, default one per core)
#
# Writes each run's Markdown table to stdout and to
# bench/out/redis-bench-<date>.md. Needs redis-server and redis-cli
# (scripts/install-deps.sh --test).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=$ROOT/build/redis
REPEAT=1
ARGS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) BUILD=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --) shift; ARGS=("$@"); break ;;
    *) echo "usage: $0 [--build DIR] [--repeat N] [-- redis_bench options]" >&2; exit 2 ;;
  esac
  shift
done

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "redis-server/redis-cli not found: scripts/install-deps.sh --test" >&2
  exit 1
fi
if [[ ! -f $BUILD/build.ninja ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD" -j2 --target redis_bench >/dev/null

mkdir -p "$HERE/out"
OUT=$HERE/out/redis-bench-$(date -u +%Y%m%dT%H%M%SZ).md
{
  echo "# Redis backup and restore ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
  echo
  echo "Host: $(nproc) cores, $(redis-server --version | sed 's/ sha=.*//'); args: ${ARGS[*]:-default}"
  for i in $(seq 1 "$REPEAT"); do
    echo
    echo "## Run $i"
    echo
    "$BUILD/src/source/redis/redis_bench" "${ARGS[@]}"
  done
} | tee "$OUT"
echo "(written to $OUT)" >&2
