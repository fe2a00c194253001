#!/usr/bin/env bash
# Requests/s of the HTTP layer with wrk (docs/LOAD.md "HTTP API"): one `huashu serve` on a fresh
# database, then `POST /api/analyze` and `GET /healthz`, each RUNS times for DURATION with and
# without keep-alive. Loopback only; every wrk run stops by itself; the server is stopped at the end.
#   scripts/http-measure.sh BINARY [PORT]      (env: RUNS=3 DURATION=10s CONNS=32 THREADS=2)
set -euo pipefail
BIN=${1:?usage: http-measure.sh BINARY [PORT]}
PORT=${2:-18870}
RUNS=${RUNS:-3}; DURATION=${DURATION:-10s}; CONNS=${CONNS:-32}; THREADS=${THREADS:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$TMP"' EXIT
cd "$ROOT"
"$BIN" serve --listen 127.0.0.1:$PORT --db "$TMP/h.db" > "$TMP/serve.out" 2> "$TMP/serve.err" &
PID=$!
for _ in $(seq 1 300); do grep -q console "$TMP/serve.out" 2>/dev/null && break; sleep 0.2; done
export TOKEN=$(sed -n 's/.*token=//p' "$TMP/serve.out")
URL=http://127.0.0.1:$PORT
for keep in 0 1; do
  for what in analyze healthz; do
    for run in $(seq 1 "$RUNS"); do
      if [ "$what" = analyze ]; then script=analyze.lua; path=/api/analyze; else script=get.lua; path=/healthz; fi
      rps=$(KEEP=$keep wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$ROOT/scripts/wrk/$script" "$URL$path" \
        | awk '/Requests\/sec/ {print $2}')
      echo "keep_alive=$keep $what run=$run requests_per_sec=$rps"
    done
  done
done
