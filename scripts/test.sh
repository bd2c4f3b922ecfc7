#!/usr/bin/env bash
# One command from a fresh Debian 12 clone: install dependencies, build, and run every test
# (GUI tests offscreen), then the core suites again under ASan + UBSan (scripts/sanitize.sh;
# QUANTSCOPE_SKIP_SANITIZE=1 leaves that out). Test data comes from $QUANTSCOPE_DATA or
# ../shared/data; suites that need it skip with a message when it is absent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"
cd "${QUANTSCOPE_BUILD_DIR:-$root/build}"
QT_QPA_PLATFORM=offscreen ctest --output-on-failure --timeout 1200
if [[ "${QUANTSCOPE_SKIP_SANITIZE:-0}" != 1 ]]; then
  bash "$root/scripts/sanitize.sh"
fi
