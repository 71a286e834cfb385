//! Selecting alerts offline, against independent tools on the same real
//! alerts (tests/oracles/check_select.py): each `--where` expression keeps
//! what Python keeps on fastavro's records; cones and watchlist matches
//! agree with astropy's SkyCoord.separation; MOCs with mocpy; sky maps'
//! credible regions and densities with their own cumulative sum.

mod common;

use common::{data, fink_python, path, run, TempDir};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn oracle(args: &[&str]) -> Value {
    let out = std::process::Command::new(fink_python())
        .arg(data("../../tests/oracles/check_select.py"))
        .args(args)
        .output()
        .unwrap();
    common::assert_success(&out, "check_select.py: ");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn alerts() -> Vec<String> {
    vec![path("ztf"), path("rubin/fake"), path("fink")]
}

/// The alert id of a decoded record (ZTF candid, Rubin diaSourceId).
fn id_of(record: &Value) -> String {
    match &record["candid"] {
        Value::Null => record["diaSource"]["diaSourceId"].to_string(),
        candid => candid.to_string(),
    }
}

/// `decode` with `options`: each kept record by alert id.
fn decoded(options: &[&str]) -> BTreeMap<String, Value> {
    let mut args = vec!["decode"];
    args.extend_from_slice(options);
    let paths = alerts();
    args.extend(paths.iter().map(String::as_str));
    let out = run(&args);
    common::assert_success(&out, "decode: ");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (id_of(&v), v)
        })
        .collect()
}

fn ids(expected: &Value) -> BTreeSet<String> {
    expected
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn expressions_keep_what_python_keeps_on_fastavros_records() {
    let paths = alerts();
    let mut args = vec!["where"];
    args.extend(paths.iter().map(String::as_str));
    let expected = oracle(&args);
    let mut nonempty = 0;
    for (expression, kept) in expected.as_object().unwrap() {
        let got: BTreeSet<String> = decoded(&["--where", expression]).into_keys().collect();
        assert_eq!(got, ids(kept), "--where {expression}");
        nonempty += usize::from(!got.is_empty());
    }
    assert!(nonempty >= 10, "the expressions keep something: {nonempty}");
}

#[test]
fn regions_and_watchlists_keep_what_astropy_and_mocpy_keep() {
    let dir = TempDir::new("select-sky");
    let out = dir.0.display().to_string();
    let paths = alerts();
    let mut args = vec!["sky", out.as_str()];
    args.extend(paths.iter().map(String::as_str));
    let expected = oracle(&args);

    for (name, kept) in expected.as_object().unwrap() {
        if let Some(cone) = name.strip_prefix("cone ") {
            let got: BTreeSet<String> = decoded(&["--cone", cone]).into_keys().collect();
            assert_eq!(got, ids(kept), "--cone {cone}");
        }
    }

    let watchlist = dir.join("watchlist.csv").display().to_string();
    let got = decoded(&["--watchlist", &watchlist]);
    let want = expected["watchlist"].as_object().unwrap();
    assert_eq!(
        got.keys().collect::<BTreeSet<_>>(),
        want.keys().collect::<BTreeSet<_>>(),
        "watchlist members"
    );
    for (id, record) in &got {
        assert_eq!(record["watchlist"], want[id], "targets of {id}");
    }

    for moc in ["region.fits", "region.json", "region.txt"] {
        let file = dir.join(moc).display().to_string();
        let got: BTreeSet<String> = decoded(&["--moc", &file]).into_keys().collect();
        assert_eq!(got, ids(&expected["moc"]), "--moc {moc}");
    }

    for (name, want) in expected.as_object().unwrap() {
        let Some(spec) = name.strip_prefix("skymap ") else {
            continue;
        };
        let (file, credible) = spec.split_once(' ').unwrap();
        let file = dir.join(file).display().to_string();
        let got = decoded(&["--skymap", &file, "--credible", credible]);
        let want = want.as_object().unwrap();
        assert!(!want.is_empty(), "{name} keeps some alerts");
        assert_eq!(
            got.keys().collect::<BTreeSet<_>>(),
            want.keys().collect::<BTreeSet<_>>(),
            "{name}"
        );
        for (id, density) in want {
            let ours = got[id]["skymap_probdensity"].as_f64().unwrap();
            let theirs = density.as_f64().unwrap();
            assert!(
                (ours - theirs).abs() <= 1e-9 * theirs.abs(),
                "{name} {id}: {ours} vs {theirs}"
            );
        }
    }
}

#[test]
fn a_bad_expression_exits_2_with_a_caret_and_a_typo_names_the_closest_fields() {
    let ztf = path("ztf");
    let out = run(&["inspect", "--where", "candidate.magpsf <<< 18", &ztf]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("at column 20")
            && stderr.contains("    candidate.magpsf <<< 18\n")
            && stderr.contains(&format!("\n    {}^", " ".repeat(19))),
        "{stderr}"
    );
    let out = run(&["inspect", "--where", "candidate.magpfs < 18", &ztf]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("candidate.magpfs") && stderr.contains("closest: candidate.magpsf"),
        "{stderr}"
    );
    let out = run(&["inspect", "--where", "objectId > 5", &ztf]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("objectId is string and 5 is integer"),
        "the field and both types: {stderr}"
    );
}

#[test]
fn a_table_of_selected_alerts_has_their_matches() {
    let dir = TempDir::new("select-table");
    let csv = dir.join("targets.csv");
    // ZTF17aaajnnn's candidates are at about (179.6402, 52.0297).
    std::fs::write(&csv, "name,ra,dec\nnear-ZTF17aaajnnn,179.64,52.03\n").unwrap();
    let table = dir.join("kept.csv").display().to_string();
    let out = run(&[
        "table",
        &path("ztf"),
        "-o",
        &table,
        "--watchlist",
        &csv.display().to_string(),
        "--match-radius",
        "10arcsec",
    ]);
    common::assert_success(&out, "table: ");
    let text = std::fs::read_to_string(&table).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.contains("ZTF17aaajnnn")), "{text}");
}
