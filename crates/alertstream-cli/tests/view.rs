//! `alertstream view`: one picture per alert. The SVG output is read back:
//! one light-curve mark per measurement, per band colour and kind, as
//! computed from fastavro's records (tests/oracles/check_stamps.py points), which
//! also checks that ZTF fid 1/2/3 are drawn as g/r/i.

mod common;

use common::{assert_success, data, fink_python, path, run, TempDir};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::process::Command;

/// Marks of an SVG picture: (colour, kind) -> count. Detections are filled
/// circles of radius 4, forced photometry open circles of radius 3, upper
/// limits closed four-point polylines (open triangles).
fn marks(svg: &str) -> BTreeMap<(String, &'static str), u64> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(tag[start..].split('"').next()?.to_owned())
    };
    let mut out = BTreeMap::new();
    for tag in svg.split('<').skip(1) {
        let kind_colour = if tag.starts_with("circle") {
            match (attr(tag, "r").as_deref(), attr(tag, "fill").as_deref()) {
                (Some("4"), Some(fill)) if fill != "none" => Some(("detection", fill.to_owned())),
                (Some("3"), Some("none")) => attr(tag, "stroke").map(|s| ("forced", s)),
                _ => None,
            }
        } else if tag.starts_with("polyline") {
            let closed = attr(tag, "points").is_some_and(|p| {
                let v: Vec<&str> = p.split_whitespace().collect();
                v.len() == 4 && v[0] == v[3]
            });
            closed
                .then(|| attr(tag, "stroke").map(|s| ("upper_limit", s)))
                .flatten()
        } else {
            None
        };
        if let Some((kind, colour)) = kind_colour {
            *out.entry((colour.to_uppercase(), kind)).or_insert(0) += 1;
        }
    }
    out
}

fn expected(sources: &[String]) -> Vec<J> {
    let out = Command::new(fink_python())
        .arg(data("../../tests/oracles/check_stamps.py"))
        .arg("points")
        .args(sources)
        .output()
        .unwrap();
    assert_success(&out, "check_stamps.py points: ");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_measurement_is_one_mark_in_its_bands_colour() {
    let (files, _) = alertstream::decode::files::files_under(&[
        data("ztf"),
        data("fink/part-3-305711.avro"),
        data("rubin/fake"),
    ]);
    let sources: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let dir = TempDir::new("view");
    let out = dir.0.display().to_string();
    let mut args = vec!["view", "--out", &out, "--picture-format", "svg"];
    args.extend(sources.iter().map(String::as_str));
    let result = run(&args);
    assert_success(&result, "view: ");
    let mut checked = 0;
    let mut marks_seen = 0;
    for want in expected(&sources) {
        let id = want["alert_id"].to_string();
        let svg = std::fs::read_to_string(dir.join(&format!("{id}.svg")))
            .unwrap_or_else(|e| panic!("picture of {id}: {e}"));
        let got = marks(&svg);
        let mut want_marks = BTreeMap::new();
        for (colour, kinds) in want["counts"].as_object().unwrap() {
            for (kind, n) in kinds.as_object().unwrap() {
                let n = n.as_u64().unwrap();
                if n > 0 {
                    let kind = ["detection", "upper_limit", "forced"]
                        .into_iter()
                        .find(|k| k == kind)
                        .unwrap();
                    want_marks.insert((colour.clone(), kind), n);
                }
            }
        }
        assert_eq!(got, want_marks, "alert {id}");
        marks_seen += got.values().sum::<u64>();
        checked += 1;
    }
    assert!(checked >= 19 + 31 + 2, "{checked} pictures");
    assert!(marks_seen > 300, "{marks_seen} marks");
}

#[test]
fn a_png_picture_is_written_for_each_alert_and_text_is_drawn() {
    let dir = TempDir::new("view-png");
    let out = dir.0.display().to_string();
    let sample = path("ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro");
    let result = run(&["view", "--out", &out, &sample]);
    assert_success(&result, "view: ");
    let png = dir.join("472263571115115000.png");
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG file");
    // The title is drawn with the bundled font: the SVG of the same alert
    // holds it as text.
    let svg_dir = TempDir::new("view-svg");
    let svg_out = svg_dir.0.display().to_string();
    let result = run(&[
        "view",
        "--out",
        &svg_out,
        "--picture-format",
        "svg",
        &sample,
    ]);
    assert_success(&result, "view svg: ");
    let svg = std::fs::read_to_string(svg_dir.join("472263571115115000.svg")).unwrap();
    assert!(svg.contains("ZTF17aaajnnn"), "title text");
    assert!(svg.contains("science") && svg.contains("difference"));
    let size = Command::new(fink_python())
        .args([
            "-c",
            "import sys; from PIL import Image; im = Image.open(sys.argv[1]); print(im.size, len(set(im.getdata())))",
        ])
        .arg(&png)
        .output()
        .unwrap();
    assert_success(&size, "PIL: ");
    let said = String::from_utf8_lossy(&size.stdout);
    assert!(said.starts_with("(1200, 860)"), "{said}");
}

/// The vertical position of the light curve's y-axis title in an SVG.
fn axis_title_y(svg: &str, title: &str) -> f64 {
    let at = svg
        .find(&format!("\n{title}\n"))
        .unwrap_or_else(|| panic!("no {title} axis"));
    let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
    let y = tag.split(" y=\"").nth(1).unwrap();
    y[..y.find('"').unwrap()].parse().unwrap()
}

/// An alert without cutouts gives the light curve the whole picture (its
/// axis centred lower than the title, higher than below a row of cutouts);
/// the minor grid is gone.
#[test]
fn without_cutouts_the_light_curve_takes_the_whole_picture() {
    let dir = TempDir::new("view-layout");
    let out = dir.0.display().to_string();
    let ztf = path("ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro");
    let antares = path("antares/1262927.json");
    let result = run(&[
        "view",
        "--out",
        &out,
        "--picture-format",
        "svg",
        &ztf,
        &antares,
    ]);
    assert_success(&result, "view: ");
    let with = std::fs::read_to_string(dir.join("472263571115115000.svg")).unwrap();
    let without = std::fs::read_to_string(dir.join("1262927.svg")).unwrap();
    // 860 pixels: a 70-pixel title, 340 of cutouts, the light curve below.
    assert!(axis_title_y(&with, "magnitude") > 560.0);
    assert!(axis_title_y(&without, "magnitude") < 520.0);
    assert!(without.contains("(ANTARES alerts carry no cutouts)"));
    // Grid lines: the major ones only, light (plotters' minor lines were
    // drawn at opacity 0.1, its major ones at 0.2).
    assert!(with.matches("<line opacity=\"0.08\"").count() >= 6);
    assert!(!with.contains("<line opacity=\"0.1\"") && !with.contains("<line opacity=\"0.2\""));
}
