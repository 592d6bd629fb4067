#!/usr/bin/env bash
# On the GPU machine (after remote.sh's setup; carry .gl .gpu/carry .gpu/fixtures.tar.xz): parity of the carried
# fixtures through the fused inference kernels, inference throughput without them (SED_WEBGPU_UNFUSED_INFERENCE=1,
# tfjs' kernels) and with them on the same GPU, multi-process inference, then training throughput without
# (SED_WEBGPU_UNFUSED_TRAINING=1) and with the fused training kernels. JSON to $OUT.
# Usage: bash bench/gpu/remote.sh bash bench/gpu/inference.sh
set -uo pipefail
mkdir -p /tmp/fx && python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" .gpu/fixtures.tar.xz /tmp/fx
cd "$SED_GPU/build"
quiet() { grep -v '^{"backend'; }
timeout 90 node entry.js --parity /tmp/fx/fixtures --models '' --train '' --result parity.json 2>&1 | quiet
SED_WEBGPU_UNFUSED_INFERENCE=1 timeout 90 node entry.js --models fmn04,fmn10+tf:256 --train '' --result unfused.json 2>&1 | quiet
timeout 150 node entry.js --models fmn04,fmn10,fmn10+tf:256,fmn10+hybrid:128,fmn10+bigru:256,fmn04+hybrid:104 --batch1 1 --train '' \
  --streams 1,4 --stream-models fmn10+tf:256 --result fused.json 2>&1 | quiet
SED_WEBGPU_UNFUSED_TRAINING=1 timeout 60 node entry.js --models '' --train fmn04+tf:64,fmn10+tf:256 --result train-unfused.json 2>&1 | quiet
timeout 90 node entry.js --models '' --train fmn04+tf:64,fmn04+hybrid:104,fmn10+tf:256 --result train.json 2>&1 | quiet
