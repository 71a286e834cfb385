#!/usr/bin/env python3
"""Notification benchmark driver (run through bench/bench-notify.sh).

One Tansu broker (memory engine) holds N distinct ZTF alerts in Fink's wire
format; `candid % 100 = 0` keeps 1% of them. A local webhook
(tests/servers/notify.py) answers every request after 50 ms. Each run
starts from a fresh group and is timed from its start until every kept
alert is handled (saved, and for --notify also accepted by the webhook):

  alertstream consume --save --where            (the kept alerts saved)
  alertstream consume --save --where --notify   (saved and notified)
  fink-client's AlertConsumer + a Python condition + one POST per kept
      alert (what its Slack/Telegram helpers do), on a quarter of the stream

Best of three alternating runs of each alertstream variant. Then the bare
librdkafka consumer on the same topic: the broker's ceiling.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import start_tansu

N = int(sys.argv[1])
TANSU, PYTHON = sys.argv[2], sys.argv[3]
REPO = pathlib.Path(__file__).resolve().parent.parent
BIN = REPO / "target/release/alertstream"
RAW = REPO / "target/release/examples/raw_ceiling"
WHERE = "candid % 100 = 0"
DELAY_MS = 50

PEER = r'''
import json, sys, time, urllib.request
from fink_client.consumer import AlertConsumer
servers, topic, n, url = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
consumer = AlertConsumer([topic], {"bootstrap.servers": servers, "group.id": "peer"}, survey="ztf")
seen = kept = 0
start = time.perf_counter()
while seen < n:
    t, alert, key = consumer.poll(timeout=10)
    if alert is None:
        break
    seen += 1
    if alert["candid"] % 100:
        continue
    kept += 1
    c = alert["candidate"]
    body = json.dumps({"text": f"{alert['objectId']} {c['magpsf']:.2f}", "object_id": alert["objectId"],
                       "alert_id": str(alert["candid"])}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=15).read()
print(seen, kept, seen / (time.perf_counter() - start))
'''


def run(cmd, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{p.stderr[-3000:]}")
    return p


def accepted(log):
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text().splitlines() if json.loads(line)["status"] == 200)


def timed(cmd, done):
    """Seconds from the start of `cmd` until `done()` is true; the process
    then ends on its idle timeout."""
    start = time.perf_counter()
    p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while not done():
        if p.poll() is not None and not done():
            sys.exit(f"ended before handling every kept alert:\n{p.stderr.read()[-3000:]}")
        time.sleep(0.01)
    seconds = time.perf_counter() - start
    if p.wait() != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{p.stderr.read()[-3000:]}")
    return seconds


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="alertstream-bench-notify-",
                                         dir=os.path.expanduser("~/.cache/alertstream")))
    broker, _, servers = start_tansu(TANSU, work, "fink_notify")
    hook = None
    try:
        distinct = work / "distinct"
        total = int(run([PYTHON, REPO / "bench/make_distinct_alerts.py", str(N), distinct]).stdout)
        kept = sum(1 for c in range(total) if c % 100 == 0)
        print(f"publishing {total} distinct ZTF alerts to Tansu (memory engine), {kept} to keep...",
              file=sys.stderr)
        run([BIN, "publish", "--servers", servers, "--topic", "fink_notify", "--wire-format", "fink", distinct])
        log = work / "hook.jsonl"
        hook = subprocess.Popen([sys.executable, REPO / "tests/servers/notify.py", log, "--delay-ms",
                                 str(DELAY_MS)], stdout=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{hook.stdout.readline().split()[1]}/hook/bench"

        def ours(group, out, *extra):
            base = accepted(log)
            cmd = [BIN, "consume", "fink_notify", "--servers", servers, "--group", group, "--quiet",
                   "--timeout", "2", "--session-timeout-ms", "6000", "--save", out, "--where", WHERE, *extra]
            files = lambda: sum(1 for _ in out.glob("*.avro")) if out.exists() else 0
            if extra:
                return timed(cmd, lambda: files() >= kept and accepted(log) - base >= kept)
            return timed(cmd, lambda: files() >= kept)

        best_plain = best_notify = float("inf")
        for round_ in range(3):
            print(f"round {round_ + 1}/3: consume --save --where, then with --notify...", file=sys.stderr)
            plain = ours(f"plain-{round_}", work / f"plain-{round_}")
            notify = ours(f"notify-{round_}", work / f"notify-{round_}", "--notify", f"webhook:{url}")
            best_plain, best_notify = min(best_plain, plain), min(best_notify, notify)
            print(f"  plain {plain:.2f} s, notify {notify:.2f} s", file=sys.stderr)

        print("fink-client posting each kept alert, on a quarter of the stream...", file=sys.stderr)
        peer_seen, peer_kept, peer_rate = run([PYTHON, "-c", PEER, servers, "fink_notify", str(total // 4),
                                               url]).stdout.split()
        print("the bare consumer (librdkafka, no decoding): the broker's ceiling...", file=sys.stderr)
        ceiling = json.loads(run([RAW, "consume", servers, "fink_notify", "raw", total]).stdout
                             .strip().splitlines()[-1])["alerts_per_s"]
    finally:
        if hook:
            hook.kill()
        broker.kill()
        broker.wait()
        shutil.rmtree(work, ignore_errors=True)

    plain_rate, notify_rate = total / best_plain, total / best_notify
    print(f"\nnotification benchmark: {total} ZTF alerts, {kept} kept (1%), webhook answering in {DELAY_MS} ms, "
          f"Tansu 0.6.0 memory engine, {os.cpu_count()} cores")
    print("alerts/s from the start of the run until every kept alert is handled:")
    print(f"{'bare librdkafka consumer, no decoding (the broker ceiling)':<62} {ceiling:>9.0f}")
    print(f"{'alertstream consume --save --where':<62} {plain_rate:>9.0f}")
    print(f"{'alertstream consume --save --where --notify webhook:':<62} {notify_rate:>9.0f}")
    print(f"{'fink-client + a Python condition + a POST per kept alert':<62} {float(peer_rate):>9.0f}"
          f" ({peer_kept} of {peer_seen} kept)")
    print(f"\nwith --notify / without = {notify_rate / plain_rate:.2f}x (goal >= 0.9x)")
    print(f"with --notify / fink-client = {notify_rate / float(peer_rate):.0f}x")


if __name__ == "__main__":
    main()
