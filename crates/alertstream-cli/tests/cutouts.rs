//! Cutouts: the stamps alertstream decodes (`Alert::cutouts`) and the FITS
//! files `alertstream cutouts` writes, against astropy reading the same
//! bytes (tests/oracles/check_stamps.py).

mod common;

use alertstream::model::stamp::{HeaderValue, Stamp};
use alertstream::{Decoder, DecoderOptions};
use common::{assert_success, data, fink_python, path, run, TempDir};
use serde_json::Value as J;
use std::process::Command;

fn check_stamps(args: &[&str]) -> String {
    let out = Command::new(fink_python())
        .arg(data("../../tests/oracles/check_stamps.py"))
        .args(args)
        .output()
        .unwrap();
    assert_success(&out, "check_stamps.py: ");
    String::from_utf8(out.stdout).unwrap()
}

/// The Avro container samples that carry cutouts.
fn samples() -> Vec<String> {
    let (files, _) = alertstream::decode::files::files_under(&[
        data("ztf"),
        data("fink/avro_multi_alerts.avro"),
    ]);
    files.iter().map(|f| f.display().to_string()).collect()
}

fn same_card(ours: &HeaderValue, theirs: &J) -> bool {
    match (ours, theirs) {
        (HeaderValue::Integer(a), J::Number(b)) => b.as_i64() == Some(*a),
        (HeaderValue::Float(a), J::Number(b)) => b.as_f64() == Some(*a),
        (HeaderValue::Logical(a), J::Bool(b)) => a == b,
        (HeaderValue::String(a), J::String(b)) => a.trim_end() == b.trim_end(),
        (HeaderValue::Undefined, J::Null) => true,
        _ => false,
    }
}

fn assert_same_stamp(ours: &Stamp, theirs: &J, what: &str) {
    assert_eq!(ours.kind.name(), theirs["kind"], "{what}");
    assert_eq!(J::from(ours.width), theirs["width"], "{what}: width");
    assert_eq!(J::from(ours.height), theirs["height"], "{what}: height");
    assert_eq!(J::from(ours.bitpix), theirs["bitpix"], "{what}: bitpix");
    let pixels = theirs["pixels"].as_array().unwrap();
    assert_eq!(ours.pixels.len(), pixels.len(), "{what}: pixel count");
    for (i, (a, b)) in ours.pixels.iter().zip(pixels).enumerate() {
        match b.as_f64() {
            Some(b) => assert_eq!(*a, b, "{what}: pixel {i}"),
            None => assert!(a.is_nan(), "{what}: pixel {i} is {a}, astropy NaN"),
        }
    }
    let cards = theirs["cards"].as_array().unwrap();
    assert_eq!(
        ours.cards.len(),
        cards.len(),
        "{what}: cards {:?}",
        ours.cards
    );
    for (card, theirs) in ours.cards.iter().zip(cards) {
        assert_eq!(card.keyword, theirs[0], "{what}");
        assert!(
            same_card(&card.value, &theirs[1]),
            "{what} {}: {:?} vs {}",
            card.keyword,
            card.value,
            theirs[1]
        );
    }
}

/// Every sample's stamps as alertstream decodes them, and what
/// check_stamps.py `mode` prints for the same files, one line per stamp.
fn ours_and_astropys(mode: &str) -> (Vec<Stamp>, Vec<J>) {
    let sources = samples();
    let args: Vec<&str> = std::iter::once(mode)
        .chain(sources.iter().map(String::as_str))
        .collect();
    let theirs: Vec<J> = check_stamps(&args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let decoder = Decoder::new(DecoderOptions::default()).unwrap();
    let ours: Vec<Stamp> = sources
        .iter()
        .flat_map(|s| decoder.decode_file(s.as_ref()).into_result().unwrap())
        .flat_map(|a| a.cutouts().unwrap())
        .collect();
    assert_eq!(ours.len(), theirs.len());
    (ours, theirs)
}

#[test]
fn decoded_stamps_equal_what_astropy_reads_pixel_for_pixel_and_card_for_card() {
    let (ours, theirs) = ours_and_astropys("decoded");
    assert!(ours.len() >= 3 * 19, "{} stamps", ours.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_same_stamp(a, b, &format!("stamp {i} ({})", b["alert_id"]));
    }
}

#[test]
fn written_fits_files_open_in_astropy_with_the_stamps_data_and_header() {
    for gz in [false, true] {
        let dir = TempDir::new("cutouts");
        let out = dir.0.display().to_string();
        let mut args = vec!["cutouts", "--out", &out];
        if gz {
            args.push("--gz");
        }
        let ztf = path("ztf");
        let antares = path("antares");
        args.extend([ztf.as_str(), antares.as_str()]);
        let result = run(&args);
        assert_success(&result, "cutouts: ");
        let listed = String::from_utf8_lossy(&result.stdout).lines().count();
        assert_eq!(listed, 19 * 3, "one line per file written");
        let err = String::from_utf8_lossy(&result.stderr);
        assert!(err.contains("6 alert(s) carry no cutouts"), "{err}");
        let mut check = vec!["files", out.as_str()];
        let sources = samples();
        check.extend(
            sources
                .iter()
                .filter(|s| s.contains("/ztf/"))
                .map(String::as_str),
        );
        let said = check_stamps(&check);
        assert!(said.contains("57 stamps equal"), "{said}");
        let ext = if gz { ".fits.gz" } else { ".fits" };
        let names: Vec<String> = std::fs::read_dir(&dir.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| n.ends_with(ext)), "{names:?}");
        assert!(names.contains(&format!("472263571115115000_difference{ext}")));
    }
}

#[test]
fn zscale_limits_and_the_asinh_stretch_equal_astropys() {
    let (ours, theirs) = ours_and_astropys("display");
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()));
    for (i, (stamp, t)) in ours.iter().zip(&theirs).enumerate() {
        let (low, high) = alertstream::picture::zscale(&stamp.pixels).unwrap();
        let (tl, th) = (t["low"].as_f64().unwrap(), t["high"].as_f64().unwrap());
        assert!(
            close(low, tl) && close(high, th),
            "stamp {i}: ({low}, {high}) vs astropy ({tl}, {th})"
        );
        let values = t["values"].as_array().unwrap();
        for (j, (a, b)) in alertstream::picture::display_values(stamp)
            .iter()
            .zip(values)
            .enumerate()
        {
            match b.as_f64() {
                Some(b) => assert!(close(*a, b), "stamp {i} pixel {j}: {a} vs {b}"),
                None => assert!(a.is_nan(), "stamp {i} pixel {j}: {a}, astropy NaN"),
            }
        }
    }
}
