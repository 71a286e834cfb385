#!/usr/bin/env python3
"""Writes N distinct ZTF alerts for the streaming benchmark: the bundled ZTF
alerts cycled, each copy with its own candid, as one multi-record Avro
container per source alert (each keeps its own writer schema).

Usage: python make_distinct_alerts.py N OUT_DIR   (needs fastavro)
"""
import math
import pathlib
import sys

import fastavro

n, out = int(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
sources = sorted((pathlib.Path(__file__).resolve().parent.parent / "tests/data/ztf").glob("*.avro"))
per_source = math.ceil(n / len(sources))
for s, path in enumerate(sources):
    with open(path, "rb") as f:
        reader = fastavro.reader(f)
        schema, record = reader.writer_schema, next(reader)
    def copies():
        for i in range(per_source):
            record["candid"] = 4_000_000_000_000_000_000 + s * per_source + i
            yield record
    with open(out / f"distinct-{s:02d}.avro", "wb") as f:
        fastavro.writer(f, schema, copies(), codec="null")
print(per_source * len(sources))
