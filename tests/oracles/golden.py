#!/usr/bin/env python3
"""Golden values for the test data, read with independent decoders.

fastavro (Avro containers, schemaless datums with the schema files) and
pymongo's bson (ANTARES) read every sample under tests/data; this script
writes what they saw to tests/data/golden/*.json. It also builds the
zlib-compressed BSON samples of ANTARES from the JSON alerts, the way the
ANTARES broker sends them. Run once, commit the output:

    python3 -m venv /tmp/golden-venv
    /tmp/golden-venv/bin/pip install fastavro cramjam pymongo
    /tmp/golden-venv/bin/python tests/oracles/golden.py
"""
import gzip
import hashlib
import io
import json
import math
import pathlib
import struct
import zlib

import bson
import fastavro
import fastavro.schema

# Compare raw Avro values (timestamps as the longs on the wire), as alertstream keeps them.
fastavro.read.LOGICAL_READERS.clear()

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
GOLDEN = DATA / "golden"

# Records to keep in full for multi-record files: first, middle and last.
def sample_indices(n):
    return sorted({0, n // 2, n - 1}) if n else []


def scalar(v):
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, (bytes, bytearray)):
        return {"bytes_len": len(v), "sha256": hashlib.sha256(v).hexdigest()}
    return v


def scalars(record):
    """The record's fields that are not nested (records, arrays, maps)."""
    if not isinstance(record, dict):
        return {}
    return {k: scalar(v) for k, v in record.items() if not isinstance(v, (dict, list))}


def cutout_facts(raw):
    facts = {"len": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    fits = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    facts["fits_len"] = len(fits)
    facts["fits_sha256"] = hashlib.sha256(fits).hexdigest()
    facts["fits_starts_with_simple"] = fits.startswith(b"SIMPLE")
    return facts


def record_facts(rec):
    main = rec.get("candidate") or rec.get("diaSource") or rec.get("new_alert") or {}
    history = rec.get("prv_candidates") or rec.get("prvDiaSources") or rec.get("alert_history") or []
    cutouts = {}
    for name in ("cutoutScience", "cutoutTemplate", "cutoutDifference"):
        c = rec.get(name)
        raw = c.get("stampData") if isinstance(c, dict) else c
        if raw:
            cutouts[name] = cutout_facts(raw)
    return {
        "fields": list(rec.keys()),
        "top": scalars(rec),
        "main": scalars(main),
        "main_properties": scalars(main.get("properties")) if isinstance(main, dict) else {},
        "history_len": len(history),
        "history_last": scalars(history[-1]) if history else None,
        "cutouts": cutouts,
    }


def ids_of(rec):
    main = rec.get("candidate") or rec.get("diaSource") or {}
    return {
        "objectId": rec.get("objectId"),
        "candid": rec.get("candid") or main.get("candid"),
        "diaSourceId": rec.get("diaSourceId") or rec.get("alertId"),
    }


def golden_for(records, fmt, extra=None):
    g = {
        "format": fmt,
        "count": len(records),
        "ids": [ids_of(r) for r in records],
        "samples": {str(i): record_facts(records[i]) for i in sample_indices(len(records))},
    }
    g.update(extra or {})
    return g


def read_container(path):
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    reader = fastavro.reader(io.BytesIO(raw))
    return list(reader), reader.codec


def rubin_schema(schema_id):
    major, minor = divmod(schema_id, 100)
    path = DATA / "rubin" / "schema" / f"v{major}_{minor}" / f"lsst.v{major}_{minor}.alert.avsc"
    return fastavro.schema.load_schema(str(path))


def read_confluent(path):
    raw = path.read_bytes()
    magic, schema_id = struct.unpack(">bI", raw[:5])
    assert magic == 0
    body = io.BytesIO(raw[5:])
    rec = fastavro.schemaless_reader(body, rubin_schema(schema_id))
    assert body.tell() == len(raw) - 5, "leftover bytes"
    return [rec], schema_id


def build_antares_bson():
    """zlib(BSON) versions of the ANTARES JSON alerts, as the broker sends them."""
    made = []
    for src in sorted((DATA / "antares").glob("*.json")):
        doc = json.loads(src.read_text())
        out = src.with_suffix(".bson.zlib")
        out.write_bytes(zlib.compress(bson.encode(doc)))
        made.append(out)
    return made


def build_deflate_sample():
    """A deflate-compressed, one-block-per-record container (ZTF ships null,
    Spark snappy; deflate is the codec the Avro spec requires readers to know)."""
    src = DATA / "fink" / "avro_multi_alerts_other.avro"
    with open(src, "rb") as f:
        reader = fastavro.reader(f)
        schema, records = reader.writer_schema, list(reader)
    out = DATA / "generated" / "ztf_multi_deflate.avro"
    out.parent.mkdir(exist_ok=True)
    with open(out, "wb") as f:
        fastavro.writer(f, schema, records, codec="deflate", sync_interval=1)


def main():
    GOLDEN.mkdir(exist_ok=True)
    written = 0
    build_antares_bson()
    build_deflate_sample()
    for path in sorted(DATA.rglob("*")):
        if path.is_dir() or "golden" in path.parts or path.suffix in (".avsc", ".md", ".py"):
            continue
        rel = path.relative_to(DATA)
        name = path.name
        if name.endswith(".confluent_wire.avro"):
            records, schema_id = read_confluent(path)
            g = golden_for(records, "confluent", {"schema_id": schema_id})
        elif name.endswith(".avro") or name.endswith(".avro.gz"):
            records, codec = read_container(path)
            g = golden_for(records, "ztf", {"codec": codec})
        elif name.endswith(".bson.zlib"):
            records = [bson.decode(zlib.decompress(path.read_bytes()))]
            g = golden_for(records, "antares")
        elif name.endswith(".json"):
            records = [json.loads(path.read_text())]
            g = golden_for(records, "json")
        else:
            continue
        target = GOLDEN / (str(rel).replace("/", "__") + ".json")
        target.write_text(json.dumps(g, indent=1, sort_keys=True, allow_nan=False) + "\n")
        written += 1
    print(f"wrote {written} golden files to {GOLDEN}")


if __name__ == "__main__":
    main()
