#!/usr/bin/env bash
# The whole CUDA check on a GPU machine in one call (issue 13), in two halves:
#   scripts/gpu-check.sh build DIR   here: cross-compiles the cuda package's tests and
#                                    inferno for linux/amd64 (no cgo) into DIR, with this
#                                    script and the small models the checks read
#   DIR/gpu-check.sh run             there: the cuda tests, every kernel's conformance
#                                    (also under compute-sanitizer), greedy tokens, logits
#                                    and perplexity against the CPU backend, and the
#                                    TinyLlama-shape benchmark (the first type also without
#                                    CUDA graphs; models made there by
#                                    `inferno gen`). Writes $OUT/summary.txt and
#                                    $OUT/logs.tgz; exits non-zero when a check fails.
# Environment for run: SKIP_BENCH=1 skips the benchmark; SKIP_KDECODE=1 kernels bench
# --decode; ALT=file (gzipped or not, in DIR) a second inferno checked and benchmarked beside; BENCH_TYPES (default
# "Q4_0 Q4_K_M Q8_0"); DEADLINE (default 540): seconds after which steps are skipped;
# KEEP_MODELS=dir keeps the TinyLlama-shaped files there (and takes them from there), for
# later calls on the same machine (scripts/cpu-host-check.sh).
set -uo pipefail
ARCH="qwen2-Q8_0 phi3-Q8_0 gemma2-Q8_0 llama3-Q8_0 llama3s-Q4_K_M" # issue 14's architectures
QMINI=${QMINI:-"F32 F16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K_M Q4_K_M Q5_K_M Q6_K IQ4_NL IQ4_XS"} # QMINI=... a subset (the carry limit)
LOWBIT="IQ1_S IQ1_M IQ2_XXS IQ2_XS IQ2_S IQ2_M IQ3_XXS IQ3_XS IQ3_S IQ3_M TQ1_0 TQ2_0" # quant-research's --imatrix files
case "${1:-}" in
build)
	dir=${2:?usage: gpu-check.sh build DIR}
	ref=${INFERNO_REFDATA:-../shared/refdata}
	mkdir -p "$dir/models"
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go test -ldflags="-s -w" -c -o "$dir/cuda.test" ./cuda || exit 1
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -ldflags="-s -w" -o "$dir/inferno" ./cmd/inferno || exit 1
	# The API's concurrency and Close tests under the race detector (which needs cgo).
	GOOS=linux GOARCH=amd64 CGO_ENABLED=1 go test -race -ldflags="-s -w" -c -o "$dir/inferno-race.test" . || exit 1
	mkdir -p "$dir/refdata/models"
	cp "$ref/models/stories260K.gguf" "$dir/refdata/models/"
	cp "$0" "$dir/gpu-check.sh"
	gzip -f "$dir/cuda.test" "$dir/inferno" "$dir/inferno-race.test" # the carry limit (64 MiB)
	cp "$ref/models/stories260K.gguf" "$ref/reference/story.txt" "$ref/vocab/ggml-vocab-llama-spm.gguf" "$dir/models/"
	for t in $QMINI; do cp "$ref/models/qmini/qmini-$t.gguf" "$dir/models/"; done
	for t in $LOWBIT; do cp "$ref/quant-research/qmini-$t-imat.gguf" "$dir/models/"; done
	for f in $ARCH; do cp "$ref/models/arch/arch-$f.gguf" "$dir/models/"; done
	;;
run)
	here=$(cd "$(dirname "$0")" && pwd)
	for f in "$here"/*.gz; do [ -e "$f" ] && gunzip -f "$f" && chmod +x "${f%.gz}"; done
	out=${OUT:-/tmp/gpu-check}
	logs=$(mktemp -d)
	inf="$here/inferno"
	m="$here/models"
	# INFERNO_CUDA_DEBUG: a CUDA graph failure (then launched kernel by kernel) is logged
	export INFERNO_CUDA_REQUIRE=1 INFERNO_CUDA_DEBUG=1 INFERNO_MODELS_DIR="$logs/cache"
	mkdir -p "$out"
	rc=0
	sum() { echo "$*" | tee -a "$out/summary.txt"; }
	step() { # name command...: runs it, logs to $logs/name.log, records pass/fail
		local name=$1
		shift
		if [ "$SECONDS" -gt "${DEADLINE:-540}" ]; then # one device call has 600 s
			sum "SKIP  $name (past ${DEADLINE:-540} s)"
			rc=1
			return
		fi
		local t0=$SECONDS
		if "$@" >"$logs/$name.log" 2>&1; then
			sum "PASS  $name ($((SECONDS - t0)) s)"
		else
			sum "FAIL  $name ($((SECONDS - t0)) s): $(tail -3 "$logs/$name.log" | tr '\n' ' ')"
			rc=1
		fi
	}
	: >"$out/summary.txt"
	sum "$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1)"
	step system "$inf" system
	step cuda-test "$here/cuda.test" -test.v -test.count=1 -test.timeout 120s
	step kernels "$inf" kernels test --backend cuda
	# ALT=path: a second inferno build (a variant of one change) checked and timed beside
	alt=${ALT:+$here/${ALT%.gz}} # the .gz files were unpacked above
	[ -n "$alt" ] && step "kernels alt" "$alt" kernels test --backend cuda
	step "race: sessions and Close on cuda" env INFERNO_REFDATA="$here/refdata" "$here/inferno-race.test" -test.run 'TestConcurrentSessions|TestUseAfterClose' -test.v -test.count=1
	grep -E "passed|failed" "$logs/kernels.log" | tail -1 | sed 's/^/      /' | tee -a "$out/summary.txt"
	# Greedy tokens: the CUDA backend against the CPU backend, 64 tokens, three prompts.
	for p in "Once upon a time" "Lily and Tom went" "The little dog"; do
		for b in cpu cuda; do
			"$inf" run -m "$m/stories260K.gguf" --backend "$b" -p "$p" -n 64 --temp 0 -q --output-json "$logs/greedy-$b.json" >>"$logs/greedy.log" 2>&1
		done
		step "greedy: $p" python3 -c 'import json,sys
a, b = (json.load(open(f))["tokens"] for f in sys.argv[1:3])
n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
print("identical" if a == b else "diverge at %d: cpu %s cuda %s" % (n, a[n:n+5], b[n:n+5]))
sys.exit(a != b or len(a) != 64)' "$logs/greedy-cpu.json" "$logs/greedy-cuda.json"
	done
	# Partial offload: the first 3 blocks on the GPU, the rest on the CPU.
	"$inf" run -m "$m/stories260K.gguf" --backend cuda --gpu-layers 3 -p "Once upon a time" -n 64 --temp 0 -q --output-json "$logs/greedy-split.json" >>"$logs/greedy.log" 2>&1
	"$inf" run -m "$m/stories260K.gguf" --backend cpu -p "Once upon a time" -n 64 --temp 0 -q --output-json "$logs/greedy-cpu.json" >>"$logs/greedy.log" 2>&1
	step "greedy: --gpu-layers 3" python3 -c 'import json,sys
a, b = (json.load(open(f))["tokens"] for f in sys.argv[1:3])
print("identical" if a == b else "differ"); sys.exit(a != b or len(a) != 64)' "$logs/greedy-cpu.json" "$logs/greedy-split.json"
	# Logits of every qmini type: NMSE of CUDA against the CPU, the prompt in one batch
	# (prompt kernels) and token by token (--batch 1: the fused decode kernels).
	for t in $QMINI $(for l in $LOWBIT; do echo "$l-imat"; done); do
		for batch in 512 1; do
			for b in cpu cuda; do
				"$inf" logits -m "$m/qmini-$t.gguf" --backend "$b" --batch $batch -p "Once upon a time there was" -q --output-json "$logs/logits-$b.json" >>"$logs/logits.log" 2>&1
			done
			step "logits qmini-$t batch $batch" python3 -c 'import json,sys
a, b = (json.load(open(f))["logits"] for f in sys.argv[1:3])
num = sum((x - y) ** 2 for x, y in zip(a, b)); den = sum(x * x for x in a) or 1
print("NMSE %.3g" % (num / den)); sys.exit(not num / den <= 2e-3)' "$logs/logits-cpu.json" "$logs/logits-cuda.json"
			tail -1 "$logs/logits qmini-$t batch $batch.log" | sed 's/^/      /' | tee -a "$out/summary.txt"
		done
	done
	# The other architectures (qwen2, phi3, gemma2, Llama 3 with rope factors): logits
	# against the CPU (NMSE <= 2e-3) and 24 greedy tokens.
	for f in $ARCH; do
		for b in cpu cuda; do
			"$inf" logits -m "$m/arch-$f.gguf" --backend "$b" -p "The little dog ran to the park and saw a big red ball." -q --output-json "$logs/logits-$b.json" >>"$logs/arch.log" 2>&1
			"$inf" run -m "$m/arch-$f.gguf" --backend "$b" -p "The little dog ran to the park" -n 24 --temp 0 -q --output-json "$logs/greedy-$b.json" >>"$logs/arch.log" 2>&1
		done
		step "arch-$f" python3 -c 'import json,sys
a, b = (json.load(open(f))["logits"] for f in sys.argv[1:3])
num = sum((x - y) ** 2 for x, y in zip(a, b)); den = sum(x * x for x in a) or 1
ta, tb = (json.load(open(f))["tokens"] for f in sys.argv[3:5])
n = next((i for i, (x, y) in enumerate(zip(ta, tb)) if x != y), min(len(ta), len(tb)))
print("NMSE %.3g, greedy %s" % (num / den, "identical" if ta == tb else "diverges at %d" % n))
sys.exit(not num / den <= 2e-3)' "$logs/logits-cpu.json" "$logs/logits-cuda.json" "$logs/greedy-cpu.json" "$logs/greedy-cuda.json"
		tail -1 "$logs/arch-$f.log" | sed 's/^/      /' | tee -a "$out/summary.txt"
	done
	# Perplexity of stories260K on story.txt: within 0.1% of the CPU's.
	for b in cpu cuda; do
		"$inf" perplexity -m "$m/stories260K.gguf" --backend "$b" -f "$m/story.txt" --ctx 128 --json -q >"$logs/ppl-$b.json" 2>>"$logs/ppl.log"
	done
	step perplexity python3 -c 'import json,sys
a, b = (json.load(open(f))["ppl"] for f in sys.argv[1:3])
print("cpu %.4f cuda %.4f rel %.2g" % (a, b, abs(b - a) / a)); sys.exit(not abs(b - a) / a <= 1e-3)' "$logs/ppl-cpu.json" "$logs/ppl-cuda.json"
	tail -1 "$logs/perplexity.log" | sed 's/^/      /' | tee -a "$out/summary.txt"
	# Speed: TinyLlama-shaped files made here, inferno bench on the GPU.
	if [ -z "${SKIP_BENCH:-}" ]; then
		for t in ${BENCH_TYPES:-Q4_0 Q4_K_M Q8_0}; do
			if [ -n "${KEEP_MODELS:-}" ] && [ -s "$KEEP_MODELS/tl-$t.gguf" ]; then
				ln -sf "$KEEP_MODELS/tl-$t.gguf" "$logs/tl-$t.gguf"
			else
				step "gen $t" "$inf" gen --preset tinyllama-1.1b --type "$t" --vocab-from "$m/ggml-vocab-llama-spm.gguf" --seed 42 -o "$logs/tl-$t.gguf"
				[ -n "${KEEP_MODELS:-}" ] && mkdir -p "$KEEP_MODELS" && cp "$logs/tl-$t.gguf" "$KEEP_MODELS/"
			fi
			step "bench $t" timeout 120 "$inf" bench -m "$logs/tl-$t.gguf" --backend cuda --iterations 3 --warmup 1 --output-json "$out/bench-$t.json"
			grep -E "^(pp|tg)" "$logs/bench $t.log" | sed "s/^/      $t /" | tee -a "$out/summary.txt"
			if [ -n "$alt" ]; then
				step "bench $t alt" timeout 120 "$alt" bench -m "$logs/tl-$t.gguf" --backend cuda --iterations 3 --warmup 1 --output-json "$logs/bench-$t-alt.json"
				grep -E "^(pp|tg)" "$logs/bench $t alt.log" | sed "s/^/      $t alt /" | tee -a "$out/summary.txt"
			fi
			if [ -z "${nograph_done:-}" ]; then # the first type once more without CUDA graphs, and without the decode fusion
				nograph_done=1
				step "bench $t no graphs" env INFERNO_CUDA_GRAPH=0 timeout 120 "$inf" bench -m "$logs/tl-$t.gguf" --backend cuda --iterations 3 --warmup 1 --output-json "$logs/bench-$t-nograph.json"
				grep -E "^(pp|tg)" "$logs/bench $t no graphs.log" | sed "s/^/      $t no graphs /" | tee -a "$out/summary.txt"
				step "bench $t no fusion" env INFERNO_CUDA_FUSE=0 timeout 120 "$inf" bench -m "$logs/tl-$t.gguf" --backend cuda --iterations 3 --warmup 1 --prompt-tokens 0 --output-json "$logs/bench-$t-nofuse.json"
				grep -E "^tg" "$logs/bench $t no fusion.log" | sed "s/^/      $t no fusion /" | tee -a "$out/summary.txt"
			fi
			rm -f "$logs/tl-$t.gguf"
		done
	fi
	# The decode matvecs at TinyLlama's shapes, GPU time per call in a stream (docs/bench.md).
	[ -z "${SKIP_KDECODE:-}" ] && step "kernels bench --decode" timeout 120 "$inf" kernels bench --backend cuda --decode --calls 5
	cp "$logs/kernels bench --decode.log" "$out/kernels-decode.txt" 2>/dev/null
	if [ -n "$alt" ] && [ -z "${SKIP_KDECODE:-}" ]; then
		step "kernels bench --decode alt" timeout 120 "$alt" kernels bench --backend cuda --decode --calls 5
		cp "$logs/kernels bench --decode alt.log" "$out/kernels-decode-alt.txt" 2>/dev/null
	fi
	cs=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
	if [ -n "$cs" ]; then
		step sanitizer-memcheck timeout 150 "$cs" --tool memcheck --error-exitcode 3 "$inf" kernels test --backend cuda
		for f in rms_norm argmax matvec_q4_k matvec_wide_q4_k matmul_q4_k matmul_mma_q4_k attn matvec_fused_q4_k; do # the kernels with shared memory or shuffles
			step "sanitizer-racecheck $f" timeout 60 "$cs" --tool racecheck --error-exitcode 3 "$inf" kernels test --backend cuda --filter "$f"
		done
	else
		sum "FAIL  compute-sanitizer not found"
		rc=1
	fi
	if grep -l "launched kernel by kernel" "$logs"/*.log 2>/dev/null | grep -qv cuda-test.log; then # cuda-test plants graph failures
		sum "NOTE  a CUDA graph failed (kernel-by-kernel fallback) in: $(grep -l "launched kernel by kernel" "$logs"/*.log | grep -v cuda-test.log | sed 's|.*/||' | tr '\n' ' ')"
	fi
	sum "gpu-check: rc=$rc"
	rm -rf "$logs/cache"
	tar -C "$logs" -czf "$out/logs.tgz" . 2>/dev/null
	exit $rc
	;;
*)
	echo "usage: gpu-check.sh build DIR | run" >&2
	exit 2
	;;
esac
