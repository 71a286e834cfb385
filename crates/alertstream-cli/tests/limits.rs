//! Hostile input against the decoding limits, as a new user meets it: a
//! payload of 10,000 nested gzip layers in a file and between two good
//! alerts of a stream (on a real Tansu broker), and a date that does not
//! exist. Each is a clear error naming the limit and its flag; a stream
//! quarantines the message and goes on.

mod common;

use alertstream::kafka::publisher::{Message, Publisher};
use common::{path, run, stdout_lines, Tansu, TempDir};
use std::io::Write;
use std::time::Duration;

/// A message of `layers` gzip layers around a small JSON alert (stored
/// deflate blocks: each layer adds ~25 bytes, as the reported 1.2 MB one).
fn gzip_layers(layers: usize) -> Vec<u8> {
    let mut bytes = br#"{"objectId":"ZTF99bomb","candid":1}"#.to_vec();
    for _ in 0..layers {
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(bytes.len() + 64),
            flate2::Compression::none(),
        );
        gz.write_all(&bytes).unwrap();
        bytes = gz.finish().unwrap();
    }
    bytes
}

#[test]
fn a_file_of_10000_gzip_layers_is_an_error_naming_the_limit() {
    let dir = TempDir::new("gzip-layers");
    let file = dir.join("bomb.json.gz");
    std::fs::write(&file, gzip_layers(10_000)).unwrap();
    for command in ["decode", "inspect"] {
        let out = run(&[command, &file.display().to_string()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        assert!(
            stderr.contains("max_gzip_layers limit of 2 layers")
                && stderr.contains("hint: pass --max-gzip-layers N"),
            "{command}: {stderr}"
        );
    }
    // The same bytes with fewer layers decode once the limit allows them.
    let three = dir.join("three.json.gz");
    std::fs::write(&three, gzip_layers(3)).unwrap();
    let three = three.display().to_string();
    assert_eq!(run(&["decode", &three]).status.code(), Some(1));
    let out = run(&["decode", "--max-gzip-layers", "3", &three]);
    assert_eq!(
        stdout_lines(&out),
        [r#"{"objectId":"ZTF99bomb","candid":1}"#]
    );
}

#[test]
fn a_message_of_10000_gzip_layers_is_quarantined_and_the_stream_goes_on() {
    let t = Tansu::sqlite();
    t.create_topic("layers", 1);
    let good = std::fs::read(path("ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro")).unwrap();
    let other = std::fs::read(path("ztf/ztf_v3.5_1661382530015060001_ZTF18aaxjdyr.avro")).unwrap();
    let publisher = Publisher::new(&t.connection(), "layers").unwrap();
    for value in [good, gzip_layers(10_000), other] {
        publisher.send(&Message { key: None, value }).unwrap();
    }
    publisher.flush(Duration::from_secs(10)).unwrap();

    let dir = TempDir::new("layers-out");
    let save = dir.join("out").display().to_string();
    let mut args = t.consume_args("layers", "g");
    args.extend(["--save", &save, "--timeout", "5"].map(String::from));
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("max_gzip_layers"), "{stderr}");
    let mut saved: Vec<String> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".avro"))
        .collect();
    saved.sort();
    assert_eq!(
        saved,
        [
            "ZTF17aaajnnn_472263571115115000.avro",
            "ZTF18aaxjdyr_1661382530015060001.avro"
        ]
    );
    let quarantined: Vec<_> = std::fs::read_dir(dir.join("out/_quarantine"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(quarantined, ["layers-0-1.bin"]);
    assert_eq!(
        common::committed(&t, "g", "layers"),
        3,
        "all three committed"
    );
}

#[test]
fn a_date_that_does_not_exist_is_refused_before_connecting() {
    let out = run(&[
        "reset",
        "--servers",
        "127.0.0.1:9",
        "--group",
        "g",
        "--topic",
        "t",
        "--to",
        "2026-02-31T00:00:00Z",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("'2026-02-31T00:00:00Z' is not"), "{stderr}");
}
