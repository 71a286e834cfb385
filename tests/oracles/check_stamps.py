#!/usr/bin/env python3
"""Cutouts as astropy reads them, for the tests to compare with.

    check_stamps.py decoded SOURCE...    one JSON line per stamp of every alert
    check_stamps.py points SOURCE...     light-curve points per band colour and kind
    check_stamps.py display SOURCE...    zscale limits and asinh-stretched values
    check_stamps.py files DIR SOURCE...  the FITS files `alertstream cutouts`
                                         wrote into DIR hold what the alerts do

SOURCE: alert files (Avro containers) read with fastavro; stamps gunzipped
when gzip-compressed, then read with astropy.io.fits.
"""
import gzip
import io
import json
import math
import pathlib
import sys
import warnings

import fastavro
import numpy
from astropy.io import fits

warnings.simplefilter("ignore")  # ZTF's SIMPLE card is not quite standard
KINDS = {"cutoutScience": "science", "cutoutTemplate": "template", "cutoutDifference": "difference"}


def stamps(paths):
    for path in paths:
        with open(path, "rb") as f:
            for rec in fastavro.reader(f):
                alert_id = rec.get("candid") or (rec.get("candidate") or {}).get("candid")
                for field, kind in KINDS.items():
                    c = rec.get(field)
                    raw = c.get("stampData") if isinstance(c, dict) else c
                    if raw:
                        yield alert_id, kind, raw


def fits_bytes(raw):
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def value_cards(header):
    out = []
    for card in header.cards:
        if card.keyword in ("", "COMMENT", "HISTORY"):
            continue
        value = card.value
        if isinstance(value, fits.card.Undefined):
            value = None
        out.append([card.keyword, value])
    return out


def decoded(paths):
    for alert_id, kind, raw in stamps(paths):
        with fits.open(io.BytesIO(fits_bytes(raw))) as hdus:
            hdu = hdus[0]
            data = numpy.asarray(hdu.data, dtype=numpy.float64)
            pixels = [None if math.isnan(v) else v for v in data.ravel().tolist()]
            print(json.dumps({
                "alert_id": alert_id, "kind": kind, "width": hdu.header["NAXIS1"],
                "height": hdu.header["NAXIS2"], "bitpix": hdu.header["BITPIX"],
                "pixels": pixels, "cards": value_cards(hdu.header),
            }))


def display(paths):
    """zscale limits and asinh-stretched values, as astropy computes them
    (on the pixels as float64, as alertstream holds them)."""
    from astropy.visualization import AsinhStretch, ZScaleInterval

    for alert_id, kind, raw in stamps(paths):
        with fits.open(io.BytesIO(fits_bytes(raw))) as hdus:
            data = numpy.asarray(hdus[0].data, dtype=numpy.float64)
        low, high = ZScaleInterval().get_limits(data)
        scaled = numpy.clip((data - low) / (high - low), 0.0, 1.0)
        values = AsinhStretch(0.1)(scaled).ravel().tolist()
        print(json.dumps({
            "alert_id": alert_id, "kind": kind, "low": float(low), "high": float(high),
            "values": [None if math.isnan(v) else v for v in values],
        }))


ZTF_BANDS = {1: "g", 2: "r", 3: "i"}
COLOURS = {"u": "#56B4E9", "g": "#2CA02C", "r": "#D62728", "i": "#FF7F0E", "z": "#9467BD", "y": "#8C564B"}


def points(paths):
    """Light-curve points a picture must show, per band colour and kind,
    computed from fastavro's records (ZTF fid 1/2/3 = g/r/i)."""
    for path in paths:
        with open(path, "rb") as f:
            for rec in fastavro.reader(f):
                counts = {}

                def add(band, kind):
                    colour = COLOURS.get(band, "#7F7F7F")
                    counts.setdefault(colour, {"detection": 0, "upper_limit": 0, "forced": 0})[kind] += 1

                if rec.get("candidate"):
                    for c in [rec["candidate"]] + list(rec.get("prv_candidates") or []):
                        band = ZTF_BANDS.get(c.get("fid"))
                        if c.get("magpsf") is not None:
                            add(band, "detection")
                        elif c.get("diffmaglim") is not None:
                            add(band, "upper_limit")
                    for p in rec.get("fp_hists") or []:
                        flux, zp = p.get("forcediffimflux"), p.get("magzpsci")
                        if flux is not None and flux != -99999.0 and flux > 0 and zp is not None:
                            add(ZTF_BANDS.get(p.get("fid")), "forced")
                    alert_id = rec.get("candid") or rec["candidate"]["candid"]
                else:
                    src = rec["diaSource"]
                    parts = [([src] + list(rec.get("prvDiaSources") or []), "detection"),
                             (list(rec.get("prvDiaForcedSources") or []), "forced")]
                    for items, kind in parts:
                        for s in items:
                            if s.get("psfFlux") is not None and s.get("midpointMjdTai") is not None:
                                add(s.get("band") or s.get("filterName"), kind)
                    alert_id = rec.get("diaSourceId") or rec.get("alertId") or src["diaSourceId"]
                print(json.dumps({"alert_id": alert_id, "counts": counts}))


def files(folder, paths):
    folder = pathlib.Path(folder)
    checked = 0
    for alert_id, kind, raw in stamps(paths):
        candidates = [folder / f"{alert_id}_{kind}.fits", folder / f"{alert_id}_{kind}.fits.gz"]
        written = [p for p in candidates if p.exists()]
        assert written, f"no file for {alert_id} {kind} in {folder}"
        with fits.open(io.BytesIO(fits_bytes(raw))) as want, fits.open(written[0]) as got:
            assert numpy.array_equal(got[0].data, want[0].data, equal_nan=True), f"{written[0]}: pixels differ"
            assert value_cards(got[0].header) == value_cards(want[0].header), f"{written[0]}: header differs"
        checked += 1
    print(f"{checked} stamps equal")


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    if mode == "decoded":
        decoded(rest)
    elif mode == "points":
        points(rest)
    elif mode == "display":
        display(rest)
    elif mode == "files":
        files(rest[0], rest[1:])
    else:
        sys.exit(f"unknown mode {mode}")
