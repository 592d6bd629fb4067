#!/usr/bin/env bash
# Table I direction (issue 5) on the GPU machine: a larger teacher, then the same small student with and without KD.
# Runs span several device calls on one warm machine (each call must follow the last within its idle window):
# /tmp/cache, /tmp/runs and /tmp/pseudo stay, and an interrupted run (the call's time limit stops it cleanly,
# SIGTERM) is resumed by calling the same phase again.
#   teacher <epochs> <budget_s>:  fmn10+tf:256, batch 64, alone (two fmn10 jobs side by side ran out of an H100's memory);
#   students <epochs> <budget_s>: pseudo-labels from the teacher's best checkpoint, then fmn04+tf:64 without KD and
#                                 with KD (w = 0.9) side by side, same recipe and epochs.
# Usage (repo root): bash bench/gpu/remote.sh bash bench/gpu/kd.sh teacher 30 540   (carry .gl .gpu/carry .gpu/data)
set -uo pipefail
phase=$1; epochs=$2; budget=$3
t0=$(date +%s)
repo=$PWD; data=$repo/.gpu/data
recipe=(--lr 3e-3 --seq-lr 1.5e-3 --warmup 0.1 --wavemix 0 --shift 125 --mixup 0.3 --no-jitter --validate-every 3 --epochs "$epochs")
student=(--model fmn04+tf:64 --batch 32 --micro-batch 32 "${recipe[@]}")
left() { echo $(( budget - ($(date +%s) - t0) - 15 )); }
resume() { [ -f "/tmp/runs/$1/resume.safetensors" ] && echo --resume; }
cd "$SED_GPU/build"
ls "$data"/train/*.opus "$data"/validation/*.opus > /tmp/files
for i in $(seq 0 14); do node entry.js --fill-cache /tmp/cache --files /tmp/files --shard "$i" --shards 15 & done; wait
echo "cache ready at $(( $(date +%s) - t0 )) s" | tee -a "$OUT/kd-$phase.log"
cd "$repo"
case "$phase" in
  teacher)
    TRAIN_TIMEOUT=$(left) bash bench/gpu/train.sh teacher --model fmn10+tf:256 --batch 64 --micro-batch 64 "${recipe[@]}" $(resume teacher) > /dev/null ;;
  students)
    [ -f /tmp/runs/teacher/best/model.safetensors ] || { echo "no teacher checkpoint (machine released, or teacher phase not run)"; exit 2; }
    if [ ! -d /tmp/pseudo ]; then
      (cd "$SED_GPU/build" && node main.js --backend webgpu pseudo-label -m /tmp/runs/teacher/best --audio "$data/train" -o /tmp/pseudo.part --cache /tmp/cache --batch 32 --no-progress) && mv /tmp/pseudo.part /tmp/pseudo
    fi
    TRAIN_TIMEOUT=$(left) bash bench/gpu/train.sh student-nokd "${student[@]}" $(resume student-nokd) > /dev/null &
    TRAIN_TIMEOUT=$(left) bash bench/gpu/train.sh student-kd "${student[@]}" --pseudo-labels /tmp/pseudo $(resume student-kd) > /dev/null &
    wait ;;
  *) echo "usage: kd.sh teacher|students <epochs> <budget_s>"; exit 2 ;;
esac
tail -n 3 "$OUT"/*.log
