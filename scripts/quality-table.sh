#!/usr/bin/env bash
# Measures the quality table of docs/quality.md: every method on a model, evaluated with
# llama.cpp's perplexity protocol plus KLD / top-1 against the float model.
#   scripts/quality-table.sh [MODEL] [EVAL_TEXT] [CALIB_TEXT] [OUT_DIR] [CTX] [CHUNKS]
# Defaults: stories260K, WikiText-2 test (all chunks at ctx 128), calibration on KJV train
# (disjoint from the evaluation text), results under /tmp/qs-quality.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${QUANTSCOPE_DATA:-$root/../shared/data}"
model="${1:-$data/stories260K}"
text="${2:-$data/wikitext-2-raw/wiki.test.raw}"
calib="${3:-$data/kjv/train.txt}"
out="${4:-/tmp/qs-quality}"
ctx="${5:-128}"
chunks="${6:--1}"
cli="${QUANTSCOPE_BUILD_DIR:-$root/build}/app/quantscope-cli"
jobs="${QUALITY_JOBS:-$(nproc)}"
# Results do not depend on the thread count, so runs go side by side, one thread each.
export OMP_NUM_THREADS=1
mkdir -p "$out"
"$cli" eval "$model" --text "$text" --ctx "$ctx" --chunks "$chunks" --save-base "$out/base.qskld" --json > "$out/f32.json"
runs=("$out/f32.json")
q() { # name, then quantize flags
  local name="$1"; shift
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  ( "$cli" quantize "$model" "$@" --calib "$calib" --samples 128 --seq-len 128 --out "$out/$name" --name "$name" \
      --eval "$text" --ctx "$ctx" --chunks "$chunks" --kld-base "$out/base.qskld" > "$out/$name.log" 2>&1 \
    && echo "done $name" || echo "FAILED $name (see $out/$name.log)" ) &
  runs+=("$out/$name")
}
q rtn8-ch   --method rtn --bits 8 --group channel
q rtn4-ch   --method rtn --bits 4 --group channel
q rtn4-g64  --method rtn --bits 4 --group 64
q rtn4-g32  --method rtn --bits 4 --group 32
q rtn3-ch   --method rtn --bits 3 --group channel
q rtn3-g32  --method rtn --bits 3 --group 32
q rtn2-g32  --method rtn --bits 2 --group 32
q gptq4-ch  --method gptq --bits 4 --group channel
q gptq4-g32 --method gptq --bits 4 --group 32
q gptq3-ch  --method gptq --bits 3 --group channel
q gptq3-g32 --method gptq --bits 3 --group 32
q gptq2-g32 --method gptq --bits 2 --group 32
q awq4-ch   --method awq --bits 4 --group channel
q awq4-g32  --method awq --bits 4 --group 32
q awq3-g32  --method awq --bits 3 --group 32
q smoothquant-w8a8 --method smoothquant --bits 8 --sym
q llm.int8  --method llm.int8 --bits 8 --sym
q dynamic-int8 --method dynamic --bits 8 --group channel --sym
# Issue 15's methods, beside per-row RTN/GPTQ at 2 bits and llama.cpp's types at 3-4 bits.
aqlm() { # name bits codebook_bits beam: a recipe for the AQLM settings the flags do not cover
  printf '{"version": 1, "name": "%s", "defaults": {"method": "aqlm", "bits": %s, "codebook_bits": %s, "beam_size": %s}}\n' \
    "$1" "$2" "$3" "$4" > "$out/$1.json"
  echo "$out/$1.json"
}
q rtn2-ch     --method rtn --bits 2 --group channel
q gptq2-ch    --method gptq --bits 2 --group channel
q quipsharp2  --method quipsharp --bits 2
q quipsharp3  --method quipsharp --bits 3
q quipsharp4  --method quipsharp --bits 4
q aqlm2-2x8   --method aqlm --bits 2
q aqlm2-4x4   --recipe "$(aqlm aqlm2-4x4 2 4 8)"
q aqlm3-3x8   --method aqlm --bits 3
q aqlm3-6x4   --recipe "$(aqlm aqlm3-6x4 3 4 8)"
q aqlm4-8x4   --recipe "$(aqlm aqlm4-8x4 4 4 4)"
q squeezellm3 --method squeezellm --bits 3
q squeezellm4 --method squeezellm --bits 4
q hqq4-g32    --method hqq --bits 4 --group 32
q rtn4-ch-had --method rtn --bits 4 --group channel --incoherence hadamard
q gguf-q4k    --method gguf --type Q4_K
q gguf-q3k    --method gguf --type Q3_K
q gguf-iq4xs  --method gguf --type IQ4_XS
wait
"$cli" compare "${runs[@]}" | tee "$out/table.txt"
"$cli" compare "${runs[@]}" --csv > "$out/table.csv"
