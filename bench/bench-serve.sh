#!/usr/bin/env bash
# Web view benchmark: a folder of 100,000 saved ZTF alerts (hard links of the
# bundled ones under distinct names), `alertstream serve` on it: time to the
# first page (API and headless Chromium), time to a complete index, a
# --where filter over all of it, and the server's peak memory; against
# `find` listing the same folder (the file system's ceiling).
# Usage: bench/bench-serve.sh [N_ALERTS]   (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$HOME/.cache/alertstream/fink-venv"
"$venv/bin/python" -c 'import websocket' 2>/dev/null || {
    echo "run scripts/test.sh once: it makes $venv" >&2
    exit 1
}
command -v chromium >/dev/null || { echo "needs Debian's chromium" >&2; exit 1; }
echo "building (release)..." >&2
cargo build --release -q -p alertstream-cli
"$venv/bin/python" bench/bench_serve.py "${1:-100000}"
