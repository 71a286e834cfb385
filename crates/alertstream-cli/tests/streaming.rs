//! Streaming against a real broker (Tansu on 127.0.0.1, SQLite storage):
//! every wire format end to end, group resume, shared groups, kill -9,
//! poison messages, SIGTERM, the library consumer, and fink-client reading
//! what we saved.

mod common;

use alertstream::kafka::consumer::Consumer;
use alertstream::sink::{FileSink, Layout, SaveFormat};
use alertstream::{Alert, Decoder, DecoderOptions};
use common::{fails_within, path, run, stdout_lines, Tansu, TempDir};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn decoder() -> Decoder {
    Decoder::new(DecoderOptions::default().with_schema_dir(common::data("rubin/schema"))).unwrap()
}

fn alerts_of(paths: &[&str]) -> Vec<Alert> {
    let d = decoder();
    let mut files = Vec::new();
    for p in paths {
        let p = Path::new(p);
        if p.is_dir() {
            let mut inner: Vec<_> = std::fs::read_dir(p)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .collect();
            inner.sort();
            files.extend(inner);
        } else {
            files.push(p.to_path_buf());
        }
    }
    files
        .iter()
        .flat_map(|p| d.decode_file(p).into_result().unwrap())
        .collect()
}

/// Saved files (outside `_quarantine`), by name relative to `dir`.
fn saved_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.ends_with("_quarantine") {
                    stack.push(p);
                }
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The saved files are exactly one per distinct alert name, and each holds a
/// record equal to an input record of that name.
fn assert_saved_equal_inputs(dir: &Path, inputs: &[Alert]) {
    let namer_dir = TempDir::new("namer");
    let namer = FileSink::new(namer_dir.0.clone(), Layout::Fink, SaveFormat::Avro).unwrap();
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in inputs {
        let ext = if a.schema().is_some() { "avro" } else { "json" };
        let name = namer.relative_path(a, ext).display().to_string();
        expected.entry(name).or_default().insert(a.to_json());
    }
    let saved = saved_files(dir);
    assert_eq!(
        saved.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    let d = decoder();
    for (name, bytes) in saved {
        let alerts = d.decode(None, bytes.into()).unwrap();
        assert_eq!(alerts.len(), 1, "{name}: one record per file");
        assert!(
            expected[&name].contains(&alerts[0].to_json()),
            "{name}: saved record differs from the input"
        );
    }
}

fn consume(t: &Tansu, topic: &str, group: &str, extra: &[&str]) -> std::process::Output {
    let mut args = t.consume_args(topic, group);
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = common::bin().args(&args).output().unwrap();
    common::assert_success(&out, "consume: ");
    out
}

fn round_trip(format: &str, inputs: &[&str], publish_extra: &[&str], consume_extra: &[&str]) {
    let t = Tansu::sqlite();
    t.create_topic(format, 1);
    t.publish(format, format, publish_extra, inputs);
    let out_dir = TempDir::new("saved");
    let save = out_dir.0.display().to_string();
    let mut extra = vec!["--save", &save, "--display", "--timeout", "4"];
    extra.extend_from_slice(consume_extra);
    let out = consume(&t, format, "g", &extra);
    let expected = alerts_of(inputs);
    assert_eq!(
        stdout_lines(&out).len(),
        expected.len(),
        "one display line per alert"
    );
    assert_saved_equal_inputs(&out_dir.0, &expected);
}

/// ZTF alerts with distinct candids (the repo has one alert under four schema versions).
fn distinct_ztf() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(common::data("ztf"))
        .unwrap()
        .flatten()
        .map(|e| e.path().display().to_string())
        .filter(|p| !p.contains("472263571115115000") || p.contains("v3.3"))
        .collect();
    v.sort();
    v
}

#[test]
fn ztf_containers_round_trip() {
    let files = distinct_ztf();
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    round_trip("ztf", &refs, &[], &[]);
}

#[test]
fn fink_schemaless_with_schema_key_round_trip() {
    let files = [
        path("fink/avro_multi_alerts.avro"),
        path("fink/ZTF19acihgng.avro"),
    ];
    round_trip("fink", &[&files[0], &files[1]], &[], &[]);
}

#[test]
fn confluent_round_trip() {
    let dir = path("rubin/schema");
    let wire = path("rubin/wire_format");
    round_trip(
        "confluent",
        &[&wire],
        &["--schema-dir", &dir],
        &["--schema-dir", &dir],
    );
}

#[test]
fn antares_bson_round_trip() {
    let files: Vec<String> = ["1262927", "2831231", "5803955"]
        .iter()
        .map(|id| path(&format!("antares/{id}.bson.zlib")))
        .collect();
    round_trip("antares", &[&files[0], &files[1], &files[2]], &[], &[]);
}

#[test]
fn json_round_trip() {
    let files: Vec<String> = ["1262927", "2831231"]
        .iter()
        .map(|id| path(&format!("antares/{id}.json")))
        .collect();
    round_trip("json", &[&files[0], &files[1]], &[], &[]);
}

/// The alert ids of `--display` lines (fifth column).
fn displayed_ids(o: &std::process::Output) -> Vec<String> {
    ids_of_lines(&String::from_utf8_lossy(&o.stdout))
}

fn ids_of_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().nth(4).unwrap().to_owned())
        .collect()
}

#[test]
fn a_group_resumes_where_it_stopped() {
    let t = Tansu::sqlite();
    t.create_topic("resume", 2);
    let files = distinct_ztf();
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    t.publish("resume", "ztf", &[], &refs);
    let first = consume(
        &t,
        "resume",
        "g",
        &["--display", "--limit", "5", "--timeout", "10"],
    );
    let second = consume(&t, "resume", "g", &["--display", "--timeout", "4"]);
    let (a, b) = (displayed_ids(&first), displayed_ids(&second));
    assert_eq!(a.len(), 5);
    assert_eq!(
        a.len() + b.len(),
        files.len(),
        "no gap, no duplicate: {a:?} + {b:?}"
    );
    let all: BTreeSet<_> = a.iter().chain(&b).collect();
    assert_eq!(all.len(), files.len());
}

#[test]
fn two_consumers_share_a_four_partition_topic() {
    let t = Tansu::sqlite();
    t.create_topic("shared", 4);
    let spawn = || {
        let mut args = t.consume_args("shared", "team");
        // --verbose: the members say when the group gives them partitions.
        args.extend(["--display", "--timeout", "12", "--verbose"].map(String::from));
        common::Running::spawn(&args)
    };
    let (a, b) = (spawn(), spawn());
    let assigned = |member: &common::Running| {
        member
            .stderr()
            .lines()
            .rfind(|l| l.contains("assigned") && l.contains("partition(s) to this member"))
            .is_some_and(|l| !l.contains("assigned 0 "))
    };
    common::wait_until(
        Duration::from_secs(60),
        "both members have partitions",
        || assigned(&a) && assigned(&b),
    );
    let files = distinct_ztf();
    let mut refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let fink = path("fink/avro_multi_alerts.avro");
    refs.push(&fink);
    t.publish(
        "shared",
        "ztf",
        &["-X", "sticky.partitioning.linger.ms=0", "--rate", "20"],
        &refs,
    );
    let (mut a, mut b) = (a, b);
    for member in [&mut a, &mut b] {
        let code = member.exit_within(Duration::from_secs(60));
        assert_eq!(code, Some(0), "{}", member.stderr());
    }
    let (ia, ib) = (ids_of_lines(&a.stdout()), ids_of_lines(&b.stdout()));
    let expected: BTreeSet<String> = alerts_of(&refs)
        .iter()
        .map(|a| a.alert_id().unwrap().to_string())
        .collect();
    let got: Vec<&String> = ia.iter().chain(&ib).collect();
    assert_eq!(
        got.len(),
        expected.len(),
        "every alert exactly once: {ia:?} / {ib:?}"
    );
    assert_eq!(got.into_iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(
        !ia.is_empty() && !ib.is_empty(),
        "both members got partitions: {} / {}",
        ia.len(),
        ib.len()
    );
}

/// JSON Lines of `n` distinct ZTF-shaped alerts, each about 4 KB.
fn write_synthetic_alerts(file: &Path, n: usize) {
    let pad = "x".repeat(4000);
    let mut text = String::new();
    for i in 0..n {
        text += &format!(
            "{{\"objectId\":\"ZTF99test{:05}\",\"candid\":{},\"candidate\":{{\"jd\":2460000.5,\"ra\":10.0,\"dec\":20.0,\"fid\":1,\"magpsf\":18.5,\"sigmapsf\":0.1}},\"pad\":\"{pad}\"}}\n",
            i,
            3_000_000_000_000_000_000i64 + i as i64
        );
    }
    std::fs::write(file, text).unwrap();
}

#[test]
fn kill_9_while_saving_loses_and_duplicates_nothing() {
    let t = Tansu::sqlite();
    t.create_topic("crash", 2);
    let work = TempDir::new("crash");
    let input = work.join("alerts.jsonl");
    let n = 3000;
    write_synthetic_alerts(&input, n);
    t.publish("crash", "json", &[], &[&input.display().to_string()]);
    let out = work.join("out");
    let save = out.display().to_string();
    // A 2 s session: the killed member is expired before the restarted one
    // syncs, so Tansu cannot strand the restart (its coordinator expires a
    // dead member only inside another's request, and keeps a newcomer's
    // empty assignment when that happens inside the newcomer's SyncGroup).
    let mut args = session_args(&t, "crash", "g", 2000);
    // Tansu holds each fetch for the whole wait: 200 ms paces the stream to
    // a few hundred alerts a second, so the kill lands mid-stream even when
    // the first commit is slow to be seen.
    args.extend(
        [
            "--save",
            &save,
            "--timeout",
            "20",
            "--batch",
            "100",
            "--fetch-wait-ms",
            "200",
        ]
        .map(String::from),
    );
    let mut child = common::bin()
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while saved_files_count(&out) < 400 {
        assert!(Instant::now() < deadline, "consumer saved nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    common::wait_until(Duration::from_secs(30), "a first commit", || {
        common::committed(&t, "g", "crash") > 0
    });
    child.kill().unwrap(); // SIGKILL, mid-stream
    child.wait().unwrap();
    let at_crash = saved_files_count(&out);
    assert!(at_crash < n, "the kill came too late to test anything");

    let mut args = session_args(&t, "crash", "g", 2000);
    // The idle timeout counts from the first assignment, after the killed
    // member's session expired.
    args.extend(["--save", &save, "--timeout", "5", "--display"].map(String::from));
    let rerun = common::bin().args(&args).output().unwrap();
    assert!(rerun.status.success());
    assert!(
        stdout_lines(&rerun).len() < n,
        "the restart resumed from committed offsets"
    );

    let saved = saved_files(&out);
    let tmp: Vec<_> = saved
        .keys()
        .filter(|k| k.contains(".alertstream-tmp"))
        .collect();
    assert!(tmp.is_empty(), "no temporary files remain: {tmp:?}");
    assert_eq!(saved.len(), n, "every alert saved exactly once");
    for (name, bytes) in &saved {
        let v: serde_json::Value =
            serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            name,
            &format!("{}_{}.json", v["objectId"].as_str().unwrap(), v["candid"])
        );
    }
}

/// `consume` arguments with a session of `ms` instead of the usual 6 s.
fn session_args(t: &Tansu, topic: &str, group: &str, ms: u32) -> Vec<String> {
    let mut args = t.consume_args(topic, group);
    let at = args
        .iter()
        .position(|a| a == "--session-timeout-ms")
        .unwrap();
    args[at + 1] = ms.to_string();
    args
}

fn saved_files_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_poison_message_is_quarantined_and_the_good_ones_saved() {
    let t = Tansu::sqlite();
    t.create_topic("poison", 1);
    let good = [
        path("ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro"),
        path("ztf/ztf_v3.5_1661382530015060001_ZTF18aaxjdyr.avro"),
    ];
    t.publish("poison", "ztf", &[], &[&good[0]]);
    let publisher =
        alertstream::kafka::publisher::Publisher::new(&t.connection(), "poison").unwrap();
    let garbage = b"\x07this is not an alert".to_vec();
    publisher
        .send(&alertstream::kafka::publisher::Message {
            key: None,
            value: garbage.clone(),
        })
        .unwrap();
    publisher.flush(Duration::from_secs(30)).unwrap();
    t.publish("poison", "ztf", &[], &[&good[1]]);

    let dir = TempDir::new("poison");
    let save = dir.0.display().to_string();
    let out = consume(&t, "poison", "g", &["--save", &save, "--timeout", "4"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("undecodable message poison[0] offset 1"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(dir.join("_quarantine/poison-0-1.bin")).unwrap(),
        garbage
    );
    assert_saved_equal_inputs(&dir.0, &alerts_of(&[&good[0], &good[1]]));
    let again = consume(&t, "poison", "g", &["--display", "--timeout", "3"]);
    assert!(
        stdout_lines(&again).is_empty(),
        "the poison message was committed, not retried forever"
    );
}

#[test]
fn sigterm_finishes_the_batch_commits_and_exits_0() {
    let t = Tansu::sqlite();
    t.create_topic("term", 1);
    let work = TempDir::new("term");
    let input = work.join("alerts.jsonl");
    write_synthetic_alerts(&input, 500);
    t.publish("term", "json", &[], &[&input.display().to_string()]);
    let save = work.join("out").display().to_string();
    let mut args = t.consume_args("term", "g");
    args.extend(
        [
            "--save",
            &save,
            "--display",
            "--batch-ms",
            "60000",
            "--batch",
            "100000",
        ]
        .map(String::from),
    );
    let mut first = common::Running::spawn(&args);
    // Mid-stream: some alerts displayed (and staged), their batch not sealed.
    common::wait_until(Duration::from_secs(60), "alerts displayed", || {
        first.stdout_lines() >= 100
    });
    first.signal(libc::SIGTERM);
    let code = first.exit_within(Duration::from_secs(10));
    assert_eq!(code, Some(0), "{}", first.stderr());
    let seen = first.stdout_lines();
    assert!(seen > 0);
    assert_eq!(
        saved_files_count(&work.join("out")),
        seen,
        "every displayed alert is on disk"
    );
    let rest = consume(&t, "term", "g", &["--display", "--timeout", "4"]);
    assert_eq!(
        seen + stdout_lines(&rest).len(),
        500,
        "committed exactly what was saved"
    );
}

#[test]
fn library_consumer_poll_commit_and_resume() {
    let t = Tansu::sqlite();
    t.create_topic("lib", 1);
    let files = distinct_ztf();
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    t.publish("lib", "ztf", &[], &refs);
    let config = || common::consumer_config(&t, "lib-group", "lib");
    let mut consumer = Consumer::new(config()).unwrap();
    let first: Vec<Alert> = consumer
        .consume(6, Duration::from_secs(20))
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(first.len(), 6);
    let meta = first[0].kafka().unwrap();
    assert_eq!(
        (meta.topic.as_str(), meta.partition, meta.offset),
        ("lib", 0, 0)
    );
    assert!(meta.timestamp_ms.is_some());
    consumer.commit().unwrap();
    consumer.close();

    let mut again = Consumer::new(config()).unwrap();
    let rest: Vec<Alert> = again
        .iter(Duration::from_secs(4))
        .map(Result::unwrap)
        .collect();
    let offsets: Vec<i64> = rest.iter().map(|a| a.kafka().unwrap().offset).collect();
    assert_eq!(rest.len(), files.len() - 6, "{offsets:?}");
    assert_eq!(
        rest[0].kafka().unwrap().offset,
        6,
        "resumes right after the commit"
    );
}

/// fink-client's own reader opens what `--save --layout fink` wrote.
#[test]
fn fink_client_reads_saved_alerts() {
    let python = common::fink_python();
    let t = Tansu::sqlite();
    t.create_topic("finkc", 1);
    let inputs = [
        path("fink/avro_multi_alerts.avro"),
        path("ztf/ztf_v3.5_1661382530015060001_ZTF18aaxjdyr.avro"),
    ];
    t.publish("finkc", "fink", &[], &[&inputs[0], &inputs[1]]);
    let dir = TempDir::new("finkc");
    let save = dir.0.display().to_string();
    consume(&t, "finkc", "g", &["--save", &save, "--timeout", "4"]);
    let script = "import sys, json\nfrom fink_client.avro_utils import AlertReader\n\
        recs = AlertReader(sys.argv[1]).to_list()\n\
        print(json.dumps(sorted([r['objectId'], r['candid']] for r in recs)))";
    let out = Command::new(python)
        .args(["-c", script, &save])
        .output()
        .unwrap();
    common::assert_success(&out, "");
    let got: Vec<(String, i64)> = serde_json::from_slice(&out.stdout).unwrap();
    let mut expected: Vec<(String, i64)> = alerts_of(&[&inputs[0], &inputs[1]])
        .iter()
        .map(|a| {
            (
                a.object_id().unwrap().to_string(),
                a.alert_id().unwrap().to_string().parse().unwrap(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(got, expected);
}

#[test]
fn demo_runs_on_the_embedded_broker() {
    let dir = TempDir::new("demo");
    let out = run(&["demo", "--dir", &dir.0.display().to_string()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout_lines(&out).len(), 6);
    assert_eq!(saved_files(&dir.0).len(), 6);
    // The closing hint names a command that works as the binary was run
    // (by its path here: it is not on the PATH).
    let stderr = String::from_utf8_lossy(&out.stderr);
    let binary = env!("CARGO_BIN_EXE_alertstream");
    assert!(
        stderr.contains(&format!(
            "look at them with: {binary} inspect {}",
            dir.0.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_profiles_format_is_applied_by_consume() {
    let t = Tansu::sqlite();
    t.create_topic("asformat", 1);
    t.publish(
        "asformat",
        "ztf",
        &[],
        &[&path("ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro")],
    );
    let (config, home) = (TempDir::new("fmt-config"), TempDir::new("fmt-home"));
    let with_config = |c: &mut std::process::Command| {
        c.env("ALERTSTREAM_CONFIG_DIR", &config.0)
            .env("HOME", &home.0);
    };
    // A profile that says the topic holds JSON: a ZTF container is then not
    // an alert of its format (without the profile it decodes).
    let mut register = common::bin();
    register.args([
        "auth",
        "register",
        "--profile",
        "p",
        "--servers",
        &t.servers(),
    ]);
    register.args(["--group", "g", "--topics", "asformat", "--format", "json"]);
    with_config(&mut register);
    common::assert_success(&register.output().unwrap(), "register: ");
    let mut show = common::bin();
    show.args(["auth", "show", "--profile", "p"]);
    with_config(&mut show);
    let shown = show.output().unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains("format             json"));
    let mut consume = common::bin();
    consume.args([
        "consume",
        "--profile",
        "p",
        "--display",
        "--timeout",
        "3",
        "--quiet",
    ]);
    with_config(&mut consume);
    let out = consume.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(out.stdout.is_empty(), "decoded as JSON: nothing displayed");
    assert!(
        stderr.contains("undecodable message asformat[0] offset 0: invalid JSON"),
        "{stderr}"
    );
    // --format on the command line wins over the profile's.
    let mut ztf = common::bin();
    ztf.args([
        "consume",
        "--profile",
        "p",
        "--group",
        "g2",
        "--display",
        "--timeout",
        "3",
    ]);
    ztf.args(["--quiet", "--format", "ztf"]);
    with_config(&mut ztf);
    assert_eq!(stdout_lines(&ztf.output().unwrap()).len(), 1);
}

#[test]
fn a_closed_pipe_ends_a_listing_quietly() {
    // More than a pipe holds (64 KiB), so the writes meet the closed pipe.
    let config = TempDir::new("many-profiles");
    std::fs::create_dir_all(config.join("profiles")).unwrap();
    for i in 0..8000 {
        std::fs::write(config.join(&format!("profiles/profile-{i:05}.json")), "{}").unwrap();
    }
    let mut list = common::bin();
    list.args(["auth", "list"])
        .env("ALERTSTREAM_CONFIG_DIR", &config.0);
    let (first, out) = common::first_line_then_close(list);
    assert_eq!(first.trim(), "profile-00000");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_unreachable_broker_is_a_clear_error_within_the_connect_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let servers = format!("127.0.0.1:{port}");
    for args in [
        vec![
            "consume",
            "t",
            "--servers",
            &servers,
            "--group",
            "g",
            "--connect-timeout",
            "3",
        ],
        vec![
            "publish",
            "--servers",
            &servers,
            "--topic",
            "t",
            "--format",
            "ztf",
            "--connect-timeout",
            "3",
            "x.avro",
        ],
    ] {
        let (_, stderr) = fails_within(Duration::from_secs(10), || run(&args));
        assert!(
            stderr.contains(&format!(
                "cannot reach a Kafka broker at {servers} within 3 s"
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains("Connection refused"),
            "the cause is named: {stderr}"
        );
    }
}

#[test]
fn an_unknown_topic_is_named_with_the_topics_that_exist() {
    let t = Tansu::sqlite();
    t.create_topic("alpha", 1);
    t.create_topic("beta", 1);
    let out = common::bin()
        .args(t.consume_args("gamma", "g"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("topic 'gamma' does not exist") && stderr.contains("alpha, beta"),
        "{stderr}"
    );
    let regex = common::bin()
        .args(t.consume_args("^al.*", "g"))
        .args(["--timeout", "2"])
        .output()
        .unwrap();
    assert_eq!(
        regex.status.code(),
        Some(0),
        "a pattern may match nothing yet"
    );
}

fn lag_rows(t: &Tansu, group: &str) -> Vec<serde_json::Value> {
    let out = run(&[
        "lag",
        "--servers",
        &t.servers(),
        "--group",
        group,
        "--topic",
        "ops",
        "--json",
    ]);
    common::assert_success(&out, "");
    stdout_lines(&out)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn total(rows: &[serde_json::Value], field: &str) -> i64 {
    rows.iter().map(|r| r[field].as_i64().unwrap_or(0)).sum()
}

#[test]
fn topics_lag_and_reset() {
    let t = Tansu::sqlite();
    t.create_topic("ops", 2);
    let files = distinct_ztf();
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    t.publish("ops", "ztf", &[], &refs);
    let n = files.len() as i64;

    let topics = run(&["topics", "--servers", &t.servers(), "--json"]);
    assert!(stdout_lines(&topics).contains(&r#"{"topic":"ops","partitions":2}"#.to_owned()));

    consume(&t, "ops", "g", &["--limit", "5", "--timeout", "10"]);
    let rows = lag_rows(&t, "g");
    assert_eq!(rows.len(), 2, "both partitions are listed: {rows:?}");
    assert_eq!(total(&rows, "committed"), 5);
    assert_eq!(total(&rows, "high_watermark"), n);
    assert_eq!(total(&rows, "lag"), n - 5);
    // Without --topic: every partition of the group's topics, even one
    // where it committed nothing.
    let out = run(&["lag", "--servers", &t.servers(), "--group", "g", "--json"]);
    common::assert_success(&out, "");
    assert_eq!(stdout_lines(&out).len(), 2, "{:?}", stdout_lines(&out));

    let servers = t.servers();
    let reset = |to: &str| {
        let out = run(&[
            "reset",
            "--servers",
            &servers,
            "--group",
            "g",
            "--topic",
            "ops",
            "--to",
            to,
        ]);
        common::assert_success(&out, &format!("reset {to}: "));
    };
    reset("earliest");
    assert_eq!(total(&lag_rows(&t, "g"), "lag"), n);
    reset("latest");
    assert_eq!(total(&lag_rows(&t, "g"), "lag"), 0);
    reset("2000-01-01T00:00:00Z"); // before every alert: back to the start
    assert_eq!(total(&lag_rows(&t, "g"), "lag"), n);
    let again = consume(&t, "ops", "g", &["--display", "--timeout", "4"]);
    assert_eq!(
        stdout_lines(&again).len() as i64,
        n,
        "the group re-reads everything after the reset"
    );
}
