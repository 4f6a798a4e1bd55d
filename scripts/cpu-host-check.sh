#!/usr/bin/env bash
# The CPU path on the GPU machine's host CPU (issue 17), in two halves like gpu-check.sh:
#   scripts/cpu-host-check.sh build DIR   here (after `scripts/gpu-check.sh build DIR`, or
#                                         alone: it then builds inferno and copies the vocab
#                                         too): adds the cpu package's tests, llama.cpp's
#                                         source at c392e50 (llama.cpp.tar.gz) and this
#                                         script to DIR
#   DIR/cpu-host-check.sh run             there, in phases (each one's time printed against
#                                         its estimate; a phase past DEADLINE is skipped):
#     llama   builds llama.cpp's llama-bench for this CPU (-DGGML_NATIVE=ON) in the
#             background while tests and gen run (LLAMA_BENCH=path: use that one instead)
#     tests   the kernel tests of every kernel set the CPU runs (avx512amx included) and
#             `inferno system`
#     gen     the TinyLlama-shaped files (`inferno gen --seed 42`)
#     logits  `inferno logits` of a 30-odd-token prompt on each of TYPES with the first two
#             SETS: the same bytes expected (the AMX kernels give the VNNI kernels' bits)
#     sets    `inferno bench` pp512/tg128 of TYPES per kernel set of SETS at SET_THREADS
#             (the sets after the first at the first count only), llama-bench on the same
#             files at the first count (SET_ITERATIONS repetitions), and the cpu package's
#             prompt matmul benchmark (2048 and 5632 × 2048, 512 tokens) per set
#     scale   `inferno bench` and llama-bench on SCALE_TYPE at each of THREADS, one
#             repetition each, with the memory bandwidth `inferno bench` measures
# Files in $OUT (at most 8): cpu-summary.txt (everything to read first), cpu-test.log,
# cpu-bench.json (the sets phase, one JSON object a line), cpu-matmul-bench.txt,
# scaling.json and scaling.txt (the scaling table), llama-build.log.
# Environment for run: KEEP_MODELS=dir (files made by gpu-check.sh's run, made here when
# absent); TYPES (default "Q8_0 Q4_0"); SETS (default "avx512amx avx512vnni"; a set the CPU
# lacks is reported and skipped); SET_THREADS (default "16"; the old THREADS="16 4" is
# SET_THREADS="16 4"); SET_ITERATIONS (default 3); THREADS (default "16 8 4 2 1": the
# scaling table's thread counts, most first so that a deadline cuts the slowest rows); SCALE_TYPE (default Q4_K_M); LLAMA_BENCH; SKIP_SCALE=1,
# SKIP_SETS=1; MATMUL_BENCHTIME (default 10x); DEADLINE (default 420 s); PRESET (default tinyllama-1.1b; stories-260k
# tries the script out in seconds, with no meaning for the figures).
set -uo pipefail
LLAMA_COMMIT=c392e5094deaf2d1a7c18683214f007fad3fe42b
case "${1:-}" in
build)
	dir=${2:?usage: cpu-host-check.sh build DIR}
	mkdir -p "$dir" && dir=$(cd "$dir" && pwd) # absolute: git -C below runs elsewhere
	ref=${INFERNO_REFDATA:-../shared/refdata}
	mirror=${LLAMA_MIRROR:-/work/.mirror/ggerganov+llama.cpp/repo}
	mkdir -p "$dir/models"
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go test -c -o "$dir/cpu.test" ./cpu || exit 1
	gzip -f "$dir/cpu.test"
	if [ ! -e "$dir/inferno" ] && [ ! -e "$dir/inferno.gz" ]; then
		GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -ldflags="-s -w" -o "$dir/inferno" ./cmd/inferno || exit 1
		gzip -f "$dir/inferno"
	fi
	[ -s "$dir/models/ggml-vocab-llama-spm.gguf" ] || cp "$ref/vocab/ggml-vocab-llama-spm.gguf" "$dir/models/" || exit 1
	# llama.cpp's source without its models, docs and tests (about 5 MB): the run builds
	# llama-bench there, with -march=native, as ../shared/refdata/bench/h200-host/ did
	git -C "$mirror" archive --format=tar.gz -o "$dir/llama.cpp.tgz" "$LLAMA_COMMIT" \
		CMakeLists.txt cmake ggml src include common examples pocs spm-headers || exit 1
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
	limit=${DEADLINE:-420}
	types=(${TYPES:-Q8_0 Q4_0})
	sets=(${SETS:-avx512amx avx512vnni})
	setThreads=(${SET_THREADS:-16})
	setIters=${SET_ITERATIONS:-3}
	threads=(${THREADS:-16 8 4 2 1})
	scaleType=${SCALE_TYPE:-Q4_K_M}
	preset=${PRESET:-tinyllama-1.1b}
	stem=tl
	vocab=(--vocab-from "$m/ggml-vocab-llama-spm.gguf")
	[ "$preset" = tinyllama-1.1b ] || { stem=$preset; vocab=(); }
	ncpu=$(nproc)
	say() { echo "$*" | tee -a "$sum"; }
	# Estimates (s) from the 2026-12-02 run there (Q4_K_M at 4 threads: 177 tok/s pp512,
	# 47 tg128) scaled by thread count; printed beside each phase's measured time.
	est_scale=0
	for n in "${threads[@]}"; do est_scale=$((est_scale + 2 * (21 / n) + 6)); done
	est_sets=$(( ${#types[@]} * (${#sets[@]} + 1 + (${#sets[@]} - 1) * (${#setThreads[@]} - 1)) * (4 + 2 * (setIters + 1)) + 20 ))
	declare -A est=([tests]=25 [gen]=$((12 * (${#types[@]} + 1))) [logits]=$((4 * ${#types[@]})) [llama]=60 [sets]=$est_sets [scale]=$est_scale)
	[ -n "${SKIP_SETS:-}" ] && est[sets]=0
	[ -n "${SKIP_SCALE:-}" ] && est[scale]=0
	say "plan (estimated s): tests ${est[tests]}, gen ${est[gen]}, logits ${est[logits]}, waiting for the llama.cpp build ~${est[llama]}, sets ${est[sets]}, scale ${est[scale]}; total ~$((est[tests] + est[gen] + est[logits] + est[llama] + est[sets] + est[scale])) of DEADLINE $limit"
	t0=$SECONDS
	phase() { say "phase $1: $((SECONDS - t0)) s (estimated ${est[$1]} s), at $SECONDS s"; t0=$SECONDS; }
	late() { [ "$SECONDS" -ge "$limit" ] && { say "deadline ($limit s): $* skipped"; return 0; }; return 1; }

	# llama: built in the background (nice) while the tests and gen run, waited for before
	# any benchmark.
	lb=${LLAMA_BENCH:-}
	bpid=
	if [ -z "$lb" ] && [ -z "${SKIP_SCALE:-}" ]; then
		if [ -s "$here/llama.cpp.tgz" ] && command -v cmake >/dev/null; then
			src=$(mktemp -d)
			(
				tar xzf "$here/llama.cpp.tgz" -C "$src" &&
					cmake -S "$src" -B "$src/build" -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release \
						-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF &&
					nice -n 10 cmake --build "$src/build" -j"$ncpu" --target llama-bench
			) >"$out/llama-build.log" 2>&1 &
			bpid=$!
			lb="$src/build/bin/llama-bench"
		else
			say "llama: no llama.cpp.tgz or no cmake here: llama.cpp's columns stay empty"
		fi
	fi

	# tests
	"$inf" system >>"$sum" 2>&1
	grep -o -w 'avx512_vnni\|amx_int8\|amx_tile\|amx_bf16\|avx512_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ' >>"$sum"
	echo >>"$sum"
	# Every kernel set this CPU runs against tensor's reference dot and the AMX kernel
	# against its Go model (the sets it lacks skip, saying why).
	"$here/cpu.test" -test.run 'TestX8Kernels|TestMatMul|KernelSet|TestDot|TestAMX' -test.count=1 -test.v >"$out/cpu-test.log" 2>&1
	trc=$?
	say "cpu tests: rc=$trc ($(grep -cE '^ *--- PASS' "$out/cpu-test.log") passed, $(grep -cE '^ *--- FAIL' "$out/cpu-test.log") failed, $(grep -cE '^ *--- SKIP' "$out/cpu-test.log") skipped, subtests included)"
	grep -E '^ *--- (FAIL|SKIP)|SKIP:|no AMX|not the same bits|panic|SIGILL|illegal' "$out/cpu-test.log" | head -30 >>"$sum"
	phase tests

	# gen
	for t in "${types[@]}" "$scaleType"; do
		f="$models/$stem-$t.gguf"
		[ -s "$f" ] && continue
		late "gen $t" && continue
		"$inf" gen --preset "$preset" --type "$t" "${vocab[@]}" --seed 42 -t "$ncpu" -o "$f" 2>&1 >/dev/null | tail -1 >>"$sum"
	done
	phase gen
	# The AMX kernels give the avx512vnni kernels' bits, so the two sets' logits of a
	# prompt of more than 16 tokens must be the same bytes (each set in its own process).
	if [ "${#sets[@]}" -ge 2 ]; then
		prompt="Once upon a time there was a little robot who lived in a quiet town by the sea, and every morning it walked to the harbour to count the boats"
		for t in "${types[@]}"; do
			late "logits $t" && break
			lg=()
			for s in "${sets[@]:0:2}"; do
				lg+=("$(mktemp)")
				INFERNO_CPU_KERNELS=$s timeout 60 "$inf" logits -m "$models/$stem-$t.gguf" --backend cpu -t "${setThreads[0]}" -p "$prompt" --output-json "${lg[-1]}" >/dev/null 2>"${lg[-1]}.err" ||
					say "logits $t $s: $(tail -1 "${lg[-1]}.err")"
			done
			if [ -s "${lg[0]}" ] && cmp -s "${lg[0]}" "${lg[1]}"; then
				say "logits $t: ${sets[0]} and ${sets[1]} the same bytes ($(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["prompt_tokens"]))' "${lg[0]}") prompt tokens)"
			else
				say "logits $t: ${sets[0]} and ${sets[1]} DIFFER: $(python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
d = [abs(x - y) for x, y in zip(a["logits"], b["logits"]) if isinstance(x, (int, float)) and isinstance(y, (int, float))]
print("%d prompt tokens, max |diff| %.3g over %d logits" % (len(a["prompt_tokens"]), max(d) if d else float("nan"), len(d)))' "${lg[@]}" 2>&1 | tail -1)"
			fi
			for f in "${lg[@]}"; do rm -f "$f" "$f.err"; done
		done
		phase logits
	fi
	if [ -n "$bpid" ]; then
		wait "$bpid"
		say "llama.cpp build: rc=$? ($(tail -1 "$out/llama-build.log"))"
	fi
	[ -n "$lb" ] && [ ! -x "$lb" ] && { say "llama: $lb is not there: llama.cpp's columns stay empty"; lb=; }
	phase llama

	# sets: each kernel set's inferno bench, and the prompt matmul benchmark per set
	if [ -z "${SKIP_SETS:-}" ]; then
		have=$(sed -n 's/^cpu sets: *//p' "$sum" | head -1)
		for t in "${types[@]}"; do
			f="$models/$stem-$t.gguf"
			for s in "${sets[@]}"; do
				case ", $have," in *", $s,"* | *", $s ("*) ;; *) say "== $t $s: this CPU does not run the set (it runs: $have)"; continue ;; esac
				for n in "${setThreads[@]}"; do
					[ "$s" != "${sets[0]}" ] && [ "$n" != "${setThreads[0]}" ] && continue
					late "$t $s -t $n" && continue
					j=$(mktemp)
					INFERNO_CPU_KERNELS=$s timeout 150 "$inf" bench -m "$f" --backend cpu --threads "$n" --prompt-tokens 512 --tokens 128 \
						--iterations "$setIters" --warmup 1 -q --output-json "$j" >"$j.txt" 2>&1
					say "== $t $s threads $n (rc $?)"
					grep -E '^(system|pp|tg)' "$j.txt" | tee -a "$sum"
					[ -s "$j" ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["kernel_set"]=sys.argv[2]; d["threads_asked"]=int(sys.argv[3]); print(json.dumps(d))' "$j" "$s" "$n" >>"$out/cpu-bench.json"
					rm -f "$j" "$j.txt"
				done
			done
			# llama.cpp on the same file at the first thread count, for the goals' ratios
			[ -n "$lb" ] || continue
			late "llama-bench $t" && continue
			j=$(mktemp)
			timeout 150 "$lb" -m "$f" -t "${setThreads[0]}" -p 512 -n 128 -r "$setIters" -o json >"$j" 2>/dev/null
			say "== $t llama.cpp threads ${setThreads[0]} (rc $?): $(python3 -c 'import json,sys; print("  ".join("%s %.2f" % ("pp512" if e["n_gen"] == 0 else "tg128", e["avg_ts"]) for e in json.load(open(sys.argv[1]))))' "$j" 2>&1)"
			python3 -c 'import json,sys; print(json.dumps({"engine": "llama.cpp", "type": sys.argv[2], "threads_asked": int(sys.argv[3]), "llama_bench": json.load(open(sys.argv[1]))}))' "$j" "$t" "${setThreads[0]}" >>"$out/cpu-bench.json" 2>/dev/null
			rm -f "$j"
		done
		if ! late "matmul benchmark"; then
			pat=$(IFS='|'; echo "${sets[*]}")
			INFERNO_BENCH_THREADS=${setThreads[0]} timeout 120 "$here/cpu.test" -test.run '^$' -test.bench "MatMulSets/($pat)/" -test.benchtime "${MATMUL_BENCHTIME:-10x}" >"$out/cpu-matmul-bench.txt" 2>&1
			say "matmul benchmark (rc $?), ${setThreads[0]} threads, 512 tokens:"
			grep -E '^Benchmark' "$out/cpu-matmul-bench.txt" | tee -a "$sum"
		fi
		phase sets
	fi

	# scale: both engines on one file per thread count, one repetition each (inferno: a
	# warm-up run at 4 threads and more, where a run is short; llama-bench warms up itself)
	if [ -z "${SKIP_SCALE:-}" ]; then
		f="$models/$stem-$scaleType.gguf"
		raw=$(mktemp -d)
		for n in "${threads[@]}"; do
			late "scale -t $n" && continue
			w=0
			[ "$n" -ge 4 ] && w=1
			timeout 200 "$inf" bench -m "$f" --backend cpu --threads "$n" --prompt-tokens 512 --tokens 128 --iterations 1 --warmup "$w" -q \
				--output-json "$raw/inferno-$n.json" >"$raw/inferno-$n.txt" 2>&1
			say "scale inferno -t $n (rc $?): $(grep -E '^(pp|tg)' "$raw/inferno-$n.txt" | awk '{printf "%s %s  ", $1, $2}')"
			[ -n "$lb" ] || continue
			late "scale llama-bench -t $n" && continue
			timeout 200 "$lb" -m "$f" -t "$n" -p 512 -n 128 -r 1 -o json >"$raw/llama-$n.json" 2>"$raw/llama-$n.err"
			say "scale llama-bench -t $n (rc $?)"
		done
		python3 - "$raw" "$stem-$scaleType" "$out/scaling.json" "$out/scaling.txt" "${threads[@]}" <<'EOF'
import json, os, sys
raw, typ, jout, tout, threads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], [int(n) for n in sys.argv[5:]]
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
rows, bw_host, bpt = [], None, None
for n in sorted(threads):
    r = {"threads": n}
    d = load(f"{raw}/inferno-{n}.json")
    if d:
        for t in d["results"]:
            r["inferno_" + t["test"]] = t["tokens_per_s"]["mean"]
        r["inferno_kernel_set"] = d["system"].get("cpu_kernel_set")
        r["bandwidth_gb_s"] = d["system"].get("mem_read_bandwidth_gb_s")
        bpt = d["model"].get("weight_bytes_read_per_token") or bpt
        if n == max(threads):
            bw_host = r["bandwidth_gb_s"]
    for e in load(f"{raw}/llama-{n}.json") or []:
        if e.get("n_prompt") == 512 and e.get("n_gen") == 0:
            r["llama_pp512"] = e["avg_ts"]
        if e.get("n_prompt") == 0 and e.get("n_gen") == 128:
            r["llama_tg128"] = e["avg_ts"]
    rows.append(r)
for r in rows:  # generation as a fraction of the bandwidth measured at the most threads
    for eng in ("inferno", "llama"):
        tg = r.get(eng + "_tg128")
        if tg and bw_host and bpt:
            r[eng + "_tg128_of_bandwidth"] = tg * bpt / (bw_host * 1e9)
doc = {"model": f"{typ}.gguf (inferno gen --seed 42)",
       "weight_bytes_read_per_token": bpt, "bandwidth_gb_s_at_most_threads": bw_host,
       "llama_cpp_commit": "c392e5094deaf2d1a7c18683214f007fad3fe42b", "repetitions": 1, "rows": rows}
with open(jout, "w") as f:
    json.dump(doc, f, indent=1)
def c(v, fmt="%.1f"):
    return fmt % v if isinstance(v, (int, float)) else ""
def ratio(a, b):
    return "%.2f" % (a / b) if a and b else ""
lines = [f"thread scaling, {typ}, tokens/s (one repetition); bandwidth at {max(threads)} threads: {c(bw_host)} GB/s, {c((bpt or 0) / 1e6)} MB read per token",
         "| threads | inferno pp512 | llama.cpp pp512 | ratio | inferno tg128 | llama.cpp tg128 | ratio | inferno tg of bw | llama.cpp tg of bw | bw at n (GB/s) |",
         "|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    lines.append("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (r["threads"], c(r.get("inferno_pp512")), c(r.get("llama_pp512")),
        ratio(r.get("inferno_pp512"), r.get("llama_pp512")), c(r.get("inferno_tg128")), c(r.get("llama_tg128")),
        ratio(r.get("inferno_tg128"), r.get("llama_tg128")), c(100 * r.get("inferno_tg128_of_bandwidth", 0), "%.0f%%") if r.get("inferno_tg128_of_bandwidth") else "",
        c(100 * r.get("llama_tg128_of_bandwidth", 0), "%.0f%%") if r.get("llama_tg128_of_bandwidth") else "", c(r.get("bandwidth_gb_s"))))
with open(tout, "w") as f:
    f.write("\n".join(lines) + "\n")
EOF
		cat "$out/scaling.txt" | tee -a "$sum"
		tail -n 3 "$raw"/llama-*.err 2>/dev/null | grep -iE 'error|fail' | head -5 >>"$sum"
		phase scale
	fi
	say "total: $SECONDS s"
	# the build log's tail only (at most 8 files come back, each small)
	[ -s "$out/llama-build.log" ] && { tail -n 60 "$out/llama-build.log" >"$out/llama-build.tail" && mv "$out/llama-build.tail" "$out/llama-build.log"; }
	exit "$trc"
	;;
*)
	echo "usage: cpu-host-check.sh build DIR | DIR/cpu-host-check.sh run" >&2
	exit 2
	;;
esac
