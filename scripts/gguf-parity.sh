#!/bin/bash
# Perplexity of GGUF files in QuantScope vs llama.cpp's llama-perplexity (docs/gguf.md).
# For each llama-quantize type: quantize SRC.gguf with llama-quantize, then evaluate the same file
# with llama-perplexity (its default f16 KV cache, and -ctk f32 -ctv f32) and with
# `quantscope-cli eval` (one thread each, same text, n_ctx and chunk count), plain and with
# --llamacpp-numerics (llama.cpp's activation rounding and f16 KV cache imitated).
#
# usage: LLAMA_BIN=/path/to/llama.cpp/build/bin scripts/gguf-parity.sh SRC.gguf NAME TEXT CTX CHUNKS TYPE...
# e.g.   quantscope-cli export-gguf ../shared/data/kjv7M --preset F32 --out /tmp/kjv-f32.gguf
#        scripts/gguf-parity.sh /tmp/kjv-f32.gguf kjv ../shared/data/kjv/test.txt 256 20 Q4_K_M Q6_K
set -euo pipefail
: "${LLAMA_BIN:?set LLAMA_BIN to a llama.cpp build/bin folder (built outside this repository)}"
CLI=${CLI:-$(dirname "$0")/../build/app/quantscope-cli}
OUT=${OUT:-/tmp/gguf-parity}
mkdir -p "$OUT"
SRC=$1 NAME=$2 TEXT=$3 CTX=$4 CHUNKS=$5
shift 5
ppl() { grep "Final estimate" | sed 's/.*PPL = \([0-9.]*\).*/\1/'; }
for T in "$@"; do
  F=$OUT/$NAME-$T.gguf
  [ -f "$F" ] || "$LLAMA_BIN/llama-quantize" "$SRC" "$F" "$T" 1 > "$F.log" 2>&1
  LP=$("$LLAMA_BIN/llama-perplexity" -m "$F" -f "$TEXT" -c "$CTX" --chunks "$CHUNKS" -t 1 -b "$CTX" 2>&1 | ppl)
  LP32=$("$LLAMA_BIN/llama-perplexity" -m "$F" -f "$TEXT" -c "$CTX" --chunks "$CHUNKS" -t 1 -b "$CTX" \
         -ctk f32 -ctv f32 2>&1 | ppl)
  QS=$("$CLI" eval "$F" --text "$TEXT" --ctx "$CTX" --chunks "$CHUNKS" --threads 1 2>/dev/null | awk '/^PPL/ {print $2}')
  QN=$("$CLI" eval "$F" --text "$TEXT" --ctx "$CTX" --chunks "$CHUNKS" --threads 1 --llamacpp-numerics 2>/dev/null |
       awk '/^PPL/ {print $2}')
  python3 -c "lp,lp32,qs,qn=$LP,$LP32,$QS,$QN; print('| %s | %.4f | %.4f | %.4f | %+.3f %% | %+.3f %% | %.4f | %+.3f %% |' % ('$T',lp,lp32,qs,100*(qs-lp)/lp,100*(qs-lp32)/lp32,qn,100*(qn-lp)/lp))"
done
