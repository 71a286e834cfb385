#!/usr/bin/env bash
# The whole test suite, installing what it needs on a fresh machine.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*" >&2; }

log "toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true

# librdkafka builds from source (C compiler, OpenSSL for SASL/TLS, zlib);
# the registry test serves schemas with Python's http.server; the TLS test
# puts socat in front of the broker with certificates made by openssl.
need=()
for pkg in libssl-dev zlib1g-dev; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
for tool in pkg-config make python3 socat openssl; do command -v "$tool" >/dev/null || need+=("$tool"); done
python3 -m venv --help >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    log "installing system packages: ${need[*]}"
    apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The real broker the streaming tests run against (built once, cached).
log "Tansu broker"
bash scripts/tansu.sh install

# fink-client from PyPI, to prove it reads the alerts we save, and the
# independent readers the table tests compare with: fastavro and pyarrow
# (fink-client's own), polars, pymongo's bson, cramjam for snappy (cached venv).
venv="$HOME/.cache/alertstream/fink-venv"
if ! "$venv/bin/python" -c 'import fink_client, fastavro, pyarrow, pandas, polars, bson, cramjam, astropy, PIL' 2>/dev/null; then
    log "installing fink-client and the Python readers into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet fink-client fastavro pyarrow pandas polars pymongo cramjam astropy pillow
fi
"$venv/bin/python" -c 'import pytest' 2>/dev/null || "$venv/bin/pip" install --quiet pytest
export ALERTSTREAM_FINK_PYTHON="$venv/bin/python"

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "library docs (broken links are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc -p alertstream --no-deps --features async --locked -q

log "the library without librdkafka (--no-default-features: decode-only users)"
cargo clippy -p alertstream --no-default-features --all-targets --locked -- -D warnings

log "cargo test (unit, integration, CLI and doc tests)"
cargo test --workspace --exclude alertstream-python --locked  # python/: tested with pytest below

# The Python package as a user installs it: `pip install ./python` (maturin
# from PyPI; a dev build, the benchmarks build release wheels) into a new,
# empty virtual environment. The readers the tests compare with (fastavro,
# fink-client, pyarrow...) are lent by the cached venv through a .pth file,
# after the new venv's own site-packages.
log "Python package: pip install ./python into a fresh venv, then pytest"
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
python3 -m venv "$fresh/venv"
site() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
site "$venv/bin/python" > "$(site "$fresh/venv/bin/python")/test-readers.pth"
"$fresh/venv/bin/pip" install --quiet ./python --config-settings=build-args='--profile dev --locked'
(cd python/tests && "$fresh/venv/bin/python" -m pytest -q -p no:cacheprovider -ra)

log "doc tests of the async API (feature async)"
cargo test -p alertstream --features async --doc --locked
