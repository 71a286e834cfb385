#!/usr/bin/env bash
# Python benchmark: alertstream's Python package against fink-client, one run
# (poll loop on a local Tansu broker, AlertReader.to_pandas on files).
# See bench/bench_python.py.
# Usage: bench/bench-python.sh [N_ALERTS] [N_FILES]   (default 10000 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/tansu.sh install
venv="$HOME/.cache/alertstream/fink-venv"
if ! "$venv/bin/python" -c 'import fink_client, fastavro, pyarrow, pandas' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet fink-client fastavro pyarrow pandas
fi
echo "building and installing the release wheel (pip install ./python)..." >&2
"$venv/bin/pip" install --quiet --force-reinstall --no-deps ./python
"$venv/bin/python" bench/bench_python.py "${1:-10000}" "${2:-5000}" "$(bash scripts/tansu.sh path)"
