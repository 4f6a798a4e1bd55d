#!/usr/bin/env bash
# Where the time goes on the GPU machine (issue 13): run after `scripts/gpu-check.sh build DIR`
# as DIR/gpu-profile.sh (copy it there). Makes TinyLlama-shaped files with `inferno gen`,
# times every kernel of a decode step and of a 512-token prompt with Nsight Compute
# (gpu__time_duration, clocks left alone), and writes per-kernel totals, ptxas's register
# and spill report for sm_90, and a few bench variants to $OUT.
# Environment: TYPES (default "Q4_0 Q4_K_M").
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp/gpu-profile}
mkdir -p "$out"
inf="$here/inferno"
m="$here/models"
w=$(mktemp -d)
export INFERNO_MODELS_DIR="$w/cache"
ncu=$(command -v ncu || ls /usr/local/cuda*/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
ptxas=$(command -v ptxas || ls /usr/local/cuda*/bin/ptxas 2>/dev/null | head -1)
cp "$here/kernels.ptx" "$w/kernels.ptx" 2>/dev/null
[ -n "$ptxas" ] && [ -s "$w/kernels.ptx" ] && "$ptxas" -arch=sm_90 -v "$w/kernels.ptx" -o "$w/k.cubin" >"$out/ptxas.txt" 2>&1
agg() { # ncu csv -> per kernel: calls, total us, mean us, share
	python3 - "$1" <<'PY'
import csv, sys, collections
rows = list(csv.reader(open(sys.argv[1])))
h = next(i for i, r in enumerate(rows) if "Kernel Name" in r)
hdr = rows[h]; k = hdr.index("Kernel Name"); v = hdr.index("Metric Value"); u = hdr.index("Metric Unit")
tot = collections.defaultdict(float); n = collections.Counter()
for r in rows[h + 1:]:
    try: x = float(r[v].replace(",", ""))
    except (IndexError, ValueError): continue
    x = x / 1000 if r[u] == "nsecond" else x * 1000 if r[u] == "msecond" else x
    name = r[k].split("(")[0]; tot[name] += x; n[name] += 1
s = sum(tot.values())
print("%-28s %7s %10s %9s %6s" % ("kernel", "calls", "total us", "mean us", "share"))
for name in sorted(tot, key=lambda x: -tot[x]):
    print("%-28s %7d %10.1f %9.2f %5.1f%%" % (name, n[name], tot[name], tot[name] / n[name], 100 * tot[name] / s))
print("%-28s %7d %10.1f" % ("all", sum(n.values()), s))
PY
}
[ -z "${SKIP_KBENCH:-}" ] && timeout 150 "$inf" kernels bench --backend cuda >"$out/kernels-bench.txt" 2>&1
for t in ${TYPES:-Q4_0 Q4_K_M}; do
	"$inf" gen --preset tinyllama-1.1b --type "$t" --vocab-from "$m/ggml-vocab-llama-spm.gguf" --seed 42 -o "$w/tl.gguf" >"$w/gen.log" 2>&1 || { tail -3 "$w/gen.log" >>"$out/summary.txt"; continue; }
	{
		echo "== $t bench (default ctx, ctx 640, no graphs)"
		timeout 120 "$inf" bench -m "$w/tl.gguf" --backend cuda --iterations 3 --warmup 1 -q 2>&1
		timeout 120 "$inf" bench -m "$w/tl.gguf" --backend cuda --iterations 3 --warmup 1 --ctx 640 -q 2>&1
		INFERNO_CUDA_GRAPH=0 timeout 120 "$inf" bench -m "$w/tl.gguf" --backend cuda --iterations 3 --warmup 1 --ctx 640 --prompt-tokens 0 -q 2>&1
	} >>"$out/summary.txt"
	if [ -n "$ncu" ]; then
		# Decode: 4 tokens after a 1-token prompt; the last ~2 steps are steady state.
		timeout 200 "$ncu" --clock-control none --metrics gpu__time_duration.sum --csv --print-units base \
			"$inf" bench -m "$w/tl.gguf" --backend cuda --ctx 640 --prompt-tokens 0 --tokens 4 --iterations 1 --warmup 0 -q >"$w/tg.csv" 2>"$w/tg.err"
		echo "== $t decode, 4 steps, ncu" >>"$out/summary.txt"; agg "$w/tg.csv" >>"$out/summary.txt" 2>&1 || tail -5 "$w/tg.err" >>"$out/summary.txt"
		timeout 200 "$ncu" --clock-control none --metrics gpu__time_duration.sum --csv --print-units base \
			"$inf" bench -m "$w/tl.gguf" --backend cuda --ctx 640 --prompt-tokens 512 --tokens 0 --iterations 1 --warmup 0 -q >"$w/pp.csv" 2>"$w/pp.err"
		echo "== $t prompt 512, ncu" >>"$out/summary.txt"; agg "$w/pp.csv" >>"$out/summary.txt" 2>&1 || tail -5 "$w/pp.err" >>"$out/summary.txt"
		if [ "$t" = Q4_0 ]; then # the decode and prompt kernels' memory, occupancy, launch details
			timeout 120 "$ncu" --clock-control none --section SpeedOfLight --section MemoryWorkloadAnalysis --section LaunchStats --section Occupancy \
				-k regex:'matvec_fused|attn_decode' --launch-skip 12 --launch-count 8 \
				"$inf" bench -m "$w/tl.gguf" --backend cuda --ctx 640 --prompt-tokens 0 --tokens 3 --iterations 1 --warmup 0 -q >"$out/ncu-detail-$t.txt" 2>&1
			timeout 120 "$ncu" --clock-control none --section SpeedOfLight --section MemoryWorkloadAnalysis --section LaunchStats --section Occupancy \
				-k regex:'matmul_mma|attn_flash' --launch-skip 4 --launch-count 4 \
				"$inf" bench -m "$w/tl.gguf" --backend cuda --ctx 640 --prompt-tokens 512 --tokens 0 --iterations 1 --warmup 0 -q >>"$out/ncu-detail-$t.txt" 2>&1
		fi
		cp "$w/tg.csv" "$out/ncu-tg-$t.csv"
	fi
	nsys=$(command -v nsys || ls /usr/local/cuda*/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys 2>/dev/null | head -1)
	if [ -n "$nsys" ]; then # the timeline: host API time per call and the gaps between kernels of a step
		(cd "$w" && timeout 150 "$nsys" profile -t cuda --stats=true -o "$w/tg-$t" -f true \
			"$inf" bench -m "$w/tl.gguf" --backend cuda --ctx 640 --prompt-tokens 0 --tokens 64 --iterations 1 --warmup 0 -q >"$w/nsys.txt" 2>&1)
		{ echo "== $t decode 64 tokens, nsys"; grep -A 14 -E "cuda_api_sum|cuda_gpu_kern_sum" "$w/nsys.txt"; } >>"$out/summary.txt"
	fi
	rm -f "$w/tl.gguf"
done
rm -rf "$w"
