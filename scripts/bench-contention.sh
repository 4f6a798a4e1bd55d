#!/usr/bin/env bash
# Generation speed on a busy machine (issue 12, docs/bench.md): tg on MODEL with 2
# threads, on an idle machine and with one other process spinning on a core, for each
# inferno binary given (alternating, ROUNDS times) and, with LLAMA_BENCH set, for
# llama.cpp's llama-bench on the same file. Prints one line per run: name, condition,
# the median of its iterations in tokens/s.
#
#   scripts/bench-contention.sh bin/inferno-old bin/inferno
#   LLAMA_BENCH=../llama.cpp/build/bin/llama-bench ROUNDS=5 scripts/bench-contention.sh bin/inferno
set -euo pipefail
MODEL=${MODEL:-../shared/refdata/models/stories260K.gguf}
ROUNDS=${ROUNDS:-3}
TOKENS=${TOKENS:-128}
ITER=${ITER:-5}
[ $# -ge 1 ] || { echo "usage: $0 INFERNO_BINARY..." >&2; exit 2; }

spinner=
stop_spinner() { [ -n "$spinner" ] && kill "$spinner" 2>/dev/null; wait "$spinner" 2>/dev/null || true; spinner=; }
trap stop_spinner EXIT

one() { # name condition
	local name=$1 cond=$2 out
	if [ "$cond" = busy ]; then
		taskset -c "$(($(nproc) - 1))" sh -c 'while :; do :; done' & spinner=$!
		sleep 0.2
	fi
	if [ "$name" = llama-bench ]; then
		out=$("$LLAMA_BENCH" -m "$MODEL" -p 0 -n "$TOKENS" -t 2 -r "$ITER" -o json 2>/dev/null |
			python3 -c 'import json,sys,statistics; r=json.load(sys.stdin)[0]; print("%.1f" % statistics.median(r["samples_ts"]))')
	else
		out=$("$name" bench -m "$MODEL" -t 2 --prompt-tokens 0 --tokens "$TOKENS" --iterations "$ITER" --format json -q 2>/dev/null |
			python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["results"][0]["tokens_per_s"]["median"])')
	fi
	stop_spinner
	printf '%s\t%s\t%s\n' "$name" "$cond" "$out"
}

for r in $(seq "$ROUNDS"); do
	for cond in idle busy; do
		for b in "$@"; do one "$b" "$cond"; done
		if [ -n "${LLAMA_BENCH:-}" ]; then one llama-bench "$cond"; fi
	done
done | tee /dev/stderr | python3 -c '
import sys, statistics, collections
runs = collections.defaultdict(list)
for line in sys.stdin:
    name, cond, ts = line.split("\t")
    runs[(name, cond)].append(float(ts))
for (name, cond), v in runs.items():
    print("median\t%s\t%s\t%.0f\t(n=%d, %.0f-%.0f)" % (name, cond, statistics.median(v), len(v), min(v), max(v)))
'
