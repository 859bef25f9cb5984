#!/usr/bin/env bash
# Installs the build dependencies (Debian packages) and builds ward.
#   scripts/build.sh [PRESET]   (default: release; see CMakePresets.json)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
