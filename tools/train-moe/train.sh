#!/usr/bin/env bash
# One-line training of Lynx Chat's bundled model: setup, data, training, export, checks.
#   npm run train:model            (full run, ~50 minutes on 2 cores)
#   STEPS=40 npm run train:model   (smoke run)
# Environment: STEPS (default 2800, the shipped run), OUT (default tools/train-moe/out), MODEL (default resources/models/default.gguf),
# DEADLINE_MINUTES (stop early and export the current weights; default 0 = none), EXTRA (more train.py flags).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-tools/train-moe/out}
MODEL=${MODEL:-resources/models/default.gguf}
STEPS=${STEPS:-2800}
PY=/usr/bin/python3   # Debian's python with python3-torch (not a pyenv python)

need=()
command -v bible >/dev/null || need+=(bible-kjv)
[ -f /usr/share/games/fortunes/fortunes ] || need+=(fortunes-min)
$PY -c "import torch, numpy" 2>/dev/null || need+=(python3-torch python3-numpy)
# Debian's torch uses the reference BLAS unless OpenBLAS provides libblas.so.3 (about 5x faster)
[ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ] || need+=(libopenblas0-pthread)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages ${need[*]} (KJV Bible text, BSD fortunes, PyTorch, OpenBLAS); needs root and apt"
  apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi

echo "training: $STEPS steps, output in $OUT"
$PY tools/train-moe/train.py --out "$OUT" --steps "$STEPS" --deadline-minutes "${DEADLINE_MINUTES:-0}" ${EXTRA:-}
npx tsx tools/train-moe/export.ts --in "$OUT" --out "$MODEL"
cp "$OUT/reference.json" "${MODEL%.gguf}.reference.json"
cp "$OUT/metrics.json" "${MODEL%.gguf}.metrics.json"
mkdir -p tools/fidelity && cp "$OUT/heldout.json" tools/fidelity/heldout.json
npx tsx tools/train-moe/check-tokenizer.ts "$MODEL" "$OUT/tokcheck.json"
echo "done: $MODEL"
