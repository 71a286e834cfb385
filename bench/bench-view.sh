#!/usr/bin/env bash
# Picture benchmark: alertstream view vs fink-client's viewer code (matplotlib,
# Agg backend) on the same alerts, one run. See bench/bench_view.py.
# Usage: bench/bench-view.sh [N_ALERTS]   (default 190)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$HOME/.cache/alertstream/fink-venv"
if ! "$venv/bin/python" -c 'import fink_client, matplotlib' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet fink-client
fi
echo "building (release)..." >&2
cargo build --release -q -p alertstream-cli
python3 bench/bench_view.py target/release/alertstream "$venv/bin/python" "${1:-190}"
