#!/usr/bin/env bash
# Streaming benchmark: alertstream vs fink-client vs the raw ceilings, one run,
# on a local Tansu broker (memory engine). See bench/bench_stream.py.
# Usage: bench/bench-stream.sh [N_ALERTS]   (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/tansu.sh install
venv="$HOME/.cache/alertstream/fink-venv"
if ! "$venv/bin/python" -c 'import fink_client' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet fink-client
fi
echo "building (release)..." >&2
cargo build --release -q -p alertstream-cli
cargo build --release -q -p alertstream --example raw_ceiling
python3 bench/bench_stream.py "${1:-20000}" "$(bash scripts/tansu.sh path)" "$venv/bin/finkctl" "$venv/bin/python"
