#!/usr/bin/env bash
# Long libFuzzer runs of every parser target in tests/fuzz (docs/reliability.md, "Fuzzing").
#
# Configures a separate clang build (QUANTSCOPE_FUZZ=ON: everything built with ASan, plus
# fuzz_<name>_libfuzzer; -O2 with line tables only: reports name file and line, and the build of
# all targets took 7.5 min at -j2 where full debug information had done 34 of 306 steps in 6),
# builds the targets, writes each target's seed corpus and dictionary (the standalone
# fuzz_<name> --write-seeds/--write-dict: seeds are made by the project's writers and from the
# shared fixtures), runs each target one after the other under `nice -n 19` for
# -runs executions, and prints a table: target, executions, seconds, exec/s, findings.
# A finding (crash, timeout, out-of-memory, leak, sanitizer report) leaves its input in
# <work>/<target>/artifacts/ and makes the script exit 1.
#
#   scripts/fuzz.sh [--runs N] [--round R] [--targets a,b,…] [--max-time S] [--build DIR] [--work DIR]
#                   [--jobs J] [--list]
#
#   --runs N       executions per target (default 10000000)
#   --targets L    comma-separated target names (default: all; --list shows them)
#   --round R      executions per libFuzzer process (default 1000000): a target runs as rounds of
#                  fresh processes sharing its corpus, their executions summed
#   --max-time S   also stop a target after S seconds in all (default none)
#   --build DIR    the clang build folder (default <repo>/build-fuzz)
#   --work DIR     corpora, seeds, logs, artifacts (default ${XDG_CACHE_HOME:-~/.cache}/quantscope-fuzz)
#   --jobs J       ninja -j for the build (default 1)
# Works from any directory. Environment: CXX (default clang++), QUANTSCOPE_DATA (fixtures).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-fuzz"
WORK="${XDG_CACHE_HOME:-$HOME/.cache}/quantscope-fuzz"
RUNS=10000000
ROUND=1000000
MAX_TIME=0
JOBS=1
TARGETS=""
ALL=$(cd "$ROOT/tests/fuzz" && ls fuzz_*.cpp | sed 's/^fuzz_//; s/\.cpp$//' | sort)

die() { echo "fuzz.sh: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS="${2:?}"; shift 2 ;;
        --targets) TARGETS="${2:?}"; shift 2 ;;
        --max-time) MAX_TIME="${2:?}"; shift 2 ;;
        --round) ROUND="${2:?}"; shift 2 ;;
        --build) BUILD="$(realpath -m "${2:?}")"; shift 2 ;;
        --work) WORK="$(realpath -m "${2:?}")"; shift 2 ;;
        --jobs) JOBS="${2:?}"; shift 2 ;;
        --list) echo "$ALL"; exit 0 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
[[ "$RUNS" =~ ^[0-9]+$ ]] || die "--runs needs a number"
[[ "$MAX_TIME" =~ ^[0-9]+$ ]] || die "--max-time needs a number of seconds"
[[ "$ROUND" =~ ^[1-9][0-9]*$ ]] || die "--round needs a positive number"
SELECTED=()
for t in ${TARGETS//,/ }; do
    grep -qx "$t" <<<"$ALL" || die "unknown target '$t' (known: $(echo $ALL))"
    SELECTED+=("$t")
done
[[ ${#SELECTED[@]} -gt 0 ]] || SELECTED=($ALL)

if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
    launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    CXX="${CXX:-clang++}" CC="${CC:-clang}" nice -n 19 cmake -S "$ROOT" -B "$BUILD" -G Ninja \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" \
        -DQUANTSCOPE_FUZZ=ON "${launcher[@]}" >/dev/null
fi
grep -q '^QUANTSCOPE_FUZZ:BOOL=ON' "$BUILD/CMakeCache.txt" || die "$BUILD is not a QUANTSCOPE_FUZZ=ON build"
build_targets=()
for t in "${SELECTED[@]}"; do build_targets+=("fuzz_$t" "fuzz_${t}_libfuzzer"); done
nice -n 19 ninja -C "$BUILD" -j "$JOBS" "${build_targets[@]}"

rows=()
failed=0
lock=""
for t in "${SELECTED[@]}"; do
    [[ -z "$lock" ]] || exec {lock}>&- # the previous target's
    dir="$WORK/$t"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    # One script per target folder: a second one would truncate the first one's logs and seeds.
    exec {lock}>"$dir/lock"
    if ! flock -n "$lock"; then
        echo "fuzz.sh: $t: another fuzz.sh is running it in $dir" >&2
        rows+=("$t|-|-|-|not run: $dir is in use by another fuzz.sh")
        failed=1
        continue
    fi
    rm -rf "$dir/seeds"
    if ! "$BUILD/tests/fuzz_$t" --iterations 0 --write-seeds "$dir/seeds" --write-dict "$dir/dict" >"$dir/seeds.log" 2>&1; then
        cat "$dir/seeds.log" >&2
        rows+=("$t|-|-|-|seeds failed")
        failed=1
        continue
    fi
    if grep -q 'skipped' "$dir/seeds.log"; then
        rows+=("$t|-|-|-|skipped (no data)")
        continue
    fi
    # Inputs up to twice the largest seed (at least 4 kB): room to grow without megabyte inputs.
    largest=$(find "$dir/seeds" -type f -printf '%s\n' | sort -n | tail -1)
    max_len=$(( largest * 2 > 4096 ? largest * 2 : 4096 ))
    args=(-max_len="$max_len" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10
          -print_final_stats=1 -artifact_prefix="$dir/artifacts/")
    [[ -s "$dir/dict" ]] && args+=(-dict="$dir/dict")
    echo "fuzz.sh: $t: ${RUNS} runs in rounds of ${ROUND}, max_len $max_len (log: $dir/fuzz.log)"
    : >"$dir/fuzz.log"
    start=$(date +%s.%N)
    status=0
    execs=0
    # Rounds of fresh processes that carry the corpus on: one long ASan process slows down as its
    # allocation-stack store grows (sensitivity fell from 27.6k to about 2k executions/s after 6M
    # runs in one process, while a new process on that corpus ran 16k/s).
    while [[ $execs -lt $RUNS && $status -eq 0 ]]; do
        n=$(( RUNS - execs < ROUND ? RUNS - execs : ROUND ))
        round_args=(-runs="$n")
        if [[ "$MAX_TIME" -gt 0 ]]; then
            left=$(awk -v a="$start" -v b="$(date +%s.%N)" -v m="$MAX_TIME" 'BEGIN { printf "%d", m - (b - a) }')
            [[ $left -gt 0 ]] || break
            round_args+=(-max_total_time="$left")
        fi
        nice -n 19 "$BUILD/tests/fuzz_${t}_libfuzzer" "${args[@]}" "${round_args[@]}" "$dir/corpus" "$dir/seeds" \
            >"$dir/round.log" 2>&1 || status=$?
        cat "$dir/round.log" >>"$dir/fuzz.log"
        done_now=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$dir/round.log" | tail -1 | grep -o '[0-9]*$' || true)
        [[ -n "$done_now" && "$done_now" -gt 0 ]] || { [[ $status -ne 0 ]] || status=3; break; }
        execs=$(( execs + done_now ))
    done
    rm -f "$dir/round.log"
    end=$(date +%s.%N)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    rate=$(awk -v n="${execs:-0}" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    findings=$(find "$dir/artifacts" -type f -newermt "@${start%.*}" | wc -l)
    if [[ $status -ne 0 || $findings -gt 0 ]]; then
        failed=1
        note="$findings (exit $status; see $dir/artifacts, $dir/fuzz.log)"
    else
        note="0"
    fi
    rows+=("$t|${execs:-?}|$secs|${rate:-?}|$note")
done

printf '\n%-18s %12s %9s %9s  %s\n' target executions seconds exec/s findings
for r in "${rows[@]}"; do
    IFS='|' read -r t e s x f <<<"$r"
    printf '%-18s %12s %9s %9s  %s\n' "$t" "$e" "$s" "$x" "$f"
done
exit $failed
