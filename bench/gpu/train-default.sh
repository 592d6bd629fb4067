#!/usr/bin/env bash
# On the GPU machine (after remote.sh): training throughput of <model> at batch 32, a parallel fill of the
# decoded-audio cache, then `sed train` of <model> with as many epochs as fit <budget_s> seconds at the
# measured throughput (the cosine schedule spans exactly those epochs). EPOCHS=n fixes the epoch count;
# THROUGHPUT_MODELS / THROUGHPUT_BATCH choose what the throughput step measures (default: <model>, 32).
# Usage: bench/gpu/train-default.sh <model> <tag> [budget_s] [extra sed train options...]
set -uo pipefail
model=$1; tag=$2; budget=${3:-330}; shift 3 || shift $#
repo=$PWD; data=$repo/.gpu/data
cd "$SED_GPU/build"
node entry.js --models '' --train "${THROUGHPUT_MODELS:-$model}" --batch "${THROUGHPUT_BATCH:-32}" --result throughput.json 2>&1 | grep -v '^{"backend' | tee "$OUT/throughput.log"
ls "$data"/train/*.opus "$data"/validation/*.opus > /tmp/files
t0=$(date +%s)
for i in $(seq 0 14); do node entry.js --fill-cache /tmp/cache --files /tmp/files --shard "$i" --shards 15 & done; wait
echo "cache filled in $(( $(date +%s) - t0 )) s" | tee -a "$OUT/throughput.log"
clips=$(node -e "console.log(require('$OUT/throughput.json').training[0].train_clips_s)")
# Measured on the H200: the training loop runs at ~1/3 of the model-only throughput (data assembly, mel, sync).
epochs=${EPOCHS:-$(node -e "console.log(Math.max(5, Math.min(60, Math.floor($budget * $clips / 1900))))")}
echo "training $model for $epochs epochs at ~$clips clips/s" | tee -a "$OUT/throughput.log"
cd "$repo"
TRAIN_TIMEOUT=$((budget + 60)) bash bench/gpu/train.sh "$tag" --model "$model" --epochs "$epochs" --batch 32 --micro-batch 32 \
  --lr 3e-3 --seq-lr 1.5e-3 --warmup 0.1 --wavemix 0 --shift 125 --mixup 0.3 --no-jitter --validate-every "${VALIDATE_EVERY:-5}" "$@"
ls -la "$OUT" "$OUT/$tag" 2>/dev/null
