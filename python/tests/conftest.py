"""Shared fixtures: a real Tansu broker (the project's, built by
scripts/tansu.sh), alerts read by fastavro and pymongo's bson as golden
values, and a producer that is not alertstream (confluent-kafka)."""

from __future__ import annotations

import glob
import io
import json
import math
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
import zlib

import fastavro
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
ZTF_FILES = sorted(glob.glob(str(DATA / "ztf" / "*.avro")))


def tansu_binary() -> str:
    out = subprocess.run(["bash", str(REPO / "scripts" / "tansu.sh"), "path"], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A Tansu broker on 127.0.0.1 (SQLite store: real group and offset
    semantics), optionally requiring SASL/SCRAM."""

    def __init__(self, users=(), topics=()):
        self.binary = tansu_binary()
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="alertstream-pytest-tansu-"))
        self.port = free_port()
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.servers = f"127.0.0.1:{self.port}"
        self.process = self._spawn(authentication=False)
        try:
            for name in topics:  # before authentication: the CLI tool has no credentials
                self.create_topic(name)
            if users:
                for user, password in users:
                    subprocess.run([self.binary, "user", "create", user, password, "--mechanism", "scram512",
                                    "--broker", self.url], check=True, capture_output=True)
                self.stop()
                self.process = self._spawn(authentication=True)
        except BaseException:
            self.close()
            raise

    def _spawn(self, authentication: bool) -> subprocess.Popen:
        args = [self.binary, "broker", "--listener-url", self.url, "--advertised-listener-url", self.url,
                "--storage-engine", "sqlite://tansu.db"]
        if authentication:
            args.append("--authentication")
        process = subprocess.Popen(args, cwd=self.dir, stdout=subprocess.DEVNULL,
                                   stderr=open(self.dir / "tansu.log", "ab"))
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return process
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("Tansu did not start: " + (self.dir / "tansu.log").read_text())
            time.sleep(0.1)

    def create_topic(self, name: str, partitions: int = 1) -> str:
        subprocess.run([self.binary, "topic", "create", name, "--partitions", str(partitions), "--broker",
                        self.url], check=True, capture_output=True)
        return name

    def produce(self, topic: str, messages, **config) -> list:
        """Sends (key, value) pairs with confluent-kafka; returns their
        (partition, offset) in order."""
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": self.servers, "linger.ms": 5, **config})
        placed = {}

        def delivered(index):
            def record(err, msg):
                assert err is None, err
                placed[index] = (msg.partition(), msg.offset())
            return record

        for index, (key, value) in enumerate(messages):
            producer.produce(topic, value=value, key=key, on_delivery=delivered(index))
            producer.poll(0)
        assert producer.flush(30) == 0, "messages not delivered"
        return [placed[i] for i in range(len(placed))]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def broker():
    b = Broker()
    yield b
    b.close()


@pytest.fixture
def topic(broker):
    return broker.create_topic(f"t-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def group():
    return f"g-{uuid.uuid4().hex[:10]}"


def read_container(path):
    """fastavro's reading of an Avro container file: (writer schema, records)."""
    with open(path, "rb") as f:
        reader = fastavro.reader(f)
        return reader.writer_schema, list(reader)


def fink_message(path):
    """A ZTF file as Fink sends it: the schemaless datum, the schema JSON as
    key (made with fastavro); with the record fastavro read."""
    schema, records = read_container(path)
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), records[0])
    return json.dumps(schema).encode(), out.getvalue(), records[0]


@pytest.fixture(scope="session")
def fink_messages():
    return [fink_message(p) for p in ZTF_FILES]


def antares_documents():
    """(zlib-compressed BSON payload, pymongo's decoding) per bundled ANTARES alert."""
    import bson

    out = []
    for path in sorted(glob.glob(str(DATA / "antares" / "*.bson.zlib"))):
        payload = open(path, "rb").read()
        out.append((payload, bson.decode(zlib.decompress(payload))))
    return out


def same(a, b, path="") -> None:
    """Deep equality with NaN equal to NaN and types checked (an int is not
    a float, bytes are not str): asserts, naming the first difference."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool) and not isinstance(b, bool):
        assert int(a) == int(b), f"{path}: {a} != {b}"  # bson's Int64 is an int
        return
    assert type(a) is type(b), f"{path}: {type(a).__name__} {a!r:.80} != {type(b).__name__} {b!r:.80}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r:.80} != {b!r:.80}"
