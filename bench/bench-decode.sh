#!/usr/bin/env bash
# Decode benchmark: alertstream vs fastavro on the same messages, one run;
# then the `decode` command (JSON Lines out) against `cat` of the same files.
# Usage: bench/bench-decode.sh   (installs fastavro into a cached venv)
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${ALERTSTREAM_BENCH_VENV:-$HOME/.cache/alertstream/bench-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import fastavro' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'fastavro==1.*'
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "building the benchmark (release)..." >&2
cargo bench -p alertstream --bench decode --no-run >&2 2>/dev/null || cargo bench -p alertstream --bench decode --no-run
echo "alertstream: decoding..." >&2
BENCH_MESSAGES_DIR="$work" cargo bench -q -p alertstream --bench decode 2>/dev/null > "$work/rust.jsonl"
echo "fastavro: decoding the same messages..." >&2
"$venv/bin/python" bench/bench_fastavro.py "$work" > "$work/python.jsonl"

python3 - "$work/rust.jsonl" "$work/python.jsonl" <<'PY'
import json, sys, platform, os
rust = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
py = {(r["format"], r["task"]): r for r in (json.loads(l) for l in open(sys.argv[2]))}
version = next(iter(py.values()))["version"]
print(f"decode benchmark: {platform.machine()}, {os.cpu_count()} cores; fastavro {version}; one thread each")
print(f"{'format':<7} {'task':<12} {'messages':>8} {'alertstream/s':>14} {'MB/s':>8} {'fastavro/s':>11} {'MB/s':>7} {'ratio':>7}")
for r in rust:
    p = py[(r["format"], r["task"])]
    ratio = r["alerts_per_s"] / p["alerts_per_s"]
    print(f"{r['format']:<7} {r['task']:<12} {r['messages']:>8} {r['alerts_per_s']:>14.0f} {r['mb_per_s']:>8.1f} "
          f"{p['alerts_per_s']:>11.0f} {p['mb_per_s']:>7.1f} {ratio:>6.1f}x")
PY

echo "the decode command against cat (release build)..." >&2
cargo build --release -q -p alertstream-cli
python3 bench/bench_decode_cli.py target/release/alertstream 3000
