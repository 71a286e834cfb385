#!/usr/bin/env bash
# The whole test suite, installing what it needs on a fresh machine.
# Usage: bash scripts/test.sh
# Prints the time of each stage at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

stages=()
stage_started=$SECONDS
stage_name=""
stage() {
    if [ -n "$stage_name" ]; then
        stages+=("$(printf '%5d s  %s' $((SECONDS - stage_started)) "$stage_name")")
    fi
    stage_name="$*"
    stage_started=$SECONDS
    [ -n "$stage_name" ] && printf '\n== %s\n' "$stage_name" >&2
    return 0
}
report() {
    stage ""
    printf '\n== time per stage\n' >&2
    printf '%s\n' "${stages[@]}" >&2
    printf '%5d s  total\n' "$SECONDS" >&2
}
trap report EXIT

stage "toolchain components and system packages"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# librdkafka builds from source (C compiler, OpenSSL for SASL/TLS, zlib,
# zstd); the registry test serves schemas with Python's http.server; the TLS
# test puts socat in front of the broker with certificates made by openssl;
# the shared de-duplication state is tested against Debian's redis-server;
# the web view is opened in Debian's headless chromium.
need=()
for pkg in libssl-dev zlib1g-dev; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
for tool in pkg-config make python3 socat openssl redis-server chromium; do command -v "$tool" >/dev/null || need+=("$tool"); done
python3 -m venv --help >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing system packages: ${need[*]}" >&2
    apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The real broker the streaming tests run against (built once, cached). Its
# build runs in the background while the workspace is checked: the two
# overlap where either waits (build scripts, linking, librdkafka's C build).
stage "Tansu broker (background) and the test readers' venv"
# The tests' Tansu is built less optimised: 8.5 min instead of 13 on 2 cores.
export TANSU_BUILD=test
tansu_log="$(mktemp)"
bash scripts/tansu.sh install >"$tansu_log" 2>&1 &
tansu_pid=$!

# The independent readers the tests compare with, listed once in
# python/pyproject.toml (the `test` extra): fink-client, fastavro, pyarrow,
# pandas, polars, pymongo's bson, astropy... A cached venv, reinstalled when
# the list changes.
venv="$HOME/.cache/alertstream/fink-venv"
wanted="$(python3 -c 'import tomllib; print("\n".join(tomllib.load(open("python/pyproject.toml", "rb"))["project"]["optional-dependencies"]["test"]))')"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.wanted" 2>/dev/null)" != "$wanted" ]; then
    echo "installing the test readers into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install --quiet $wanted
    printf '%s' "$wanted" > "$venv/.wanted"
fi
export ALERTSTREAM_FINK_PYTHON="$venv/bin/python"

stage "cargo fmt --check"
cargo fmt --all -- --check

stage "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

stage "the library without librdkafka (--no-default-features: decode-only users)"
cargo clippy -p alertstream --no-default-features --all-targets --locked -- -D warnings

stage "library docs (broken links are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc -p alertstream --no-deps --features async,serve --locked -q

stage "waiting for the Tansu build"
if ! wait "$tansu_pid"; then
    cat "$tansu_log" >&2
    exit 1
fi
ALERTSTREAM_TANSU="$(bash scripts/tansu.sh path)"
export ALERTSTREAM_TANSU

# The CLI's dev-dependency turns the library's `async` feature on for the
# whole workspace, so the doc tests of the async API run here too.
stage "cargo test (unit, integration, CLI and doc tests)"
cargo test --workspace --exclude alertstream-python --locked  # python/: tested with pytest below

# The Python package as a user installs it: `pip install ./python` (maturin
# from PyPI; a dev build in the workspace's target folder, so the compiled
# dependencies are shared with the tests above) into a new, empty virtual
# environment. The readers the tests compare with are lent by the cached
# venv through a .pth file, after the new venv's own site-packages.
stage "Python package: pip install ./python into a fresh venv, then pytest"
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh" "$tansu_log"; report' EXIT
python3 -m venv "$fresh/venv"
site() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
site "$venv/bin/python" > "$(site "$fresh/venv/bin/python")/test-readers.pth"
CARGO_TARGET_DIR="$PWD/target" "$fresh/venv/bin/pip" install --quiet ./python \
    --config-settings=build-args='--profile dev --locked'
(cd python/tests && "$fresh/venv/bin/python" -m pytest -q -p no:cacheprovider -ra)
