#!/usr/bin/env bash
# The local test broker: Tansu, an Apache Kafka-compatible broker from crates.io.
#
#   scripts/tansu.sh install            build it once into ~/.cache (about 13 min on 2 cores)
#                                       TANSU_BUILD=test: less optimised, faster to build
#                                       (the test suite's; the benchmarks use the full build)
#   scripts/tansu.sh path               print the binary's path
#   scripts/tansu.sh start [PORT] [DIR] run on 127.0.0.1:PORT (default 9092) with a SQLite
#                                       store in DIR (default ~/.cache/alertstream/tansu-data);
#                                       ENGINE=memory for the fast in-memory store
#   scripts/tansu.sh stop [PORT]
set -euo pipefail

version=0.6.0
build="${TANSU_BUILD:-release}"
case "$build" in
    release) default_root="$HOME/.cache/alertstream/tansu" ;;
    test) default_root="$HOME/.cache/alertstream/tansu-test" ;;
    *) echo "TANSU_BUILD is release or test, not $build" >&2; exit 2 ;;
esac
root="${ALERTSTREAM_TANSU_ROOT:-$default_root}"
bin="$root/bin/tansu"

install() {
    if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$version"; then
        return 0
    fi
    echo "building Tansu $version ($build) into $root (once)..." >&2
    if [ "$build" = test ]; then
        # Optimised enough for tests, in a fraction of the time.
        export CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=0
    fi
    cargo install tansu --version "$version" --locked --features dynostore,libsql --root "$root" >&2
}

start() {
    local port="${1:-9092}" dir="${2:-$HOME/.cache/alertstream/tansu-data}"
    install
    mkdir -p "$dir"
    local engine="sqlite://tansu.db"
    [ "${ENGINE:-sqlite}" = memory ] && engine="memory://tansu/"
    (cd "$dir" && nohup "$bin" broker --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" --storage-engine "$engine" \
        > "$dir/tansu-$port.log" 2>&1 & echo $! > "$dir/tansu-$port.pid")
    for _ in $(seq 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "Tansu listening on 127.0.0.1:$port (log: $dir/tansu-$port.log)" >&2
            return 0
        fi
        sleep 0.2
    done
    echo "Tansu did not start; see $dir/tansu-$port.log" >&2
    return 1
}

stop() {
    local port="${1:-9092}" dir="${2:-$HOME/.cache/alertstream/tansu-data}"
    [ -f "$dir/tansu-$port.pid" ] && kill "$(cat "$dir/tansu-$port.pid")" 2>/dev/null || true
    rm -f "$dir/tansu-$port.pid"
}

case "${1:-}" in
    install) install ;;
    path) install; echo "$bin" ;;
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) sed -n '2,10p' "$0"; exit 2 ;;
esac
