#!/usr/bin/env bash
# Table I direction (issue 5) on the GPU machine, in two device calls on one warm machine (the second call
# reuses the first one's /tmp/cache and /tmp/runs, so it must follow within the machine's idle window):
#   teacher <budget_s>: fills the decoded-audio cache, times the teacher (fmn10+tf:256, batch 64) and the
#     student (fmn04+tf:64, batch 32) side by side, then trains both at once — the student without KD — with
#     epoch counts that fit the budget;
#   kd <budget_s>: pseudo-labels the training clips with the teacher's best checkpoint and trains the same
#     student with KD (w = 0.9) for the same epochs.
# Run after remote.sh's setup, from the repository root: bash bench/gpu/remote.sh bash bench/gpu/kd.sh teacher 520
set -uo pipefail
phase=$1; budget=$2
t0=$(date +%s)
repo=$PWD; data=$repo/.gpu/data
teacher=(--model fmn10+tf:256 --batch 64 --micro-batch 64)
student=(--model fmn04+tf:64 --batch 32 --micro-batch 32)
recipe=(--lr 3e-3 --seq-lr 1.5e-3 --warmup 0.1 --wavemix 0 --shift 125 --mixup 0.3 --no-jitter)
left() { echo $(( budget - ($(date +%s) - t0) )); }
cd "$SED_GPU/build"

pace() { # <tag> <model options...>: seconds per 600-clip epoch of the real loop (2 epochs of 128 clips)
  local tag=$1; shift
  node main.js train --backend webgpu --no-progress "$@" "${recipe[@]}" --train-tsv "$data/train.tsv" --audio "$data/train" \
    --durations "$data/train_durations.tsv" --cache /tmp/cache --out "/tmp/timing-$tag" --epochs 2 --limit 128 > "/tmp/timing-$tag.json" 2>/dev/null
  node -e "const t=require('fs').readFileSync('/tmp/timing-$tag.json','utf8');console.log(JSON.parse(t.slice(t.indexOf('{'))).secondsPerEpoch*600/128)"
}
epochs_for() { node -e "console.log(Math.max(3, Math.min(59, Math.floor($1 / ($2 * 1.12)))))"; }

if [ "$phase" = teacher ]; then
  ls "$data"/train/*.opus "$data"/validation/*.opus > /tmp/files
  for i in $(seq 0 14); do node entry.js --fill-cache /tmp/cache --files /tmp/files --shard "$i" --shards 15 & done; wait
  echo "cache filled at $(( $(date +%s) - t0 )) s" | tee "$OUT/kd-teacher.log"
  pace teacher "${teacher[@]}" > /tmp/pace-teacher & pace student "${student[@]}" > /tmp/pace-student & wait
  avail=$(( $(left) - 25 ))
  et=$(epochs_for "$avail" "$(cat /tmp/pace-teacher)"); es=$(epochs_for "$avail" "$(cat /tmp/pace-student)")
  echo "pace (s per 600-clip epoch, side by side): teacher $(cat /tmp/pace-teacher), student $(cat /tmp/pace-student); $avail s left → teacher $et epochs, student $es epochs" | tee -a "$OUT/kd-teacher.log"
  echo "$es" > /tmp/runs-student-epochs
  cd "$repo"
  TRAIN_TIMEOUT=$avail bash bench/gpu/train.sh teacher "${teacher[@]}" "${recipe[@]}" --epochs "$et" --validate-every 3 > /dev/null &
  TRAIN_TIMEOUT=$avail bash bench/gpu/train.sh student-nokd "${student[@]}" "${recipe[@]}" --epochs "$es" --validate-every 3 > /dev/null &
  wait
elif [ "$phase" = kd ]; then
  [ -f /tmp/runs/teacher/best/model.safetensors ] || { echo "no teacher checkpoint: the machine was released after the teacher phase"; exit 2; }
  es=$(cat /tmp/runs-student-epochs)
  node main.js --backend webgpu pseudo-label -m /tmp/runs/teacher/best --audio "$data/train" -o /tmp/pseudo --cache /tmp/cache --batch 32 --no-progress
  echo "pseudo-labels written at $(( $(date +%s) - t0 )) s; student with KD for $es epochs" | tee "$OUT/kd-student.log"
  cd "$repo"
  TRAIN_TIMEOUT=$(( $(left) - 10 )) bash bench/gpu/train.sh student-kd "${student[@]}" "${recipe[@]}" --epochs "$es" --validate-every 3 --pseudo-labels /tmp/pseudo > /dev/null
else
  echo "usage: kd.sh teacher|kd <budget_s>"; exit 2
fi
ls -la "$OUT"
