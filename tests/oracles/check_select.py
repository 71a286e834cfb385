"""What the selection of alerts should keep, computed by independent tools on
the same alerts: fastavro reads the records, plain Python evaluates each
filter (as pandas users write it), astropy's SkyCoord.separation measures
cones and watchlist matches, mocpy writes and tests MOCs, and sky maps are
made here with numpy and astropy-healpix and reduced to their credible
region by their own cumulative sum.

    check_select.py where PATH...           {expression: [alert ids kept]}
    check_select.py sky OUTDIR PATH...       writes MOCs, sky maps and a
                                             watchlist into OUTDIR, prints
                                             what each keeps (JSON)
"""

import gzip
import json
import math
import pathlib
import sys

import fastavro
import numpy as np

MJD_OF_JD = 2400000.5


def records(paths):
    """(alert id, record) of every Avro container file under the paths."""
    out = []
    for root in paths:
        root = pathlib.Path(root)
        files = sorted(root.rglob("*.avro*")) if root.is_dir() else [root]
        for f in files:
            opener = gzip.open if f.suffix == ".gz" else open
            with opener(f, "rb") as fh:
                for r in fastavro.reader(fh):
                    out.append((alert_id(r), r))
    return out


def alert_id(r):
    if "candid" in r:
        return str(r["candid"])
    return str(r["diaSource"]["diaSourceId"])


def position(r):
    if "candidate" in r:
        return r["candidate"]["ra"], r["candidate"]["dec"]
    source = r["diaSource"]
    return source["ra"], source["dec"] if "dec" in source else source["decl"]  # ELAsTiCC: decl


def rubin_flux(r):
    source = r["diaSource"]
    return source["psfFlux"] if "psfFlux" in source else source["psFlux"]  # ELAsTiCC: psFlux


def known(v):
    return v is not None


def ztf(f):
    """A condition on ZTF records only (Rubin records never match)."""
    return lambda r: "candidate" in r and f(r["candidate"], r)


# Each filter as alertstream's --where takes it, and as Python evaluates it
# (a field a schema version lacks, or a null, makes the condition unknown:
# not kept, as in SQL).
FILTERS = {
    "candidate.magpsf < 18 AND candidate.drb > 0.8":
        ztf(lambda c, r: c["magpsf"] < 18 and known(c.get("drb")) and c["drb"] > 0.8),
    "candidate.ssdistnr < 0 OR candidate.ssdistnr > 5":
        ztf(lambda c, r: known(c.get("ssdistnr")) and (c["ssdistnr"] < 0 or c["ssdistnr"] > 5)),
    "candidate.fid IN (1, 3) AND candidate.isdiffpos = 't'":
        ztf(lambda c, r: c["fid"] in (1, 3) and c["isdiffpos"] == "t"),
    "objectId LIKE 'ZTF18%'":
        lambda r: r.get("objectId", "").startswith("ZTF18"),
    "candidate.magpsf BETWEEN 15 AND 17.5":
        ztf(lambda c, r: 15 <= c["magpsf"] <= 17.5),
    "len(prv_candidates) > 10":
        lambda r: r.get("prv_candidates") is not None and len(r["prv_candidates"]) > 10,
    "any(prv_candidates, magpsf < 16)":
        lambda r: any(known(p.get("magpsf")) and p["magpsf"] < 16 for p in r.get("prv_candidates") or []),
    "all(prv_candidates, candid IS NULL)":
        lambda r: r.get("prv_candidates") is not None
        and all(p.get("candid") is None for p in r["prv_candidates"]),
    "count(prv_candidates, magpsf IS NOT NULL) >= 3":
        lambda r: sum(known(p.get("magpsf")) for p in r.get("prv_candidates") or []) >= 3
        if r.get("prv_candidates") is not None else False,
    "abs(candidate.dec) < 20 AND NOT (candidate.rb < 0.5)":
        ztf(lambda c, r: abs(c["dec"]) < 20 and known(c.get("rb")) and not c["rb"] < 0.5),
    "coalesce(candidate.drb, candidate.rb) > 0.9":
        ztf(lambda c, r: (c.get("drb") if known(c.get("drb")) else c.get("rb")) is not None
            and (c.get("drb") if known(c.get("drb")) else c.get("rb")) > 0.9),
    "mag < 17 AND band = 'r'":
        ztf(lambda c, r: c["magpsf"] < 17 and c["fid"] == 2),
    "candidate.magpsf - candidate.magap > 0.1":
        ztf(lambda c, r: known(c.get("magap")) and c["magpsf"] - c["magap"] > 0.1),
    "flux > 1000 OR dec < -10":
        lambda r: ("diaSource" in r and rubin_flux(r) > 1000) or position(r)[1] < -10,
    "mjd > 59000 AND survey = 'ztf'":
        ztf(lambda c, r: c["jd"] - MJD_OF_JD > 59000),
    "candidate.jd * 2 - candidate.jd BETWEEN 2458000.5 AND 2459000.5 OR objectId = 'ZTF17aaajnnn'":
        lambda r: ("candidate" in r and 2458000.5 <= r["candidate"]["jd"] <= 2459000.5)
        or r.get("objectId") == "ZTF17aaajnnn",
}


def where(paths):
    alerts = records(paths)
    out = {expr: sorted({i for i, r in alerts if f(r)}) for expr, f in FILTERS.items()}
    json.dump(out, sys.stdout)


def sky(outdir, paths):
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    from astropy.table import Table
    from astropy_healpix import HEALPix
    from mocpy import MOC

    outdir = pathlib.Path(outdir)
    alerts = records(paths)
    ids = [i for i, _ in alerts]
    ra = [float(position(r)[0]) for _, r in alerts]
    dec = [float(position(r)[1]) for _, r in alerts]
    coords = SkyCoord(np.array(ra) * u.deg, np.array(dec) * u.deg)
    expected = {}

    # Cones around some alerts (one just inside, one just outside its radius).
    cones = [(ra[0] + 0.001, dec[0], 10 / 3600), (ra[5], dec[5] + 0.5, 0.4999), (ra[5], dec[5] + 0.5, 0.5001),
             (200.0, 30.0, 40.0)]
    for c in cones:
        sep = coords.separation(SkyCoord(c[0] * u.deg, c[1] * u.deg)).deg
        expected[f"cone {c[0]!r},{c[1]!r},{c[2]!r}"] = sorted(i for i, s in zip(ids, sep) if s <= c[2])

    # A watchlist: targets offset from alerts by known amounts.
    rows = []
    for k, (a, d) in enumerate(zip(ra, dec)):
        offset = [1.5, 2.5, 0.5][k % 3] / 3600  # arcsec, against radii of 2 (default) and 3
        radius = "" if k % 2 else "3"
        rows.append((f"T{k}", a, d + offset, radius))
        rows.append((f"far{k}", (a + 90) % 360, -d, ""))
    with open(outdir / "watchlist.csv", "w") as fh:
        fh.write("name,ra,dec,radius\n")
        for name, a, d, radius in rows:
            fh.write(f"{name},{a!r},{d!r},{radius}\n")
    targets = SkyCoord(np.array([r[1] for r in rows]) * u.deg, np.array([r[2] for r in rows]) * u.deg)
    radii = np.array([(float(r[3]) if r[3] else 2.0) / 3600 for r in rows])
    matches = {}
    for i, c in zip(ids, coords):
        sep = c.separation(targets).deg
        names = [rows[j][0] for j in np.argsort(sep) if sep[j] <= radii[j]]
        if names:
            matches[i] = names
    expected["watchlist"] = matches

    # MOCs written by mocpy in the three serialisations.
    moc = MOC.from_cone(lon=ra[3] * u.deg, lat=dec[3] * u.deg, radius=20 * u.deg, max_depth=10)
    moc = moc.union(MOC.from_cone(lon=ra[10] * u.deg, lat=dec[10] * u.deg, radius=2 * u.deg, max_depth=12))
    moc.save(str(outdir / "region.fits"), format="fits", overwrite=True)
    moc.save(str(outdir / "region.json"), format="json", overwrite=True)
    moc.save(str(outdir / "region.txt"), format="ascii", overwrite=True)
    inside = moc.contains_lonlat(np.array(ra) * u.deg, np.array(dec) * u.deg)
    expected["moc"] = sorted(i for i, k in zip(ids, inside) if k)

    # Sky maps: a Gaussian of 30° around one alert, flat (NESTED and RING,
    # order 6) and multi-order (low-density quadruples merged at order 5).
    order = 6
    nside = 2 ** order
    npix = 12 * nside * nside
    nested = HEALPix(nside=nside, order="nested")
    lon, lat = nested.healpix_to_lonlat(np.arange(npix))
    center = SkyCoord(ra[7] * u.deg, dec[7] * u.deg)
    d = SkyCoord(lon, lat).separation(center).deg
    prob = np.exp(-0.5 * (d / 30.0) ** 2)
    prob /= prob.sum()
    area = 4 * math.pi / npix
    density6 = prob / area

    def flat(name, ordering, values, gz=False):
        t = Table({"PROB": values})
        t.meta.update({"PIXTYPE": "HEALPIX", "ORDERING": ordering, "COORDSYS": "C",
                       "NSIDE": nside, "INDXSCHM": "IMPLICIT", "OBJECT": "S-test"})
        path = outdir / name
        t.write(path, format="fits", overwrite=True)
        if gz:
            path.with_suffix(path.suffix + ".gz").write_bytes(gzip.compress(path.read_bytes()))

    flat("flat_nested.fits", "NESTED", prob)
    ring = HEALPix(nside=nside, order="ring")
    ring_index = ring.lonlat_to_healpix(lon, lat)
    ring_prob = np.empty(npix)
    ring_prob[ring_index] = prob
    flat("flat_ring.fits", "RING", ring_prob, gz=True)

    parents = density6.reshape(-1, 4)
    merge = parents.max(axis=1) < np.percentile(density6, 60)
    cells = []  # (order, nested, density)
    for p in range(len(parents)):
        if merge[p]:
            cells.append((order - 1, p, parents[p].mean()))
        else:
            cells.extend((order, 4 * p + k, parents[p][k]) for k in range(4))
    uniq = np.array([4 * 4 ** o + n for o, n, _ in cells], dtype=np.int64)
    dens = np.array([c[2] for c in cells])
    t = Table({"UNIQ": uniq, "PROBDENSITY": dens})
    t.meta.update({"PIXTYPE": "HEALPIX", "ORDERING": "NUNIQ", "COORDSYS": "C", "MOCORDER": order})
    t.write(outdir / "multiorder.fits", overwrite=True)

    def region(cell_orders, cell_index, cell_density, credible):
        cell_area = 4 * math.pi / (12 * 4.0 ** cell_orders)
        by_density = np.argsort(-cell_density, kind="stable")
        cumulative = np.cumsum(cell_density[by_density] * cell_area[by_density])
        keep = by_density[cumulative <= credible]
        return {(int(cell_orders[k]), int(cell_index[k])): float(cell_density[k]) for k in keep}

    alert6 = nested.lonlat_to_healpix(np.array(ra) * u.deg, np.array(dec) * u.deg)
    for name, credible, cell_orders, cell_index, cell_density in [
        ("flat_nested.fits", 0.9, np.full(npix, order), np.arange(npix), density6),
        ("flat_ring.fits.gz", 0.5, np.full(npix, order), np.arange(npix), density6),
        ("multiorder.fits", 0.9, np.array([c[0] for c in cells]), np.array([c[1] for c in cells]), dens),
    ]:
        kept = region(cell_orders, cell_index, cell_density, credible)
        found = {}
        for i, a6 in zip(ids, alert6):
            for key in ((order, int(a6)), (order - 1, int(a6) // 4)):
                if key in kept:
                    found[i] = kept[key]
        expected[f"skymap {name} {credible}"] = found

    json.dump(expected, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1] == "where":
        where(sys.argv[2:])
    elif sys.argv[1] == "sky":
        sky(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)
