#!/usr/bin/env bash
# Honest-client latency under each flood (docs/SECURITY.md "Measured"): a release huashu on
# loopback, loadgen with 200 chats at one turn per 500 ms for 15 s, alone and under a slow-body,
# a slowloris and a bad-frame flood (scripts/flood.py). Loopback only; everything stops by itself.
# Usage: scripts/flood-measure.sh [path/to/huashu]   (default: target/release/huashu)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-target/release/huashu}
OUT=$(mktemp -d)
PORT=18080
"$B" serve --listen 127.0.0.1:$PORT --db "$OUT/m.db" --max-connections 400 > "$OUT/serve.out" 2> "$OUT/serve.err" &
SP=$!
trap 'kill $SP 2>/dev/null || true' EXIT
sleep 2
TOKEN=$(sed -n 's/.*token=//p' "$OUT/serve.out")
run() {
  name=$1; shift
  "$B" loadgen --url ws://127.0.0.1:$PORT/ws --token "$TOKEN" --chats 200 --interval-ms 500 \
    --draft-interval-ms 0 --duration 15s --prefix "$name" > "$OUT/lg-$name.txt" 2>&1 &
  LG=$!
  sleep 2
  if [ $# -gt 0 ]; then timeout 20 python3 scripts/flood.py $PORT "$@" "$TOKEN" > "$OUT/fl-$name.txt" 2>&1 || true; fi
  wait $LG
  echo "== $name"; grep -E "turn->ack|lost=" "$OUT/lg-$name.txt"; cat "$OUT/fl-$name.txt" 2>/dev/null || true
}
run idle
run slowbody slowbody 600 12
run slowloris slowloris 600 12
run badframes badframes 8 12
run idle2
