//! `consume --save-format parquet` against a real broker (Tansu): exactly
//! once on disk across kill -9 at several moments, few large files, Hive
//! partitions that pyarrow and polars read back as columns.

mod common;

use common::{assert_success, data, fink_python, path, Tansu, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
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

fn temporary_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains(".alertstream-tmp") {
                out.push(p);
            }
        }
    }
    out
}

/// check_table.py's dataset check: every row once, partitions as columns.
fn check_dataset(dir: &Path, rows: usize) -> String {
    let out = Command::new(fink_python())
        .arg(data("../../tests/oracles/check_table.py"))
        .args(["dataset", dir.to_str().unwrap(), &rows.to_string()])
        .output()
        .unwrap();
    assert_success(&out, "check_table.py dataset: ");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn spawn(args: &[String]) -> Child {
    common::bin()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_for_files(dir: &Path, more_than: usize, limit: Duration) {
    let deadline = Instant::now() + limit;
    while parquet_files(dir).len() <= more_than {
        assert!(
            Instant::now() < deadline,
            "no new Parquet file within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn kill_9_at_several_moments_leaves_every_alert_on_disk_exactly_once() {
    let t = Tansu::sqlite();
    t.create_topic("pq", 2);
    let copies = 30;
    t.publish(
        "pq",
        "ztf",
        &["--repeat", &copies.to_string()],
        &[&path("ztf")],
    );
    let n = 19 * copies;
    let work = TempDir::new("pq-crash");
    let out = work.join("out");
    let save = out.display().to_string();
    let mut args = t.consume_args("pq", "g");
    args.extend(
        [
            "--save",
            &save,
            "--save-format",
            "parquet",
            "--roll",
            "40",
            "--roll-seconds",
            "0.2",
            "--batch",
            "10",
            "--timeout",
            "20",
        ]
        .map(String::from),
    );
    // Killed right after a file appears (renamed, its offsets most likely
    // not yet committed), then again a little later (mid-roll).
    for (kill_after_files, extra_wait_ms) in [(0, 0), (3, 0), (6, 150)] {
        let mut child = spawn(&args);
        let before = parquet_files(&out).len().max(kill_after_files);
        wait_for_files(&out, before, Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(extra_wait_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(rows_in(&out) < n, "the kill came too late to test anything");
    }
    // The last run goes to the end; the killed members' sessions (6 s)
    // expire before the group hands their partitions over.
    let mut last = args.clone();
    let timeout = last.iter().position(|a| a == "--timeout").unwrap();
    last[timeout + 1] = "15".into();
    let done = common::bin().args(&last).output().unwrap();
    assert_success(&done, "the last run: ");
    assert!(
        temporary_files(&out).is_empty(),
        "no temporary file remains"
    );
    let said = check_dataset(&out, n);
    assert!(said.contains("\"rows\": 570"), "{said}");
}

/// Rows in the folder's complete files, read with pyarrow.
fn rows_in(dir: &Path) -> usize {
    if parquet_files(dir).is_empty() {
        return 0;
    }
    let out = Command::new(fink_python())
        .args([
            "-c",
            "import pyarrow.dataset as d,sys; print(d.dataset(sys.argv[1], format='parquet', partitioning='hive').count_rows())",
        ])
        .arg(dir)
        .output()
        .unwrap();
    assert_success(&out, "count_rows: ");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Consumes a topic as Parquet files into `out` until 10 s without an alert.
fn save_as_parquet(t: &Tansu, topic: &str, out: &Path, extra: &[&str]) {
    let mut args = t.consume_args(topic, "g");
    let save = [
        "--save",
        out.to_str().unwrap(),
        "--save-format",
        "parquet",
        "--timeout",
        "10",
    ];
    args.extend(save.iter().chain(extra).map(|a| a.to_string()));
    let done = common::bin().args(&args).output().unwrap();
    assert_success(&done, "consume: ");
}

#[test]
fn ten_thousand_alerts_of_one_partition_make_a_handful_of_files() {
    let t = Tansu::sqlite();
    t.create_topic("many", 1);
    let n = 10_000;
    let sample = path("fink/alert_mjd60674.0512_obj747_src1494043.avro.gz");
    t.publish("many", "ztf", &["--repeat", &n.to_string()], &[&sample]);
    let work = TempDir::new("pq-many");
    let out = work.join("out");
    save_as_parquet(&t, "many", &out, &[]);
    let files = parquet_files(&out);
    assert!(
        (1..=3).contains(&files.len()),
        "{} files for {n} alerts: {files:?}",
        files.len()
    );
    check_dataset(&out, n);
}

#[test]
fn partitions_by_date_and_class_come_back_as_columns() {
    let t = Tansu::sqlite();
    t.create_topic("fink", 1);
    t.publish("fink", "ztf", &[], &[&path("fink/part-3-305711.avro")]);
    let work = TempDir::new("pq-part");
    let out = work.join("out");
    save_as_parquet(&t, "fink", &out, &["--partition-by", "date,class"]);
    let files = parquet_files(&out);
    let folders: Vec<String> = files
        .iter()
        .map(|f| {
            f.parent()
                .unwrap()
                .strip_prefix(&out)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert!(
        folders
            .iter()
            .all(|f| f.starts_with("fink/date=20") && f.contains("/class=")),
        "{folders:?}"
    );
    assert!(
        folders.iter().any(|f| f.ends_with("class=SN candidate")),
        "{folders:?}"
    );
    let script = r#"
import sys, pyarrow.dataset as d, fastavro
t = d.dataset(sys.argv[1], format='parquet', partitioning='hive').to_table()
recs = list(fastavro.reader(open(sys.argv[2], 'rb')))
got = sorted(zip(t['candid'].to_pylist(), t['class'].to_pylist(), t['date'].to_pylist()))
want = sorted((r['candid'], r['finkclass']) for r in recs)
assert [g[:2] for g in got] == want, (got[:3], want[:3])
print(len(got), sorted(set(str(g[2]) for g in got)))
"#;
    let check = Command::new(fink_python())
        .args(["-c", script])
        .arg(&out)
        .arg(path("fink/part-3-305711.avro"))
        .output()
        .unwrap();
    assert_success(&check, "partition columns: ");
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(said.starts_with("31 "), "{said}");
}
