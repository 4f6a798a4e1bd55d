#!/usr/bin/env bash
# Runs the Metal simulator's tests as linux/arm64 binaries under qemu-user, so the
# arm64 fiber context switch (the __aarch64__ switch in metal/sim/shim/runtime.cpp) is exercised on an amd64
# host: the kernels are cross-compiled with clang-19 --target=aarch64-linux-gnu.
# Needs: qemu-user, g++-aarch64-linux-gnu (for the arm64 libc/libstdc++), clang-19.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
if [ "$(uname -m)" = "aarch64" ]; then
  echo "test-sim-arm64: this host is arm64; make test already runs the arm64 fibers"; exit 0
fi
for tool in qemu-aarch64 clang++-19 aarch64-linux-gnu-ld; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-sim-arm64: SKIPPED, $tool not installed (apt-get install -y qemu-user g++-aarch64-linux-gnu clang-19)"; exit 0
  fi
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
printf '#!/bin/sh\nexec clang++-19 --target=aarch64-linux-gnu "$@"\n' > "$work/clang-aarch64"
chmod +x "$work/clang-aarch64"
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu INFERNO_CLANG="$work/clang-aarch64" INFERNO_SIM_CACHE="$work/cache"
for pkg in metal/sim metal/conformance; do
  GOARCH=arm64 CGO_ENABLED=0 $GO test -c -o "$work/t.test" "./$pkg"
  # TestGuardPage re-executes its own binary, which needs binfmt_misc (absent in containers).
  # conformance: one lane order, and the cases of kernels with barriers, SIMD-group
  # exchange and threadgroup memory (the fiber switch is what differs on arm64); the
  # whole suite runs natively in make test
  (cd "$pkg" && INFERNO_CONFORMANCE_FILTER="rms_norm,argmax,matvec_q4_k,matmul_q4_0,attn_prefill,attn_decode hd64" \
    qemu-aarch64 "$work/t.test" -test.count=1 -test.short -test.skip 'TestGuardPage')
  echo "ok   $pkg (linux/arm64 under qemu)"
done
