#!/usr/bin/env bash
# One command from a fresh Debian 12 clone: install dependencies, build, and open the GUI on the
# demo model (stories260K from $QUANTSCOPE_DATA or ../shared/data). Without a display it runs
# under xvfb-run; QT_QPA_PLATFORM=offscreen is honoured. Arguments go to the app
# (e.g. --quit-after 5000).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"
app="${QUANTSCOPE_BUILD_DIR:-$root/build}/app/quantscope"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || [ "${QT_QPA_PLATFORM:-}" = "offscreen" ]; then
  exec "$app" --demo "$@"
fi
echo "demo: no display found, running under xvfb-run"
exec xvfb-run -a "$app" --demo "$@"
