#!/usr/bin/env bash
# Issue 14 on a GPU machine: the arch kernels' conformance and the qwen2, phi3, gemma2
# and Llama-3.x (rope_freqs) files on CUDA against the CPU backend.
#   scripts/arch-gpu-check.sh build DIR   here: inferno for linux/amd64 (no cgo) and the
#                                         arch models into DIR, with this script
#   DIR/arch-gpu-check.sh run             there: prints one line a check; exit 1 on a failure
set -uo pipefail
case "${1:-}" in
build)
	dir=${2:?usage: arch-gpu-check.sh build DIR}
	ref=${INFERNO_REFDATA:-../shared/refdata}
	mkdir -p "$dir/arch"
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -o "$dir/inferno" ./cmd/inferno || exit 1
	for a in qwen2 phi3 gemma2 llama3s; do cp "$ref/models/arch/arch-$a-F32.gguf" "$ref/models/arch/arch-$a-Q4_K_M.gguf" "$dir/arch/"; done
	cp "$ref/models/arch/arch-gemma2-Q8_0.gguf" "$dir/arch/"
	cp "$0" "$dir/arch-gpu-check.sh"
	;;
run)
	cd "$(dirname "$0")" || exit 1
	export INFERNO_CUDA_REQUIRE=1 INFERNO_MODELS_DIR=/tmp/arch-gpu-check-cache
	rc=0
	nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
	./inferno kernels test --backend cuda >/tmp/arch-kernels.log 2>&1 || rc=1
	grep -E "^FAIL|passed|softcap|window|rope_ff|scale|add_row|geglu" /tmp/arch-kernels.log
	P="The little dog ran to the park and saw a big red ball."
	for m in arch/*.gguf; do
		for b in cpu cuda; do
			./inferno logits -m "$m" --backend $b -p "$P" -q --output-json /tmp/l-$b.json >/tmp/l.log 2>&1 || { echo "FAIL logits $m $b: $(tail -2 /tmp/l.log)"; rc=1; }
			./inferno run -m "$m" --backend $b -p "$P" -n 24 --temp 0 -q --output-json /tmp/g-$b.json >/tmp/g.log 2>&1 || { echo "FAIL run $m $b: $(tail -2 /tmp/g.log)"; rc=1; }
		done
		python3 -c 'import json,sys
a, b = (json.load(open(f))["logits"] for f in sys.argv[1:3])
num = sum((x - y) ** 2 for x, y in zip(a, b)); den = sum(x * x for x in a) or 1
ta, tb = (json.load(open(f))["tokens"] for f in sys.argv[3:5])
n = next((i for i, (x, y) in enumerate(zip(ta, tb)) if x != y), min(len(ta), len(tb)))
ok = num / den <= 2e-3
print("%s  %-26s logits NMSE %.3g, greedy %s" % ("PASS" if ok else "FAIL", sys.argv[5], num / den, "identical %d" % len(ta) if ta == tb else "diverges at %d" % n))
sys.exit(not ok)' /tmp/l-cpu.json /tmp/l-cuda.json /tmp/g-cpu.json /tmp/g-cuda.json "$(basename "$m")" || rc=1
	done
	echo "arch-gpu-check: rc=$rc"
	exit $rc
	;;
*)
	echo "usage: arch-gpu-check.sh build DIR | run" >&2
	exit 2
	;;
esac
