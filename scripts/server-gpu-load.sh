#!/usr/bin/env bash
# inferno serve on the GPU under concurrent load, beside llama.cpp's llama-server built there
# (issue 15's table on the H200), in one device call:
#   scripts/server-gpu-load.sh build DIR   here: inferno for linux/amd64, the load scripts,
#                                          the vocabulary, and llama.cpp c392e50's sources
#                                          (from LLAMA_REPO, a git dir of llama.cpp)
#   DIR/server-gpu-load.sh run             there: makes the TinyLlama-shaped file (inferno
#                                          gen), serves it on CUDA with 16 slots, checks that
#                                          16 concurrent greedy requests equal the same
#                                          requests run alone, drives 1/4/16 streams; then
#                                          builds llama-server (CUDA) and drives it the same
#                                          way. Writes $OUT/server-gpu.txt and the logs.
# Environment for run: MODEL and BACKEND (a trial elsewhere: a file, cpu), TYPE (default Q4_K_M), STREAMS (default "1 4 16"), TOKENS (per
# stream, default 128), CTX (inferno's context per slot, default 256: llama-server -np 16 -c 4096 gives each slot 256), SKIP_LLAMA=1 skips llama-server, SKIP_INFERNO=1 inferno, KEEP_MODELS=dir keeps the model,
# DEADLINE (default 560 s: steps after it are skipped).
set -uo pipefail
case "${1:-}" in
build)
	dir=${2:?usage: server-gpu-load.sh build DIR}
	ref=${INFERNO_REFDATA:-../shared/refdata}
	repo=${LLAMA_REPO:-/work/.mirror/ggerganov+llama.cpp/repo}
	mkdir -p "$dir"
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -ldflags="-s -w" -o "$dir/inferno" ./cmd/inferno || exit 1
	gzip -f "$dir/inferno"
	cp "$0" "$dir/server-gpu-load.sh"
	cp scripts/server-load.py "$ref/bench/server/completions_load.py" "$ref/vocab/ggml-vocab-llama-spm.gguf" "$dir/"
	git -C "$repo" archive --format=tar c392e5094deaf2d1a7c18683214f007fad3fe42b \
		CMakeLists.txt cmake common examples ggml include pocs src scripts/xxd.cmake | gzip -9 >"$dir/llama-src.tar.gz" || exit 1
	;;
run)
	here=$(cd "$(dirname "$0")" && pwd)
	[ -e "$here/inferno.gz" ] && gunzip -f "$here/inferno.gz" && chmod +x "$here/inferno"
	out=${OUT:-/tmp/server-gpu}
	mkdir -p "$out"
	logs=$(mktemp -d)
	sum="$out/server-gpu.txt"
	: >"$sum"
	say() { echo "$*" | tee -a "$sum"; }
	late() { [ "$SECONDS" -gt "${DEADLINE:-560}" ] && say "SKIP  $1 (past ${DEADLINE:-560} s)"; }
	typ=${TYPE:-Q4_K_M} ntok=${TOKENS:-128}
	mdir=${KEEP_MODELS:-$logs}
	mkdir -p "$mdir"
	model=${MODEL:-$mdir/tl-$typ.gguf} # MODEL=file: that model instead (a local trial)
	say "$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1); $(nproc) host cores"
	t0=$SECONDS
	[ -s "$model" ] || "$here/inferno" gen --preset tinyllama-1.1b --type "$typ" --vocab-from "$here/ggml-vocab-llama-spm.gguf" --seed 42 -t "$(nproc)" -o "$model" >"$logs/gen.log" 2>&1 || { say "FAIL gen: $(tail -2 "$logs/gen.log")"; exit 1; }
	say "gen $typ: $((SECONDS - t0)) s"
	wait_up() { # url: waits up to 120 s for /health
		for _ in $(seq 240); do
			python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/health", timeout=2)' "$1" >/dev/null 2>&1 && return 0
			sleep 0.5
		done
		return 1
	}
	drive() { # name url: the load at each stream count, both scripts
		local name=$1 url=$2 n
		for n in ${STREAMS:-1 4 16}; do
			late "$name $n streams" && return
			say "$name $n streams: $(python3 "$here/server-load.py" "$url" "$n" "$ntok" 2>&1 | tail -1)"
			say "$name $n streams (completions_load.py): $(python3 "$here/completions_load.py" "$url" "$n" "$ntok" 2>&1 | tail -1)"
		done
	}
	# inferno serve on CUDA
	port=8091
	if [ -z "${SKIP_INFERNO:-}" ]; then
	INFERNO_CUDA_REQUIRE=1 "$here/inferno" serve -m "$model" --backend "${BACKEND:-cuda}" --parallel 16 --ctx "${CTX:-256}" --port $port >"$logs/inferno-serve.log" 2>&1 &
	spid=$!
	if wait_up "http://127.0.0.1:$port"; then
		say "inferno serve up after $((SECONDS - t0)) s"
		# 16 greedy requests alone, then the same 16 at once: every text must be equal
		python3 - "http://127.0.0.1:$port" 16 64 >"$logs/equality.log" 2>&1 <<'EOF'
import json, sys, threading, urllib.request
U, n, ntok = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def ask(i):
    body = json.dumps({"prompt": f"Story number {i}: Once upon a time", "max_tokens": ntok, "temperature": 0, "ignore_eos": True}).encode()
    r = json.load(urllib.request.urlopen(urllib.request.Request(U + "/v1/completions", body, {"Content-Type": "application/json"}), timeout=300))
    return r["choices"][0]["text"]
alone = [ask(i) for i in range(n)]
together = [None] * n
def run(i):
    together[i] = ask(i)
th = [threading.Thread(target=run, args=(i,)) for i in range(n)]
[t.start() for t in th]; [t.join() for t in th]
bad = [i for i in range(n) if alone[i] != together[i]]
print(f"{n - len(bad)}/{n} requests equal alone and beside {n - 1} others ({ntok} tokens each); differing: {bad}")
for i in bad:
    print(f"request {i}: alone {alone[i]!r}\n  together {together[i]!r}")
sys.exit(1 if bad else 0)
EOF
		say "equality: $(head -1 "$logs/equality.log")"
		drive "inferno (${BACKEND:-cuda})" "http://127.0.0.1:$port"
	else
		say "FAIL inferno serve did not come up: $(tail -3 "$logs/inferno-serve.log" | tr '\n' ' ')"
	fi
	kill $spid 2>/dev/null
	wait $spid 2>/dev/null
	fi
	# llama-server, built here for the GPU
	if [ -z "${SKIP_LLAMA:-}" ] && ! late "llama-server build"; then
		t1=$SECONDS
		src="${KEEP_MODELS:-$logs}/llama.cpp" # kept with KEEP_MODELS: a later call rebuilds nothing
		[ -d "$src" ] || { mkdir -p "$src" && tar xzf "$here/llama-src.tar.gz" -C "$src"; }
		if cmake -S "$src" -B "$src/build" -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAMA_CURL=OFF \
			-DLLAMA_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release >"$logs/llama-cmake.log" 2>&1 &&
			cmake --build "$src/build" -j"$(nproc)" --target llama-server >"$logs/llama-build.log" 2>&1; then
			say "llama-server built in $((SECONDS - t1)) s"
			port=8092
			"$src/build/bin/llama-server" -m "$model" -ngl 99 -np 16 -c 4096 --port $port >"$logs/llama-server.log" 2>&1 &
			lpid=$!
			if wait_up "http://127.0.0.1:$port"; then
				drive "llama-server (cuda, -np 16 -c 4096)" "http://127.0.0.1:$port"
			else
				say "FAIL llama-server did not come up: $(tail -3 "$logs/llama-server.log" | tr '\n' ' ')"
			fi
			kill $lpid 2>/dev/null
			wait $lpid 2>/dev/null
		else
			say "FAIL llama-server build ($((SECONDS - t1)) s): $(tail -3 "$logs/llama-build.log" | tr '\n' ' ')"
		fi
	fi
	say "total $SECONDS s"
	tail -c 200000 "$logs/inferno-serve.log" >"$out/inferno-serve.log"
	cp "$logs/equality.log" "$out/" 2>/dev/null
	tar czf "$out/logs.tgz" -C "$logs" --exclude llama.cpp --exclude '*.gguf' . 2>/dev/null
	;;
*)
	echo "usage: server-gpu-load.sh build DIR | run" >&2
	exit 2
	;;
esac
