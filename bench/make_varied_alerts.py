#!/usr/bin/env python3
"""Writes N distinct ZTF alert files for the table benchmark: the bundled
v3.3 alert, each copy with its own ids, every float of the candidate and of
the history jittered, and random cutout bytes of the shipped sizes, so that
columns compress as real ones do (identical copies compress to nothing).

Usage: make_varied_alerts.py N OUT_DIR   (needs fastavro)
"""
import os
import pathlib
import random
import sys

import fastavro

n, out = int(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
source = pathlib.Path(__file__).resolve().parent.parent / "tests/data/ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro"
with open(source, "rb") as f:
    reader = fastavro.reader(f)
    schema, template = reader.writer_schema, next(reader)
rng = random.Random(42)


def jitter(record):
    if record is None:
        return None
    return {k: v * (1 + rng.uniform(-1e-3, 1e-3)) if isinstance(v, float) else v for k, v in record.items()}


for i in range(n):
    alert = dict(template)
    alert["candid"] = 2_000_000_000_000_000_000 + i
    alert["objectId"] = f"ZTF26{i:07d}"
    alert["candidate"] = dict(jitter(template["candidate"]), candid=alert["candid"])
    alert["prv_candidates"] = [jitter(p) for p in template["prv_candidates"] or []]
    for name in ("cutoutScience", "cutoutTemplate", "cutoutDifference"):
        stamp = template[name]["stampData"]
        alert[name] = dict(template[name], stampData=stamp[:2] + os.urandom(len(stamp) - 2))
    with open(out / f"{i:06d}.avro", "wb") as f:
        fastavro.writer(f, schema, [alert], codec="null")
print(n)
