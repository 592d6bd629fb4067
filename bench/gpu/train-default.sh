#!/usr/bin/env bash
# On the GPU machine (after remote.sh): training throughput with the op-based and the native webgpu filter
# gradients, a parallel fill of the decoded-audio cache, then `sed train` of the default model with as many
# epochs as fit the call (derived from the measured throughput). Usage: bench/gpu/train-default.sh <model> <tag> [budget_s]
set -uo pipefail
model=$1; tag=$2; budget=${3:-330}
repo=$PWD; data=$repo/.gpu/data
cd "$SED_GPU/build"
node entry.js --models '' --train "$model" --batch 32 --result throughput_opgrad.json 2>&1 | grep -v '^{"backend' | tee "$OUT/throughput.log"
SED_WEBGPU_NATIVE_GRADS=1 node entry.js --models '' --train "$model" --batch 32 --result throughput_native.json 2>&1 | grep -v '^{"backend' | tee -a "$OUT/throughput.log"
ls "$data"/train/*.opus "$data"/validation/*.opus > /tmp/files
t0=$(date +%s)
for i in $(seq 0 14); do node entry.js --fill-cache /tmp/cache --files /tmp/files --shard "$i" --shards 15 & done; wait
echo "cache filled in $(( $(date +%s) - t0 )) s" | tee -a "$OUT/throughput.log"
clips=$(node -e "console.log(require('$OUT/throughput_opgrad.json').training[0].train_clips_s)")
epochs=$(node -e "console.log(Math.max(5, Math.min(60, Math.floor($budget * $clips / 620))))")
echo "training $model for $epochs epochs at ~$clips clips/s" | tee -a "$OUT/throughput.log"
cd "$repo"
TRAIN_TIMEOUT=$((budget + 40)) bash bench/gpu/train.sh "$tag" --model "$model" --epochs "$epochs" --batch 32 --micro-batch 32 \
  --lr 3e-3 --seq-lr 1.5e-3 --warmup 0.1 --wavemix 0 --shift 125 --mixup 0.3 --no-jitter --validate-every 5
ls -la "$OUT" "$OUT/$tag" 2>/dev/null
