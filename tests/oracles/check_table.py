#!/usr/bin/env python3
"""Checks a table that `alertstream table` wrote against independent readers.

    check_table.py alerts TABLE SOURCE...      one row per alert
    check_table.py lightcurve TABLE SOURCE...  one row per measurement
    check_table.py dataset DIR EXPECTED_ROWS   a Hive-partitioned folder

TABLE is read with pyarrow (and opened with polars and pandas); the
SOURCE files are read with fastavro (Avro containers, Confluent-framed
Rubin datums with the schema files) or pymongo's bson (ANTARES). Exits
non-zero with the first difference found.
"""
import io
import json
import math
import pathlib
import struct
import sys
import zlib

import bson
import fastavro
import fastavro.schema
import pandas
import polars
import pyarrow.dataset
import pyarrow.parquet

# Raw Avro values, as alertstream keeps them, but for timestamps: those are
# Arrow timestamps (UTC), read back as the datetimes fastavro gives.
for logical in list(fastavro.read.LOGICAL_READERS):
    if not logical.startswith("long-timestamp"):
        del fastavro.read.LOGICAL_READERS[logical]

ROOT = pathlib.Path(__file__).resolve().parents[2]
CUTOUTS = ("cutoutScience", "cutoutTemplate", "cutoutDifference")


def rubin_schema(schema_id):
    major, minor = divmod(schema_id, 100)
    path = ROOT / "tests/data/rubin/schema" / f"v{major}_{minor}" / f"lsst.v{major}_{minor}.alert.avsc"
    return fastavro.schema.load_schema(str(path))


def read_source(path):
    raw = pathlib.Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        import gzip

        raw = gzip.decompress(raw)
    if raw[:4] == b"Obj\x01":
        return list(fastavro.reader(io.BytesIO(raw)))
    if raw[:1] == b"\x00":
        _, schema_id = struct.unpack(">bI", raw[:5])
        return [fastavro.schemaless_reader(io.BytesIO(raw[5:]), rubin_schema(schema_id))]
    if raw[:1] == b"{":
        return [json.loads(raw)]
    return [bson.decode(zlib.decompress(raw))]


def read_sources(paths):
    records = []
    for p in paths:
        records.extend(read_source(p))
    return records


def same(ours, theirs, where):
    if isinstance(theirs, dict):
        if isinstance(ours, str):  # a document value kept as JSON text
            ours = json.loads(ours)
        if isinstance(ours, list):  # an Avro map: key/value pairs
            ours = dict(ours)
        assert isinstance(ours, dict), f"{where}: {ours!r} is not a record"
        for k, v in theirs.items():
            same(ours.get(k), v, f"{where}.{k}")
        for k in set(ours) - set(theirs):
            assert ours[k] is None, f"{where}.{k}: {ours[k]!r} where the source has no such field"
    elif isinstance(theirs, list):
        if isinstance(ours, str):
            ours = json.loads(ours)
        assert isinstance(ours, list), f"{where}: {ours!r} is not a list"
        assert len(ours) == len(theirs), f"{where}: {len(ours)} items, source has {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            same(a, b, f"{where}[{i}]")
    elif isinstance(theirs, float) and math.isnan(theirs):
        assert isinstance(ours, float) and math.isnan(ours), f"{where}: {ours!r}, source NaN"
    elif isinstance(theirs, bool) or theirs is None:
        assert ours is theirs or ours == theirs, f"{where}: {ours!r}, source {theirs!r}"
    elif isinstance(theirs, (int, float, bytes, str)):
        if isinstance(ours, str) and not isinstance(theirs, str):
            ours = json.loads(ours)
        kind = int if isinstance(theirs, int) else type(theirs)
        assert isinstance(ours, kind) or isinstance(theirs, float), f"{where}: {ours!r} ({type(ours).__name__}), source {theirs!r} ({type(theirs).__name__})"
        assert ours == theirs, f"{where}: {ours!r}, source {theirs!r}"
    else:
        assert ours == theirs, f"{where}: {ours!r}, source {theirs!r}"


def open_with_everyone(table_path, rows):
    assert len(polars.read_parquet(table_path)) == rows, "polars sees another row count"
    assert len(pandas.read_parquet(table_path)) == rows, "pandas sees another row count"


def check_alerts(table_path, sources):
    table = pyarrow.parquet.read_table(table_path)
    records = read_sources(sources)
    assert table.num_rows == len(records), f"{table.num_rows} rows, sources hold {len(records)} alerts"
    assert "time_utc" in table.column_names, "no time_utc column"
    keep_cutouts = any(c in table.column_names for c in CUTOUTS)
    for i, (row, rec) in enumerate(zip(table.to_pylist(), records)):
        rec = {k: v for k, v in rec.items() if keep_cutouts or k not in CUTOUTS}
        row.pop("time_utc")
        same(row, rec, f"row {i}")
    open_with_everyone(table_path, len(records))
    print(f"{len(records)} alerts equal to the sources' records")


# --- light curves, computed from the records alone -----------------------

BANDS = {1: "g", 2: "r", 3: "i"}


def ztf_rows(rec):
    rows = []
    for source, items in (("candidate", [rec["candidate"]]), ("prv_candidates", rec.get("prv_candidates") or [])):
        for c in items:
            detection = c.get("magpsf") is not None
            rows.append({
                "kind": "detection" if detection else "upper_limit",
                "source": source,
                "band": BANDS.get(c.get("fid")),
                "time": c["jd"],
                "mag": c.get("magpsf"),
                "upper_limit": None if detection else c.get("diffmaglim"),
                "flux_njy": None,
            })
    for f in rec.get("fp_hists") or []:
        flux = f.get("forcediffimflux")
        if flux is None or flux == -99999.0:
            continue
        zp = f.get("magzpsci")
        rows.append({
            "kind": "forced",
            "source": "fp_hists",
            "band": BANDS.get(f.get("fid")),
            "time": f["jd"],
            "mag": zp - 2.5 * math.log10(flux) if zp is not None and flux > 0 else None,
            "upper_limit": None,
            "flux_njy": flux * 10 ** ((31.4 - zp) / 2.5) if zp is not None else None,
        })
    return rec["objectId"], rows


def rubin_rows(rec):
    rows = []
    parts = (
        ("diaSource", [rec["diaSource"]], "detection"),
        ("prvDiaSources", rec.get("prvDiaSources") or [], "detection"),
        ("prvDiaForcedSources", rec.get("prvDiaForcedSources") or [], "forced"),
    )
    for source, items, kind in parts:
        for s in items:
            rows.append({
                "kind": kind,
                "source": source,
                "band": s.get("band") or s.get("filterName"),
                "time": s.get("midpointMjdTai"),
                "mag": None,
                "upper_limit": None,
                "flux_njy": s.get("psfFlux"),
            })
    src = rec["diaSource"]
    obj = src.get("diaObjectId") or src.get("ssObjectId") or (rec.get("diaObject") or {}).get("diaObjectId")
    return str(obj), rows


def expected_lightcurve(records):
    seen, out = set(), []
    for rec in records:
        obj, rows = ztf_rows(rec) if "candidate" in rec else rubin_rows(rec)
        for r in rows:
            key = (obj, r["kind"], r["band"], r["time"])
            if key in seen:
                continue
            seen.add(key)
            out.append(dict(r, object_id=obj))
    return out


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def check_lightcurve(table_path, sources):
    rows = pyarrow.parquet.read_table(table_path).to_pylist()
    want = expected_lightcurve(read_sources(sources))
    assert len(rows) == len(want), f"{len(rows)} measurements, expected {len(want)}"
    count = lambda rs: sorted({(r["band"], r["kind"], r["source"]): 0 for r in rs}.keys())
    assert count(rows) == count(want), f"bands/kinds {count(rows)} vs {count(want)}"
    for i, (ours, theirs) in enumerate(zip(rows, want)):
        for k in ("object_id", "kind", "source", "band"):
            assert ours[k] == theirs[k], f"row {i} {k}: {ours[k]!r}, expected {theirs[k]!r}"
        for k in ("time", "mag", "upper_limit", "flux_njy"):
            assert close(ours[k], theirs[k]), f"row {i} {k}: {ours[k]!r}, expected {theirs[k]!r}"
    open_with_everyone(table_path, len(rows))
    per_band = {}
    for r in rows:
        per_band[r["band"]] = per_band.get(r["band"], 0) + 1
    print(f"{len(rows)} measurements as computed from the records; per band {per_band}")


def check_dataset(folder, expected_rows):
    """A folder of Parquet files, Hive-partitioned: every reader sees every
    row once, and the partition columns come back. Files of different
    schema versions have different columns: their union is the schema."""
    files = sorted(pathlib.Path(folder).rglob("*.parquet"))
    schema = pyarrow.unify_schemas(
        [pyarrow.parquet.read_schema(f) for f in files], promote_options="permissive"
    )
    ds = pyarrow.dataset.dataset(folder, format="parquet", partitioning="hive", schema=schema)
    table = ds.to_table()
    assert table.num_rows == expected_rows, f"pyarrow: {table.num_rows} rows, expected {expected_rows}"
    keys = list(zip(table["kafka_partition"].to_pylist(), table["kafka_offset"].to_pylist()))
    assert len(set(keys)) == len(keys), f"{len(keys) - len(set(keys))} rows twice"
    pl = (
        polars.scan_parquet(f"{folder}/**/*.parquet", extra_columns="ignore", missing_columns="insert")
        .select("kafka_partition", "kafka_offset")
        .collect()
    )
    assert len(pl) == expected_rows, f"polars: {len(pl)} rows"
    print(json.dumps({"rows": table.num_rows, "files": len(files), "columns": table.column_names[-6:]}))


def main():
    mode, target, *rest = sys.argv[1:]
    if mode == "alerts":
        check_alerts(target, rest)
    elif mode == "lightcurve":
        check_lightcurve(target, rest)
    elif mode == "dataset":
        check_dataset(target, int(rest[0]))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
