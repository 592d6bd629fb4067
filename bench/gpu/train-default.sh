#!/usr/bin/env bash
# On the GPU machine (after remote.sh): a parallel fill of the decoded-audio cache, a short timing run of the
# real training loop (2 epochs of 320 clips), then `sed train` of <model> with as many epochs as fit
# <budget_s> seconds at that pace (the cosine schedule spans exactly those epochs). EPOCHS=n fixes the
# epoch count; THROUGHPUT_MODELS=a,b first measures model-only training throughput at THROUGHPUT_BATCH (64).
# Usage: bench/gpu/train-default.sh <model> <tag> [budget_s] [extra sed train options...]
set -uo pipefail
model=$1; tag=$2; budget=${3:-330}; shift 3 || shift $#
repo=$PWD; data=$repo/.gpu/data
t0=$(date +%s)
cd "$SED_GPU/build"
if [ -n "${THROUGHPUT_MODELS:-}" ]; then
  node entry.js --models '' --train "$THROUGHPUT_MODELS" --batch "${THROUGHPUT_BATCH:-64}" --result throughput.json 2>&1 | grep -v '^{"backend' | tee "$OUT/throughput.log"
fi
ls "$data"/train/*.opus "$data"/validation/*.opus > /tmp/files
for i in $(seq 0 14); do node entry.js --fill-cache /tmp/cache --files /tmp/files --shard "$i" --shards 15 & done; wait
echo "cache filled at $(( $(date +%s) - t0 )) s" | tee -a "$OUT/throughput.log"
common=(--backend webgpu --no-progress --model "$model" --train-tsv "$data/train.tsv" --audio "$data/train" --durations "$data/train_durations.tsv"
  --cache /tmp/cache --batch 32 --micro-batch 32 --lr 3e-3 --seq-lr 1.5e-3 --warmup 0.1 --wavemix 0 --shift 125 --mixup 0.3 --no-jitter)
if [ -z "${EPOCHS:-}" ]; then
  node main.js train "${common[@]}" --out /tmp/timing --epochs 2 --limit 320 > /tmp/timing.json 2>/dev/null
  spe=$(node -e "const r=JSON.parse(require('fs').readFileSync('/tmp/timing.json','utf8').slice(require('fs').readFileSync('/tmp/timing.json','utf8').indexOf('{')));console.log(r.secondsPerEpoch*600/320)")
  left=$(( budget - ($(date +%s) - t0) ))
  # 15 % margin for validation (every 3 epochs) and checkpoint saves.
  EPOCHS=$(node -e "console.log(Math.max(3, Math.min(59, Math.floor($left / ($spe * 1.15)))))")
  echo "loop pace ~$spe s per 600-clip epoch; $left s left" | tee -a "$OUT/throughput.log"
fi
echo "training $model for $EPOCHS epochs" | tee -a "$OUT/throughput.log"
cd "$repo"
left=$(( budget - ($(date +%s) - t0) ))
TRAIN_TIMEOUT=$left bash bench/gpu/train.sh "$tag" --model "$model" --epochs "$EPOCHS" --batch 32 --micro-batch 32 \
  --lr 3e-3 --seq-lr 1.5e-3 --warmup 0.1 --wavemix 0 --shift 125 --mixup 0.3 --no-jitter --validate-every "${VALIDATE_EVERY:-3}" "$@"
ls -la "$OUT" "$OUT/$tag" 2>/dev/null
