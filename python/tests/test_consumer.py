"""The consumers against a real Tansu broker: what comes out equals what
fastavro / pymongo read from the bytes sent (by confluent-kafka, not by
alertstream), once each; commits, resume, poison messages, credentials,
the GIL and Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import alertstream
from conftest import ZTF_FILES, Broker, antares_documents, read_container, same

GARBAGE = b"\x00\x00\x00\x00\x07 this is not an alert"


def collect(consumer, n, seconds=60):
    """Polls until n alerts came (or fails after `seconds`)."""
    alerts, deadline = [], time.monotonic() + seconds
    while len(alerts) < n:
        assert time.monotonic() < deadline, f"only {len(alerts)} of {n} alerts in {seconds} s"
        alert = consumer.poll(1.0)
        if alert is not None:
            alerts.append(alert)
    return alerts


def native(broker, topic, group, **kw):
    return alertstream.Consumer([topic], group, broker.servers, connect_timeout=15,
                                session_timeout_ms=6000, **kw)


def test_every_alert_arrives_once_equal_to_fastavro(broker, group, fink_messages):
    topic = broker.create_topic(f"every-{group}", partitions=3)
    # Fink's wire format (schemaless datum, schema in the key), three times
    # over, and ZTF's own (one Avro container per message).
    sent = [(key, value) for _ in range(3) for key, value, _ in fink_messages]
    expected = [record for _ in range(3) for _, _, record in fink_messages]
    for path in ZTF_FILES:
        sent.append((None, open(path, "rb").read()))
        expected.append(read_container(path)[1][0])
    placed = broker.produce(topic, sent)
    by_place = dict(zip(placed, expected))
    assert len(by_place) == len(sent)

    with native(broker, topic, group) as consumer:
        alerts = collect(consumer, len(sent))
        assert consumer.poll(2.0) is None, "an alert came twice"
    seen = [(a.partition, a.offset) for a in alerts]
    assert sorted(seen) == sorted(placed)
    for alert in alerts:
        record = by_place[(alert.partition, alert.offset)]
        same(alert.to_dict(), record)
        assert alert.topic == topic


def test_alert_fields_ids_and_bytes(broker, topic, group, fink_messages):
    key, value, record = fink_messages[0]
    broker.produce(topic, [(key, value)])
    with native(broker, topic, group) as consumer:
        (alert,) = collect(consumer, 1)
    candidate = record["candidate"]
    # 64-bit ids are exact ints (ZTF candids are above 2**53).
    assert record["candid"] > 2**53
    assert type(alert.alert_id) is int and alert.alert_id == record["candid"]
    assert alert.object_id == record["objectId"]
    assert alert["candid"] == record["candid"]
    assert alert["candidate"]["magpsf"] == candidate["magpsf"]
    assert alert.get("no such field", "x") == "x"
    assert "candidate" in alert and "nope" not in alert
    with pytest.raises(KeyError):
        alert["nope"]
    assert alert.ra == candidate["ra"] and alert.dec == candidate["dec"]
    assert alert.band == {1: "g", 2: "r", 3: "i"}[candidate["fid"]]
    assert alert.mjd == pytest.approx(candidate["jd"] - 2400000.5, abs=1e-8)
    assert alert.time.tzinfo is not None
    stamp = alert["cutoutScience"]["stampData"]
    assert type(stamp) is bytes and stamp == record["cutoutScience"]["stampData"]
    assert alert.key == key and type(alert.key) is bytes
    assert alert.raw == value
    assert alert.survey == "ztf" and alert.format == "fink"


def test_alert_consumer_is_a_drop_in_for_fink_client(broker, topic, group, fink_messages):
    broker.produce(topic, [(k, v) for k, v, _ in fink_messages[:6]])
    config = {"bootstrap.servers": broker.servers, "group.id": group}
    with alertstream.AlertConsumer([topic], config, survey="ztf") as consumer:
        got = []
        deadline = time.monotonic() + 60
        while len(got) < 4:
            assert time.monotonic() < deadline
            t, alert, key = consumer.poll(timeout=1)
            if alert is not None:
                got.append((t, alert, key))
        rest = []
        while len(rest) < 2:
            assert time.monotonic() < deadline
            rest += consumer.consume(num_alerts=5, timeout=2)
        assert consumer.poll(timeout=1) == (None, None, None)
        assert consumer.consume(num_alerts=3, timeout=1) == []
    for (t, alert, key), (k, _, record) in zip(got + rest, fink_messages):
        assert t == topic
        assert isinstance(key, str) and key == k.decode()
        same(alert, record)


def test_alert_consumer_config_spellings(broker, topic, group):
    old = {"bootstrap.servers": broker.servers, "group_id": group}
    with alertstream.AlertConsumer([topic], old) as consumer:
        assert consumer.consumer.group == group
    with pytest.raises(ValueError, match="group.id"):
        alertstream.AlertConsumer([topic], {"bootstrap.servers": broker.servers})
    with pytest.raises(ValueError, match="survey"):
        alertstream.AlertConsumer([topic], old, survey="hst")


def test_commit_then_resume_and_redelivery_without_commit(broker, topic, group, fink_messages):
    records = [r for _, _, r in fink_messages[:10]]
    broker.produce(topic, [(k, v) for k, v, _ in fink_messages[:10]])
    with native(broker, topic, group) as first:
        taken = collect(first, 4)
        first.commit()
    with native(broker, topic, group) as second:
        rest = collect(second, 6)
        assert second.poll(2.0) is None
    assert [a.offset for a in taken + rest] == list(range(10))
    assert [a.alert_id for a in taken + rest] == [r["candid"] for r in records]

    # Not committed: delivered again to the group (at-least-once).
    other = group + "-again"
    with native(broker, topic, other) as third:
        collect(third, 3)
    with native(broker, topic, other) as fourth:
        assert collect(fourth, 1)[0].offset == 0


def test_alert_consumer_resumes_where_it_stopped(broker, topic, group, fink_messages):
    broker.produce(topic, [(k, v) for k, v, _ in fink_messages[:5]])
    config = {"bootstrap.servers": broker.servers, "group.id": group}

    def first_alert(consumer):
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline
            _, alert, _ = consumer.poll(timeout=1)
            if alert is not None:
                return alert

    with alertstream.AlertConsumer([topic], config) as consumer:
        seen = [first_alert(consumer)["candid"] for _ in range(3)]
    with alertstream.AlertConsumer([topic], config) as consumer:
        assert first_alert(consumer)["candid"] == fink_messages[3][2]["candid"]
    assert seen == [r["candid"] for _, _, r in fink_messages[:3]]


def test_poison_message_raises_with_its_place_and_the_stream_goes_on(broker, topic, group, fink_messages):
    (k1, v1, r1), (k2, v2, r2) = fink_messages[:2]
    placed = broker.produce(topic, [(k1, v1), (b"key", GARBAGE), (k2, v2)])
    with native(broker, topic, group) as consumer:
        assert collect(consumer, 1)[0].alert_id == r1["candid"]
        with pytest.raises(alertstream.PoisonMessageError) as caught:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                consumer.poll(1.0)
        err = caught.value
        assert isinstance(err, alertstream.DecodeError) and isinstance(err, alertstream.AlertstreamError)
        assert (err.topic, err.partition, err.offset) == (topic, *placed[1])
        assert err.payload == GARBAGE and err.key == b"key"
        assert f"{topic}[0] offset {placed[1][1]}" in str(err)
        assert collect(consumer, 1)[0].alert_id == r2["candid"]


def test_consume_returns_the_alerts_before_a_poison_message(broker, topic, group, fink_messages):
    (k1, v1, r1), (k2, v2, r2), (k3, v3, r3) = fink_messages[:3]
    broker.produce(topic, [(k1, v1), (k2, v2), (None, GARBAGE), (k3, v3)])
    with native(broker, topic, group) as consumer:
        got = []
        deadline = time.monotonic() + 60
        while len(got) < 2:
            assert time.monotonic() < deadline
            got += consumer.consume(10, timeout=3)
        assert [a.alert_id for a in got] == [r1["candid"], r2["candid"]]
        with pytest.raises(alertstream.PoisonMessageError):
            consumer.consume(10, timeout=3)
        assert [a.alert_id for a in consumer.consume(10, timeout=3)] == [r3["candid"]]


def test_alert_consumer_raises_the_poison_message_too(broker, topic, group, fink_messages):
    k, v, r = fink_messages[0]
    broker.produce(topic, [(None, GARBAGE), (k, v)])
    config = {"bootstrap.servers": broker.servers, "group.id": group}
    with alertstream.AlertConsumer([topic], config) as consumer:
        with pytest.raises(alertstream.PoisonMessageError) as caught:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                consumer.poll(timeout=1)
        assert caught.value.offset == 0
        _, alert, _ = consumer.poll(timeout=10)
        assert alert["candid"] == r["candid"]


@pytest.fixture(scope="module")
def secured():
    b = Broker(users=[("alice", "right-password")], topics=["secured"])
    yield b
    b.close()


def test_wrong_credentials_raise_within_seconds_without_the_password(secured):
    started = time.monotonic()
    with pytest.raises(alertstream.AuthenticationError) as caught:
        alertstream.Consumer(["any"], "g", secured.servers, username="alice", password="wrong-secret-42",
                             connect_timeout=10)
    elapsed = time.monotonic() - started
    print(f"wrong password refused after {elapsed:.2f} s")
    assert elapsed < 15
    assert "authentication failed for user alice" in str(caught.value)
    assert "wrong-secret-42" not in str(caught.value)
    config = {"bootstrap.servers": secured.servers, "group.id": "g", "username": "alice", "password": "nope-nope"}
    with pytest.raises(alertstream.AuthenticationError):
        alertstream.AlertConsumer(["any"], config, connect_timeout=10)


def test_right_credentials_stream(secured, fink_messages):
    topic = "secured"
    k, v, r = fink_messages[0]
    secured.produce(topic, [(k, v)], **{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512",
                                        "sasl.username": "alice", "sasl.password": "right-password"})
    config = {"bootstrap.servers": secured.servers, "group.id": "g", "username": "alice",
              "password": "right-password"}
    with alertstream.AlertConsumer([topic], config) as consumer:
        deadline = time.monotonic() + 60
        alert = None
        while alert is None and time.monotonic() < deadline:
            _, alert, _ = consumer.poll(timeout=1)
        same(alert, r)
        assert "right-password" not in repr(consumer.consumer)


def test_poll_releases_the_gil(broker, topic, group):
    with native(broker, topic, group) as consumer:
        count = [0]
        stop = threading.Event()

        def spin():
            while not stop.is_set():
                count[0] += 1

        spinner = threading.Thread(target=spin)
        spinner.start()
        try:
            assert consumer.poll(1.5) is None
        finally:
            stop.set()
            spinner.join()
        # With the GIL held for 1.5 s the spinner would run only at the edges.
        print(f"the other thread counted to {count[0]} during poll")
        assert count[0] > 10_000


def test_ctrl_c_interrupts_a_poll_without_timeout(broker, topic, group, tmp_path):
    script = textwrap.dedent(f"""
        import sys, time, alertstream
        consumer = alertstream.Consumer([{topic!r}], {group!r}, {broker.servers!r}, connect_timeout=15)
        print("polling", flush=True)
        try:
            consumer.poll()
        except KeyboardInterrupt:
            print("interrupted", time.monotonic(), flush=True)
            sys.exit(0)
        print("poll returned", flush=True)
        sys.exit(1)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "polling"
        time.sleep(1.0)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        line = child.stdout.readline().split()
        assert child.wait(20) == 0
    finally:
        child.kill()
    assert line[0] == "interrupted"
    latency = float(line[1]) - sent
    print(f"Ctrl-C interrupted poll() after {latency * 1000:.0f} ms")
    assert latency < 0.5  # 100 ms by design (50 ms slices); margin for a loaded CI machine


def distinct(messages):
    """Messages whose alerts have distinct ids (the samples hold one ZTF
    alert in several schema versions; saved files are named by id)."""
    by_id = {m[2]["candid"]: m for m in messages}
    return list(by_id.values())


def test_save_runs_the_durable_pipeline_and_commits(broker, topic, group, fink_messages, tmp_path):
    sent = distinct(fink_messages)[:12]
    broker.produce(topic, [(k, v) for k, v, _ in sent])
    consumer = native(broker, topic, group)
    stats = consumer.save(tmp_path / "alerts", max_alerts=12)
    assert stats["alerts"] == 12 and stats["quarantined"] == 0
    assert consumer.closed
    files = sorted((tmp_path / "alerts").glob("*.avro"))
    assert len(files) == 12
    saved = {}
    for f in files:
        _, records = read_container(f)
        saved[records[0]["candid"]] = records[0]
    for _, _, record in sent:
        same(saved[record["candid"]], record)
    with native(broker, topic, group) as again:
        assert again.poll(3.0) is None, "saved alerts were not committed"
    with pytest.raises(ValueError, match="closed"):
        consumer.poll(0.1)


def test_save_as_parquet(broker, topic, group, fink_messages, tmp_path):
    import pyarrow.dataset

    sent = fink_messages[:8]
    broker.produce(topic, [(k, v) for k, v, _ in sent])
    stats = native(broker, topic, group).save(tmp_path / "pq", format="parquet", max_alerts=8, cutouts=False)
    assert stats["alerts"] == 8
    table = pyarrow.dataset.dataset(tmp_path / "pq", format="parquet").to_table()
    assert sorted(table.column("candid").to_pylist()) == sorted(r["candid"] for _, _, r in sent)
    assert "cutoutScience" not in table.column_names


def test_streaming_client_is_antares_shaped(broker, group):
    name = f"antares-{group}"
    broker.create_topic("client." + name)
    docs = antares_documents()
    broker.produce("client." + name, [(None, payload) for payload, _ in docs])
    with alertstream.StreamingClient([name], api_key="key", api_secret="secret", group=group,
                                     servers=broker.servers, protocol="PLAINTEXT") as client:
        topic, locus = client.poll(timeout=30)
        assert topic == name
        same(locus.to_dict(), docs[0][1])
        pairs = list(client.iter(num_alerts=len(docs) - 1))
        assert [t for t, _ in pairs] == [name] * (len(docs) - 1)
        for (_, locus), (_, doc) in zip(pairs, docs[1:]):
            same(locus.to_dict(), doc)
            assert locus.object_id is not None and locus.survey == "antares"
        assert client.poll(timeout=1) == (None, None)


def test_iterating_a_consumer_yields_alerts_in_order(broker, topic, group, fink_messages):
    broker.produce(topic, [(k, v) for k, v, _ in fink_messages[:4]])
    with native(broker, topic, group) as consumer:
        got = []
        for alert in consumer:
            got.append(alert.alert_id)
            if len(got) == 4:
                break
        consumer.commit()
    assert got == [r["candid"] for _, _, r in fink_messages[:4]]
    assert repr(consumer).endswith("closed>")


def test_ctrl_c_stops_save_after_committing_what_is_on_disk(broker, topic, group, fink_messages, tmp_path):
    sent = distinct(fink_messages)[:5]
    broker.produce(topic, [(k, v) for k, v, _ in sent])
    out = tmp_path / "saved"
    script = textwrap.dedent(f"""
        import sys, alertstream
        consumer = alertstream.Consumer([{topic!r}], {group!r}, {broker.servers!r}, connect_timeout=15)
        try:
            consumer.save({str(out)!r})
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(0)
        sys.exit(1)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(list(out.glob("*.avro"))) < 5:
            assert time.monotonic() < deadline and child.poll() is None, "the alerts were not saved"
            time.sleep(0.1)
        child.send_signal(signal.SIGINT)
        assert child.wait(30) == 0
        assert child.stdout.read().strip() == "interrupted"
    finally:
        child.kill()
    assert len(list(out.glob("*.avro"))) == 5
    with native(broker, topic, group) as again:
        assert again.poll(3.0) is None, "saved alerts were not committed before the interruption"


def test_rubin_confluent_messages_decode_with_their_schema_ids(broker, topic, group):
    import io
    import struct

    import fastavro.schema

    from conftest import DATA

    sent, expected = [], []
    for path in sorted((DATA / "rubin" / "wire_format").glob("*.avro")):
        payload = path.read_bytes()
        _, schema_id = struct.unpack(">bI", payload[:5])
        major, minor = divmod(schema_id, 100)
        schema = fastavro.schema.load_schema(
            str(DATA / "rubin" / "schema" / f"v{major}_{minor}" / f"lsst.v{major}_{minor}.alert.avsc"))
        sent.append((None, payload))
        expected.append(fastavro.schemaless_reader(io.BytesIO(payload[5:]), schema))
    broker.produce(topic, sent)
    with native(broker, topic, group, schema_dir=str(DATA / "rubin" / "schema")) as consumer:
        alerts = collect(consumer, len(sent))
    for alert, record in zip(alerts, expected):
        assert alert.survey == "rubin" and alert.format == "confluent"
        same(alert.to_dict(), record)


def test_a_missing_ca_bundle_names_the_ca_keyword(broker, tmp_path):
    missing = tmp_path / "kafka-ca.pem"
    with pytest.raises(ValueError) as caught:
        alertstream.Consumer(["any"], "g", broker.servers, protocol="SSL", ssl_ca_location=str(missing),
                             connect_timeout=10)
    message = str(caught.value)
    assert f"TLS needs a CA bundle and none was given or found in {missing}" in message
    assert "(pass ssl_ca_location=PATH)" in message and "--ssl" not in message


def test_a_bad_start_names_the_keyword(broker, topic):
    with pytest.raises(ValueError, match="^start: unknown start position 'newest': expected earliest, latest$"):
        alertstream.Consumer([topic], "g", broker.servers, start="newest")
