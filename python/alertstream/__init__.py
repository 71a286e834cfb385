"""alertstream: receive, look at and keep the alerts of astronomical alert
brokers (ZTF, Fink, Rubin/LSST, ANTARES) from Python, over a Rust core.

The native API:

>>> import alertstream
>>> with alertstream.Consumer(["ztf_public"], group="me", servers="localhost:9092") as consumer:  # doctest: +SKIP
...     for alert in consumer:
...         print(alert.object_id, alert["candidate"]["magpsf"])
...         consumer.commit()  # processed: not delivered again

Saved alerts as a table:

>>> df = alertstream.AlertReader("alertDB/").to_pandas()  # doctest: +SKIP

And the shapes the seeds' users know: ``AlertConsumer`` (fink-client),
``Client``, ``StreamingClient`` and ``get_thumbnails`` (antares-client).
"""

from __future__ import annotations

import os
from typing import Any, Iterator, Sequence, Union

from . import _native
from ._native import (
    Alert,
    AlertstreamError,
    AuthenticationError,
    BrokerError,
    Consumer,
    Cutout,
    DecodeError,
    PoisonMessageError,
    TableError,
    read_alerts,
)

__version__ = _native.__version__

__all__ = [
    "Alert",
    "AlertConsumer",
    "AlertReader",
    "AlertstreamError",
    "AuthenticationError",
    "BrokerError",
    "BrokerMetadata",
    "Client",
    "Consumer",
    "Cutout",
    "DecodeError",
    "PoisonMessageError",
    "StreamingClient",
    "TableError",
    "get_thumbnails",
    "read_alerts",
    "read_lightcurves",
]

PathArg = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]

_CUTOUT_FIELDS = ("cutoutScience", "cutoutTemplate", "cutoutDifference")

#: Columns the library adds to a table that fink-client's reader has not.
_ADDED_COLUMNS = ("time_utc",)


class AlertReader(_native.AlertReader):
    """Saved alerts as a table, a list of dicts or ``Alert`` objects.

    fink-client's ``AlertReader`` with the same methods and results, decoded
    in Rust on every core. ``path`` is a file, a folder (read recursively) or
    a list of them, in any format alertstream reads (ZTF and Fink Avro,
    Rubin, ANTARES BSON); mixed schema versions make one table.

    >>> r = AlertReader("alertDB/")                      # doctest: +SKIP
    >>> df = r.to_pandas()                               # doctest: +SKIP
    >>> df["candidate"].str["magpsf"]                    # doctest: +SKIP
    """

    def to_pandas(self, *, cutouts: bool = True, dtype_backend: str = "pyarrow", skip_errors: bool = False):
        """The alerts as a ``pandas.DataFrame``, one row per alert, with the
        columns and values of fink-client's ``to_pandas()``: one column per
        top-level field; a cell holds what fastavro gives (a record as a dict,
        an array as a list of dicts, bytes as bytes, ids as exact ints).

        ``dtype_backend="pyarrow"`` (default, pandas >= 2): the columns are
        the Arrow arrays, not copied; a cell becomes a Python object when it
        is read, and records offer vectorised access
        (``df["candidate"].struct.field("magpsf")``). The columns are the
        union of the schema versions read: a field a version lacks is None.

        ``"numpy"``: fink-client's DataFrame exactly: object columns of the
        dicts fastavro gives, built from ``to_list()`` (slower: every value is
        made a Python object up front). ``cutouts=False`` leaves the image
        stamps out."""
        if dtype_backend not in ("pyarrow", "numpy"):
            raise ValueError(f"dtype_backend must be 'pyarrow' or 'numpy', not {dtype_backend!r}")
        import pandas

        table = self.to_arrow(cutouts=cutouts, skip_errors=skip_errors)
        table = table.drop_columns([c for c in _ADDED_COLUMNS if c in table.column_names])
        if dtype_backend == "pyarrow":
            return table.to_pandas(types_mapper=pandas.ArrowDtype)
        return pandas.DataFrame(self._records(cutouts, skip_errors))

    def _records(self, cutouts: bool, skip_errors: bool) -> list:
        records = self.to_list(skip_errors=skip_errors)
        if not cutouts:
            for record in records:
                for name in _CUTOUT_FIELDS:
                    record.pop(name, None)
        return records

    def to_polars(self, *, cutouts: bool = True, skip_errors: bool = False):
        """The alerts as a ``polars.DataFrame`` (records as structs, arrays
        as lists, plus ``time_utc``)."""
        import polars

        return polars.from_arrow(self.to_arrow(cutouts=cutouts, skip_errors=skip_errors))

    def _repr_html_(self, limit: int = 10) -> str:
        """In Jupyter: the first alerts as a table with their pictures as
        thumbnails (object, alert, time, band, brightness)."""
        import base64
        import html

        alerts = self.alerts(skip_errors=True)
        rows = []
        for alert in alerts[:limit]:
            picture = base64.b64encode(alert._repr_png_()).decode()
            cells = [alert.object_id, alert.alert_id, alert.time, alert.band, alert.brightness]
            rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
                        + f'<td><img width="240" src="data:image/png;base64,{picture}"/></td></tr>')
        head = "".join(f"<th>{h}</th>" for h in ("object", "alert", "time", "band", "brightness", "picture"))
        more = f"<p>{len(alerts)} alerts; the first {limit} shown</p>" if len(alerts) > limit else \
            f"<p>{len(alerts)} alerts</p>"
        return f"<div>{more}<table><tr>{head}</tr>{''.join(rows)}</table></div>"

    def to_iterator(self, *, skip_errors: bool = False) -> Iterator[dict]:
        """The alerts as dicts, one after the other (fink-client's ``to_iterator``)."""
        return iter(self.to_list(skip_errors=skip_errors))


def read_lightcurves(path: PathArg, *, to: str = "pandas", skip_errors: bool = False, **reader: Any):
    """The light curves of saved alerts: one row per measurement
    (detections, upper limits, forced photometry), each measurement of an
    object once, whatever the survey.

    Columns: ``object_id``, ``alert_id``, ``survey``, ``source``, ``kind``
    (detection / upper_limit / forced), ``measurement_id``, ``time``,
    ``time_scale``, ``time_utc``, ``band`` (g, r, i...), ``mag``, ``mag_err``,
    ``flux_njy``, ``flux_err_njy``, ``upper_limit``, ``ra``, ``dec``.

    ``to``: "pandas" (default), "arrow" or "polars". Further keywords go to
    ``AlertReader`` (``format``, ``schema``, ``schema_dir``).
    """
    if to not in ("pandas", "arrow", "polars"):
        raise ValueError(f"to must be 'pandas', 'arrow' or 'polars', not {to!r}")
    table = AlertReader(path, **reader).lightcurves(skip_errors=skip_errors)
    if to == "arrow":
        return table
    if to == "polars":
        import polars

        return polars.from_arrow(table)
    return table.to_pandas()


from ._compat import AlertConsumer, BrokerMetadata, Client, StreamingClient, get_thumbnails  # noqa: E402
