#!/usr/bin/env bash
# Selection benchmark: consume --save with a --where, a cone, a 100,000-target
# watchlist and --once-per-object, against consume --save alone and against
# fink-client with Python conditions and astropy's cross-match; decode --where
# against decode. See bench/bench_select.py.
# Usage: bench/bench-select.sh [N_ALERTS]   (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/tansu.sh install
venv="$HOME/.cache/alertstream/fink-venv"
"$venv/bin/python" -c 'import fink_client, astropy, fastavro' 2>/dev/null || {
    echo "run scripts/test.sh once: it makes $venv" >&2
    exit 1
}
echo "building (release)..." >&2
cargo build --release -q -p alertstream-cli
cargo build --release -q -p alertstream --example raw_ceiling
python3 bench/bench_select.py "${1:-20000}" "$(bash scripts/tansu.sh path)" "$venv/bin/python"
