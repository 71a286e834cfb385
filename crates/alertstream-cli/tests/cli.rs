//! The `alertstream` binary as a user runs it: output, errors, exit codes.

mod common;

use common::{data, path, run, stdout_lines};

#[test]
fn decode_prints_one_json_object_per_alert_with_exact_ids() {
    let out = run(&["decode", &path("fink/avro_multi_alerts.avro"), &path("ztf")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 11 + 19);
    let ztf: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    // 19-digit candid: exact as a JSON integer, not a rounded float.
    let candid = ztf["candid"].as_i64().unwrap();
    assert!(lines
        .last()
        .unwrap()
        .contains(&format!("\"candid\":{candid}")));
    assert!(candid > 1_000_000_000_000_000_000);
    let stamp = ztf["cutoutScience"]["stampData"].as_str().unwrap();
    assert!(
        stamp.starts_with("H4sI"),
        "gzip bytes as base64: {}",
        &stamp[..8]
    );
}

#[test]
fn inspect_table_and_json() {
    let file = path("ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro");
    let table = run(&["inspect", &file]);
    assert_eq!(table.status.code(), Some(0));
    let lines = stdout_lines(&table);
    assert!(lines[0].starts_with("OBJECT"));
    assert!(lines[1].contains("ZTF17aaajnnn") && lines[1].contains("472263571115115000"));
    assert!(lines[1].contains("STD"), "all three cutouts: {}", lines[1]);

    let json = run(&["inspect", "--json", &file]);
    let v: serde_json::Value = serde_json::from_str(&stdout_lines(&json)[0]).unwrap();
    assert_eq!(v["object_id"], "ZTF17aaajnnn");
    assert_eq!(v["alert_id"].as_i64(), Some(472263571115115000));
    assert_eq!(v["time_scale"], "JD(UTC)");
    // JD 2458226.7635764, converted with Python datetime: 2018-04-18 06:19:33.001
    assert_eq!(v["time_utc"], "2018-04-18T06:19:33.001Z");
    assert_eq!(v["cutouts"].as_array().unwrap().len(), 3);
}

#[test]
fn a_bad_file_is_reported_and_the_rest_still_decoded() {
    let dir = std::env::temp_dir().join(format!("alertstream-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read(data("ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro")).unwrap();
    std::fs::write(dir.join("a_truncated.avro"), &good[..good.len() / 2]).unwrap();
    std::fs::write(dir.join("b_good.avro"), &good).unwrap();
    std::fs::write(dir.join("c_text.txt"), "hello").unwrap();
    let out = run(&["decode", &dir.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stdout_lines(&out).len(),
        1,
        "the good file is still decoded"
    );
    assert!(
        stderr.contains("a_truncated.avro (record 0): truncated at byte"),
        "{stderr}"
    );
    assert!(
        stderr.contains("c_text.txt: not Avro, BSON or JSON"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn multi_record_failure_names_the_record() {
    let good = std::fs::read(data("fink/avro_multi_alerts.avro")).unwrap();
    let file =
        std::env::temp_dir().join(format!("alertstream-cli-multi-{}.avro", std::process::id()));
    std::fs::write(&file, &good[..good.len() * 2 / 3]).unwrap();
    let out = run(&["decode", &file.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    let decoded = stdout_lines(&out).len();
    assert!(
        (1..11).contains(&decoded),
        "alerts before the damage are still printed: {decoded}"
    );
    assert!(stderr.contains(&format!("(record {decoded})")), "{stderr}");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn confluent_needs_a_schema_source_and_says_so() {
    let file = path("rubin/wire_format/lsst.v9_0.confluent_wire.avro");
    let out = run(&["decode", &file]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("schema id 900 not found") && stderr.contains("--schema-dir"),
        "{stderr}"
    );

    let ok = run(&["decode", "--schema-dir", &path("rubin/schema"), &file]);
    assert_eq!(ok.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout_lines(&ok)[0]).unwrap();
    assert!(v["diaSource"]["diaSourceId"].is_i64());
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["decode"]).status.code(), Some(2));
    assert_eq!(
        run(&["decode", "--format", "xml", "x"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    let help = run(&["decode", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("Examples:"));
}

#[test]
fn missing_path_is_an_error_exit_1() {
    let out = run(&["inspect", "/nonexistent/alert.avro"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file or directory"));
}

/// Rubin's 19-digit object ids fit the OBJECT column: every row's alert id
/// ends where the header's ALERT does.
#[test]
fn inspect_columns_line_up_for_rubin_ids() {
    let files = [
        path("rubin/fake"),
        path("ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro"),
    ];
    let schemas = path("rubin/schema");
    let mut args = vec!["inspect", "--schema-dir", &schemas];
    args.extend(files.iter().map(String::as_str));
    let out = run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = stdout_lines(&out);
    let alert_end = lines[0].find("ALERT").unwrap() + "ALERT".len();
    let mut json_args = args.clone();
    json_args.insert(1, "--json");
    let summaries = stdout_lines(&run(&json_args));
    assert_eq!(summaries.len(), lines.len() - 1);
    let mut longest_object = 0;
    for (row, summary) in lines[1..].iter().zip(&summaries) {
        let v: serde_json::Value = serde_json::from_str(summary).unwrap();
        let object = v["object_id"].to_string().trim_matches('"').to_owned();
        let alert = v["alert_id"].to_string().trim_matches('"').to_owned();
        longest_object = longest_object.max(object.len());
        assert!(row.starts_with(&object), "{row}");
        let end = row.find(&alert).unwrap() + alert.len();
        assert_eq!(end, alert_end, "misaligned row: {row}");
    }
    assert_eq!(longest_object, 18, "the sample has Rubin-sized ids");
}

/// `decode DIR | head -1`: the reader goes away; exit 0, nothing on stderr.
#[test]
fn a_closed_pipe_ends_decode_quietly() {
    let mut decode = common::bin();
    decode.args(["decode", &path("ztf"), &path("fink")]);
    let (first, out) = common::first_line_then_close(decode);
    assert!(first.starts_with('{'));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn seconds_must_be_a_finite_number_of_seconds() {
    for bad in ["-1", "inf", "NaN", "soon"] {
        let timeout = format!("--timeout={bad}");
        let out = common::run(&[
            "consume",
            "t",
            "--servers",
            "127.0.0.1:1",
            "--group",
            "g",
            &timeout,
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--timeout {bad}: {err}");
        assert!(err.contains("expected a number of seconds"), "{err}");
    }
}
