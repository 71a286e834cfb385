//! Real faults against a real broker (Tansu on 127.0.0.1): an empty message,
//! a deleted topic, a broker that stops for good or restarts mid-save, a stop
//! request during an outage, two processes saving into one folder, and the
//! library pipeline with a user's handler.

mod common;

use alertstream::kafka::publisher::{Message, Publisher};
use alertstream::kafka::Consumer;
use alertstream::pipeline::{Options, Pipeline};
use alertstream::sink::Handler;
use alertstream::Alert;
use common::{path, run, stdout_lines, wait_until, Running, Tansu, TempDir};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

/// JSON Lines of `n` distinct ZTF-shaped alerts (`tag` makes their ids unique).
fn synthetic_alerts(dir: &TempDir, tag: &str, n: usize) -> String {
    let file = dir.join(&format!("{tag}.jsonl"));
    let pad = "x".repeat(2000);
    let text: String = (0..n)
        .map(|i| {
            format!(
                "{{\"objectId\":\"ZTF99{tag}{i:05}\",\"candid\":{},\"candidate\":{{\"jd\":2460000.5,\"fid\":1,\"magpsf\":18.5}},\"pad\":\"{pad}\"}}\n",
                4_000_000_000_000_000_000i64 + i as i64
            )
        })
        .collect();
    std::fs::write(&file, text).unwrap();
    file.display().to_string()
}

/// Saved alert files under `dir` (outside `_quarantine`, temporary files excluded).
fn saved(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_file() && !name.starts_with('.') {
            out.insert(name);
        }
    }
    out
}

/// `consume` of `topic` in group g; `extra` may set the session (the
/// default here is 6 s).
fn consume_args(t: &Tansu, topic: &str, extra: &[&str]) -> Vec<String> {
    let mut args = t.consume_args(topic, "g");
    if extra.contains(&"--session-timeout-ms") {
        let at = args
            .iter()
            .position(|a| a == "--session-timeout-ms")
            .unwrap();
        args.drain(at..at + 2);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn an_empty_message_is_quarantined_and_the_stream_goes_on() {
    let t = Tansu::sqlite();
    t.create_topic("empty", 1);
    let ztf = [
        path("ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro"),
        path("ztf/ztf_v3.5_1661382530015060001_ZTF18aaxjdyr.avro"),
    ];
    t.publish("empty", "ztf", &[], &[&ztf[0]]);
    let publisher = Publisher::new(&t.connection(), "empty").unwrap();
    let empty = Message {
        key: None,
        value: Vec::new(),
    };
    publisher.send(&empty).unwrap();
    publisher.flush(Duration::from_secs(30)).unwrap();
    t.publish("empty", "ztf", &[], &[&ztf[1]]);

    let dir = TempDir::new("empty");
    let save = dir.0.display().to_string();
    let out = common::bin()
        .args(consume_args(
            &t,
            "empty",
            &["--save", &save, "--timeout", "4"],
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("undecodable message empty[0] offset 1"),
        "{stderr}"
    );
    let kept = std::fs::read(dir.join("_quarantine/empty-0-1.bin")).unwrap();
    assert!(kept.is_empty(), "kept as it came: empty");
    assert_eq!(saved(&dir.0).len(), 2, "both alerts around it were saved");
}

#[test]
fn two_processes_saving_into_one_folder_both_finish() {
    let t = Tansu::sqlite();
    t.create_topic("shared", 2);
    let work = TempDir::new("shared");
    let input = synthetic_alerts(&work, "s", 2000);
    t.publish("shared", "json", &[], &[&input]);
    let out = work.join("out");
    let save = out.display().to_string();
    let args = consume_args(&t, "shared", &["--save", &save, "--timeout", "12"]);
    let mut first = Running::spawn(&args);
    wait_until(Duration::from_secs(60), "the first process saves", || {
        !saved(&out).is_empty()
    });
    let mut second = Running::spawn(&args);
    for member in [&mut first, &mut second] {
        assert_eq!(
            member.exit_within(Duration::from_secs(90)),
            Some(0),
            "{}",
            member.stderr()
        );
    }
    assert_eq!(
        saved(&out).len(),
        2000,
        "every alert saved by one or the other"
    );
}

#[test]
fn a_broker_gone_for_good_ends_consume_at_its_timeout() {
    let mut t = Tansu::sqlite();
    t.create_topic("gone", 1);
    let work = TempDir::new("gone");
    let input = synthetic_alerts(&work, "g", 100);
    t.publish("gone", "json", &[], &[&input]);
    let mut consumer = Running::spawn(&consume_args(&t, "gone", &["--display", "--timeout", "8"]));
    wait_until(Duration::from_secs(60), "alerts arrive", || {
        consumer.stdout_lines() >= 100
    });
    wait_until(Duration::from_secs(30), "every offset committed", || {
        common::committed(&t, "g", "gone") == 100
    });
    let stopped = Instant::now();
    t.stop();
    let code = consumer.exit_within(Duration::from_secs(40));
    let stderr = consumer.stderr();
    assert!(
        stopped.elapsed() < Duration::from_secs(30),
        "took {:?}: {stderr}",
        stopped.elapsed()
    );
    assert_eq!(code, Some(0), "every offset was committed before: {stderr}");
    assert!(stderr.contains("no broker reachable at"), "{stderr}");
}

#[test]
fn a_stop_request_during_an_outage_ends_the_run_within_seconds() {
    let mut t = Tansu::sqlite();
    t.create_topic("outage", 1);
    let work = TempDir::new("outage");
    let input = synthetic_alerts(&work, "o", 100);
    t.publish("outage", "json", &[], &[&input]);
    // Batches never end by themselves: the last one is pending at the stop.
    // The member cannot leave the group (no broker): a 2 s session is over
    // by the time the restarted one joins, so Tansu cannot strand it (its
    // coordinator expires a dead member only inside another's request, and
    // strands a newcomer that joins within the dead member's session).
    let mut consumer = Running::spawn(&consume_args(
        &t,
        "outage",
        &[
            "--display",
            "--batch",
            "100000",
            "--batch-ms",
            "600000",
            "--session-timeout-ms",
            "2000",
        ],
    ));
    wait_until(Duration::from_secs(60), "alerts arrive", || {
        consumer.stdout_lines() >= 100
    });
    t.stop();
    wait_until(Duration::from_secs(30), "the outage is reported", || {
        consumer.stderr().contains("no broker reachable")
    });
    let asked = Instant::now();
    consumer.signal(libc::SIGTERM);
    let code = consumer.exit_within(Duration::from_secs(30));
    let stderr = consumer.stderr();
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "a stop request ends the run within 5 s whatever the broker does; took {:?}",
        asked.elapsed()
    );
    assert_eq!(
        code,
        Some(1),
        "the last batch could not be committed: {stderr}"
    );
    assert!(stderr.contains("will be delivered again"), "{stderr}");
    // The broker returns: those alerts come again, none was lost.
    t.restart();
    let again = run(
        &consume_args(&t, "outage", &["--display", "--timeout", "8"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        stdout_lines(&again).len(),
        100,
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn a_second_stop_request_ends_the_run_at_once() {
    let mut t = Tansu::sqlite();
    t.create_topic("twice", 1);
    let work = TempDir::new("twice");
    let input = synthetic_alerts(&work, "w", 50);
    t.publish("twice", "json", &[], &[&input]);
    let mut consumer = Running::spawn(&consume_args(
        &t,
        "twice",
        &["--display", "--batch", "100000", "--batch-ms", "600000"],
    ));
    wait_until(Duration::from_secs(60), "alerts arrive", || {
        consumer.stdout_lines() >= 50
    });
    t.stop(); // the first request now waits for a broker that does not answer
    wait_until(Duration::from_secs(30), "the outage is reported", || {
        consumer.stderr().contains("no broker reachable")
    });
    consumer.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    consumer.signal(libc::SIGINT);
    let code = consumer.exit_within(Duration::from_secs(10));
    assert!(
        asked.elapsed() < Duration::from_millis(500),
        "the second request ended it at once; took {:?}",
        asked.elapsed()
    );
    assert_eq!(code, Some(130), "{}", consumer.stderr());
}

#[test]
fn a_broker_restart_mid_save_loses_and_duplicates_nothing() {
    let mut t = Tansu::sqlite();
    t.create_topic("restart", 1);
    let work = TempDir::new("restart");
    let n = 2000;
    let input = synthetic_alerts(&work, "r", n);
    t.publish("restart", "json", &[], &[&input]);
    let out = work.join("out");
    let save = out.display().to_string();
    let mut consumer = Running::spawn(&consume_args(
        &t,
        "restart",
        &[
            "--save",
            &save,
            "--display",
            "--timeout",
            "20",
            "--batch",
            "100",
        ],
    ));
    wait_until(Duration::from_secs(60), "the consumer saves", || {
        saved(&out).len() >= 300
    });
    t.stop(); // kill -9
    std::thread::sleep(Duration::from_secs(2));
    t.restart();
    let code = consumer.exit_within(Duration::from_secs(120));
    let stderr = consumer.stderr();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(saved(&out).len(), n, "nothing lost: {stderr}");
    assert!(
        stderr.contains("no broker reachable"),
        "the outage is reported: {stderr}"
    );
    assert!(
        stderr.contains("broker reachable again"),
        "and its end: {stderr}"
    );
    let again = run(
        &consume_args(&t, "restart", &["--display", "--timeout", "5"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(again.status.success());
    assert!(
        stdout_lines(&again).is_empty(),
        "everything saved was committed: nothing is delivered again"
    );
}

#[test]
fn the_library_pipeline_hands_every_alert_to_a_closure_once() {
    let t = Tansu::sqlite();
    t.create_topic("hooks", 1);
    let work = TempDir::new("hooks");
    let input = synthetic_alerts(&work, "h", 300);
    t.publish("hooks", "json", &[], &[&input]);
    let run_pipeline = |limit: Option<u64>| {
        let config = common::consumer_config(&t, "hooks-group", "hooks");
        let mut seen = Vec::new();
        let handler = Handler::new(|alert: &Alert| {
            seen.push(alert.object_id().unwrap().to_string());
            Ok(())
        });
        let mut options = Options::default();
        options.limit = limit;
        options.idle_timeout = Some(Duration::from_secs(4));
        let stats = Pipeline::new(Consumer::new(config).unwrap(), handler)
            .options(options)
            .run()
            .unwrap();
        assert_eq!(stats.alerts as usize, seen.len());
        seen
    };
    let first = run_pipeline(Some(120));
    assert_eq!(first.len(), 120);
    let rest = run_pipeline(None);
    assert_eq!(rest.len(), 180, "resumed after the committed 120");
    let all: BTreeSet<String> = first.into_iter().chain(rest).collect();
    assert_eq!(all.len(), 300, "each alert once");
}

#[test]
fn a_failing_handler_stops_the_pipeline_and_its_alert_is_delivered_again() {
    let t = Tansu::sqlite();
    t.create_topic("failing", 1);
    let work = TempDir::new("failing");
    let input = synthetic_alerts(&work, "f", 50);
    t.publish("failing", "json", &[], &[&input]);
    let config = || common::consumer_config(&t, "failing-group", "failing");
    let mut handled = 0;
    let handler = Handler::new(|_: &Alert| {
        if handled == 30 {
            return Err(alertstream::Error::Handler("the database is down".into()));
        }
        handled += 1;
        Ok(())
    });
    // Batches of 10: the three before the failing alert are sealed and safe.
    let mut options = Options::default();
    options.batch = 10;
    options.batch_wait = Duration::from_secs(60);
    let error = Pipeline::new(Consumer::new(config()).unwrap(), handler)
        .options(options)
        .run()
        .unwrap_err();
    assert!(
        error.to_string().contains("the database is down"),
        "{error}"
    );
    let mut next = Consumer::new(config()).unwrap();
    let alert = next.poll(Duration::from_secs(20)).unwrap().unwrap();
    assert_eq!(
        alert.kafka().unwrap().offset,
        30,
        "the alert that failed, and none before it, is delivered again"
    );
}

#[test]
fn the_async_stream_yields_alerts_and_commits_what_was_processed() {
    use alertstream::kafka::Checkpoint;
    use futures_util::StreamExt;
    let t = Tansu::sqlite();
    t.create_topic("async", 1);
    let work = TempDir::new("async");
    let input = synthetic_alerts(&work, "a", 40);
    t.publish("async", "json", &[], &[&input]);
    let config = || common::consumer_config(&t, "async-group", "async");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let ids = runtime.block_on(async {
        let mut alerts = Consumer::new(config()).unwrap().stream(8);
        let mut ids = Vec::new();
        while ids.len() < 25 {
            let next = tokio::time::timeout(Duration::from_secs(30), alerts.next()).await;
            let alert = next.expect("an alert within 30 s").unwrap().unwrap();
            ids.push(alert.object_id().unwrap().to_string());
            alerts.commit(Checkpoint::after(&alert)).unwrap();
        }
        alerts.close().unwrap();
        ids
    });
    assert_eq!(ids.len(), 25);
    let mut rest = Consumer::new(config()).unwrap();
    let first = rest.poll(Duration::from_secs(20)).unwrap().unwrap();
    assert_eq!(
        first.kafka().unwrap().offset,
        25,
        "resumes after the last commit"
    );
}

/// `consume --display | head -1`: the reader goes away; exit 0, quietly,
/// and what was not displayed is not committed.
#[test]
fn a_closed_pipe_ends_consume_quietly() {
    let t = Tansu::sqlite();
    t.create_topic("piped", 1);
    let work = TempDir::new("piped");
    let input = synthetic_alerts(&work, "p", 3000);
    t.publish("piped", "json", &[], &[&input]);
    let mut consume = common::bin();
    consume.args(consume_args(&t, "piped", &["--display", "--timeout", "10"]));
    let (first, out) = common::first_line_then_close(consume);
    assert!(first.contains("piped"), "{first}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let rest = run(&consume_args(&t, "piped", &["--display", "--timeout", "5"])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(
        stdout_lines(&rest).len() > 3000 - 1000,
        "alerts past the closed pipe were not committed"
    );
}
