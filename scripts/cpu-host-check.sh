#!/usr/bin/env bash
# The CPU path on the GPU machine's host CPU (issue 17), in two halves like gpu-check.sh:
#   scripts/cpu-host-check.sh build DIR   here, after `scripts/gpu-check.sh build DIR`: adds the
#                                         cpu package's tests and this script to DIR
#   DIR/cpu-host-check.sh run             there: the kernel tests of every kernel set the CPU
#                                         runs, `inferno system`, and `inferno bench --backend
#                                         cpu` of the TinyLlama-shaped files per kernel set and
#                                         thread count. Writes $OUT/cpu-summary.txt and
#                                         $OUT/cpu-bench.json (one JSON object a line).
# Environment for run: KEEP_MODELS=dir (files made by gpu-check.sh's run, made here when
# absent), TYPES (default "Q4_0 Q4_K_M Q8_0"), SETS (default "avx512vnni avx2"), THREADS
# (default "16 4"; the sets after the first run at the first count only), DEADLINE (s).
set -uo pipefail
case "${1:-}" in
build)
	dir=${2:?usage: cpu-host-check.sh build DIR}
	mkdir -p "$dir"
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go test -c -o "$dir/cpu.test" ./cpu || exit 1
	gzip -f "$dir/cpu.test"
	cp "$0" "$dir/cpu-host-check.sh"
	;;
run)
	here=$(cd "$(dirname "$0")" && pwd)
	out=${OUT:-/tmp/cpu-host-check}
	mkdir -p "$out"
	for f in "$here"/*.gz; do [ -e "$f" ] && gunzip -f "$f" && chmod +x "${f%.gz}"; done
	inf="$here/inferno"
	m="$here/models"
	models=${KEEP_MODELS:-$(mktemp -d)}
	mkdir -p "$models"
	sum="$out/cpu-summary.txt"
	: >"$sum"
	: >"$out/cpu-bench.json"
	deadline=$((SECONDS + ${DEADLINE:-540}))
	"$inf" system >>"$sum" 2>&1
	grep -o -m1 -w 'avx512_vnni\|amx_int8\|amx_bf16\|avx512_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ' >>"$sum"
	echo >>"$sum"
	# Every kernel set this CPU runs against tensor's reference dot (the sets it lacks skip).
	"$here/cpu.test" -test.run 'TestX8Kernels|TestMatMul|KernelSet|TestDot' -test.count=1 -test.v >"$out/cpu-test.log" 2>&1
	echo "cpu tests: rc=$? ($(grep -c '^--- PASS' "$out/cpu-test.log") passed, $(grep -c '^--- FAIL' "$out/cpu-test.log") failed, $(grep -c '^--- SKIP' "$out/cpu-test.log") skipped)" >>"$sum"
	grep -E '^(--- FAIL|--- SKIP)' "$out/cpu-test.log" | head -20 >>"$sum"
	sets=(${SETS:-avx512vnni avx2})
	threads=(${THREADS:-16 4})
	for t in ${TYPES:-Q4_0 Q4_K_M Q8_0}; do
		f="$models/tl-$t.gguf"
		[ -s "$f" ] || "$inf" gen --preset tinyllama-1.1b --type "$t" --vocab-from "$m/ggml-vocab-llama-spm.gguf" --seed 42 -o "$f" >/dev/null 2>>"$sum"
		for s in "${sets[@]}"; do
			for n in "${threads[@]}"; do
				[ "$SECONDS" -ge "$deadline" ] && { echo "deadline: $t $s -t $n skipped" >>"$sum"; continue; }
				[ "$s" != "${sets[0]}" ] && [ "$n" != "${threads[0]}" ] && continue
				j=$(mktemp)
				INFERNO_CPU_KERNELS=$s timeout 150 "$inf" bench -m "$f" --backend cpu --threads "$n" --prompt-tokens 512 --tokens 128 \
					--iterations 3 --warmup 1 -q --output-json "$j" >"$j.txt" 2>&1
				echo "== $t $s threads $n (rc $?)" >>"$sum"
				grep -E '^(system|pp|tg)' "$j.txt" >>"$sum"
				[ -s "$j" ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["kernel_set"]=sys.argv[2]; d["threads_asked"]=int(sys.argv[3]); print(json.dumps(d))' "$j" "$s" "$n" >>"$out/cpu-bench.json"
				rm -f "$j" "$j.txt"
			done
		done
	done
	cat "$sum"
	;;
*)
	echo "usage: cpu-host-check.sh build DIR | DIR/cpu-host-check.sh run" >&2
	exit 2
	;;
esac
