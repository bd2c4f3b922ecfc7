#!/usr/bin/env bash
# Regenerates the README's pictures from the running app, each in the light and the dark theme
# (docs/images/NAME.png and NAME-dark.png), offscreen and from a scratch working directory with
# scratch settings, so that neither the repository as working directory nor the user's
# preferences, session or run history shows in them. The Mixed precision page shows a small
# GPTQ sweep made first (4 schemes, 16 chunks: about a minute on two cores); the Runs page shows
# four plan presets, run once and kept in a scratch run history for the dark picture; the training
# picture fine-tunes a fifth (QAT, 80 steps).
#   scripts/screenshots.sh [OUT_DIR]   (default: docs/images)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${QUANTSCOPE_BUILD_DIR:-$root/build}"
app="$build/app/quantscope"
cli="$build/app/quantscope-cli"
data="${QUANTSCOPE_DATA:-$root/../shared/data}"
out="$(mkdir -p "${1:-$root/docs/images}" && cd "${1:-$root/docs/images}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export QT_QPA_PLATFORM=offscreen QUANTSCOPE_DATA="$data"
export XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/share" XDG_CACHE_HOME="$work/cache"
"$cli" sensitivity "$data/stories260K" --schemes gptq-w2-ch,gptq-w3-ch,gptq-w4-ch,gptq-w8-ch \
  --eval "$data/wikitext-2-raw/wiki.test.raw" --ctx 128 --chunks 16 \
  --calib "$data/kjv/train.txt" --samples 32 --seq-len 128 --out "$work/sensitivity.json" > /dev/null
for theme in light dark; do
  suffix=""
  [ "$theme" = dark ] && suffix="-dark"
  shot() { "$app" --demo --theme "$theme" "$@"; }
  shot --screenshot "$out/overview$suffix.png"
  shot --tab plan --screenshot "$out/plan$suffix.png"
  if [ "$theme" = light ]; then # runs the presets; the dark picture shows the same kept runs
    shot --tab runs --run-presets 0,1,3,4 --runs-folder "$work/runs" --screenshot "$out/runs$suffix.png"
  else
    shot --tab runs --runs-folder "$work/runs" --screenshot "$out/runs$suffix.png"
  fi
  # The Fine-tune window after 80 QAT steps of the RTN int4 g32 preset's run (about 15 s).
  shot --tab runs --run-presets 4 --fine-tune "method=qat;steps=80;lr=2e-4;samples=128;seq-len=128" \
    --screenshot "$out/training$suffix.png"
  shot --tab mixed --sensitivity "$work/sensitivity.json" --budget 3.5 \
    --screenshot "$out/mixed-precision$suffix.png"
  shot --tab playground --screenshot "$out/playground$suffix.png"
  shot --playground "distribution=laplace,count=512,outliers=4,magnitude=12,method=quipsharp,bits=2,compare=rtn,bitsB=2,groupB=channel,view=codebook" \
    --screenshot "$out/playground-codebooks$suffix.png"
  shot --playground "bits=3,group=32,gptq=60" --screenshot "$out/playground-gptq$suffix.png"
  # QAT (distillation from the float model) of an RTN int4 g32 run, 80 steps: the Fine-tune window when it ends
  shot --tab runs --run-presets 4 --runs-folder "$work/runs-finetune-$theme" --fine-tune "method=qat;steps=80" \
    --screenshot "$out/training$suffix.png"
done
ls -l "$out"
