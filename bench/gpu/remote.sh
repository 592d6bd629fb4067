#!/usr/bin/env bash
# Runs on the GPU machine (carry: .gl .gpu/carry [.gpu/data] [.gpu/fixtures]): installs the Vulkan/GL loaders,
# unpacks Node and the engine bundle, then runs "$@" with `node` on PATH and the bundle at $SED_GPU/build.
set -euo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export SED_GPU=/tmp/sedgpu
mkdir -p $SED_GPU/bin $SED_GPU/node_modules/webgpu/dist/linux-x64
unxz() { python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" "$1" "$2"; }
unxz .gpu/carry/node.xz $SED_GPU/bin/node && chmod +x $SED_GPU/bin/node
unxz .gpu/carry/webgpu/dist/linux-x64/dawn.node.xz $SED_GPU/node_modules/webgpu/dist/linux-x64/dawn.node
cp .gpu/carry/webgpu/package.json .gpu/carry/webgpu/index.js $SED_GPU/node_modules/webgpu/
python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" .gpu/carry/build.tar.xz $SED_GPU
export PATH=$SED_GPU/bin:$PATH NODE_PATH=$SED_GPU/node_modules
node --version; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
"$@"
