#!/usr/bin/env python3
"""Python benchmark driver (run through bench/bench-python.sh), in the
venv where alertstream's release wheel and fink-client are installed.

1. Poll loop: one Tansu broker (memory engine) on 127.0.0.1 holds N distinct
   ZTF alerts in Fink's wire format (schemaless datum, schema JSON in the
   key), produced with confluent-kafka. Each reader is a Python loop that
   polls N alerts and reads candidate.magpsf, with a fresh group, timed from
   its first alert (group join excluded):
     bare confluent-kafka poll, no decoding (ceiling) | alertstream.Consumer |
     alertstream.AlertConsumer | fink_client AlertConsumer
2. AlertReader(folder).to_pandas() on D distinct ZTF alert files
   (bench/make_varied_alerts.py): fink-client's against alertstream's
   (pyarrow and numpy backends), and `cat` of the same bytes (I/O ceiling).

alertstream and the ceilings: best of 3; fink-client: once (it is slow).
"""
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

from benchlib import start_tansu

import fastavro

N = int(sys.argv[1])
D = int(sys.argv[2])
TANSU = sys.argv[3]
REPO = pathlib.Path(__file__).resolve().parent.parent

LOOP = textwrap.dedent("""
    import sys, time
    kind, servers, topic, group, n = sys.argv[1:6]
    n = int(n)
    if kind == "bare":
        from confluent_kafka import Consumer
        # The fetch wait alertstream uses on loopback (Tansu holds a fetch for
        # the whole wait: librdkafka's default 500 ms caps it at ~300 alerts/s).
        c = Consumer({"bootstrap.servers": servers, "group.id": group, "auto.offset.reset": "earliest",
                      "fetch.wait.max.ms": 1})
        c.subscribe([topic])
        def next_magpsf():
            m = c.poll(5)
            return None if m is None else len(m.value())
    elif kind == "native":
        import alertstream
        c = alertstream.Consumer([topic], group, servers)
        def next_magpsf():
            a = c.poll(5)
            return None if a is None else a["candidate"]["magpsf"]
    else:
        if kind.startswith("fink"):
            from fink_client.consumer import AlertConsumer
            if kind == "fink-tuned":  # fink-client passes no librdkafka key through: patch it in
                import fink_client.consumer as fc
                shipped = fc._get_kafka_config
                fc._get_kafka_config = lambda config: {**shipped(config), "fetch.wait.max.ms": 1}
        else:
            from alertstream import AlertConsumer
        c = AlertConsumer([topic], {"bootstrap.servers": servers, "group.id": group}, survey="ztf")
        def next_magpsf():
            _, alert, _ = c.poll(5)
            return None if alert is None else alert["candidate"]["magpsf"]
    got, start = 0, None
    while got < n:
        value = next_magpsf()
        if value is None:
            if start is not None:
                sys.exit(f"{kind}: stalled after {got} alerts")
            continue
        if start is None:
            start = time.perf_counter()
        got += 1
    seconds = time.perf_counter() - start
    print((n - 1) / seconds)
    c.close()
""")

READ = textwrap.dedent("""
    import sys, time
    import pandas, pyarrow
    kind, folder = sys.argv[1:3]
    if kind == "fink":
        from fink_client.avro_utils import AlertReader
        to_pandas = lambda: AlertReader(folder).to_pandas()
    else:
        import alertstream
        backend, cutouts = kind.split("-")
        to_pandas = lambda: alertstream.AlertReader(folder).to_pandas(dtype_backend=backend,
                                                                      cutouts=cutouts == "cutouts")
    start = time.perf_counter()
    df = to_pandas()
    seconds = time.perf_counter() - start
    assert df["candidate"].iloc[-1]["magpsf"] > 0
    print(len(df), seconds)
""")


def produce(servers, topic, work):
    from confluent_kafka import Producer

    distinct = work / "distinct"
    subprocess.run([sys.executable, REPO / "bench/make_distinct_alerts.py", str(N), distinct], check=True,
                   capture_output=True)
    producer = Producer({"bootstrap.servers": servers, "linger.ms": 20, "message.max.bytes": 10_000_000})
    sent = 0
    for path in sorted(distinct.glob("*.avro")):
        with open(path, "rb") as f:
            reader = fastavro.reader(f)
            schema = reader.writer_schema
            key = json.dumps(schema).encode()
            parsed = fastavro.parse_schema(schema)
            for record in reader:
                if sent == N:
                    break
                out = io.BytesIO()
                fastavro.schemaless_writer(out, parsed, record)
                while True:
                    try:
                        producer.produce(topic, value=out.getvalue(), key=key)
                        break
                    except BufferError:
                        producer.poll(0.1)
                sent += 1
    assert producer.flush(120) == 0
    return sent


def loop(kind, servers, topic, group):
    out = subprocess.run([sys.executable, "-c", LOOP, kind, servers, topic, group, str(N)], capture_output=True,
                         text=True)
    if out.returncode != 0:
        sys.exit(f"{kind} loop failed:\n{out.stderr[-3000:]}")
    return float(out.stdout.split()[-1])


def read(kind, folder):
    out = subprocess.run([sys.executable, "-c", READ, kind, folder], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{kind} reader failed:\n{out.stderr[-3000:]}")
    rows, seconds = out.stdout.split()
    assert int(rows) == D, f"{kind} read {rows} alerts, not {D}"
    return D / float(seconds)


def cat(folder):
    subprocess.run(["sync"])
    start = time.perf_counter()
    subprocess.run(f"cat {folder}/* > /dev/null", shell=True, check=True)
    return D / (time.perf_counter() - start)


def main():
    megabytes = 0.0
    work = pathlib.Path(tempfile.mkdtemp(prefix="alertstream-pybench-", dir=os.path.expanduser("~/.cache/alertstream")))
    broker, _, servers = start_tansu(TANSU, work, "pybench")
    try:
        print(f"producing {N} distinct ZTF alerts (Fink wire format) with confluent-kafka...", file=sys.stderr)
        produce(servers, "pybench", work)

        best = {"bare": 0.0, "native": 0.0, "alertconsumer": 0.0}
        for round_ in range(3):
            for kind in best:
                print(f"poll loop, round {round_ + 1}/3: {kind}...", file=sys.stderr)
                best[kind] = max(best[kind], loop(kind, servers, "pybench", f"{kind}-{round_}"))
        print("poll loop: fink-client, as shipped and with alertstream's fetch wait (slow)...", file=sys.stderr)
        fink = loop("fink", servers, "pybench", "fink")
        fink_tuned = loop("fink-tuned", servers, "pybench", "fink-tuned")

        folder = work / "varied"
        subprocess.run([sys.executable, REPO / "bench/make_varied_alerts.py", str(D), folder], check=True,
                       capture_output=True)
        megabytes = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        reads = {"cat": 0.0, "pyarrow-cutouts": 0.0, "numpy-cutouts": 0.0, "pyarrow-nocutouts": 0.0}
        for round_ in range(3):
            print(f"to_pandas, round {round_ + 1}/3...", file=sys.stderr)
            for kind in reads:
                rate = cat(folder) if kind == "cat" else read(kind, str(folder))
                reads[kind] = max(reads[kind], rate)
        print("to_pandas: fink-client (slow)...", file=sys.stderr)
        fink_read = read("fink", str(folder))
    finally:
        broker.kill()
        broker.wait()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nPython poll loop: {N} ZTF alerts (Fink wire format), Tansu 0.6.0 memory engine, {os.cpu_count()} cores; "
          "each loop reads candidate.magpsf")
    print(f"{'reader':<50} {'alerts/s':>9} {'vs fink':>8} {'vs fink 1 ms':>13} {'vs bare poll':>13}")
    rows = [("bare confluent-kafka poll, no decoding (ceiling)", best["bare"]),
            ("alertstream.Consumer (alert['candidate'])", best["native"]),
            ("alertstream.AlertConsumer (whole dict, as fink)", best["alertconsumer"]),
            ("fink-client AlertConsumer, fetch wait 1 ms (patched)", fink_tuned),
            ("fink-client AlertConsumer, as shipped", fink)]
    for who, rate in rows:
        print(f"{who:<50} {rate:>9.0f} {rate / fink:>7.1f}x {rate / fink_tuned:>12.1f}x "
              f"{rate / best['bare']:>12.2f}x")
    print(f"\nAlertReader(folder).to_pandas(), imports done: {D} distinct ZTF alert files "
          f"({megabytes:.0f} MB)")
    print(f"{'reader':<50} {'alerts/s':>9} {'vs fink':>8} {'vs cat':>13}")
    rows = [("cat of the same files (I/O ceiling)", reads["cat"]),
            ("alertstream to_pandas() (pyarrow backend)", reads["pyarrow-cutouts"]),
            ("alertstream to_pandas(dtype_backend='numpy')", reads["numpy-cutouts"]),
            ("alertstream to_pandas(cutouts=False)", reads["pyarrow-nocutouts"]),
            ("fink-client AlertReader.to_pandas()", fink_read)]
    for who, rate in rows:
        print(f"{who:<50} {rate:>9.0f} {rate / fink_read:>7.1f}x {rate / reads['cat']:>12.2f}x")


if __name__ == "__main__":
    main()
