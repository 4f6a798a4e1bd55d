#!/usr/bin/env bash
# The CUDA check on a GPU machine, in two halves (issue 13, phase 1):
#   scripts/gpu-check.sh build DIR   here: cross-compiles the cuda package's tests into
#                                    DIR (with this script), for linux/amd64, no cgo
#   DIR/gpu-check.sh run             there: conformance, driver errors, launch figures,
#                                    compute-sanitizer memcheck and racecheck; logs in $OUT
set -uo pipefail
case "${1:-}" in
build)
  dir=${2:?usage: gpu-check.sh build DIR}
  mkdir -p "$dir"
  GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go test -c -o "$dir/cuda.test" ./cuda || exit 1
  cp "$0" "$dir/gpu-check.sh"
  ;;
run)
  here=$(cd "$(dirname "$0")" && pwd)
  out=${OUT:-/tmp/gpu-check}
  mkdir -p "$out"
  export INFERNO_CUDA_REQUIRE=1
  rc=0
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 | tee "$out/nvidia-smi.txt"
  "$here/cuda.test" -test.v -test.count=1 -test.timeout 120s 2>&1 | tee "$out/cuda-test.log" || rc=1
  "$here/cuda.test" -test.run '^$' -test.bench . -test.benchtime 2000x -test.count 2 2>&1 | tee "$out/cuda-bench.log" || rc=1
  # where the host's time goes in back-to-back launches (go tool pprof cuda.test cpu.prof)
  "$here/cuda.test" -test.run '^$' -test.bench 'Sync/cols=32/dispatches=200' -test.benchtime 2000x -test.cpuprofile "$out/cpu.prof" >/dev/null 2>&1 || rc=1
  cs=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
  if [ -z "$cs" ]; then
    echo "compute-sanitizer not found" | tee "$out/sanitizer.log"; rc=1
  else
    for tool in memcheck racecheck; do
      "$cs" --tool "$tool" --error-exitcode 3 "$here/cuda.test" -test.run 'Conformance' -test.count=1 -test.v 2>&1 | tee "$out/$tool.log" || rc=1
    done
  fi
  echo "gpu-check: rc=$rc" | tee -a "$out/cuda-test.log"
  exit $rc
  ;;
*)
  echo "usage: gpu-check.sh build DIR | run" >&2; exit 2 ;;
esac
