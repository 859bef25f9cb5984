#!/usr/bin/env bash
# Installs what ward needs on Debian 12, from Debian's packages only.
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   + the real servers the tests run against
#                                      (PostgreSQL, Redis, Ceph RGW)
#   scripts/install-deps.sh --bench  + restic and borg for the benchmarks
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config git
      libcurl4-openssl-dev libssl-dev libzstd-dev libsodium-dev libpq-dev libhiredis-dev
      libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libspdlog-dev libfmt-dev
      libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev)
for arg in "$@"; do
  case "$arg" in
    --test) pkgs+=(postgresql postgresql-client redis-server redis-tools
                   ceph-mon ceph-osd radosgw jq bc curl procps util-linux e2fsprogs) ;;
    --bench) pkgs+=(restic borgbackup time jq bc) ;;
    *) echo "usage: $0 [--test] [--bench]" >&2; exit 2 ;;
  esac
done

SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "dependencies installed"
