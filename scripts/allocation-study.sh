#!/usr/bin/env bash
# Measures docs/sensitivity.md: a per-layer sensitivity sweep over GPTQ schemes, the allocated
# mixed-precision plans at several budgets, every uniform plan, the mixed plan at each uniform
# plan's exact size and points along the predicted Pareto front, all really quantized and
# evaluated on held-out WikiText-2 chunks (the sweep uses chunks 0–63, the study 64–1063).
#   scripts/allocation-study.sh [MODEL] [OUT_DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${QUANTSCOPE_DATA:-$root/../shared/data}"
model="${1:-$data/stories260K}"
out="${2:-/tmp/qs-allocation}"
cli="${QUANTSCOPE_BUILD_DIR:-$root/build}/app/quantscope-cli"
text="$data/wikitext-2-raw/wiki.test.raw"
schemes="gptq-w2-ch,gptq-w3-ch,gptq-w4-ch,gptq-w5-ch,gptq-w6-ch,gptq-w8-ch,gptq-w2-g32,gptq-w3-g32,gptq-w4-g32"
mkdir -p "$out"
"$cli" sensitivity "$model" --schemes "$schemes" --eval "$text" --ctx 128 --chunks 64 \
  --calib "$data/kjv/train.txt" --samples 128 --seq-len 128 --out "$out/sensitivity.json" --resume > "$out/sweep.txt"
"$cli" allocate "$out/sensitivity.json" --bpw 3,3.5,4 --out "$out/mixed-3bpw.json" --measure --front-points 8 \
  --eval "$text" --ctx 128 --skip-chunks 64 --chunks 1000 --report "$out/study.json" > "$out/study.txt"
cat "$out/study.txt"
