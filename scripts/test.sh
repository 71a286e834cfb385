#!/usr/bin/env bash
# The whole test suite, installing what it needs on a fresh machine.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*" >&2; }

log "toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true

# The registry test serves schemas with Python's http.server.
if ! command -v python3 >/dev/null; then
    log "installing python3"
    apt-get update -qq && apt-get install -y -qq python3 >/dev/null
fi

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo test (unit, integration, CLI and doc tests)"
cargo test --workspace --locked
