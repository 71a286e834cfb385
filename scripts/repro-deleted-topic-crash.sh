#!/usr/bin/env bash
# Minimal reproduction of a crash inside librdkafka 2.12.1 (README, known issues):
# a consumer of a topic that Tansu deletes dies with SIGSEGV (exit 139).
#
#   scripts/repro-deleted-topic-crash.sh [extra consume args, e.g. -v]
#
# A fresh Tansu on 127.0.0.1:19092, 19 ZTF alerts, `consume --display`, and the
# topic deleted 6 s later. After the deletion Tansu answers a FetchRequest v16
# with a KIP-951 CurrentLeader tag for the partition and an all-zero topic id;
# librdkafka (rd_kafka_handle_Fetch_metadata_update -> RD_KAFKA_OP_METADATA_UPDATE)
# then looks the topic up by a NULL name: strcmp(NULL) in
# rd_kafka_metadata_cache_find. Run it under gdb to see the stack.
set -u
cd "$(dirname "$0")/.."
cargo build -q -p alertstream-cli
T="$(bash scripts/tansu.sh path)"; B="$PWD/target/debug/alertstream"
W="$(mktemp -d)"
pkill -f "listener-url tcp://127.0.0.1:19092" ; sleep 0.5
rm -rf "$W/data"; mkdir -p "$W/data"
(cd "$W/data" && nohup $T broker --listener-url tcp://127.0.0.1:19092 --advertised-listener-url tcp://127.0.0.1:19092 --storage-engine sqlite://tansu.db > tansu.log 2>&1 &)
sleep 1
$T topic create doomed --partitions 1 --broker tcp://127.0.0.1:19092 >/dev/null
$B publish --servers 127.0.0.1:19092 --topic doomed --format ztf tests/data/ztf/ >/dev/null 2>&1
(sleep 6; $T topic delete doomed --broker tcp://127.0.0.1:19092 >/dev/null) &
timeout 40 $B consume doomed --servers 127.0.0.1:19092 --group g --quiet --display "$@" > "$W/out.txt" 2> "$W/err.txt"
code=$?
echo "consume exit code $code after $(wc -l < "$W/out.txt") alerts (139: SIGSEGV)"; tail -3 "$W/err.txt"; wait
pkill -f "listener-url tcp://127.0.0.1:19092"; rm -rf "$W"
