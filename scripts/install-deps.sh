#!/usr/bin/env bash
# Installs the Debian 12 packages QuantScope needs to build, test and run.
# Idempotent: packages already present are skipped; apt-get update runs once per call,
# and only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  qt6-base-dev qt6-base-dev-tools qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools qt6-svg-dev
  qt6-translations-l10n libqcustomplot-dev libqt6sql6-sqlite
  libeigen3-dev libsentencepiece-dev libpcre2-dev libgl-dev
  xvfb xauth
  clang  # libFuzzer builds (-DQUANTSCOPE_FUZZ=ON) and the AArch64 syntax check of the kernels
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
