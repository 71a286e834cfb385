//! `alertstream table`: every bundled sample into Parquet, checked value for
//! value against fastavro and pymongo's bson by tests/oracles/check_table.py
//! (pyarrow reads the file; polars and pandas open it too).

mod common;

use common::{assert_success, bin, data, fink_python, path, run, TempDir};
use std::path::Path;
use std::process::Command;

/// Runs tests/oracles/check_table.py; its stderr is the failure message.
fn check(mode: &str, table: &Path, sources: &[String]) -> String {
    let script = data("../../tests/oracles/check_table.py");
    let out = Command::new(fink_python())
        .arg(script)
        .arg(mode)
        .arg(table)
        .args(sources)
        .output()
        .unwrap();
    assert_success(
        &out,
        &format!("check_table.py {mode} {}: ", table.display()),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The files under a folder of the test data, in the order `table` reads them.
fn files(rel: &str) -> Vec<String> {
    let (files, errors) = alertstream::decode::files::files_under(&[data(rel)]);
    assert!(errors.is_empty());
    files.iter().map(|p| p.display().to_string()).collect()
}

fn table(args: &[&str]) {
    let out = run(&[&["table"], args].concat());
    assert_success(&out, &format!("table {args:?}: "));
}

/// The bundled Rubin alerts (schema versions 7 to 11) into one table.
fn rubin_table(out: &Path, extra: &[&str]) {
    let schemas = path("rubin/schema");
    let rubin = path("rubin");
    let args = [
        "--schema-dir",
        &schemas,
        &rubin,
        "-o",
        out.to_str().unwrap(),
    ];
    table(&[&args[..], extra].concat());
}

#[test]
fn ztf_alerts_of_every_schema_version_make_one_table_equal_to_fastavro() {
    let dir = TempDir::new("table-ztf");
    let out = dir.join("ztf.parquet");
    table(&[&path("ztf"), "-o", out.to_str().unwrap()]);
    let said = check("alerts", &out, &files("ztf"));
    assert!(said.contains("19 alerts equal"), "{said}");
}

#[test]
fn cutouts_are_binary_columns_only_when_asked() {
    let dir = TempDir::new("table-cutouts");
    let (without, with) = (dir.join("a.parquet"), dir.join("b.parquet"));
    let source = path("fink/avro_multi_alerts.avro");
    table(&[&source, "-o", without.to_str().unwrap()]);
    table(&[&source, "-o", with.to_str().unwrap(), "--cutouts"]);
    check("alerts", &with, std::slice::from_ref(&source));
    check("alerts", &without, std::slice::from_ref(&source));
    let with_size = std::fs::metadata(&with).unwrap().len();
    let without_size = std::fs::metadata(&without).unwrap().len();
    assert!(
        with_size > 3 * without_size,
        "{with_size} vs {without_size}"
    );
}

#[test]
fn every_fink_sample_equals_fastavro() {
    let dir = TempDir::new("table-fink");
    for (i, source) in files("fink")
        .iter()
        .filter(|f| f.contains(".avro"))
        .enumerate()
    {
        let out = dir.join(&format!("{i}.parquet"));
        table(&[source, "-o", out.to_str().unwrap(), "--cutouts"]);
        check("alerts", &out, std::slice::from_ref(source));
    }
}

#[test]
fn rubin_versions_7_to_11_make_one_table_equal_to_fastavro() {
    let dir = TempDir::new("table-rubin");
    let out = dir.join("rubin.parquet");
    rubin_table(&out, &[]);
    let said = check("alerts", &out, &files("rubin"));
    assert!(said.contains("10 alerts equal"), "{said}");
}

#[test]
fn antares_documents_equal_pymongo_bson() {
    let dir = TempDir::new("table-antares");
    let out = dir.join("antares.parquet");
    let sources: Vec<String> = files("antares")
        .into_iter()
        .filter(|f| f.ends_with(".bson.zlib"))
        .collect();
    let args: Vec<&str> = sources.iter().map(String::as_str).collect();
    table(&[&args[..], &["-o", out.to_str().unwrap()]].concat());
    let said = check("alerts", &out, &sources);
    assert!(said.contains("3 alerts equal"), "{said}");
}

#[test]
fn light_curves_agree_with_a_computation_from_fastavro_records() {
    let dir = TempDir::new("table-lc");
    let ztf = dir.join("ztf.parquet");
    table(&[&path("ztf"), "-o", ztf.to_str().unwrap(), "--lightcurve"]);
    let said = check("lightcurve", &ztf, &files("ztf"));
    assert!(said.contains("'g'") && said.contains("'r'"), "{said}");
    let fink = dir.join("fink.parquet");
    let source = path("fink/spark-part-00001-snappy.avro");
    table(&[&source, "-o", fink.to_str().unwrap(), "--lightcurve"]);
    check("lightcurve", &fink, &[source]);
    let rubin = dir.join("rubin.parquet");
    rubin_table(&rubin, &["--lightcurve"]);
    check("lightcurve", &rubin, &files("rubin"));
}

#[test]
fn a_field_whose_type_changed_is_refused_naming_it_and_both_versions() {
    let dir = TempDir::new("table-conflict");
    let out = dir.join("mixed.parquet");
    let result = run(&["table", &path("fink"), "-o", out.to_str().unwrap()]);
    assert_eq!(result.status.code(), Some(1));
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(err.contains("field timestamp is timestamp-micros"), "{err}");
    assert!(err.contains("but string in"), "{err}");
    assert!(
        err.contains("schema ztf.alert") && err.contains("topLevelRecord"),
        "{err}"
    );
    assert!(!out.exists(), "no half-written table is left behind");
    let leftovers = std::fs::read_dir(&dir.0).unwrap().count();
    assert_eq!(leftovers, 0, "the temporary file is removed");
}

#[test]
fn csv_on_stdout_flattens_records_and_says_what_it_left_out() {
    let out = bin()
        .args(["table", &path("ztf"), "-o", "-"])
        .output()
        .unwrap();
    assert_success(&out, "table -o -: ");
    let text = String::from_utf8(out.stdout).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with("objectId,candid,candidate.jd,candidate.fid"),
        "{header}"
    );
    assert!(header.contains(",time_utc"), "{header}");
    assert_eq!(text.lines().count(), 1 + 19);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("prv_candidates"), "{err}");
}

#[test]
fn an_unknown_extension_asks_for_the_format() {
    let out = run(&["table", &path("ztf"), "-o", "/tmp/x.xlsx"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--output-format"));
}

#[test]
fn arrow_ipc_output_is_read_by_pyarrow() {
    let dir = TempDir::new("table-ipc");
    let out = dir.join("ztf.arrow");
    table(&[&path("ztf"), "-o", out.to_str().unwrap(), "--json"]);
    let read = Command::new(fink_python())
        .args([
            "-c",
            "import pyarrow.ipc,sys; t=pyarrow.ipc.open_file(sys.argv[1]).read_all(); print(t.num_rows, t.schema.field('candid').type)",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&read, "pyarrow.ipc: ");
    assert_eq!(String::from_utf8_lossy(&read.stdout).trim(), "19 int64");
}
