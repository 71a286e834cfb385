#!/usr/bin/env python3
"""fastavro side of the decode benchmark (see bench/bench-decode.sh).

Reads the messages the Rust benchmark wrote (u32 key length, key, u32 value
length, value; little-endian) and decodes them as a Python consumer would:
ZTF with fastavro.reader per message (the schema travels in every message),
Fink with schemaless_reader and the key's schema parsed once per distinct key,
Rubin with schemaless_reader and the schema parsed once per schema id.
Prints one JSON line per measurement, in the Rust benchmark's format.
"""
import base64
import io
import json
import pathlib
import struct
import sys
import time

import fastavro
import fastavro.schema

REPO = pathlib.Path(__file__).resolve().parent.parent


def read_messages(path):
    data = path.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        (klen,) = struct.unpack_from("<I", data, pos)
        key = data[pos + 4 : pos + 4 + klen]
        pos += 4 + klen
        (vlen,) = struct.unpack_from("<I", data, pos)
        out.append((key, data[pos + 4 : pos + 4 + vlen]))
        pos += 4 + vlen
    return out


def json_default(value):
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value.isoformat()  # timestamp logical types arrive as datetime


def to_json(record):
    return json.dumps(record, default=json_default)


def ztf_decoder():
    def decode(key, value):
        return list(fastavro.reader(io.BytesIO(value)))
    return decode


def fink_decoder():
    parsed = {}

    def decode(key, value):
        schema = parsed.get(key)
        if schema is None:
            schema = parsed[key] = fastavro.parse_schema(json.loads(key))
        return [fastavro.schemaless_reader(io.BytesIO(value), schema)]
    return decode


def rubin_decoder():
    parsed = {}

    def decode(key, value):
        (schema_id,) = struct.unpack(">I", value[1:5])
        schema = parsed.get(schema_id)
        if schema is None:
            major, minor = divmod(schema_id, 100)
            path = REPO / "tests/data/rubin/schema" / f"v{major}_{minor}" / f"lsst.v{major}_{minor}.alert.avsc"
            schema = parsed[schema_id] = fastavro.schema.load_schema(str(path))
        return [fastavro.schemaless_reader(io.BytesIO(value[5:]), schema)]
    return decode


def run(name, msgs, decode, with_json):
    for key, value in msgs[:64]:
        decode(key, value)
    total = sum(len(v) for _, v in msgs)
    start = time.perf_counter()
    alerts = 0
    for key, value in msgs:
        for record in decode(key, value):
            if with_json:
                to_json(record)
            alerts += 1
    seconds = time.perf_counter() - start
    print(json.dumps({
        "side": "fastavro", "format": name, "task": "decode+json" if with_json else "decode",
        "messages": len(msgs), "alerts": alerts, "seconds": seconds,
        "alerts_per_s": alerts / seconds, "mb_per_s": total / seconds / 1e6,
        "version": fastavro.__version__,
    }), flush=True)


def main():
    msgs_dir = pathlib.Path(sys.argv[1])
    for name, make in (("ztf", ztf_decoder), ("fink", fink_decoder), ("rubin", rubin_decoder)):
        msgs = read_messages(msgs_dir / f"{name}.msgs")
        for with_json in (False, True):
            run(name, msgs, make(), with_json)


if __name__ == "__main__":
    main()
