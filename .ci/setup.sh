#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (.ci/apt-packages.txt) when any is missing.
# Run by `npm test` (pretest) and so by .ci/run; needs root or sudo only when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=$(grep -v '^#' .ci/apt-packages.txt | xargs)
missing=$(for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done | xargs)
[ -z "$missing" ] && exit 0
echo "installing Debian packages for the tests: $missing"
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
