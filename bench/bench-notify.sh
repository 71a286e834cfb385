#!/usr/bin/env bash
# Notification benchmark: consume --save --where (1% kept) with --notify to a
# local webhook that answers in 50 ms, against the same run without
# --notify, against fink-client posting each kept alert itself, and against
# the bare consumer (the broker's ceiling). See bench/bench_notify.py.
# Usage: bench/bench-notify.sh [N_ALERTS]   (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/tansu.sh install
venv="$HOME/.cache/alertstream/fink-venv"
"$venv/bin/python" -c 'import fink_client, fastavro' 2>/dev/null || {
    echo "run scripts/test.sh once: it makes $venv" >&2
    exit 1
}
echo "building (release)..." >&2
cargo build --release -q -p alertstream-cli
cargo build --release -q -p alertstream --example raw_ceiling
python3 bench/bench_notify.py "${1:-20000}" "$(bash scripts/tansu.sh path)" "$venv/bin/python"
