"""Saved alerts read by alertstream against independent readers: fastavro
(records), fink-client from PyPI (its AlertReader.to_pandas), astropy
(cutouts), pyarrow and polars (tables)."""

from __future__ import annotations

import gzip
import io
import math

import numpy
import pandas
import pytest

import alertstream
from conftest import DATA, ZTF_FILES, read_container, same

FINK_FILES = [str(DATA / "fink" / n) for n in ("avro_multi_alerts.avro", "avro_multi_alerts_other.avro",
                                               "fink-broker-sample-alert-1.avro", "ZTF19acihgng.avro")]


@pytest.mark.parametrize("path", ZTF_FILES + FINK_FILES, ids=lambda p: p.rsplit("/", 1)[-1])
def test_to_list_equals_fastavro(path):
    _, records = read_container(path)
    got = alertstream.AlertReader(path).to_list()
    assert len(got) == len(records)
    for mine, theirs in zip(got, records):
        same(mine, theirs)


def plain(value):
    """A DataFrame cell as plain Python: numpy scalars and arrays unwrapped."""
    if isinstance(value, numpy.ndarray):
        return [plain(v) for v in value]
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if value is pandas.NA:
        return None
    return value


def fill_absent(theirs, mine):
    """fink-client's dicts lack the fields a schema version does not have;
    the table holds them as None (the union of the versions' fields)."""
    if isinstance(theirs, dict) and isinstance(mine, dict):
        for k in mine:
            if k not in theirs:
                assert mine[k] is None, f"{k} is {mine[k]!r} but absent from fink-client's record"
        return {k: fill_absent(theirs.get(k), mine[k]) for k in mine}
    if isinstance(theirs, list) and isinstance(mine, list) and len(theirs) == len(mine):
        return [fill_absent(t, m) for t, m in zip(theirs, mine)]
    return theirs


def null_float(value):
    """pandas turns None into NaN in a numeric column; compare them as None."""
    return None if isinstance(value, float) and math.isnan(value) else value


@pytest.mark.parametrize("backend", ["pyarrow", "numpy"])
@pytest.mark.parametrize("path, versions", [
    (str(DATA / "fink" / "avro_multi_alerts.avro"), "one"),
    (str(DATA / "ztf"), "mixed"),
], ids=["fink-file", "ztf-folder-9-versions"])
def test_to_pandas_equals_fink_clients(path, versions, backend):
    from fink_client.avro_utils import AlertReader as FinkReader

    theirs = FinkReader(path).to_pandas()
    mine = alertstream.AlertReader(path).to_pandas(dtype_backend=backend)
    assert len(mine) == len(theirs)
    if versions == "one":
        assert list(mine.columns) == list(theirs.columns)
    else:  # column order follows the first file read; fink-client's glob order is the file system's
        assert sorted(mine.columns) == sorted(theirs.columns)
    # fink-client reads a folder in the file system's order: match rows by
    # id and version (the samples hold one alert in several versions).
    order = [(plain(c), plain(v)) for c, v in zip(mine["candid"], mine["schemavsn"])]
    theirs = theirs.set_index(["candid", "schemavsn"], drop=False).loc[order]
    for column in theirs.columns:
        for i, (t, m) in enumerate(zip(theirs[column], mine[column])):
            m, t = null_float(plain(m)), null_float(plain(t))
            if versions == "mixed":
                t = fill_absent(t, m)
            same(m, t, f"row {i} {column}")


def test_to_pandas_keeps_ids_exact_and_bytes_bytes():
    df = alertstream.AlertReader(str(DATA / "ztf")).to_pandas()
    candids = sorted(read_container(p)[1][0]["candid"] for p in ZTF_FILES)
    assert sorted(int(c) for c in df["candid"]) == candids
    assert max(candids) > 2**53
    assert type(df["cutoutScience"].iloc[0]["stampData"]) is bytes
    # The pyarrow backend's records are vectorised too.
    magpsf = df["candidate"].struct.field("magpsf")
    assert list(magpsf) == [c["magpsf"] for c in df["candidate"]]


def test_to_arrow_and_to_polars():
    import polars
    import pyarrow

    reader = alertstream.AlertReader(str(DATA / "ztf"))
    table = reader.to_arrow()
    assert isinstance(table, pyarrow.Table) and table.num_rows == len(ZTF_FILES)
    assert table.schema.field("candid").type == pyarrow.int64()
    assert table.schema.field("time_utc").type == pyarrow.timestamp("us", tz="UTC")
    assert "cutoutScience" not in reader.to_arrow(cutouts=False).column_names
    frame = reader.to_polars(cutouts=False)
    assert isinstance(frame, polars.DataFrame) and frame.height == len(ZTF_FILES)
    assert sorted(frame["candid"].to_list()) == sorted(table.column("candid").to_pylist())


def test_cutouts_equal_astropy():
    from astropy.io import fits

    (alert,) = alertstream.read_alerts(ZTF_FILES[-2])
    cutouts = alert.cutouts
    assert sorted(cutouts) == ["difference", "science", "template"]
    for kind, field in [("science", "cutoutScience"), ("template", "cutoutTemplate"),
                        ("difference", "cutoutDifference")]:
        stored = alert[field]["stampData"]
        with fits.open(io.BytesIO(gzip.decompress(stored))) as hdus:
            expected, header = hdus[0].data.astype("f8"), hdus[0].header
        cutout = cutouts[kind]
        assert cutout.fits == gzip.decompress(stored)
        assert cutout.data.shape == expected.shape == (cutout.height, cutout.width)
        numpy.testing.assert_array_equal(cutout.data, expected)
        assert cutout.header["NAXIS1"] == header["NAXIS1"] and cutout.header["BITPIX"] == header["BITPIX"]


def test_read_lightcurves_counts_match_fastavro():
    path = str(DATA / "ztf" / "ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro")
    _, (record,) = read_container(path)
    history = record["prv_candidates"] or []
    detections = 1 + sum(1 for p in history if p["magpsf"] is not None)
    limits = sum(1 for p in history if p["magpsf"] is None and p["diffmaglim"] is not None)
    curve = alertstream.read_lightcurves(path)
    assert isinstance(curve, pandas.DataFrame)
    counts = curve["kind"].value_counts().to_dict()
    assert counts.get("detection", 0) == detections
    assert counts.get("upper_limit", 0) == limits
    assert set(curve["band"].dropna()) <= {"g", "r", "i"}
    mine = curve[curve["measurement_id"] == record["candid"]]
    assert list(mine["mag"]) == [pytest.approx(record["candidate"]["magpsf"])]
    assert alertstream.read_lightcurves(path, to="arrow").num_rows == len(curve)
    assert alertstream.read_lightcurves(path, to="polars").height == len(curve)
    (alert,) = alertstream.read_alerts(path)
    assert len(alert.lightcurve()) == len(curve)


def test_unreadable_input_raises_or_is_skipped_with_a_warning(tmp_path):
    good = tmp_path / "good.avro"
    good.write_bytes(open(ZTF_FILES[0], "rb").read())
    (tmp_path / "broken.avro").write_bytes(b"Obj\x01 truncated")
    with pytest.raises(alertstream.DecodeError, match="broken.avro"):
        alertstream.AlertReader(tmp_path).to_list()
    with pytest.warns(UserWarning, match="broken.avro"):
        kept = alertstream.AlertReader(tmp_path).to_list(skip_errors=True)
    assert [r["candid"] for r in kept] == [read_container(good)[1][0]["candid"]]
    with pytest.raises(alertstream.DecodeError, match="nowhere"):
        alertstream.AlertReader(tmp_path / "nowhere").to_arrow()
    with pytest.raises(ValueError, match="dtype_backend"):
        alertstream.AlertReader(good).to_pandas(dtype_backend="cudf")


# Errors speak keyword arguments: the library names the setting, Python
# names the keyword (the command line names the flag, tested in Rust).

def test_a_missing_schema_names_the_schema_keywords(tmp_path):
    wire = str(DATA / "rubin" / "wire_format" / "lsst.v9_0.confluent_wire.avro")
    with pytest.raises(alertstream.DecodeError) as caught:
        alertstream.AlertReader(wire).to_list()
    message = str(caught.value)
    assert "schema id 900 not found" in message
    assert "schema_dir=PATH, or schema_registry=URL" in message
    assert "--" not in message
    records = alertstream.AlertReader(wire, schema_dir=str(DATA / "rubin" / "schema")).to_list()
    assert len(records) == 1


def test_a_limit_names_its_keyword_and_can_be_raised(tmp_path):
    payload = b'{"objectId": "ZTF99layers", "candid": 1}'
    for _ in range(3):
        payload = gzip.compress(payload)
    path = tmp_path / "three.json.gz"
    path.write_bytes(payload)
    with pytest.raises(alertstream.DecodeError) as caught:
        alertstream.AlertReader(str(path)).to_list()
    message = str(caught.value)
    assert "max_gzip_layers limit of 2 layers" in message
    assert 'limits={"max_gzip_layers": N}' in message and "--" not in message
    records = alertstream.AlertReader(str(path), limits={"max_gzip_layers": 3}).to_list()
    assert records == [{"objectId": "ZTF99layers", "candid": 1}]
    with pytest.raises(ValueError, match='unknown limit "max_layers"'):
        alertstream.AlertReader(str(path), limits={"max_layers": 3})


def test_a_word_setting_names_its_keyword_and_the_words():
    with pytest.raises(ValueError) as caught:
        alertstream.AlertReader(str(DATA / "ztf"), format="avro")
    assert str(caught.value) == (
        "format: unknown format 'avro': expected ztf, fink, confluent, antares, json, text")


def test_alerts_render_in_a_notebook():
    # Jupyter calls _repr_html_ (and _repr_png_): the key fields and the picture.
    import base64

    path = DATA / "ztf" / "ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro"
    alert = alertstream.read_alerts(str(path))[0]
    png = alert._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    page = alert._repr_html_()
    assert "ZTF17aaajnnn" in page and "472263571115115000" in page
    assert alert.brightness is not None and alert.brightness.endswith(" mag")
    assert alert.brightness in page
    embedded = page.split("data:image/png;base64,")[1].split('"')[0]
    assert base64.b64decode(embedded).startswith(b"\x89PNG")

    reader = alertstream.AlertReader(str(DATA / "ztf"))
    table = reader._repr_html_(limit=3)
    count = len(reader.alerts())
    assert f"<p>{count} alerts; the first 3 shown</p>" in table
    assert table.count("<tr>") == 1 + 3 and table.count("data:image/png;base64,") == 3
