#!/usr/bin/env bash
# On the GPU machine (after remote.sh's setup): trains one model with `sed train` on the WebGPU backend from
# the carried training data (.gpu/data: the shared dcase2016t2 soundscapes transcoded to Opus 32 kbit/s, since
# the FLAC originals exceed the 64 MiB the device tool carries) and copies the best checkpoint to $OUT/<tag>.
# Usage: bench/gpu/train.sh <tag> <sed train options...>
set -euo pipefail
tag=$1; shift
data=$PWD/.gpu/data
mkdir -p /tmp/runs
( cd "$SED_GPU/build" && timeout "${TRAIN_TIMEOUT:-86400}" node main.js train --backend webgpu --no-progress \
    --train-tsv "$data/train.tsv" --audio "$data/train" --durations "$data/train_durations.tsv" \
    --val-tsv "$data/validation.tsv" --val-audio "$data/validation" --val-durations "$data/validation_durations.tsv" \
    --cache /tmp/cache --out "/tmp/runs/$tag" "$@" || echo "sed train exited with $?" ) 2>&1 | tee "$OUT/$tag.log"
mkdir -p "$OUT/$tag"
mkdir -p "$OUT/$tag"; cp "/tmp/runs/$tag/best/model.safetensors" "/tmp/runs/$tag/best/config.json" "$OUT/$tag/"
cp "/tmp/runs/$tag/history.json" "$OUT/$tag/" 2>/dev/null || true
