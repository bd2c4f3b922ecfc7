#!/usr/bin/env bash
# Compiles the SIMD kernels (core/kernels, core/util) for AArch64 with clang, syntax only: proves the
# NEON and portable paths compile on an x86 machine without an AArch64 sysroot. The host's C++ and
# Qt headers stand in for the target's (a small overlay gives them a 64-bit word size).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
overlay="$(mktemp -d)"
trap 'rm -rf "$overlay"' EXIT
mkdir -p "$overlay/bits" "$overlay/gnu"
printf '#define __WORDSIZE 64\n#define __WORDSIZE_TIME64_COMPAT32 0\n#define __SYSCALL_WORDSIZE 64\n' \
  >"$overlay/bits/wordsize.h"
: >"$overlay/gnu/stubs-64.h"
: >"$overlay/gnu/stubs-32.h"
gcc_version="$(g++ -dumpversion)"
failed=0
for f in "$root"/core/kernels/*.cpp "$root"/core/util/*.cpp; do
  if ! clang++ --target=aarch64-linux-gnu -std=c++20 -fsyntax-only -Wall -Wextra -Werror \
      -DQT_USE_QSTRINGBUILDER -DQT_NO_KEYWORDS -DQS_FP_CONTRACT_OFF -ffp-contract=off -fopenmp \
      -I"$root/core" -I"/usr/include/c++/$gcc_version" -I"/usr/include/x86_64-linux-gnu/c++/$gcc_version" \
      -I"$overlay" -idirafter /usr/include/x86_64-linux-gnu \
      -isystem /usr/include/x86_64-linux-gnu/qt6 -isystem /usr/include/x86_64-linux-gnu/qt6/QtCore \
      -isystem /usr/include/eigen3 "$f"; then
    echo "aarch64: $f does not compile" >&2
    failed=1
  fi
done
[ "$failed" = 0 ] && echo "aarch64: core/kernels and core/util compile (syntax only)"
exit "$failed"
