#!/usr/bin/env bash
# The core test suites under AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer on): a
# Debug build at -O1 with frame pointers in ./build-sanitize (QUANTSCOPE_SANITIZE_BUILD_DIR), every
# UBSan finding fatal, then `ctest -L core` there (the suites that link no GUI library, the
# command line they run, and a few seconds of mutation fuzzing of every parser; tests labelled
# "unsanitized" are left out, see tests/CMakeLists.txt). Then the compute thread pool's suite (tst_threads) under
# ThreadSanitizer in ./build-sanitize-thread. The GUI suites (ctest -L gui) are left out: see
# docs/reliability.md. Called by scripts/test.sh after the normal suites; runs alone too.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${QUANTSCOPE_SANITIZE_BUILD_DIR:-$root/build-sanitize}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DQUANTSCOPE_SANITIZE=address,undefined "$@"
cmake --build "$build" --parallel "$(nproc)" --target core_suites
cd "$build"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
# A sanitized suite runs several times slower: Qt Test's 5-minute limit per test function is raised.
export QTEST_FUNCTION_TIMEOUT="${QTEST_FUNCTION_TIMEOUT:-1800000}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
QT_QPA_PLATFORM=offscreen ctest -L core -LE unsanitized --output-on-failure --timeout 2400
tsan="${build}-thread"
cmake -S "$root" -B "$tsan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DQUANTSCOPE_SANITIZE=thread "$@"
cmake --build "$tsan" --parallel "$(nproc)" --target tst_threads
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/sanitizers/tsan.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}" "$tsan/tests/tst_threads"
