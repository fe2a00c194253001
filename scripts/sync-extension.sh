#!/usr/bin/env bash
# Copies the SDK, the label table and the generated protocol module from the server's assets into the browser extension, which
# must load them from its own folder (an unpacked extension cannot import from outside it).
# `cargo test -p huashu-server --test extension_sync` fails while the copies differ.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
for f in huashu.js labels.js protocol.js; do
  cp "$ROOT/crates/server/assets/$f" "$ROOT/extension/lib/$f"
done
echo "extension/lib: huashu.js, labels.js, protocol.js synced"
