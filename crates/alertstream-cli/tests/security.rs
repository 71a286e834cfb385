//! SASL/SCRAM against a real broker (Tansu with --authentication): the right
//! password streams, a wrong one is a clear error within 30 s, and the
//! password never appears in anything alertstream prints.

mod common;

use common::{path, Tansu};
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct-horse-battery-staple";

fn with_password(mut c: Command, password: &str) -> Output {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

fn sasl_args(t: &Tansu, user: &str, mechanism: &str) -> Vec<String> {
    [
        "--servers",
        &t.servers(),
        "--security-protocol",
        "SASL_PLAINTEXT",
        "--sasl-mechanism",
        mechanism,
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(["--username".into(), user.into(), "--password-stdin".into()])
    .collect()
}

fn assert_no_secret(o: &Output, secret: &str) {
    for stream in [&o.stdout, &o.stderr] {
        assert!(
            !String::from_utf8_lossy(stream).contains(secret),
            "the password leaked into the output"
        );
    }
}

fn round_trip(user: &str, mechanism: &str, tansu_mechanism: &str) {
    let t = Tansu::with_users(&[(user, PASSWORD, tansu_mechanism)]);
    let auth = sasl_args(&t, user, mechanism);
    let mut publish = common::bin();
    publish
        .args([
            "publish",
            "--topic",
            "secure",
            "--format",
            "ztf",
            "--create-topic",
        ])
        .args(&auth);
    publish.arg(path("ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro"));
    let out = with_password(publish, PASSWORD);
    assert!(
        out.status.success(),
        "publish: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_secret(&out, PASSWORD);

    let mut consume = common::bin();
    consume.args([
        "consume",
        "secure",
        "--group",
        "g",
        "--display",
        "--timeout",
        "4",
        "--session-timeout-ms",
        "6000",
    ]);
    consume.args(&auth).args(["-X", "debug=security"]); // librdkafka's own verbose log must not leak it either
    let out = with_password(consume, PASSWORD);
    assert!(
        out.status.success(),
        "consume: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(common::stdout_lines(&out).len(), 1);
    assert_no_secret(&out, PASSWORD);
}

#[test]
fn scram_sha_512_streams_with_the_right_password() {
    round_trip("alice", "SCRAM-SHA-512", "scram512");
}

#[test]
fn scram_sha_256_streams_with_the_right_password() {
    round_trip("bob", "SCRAM-SHA-256", "scram256");
}

#[test]
fn a_wrong_password_is_a_clear_error_within_30_s() {
    let t = Tansu::with_users(&[("carol", PASSWORD, "scram512")]);
    t.create_topic_as("secure", "carol", PASSWORD);
    let mut consume = common::bin();
    consume
        .args(["consume", "secure", "--group", "g"])
        .args(sasl_args(&t, "carol", "SCRAM-SHA-512"));
    let start = Instant::now();
    let out = with_password(consume, "wrong-password");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
    let expected = format!(
        "authentication failed for user carol at {} (SASL SCRAM-SHA-512)",
        t.servers()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert_no_secret(&out, "wrong-password");
}
