#!/usr/bin/env bash
# kill -9 at random moments during saves: a run checkpoint (quantize --out), a GGUF export, a
# Hugging Face GPTQ export and a sensitivity sweep checkpoint. Each trial starts from a finished
# "old" output, starts a save of a different "new" one, kills it after a random delay within the
# save's measured duration, and classifies what is left at the output path as old, new or corrupt
# (see classify; a corrupt one fails the script). Partial folders a killed writer leaves are
# counted, and must be gone after the next save.
#
#   scripts/fault-kill.sh [--trials N] [--build DIR] [--data DIR] [--work DIR]
# Defaults: 100 trials per target, ./build, $QUANTSCOPE_DATA or ../shared/data, a temporary folder.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
trials=100
build="${QUANTSCOPE_BUILD_DIR:-$root/build}"
data="${QUANTSCOPE_DATA:-$root/../shared/data}"
work=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --trials) trials="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    *) echo "fault-kill.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
cli="$build/app/quantscope-cli"
[[ -x "$cli" ]] || { echo "fault-kill.sh: $cli not found (build first)" >&2; exit 2; }
model="$data/stories260K"; kjv="$data/kjv7M"; text="$data/wikitext-2-raw/wiki.test.raw"
for p in "$model" "$kjv" "$text"; do
  [[ -e "$p" ]] || { echo "fault-kill.sh: $p not found (set QUANTSCOPE_DATA)" >&2; exit 2; }
done
if [[ -z "$work" ]]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"

hash_of() { # a file, or every file of a folder with its name
  if [[ -d "$1" ]]; then (cd "$1" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-64)
  else sha256sum "$1" | cut -c1-64; fi
}

now_ms() { date +%s%3N; }

# classify KIND PATH OLDREF NEWREF: prints old, new or corrupt (missing counts as corrupt: every
# target exists before a trial starts). A run folder and an HF export carry their bits (4 old, 8
# new) and must open with `inspect`; a GGUF file must be byte-identical to a reference; a sweep
# file must parse as a sweep, the old one (scheme rtn-w4-g32) or any complete state of the new
# one (rtn-w3-g32), since it is rewritten after every unit and a later run resumes from it.
classify() {
  local kind="$1" path="$2" oldref="$3" newref="$4"
  [[ -e "$path" ]] || { echo corrupt; return; }
  case "$kind" in
    file)
      local h; h=$(hash_of "$path")
      if [[ "$h" == "$oldref" ]]; then echo old; elif [[ "$h" == "$newref" ]]; then echo new; else echo corrupt; fi ;;
    run|hf)
      "$cli" inspect "$path" > /dev/null 2>&1 || { echo corrupt; return; }
      python3 - "$kind" "$path" <<'PY'
import json, struct, sys
kind, path = sys.argv[1], sys.argv[2]
try:
    if kind == "run":
        with open(path + "/model.safetensors", "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            meta = json.loads(f.read(n))["__metadata__"]
        bits = json.loads(meta["quantscope.info"])["recipe"]["defaults"]["bits"]
    else:
        bits = json.load(open(path + "/config.json"))["quantization_config"]["bits"]
    print({4: "old", 8: "new"}.get(bits, "corrupt"))
except Exception:
    print("corrupt")
PY
      ;;
    sweep)
      python3 - "$path" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    names = [s.get("name") for s in d["schemes"]]
    ok = d.get("format") == "quantscope-sensitivity" and isinstance(d.get("entries"), list)
    print("corrupt" if not ok else "old" if names == ["rtn-w4-g32"] else "new" if names == ["rtn-w3-g32"] else "corrupt")
except Exception:
    print("corrupt")
PY
      ;;
  esac
}

# run_target NAME OUTPUT "OLD COMMAND" "NEW COMMAND" KIND (see classify)
run_target() {
  local name="$1" out="$2" oldcmd="$3" newcmd="$4" kind="$5"
  local dir="$work/$name"; rm -rf "$dir"; mkdir -p "$dir"
  local target="$dir/$out"
  # References: the new output, written alone (and timed), then the old one.
  local t0 t1
  t0=$(now_ms); eval "${newcmd//@OUT@/$target}" > /dev/null 2>&1; t1=$(now_ms)
  local duration=$(( t1 - t0 ))
  local newref; newref=$(hash_of "$target")
  [[ "$(classify "$kind" "$target" "" "$newref")" == new ]] || { echo "$name: the reference new output does not classify as new" >&2; exit 1; }
  eval "${oldcmd//@OUT@/$target}" > /dev/null 2>&1
  local oldref; oldref=$(hash_of "$target")
  [[ "$(classify "$kind" "$target" "$oldref" "$newref")" == old ]] || { echo "$name: the reference old output does not classify as old" >&2; exit 1; }
  local old=0 new=0 corrupt=0 partials=0 leftover=0
  for ((i = 0; i < trials; i++)); do
    eval "exec ${newcmd//@OUT@/$target}" > /dev/null 2>&1 & # exec: the kill hits the command itself
    local pid=$!
    local delay=$(( RANDOM * duration / 32768 ))
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -9 "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
    case "$(classify "$kind" "$target" "$oldref" "$newref")" in
      old) old=$((old + 1)) ;;
      new) new=$((new + 1)) ;;
      *) corrupt=$((corrupt + 1)); echo "$name trial $i: corrupt output at $target" >&2 ;;
    esac
    if compgen -G "$dir/.$out.partial-*" > /dev/null; then partials=$((partials + 1)); fi
    # Back to the old state for the next trial: a complete save, which also clears abandoned partials.
    eval "${oldcmd//@OUT@/$target}" > /dev/null 2>&1
    if compgen -G "$dir/.$out.partial-*" > /dev/null; then leftover=$((leftover + 1)); fi
    [[ "$(classify "$kind" "$target" "$oldref" "$newref")" == old ]] || { echo "$name: the old save did not restore the old state" >&2; exit 1; }
  done
  printf '%-18s %6d %6d %6d %8d %9d %10d ms\n' "$name" "$trials" "$old" "$new" "$corrupt" "$partials" "$duration"
  [[ $corrupt -eq 0 && $leftover -eq 0 ]] || failed=1
}

failed=0
printf '%-18s %6s %6s %6s %8s %9s %13s\n' target trials old new corrupt partials save-time
run_target run-checkpoint run \
  "'$cli' quantize '$model' --method rtn --bits 4 --out @OUT@" \
  "'$cli' quantize '$model' --method rtn --bits 8 --out @OUT@" run
run_target gguf-export model.gguf \
  "'$cli' export-gguf '$model' --preset F16 --out @OUT@" \
  "'$cli' export-gguf '$model' --preset Q4_K_M --out @OUT@" file
"$cli" quantize "$kjv" --method rtn --bits 4 --group 32 --out "$work/kjv-w4" > /dev/null 2>&1
"$cli" quantize "$kjv" --method rtn --bits 8 --group 32 --out "$work/kjv-w8" > /dev/null 2>&1
run_target hf-export hf \
  "'$cli' export-hf '$work/kjv-w4' --format gptq --out @OUT@" \
  "'$cli' export-hf '$work/kjv-w8' --format gptq --out @OUT@" hf
sweep="'$cli' sensitivity '$model' --eval '$text' --ctx 64 --chunks 2 --layers 'layers\\.0\\.'"
run_target sweep-checkpoint sweep.json \
  "$sweep --schemes rtn-w4-g32 --out @OUT@" \
  "$sweep --schemes rtn-w3-g32 --out @OUT@" sweep
echo "partials: trials after which a killed writer's partial folder remained (removed by the next save)"
exit $failed
