#!/usr/bin/env bash
# Runs the CPU backend's tests, the codecs' llama.cpp vectors and the model's end-to-end checks as linux/arm64 binaries
# under qemu-user: with -cpu max (the dot-product extension, so the NEON kernels of the
# interleaved layouts run against tensor's reference and llama.cpp's logits) and with
# -cpu cortex-a53 (Armv8.0, no dot product: the dispatch must fall back to Go).
# Needs: qemu-user.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
if [ "$(uname -m)" = "aarch64" ]; then
  echo "test-cpu-arm64: this host is arm64; make test already runs the NEON kernels"; exit 0
fi
if ! command -v qemu-aarch64 >/dev/null 2>&1; then
  echo "test-cpu-arm64: SKIPPED, qemu-aarch64 not installed (apt-get install -y qemu-user)"; exit 0
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
GOARCH=arm64 CGO_ENABLED=0 $GO test -c -o "$work/cpu.test" ./cpu
GOARCH=arm64 CGO_ENABLED=0 $GO test -c -o "$work/llama.test" ./model/llama
GOARCH=arm64 CGO_ENABLED=0 $GO test -c -o "$work/tensor.test" ./tensor
# Go fuses a*b+c into one FMA on arm64; the codecs must round as llama.cpp's x86 build does.
(cd tensor && qemu-aarch64 -cpu max "$work/tensor.test" -test.count=1 -test.run TestVectors)
echo "ok   tensor vectors (linux/arm64 under qemu -cpu max)"
for model in max cortex-a53; do
  (cd cpu && qemu-aarch64 -cpu "$model" "$work/cpu.test" -test.count=1 -test.v | grep -E '^(--- |FAIL)|SKIP')
  echo "ok   cpu (linux/arm64 under qemu -cpu $model)"
done
(cd model/llama && qemu-aarch64 -cpu max "$work/llama.test" -test.count=1)
echo "ok   model/llama (linux/arm64 under qemu -cpu max)"
