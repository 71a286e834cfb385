//! Every broker's stream reaches `consume`: record batches compressed with
//! each codec Kafka producers use (written by an independent producer,
//! confluent-kafka), a preset one flag away (`--broker NAME`), topic folders
//! named as the user names the stream, group names a broker would refuse,
//! a second site tried when the first does not answer, and a stream that
//! moved to a newer major version.

mod common;

use common::{fink_python, path, run, AntaresApi, Tansu, TempDir};
use rdkafka::mocking::MockCluster;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// ZTF alerts with distinct candids: one Avro container per message, as
/// Babamul's producer sends them.
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

/// Publishes files as message values with confluent-kafka, record batches
/// compressed with `codec` (several messages per batch).
fn produce_compressed(servers: &str, topic: &str, codec: &str, files: &[String]) {
    let script = r#"
import sys, confluent_kafka
servers, topic, codec, *files = sys.argv[1:]
p = confluent_kafka.Producer({"bootstrap.servers": servers, "compression.type": codec,
                              "linger.ms": 200, "batch.num.messages": 1000})
for f in files:
    p.produce(topic, open(f, "rb").read())
left = p.flush(30)
sys.exit(1 if left else 0)
"#;
    let out = Command::new(fink_python())
        .args(["-c", script, servers, topic, codec])
        .args(files)
        .output()
        .unwrap();
    common::assert_success(&out, &format!("confluent-kafka producer ({codec}): "));
}

/// fastavro's records of the saved files equal fastavro's records of the
/// inputs (an independent reader on both sides).
fn assert_same_records_as_fastavro(saved: &Path, inputs: &[String], expected: usize) {
    let script = r#"
import sys, os, fastavro
saved, *inputs = sys.argv[1:]
def records(paths):
    out = []
    for p in paths:
        with open(p, "rb") as f:
            out.extend(fastavro.reader(f))
    return sorted(out, key=lambda r: r["candid"])
files = [os.path.join(d, n) for d, _, ns in os.walk(saved) for n in ns if n.endswith(".avro")]
got, want = records(files), records(inputs)
if got != want:
    print(f"saved {len(got)} records, inputs {len(want)}; they differ", file=sys.stderr)
    sys.exit(1)
print(len(got))
"#;
    let out = Command::new(fink_python())
        .args(["-c", script])
        .arg(saved)
        .args(inputs)
        .output()
        .unwrap();
    common::assert_success(&out, "fastavro comparison: ");
    let count = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(count, expected.to_string());
}

/// `table` of a saved folder, its rows counted by pyarrow (an independent reader).
fn assert_tabled(saved: &Path, rows: usize) {
    let parquet = saved.with_extension("parquet");
    let out = run(&[
        "table",
        &saved.display().to_string(),
        "-o",
        &parquet.display().to_string(),
    ]);
    common::assert_success(&out, "table: ");
    let count = Command::new(fink_python())
        .args([
            "-c",
            "import sys, pyarrow.parquet as pq; print(pq.read_table(sys.argv[1]).num_rows)",
        ])
        .arg(&parquet)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&parquet);
    common::assert_success(&count, "pyarrow: ");
    assert_eq!(
        String::from_utf8_lossy(&count.stdout).trim(),
        rows.to_string()
    );
}

fn consume_saved(servers: &str, topic: &str, dir: &Path, extra: &[&str]) -> std::process::Output {
    let saved = dir.display().to_string();
    let mut args = vec![
        "consume",
        topic,
        "--servers",
        servers,
        "--group",
        "g",
        "--save",
        &saved,
        "--timeout",
        "4",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn gzip_lz4_and_zstd_batches_from_confluent_kafka_are_read() {
    let t = Tansu::sqlite();
    let inputs = distinct_ztf();
    for codec in ["gzip", "lz4", "zstd"] {
        let topic = format!("babamul.ztf.{codec}");
        t.create_topic(&topic, 1);
        produce_compressed(&t.servers(), &topic, codec, &inputs);
        let dir = TempDir::new(codec);
        let out = consume_saved(&t.servers(), &topic, &dir.0, &[]);
        common::assert_success(&out, &format!("consume {codec}: "));
        assert_same_records_as_fastavro(&dir.0, &inputs, inputs.len());
        assert_tabled(&dir.0, inputs.len());
    }
}

/// Tansu 0.6 cannot store snappy batches (its log says
/// `UnexpectedType("Snappy")`), so snappy is read from librdkafka's mock
/// cluster, which keeps the producer's batches as they are.
#[test]
fn snappy_batches_are_read_from_the_mock_cluster() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("babamul.ztf.snappy", 1, 1).unwrap();
    let servers = cluster.bootstrap_servers();
    let inputs = distinct_ztf();
    produce_compressed(&servers, "babamul.ztf.snappy", "snappy", &inputs);
    let dir = TempDir::new("snappy");
    let out = consume_saved(&servers, "babamul.ztf.snappy", &dir.0, &[]);
    common::assert_success(&out, "consume snappy: ");
    assert_same_records_as_fastavro(&dir.0, &inputs, inputs.len());
}

/// `--broker antares` alone gives the preset's format and topic prefix
/// (`--servers` and `--security-protocol` point it at the local broker),
/// and `--layout topic` names the folder as the user named the stream.
#[test]
fn a_preset_is_one_flag_away_and_folders_keep_the_users_topic_name() {
    let t = Tansu::sqlite();
    t.create_topic("client.extragalactic", 1);
    let bson = [
        path("antares/1262927.bson.zlib"),
        path("antares/2831231.bson.zlib"),
    ];
    let raw: Vec<&str> = bson.iter().map(String::as_str).collect();
    t.publish("client.extragalactic", "antares", &[], &raw);
    // --servers names another deployment: ANTARES' options are not fetched
    // (the API variable points at a closed port: a fetch would warn).
    let dir = TempDir::new("antares");
    let saved = dir.0.display().to_string();
    let out = common::bin()
        .args(["consume", "extragalactic", "--broker", "antares"])
        .args([
            "--servers",
            &t.servers(),
            "--security-protocol",
            "PLAINTEXT",
        ])
        .args([
            "--group",
            "g",
            "--save",
            &saved,
            "--timeout",
            "4",
            "--quiet",
        ])
        .args(["--layout", "topic", "--save-format", "json"])
        .env("ANTARES_API_BASE_URL", "http://127.0.0.1:1/v1/")
        .output()
        .unwrap();
    common::assert_success(&out, "consume --broker antares: ");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("streaming options"));
    let folder = dir.join("extragalactic");
    let names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(!dir.join("client.extragalactic").exists());
    assert_tabled(&dir.0, 2);
}

#[test]
fn a_group_the_broker_would_refuse_is_refused_before_connecting() {
    let out = run(&[
        "consume",
        "--broker",
        "rubin",
        "--username",
        "alice",
        "--group",
        "bob-1",
        "--connect-timeout",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rubin accepts only consumer groups whose name starts with 'alice'"),
        "{err}"
    );
    assert!(err.contains("--group NAME"), "{err}");
    assert!(
        !err.contains("cannot reach"),
        "checked before connecting: {err}"
    );

    let out = run(&[
        "consume",
        "--broker",
        "babamul",
        "--username",
        "babamul-ann",
        "--group",
        "babamul-annx",
        "--connect-timeout",
        "1",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("starts with 'babamul-ann-'"), "{err}");
}

#[test]
fn brokers_lists_every_preset_in_json() {
    let out = run(&["brokers", "--json"]);
    common::assert_success(&out, "brokers --json: ");
    let presets: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = presets.iter().filter_map(|p| p["name"].as_str()).collect();
    for name in [
        "rubin",
        "fink-lsst",
        "fink-ztf",
        "antares",
        "babamul",
        "lasair",
        "alerce",
        "hopskotch",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let rubin = presets.iter().find(|p| p["name"] == "rubin").unwrap();
    assert_eq!(
        rubin["servers"],
        "rubin-alert-stream-bootstrap.slac.stanford.edu:9094"
    );
    assert_eq!(rubin["security_protocol"], "SASL_PLAINTEXT");
    assert_eq!(rubin["topics"][0], "lsst-alerts-v11");
    let text = run(&["brokers"]);
    common::assert_success(&text, "brokers: ");
    assert!(String::from_utf8_lossy(&text.stdout).contains("babamul.umn.edu:9093"));
}

/// When no server of the first site answers, the backup is used and the
/// log says so.
#[test]
fn the_backup_servers_are_used_when_the_first_do_not_answer() {
    let t = Tansu::sqlite();
    t.create_topic("kept", 1);
    let closed = common::free_port();
    let mut conn = alertstream::kafka::Connection::new(format!("127.0.0.1:{closed}"));
    conn.connect_timeout = std::time::Duration::from_secs(2);
    conn.backup_servers = Some(t.servers());
    let topics = alertstream::kafka::admin::topics(&conn).unwrap();
    assert!(topics.iter().any(|t| t.topic == "kept"), "{topics:?}");
}

#[test]
fn a_newer_major_version_of_the_stream_is_pointed_out() {
    let t = Tansu::sqlite();
    t.create_topic("lsst-alerts-v11", 1);
    t.create_topic("lsst-alerts-v12", 1);
    let dir = TempDir::new("v11");
    let out = run(&[
        "consume",
        "lsst-alerts-v11",
        "--servers",
        &t.servers(),
        "--group",
        "g",
        "--timeout",
        "2",
        "--save",
        &dir.0.display().to_string(),
    ]);
    common::assert_success(&out, "consume v11: ");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the broker also has lsst-alerts-v12, a newer version of lsst-alerts-v11"),
        "{err}"
    );
}

/// As antares-client does, `--broker antares` fetches the streaming options
/// from ANTARES' API at start and applies them: here they point the
/// consumer at the local broker (no --servers given) in PLAINTEXT.
#[test]
fn antares_streaming_options_are_fetched_and_applied_at_start() {
    let t = Tansu::sqlite();
    t.create_topic("client.nuclear_transient", 1);
    let bson = path("antares/5803955.bson.zlib");
    t.publish("client.nuclear_transient", "antares", &[], &[&bson]);
    let api = AntaresApi::start(&t.servers(), &[]);
    let dir = TempDir::new("antares-options");
    let saved = dir.0.display().to_string();
    let out = common::bin()
        .args(["consume", "nuclear_transient", "--broker", "antares"])
        .args(["--username", "key"])
        .args([
            "--group",
            "g",
            "--save",
            &saved,
            "--timeout",
            "3",
            "--quiet",
        ])
        .env("ANTARES_API_BASE_URL", api.base())
        .env("ALERTSTREAM_CONFIG_DIR", dir.join("config"))
        .env("ALERTSTREAM_PASSWORD", "secret")
        .output()
        .unwrap();
    common::assert_success(&out, "consume with ANTARES' options: ");
    let files = std::fs::read_dir(&dir.0)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .count();
    assert_eq!(files, 1);
}

/// When the options cannot be fetched the preset's settings are used, with
/// a warning naming the cause (here they point at ANTARES itself, which
/// this machine cannot reach: the run then fails naming that address).
#[test]
fn a_failed_options_fetch_falls_back_to_the_preset_with_a_warning() {
    let t = Tansu::sqlite();
    let api = AntaresApi::start(&t.servers(), &["--fail-config"]);
    let dir = TempDir::new("antares-fallback");
    let out = common::bin()
        .args([
            "topics",
            "--broker",
            "antares",
            "--username",
            "key",
            "--connect-timeout",
            "1",
        ])
        .env("ANTARES_API_BASE_URL", api.base())
        .env("ALERTSTREAM_PASSWORD", "secret")
        .env("ALERTSTREAM_CONFIG_DIR", dir.join("config"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: cannot fetch the broker's streaming options")
            && err.contains("HTTP 503"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("kafka.antares.noirlab.edu:9092"), "{err}");
}

#[test]
fn antares_thumbnails_are_fetched_as_antares_client_does() {
    let api = AntaresApi::start("127.0.0.1:1", &[]);
    let dir = TempDir::new("thumbs");
    let out = common::bin()
        .args(["thumbnails", "ztf_candidate:1234567890", "--json", "--out"])
        .arg(&dir.0)
        .env("ANTARES_API_BASE_URL", api.base())
        .output()
        .unwrap();
    common::assert_success(&out, "thumbnails: ");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = lines.iter().filter_map(|l| l["type"].as_str()).collect();
    assert_eq!(kinds, ["science", "template", "difference"]);
    for line in &lines {
        let name = line["file_name"].as_str().unwrap();
        assert!(name.ends_with(".fits.gz"), "{name}");
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(line["bytes"], bytes.len());
        // What the API served: a gzipped FITS stamp.
        let mut fits = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut fits)
            .unwrap();
        assert!(fits.starts_with(b"SIMPLE  =                    T"));
    }

    // An unknown alert: exit 1 naming the API's answer; a path in an id is refused.
    let out = common::bin()
        .args(["thumbnails", "ztf_candidate:9", "../../etc", "--out"])
        .arg(&dir.0)
        .env("ANTARES_API_BASE_URL", api.base())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ztf_candidate:9") && err.contains("HTTP 404"),
        "{err}"
    );
    assert!(err.contains("is not an ANTARES alert id"), "{err}");
}

/// A replica of a Lasair filter's stream (JSON rows, "lite" light curves,
/// no credentials) consumed with `--broker lasair`: shown, saved and
/// summarised with the values Python's json module reads from the rows.
#[test]
fn lasair_rows_become_alerts_with_their_light_curves() {
    let t = Tansu::sqlite();
    let topic = "lasair_2Hasabsmag";
    t.create_topic(topic, 1);
    let mut rows: Vec<String> = std::fs::read_dir(common::data("lasair"))
        .unwrap()
        .flatten()
        .map(|e| e.path().display().to_string())
        .collect();
    rows.sort();
    produce_compressed(&t.servers(), topic, "none", &rows);
    let dir = TempDir::new("lasair");
    let saved = dir.0.display().to_string();
    let out = run(&[
        "consume",
        topic,
        "--broker",
        "lasair",
        "--servers",
        &t.servers(),
        "--group",
        "g",
        "--display",
        "--save",
        &saved,
        "--save-format",
        "json",
        "--timeout",
        "4",
        "--quiet",
    ]);
    common::assert_success(&out, "consume --broker lasair: ");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(shown.lines().count(), rows.len(), "{shown}");

    let inspected = run(&["inspect", "--json", &saved]);
    common::assert_success(&inspected, "inspect: ");
    let got: Vec<serde_json::Value> = String::from_utf8_lossy(&inspected.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let script = r#"
import json, sys
for path in sys.argv[1:]:
    row = json.load(open(path))
    sources = row["alert"]["diaSourcesList"]
    newest = max(sources, key=lambda s: s["midpointMjdTai"])
    print(json.dumps([row["diaObjectId"], newest["band"], newest["psfFlux"],
                      newest["midpointMjdTai"], len(sources) - 1, row["ra"], row["decl"]]))
"#;
    let oracle = Command::new("python3")
        .args(["-c", script])
        .args(&rows)
        .output()
        .unwrap();
    common::assert_success(&oracle, "json oracle: ");
    let mut want: Vec<serde_json::Value> = String::from_utf8_lossy(&oracle.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut have: Vec<serde_json::Value> = got
        .iter()
        .map(|s| {
            serde_json::json!([
                s["object_id"],
                s["band"],
                s["flux_njy"],
                s["time"],
                s["previous_detections"],
                s["ra"],
                s["dec"]
            ])
        })
        .collect();
    want.sort_by_key(|v| v[0].as_i64());
    have.sort_by_key(|v| v[0].as_i64());
    assert_eq!(have, want);
    assert!(got.iter().all(|s| s["time_scale"] == "MJD(TAI)"), "{got:?}");
    assert_tabled(&dir.0, rows.len());

    // The light curve draws: detections and forced photometry, in nJy.
    let pictures = dir.join("pictures");
    let view = run(&["view", &saved, "--out", &pictures.display().to_string()]);
    common::assert_success(&view, "view: ");
    assert_eq!(std::fs::read_dir(&pictures).unwrap().count(), rows.len());
}

/// A Fink Data Transfer replica: schemaless datums on
/// `ftransfer_lsst_<date>_<n>` (two partitions, no key), the writer schema
/// in the key of the message on `<topic>_schema` (written with fastavro and
/// confluent-kafka, as Fink's job does).
fn data_transfer_replica(t: &Tansu, topic: &str, container: &str) {
    t.create_topic(topic, 2);
    t.create_topic(&format!("{topic}_schema"), 1);
    let script = r#"
import io, json, sys, confluent_kafka, fastavro
servers, topic, container = sys.argv[1:]
with open(container, "rb") as f:
    reader = fastavro.reader(f)
    schema, records = reader.writer_schema, list(reader)
parsed = fastavro.parse_schema(schema)
p = confluent_kafka.Producer({"bootstrap.servers": servers})
p.produce(topic + "_schema", key=json.dumps(schema).encode(), value=b"schema")
for i, record in enumerate(records):
    out = io.BytesIO()
    fastavro.schemaless_writer(out, parsed, record)
    p.produce(topic, value=out.getvalue(), partition=i % 2)
sys.exit(1 if p.flush(30) else 0)
"#;
    let out = Command::new(fink_python())
        .args(["-c", script, &t.servers(), topic, container])
        .output()
        .unwrap();
    common::assert_success(&out, "Data Transfer replica: ");
}

#[test]
fn a_data_transfer_topic_is_read_with_its_companion_schema_and_resumes() {
    let t = Tansu::sqlite();
    let topic = "ftransfer_lsst_2026-11-30_803281";
    let container = path("fink/avro_multi_alerts.avro");
    data_transfer_replica(&t, topic, &container);
    let cache = TempDir::new("schema-cache");
    let dir = TempDir::new("transfer");
    let saved = dir.0.display().to_string();
    let consume = |group: &str, extra: &[&str]| {
        common::bin()
            .args([
                "consume",
                topic,
                "--servers",
                &t.servers(),
                "--group",
                group,
            ])
            .args(["--save", &saved, "--timeout", "4", "--quiet"])
            .args(extra)
            .env("XDG_CACHE_HOME", &cache.0)
            .output()
            .unwrap()
    };
    // A first run stops after 4 alerts: the rest waits, and it says so.
    let first = consume("g", &["--limit", "4"]);
    common::assert_success(&first, "first transfer run: ");
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(
        err.contains("not read yet: run the same command again to resume"),
        "{err}"
    );
    // The same command finishes it: every record, as fastavro reads them.
    let second = consume("g", &[]);
    common::assert_success(&second, "second transfer run: ");
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!("every partition of {topic} was read to its end")),
        "{err}"
    );
    assert_same_records_as_fastavro(&dir.0, std::slice::from_ref(&container), 11);
    assert_tabled(&dir.0, 11);
    // The schema was read without a commit: another group finds it again.
    let other = consume("other", &[]);
    common::assert_success(&other, "another group: ");
    assert!(cache
        .join(&format!("alertstream/schemas/{topic}.avsc"))
        .exists());
}

/// `date -u` for a day offset from today: YYYYMMDD.
fn utc_date(days: i32) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("{days} days"), "+%Y%m%d"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// ALeRCE's daily topics: `lc_classifier_{date}` reads today's topic, not
/// yesterday's, and follows the night when tomorrow's topic appears.
#[test]
fn a_daily_topic_follows_the_nights_and_leaves_the_past_alone() {
    let t = Tansu::sqlite();
    let day = |offset: i32| format!("lc_classifier_{}", utc_date(offset));
    let json = path("antares/1262927.json");
    for offset in [-1, 0] {
        t.create_topic(&day(offset), 1);
        t.publish(&day(offset), "json", &[], &[&json]);
    }
    let mut args = t.consume_args("lc_classifier_{date}", "night");
    args.extend(
        [
            "--display",
            "--timeout",
            "20",
            "-X",
            "topic.metadata.refresh.interval.ms=1000",
        ]
        .map(String::from),
    );
    let mut running = common::Running::spawn(&args);
    common::wait_until(Duration::from_secs(30), "today's alert", || {
        running.stdout_lines() >= 1
    });
    t.create_topic(&day(1), 1);
    t.publish(&day(1), "json", &[], &[&json]);
    common::wait_until(Duration::from_secs(30), "tomorrow's alert", || {
        running.stdout_lines() >= 2
    });
    running.signal(libc::SIGTERM);
    assert_eq!(running.exit_within(Duration::from_secs(10)), Some(0));
    let shown = running.stdout();
    assert!(
        shown.contains(&day(0)) && shown.contains(&day(1)),
        "{shown}"
    );
    assert!(
        !shown.contains(&day(-1)),
        "yesterday's topic was read: {shown}"
    );
}

/// A SCiMMA Hopskotch replica: each message's `_format` header (as
/// hop-client writes it) says how it is read. Documents that are no alert
/// (a VOEvent, a circular, an unknown blob, and GCN's headerless VOEvents
/// and text notices) are saved as they came, never quarantined; alerts are
/// decoded.
#[test]
fn hopskotch_format_headers_decide_how_each_message_is_read() {
    let t = Tansu::sqlite();
    let topic = "igwn.gwalert.replica";
    t.create_topic(topic, 1);
    let ztf = distinct_ztf().remove(0);
    let json = path("antares/1262927.json");
    let script = r#"
import sys, confluent_kafka
servers, topic, ztf, json_alert = sys.argv[1:]
voevent = b'<?xml version="1.0"?><voe:VOEvent ivorn="ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1234" role="observation"/>'
circular = b"TITLE: GCN CIRCULAR\nNUMBER: 40000\nSUBJECT: GRB 261206A: optical afterglow\n"
blob = bytes(range(256))
p = confluent_kafka.Producer({"bootstrap.servers": servers})
for fmt, value in [("voevent", voevent), ("circular", circular), ("blob", blob),
                   ("json", open(json_alert, "rb").read()), ("avro", open(ztf, "rb").read())]:
    p.produce(topic, value=value, headers=[("_format", fmt.encode()), ("_id", b"0123")])
# GCN's classic topics send VOEvents and text notices without a header.
p.produce(topic, value=voevent.replace(b"1234", b"5678"))
p.produce(topic, value=b"TITLE:   GCN/FERMI NOTICE\nNOTICE_TYPE: Fermi-GBM Flight Position\n")
sys.exit(1 if p.flush(30) else 0)
"#;
    let out = Command::new(fink_python())
        .args(["-c", script, &t.servers(), topic, &ztf, &json])
        .output()
        .unwrap();
    common::assert_success(&out, "hop-like producer: ");
    let dir = TempDir::new("hop");
    let saved = dir.0.display().to_string();
    let out = run(&[
        "consume",
        topic,
        "--broker",
        "hopskotch",
        "--servers",
        &t.servers(),
        "--security-protocol",
        "PLAINTEXT",
        "--group",
        "g",
        "--save",
        &saved,
        "--timeout",
        "4",
        "--display",
    ]);
    common::assert_success(&out, "consume --broker hopskotch: ");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("quarantined"), "{err}");
    assert!(!dir.join("_quarantine").exists());
    let mut names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    let with = |ext: &str| names.iter().filter(|n| n.ends_with(ext)).count();
    assert_eq!(
        (
            with(".xml"),
            with(".txt"),
            with(".bin"),
            with(".json"),
            with(".avro")
        ),
        (2, 2, 1, 1, 1),
        "{names:?}"
    );
    let file = |ext: &str| dir.join(names.iter().find(|n| n.ends_with(ext)).unwrap());
    assert!(std::fs::read(file(".xml")).unwrap().starts_with(b"<?xml"));
    assert_eq!(
        std::fs::read(file(".bin")).unwrap(),
        (0..=255u8).collect::<Vec<_>>()
    );
    assert_same_records_as_fastavro(&dir.0, std::slice::from_ref(&ztf), 1);
}

/// `topics` against `t` with OAUTHBEARER: client id `gcn-client`, the
/// secret in ALERTSTREAM_PASSWORD, tokens from `token`.
fn oauth_topics(t: &Tansu, token: &common::LocalServer, secret: &str) -> std::process::Output {
    common::bin()
        .args(["topics", "--servers", &t.servers(), "--verbose"])
        .args(["--security-protocol", "SASL_PLAINTEXT"])
        .args([
            "--sasl-mechanism",
            "OAUTHBEARER",
            "--username",
            "gcn-client",
        ])
        .args(["--oauth-token-url", &token.url("/oauth2/token")])
        .args(["--connect-timeout", "3"])
        .env("ALERTSTREAM_PASSWORD", secret)
        .output()
        .unwrap()
}

/// A local token endpoint answering as GCN's does (`--status CODE`: refusing),
/// and where its requests are logged.
fn token_endpoint(tag: &str, extra: &[&str]) -> (common::LocalServer, TempDir) {
    let log = TempDir::new(tag);
    let requests = log.join("requests.jsonl").display().to_string();
    let mut args = vec![requests.as_str()];
    args.extend_from_slice(extra);
    (common::LocalServer::start("oauth_token.py", &args), log)
}

/// GCN's OAUTHBEARER: the client id and secret are exchanged at the OIDC
/// token endpoint (here a local one answering as GCN's does) before the
/// broker is contacted, and the secret appears nowhere. What cannot be
/// tested here: GCN's real token service and a broker that verifies the
/// token: Tansu 0.6 refuses the OAUTHBEARER handshake, which must end the
/// run as an authentication error, not a hang.
#[test]
fn oauthbearer_exchanges_the_client_credentials_at_the_token_endpoint() {
    let t = Tansu::sqlite();
    let (token, log) = token_endpoint("oauth", &[]);
    let started = std::time::Instant::now();
    let out = oauth_topics(&t, &token, "gcn-s3cret");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the run did not end"
    );
    let seen = std::fs::read_to_string(log.join("requests.jsonl")).unwrap_or_default();
    let first: serde_json::Value =
        serde_json::from_str(seen.lines().next().unwrap_or("null")).unwrap();
    assert_eq!(first["path"], "/oauth2/token", "{seen}");
    assert_eq!(first["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(first["form"]["grant_type"], "client_credentials");
    assert_eq!(first["form"]["client_id"], "gcn-client");
    assert_eq!(first["form"]["client_secret"], "gcn-s3cret");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!printed.contains("gcn-s3cret"), "the secret was printed");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        printed.contains("authentication failed for user gcn-client"),
        "{printed}"
    );
}

#[test]
fn a_token_endpoint_that_refuses_is_a_clear_error() {
    let t = Tansu::sqlite();
    let (token, _log) = token_endpoint("oauth-refused", &["--status", "401"]);
    let out = oauth_topics(&t, &token, "wrong");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HTTP 401"), "{err}");
}

/// A replica of GCN's `igwn.gwalert`: an IGWN notice in JSON whose
/// `event.skymap` is a base64 multi-order FITS sky map (written here with
/// astropy). The map is saved beside the notice, byte for byte what Python's
/// base64 module decodes, and `--skymap` reads it.
#[test]
fn a_gravitational_wave_notice_keeps_its_sky_map_beside_it() {
    let t = Tansu::sqlite();
    t.create_topic("igwn.gwalert", 1);
    let work = TempDir::new("igwn");
    let notice = work.join("notice.json");
    let script = r#"
import base64, io, json, math, sys
import numpy as np
from astropy.table import Table
order = 2
cells = 12 * 4 ** order
t = Table({"UNIQ": np.array([4 * 4 ** order + n for n in range(cells)], dtype=np.int64),
           "PROBDENSITY": np.full(cells, 1 / (4 * math.pi))})
t.meta.update({"PIXTYPE": "HEALPIX", "ORDERING": "NUNIQ", "COORDSYS": "C", "MOCORDER": order})
out = io.BytesIO()
t.write(out, format="fits")
notice = {"superevent_id": "S261206ab", "alert_type": "PRELIMINARY",
          "time_created": "2026-12-06T03:12:45Z",
          "event": {"time": "2026-12-06T03:11:58Z", "far": 9.1e-11, "significant": True,
                    "instruments": ["H1", "L1"], "group": "CBC", "pipeline": "gstlal", "search": "AllSky",
                    "classification": {"BNS": 0.95, "NSBH": 0.04, "BBH": 0.0, "Terrestrial": 0.01},
                    "skymap": base64.b64encode(out.getvalue()).decode()},
          "external_coinc": None}
open(sys.argv[1], "w").write(json.dumps(notice))
"#;
    let out = Command::new(fink_python())
        .args(["-c", script])
        .arg(&notice)
        .output()
        .unwrap();
    common::assert_success(&out, "IGWN notice: ");
    let notice_path = notice.display().to_string();
    produce_compressed(&t.servers(), "igwn.gwalert", "none", &[notice_path]);
    let saved = work.join("saved");
    let out = consume_saved(
        &t.servers(),
        "igwn.gwalert",
        &saved,
        &["--save-format", "json"],
    );
    common::assert_success(&out, "consume igwn.gwalert: ");
    let map = std::fs::read_dir(&saved)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".multiorder.fits"))
        .expect("the sky map is saved beside the notice");
    let check = r#"
import base64, json, sys
notice = json.load(open(sys.argv[1]))
sys.exit(0 if base64.b64decode(notice["event"]["skymap"]) == open(sys.argv[2], "rb").read() else 1)
"#;
    let same = Command::new("python3")
        .args(["-c", check])
        .arg(&notice)
        .arg(&map)
        .output()
        .unwrap();
    common::assert_success(&same, "the saved map is the notice's: ");
    let kept = run(&[
        "decode",
        &path("ztf"),
        "--skymap",
        &map.display().to_string(),
        "--credible",
        "0.99",
    ]);
    common::assert_success(&kept, "decode --skymap: ");
    let density: Vec<f64> = String::from_utf8_lossy(&kept.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["skymap_probdensity"].as_f64())
        .collect();
    assert!(!density.is_empty());
    let uniform = 1.0 / (4.0 * std::f64::consts::PI);
    assert!(
        density.iter().all(|d| (d - uniform).abs() < 1e-12),
        "{density:?}"
    );
}

/// `view --fetch-cutouts` draws an ANTARES alert with the stamps ANTARES'
/// API keeps (the stand-in's FITS thumbnails), not the "no cutouts" note.
#[test]
fn view_fetches_an_antares_alerts_cutouts() {
    let api = AntaresApi::start("127.0.0.1:1", &[]);
    let dir = TempDir::new("antares-view");
    let alert = path("antares/1262927.json");
    let picture = |folder: &str, extra: &[&str]| {
        let out_dir = dir.join(folder);
        let out = common::bin()
            .args(["view", &alert, "--picture-format", "svg", "--out"])
            .arg(&out_dir)
            .args(extra)
            .env("ANTARES_API_BASE_URL", api.base())
            .output()
            .unwrap();
        common::assert_success(&out, "view: ");
        std::fs::read_to_string(out_dir.join("1262927.svg")).unwrap()
    };
    let plain = picture("plain", &[]);
    let fetched = picture("fetched", &["--fetch-cutouts"]);
    assert!(plain.contains("ANTARES alerts carry no cutouts"));
    assert!(
        !fetched.contains("carry no cutouts"),
        "the stamps were drawn"
    );
    // plotters writes each caption on a line of its own.
    for caption in ["\nscience\n", "\ntemplate\n", "\ndifference\n"] {
        assert!(
            fetched.contains(caption) && !plain.contains(caption),
            "{caption}"
        );
    }
}

/// A Rubin replica: SASL SCRAM-SHA-512 (Tansu's users), the production
/// topic name, Confluent-framed v11 alerts written by confluent-kafka, and
/// a schema registry under Rubin's `/schema-registry/` path prefix (Python's
/// http.server). `--broker rubin` with the local address, the username's
/// group: displayed, saved and tabled, equal to fastavro's reading.
#[test]
fn a_rubin_replica_is_consumed_with_its_registry_and_scram() {
    let (user, password) = ("rubin-broker", "rubin-s3cret");
    let t = Tansu::with_users(&[(user, password, "scram512")]);
    t.create_topic_as("lsst-alerts-v11", user, password);
    let wire = path("rubin/wire_format/lsst.v11_0.confluent_wire.avro");
    let schema = path("rubin/schema/v11_0/lsst.v11_0.alert.avsc");
    let registry = TempDir::new("rubin-registry");
    let ids = registry.join("schema-registry/schemas/ids");
    std::fs::create_dir_all(&ids).unwrap();
    let script = r#"
import io, json, sys, confluent_kafka, fastavro
servers, user, password, wire, schema, ids = sys.argv[1:]
# The registry serves the whole schema: the named types of the folder inlined.
full = fastavro.schema.load_schema(schema, _write_hint=False)
open(ids + "/1100", "w").write(json.dumps({"schema": json.dumps(full)}))
payload = open(wire, "rb").read()
assert payload[0] == 0 and int.from_bytes(payload[1:5], "big") == 1100
p = confluent_kafka.Producer({"bootstrap.servers": servers, "security.protocol": "SASL_PLAINTEXT",
                              "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": user,
                              "sasl.password": password})
p.produce("lsst-alerts-v11", value=payload)
if p.flush(30):
    sys.exit(1)
record = fastavro.schemaless_reader(io.BytesIO(payload[5:]), fastavro.parse_schema(full))
print(record["diaSourceId"])
"#;
    let out = Command::new(fink_python())
        .args(["-c", script, &t.servers(), user, password, &wire, &schema])
        .arg(&ids)
        .output()
        .unwrap();
    common::assert_success(&out, "Rubin replica: ");
    let dia_source_id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let server = common::LocalServer::start("static.py", &[&registry.0.display().to_string()]);
    let saved = TempDir::new("rubin-saved");
    let saved_path = saved.0.display().to_string();
    let consume = |group: &str| {
        common::bin()
            .args(["consume", "--broker", "rubin", "--servers", &t.servers()])
            .args([
                "--username",
                user,
                "--group",
                group,
                "--display",
                "--timeout",
                "4",
            ])
            .args(["--schema-registry", &server.url("/schema-registry/")])
            .args(["--save", &saved_path])
            .env("ALERTSTREAM_PASSWORD", password)
            .output()
            .unwrap()
    };
    let refused = consume("someone-else");
    assert_eq!(refused.status.code(), Some(1));
    let out = consume(&format!("{user}-night1"));
    common::assert_success(&out, "consume --broker rubin: ");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(shown.lines().count(), 1, "{shown}");
    assert!(shown.contains(&dia_source_id), "{shown}");
    let file = saved.join(&format!("{dia_source_id}.avro"));
    let check = r#"
import io, json, sys, fastavro
wire, saved = sys.argv[1:]
payload = open(wire, "rb").read()
with open(saved, "rb") as f:
    reader = fastavro.reader(f)
    got = list(reader)
want = fastavro.schemaless_reader(io.BytesIO(payload[5:]), fastavro.parse_schema(reader.writer_schema))
sys.exit(0 if got == [want] else 1)
"#;
    let same = Command::new(fink_python())
        .args(["-c", check, &wire])
        .arg(&file)
        .output()
        .unwrap();
    common::assert_success(&same, "saved vs fastavro: ");
    assert_tabled(&saved.0, 1);
}
