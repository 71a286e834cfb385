"""The consumer shapes of fink-client and antares-client, over alertstream's
native ``Consumer``: the same constructor arguments and return values, the
decoding done in Rust.

Both commit at-least-once: the alerts returned by a call count as processed
when the next call (or ``close()``) is made, and only then are their offsets
committed. A crash while handling an alert delivers it again.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

from ._native import Alert, BrokerError, Consumer, antares_streaming_options, antares_thumbnails

#: fink-client's default servers when the config names none.
FINK_DEFAULT_SERVERS = "localhost:9093,localhost:9094,localhost:9095"
#: ANTARES's public Kafka endpoint and the prefix of its topics.
ANTARES_SERVERS = "kafka.antares.noirlab.edu:9092"
ANTARES_TOPIC_PREFIX = "client."

#: Keys of fink-client's config dict that are not librdkafka properties.
_FINK_KEYS = {"username", "password", "group_id", "group.id", "bootstrap.servers",
              "sasl.username", "sasl.password"}


def _topic_list(topics: Union[str, Sequence[str]]) -> List[str]:
    return [topics] if isinstance(topics, str) else list(topics)


class _CommitOnNext:
    """What both shapes share: the native consumer, committed when the next
    alert is asked for and at close; a context manager."""

    _consumer: Consumer

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _next(self, timeout: Optional[float]) -> Optional[Alert]:
        self._consumer.commit()
        return self._consumer.poll(timeout)

    def close(self) -> None:
        """Commits what was handed out and leaves the group."""
        if not self._consumer.closed:
            self._consumer.commit()
            self._consumer.close()

    @property
    def consumer(self) -> Consumer:
        """The native ``alertstream.Consumer`` underneath."""
        return self._consumer


class AlertConsumer(_CommitOnNext):
    """fink-client's ``AlertConsumer``, decoded in Rust.

    >>> config = {"bootstrap.servers": "localhost:9092", "group.id": "me"}
    >>> with AlertConsumer(["fink_sn_candidates_ztf"], config) as consumer:  # doctest: +SKIP
    ...     topic, alert, key = consumer.poll(timeout=5)
    ...     if alert is not None:
    ...         print(alert["objectId"], alert["candidate"]["magpsf"])

    ``config`` is fink-client's dict: ``bootstrap.servers``, ``group.id``
    (or ``group_id``, as older versions spell it), ``username`` and
    ``password`` (SASL SCRAM-SHA-512 when both are given), and any librdkafka
    property. ``survey`` ("ztf" or "lsst") may be left out: each message's
    format is detected. ``schema_path`` is the writer schema for messages
    whose key holds none.

    Differences from fink-client: offsets are committed when the next
    ``poll``/``consume`` (or ``close``) is called, not every 5 s in the
    background (so an alert is never committed before its handling ends);
    an undecodable message raises ``PoisonMessageError`` (a subclass of
    ``alertstream.AlertstreamError``) naming its topic, partition and
    offset, and the next poll goes on after it.
    """

    def __init__(self, topics: Sequence[str], config: Dict[str, Any], survey: Optional[str] = None,
                 schema_path: Optional[str] = None, dump_schema: bool = False, on_assign: Any = None,
                 **native: Any) -> None:
        if survey is not None and survey not in ("ztf", "lsst"):
            raise ValueError(f"survey must be 'ztf' or 'lsst' (or left out), not {survey!r}")
        if on_assign is not None:
            raise NotImplementedError("on_assign is not supported: use alertstream.Consumer(start=...) "
                                      "or `alertstream reset` to choose where a group starts")
        group = config.get("group.id", config.get("group_id"))
        if group is None:
            raise ValueError("config needs 'group.id' (or 'group_id'): the consumer group to read with")
        username = config.get("username", config.get("sasl.username"))
        password = config.get("password", config.get("sasl.password"))
        sasl = username is not None and password is not None
        properties = {k: v for k, v in config.items() if k not in _FINK_KEYS}
        properties.setdefault("security.protocol", "SASL_PLAINTEXT" if sasl else "PLAINTEXT")
        self.survey = survey
        self.schema_path = schema_path
        self._consumer = Consumer(
            _topic_list(topics), str(group), config.get("bootstrap.servers", FINK_DEFAULT_SERVERS),
            username=username if sasl else None, password=password if sasl else None,
            protocol=properties.pop("security.protocol"),
            mechanism=properties.pop("sasl.mechanism", "SCRAM-SHA-512"),
            config=properties, schema=schema_path, **native)

    @staticmethod
    def _triple(alert: Alert) -> Tuple[str, dict, str]:
        key = alert.key
        return alert.topic, alert.to_dict(), "" if key is None else key.decode("utf8", "replace")

    def poll(self, timeout: float = -1) -> Tuple[Optional[str], Optional[dict], Optional[str]]:
        """The next alert as ``(topic, alert, key)``: the record as a dict
        (as fastavro gives it), the message key as text (Fink: the schema).
        ``(None, None, None)`` when none came within ``timeout`` seconds
        (negative: no limit)."""
        alert = self._next(timeout)
        if alert is None:
            return None, None, None
        return self._triple(alert)

    def consume(self, num_alerts: int = 1, timeout: float = -1) -> List[Tuple[str, dict, str]]:
        """Up to ``num_alerts`` alerts as ``(topic, alert, key)`` tuples, waiting
        at most ``timeout`` seconds; an empty list when none came."""
        self._consumer.commit()
        return [self._triple(a) for a in self._consumer.consume(num_alerts, timeout)]

    def poll_and_write(self, outdir: Union[str, "os.PathLike[str]"], timeout: float = -1,
                       overwrite: bool = False) -> Tuple[Optional[str], Optional[dict], Optional[str]]:
        """``poll``, and the alert written in ``outdir`` as fink-client
        writes it: a one-record Avro container with the writer schema,
        ``<objectId>_<candid>.avro`` (LSST: ``<diaSourceId>.avro``).
        ``outdir`` must exist; an existing file raises ``FileExistsError``
        unless ``overwrite``. Returns ``(topic, alert, key)``."""
        if not os.path.isdir(outdir):  # before polling: no alert is handed out unwritten
            raise FileNotFoundError(f"{os.fspath(outdir)} is not a folder: create it first")
        alert = self._next(timeout)
        if alert is None:
            return None, None, None
        alert.write_avro(os.fspath(outdir), overwrite)
        return self._triple(alert)

    def available_topics(self) -> List[str]:
        """The topics the broker has, sorted (Kafka's internal ones left out)."""
        return self._consumer.list_topics()

    def available_brokers(self) -> Dict[int, "BrokerMetadata"]:
        """The cluster's brokers by id, each with ``id``, ``host`` and ``port``
        (as confluent-kafka's ``BrokerMetadata``)."""
        return {i: BrokerMetadata(i, host, port) for i, host, port in self._consumer.list_brokers()}


class BrokerMetadata(NamedTuple):
    """A broker of the cluster: what confluent-kafka's ``BrokerMetadata`` holds."""

    id: int
    host: str
    port: int


class StreamingClient(_CommitOnNext):
    """antares-client's ``StreamingClient``, decoded in Rust.

    >>> with StreamingClient(["extragalactic_staging"], api_key="...", api_secret="...",
    ...                      group="me") as client:  # doctest: +SKIP
    ...     for topic, locus in client.iter():
    ...         print(topic, locus.object_id, locus.ra, locus.dec, locus["properties"])

    Connects to ANTARES (``kafka.antares.noirlab.edu:9092``, SASL PLAIN over
    TLS; topics are served as ``client.<topic>``). ``ssl_ca_location`` is the
    CA file antares-client ships (``antares_client/certificates/kafka-ca.pem``)
    when the system's CAs do not verify the broker. ``servers``, ``protocol``
    and ``config`` override the preset (e.g. a local broker).

    Differences from antares-client: the locus is an ``alertstream.Alert``
    (``locus.object_id`` is the locus id; ``locus["properties"]``,
    ``locus["alert_history"]``… as in the BSON document; ``to_dict()`` gives
    all of it), not an ``antares_client.models.Locus``. Offsets are committed
    when the next locus is asked for.
    """

    def __init__(self, topics: Sequence[str], api_key: str, api_secret: str, group: Optional[str] = None,
                 *, ssl_ca_location: Optional[str] = None, servers: Optional[str] = None,
                 protocol: Optional[str] = None, topic_prefix: str = ANTARES_TOPIC_PREFIX,
                 config: Optional[Dict[str, Any]] = None, **native: Any) -> None:
        self._prefix = topic_prefix
        topics = [t if t.startswith(topic_prefix) else topic_prefix + t for t in _topic_list(topics)]
        options = _antares_options(servers, protocol)
        servers = servers or options.pop("bootstrap.servers", ANTARES_SERVERS)
        protocol = protocol or options.pop("security.protocol", "SASL_SSL")
        mechanism = options.pop("sasl.mechanisms", options.pop("sasl.mechanism", "PLAIN"))
        options.update(config or {})
        self._consumer = Consumer(
            topics, group or f"{api_key}-alertstream", servers, username=api_key, password=api_secret,
            protocol=protocol, mechanism=mechanism, ssl_ca_location=ssl_ca_location, config=options, **native)

    def _pair(self, alert: Alert) -> Tuple[str, Alert]:
        topic = alert.topic or ""
        return (topic[len(self._prefix):] if topic.startswith(self._prefix) else topic), alert

    def poll(self, timeout: float = 10) -> Tuple[Optional[str], Optional[Alert]]:
        """The next ``(topic, locus)``, or ``(None, None)`` after ``timeout`` seconds."""
        alert = self._next(timeout)
        return (None, None) if alert is None else self._pair(alert)

    def iter(self, num_alerts: Optional[int] = None) -> Iterator[Tuple[str, Alert]]:
        """``(topic, locus)`` pairs as they come, without end (or ``num_alerts`` of them)."""
        seen = 0
        while num_alerts is None or seen < num_alerts:
            alert = self._next(None)
            if alert is not None:
                seen += 1
                yield self._pair(alert)


def _antares_options(servers: Optional[str], protocol: Optional[str]) -> Dict[str, str]:
    """The options ANTARES' API serves, as antares-client 2 fetches them at
    start (``ANTARES_API_BASE_URL`` points elsewhere); none when ``servers``
    names another deployment. The credentials and the settings given as
    arguments stay the caller's. A failed fetch warns and leaves ANTARES'
    known settings."""
    if servers is not None:
        return {}
    given = [] if protocol is None else ["security.protocol"]
    try:
        return dict(antares_streaming_options(given=given))
    except BrokerError as e:
        warnings.warn(f"cannot fetch ANTARES' streaming options ({e}); using the known settings",
                      RuntimeWarning, stacklevel=3)
        return {}


class Client(StreamingClient):
    """antares-client's ``Client``, as its manual shows it: ``poll`` blocks by
    default and gives ``(topic, alert)`` with the alert as a dict.

    >>> with Client(["extragalactic"], api_key="...", api_secret="...") as client:  # doctest: +SKIP
    ...     for topic, alert in client.iter():
    ...         print(topic, alert["properties"]["ztf_object_id"])

    ``servers=``, ``security_protocol=`` and ``group=`` override ANTARES'
    settings (another deployment, or a local broker); the options ANTARES'
    API serves are fetched at start, as antares-client 2 does.
    """

    def __init__(self, topics: Sequence[str], api_key: str, api_secret: str,
                 ssl_ca_location: Optional[str] = None, *, group: Optional[str] = None,
                 servers: Optional[str] = None, security_protocol: Optional[str] = None,
                 **native: Any) -> None:
        super().__init__(topics, api_key, api_secret, group, ssl_ca_location=ssl_ca_location,
                         servers=servers, protocol=security_protocol, **native)

    def poll(self, timeout: float = -1) -> Tuple[Optional[str], Optional[dict]]:  # type: ignore[override]
        """The next ``(topic, alert)``, the alert as a dict; ``(None, None)``
        after ``timeout`` seconds (negative, the default: wait for one)."""
        topic, alert = super().poll(timeout)
        return (None, None) if alert is None else (topic, alert.to_dict())

    def iter(self, num_alerts: Optional[int] = None) -> Iterator[Tuple[str, dict]]:  # type: ignore[override]
        """``(topic, alert)`` pairs as they come (``num_alerts`` of them, or without end)."""
        for topic, alert in super().iter(num_alerts):
            yield topic, alert.to_dict()


def get_thumbnails(alert_id: Union[str, int], output_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
                   *, api: Optional[str] = None) -> Dict[str, Dict[str, Any]]:
    """An ANTARES alert's thumbnails, from its API, as antares-client's
    ``get_thumbnails`` gives them: ``{type: {"file_name", "file_bytes"}}``
    for ``science``, ``template`` and ``difference`` (each entry also holds
    antares-client 1.13's keys ``alert_id``, ``type`` and ``blob``). With
    ``output_dir`` the images are written there too (created if needed)."""
    out: Dict[str, Dict[str, Any]] = {}
    for kind, file_name, mime, data in antares_thumbnails(str(alert_id), api):
        out[kind] = {"file_name": file_name, "file_bytes": data, "alert_id": str(alert_id),
                     "type": kind, "blob": data, "mime": mime}
        if output_dir is not None:
            os.makedirs(output_dir, exist_ok=True)
            with open(os.path.join(output_dir, os.path.basename(file_name)), "wb") as f:
                f.write(data)
    return out
