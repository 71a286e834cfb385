"""Type stubs of alertstream's extension module (the Rust core)."""

import datetime
import os
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy
import pyarrow

__version__: str

_Path = Union[str, "os.PathLike[str]"]
_Paths = Union[_Path, Sequence[_Path]]

class AlertstreamError(Exception):
    """Base class of every error alertstream raises."""

class BrokerError(AlertstreamError):
    """The broker cannot be reached, lacks a topic, or refused a request."""

class AuthenticationError(BrokerError):
    """The broker refused the credentials, or the TLS handshake failed."""

class DecodeError(AlertstreamError):
    """Bytes that are not an alert of a known format."""

class PoisonMessageError(DecodeError):
    """A consumed message that cannot be decoded; the next poll goes on."""

    topic: str
    partition: int
    offset: int
    key: Optional[bytes]
    payload: bytes
    reason: str

class TableError(AlertstreamError):
    """Alerts that cannot make one table."""

class Cutout:
    """One image stamp of an alert, decoded from its FITS bytes."""

    @property
    def kind(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def bitpix(self) -> int: ...
    @property
    def fits(self) -> bytes: ...
    @property
    def header(self) -> Dict[str, Union[int, float, bool, str, None]]: ...
    @property
    def data(self) -> numpy.ndarray: ...

class Alert:
    """One decoded alert, read lazily."""

    def __getitem__(self, name: str) -> Any: ...
    def __contains__(self, name: str) -> bool: ...
    def get(self, name: str, default: Any = None) -> Any: ...
    def keys(self) -> List[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def to_json(self) -> str: ...
    def lightcurve(self) -> List[Dict[str, Any]]: ...
    def write_avro(self, outdir: _Path, overwrite: bool = False) -> str: ...
    @property
    def brightness(self) -> Optional[str]: ...
    def _repr_png_(self) -> bytes: ...
    def _repr_html_(self) -> str: ...
    @property
    def matches(self) -> List[str]: ...
    @property
    def probdensity(self) -> Optional[float]: ...
    @property
    def survey(self) -> str: ...
    @property
    def format(self) -> str: ...
    @property
    def object_id(self) -> Union[int, str, None]: ...
    @property
    def alert_id(self) -> Union[int, str, None]: ...
    @property
    def time(self) -> Optional[datetime.datetime]: ...
    @property
    def mjd(self) -> Optional[float]: ...
    @property
    def ra(self) -> Optional[float]: ...
    @property
    def dec(self) -> Optional[float]: ...
    @property
    def band(self) -> Optional[str]: ...
    @property
    def cutouts(self) -> Dict[str, Cutout]: ...
    @property
    def topic(self) -> Optional[str]: ...
    @property
    def partition(self) -> Optional[int]: ...
    @property
    def offset(self) -> Optional[int]: ...
    @property
    def key(self) -> Optional[bytes]: ...
    @property
    def timestamp_ms(self) -> Optional[int]: ...
    @property
    def raw(self) -> bytes: ...

class Consumer:
    """Consumes and decodes alerts from Kafka topics, in a consumer group."""

    def __init__(
        self,
        topics: Union[str, Sequence[str]],
        group: str,
        servers: str = "127.0.0.1:9092",
        *,
        username: Optional[str] = None,
        password: Optional[str] = None,
        protocol: Optional[str] = None,
        mechanism: Optional[str] = None,
        ssl_ca_location: Optional[_Path] = None,
        config: Optional[Mapping[str, Any]] = None,
        start: str = "earliest",
        format: Optional[str] = None,
        schema: Optional[_Path] = None,
        schema_dir: Optional[_Path] = None,
        schema_registry: Optional[str] = None,
        limits: Optional[Mapping[str, int]] = None,
        connect_timeout: float = 30.0,
        session_timeout_ms: int = 10000,
        fetch_wait_max_ms: Optional[int] = None,
        instance_id: Optional[str] = None,
        token_url: Optional[str] = None,
        where: Optional[str] = None,
        cone: Union[str, Sequence[Any], None] = None,
        moc: Optional[_Paths] = None,
        skymap: Optional[_Path] = None,
        credible: float = 0.9,
        watchlist: Optional[_Path] = None,
        match_radius: Union[float, str, None] = None,
        dedupe: bool = False,
        once_per_object: Optional[str] = None,
        state: Optional[str] = None,
    ) -> None: ...
    def poll(self, timeout: Optional[float] = None) -> Optional[Alert]: ...
    def consume(self, num_alerts: int = 1, timeout: Optional[float] = None) -> List[Alert]: ...
    def __iter__(self) -> Iterator[Alert]: ...
    def __next__(self) -> Alert: ...
    def commit(self) -> None: ...
    def list_topics(self) -> List[str]: ...
    def list_brokers(self) -> List[Tuple[int, str, int]]: ...
    def close(self, timeout: float = 10.0) -> bool: ...
    def __enter__(self) -> "Consumer": ...
    def __exit__(self, *exc: Any) -> bool: ...
    def save(
        self,
        dir: _Path,
        *,
        format: str = "avro",
        layout: str = "fink",
        max_alerts: Optional[int] = None,
        idle: Optional[float] = None,
        roll: int = 100000,
        roll_seconds: float = 300.0,
        partition_by: Sequence[str] = (),
        cutouts: bool = True,
    ) -> Dict[str, Union[int, float]]: ...
    @property
    def lag(self) -> Optional[int]: ...
    @property
    def servers(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def topics(self) -> List[str]: ...
    @property
    def closed(self) -> bool: ...

class AlertReader:
    """Saved alerts, read with their writer schemas."""

    def __init__(
        self,
        path: _Paths,
        *,
        format: Optional[str] = None,
        schema: Optional[_Path] = None,
        schema_dir: Optional[_Path] = None,
        limits: Optional[Mapping[str, int]] = None,
        where: Optional[str] = None,
        cone: Union[str, Sequence[Any], None] = None,
        moc: Optional[_Paths] = None,
        skymap: Optional[_Path] = None,
        credible: float = 0.9,
        watchlist: Optional[_Path] = None,
        match_radius: Union[float, str, None] = None,
    ) -> None: ...
    @property
    def filenames(self) -> List[str]: ...
    def to_arrow(self, *, cutouts: bool = True, skip_errors: bool = False) -> pyarrow.Table: ...
    def lightcurves(self, *, skip_errors: bool = False) -> pyarrow.Table: ...
    def to_list(self, size: Optional[int] = None, *, skip_errors: bool = False) -> List[Dict[str, Any]]: ...
    def alerts(self, *, skip_errors: bool = False) -> List[Alert]: ...

def read_alerts(
    path: _Paths,
    *,
    format: Optional[str] = None,
    schema: Optional[_Path] = None,
    schema_dir: Optional[_Path] = None,
    limits: Optional[Mapping[str, int]] = None,
    skip_errors: bool = False,
) -> List[Alert]: ...

def antares_streaming_options(api: Optional[str] = None, given: Sequence[str] = ()) -> List[Tuple[str, str]]: ...
def antares_thumbnails(alert_id: str, api: Optional[str] = None) -> List[Tuple[str, str, Optional[str], bytes]]: ...
