#!/usr/bin/env bash
# The project's test command (README): every Rust test, then the browser end-to-end tests.
# Browser tests need Chromium (Debian package `chromium`) and Node.js; under CI=true they are
# installed when missing, elsewhere they are skipped with a note when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace

if [ -f tests/e2e/run.sh ]; then
  if ! command -v chromium >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then
      apt-get update -qq
      command -v node >/dev/null 2>&1 || apt-get install -y -qq nodejs npm >/dev/null
      apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
    else
      echo "skipping browser tests: chromium or node not installed (apt-get install -y chromium fonts-noto-cjk nodejs npm)"
      exit 0
    fi
  fi
  cargo build -q -p huashu-cli
  HUASHU_BIN="$PWD/target/debug/huashu" bash tests/e2e/run.sh
fi
