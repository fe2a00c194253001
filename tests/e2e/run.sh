#!/usr/bin/env bash
# Browser end-to-end tests of the console, the widget SDK and the demo shop against the real
# `huashu serve` (headless Chromium through playwright-core, node's built-in test runner).
#
# Builds nothing: expects the binary in $HUASHU_BIN (default target/debug/huashu), Debian's
# chromium (apt-get install -y chromium fonts-noto-cjk) and node >= 18.
#
#   cargo build -p huashu-cli && bash tests/e2e/run.sh
#
# It starts `huashu serve --listen 127.0.0.1:<free port> --db <tmp file>`, reads the printed
# `console: http://HOST:PORT/?token=TOKEN` line, runs the tests (one of which kills the server
# and starts it again on the same --db and port, recording the new pid), then kills the server.
# Screenshots and server logs go to tests/e2e/artifacts/ (gitignored). HUASHU_DOCS_SCREENSHOT=1
# also copies the 1280×800 console screenshot to docs/console.png. Runs in about a minute.
#
#   bash tests/e2e/run.sh console.test.mjs      # some test files only
set -euo pipefail

CALLER=$PWD
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$HERE"

HUASHU_BIN=${HUASHU_BIN:-$ROOT/target/debug/huashu}
case "$HUASHU_BIN" in /*) ;; *) HUASHU_BIN="$ROOT/$HUASHU_BIN" ;; esac
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$HUASHU_BIN" ]; then
  echo "run.sh: no huashu binary at $HUASHU_BIN (cargo build -p huashu-cli, or set HUASHU_BIN)" >&2
  exit 2
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "run.sh: no chromium at $CHROMIUM (apt-get install -y chromium fonts-noto-cjk)" >&2
  exit 2
fi
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/ws ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

mkdir -p artifacts
WORK=$(mktemp -d)
export HUASHU_PID_FILE="$WORK/server.pid"
# Server logs go to this run's own directory (two runs at once must not read each other's
# `console:` line) and are copied to artifacts/ at the end.
export HUASHU_WORK="$WORK"
LOG="$WORK/server.log"
cleanup() {
  if [ -s "$HUASHU_PID_FILE" ]; then kill "$(cat "$HUASHU_PID_FILE")" 2>/dev/null || true; fi
  cp "$WORK"/*.log "$HERE/artifacts/" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
ARGS=(serve --listen "127.0.0.1:$PORT" --db "$WORK/huashu.db")
# The restart test needs the same token before and after the restart: when the server takes a
# token file, give it one (role any, shop default); otherwise it prints a fresh token per start.
if "$HUASHU_BIN" serve --help 2>/dev/null | grep -q -- '--tokens'; then
  TOKEN=$(node -e 'console.log(require("crypto").randomBytes(16).toString("hex"))')
  printf 'admin = "%s"\n[[token]]\ntoken = "%s"\nrole = "any"\nshop = "default"\n' "$TOKEN" "$TOKEN" > "$WORK/tokens.toml"
  ARGS+=(--tokens "$WORK/tokens.toml")
fi

# The browser extension (extension/, its id pinned by the manifest key) opens its WebSocket from
# chrome-extension://<id>; the Chatwoot webhook test needs a connection file.
ARGS+=(--allow-origin chrome-extension://aepledhdanakbalffjmeaffcedjajkaj)
if "$HUASHU_BIN" serve --help 2>/dev/null | grep -q -- '--chatwoot'; then
  export HUASHU_CHATWOOT_SECRET=$(node -e 'console.log(require("crypto").randomBytes(16).toString("hex"))')
  printf '[[account]]\nsecret = "%s"\nshop = "default"\naccount_id = 1\n' "$HUASHU_CHATWOOT_SECRET" > "$WORK/chatwoot.toml"
  ARGS+=(--chatwoot "$WORK/chatwoot.toml")
fi

"$HUASHU_BIN" "${ARGS[@]}" > "$LOG" 2>&1 &
echo $! > "$HUASHU_PID_FILE"

LINE=""
for _ in $(seq 1 600); do  # up to 60 s: a debug build compiles the book slowly on a busy machine
  LINE=$(grep -m1 -o 'console: http[^ ]*' "$LOG" || true)
  [ -n "$LINE" ] && break
  if ! kill -0 "$(cat "$HUASHU_PID_FILE")" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ -z "$LINE" ]; then
  echo "run.sh: the server printed no console line:" >&2
  cat "$LOG" >&2
  exit 1
fi
URL=${LINE#console: }
HUASHU_BASE=$(node -e 'console.log(new URL(process.argv[1]).origin)' "$URL")
export HUASHU_BASE
export HUASHU_TOKEN=${TOKEN:-$(node -e 'console.log(new URL(process.argv[1]).searchParams.get("token") ?? "")' "$URL")}
export HUASHU_BIN
HUASHU_SERVE_ARGS=$(node -e 'console.log(JSON.stringify(process.argv.slice(1)))' "${ARGS[@]}")
export HUASHU_SERVE_ARGS
echo "run.sh: server at $HUASHU_BASE (pid $(cat "$HUASHU_PID_FILE"))"

# A hung test fails after 2 minutes instead of hanging CI (flag known to node >= 20.11).
NODE_TEST=(node --test --test-concurrency=1)
if node --help 2>/dev/null | grep -q -- '--test-timeout'; then NODE_TEST+=(--test-timeout=120000); fi

if [ $# -gt 0 ]; then
  # Test files may be named relative to where run.sh was called from, or to tests/e2e.
  FILES=()
  for f in "$@"; do
    if [ -e "$CALLER/$f" ]; then FILES+=("$(cd "$CALLER" && realpath "$f")"); else FILES+=("$f"); fi
  done
  "${NODE_TEST[@]}" "${FILES[@]}"
else
  "${NODE_TEST[@]}" ./*.test.mjs
fi
