#!/usr/bin/env bash
# Table I direction (issue 5) on the GPU machine, as run for bench/RESULTS.md (fourth session): every run uses the
# reference recipe (59 epochs, batch 32, Adam 3e-3 / 1.5e-3, cosine with 10 % warm-up, time shift + mel mixup).
#   base <seeds>:             per seed, an fmn10+tf:256 teacher (teacher-s<seed>) and an fmn04+tf:64 student without KD
#                             (nokd-s<seed>), all side by side (an H200 runs five such jobs at ~5 s per epoch each);
#   kd <seeds> <teachers...>: pseudo-labels from the teachers' best checkpoints (several: an ensemble, mean
#                             probabilities), then one fmn04+tf:64 student per seed with them (kd-<teachers>-s<seed>);
#   pairs <seeds> <teachers...>: as kd, plus the same seeds without KD (nokd-s<seed>), all side by side.
# Pseudo-labels already in /tmp/pseudo-<teachers> (e.g. carried: .gpu/kd/pt16.tar.xz, the teacher-s0 labels as F16)
# are used as they are, so a fresh machine needs no teacher checkpoint.
# Runs of one machine share /tmp/cache and /tmp/runs (a stopped run resumes when its phase is called again on the same
# warm machine). What comes back: histories, logs and the students' best checkpoints, as 15 MiB pieces of one tar
# ($OUT/runs.tar.aa, .ab, … — the device tool returns files of up to 16 MiB); `cat runs.tar.* | tar x` here.
# Usage (repo root; carry .gl .gpu/carry .gpu/data): bash bench/gpu/remote.sh bash bench/gpu/kd.sh base "0 1 2"
#        then, on the same warm machine:         bash bench/gpu/remote.sh bash bench/gpu/kd.sh kd "0 1" teacher-s0
set -uo pipefail
phase=$1; seeds=$2; shift 2
repo=$PWD; data=$repo/.gpu/data
recipe=(--lr 3e-3 --seq-lr 1.5e-3 --warmup 0.1 --wavemix 0 --shift 125 --mixup 0.3 --no-jitter --epochs 59 --batch 32 --micro-batch 32)
logs=/tmp/kd-logs; mkdir -p "$logs"
train() { # <tag> <sed train options...>: resumable, its log under $logs
  local tag=$1; shift
  local resume=(); [ -f "/tmp/runs/$tag/resume.safetensors" ] && resume=(--resume)
  (cd "$repo" && OUT=$logs TRAIN_TIMEOUT=${TRAIN_TIMEOUT:-540} bash bench/gpu/train.sh "$tag" "$@" "${recipe[@]}" "${resume[@]}" > /dev/null)
}
cd "$SED_GPU/build"
ls "$data"/train/*.opus "$data"/validation/*.opus > /tmp/files
for i in $(seq 0 14); do node entry.js --fill-cache /tmp/cache --files /tmp/files --shard "$i" --shards 15 & done; wait
case "$phase" in
  base)
    for s in $seeds; do
      train "teacher-s$s" --model fmn10+tf:256 --seed "$s" --validate-every 2 &
      train "nokd-s$s" --model fmn04+tf:64 --seed "$s" --validate-every 1 &
    done ;;
  kd|pairs)
    [ $# -ge 1 ] || { echo "kd: name the teacher runs (e.g. teacher-s0)"; exit 2; }
    name=$(IFS=+; echo "$*"); labels=/tmp/pseudo-$name; ckpts=()
    for t in "$@"; do ckpts+=("/tmp/runs/$t/best"); done
    if [ ! -d "$labels" ]; then
      node main.js --backend webgpu pseudo-label -m "${ckpts[@]}" --audio "$data/train" -o "$labels.part" --cache /tmp/cache --batch 32 --no-progress && mv "$labels.part" "$labels"
    fi
    for s in $seeds; do
      train "kd-$name-s$s" --model fmn04+tf:64 --seed "$s" --validate-every 1 --pseudo-labels "$labels" &
      [ "$phase" = pairs ] && train "nokd-s$s" --model fmn04+tf:64 --seed "$s" --validate-every 1 &
    done ;;
  *) echo "usage: kd.sh base|kd|pairs <seeds> [teacher runs...]"; exit 2 ;;
esac
wait
grep -h "^epoch 59\|exited" "$logs"/*.log
cd /tmp/runs && tar cf /tmp/runs.tar ./*/history.json ./*s[0-9]*/best/config.json $(ls -d ./nokd-* ./kd-* 2>/dev/null | sed 's|$|/best/model.safetensors|') "$logs"/*.log
split -b 15m /tmp/runs.tar "$OUT/runs.tar."
