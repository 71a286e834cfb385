"""Selecting alerts from Python: the same keyword arguments on AlertReader
and Consumer, checked against Python conditions on fastavro's records and
astropy's separations; kept alerts carry their watchlist matches."""

from __future__ import annotations

import time

import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

import alertstream
from conftest import DATA, ZTF_FILES, read_container

ZTF = str(DATA / "ztf")


def records():
    out = []
    for path in ZTF_FILES:
        out.extend(read_container(path)[1])
    return out


def test_where_keeps_what_python_keeps():
    expected = sorted(r["candid"] for r in records()
                      if r["candidate"]["magpsf"] < 18 and r["candidate"]["fid"] == 2)
    kept = alertstream.AlertReader(ZTF, where="candidate.magpsf < 18 AND band = 'r'").to_list()
    assert sorted(r["candid"] for r in kept) == expected
    assert 0 < len(expected) < len(records())


def test_a_cone_keeps_what_astropy_finds_inside():
    center = SkyCoord(180 * u.deg, 50 * u.deg)
    kept = {a.alert_id for a in alertstream.AlertReader(ZTF, cone=(180.0, 50.0, "5deg")).alerts()}
    expected = {r["candid"] for r in records()
                if SkyCoord(r["candidate"]["ra"] * u.deg, r["candidate"]["dec"] * u.deg)
                .separation(center).deg <= 5}
    assert kept == expected and expected


def test_a_watchlist_tags_the_alerts_it_keeps(tmp_path):
    target = tmp_path / "targets.csv"
    target.write_text("name,ra,dec,radius\nnear-ZTF17aaajnnn,179.6402,52.0297,5\n")
    alerts = alertstream.AlertReader(ZTF, watchlist=str(target)).alerts()
    assert alerts and all(a.object_id == "ZTF17aaajnnn" for a in alerts)
    assert all(a.matches == ["near-ZTF17aaajnnn"] for a in alerts)
    assert all(a.probdensity is None for a in alerts)
    table = alertstream.AlertReader(ZTF, watchlist=str(target)).to_arrow()
    assert table.column("watchlist").to_pylist() == [["near-ZTF17aaajnnn"]] * len(alerts)


def test_a_bad_expression_names_its_column():
    with pytest.raises(ValueError) as caught:
        alertstream.AlertReader(ZTF, where="candidate.magpsf <<< 18")
    assert "at column 20" in str(caught.value)
    assert "                   ^" in str(caught.value)


def test_a_consumer_hands_out_only_the_selection_and_commits_the_rest(broker, group):
    topic = broker.create_topic(f"select-{group}")
    broker.produce(topic, [(None, open(p, "rb").read()) for p in ZTF_FILES])
    expected = sorted(r["candid"] for r in records() if r["candidate"]["magpsf"] < 17)
    consumer = alertstream.Consumer([topic], group, broker.servers, connect_timeout=15,
                                    session_timeout_ms=6000, where="candidate.magpsf < 17")
    kept, deadline = [], time.monotonic() + 60
    while len(kept) < len(expected):
        assert time.monotonic() < deadline, kept
        alert = consumer.poll(1.0)
        if alert is not None:
            kept.append(alert.alert_id)
    assert consumer.poll(2.0) is None
    consumer.commit()
    assert consumer.close()
    assert sorted(kept) == expected
    # The dropped alerts were committed with the kept ones: nothing is left.
    again = alertstream.Consumer([topic], group, broker.servers, connect_timeout=15,
                                 session_timeout_ms=6000)
    assert again.poll(3.0) is None
    again.close()
