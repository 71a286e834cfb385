//! The rolling Parquet sink without a broker: files named by the offsets
//! they hold, alerts delivered again skipped, a roll cut short by a crash
//! repaired by the next run, schema versions in files of their own.
#![cfg(feature = "table")]

mod common;

use alertstream::sink::parquet::{ParquetOptions, ParquetSink, PartitionBy};
use alertstream::{Alert, Decoder, DecoderOptions, KafkaMeta};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The ZTF samples as if consumed from partition 0 of topic `ztf`,
/// offsets from `first`, `copies` times over.
fn stream(first: i64, copies: usize) -> Vec<Alert> {
    let decoder = Decoder::new(DecoderOptions::default()).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::data("ztf"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let one: Vec<Alert> = files
        .iter()
        .flat_map(|f| decoder.decode_file(f).into_result().unwrap())
        .collect();
    let mut out = Vec::new();
    for (i, mut alert) in one
        .iter()
        .cycle()
        .take(one.len() * copies)
        .cloned()
        .enumerate()
    {
        alert.set_kafka(KafkaMeta {
            topic: "ztf".into(),
            partition: 0,
            offset: first + i as i64,
            key: None,
            timestamp_ms: Some(1_700_000_000_000 + i as i64),
            headers: Vec::new(),
        });
        out.push(alert);
    }
    out
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("alertstream-pq-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every kafka_offset in the folder's files, with how often it appears.
fn offsets_on_disk(dir: &Path) -> BTreeMap<i64, usize> {
    let mut seen = BTreeMap::new();
    for f in parquet_files(dir) {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&f).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let offsets = batch.column_by_name("kafka_offset").unwrap();
            for o in offsets.as_primitive::<Int64Type>().iter() {
                *seen.entry(o.unwrap()).or_insert(0) += 1;
            }
        }
    }
    seen
}

fn save(dir: &Path, alerts: &[Alert], options: ParquetOptions) -> u64 {
    let mut sink = ParquetSink::<usize>::open(dir, options).unwrap();
    for (i, alert) in alerts.iter().enumerate() {
        sink.take(alert).unwrap();
        if i % 7 == 6 {
            sink.seal(i).unwrap();
        }
    }
    sink.seal(alerts.len()).unwrap();
    let tokens = sink.finish().unwrap();
    assert_eq!(
        tokens.last(),
        Some(&alerts.len()),
        "every batch came back durable"
    );
    sink.skipped()
}

#[test]
fn files_are_named_by_the_offsets_they_hold_and_roll_by_count() {
    let dir = temp_dir("names");
    let alerts = stream(0, 2); // 38 alerts, offsets 0..=37
    let options = ParquetOptions::default().with_roll(10, Duration::from_secs(3600));
    assert_eq!(save(&dir, &alerts, options), 0);
    let files = parquet_files(&dir);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(&dir).unwrap().display().to_string())
        .collect();
    // Schema versions change along the samples, and a new version starts
    // new files; every file's name still covers exactly its offsets.
    for f in &files {
        let stem = f.file_stem().unwrap().to_str().unwrap();
        let parts: Vec<i64> = stem.split('-').map(|p| p.parse().unwrap()).collect();
        let (first, last) = (parts[1], parts[2]);
        let on_disk = offsets_on_disk_of(f);
        assert_eq!(on_disk.first(), Some(&first), "{stem}");
        assert_eq!(on_disk.last(), Some(&last), "{stem}");
        assert!(on_disk.len() <= 10, "{stem}: rolled after 10 alerts");
    }
    assert!(names.iter().all(|n| n.starts_with("ztf/0-")), "{names:?}");
    let seen = offsets_on_disk(&dir);
    assert_eq!(seen.len(), 38);
    assert!(seen.values().all(|&n| n == 1));
    std::fs::remove_dir_all(&dir).ok();
}

fn offsets_on_disk_of(file: &Path) -> Vec<i64> {
    let dir = temp_dir(&format!(
        "one-{}",
        file.file_stem().unwrap().to_string_lossy()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(file, dir.join("x.parquet")).unwrap();
    let offsets = offsets_on_disk(&dir).into_keys().collect();
    std::fs::remove_dir_all(&dir).ok();
    offsets
}

#[test]
fn alerts_delivered_again_are_skipped_when_their_files_are_on_disk() {
    let dir = temp_dir("again");
    let first = stream(0, 1);
    let options = || ParquetOptions::default().with_roll(1000, Duration::from_secs(3600));
    save(&dir, &first, options());
    // The commit was lost (a crash after the rename): the broker delivers
    // the same offsets again, then new ones.
    let again = stream(0, 2);
    let skipped = save(&dir, &again, options());
    assert_eq!(skipped, first.len() as u64);
    let seen = offsets_on_disk(&dir);
    assert_eq!(seen.len(), 38, "offsets 0..=37 on disk");
    assert!(seen.values().all(|&n| n == 1), "none twice: {seen:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_roll_cut_short_is_completed_by_the_next_run_without_duplicates() {
    let dir = temp_dir("cut");
    let alerts = stream(0, 1);
    let options = || {
        ParquetOptions::default()
            .with_roll(1000, Duration::from_secs(3600))
            .with_partition_by(vec![PartitionBy::Date])
    };
    save(&dir, &alerts, options());
    let files = parquet_files(&dir);
    assert!(files.len() >= 3, "several dates: {files:?}");
    // A crash between renames: one file of the roll never got its name.
    let lost = files[1].clone();
    let lost_offsets = offsets_on_disk_of(&lost);
    std::fs::remove_file(&lost).unwrap();
    let skipped = save(&dir, &alerts, options());
    assert_eq!(skipped, (alerts.len() - lost_offsets.len()) as u64);
    let seen = offsets_on_disk(&dir);
    assert_eq!(seen.len(), alerts.len());
    assert!(seen.values().all(|&n| n == 1), "none twice: {seen:?}");
    for f in parquet_files(&dir) {
        let date = f
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(date.starts_with("date=20"), "{date}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn documents_share_a_file_whose_columns_are_the_union_of_theirs() {
    let dir = temp_dir("docs");
    let decoder = Decoder::new(DecoderOptions::default()).unwrap();
    let mut alerts = Vec::new();
    for name in [
        "1262927.bson.zlib",
        "2831231.bson.zlib",
        "5803955.bson.zlib",
    ] {
        let mut alert = decoder
            .decode_file(&common::data("antares").join(name))
            .into_result()
            .unwrap()
            .remove(0);
        let offset = alerts.len() as i64;
        alert.set_kafka(KafkaMeta {
            topic: "antares".into(),
            partition: 0,
            offset,
            key: None,
            timestamp_ms: None,
            headers: Vec::new(),
        });
        alerts.push(alert);
    }
    save(&dir, &alerts, ParquetOptions::default());
    let files = parquet_files(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with("antares/0-0-2.parquet"));
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&files[0]).unwrap()).unwrap();
    let schema = reader.schema().clone();
    assert!(schema.field_with_name("new_alert").is_ok());
    assert!(schema.field_with_name("alert_history").is_ok());
    let rows: usize = reader.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 3);
    std::fs::remove_dir_all(&dir).ok();
}
