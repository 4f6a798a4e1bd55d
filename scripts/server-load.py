#!/usr/bin/env python3
"""Concurrent streaming load on an OpenAI-compatible /v1/completions endpoint (loopback).
   server-load.py BASE_URL STREAMS TOKENS [MODEL]
   The requests of ../shared/refdata/bench/server/completions_load.py (prompt "Story number i:
   Once upon a time", TOKENS tokens, temperature 0, ignore_eos), streamed, so that the time to
   first token is seen too; prints aggregate generated tok/s and TTFT median and max."""
import json, sys, time, threading, urllib.request
if len(sys.argv) not in (4, 5):
    sys.exit(__doc__)
U, n, ntok = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
model = sys.argv[4] if len(sys.argv) == 5 else None
if not U.startswith("http://127.0.0.1") and not U.startswith("http://localhost"):
    sys.exit("loopback only")
res, lock = [], threading.Lock()
def one(i):
    body = {"prompt": f"Story number {i}: Once upon a time", "max_tokens": ntok, "temperature": 0,
            "ignore_eos": True, "stream": True, "stream_options": {"include_usage": True}}
    if model:
        body["model"] = model
    t0 = time.time(); first = None; toks = 0
    req = urllib.request.Request(U + "/v1/completions", json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        for line in r:
            line = line.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            ev = json.loads(line[6:])
            if first is None and ev.get("choices") and ev["choices"][0].get("text"):
                first = time.time() - t0
            if ev.get("usage"):
                toks = ev["usage"]["completion_tokens"]
    with lock:
        res.append((toks, first or 0.0, time.time() - t0))
t0 = time.time(); th = [threading.Thread(target=one, args=(i,)) for i in range(n)]
[t.start() for t in th]; [t.join() for t in th]; wall = time.time() - t0
tok = sum(r[0] for r in res); ttft = sorted(r[1] for r in res)
print(json.dumps({"streams": n, "tokens": tok, "wall_s": round(wall, 3), "tok_per_s": round(tok / wall, 2),
                  "ttft_median_s": round(ttft[len(ttft) // 2], 3), "ttft_max_s": round(ttft[-1], 3)}))
