#!/usr/bin/env bash
# WebGPU on a lent GPU machine, which has no Node.js and reaches no registry. Two halves:
#
#   scripts/device-check.sh pack   here: fills .device/ (git-ignored) with this machine's node binary (xz), a pruned
#                                  production node_modules (tar.xz: the linux-x64 binaries only, no S3 SDK, no
#                                  Chromium) and the Vulkan loader's Debian package; prints the sizes
#   scripts/device-check.sh run    there, through the device tool, in the repository root:
#                                    run(command: "bash scripts/device-check.sh run", carry: [".device"], timeout_s: 600)
#                                  unpacks them, then on EXECUTION_PROVIDER=webgpu runs `rankgate parity` on the
#                                  fixture, `bench engine --quick`, `bench merge --quick` and `bench fp16 --quick`
#                                  (ENGINE_PRECISION=fp16 against fp32 on the GPU's f16 shaders: drift and decode
#                                  speed), and prints one JSON object (logs and results also under $OUT)
#
# What travels is the working tree plus .device/, at most 64 MiB together (/work/.library/device/README.md):
# about 21 MB of tracked files, 24 MB of node, and the bundle (~18 MB; pack prints the sizes). Each step of `run` has its own time limit
# (110 + 210 + 130 + 80 s) so that the whole fits a 10-minute call, unpacking included.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=.device

pack() {
  mkdir -p "$DEVICE"
  local node_bin version
  node_bin=$(command -v node)
  version=$(node --version)
  if [ "$(cat "$DEVICE/node.version" 2>/dev/null)" != "$version" ]; then
    xz -T0 -6 -c "$node_bin" >"$DEVICE/node.xz"
    echo "$version" >"$DEVICE/node.version"
  fi
  # The production dependency closure, less what parity and the benches never load.
  npm ls --omit=dev --all --parseable 2>/dev/null | sed "s#^$PWD/##" | grep '^node_modules/' | sort -u |
    grep -Ev '^node_modules/(@aws-sdk|@smithy|@cloudflare|@types|drizzle-orm|chart\.js)(/|$)' >"$DEVICE/modules.txt"
  XZ_OPT='-9e -T0' tar -cJf "$DEVICE/bundle.tar.xz" \
    --exclude='node_modules/onnxruntime-node/bin/napi-v6/darwin' \
    --exclude='node_modules/onnxruntime-node/bin/napi-v6/win32' \
    --exclude='node_modules/onnxruntime-node/bin/napi-v6/linux/arm64' \
    --exclude='node_modules/@sparticuz/chromium/bin/chromium.br' \
    --exclude='node_modules/@sparticuz/chromium/bin/al2023.tar.br' \
    --exclude='node_modules/@sparticuz/chromium/bin/fonts.tar.br' \
    --exclude='node_modules/@sparticuz/chromium/bin/swiftshader.tar.br' \
    --exclude='node_modules/protobufjs/cli' --exclude='node_modules/bintrees/test' \
    --exclude='node_modules/bare-*/prebuilds/[!l]*' --exclude='node_modules/bare-*/prebuilds/linux-arm64' \
    --exclude='*.md' --exclude='*.d.ts' --exclude='*.map' \
    -T "$DEVICE/modules.txt"
  # The Vulkan loader (Debian 12's libvulkan1, amd64), in case the machine has none (the device README's recipe).
  if ! ls "$DEVICE"/libvulkan1_*.deb >/dev/null 2>&1; then
    local lists=/tmp/amd64-lists
    mkdir -p "$lists/partial"
    local o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
    apt-get "${o[@]}" update >/dev/null
    (cd "$DEVICE" && apt-get "${o[@]}" download libvulkan1 2>&1 | grep -v 'unsandboxed' >&2 || true)
  fi
  du -b "$DEVICE"/node.xz "$DEVICE"/bundle.tar.xz "$DEVICE"/libvulkan1_*.deb
  echo "tracked files: $(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1) bytes; the limit is 67108864 together"
}

# xz without the xz binary: python3 (there) has lzma.
unxz_to() { python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }

run() {
  # $OUT (what comes back from the device, at most 8 files) gets the logs; the parsed pieces stay in $state.
  local out=${OUT:-/tmp/device-check} state=/tmp/device-check-state
  mkdir -p "$out" "$state" /tmp/rankgate-node
  unxz_to "$DEVICE/node.xz" /tmp/rankgate-node/node
  chmod +x /tmp/rankgate-node/node
  export PATH=/tmp/rankgate-node:$PATH
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(".")' "$DEVICE/bundle.tar.xz"
  if ! ldconfig -p | grep -q 'libvulkan\.so\.1 '; then
    for f in "$DEVICE"/libvulkan1_*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
  export EXECUTION_PROVIDER=webgpu
  { nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true; } >"$state/device.txt" 2>&1
  step() { # name, seconds, command...: its output in $out/<name>.log, its last line (JSON) in $state/<name>.json
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS rc=0
    timeout "$limit" "$@" >"$out/$name.log" 2>&1 || rc=$?
    tail -n 1 "$out/$name.log" | grep '^{' >"$state/$name.json" || echo '{}' >"$state/$name.json"
    echo "{\"rc\": $rc, \"seconds\": $((SECONDS - start))}" >"$state/$name.status"
  }
  step parity 110 node bin/rankgate.js parity tests/fixtures/tiny-llama
  step engine 210 node --import tsx bench/index.ts engine --quick
  step merge 130 node --import tsx bench/index.ts merge --quick
  step fp16 80 node --import tsx bench/index.ts fp16 --quick
  node -e '
    const fs = require("node:fs");
    const dir = process.argv[1];
    const read = (f) => { try { return JSON.parse(fs.readFileSync(`${dir}/${f}`, "utf8")); } catch { return null; } };
    const stderr = fs.readFileSync(`${process.argv[2]}/parity.log`, "utf8");
    console.log(JSON.stringify({
      device: fs.readFileSync(`${dir}/device.txt`, "utf8").trim(),
      node: process.version,
      swiftshader: stderr.includes("SwiftShader"),
      parity: { ...read("parity.status"), report: read("parity.json") },
      engine: { ...read("engine.status"), result: read("engine.json") },
      merge: { ...read("merge.status"), result: read("merge.json") },
      fp16: { ...read("fp16.status"), result: read("fp16.json") },
    }));' "$state" "$out" | tee "$out/summary.json"
}

case "${1:-}" in
  pack) pack ;;
  run) run ;;
  *)
    echo "usage: scripts/device-check.sh pack|run" >&2
    exit 2
    ;;
esac
