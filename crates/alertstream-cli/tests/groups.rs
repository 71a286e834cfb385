//! Consumer groups as they behave on a real broker (Tansu): a `^regex`
//! subscription that matches nothing yet waits for its topic; a member that
//! the group gives no partition while messages wait is told so every 30 s
//! (with the default session), and with `--timeout` it ends with exit 1
//! rather than "0 alerts"; a restart with `--instance-id` gets its
//! partitions back at once.

mod common;

use common::{path, Running, Tansu};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn args(t: &Tansu, topic: &str, group: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "consume",
        topic,
        "--servers",
        &t.servers(),
        "--group",
        group,
        "--quiet",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn a_pattern_that_matches_nothing_yet_waits_for_its_topic() {
    let t = Tansu::sqlite();
    let mut consumer = Running::spawn(&args(
        &t,
        "^later_.*",
        "g",
        &[
            "--display",
            "--limit",
            "19",
            "--session-timeout-ms",
            "6000",
            // Topics are looked for every second here (30 s by default).
            "-X",
            "topic.metadata.refresh.interval.ms=1000",
        ],
    ));
    common::wait_until(Duration::from_secs(30), "the wait is said", || {
        consumer.stderr().contains("matches ^later_.* yet")
    });
    std::thread::sleep(Duration::from_secs(3)); // still waiting, said once
    assert!(
        consumer.child.try_wait().unwrap().is_none(),
        "{}",
        consumer.stderr()
    );
    t.create_topic("later_night1", 1);
    t.publish("later_night1", "ztf", &[], &[&path("ztf")]);
    let code = consumer.exit_within(Duration::from_secs(60));
    let stderr = consumer.stderr();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(consumer.stdout_lines(), 19, "{stderr}");
    assert_eq!(stderr.matches("yet; waiting").count(), 1, "{stderr}");
    assert!(!stderr.contains("deleted"), "{stderr}");
}

#[test]
fn a_pattern_that_never_matches_ends_at_the_bound_with_exit_1() {
    let t = Tansu::sqlite();
    let started = Instant::now();
    let out = common::bin()
        .args(args(
            &t,
            "^never_.*",
            "g",
            &["--timeout", "2", "--session-timeout-ms", "2000"],
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // max(--timeout 2 s, 3 sessions of 2 s) = 6 s.
    assert!(started.elapsed() >= Duration::from_secs(6), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(30), "{stderr}");
    assert!(
        stderr.contains("group g assigned no partitions in 6 s")
            && stderr.contains("no topic of the broker matches"),
        "{stderr}"
    );
    assert!(!stderr.contains("0 alerts"), "{stderr}");
}

/// A plain confluent-kafka member that takes the topic's one partition and
/// pauses it, so that its messages wait unread while it stays in the group.
/// Its client id sorts first: the range assignor gives it the partition at
/// every rebalance.
fn paused_member(t: &Tansu, topic: &str, group: &str) -> Child {
    let script = format!(
        r#"
import confluent_kafka, sys
c = confluent_kafka.Consumer({{"bootstrap.servers": "{servers}", "group.id": "{group}",
    "client.id": "aaaa-holder", "partition.assignment.strategy": "range",
    "enable.auto.commit": False, "auto.offset.reset": "earliest"}})
def assigned(consumer, partitions):
    consumer.pause(partitions)
    print("assigned", len(partitions), flush=True)
c.subscribe(["{topic}"], on_assign=assigned)
while True:
    c.poll(0.2)
"#,
        servers = t.servers()
    );
    Command::new(common::fink_python())
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_member_without_partitions_is_told_why_and_its_timeout_ends_with_exit_1() {
    let t = Tansu::sqlite();
    t.create_topic("held", 1);
    t.publish("held", "ztf", &[], &[&path("ztf")]);
    let mut holder = paused_member(&t, "held", "team");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "assigned 1", "the holder took the partition");

    // Both with the default session (10 s): one without --timeout is told
    // every 30 s, one with --timeout 5 gives up at max(5 s, 3 x 10 s).
    let mut told = Running::spawn(&args(&t, "held", "team", &["--display"]));
    let started = Instant::now();
    let bounded = common::bin()
        .args(args(&t, "held", "team", &["--display", "--timeout", "5"]))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&bounded.stderr);
    assert_eq!(bounded.status.code(), Some(1), "{stderr}");
    assert!(bounded.stdout.is_empty());
    assert!(started.elapsed() >= Duration::from_secs(30), "{stderr}");
    assert!(
        stderr.contains("group team assigned no partitions in 30 s: 19 messages wait")
            && stderr.contains("--instance-id"),
        "{stderr}"
    );
    common::wait_until(Duration::from_secs(30), "the report", || {
        told.stderr()
            .contains("group team has assigned no partitions for 3")
    });
    assert!(
        told.stderr()
            .contains("19 messages wait in its topics; a member that stopped without leaving"),
        "{}",
        told.stderr()
    );
    assert_eq!(told.stdout_lines(), 0);
    told.signal(libc::SIGTERM);
    assert_eq!(told.exit_within(Duration::from_secs(10)), Some(0));
    let _ = holder.kill();
    let _ = holder.wait();
}

#[test]
fn a_static_member_restarted_after_kill_9_gets_its_partitions_back() {
    let t = Tansu::sqlite();
    t.create_topic("static", 2);
    let work = common::TempDir::new("static");
    let input = work.join("alerts.jsonl");
    let n = 2000;
    let pad = "x".repeat(2000);
    let text: String = (0..n)
        .map(|i| format!("{{\"objectId\":\"ZTF99st{i:05}\",\"candid\":{i},\"pad\":\"{pad}\"}}\n"))
        .collect();
    std::fs::write(&input, text).unwrap();
    t.publish("static", "json", &[], &[&input.display().to_string()]);
    let save = work.join("out").display().to_string();
    // The default session (10 s): a dynamic member restarted within it may
    // wait that long, or be stranded by Tansu; a static one is not.
    let member = |extra: &[&str]| {
        let mut a = args(
            &t,
            "static",
            "g",
            &["--save", &save, "--instance-id", "alertstream-test-1"],
        );
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let mut first = Running::spawn(&member(&["--fetch-wait-ms", "200", "--batch", "100"]));
    common::wait_until(Duration::from_secs(60), "a first commit", || {
        common::committed(&t, "g", "static") > 0
    });
    first.child.kill().unwrap(); // SIGKILL
    first.child.wait().unwrap();
    let restarted = Instant::now();
    let out = common::bin()
        .args(member(&["--timeout", "5"]))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        restarted.elapsed() < Duration::from_secs(30),
        "took {:?}: {stderr}",
        restarted.elapsed()
    );
    let saved = std::fs::read_dir(work.join("out"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .count();
    assert_eq!(saved, n, "every alert saved once: {stderr}");
    assert_eq!(common::committed(&t, "g", "static"), n as i64);
}
