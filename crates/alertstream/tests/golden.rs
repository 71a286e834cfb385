//! Golden tests: every sample decodes to the values an independent decoder
//! (fastavro, pymongo's bson; see tests/oracles/golden.py) read from the same file.

mod common;

use alertstream::{Alert, Cutout, Datum, Id};
use serde_json::Value as J;
use sha2::{Digest, Sha256};

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Asserts that a decoded value equals a golden value (floats exactly: f32
/// values widened to f64 are what fastavro reports).
fn assert_same(ours: Option<Datum<'_>>, golden: &J, what: &str) {
    let Some(d) = ours else {
        panic!("{what}: missing, golden has {golden}");
    };
    match golden {
        J::Null => assert!(d.is_null(), "{what}: expected null, got {:?}", d.value()),
        J::Bool(b) => assert_eq!(d.value(), alertstream::Value::Boolean(*b), "{what}"),
        J::Number(n) if n.is_i64() || n.is_u64() => {
            assert_eq!(d.as_i64(), n.as_i64(), "{what}: {:?}", d.value())
        }
        J::Number(n) => assert_eq!(d.as_f64(), n.as_f64(), "{what}: {:?}", d.value()),
        J::String(s) if s == "NaN" => assert!(d.as_f64().is_some_and(f64::is_nan), "{what}"),
        J::String(s) => assert_eq!(d.as_str(), Some(s.as_str()), "{what}"),
        J::Object(o) if o.contains_key("sha256") => {
            let b = d.as_bytes().unwrap_or_else(|| panic!("{what}: not bytes"));
            assert_eq!(J::from(b.len()), o["bytes_len"], "{what}: length");
            assert_eq!(sha256(b), o["sha256"].as_str().unwrap(), "{what}: sha256");
        }
        other => panic!("{what}: unexpected golden value {other}"),
    }
}

fn assert_fields(parent: Option<Datum<'_>>, golden: &J, what: &str) {
    for (name, value) in golden.as_object().into_iter().flatten() {
        assert_same(
            parent.and_then(|p| p.get(name)),
            value,
            &format!("{what}.{name}"),
        );
    }
}

fn field_names(d: Datum<'_>) -> Vec<String> {
    let json = serde_json::to_value(d).unwrap();
    json.as_object().unwrap().keys().cloned().collect()
}

fn check_sample(alert: &Alert, g: &J, what: &str) {
    let r = alert.record();
    let expected: Vec<String> = serde_json::from_value(g["fields"].clone()).unwrap();
    assert_eq!(field_names(r), expected, "{what}: field names in order");
    assert_fields(Some(r), &g["top"], what);
    let main = r.first_of(&["candidate", "diaSource", "new_alert"]);
    assert_fields(main, &g["main"], &format!("{what}.main"));
    assert_fields(
        main.and_then(|m| m.get("properties")),
        &g["main_properties"],
        what,
    );
    let history = r.first_of(&["prv_candidates", "prvDiaSources", "alert_history"]);
    let history_len = history.and_then(|h| h.array_len()).unwrap_or(0);
    assert_eq!(
        J::from(history_len),
        g["history_len"],
        "{what}: history length"
    );
    if !g["history_last"].is_null() {
        let last = history.and_then(|h| h.items().last());
        assert_fields(last, &g["history_last"], &format!("{what}.history[-1]"));
    }
    for kind in Cutout::ALL {
        let name = format!(
            "cutout{}{}",
            kind.name()[..1].to_uppercase(),
            &kind.name()[1..]
        );
        let golden = &g["cutouts"][&name];
        let raw = alert.cutout_raw(kind);
        let fits = alert.cutout(kind).unwrap();
        if golden.is_null() {
            assert!(raw.is_none(), "{what}: {name} should be absent");
            continue;
        }
        let (raw, fits) = (raw.unwrap(), fits.unwrap());
        assert_eq!(J::from(raw.len()), golden["len"], "{what}: {name} length");
        assert_eq!(
            sha256(raw),
            golden["sha256"].as_str().unwrap(),
            "{what}: {name}"
        );
        assert_eq!(
            J::from(fits.len()),
            golden["fits_len"],
            "{what}: {name} FITS length"
        );
        assert_eq!(
            sha256(&fits),
            golden["fits_sha256"].as_str().unwrap(),
            "{what}: {name} FITS"
        );
        assert_eq!(
            fits.starts_with(b"SIMPLE"),
            golden["fits_starts_with_simple"] == J::Bool(true)
        );
    }
}

fn check_ids(alert: &Alert, ids: &J, what: &str) {
    if let Some(object) = ids["objectId"].as_str() {
        assert_eq!(
            alert.object_id(),
            Some(Id::Text(object.to_owned())),
            "{what}: object id"
        );
    }
    if let Some(candid) = ids["candid"].as_i64() {
        assert_eq!(alert.alert_id(), Some(Id::Int(candid)), "{what}: candid");
    }
    if let Some(source) = ids["diaSourceId"].as_i64() {
        assert_eq!(
            alert.alert_id(),
            Some(Id::Int(source)),
            "{what}: diaSourceId"
        );
    }
}

/// 64-bit ids and floats survive the trip through our JSON output.
fn check_json_output(alert: &Alert, g: &J, what: &str) {
    let json: J = serde_json::from_str(&alert.to_json()).unwrap();
    for (name, golden) in g["top"].as_object().into_iter().flatten() {
        let ours = &json[name];
        match golden {
            J::Number(n) if n.is_i64() => {
                assert_eq!(ours.as_i64(), n.as_i64(), "{what}: JSON {name}")
            }
            J::Number(n) => {
                let v = ours.as_f64().unwrap();
                let expected = n.as_f64().unwrap();
                assert!(
                    v == expected || (v as f32) as f64 == expected,
                    "{what}: JSON {name} {v} vs {expected}"
                );
            }
            J::String(s) if s != "NaN" => {
                assert_eq!(ours.as_str(), Some(s.as_str()), "{what}: JSON {name}")
            }
            _ => {}
        }
    }
}

#[test]
fn every_sample_matches_its_golden_values() {
    let decoder = common::decoder_for_samples();
    let mut checked = 0;
    for path in common::alert_samples() {
        let rel = path
            .strip_prefix(common::data_dir())
            .unwrap()
            .to_string_lossy()
            .replace('/', "__");
        let golden_path = common::data(&format!("golden/{rel}.json"));
        let golden: J = serde_json::from_slice(&std::fs::read(&golden_path).unwrap_or_else(|_| {
            panic!(
                "no golden file for {}: run tests/oracles/golden.py",
                path.display()
            )
        }))
        .unwrap();
        let alerts = decoder
            .decode_file(&path)
            .into_result()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let what = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            J::from(alerts.len()),
            golden["count"],
            "{what}: record count"
        );
        for (i, (alert, ids)) in alerts
            .iter()
            .zip(golden["ids"].as_array().unwrap())
            .enumerate()
        {
            check_ids(alert, ids, &format!("{what}[{i}]"));
        }
        for (index, sample) in golden["samples"].as_object().unwrap() {
            let alert = &alerts[index.parse::<usize>().unwrap()];
            check_sample(alert, sample, &format!("{what}[{index}]"));
            check_json_output(alert, sample, &format!("{what}[{index}]"));
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} samples checked");
}

#[test]
fn samples_cover_every_codec_and_format() {
    let mut seen = std::collections::BTreeSet::new();
    for golden in std::fs::read_dir(common::data("golden")).unwrap().flatten() {
        let g: J = serde_json::from_slice(&std::fs::read(golden.path()).unwrap()).unwrap();
        seen.insert(format!(
            "{}/{}",
            g["format"].as_str().unwrap(),
            g["codec"].as_str().unwrap_or("-")
        ));
    }
    for needed in [
        "ztf/null",
        "ztf/deflate",
        "ztf/snappy",
        "confluent/-",
        "antares/-",
        "json/-",
    ] {
        assert!(seen.contains(needed), "no sample of {needed}: {seen:?}");
    }
}
