#!/usr/bin/env bash
# Table benchmark: saved ZTF alerts -> Parquet, alertstream vs fink-client's
# conversion (fastavro + avro2arrow + pyarrow) vs cat, one run; then the
# peak RSS over 100,000 alerts. See bench/bench_table.py.
# Usage: bench/bench-table.sh [N_ALERTS] [RSS_ALERTS]   (defaults 5000, 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$HOME/.cache/alertstream/fink-venv"
if ! "$venv/bin/python" -c 'import fink_client, pyarrow' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet fink-client pyarrow
fi
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
echo "building (release)..." >&2
cargo build --release -q -p alertstream-cli
python3 bench/bench_table.py target/release/alertstream "$venv/bin/python" "${1:-5000}" "${2:-100000}"
