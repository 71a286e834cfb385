"""The seeds' shapes that reach a broker's other parts: antares-client's
``Client`` and ``get_thumbnails`` (against a local stand-in of ANTARES' API
that answers in its JSON:API shapes), the streaming options antares-client
fetches at start, and fink-client's ``available_topics``,
``available_brokers`` and ``poll_and_write``."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time

import fastavro
import pytest

import alertstream
from conftest import REPO, antares_documents, same

STAND_IN = REPO / "tests" / "servers" / "antares_api.py"


class AntaresApi:
    """tests/servers/antares_api.py on a free port."""

    def __init__(self, kafka_servers: str, *extra: str):
        self.process = subprocess.Popen([sys.executable, str(STAND_IN), kafka_servers, *extra],
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().split()
        assert line[0] == "port", line
        self.base = f"http://127.0.0.1:{line[1]}/v1/"

    def close(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture
def antares_api(broker, monkeypatch):
    api = AntaresApi(broker.servers)
    monkeypatch.setenv("ANTARES_API_BASE_URL", api.base)
    yield api
    api.close()


def produce_antares(broker, name):
    broker.create_topic("client." + name)
    docs = antares_documents()
    broker.produce("client." + name, [(None, payload) for payload, _ in docs])
    return docs


def test_client_is_the_manuals_shape(broker, group):
    name = f"client-{group}"
    docs = produce_antares(broker, name)
    with alertstream.Client([name], api_key="key", api_secret="secret", group=group,
                            servers=broker.servers, security_protocol="PLAINTEXT") as client:
        topic, alert = client.poll(timeout=30)
        assert topic == name and isinstance(alert, dict)
        same(alert, docs[0][1])
        pairs = list(client.iter(num_alerts=len(docs) - 1))
        for (t, alert), (_, doc) in zip(pairs, docs[1:]):
            assert t == name
            same(alert, doc)
        assert client.poll(timeout=1) == (None, None)


def test_the_streaming_options_are_fetched_at_start(broker, group, antares_api):
    # No servers given: ANTARES' API (the stand-in) says where the stream is.
    name = f"options-{group}"
    docs = produce_antares(broker, name)
    with alertstream.StreamingClient([name], api_key="key", api_secret="secret", group=group) as client:
        assert client.consumer.servers == broker.servers
        topic, locus = client.poll(timeout=30)
        assert topic == name
        same(locus.to_dict(), docs[0][1])


def test_a_failed_options_fetch_warns_and_keeps_antares_settings(broker, monkeypatch):
    api = AntaresApi(broker.servers, "--fail-config")
    monkeypatch.setenv("ANTARES_API_BASE_URL", api.base)
    try:
        with pytest.warns(RuntimeWarning, match="HTTP 503"):
            with pytest.raises(alertstream.BrokerError, match="kafka.antares.noirlab.edu"):
                alertstream.StreamingClient(["x"], api_key="k", api_secret="s", connect_timeout=1)
    finally:
        api.close()


def test_get_thumbnails_returns_the_seeds_shape_and_writes_files(antares_api, tmp_path):
    thumbnails = alertstream.get_thumbnails("ztf_candidate:1234567890", tmp_path / "thumbs")
    assert sorted(thumbnails) == ["difference", "science", "template"]
    for kind, entry in thumbnails.items():
        assert entry["file_name"] == f"ztf_candidate_1234567890_{kind}.fits.gz"
        assert gzip.decompress(entry["file_bytes"]).startswith(b"SIMPLE") and entry["blob"] is entry["file_bytes"]
        assert entry["type"] == kind and entry["alert_id"] == "ztf_candidate:1234567890"
        assert (tmp_path / "thumbs" / entry["file_name"]).read_bytes() == entry["file_bytes"]
    with pytest.raises(alertstream.BrokerError, match="HTTP 404"):
        alertstream.get_thumbnails("ztf_candidate:9")


def test_fink_client_listing_and_poll_and_write(broker, topic, group, fink_messages, tmp_path):
    key, value, record = fink_messages[0]
    broker.produce(topic, [(key, value), (key, value)])
    config = {"bootstrap.servers": broker.servers, "group.id": group}
    with alertstream.AlertConsumer([topic], config) as consumer:
        assert topic in consumer.available_topics()
        assert not any(t.startswith("__") for t in consumer.available_topics())
        brokers = consumer.available_brokers()
        assert [(b.host, b.port) for b in brokers.values()] == [("127.0.0.1", broker.port)]
        with pytest.raises(FileNotFoundError):
            consumer.poll_and_write(tmp_path / "missing", timeout=30)
        # Refused before polling: no alert was handed out unwritten.
        deadline = time.monotonic() + 30
        t, alert, k = None, None, None
        while alert is None and time.monotonic() < deadline:
            t, alert, k = consumer.poll_and_write(tmp_path, timeout=1)
        assert t == topic
        path = tmp_path / f"{record['objectId']}_{record['candid']}.avro"
        with open(path, "rb") as f:
            written = list(fastavro.reader(f))
        assert len(written) == 1
        same(written[0], record)
        with pytest.raises(FileExistsError):  # the second copy, same name
            consumer.poll_and_write(tmp_path, timeout=30)
        assert os.path.exists(path)


def test_oauthbearer_asks_the_token_endpoint_with_the_client_credentials(broker, tmp_path):
    # GCN's OAUTHBEARER: client id and secret exchanged at an OIDC token
    # endpoint (a local one answering as GCN's does). Tansu has no
    # OAUTHBEARER, so the connection itself then fails: only the token
    # request and the error's silence about the secret are checked.
    log = tmp_path / "requests.jsonl"
    server = subprocess.Popen([sys.executable, str(REPO / "tests" / "servers" / "oauth_token.py"), str(log)],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = server.stdout.readline().split()[1]
        with pytest.raises(alertstream.AlertstreamError) as raised:
            alertstream.Consumer(["igwn.gwalert"], "g", broker.servers, username="gcn-client",
                                 password="gcn-s3cret", protocol="SASL_PLAINTEXT", mechanism="OAUTHBEARER",
                                 token_url=f"http://127.0.0.1:{port}/oauth2/token", connect_timeout=3)
        assert "gcn-s3cret" not in str(raised.value)
        first = json.loads(log.read_text().splitlines()[0])
        assert first["form"] == {"grant_type": "client_credentials", "client_id": "gcn-client",
                                 "client_secret": "gcn-s3cret"}
    finally:
        server.kill()
        server.wait()
