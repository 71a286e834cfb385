//! Each wire format end to end: detection, schema sources, caching, errors.

mod common;

use alertstream::{Decoder, DecoderOptions, Error, Format, WriterSchema};
use bytes::Bytes;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

fn decoder(options: DecoderOptions) -> Decoder {
    Decoder::new(options).unwrap()
}

/// (schema text, datums) of a container sample, as Fink would publish them.
fn fink_messages(rel: &str) -> (String, Vec<Bytes>, Vec<String>) {
    let alerts = decoder(DecoderOptions::default())
        .decode_file(&common::data(rel))
        .into_result()
        .unwrap();
    let schema = alerts[0].schema().unwrap().text().to_owned();
    let datums = alerts
        .iter()
        .map(|a| a.avro_datum().unwrap().clone())
        .collect();
    let json = alerts.iter().map(|a| a.to_json()).collect();
    (schema, datums, json)
}

#[test]
fn fink_schemaless_with_schema_in_key() {
    let (schema, datums, expected) = fink_messages("fink/avro_multi_alerts.avro");
    let d = decoder(DecoderOptions::default());
    for (datum, json) in datums.into_iter().zip(&expected) {
        assert_eq!(
            d.detect(Some(schema.as_bytes()), &datum),
            Some(Format::Fink)
        );
        let alerts = d.decode(Some(schema.as_bytes()), datum).unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].format(), Format::Fink);
        assert_eq!(&alerts[0].to_json(), json);
    }
    assert_eq!(
        d.schemas_parsed(),
        1,
        "the key's schema is parsed once, then cached"
    );
}

#[test]
fn fink_schemaless_with_schema_file() {
    let (schema, datums, expected) = fink_messages("fink/fink-broker-sample-alert-1.avro");
    let dir = tempdir::TempDir::new("schema-file");
    let schema_file = dir.0.join("writer.avsc");
    std::fs::write(&schema_file, schema).unwrap();
    let d = decoder(DecoderOptions::default().with_schema_file(schema_file));
    let alerts = d.decode(None, datums[0].clone()).unwrap();
    assert_eq!(alerts[0].to_json(), expected[0]);
}

/// Fink's published 0.2 schema orders some unions differently from the schema
/// these alerts were written with: reading with it must fail loudly, not
/// return shifted values.
#[test]
fn a_schema_with_other_union_order_is_an_error_not_garbage() {
    let (_, datums, _) = fink_messages("fink/fink-broker-sample-alert-1.avro");
    let d = decoder(
        DecoderOptions::default()
            .with_schema_file(common::data("fink/distribution_schema_0p2.avsc")),
    );
    let err = d.decode(None, datums[0].clone()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corrupt { .. } | Error::Truncated { .. } | Error::TrailingBytes { .. }
        ),
        "{err}"
    );
}

#[test]
fn fink_schemaless_without_schema_says_what_to_do() {
    let (_, datums, _) = fink_messages("fink/fink-broker-sample-alert-1.avro");
    let d = decoder(DecoderOptions::default().with_format(Format::Fink));
    let err = d.decode(None, datums[0].clone()).unwrap_err();
    assert!(matches!(err, Error::MissingSchema), "{err}");
    assert!(
        err.to_string().contains("no schema file was given"),
        "{err}"
    );
    assert_eq!(err.settings(), [alertstream::error::Setting::SchemaFile]);
}

#[test]
fn fink_version_key_names_the_missing_schema_file() {
    let (_, datums, _) = fink_messages("fink/fink-broker-sample-alert-1.avro");
    let d = decoder(DecoderOptions::default().with_schema_dir(common::data("fink")));
    let err = d.decode(Some(b"9.9_9.9.9"), datums[0].clone()).unwrap_err();
    assert!(
        err.to_string()
            .contains("distribution_schema_fink_ztf_9.9_9.9.9.avsc"),
        "{err}"
    );
}

#[test]
fn confluent_from_schema_dir_and_unknown_id() {
    let d = common::decoder_for_samples();
    let wire = std::fs::read(common::data(
        "rubin/wire_format/lsst.v7_4.confluent_wire.avro",
    ))
    .unwrap();
    let alerts = d.decode(None, wire.clone().into()).unwrap();
    assert_eq!(alerts[0].format(), Format::Confluent);
    assert_eq!(alerts[0].schema().unwrap().name(), Some("lsst.v7_4.alert"));

    let mut unknown = wire;
    unknown[1..5].copy_from_slice(&1299u32.to_be_bytes());
    let err = d.decode(None, unknown.into()).unwrap_err().to_string();
    assert!(err.contains("schema id 1299 not found"), "{err}");
    assert!(err.contains("rubin/schema"), "{err}");
}

/// A real HTTP server (Python's http.server) serving registry answers from files.
struct Registry {
    child: Child,
    url: String,
    _dir: tempdir::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

mod tempdir {
    pub struct TempDir(pub std::path::PathBuf);
    impl TempDir {
        pub fn new(tag: &str) -> Self {
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p =
                std::env::temp_dir().join(format!("alertstream-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn start_registry(ids: &[(u32, &str)]) -> Registry {
    start_registry_under("", ids)
}

/// A registry served under a path prefix (`prefix` ends with `/`), as Rubin
/// serves its own.
fn start_registry_under(prefix: &str, ids: &[(u32, &str)]) -> Registry {
    let dir = tempdir::TempDir::new("registry");
    let ids_dir = dir.0.join(prefix).join("schemas/ids");
    std::fs::create_dir_all(&ids_dir).unwrap();
    for (id, version) in ids {
        let schema = WriterSchema::from_file(&common::data(&format!(
            "rubin/schema/{version}/lsst.{version}.alert.avsc"
        )))
        .unwrap();
        let body = serde_json::json!({ "schema": schema.text() });
        std::fs::write(ids_dir.join(id.to_string()), body.to_string()).unwrap();
    }
    let mut child = Command::new("python3")
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(&dir.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs the test registry");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
    let port = line
        .split_whitespace()
        .skip_while(|w| *w != "port")
        .nth(1)
        .unwrap_or_else(|| panic!("unexpected http.server banner: {line}"));
    Registry {
        child,
        url: format!("http://127.0.0.1:{port}/{prefix}"),
        _dir: dir,
    }
}

#[test]
fn confluent_from_a_real_registry_is_cached() {
    let registry = start_registry(&[(704, "v7_4"), (1100, "v11_0")]);
    let d = decoder(DecoderOptions::default().with_schema_registry(registry.url.clone()));
    let offline = common::decoder_for_samples();
    for name in ["lsst.v7_4", "lsst.v11_0"] {
        let wire: Bytes = std::fs::read(common::data(&format!(
            "rubin/wire_format/{name}.confluent_wire.avro"
        )))
        .unwrap()
        .into();
        let from_registry = d.decode(None, wire.clone()).unwrap();
        let from_dir = offline.decode(None, wire).unwrap();
        assert_eq!(from_registry[0].to_json(), from_dir[0].to_json());
    }
    let url = registry.url.clone();
    drop(registry); // the server is gone: cached schemas still serve
    let wire = std::fs::read(common::data(
        "rubin/wire_format/lsst.v7_4.confluent_wire.avro",
    ))
    .unwrap();
    assert!(d.decode(None, wire.clone().into()).is_ok());

    let mut unknown = wire;
    unknown[1..5].copy_from_slice(&999u32.to_be_bytes());
    let err = d.decode(None, unknown.into()).unwrap_err().to_string();
    assert!(err.contains(&url), "the error names the registry: {err}");
}

#[test]
fn a_registry_under_a_path_prefix() {
    let registry = start_registry_under("schema-registry/", &[(704, "v7_4")]);
    assert!(registry.url.ends_with("/schema-registry/"));
    let d = decoder(DecoderOptions::default().with_schema_registry(registry.url.clone()));
    let wire: Bytes = std::fs::read(common::data(
        "rubin/wire_format/lsst.v7_4.confluent_wire.avro",
    ))
    .unwrap()
    .into();
    let alerts = d.decode(None, wire.clone()).unwrap();
    let offline = common::decoder_for_samples().decode(None, wire).unwrap();
    assert_eq!(alerts[0].to_json(), offline[0].to_json());
}

#[test]
fn registry_404_is_schema_not_found() {
    let registry = start_registry(&[(704, "v7_4")]);
    let d = decoder(DecoderOptions::default().with_schema_registry(registry.url.clone()));
    let mut wire = std::fs::read(common::data(
        "rubin/wire_format/lsst.v7_4.confluent_wire.avro",
    ))
    .unwrap();
    wire[1..5].copy_from_slice(&1101u32.to_be_bytes());
    let err = d.decode(None, wire.into()).unwrap_err();
    assert!(
        matches!(err, Error::SchemaNotFound { id: 1101, .. }),
        "{err}"
    );
}

#[test]
fn antares_bson_equals_the_json_it_was_made_from() {
    let d = decoder(DecoderOptions::default());
    for id in ["1262927", "2831231", "5803955"] {
        let bson = d
            .decode_file(&common::data(&format!("antares/{id}.bson.zlib")))
            .into_result()
            .unwrap();
        let json = d
            .decode_file(&common::data(&format!("antares/{id}.json")))
            .into_result()
            .unwrap();
        assert_eq!(bson[0].format(), Format::Antares);
        assert_eq!(json[0].format(), Format::Json);
        assert_eq!(bson[0].object_id(), json[0].object_id());
        assert_eq!(bson[0].alert_id().unwrap().to_string(), id);
        let (b, j): (serde_json::Value, serde_json::Value) = (
            serde_json::from_str(&bson[0].to_json()).unwrap(),
            serde_json::from_str(&json[0].to_json()).unwrap(),
        );
        assert_eq!(b, j);
    }
}

#[test]
fn antares_locus_shapes_of_1x_and_2x() {
    let d = decoder(DecoderOptions::default());
    let flat = br#"{"id": "ANT2020j7wo4", "ra": 88.2, "dec": -10.5, "properties": {"newest_alert_id": "ztf_candidate:1234", "newest_alert_magnitude": 18.5, "newest_alert_observation_time": 59000.5, "num_alerts": 3}, "tags": [], "catalogs": []}"#;
    let jsonapi = format!(
        r#"{{"data": {{"type": "locus", "id": "ANT2020j7wo4", "attributes": {}}}}}"#,
        std::str::from_utf8(flat).unwrap()
    );
    for payload in [flat.to_vec(), jsonapi.into_bytes()] {
        let a = &d.decode(None, payload.into()).unwrap()[0];
        assert_eq!(a.survey(), alertstream::Survey::Antares);
        assert_eq!(a.object_id().unwrap().to_string(), "ANT2020j7wo4");
        assert_eq!(a.alert_id().unwrap().to_string(), "ztf_candidate:1234");
        assert_eq!(a.ra(), Some(88.2));
        assert_eq!(
            a.time().unwrap().to_utc_string(),
            "2020-05-31T12:00:00.000Z"
        );
    }
}

#[test]
fn gzip_wrapped_container_and_detection() {
    let d = decoder(DecoderOptions::default());
    let alerts = d
        .decode_file(&common::data(
            "fink/alert_mjd60674.0512_obj747_src1494043.avro.gz",
        ))
        .into_result()
        .unwrap();
    assert_eq!(alerts[0].survey(), alertstream::Survey::Rubin);
    assert_eq!(alerts[0].band().as_deref(), Some("Y"));
    assert_eq!(d.detect(None, b"Obj\x01rest"), Some(Format::Ztf));
    assert_eq!(
        d.detect(None, b"\x00\x00\x00\x02\xbc..."),
        Some(Format::Confluent)
    );
    assert_eq!(d.detect(None, b"  {\"a\": 1}"), Some(Format::Json));
    assert_eq!(d.detect(None, b"hello"), None);
    let err = d
        .decode(None, Bytes::from_static(b"hello"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not Avro, BSON or JSON"), "{err}");
}

#[test]
fn ztf_accessors_on_a_known_alert() {
    let d = decoder(DecoderOptions::default());
    let a = &d
        .decode_file(&common::data(
            "ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro",
        ))
        .into_result()
        .unwrap()[0];
    let candidate = a.record().get("candidate").unwrap();
    assert_eq!(a.survey(), alertstream::Survey::Ztf);
    assert_eq!(a.ra(), candidate.get("ra").unwrap().as_f64());
    assert_eq!(
        a.time().unwrap().value,
        candidate.get("jd").unwrap().as_f64().unwrap()
    );
    assert_eq!(a.time().unwrap().scale, alertstream::TimeScale::JdUtc);
    let fid = candidate.get("fid").unwrap().as_i64().unwrap();
    assert_eq!(a.band().as_deref(), Some(["g", "r", "i"][fid as usize - 1]));
    let prv = a.record().get("prv_candidates").unwrap();
    let detections = prv
        .items()
        .filter(|p| !p.get("magpsf").unwrap().is_null())
        .count();
    assert_eq!(a.previous_detections(), detections);
    assert_eq!(a.light_curve().len(), prv.array_len().unwrap());
    for kind in alertstream::Cutout::ALL {
        assert!(a.cutout(kind).unwrap().unwrap().starts_with(b"SIMPLE  ="));
    }
}

#[test]
fn a_field_a_survey_lacks_is_none() {
    let d = decoder(DecoderOptions::default());
    let a = &d
        .decode(None, Bytes::from_static(br#"{"something": "else"}"#))
        .unwrap()[0];
    assert_eq!(a.survey(), alertstream::Survey::Unknown);
    assert!(
        a.time().is_none() && a.ra().is_none() && a.band().is_none() && a.brightness().is_none()
    );
    assert!(a.cutout(alertstream::Cutout::Science).unwrap().is_none());
    assert_eq!(a.previous_detections(), 0);
}

#[test]
fn an_old_fink_version_key_reads_its_schema_file_once() {
    let (schema, datums, expected) = fink_messages("fink/avro_multi_alerts.avro");
    let dir = std::env::temp_dir().join(format!("alertstream-fink-version-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("distribution_schema_fink_ztf_1.0_test.avsc");
    std::fs::write(&file, &schema).unwrap();
    let d = decoder(DecoderOptions::default().with_schema_dir(dir.clone()));
    let first = d.decode(Some(b"1.0_test"), datums[0].clone()).unwrap();
    assert_eq!(first[0].to_json(), expected[0]);
    // Read once: later messages do not go back to the file.
    std::fs::remove_file(&file).unwrap();
    let second = d.decode(Some(b"1.0_test"), datums[1].clone()).unwrap();
    assert_eq!(second[0].to_json(), expected[1]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A BSON document nested `levels` deep: `{"a": {"a": ... {}}}`.
fn deeply_nested_bson(levels: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 * levels + 5);
    for level in (1..=levels).rev() {
        let len = 5 + 8 * level as i32;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&[0x03, b'a', 0]);
    }
    out.extend_from_slice(&[5, 0, 0, 0, 0]);
    out.resize(out.len() + levels, 0);
    out
}

fn zlib(bytes: &[u8]) -> Bytes {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(bytes).unwrap();
    z.finish().unwrap().into()
}

#[test]
fn a_document_nested_100000_levels_deep_is_an_error_not_a_crash() {
    let d = decoder(DecoderOptions::default());
    let bomb = zlib(&deeply_nested_bson(100_000));
    let err = d.decode(None, bomb).unwrap_err();
    assert!(
        err.to_string().contains("nested deeper than 128 levels"),
        "{err}"
    );
    // The same shape a few levels deep is a valid document.
    let fine = d.decode(None, zlib(&deeply_nested_bson(5))).unwrap();
    assert_eq!(fine[0].to_json(), r#"{"a":{"a":{"a":{"a":{"a":{}}}}}}"#);
    let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(d.decode(None, json.into_bytes().into()).is_err());
}

#[test]
fn a_payload_inflating_past_the_limit_is_an_error_not_truncated() {
    use std::io::Write;
    let mut limits = alertstream::decode::Limits::default();
    assert!(limits.max_inflated >= 10 << 20 && limits.max_inflated <= 100 << 20);
    limits.max_inflated = 1 << 20;
    let d = decoder(DecoderOptions::default().with_limits(limits));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&vec![b' '; 2 << 20]).unwrap();
    let err = d.decode(None, gz.finish().unwrap().into()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                limit: alertstream::error::Limit::MaxInflated,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("max_inflated limit of 1 MiB"),
        "{err}"
    );
    let err = d.decode(None, zlib(&vec![0; 2 << 20])).unwrap_err();
    assert!(err.to_string().contains("zlib"), "{err}");
}

/// The fast JSON writer of `decode` writes exactly what serde_json writes,
/// for every bundled sample of every format.
#[test]
fn write_json_equals_serde_json_on_every_sample() {
    let d = common::decoder_for_samples();
    let mut checked = 0;
    for path in common::alert_samples() {
        for alert in d.decode_file(&path).alerts {
            let mut fast = Vec::new();
            alert.record().write_json(&mut fast).unwrap();
            let serde = serde_json::to_vec(&alert.record()).unwrap();
            assert!(
                fast == serde,
                "{}: the two JSON texts differ",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} alerts checked");
}

/// Fink's LSST alerts name a Solar System object by its MPC designation
/// when there is no diaObject (fink-client's `extract_id_from_lsst`).
#[test]
fn a_fink_lsst_solar_system_alert_is_named_by_its_designation() {
    let d = decoder(DecoderOptions::default());
    let sso = br#"{"diaSourceId": 170028904202813449, "diaObject": null,
        "diaSource": {"diaSourceId": 170028904202813449, "diaObjectId": 0, "ra": 10.0, "dec": -5.0,
                      "midpointMjdTai": 61020.25, "band": "r", "psfFlux": 1200.0},
        "mpc_orbits": {"designation": "2026 AB12"}}"#;
    let alert = d.decode(None, Bytes::from_static(sso)).unwrap().remove(0);
    assert_eq!(alert.survey(), alertstream::Survey::Rubin);
    assert_eq!(alert.object_id().unwrap().to_string(), "2026 AB12");
    let with_object = br#"{"diaObject": {"diaObjectId": 313853497622790165},
        "diaSource": {"diaSourceId": 1, "diaObjectId": 0, "ra": 1.0, "dec": 2.0},
        "mpc_orbits": null}"#;
    let alert = d
        .decode(None, Bytes::from_static(with_object))
        .unwrap()
        .remove(0);
    assert_eq!(alert.object_id().unwrap().to_string(), "313853497622790165");
}

/// A Lasair row ("lite" output) is an alert: object, position, the newest
/// detection, and its light curve (the values are checked against Python's
/// json reading in the CLI's broker tests).
#[test]
fn a_lasair_row_is_an_alert_with_a_light_curve() {
    let d = decoder(DecoderOptions::default());
    let row = br#"{"diaObjectId": 7, "ra": 150.1, "decl": 2.2, "UTC": "2026-11-30 03:12:45",
        "alert": {"diaSourcesList": [
            {"midpointMjdTai": 61020.5, "band": "g", "psfFlux": 900.0, "psfFluxErr": 50.0},
            {"midpointMjdTai": 61021.5, "band": "r", "psfFlux": 1100.0, "psfFluxErr": 55.0}],
          "diaForcedSourcesList": [{"midpointMjdTai": 61019.5, "band": "g", "psfFlux": 10.0}]}}"#;
    let alert = d.decode(None, Bytes::from_static(row)).unwrap().remove(0);
    assert_eq!(alert.survey(), alertstream::Survey::Lasair);
    assert_eq!(alert.object_id().unwrap().to_string(), "7");
    assert_eq!(alert.band().as_deref(), Some("r"));
    assert_eq!((alert.ra(), alert.dec()), (Some(150.1), Some(2.2)));
    assert_eq!(alert.time().unwrap().value, 61021.5);
    assert_eq!(alert.measurements().len(), 3);
    assert_eq!(
        alert.light_curve().len(),
        1,
        "the newest detection is this alert's own"
    );
}
