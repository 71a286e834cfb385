//! `consume --notify`: each kept alert told to Slack (incoming webhook),
//! Telegram (Bot API sendPhoto, with the alert's picture) and a webhook,
//! against a local server that answers as those services do
//! (`tests/servers/notify.py`: their success and error shapes, 429 with
//! Retry-After, 5xx). Offsets are committed only once told; what cannot be
//! told is kept in `_undelivered/`; a rate limit sends a digest; a kill -9
//! loses no notification; no secret reaches the output.

mod common;

use common::{json_alert_producer, LocalServer, Running, Tansu, TempDir};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

const SLACK_SECRET: &str = "T0TEST/B0TEST/SlackSecret42";
const TELEGRAM_TOKEN: &str = "123456:TEST";
const CHAT: &str = "-1001234567890";

/// The notification server and the file it logs each request to.
struct Services {
    server: LocalServer,
    log: TempDir,
}

impl Services {
    fn start(extra: &[&str]) -> Services {
        let log = TempDir::new("notify-log");
        let file = log.join("requests.jsonl");
        let mut args = vec![
            file.to_str().unwrap(),
            "--telegram-token",
            TELEGRAM_TOKEN,
            "--chat",
            CHAT,
        ];
        args.extend_from_slice(extra);
        Services {
            server: LocalServer::start("notify.py", &args),
            log,
        }
    }

    fn slack(&self) -> String {
        format!(
            "slack:{}",
            self.server.url(&format!("/slack/services/{SLACK_SECRET}"))
        )
    }

    fn hook(&self) -> String {
        format!("webhook:{}", self.server.url("/hook/alerts"))
    }

    /// Every request logged so far, in order.
    fn requests(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.log.join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn of_kind(&self, kind: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["kind"] == kind)
            .collect()
    }

    fn accepted(&self, kind: &str) -> Vec<Value> {
        self.of_kind(kind)
            .into_iter()
            .filter(|r| r["status"] == 200)
            .collect()
    }
}

/// A broker whose topic `ztf` holds the first `n` ZTF samples (by file
/// name); their `(objectId, candid)`, from their names, one per file.
fn broker_with_ztf(n: usize) -> (Tansu, Vec<(String, String)>) {
    let mut paths: Vec<String> = std::fs::read_dir(common::data("ztf"))
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_owned())
        .collect();
    paths.sort();
    paths.truncate(n);
    let samples = paths
        .iter()
        .map(|path| {
            let stem = Path::new(path).file_stem().unwrap().to_str().unwrap();
            let parts: Vec<&str> = stem.rsplitn(3, '_').collect();
            (parts[0].to_owned(), parts[1].to_owned())
        })
        .collect();
    let t = Tansu::sqlite();
    t.create_topic("ztf", 1);
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    t.publish("ztf", "ztf", &[], &paths);
    (t, samples)
}

/// The files of `DIR/_undelivered/`, none holding a secret.
fn undelivered(saved: &TempDir) -> Vec<Value> {
    std::fs::read_dir(saved.join("_undelivered"))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains(SLACK_SECRET), "{}: {text}", path.display());
            serde_json::from_str(&text).unwrap()
        })
        .collect()
}

fn consume(t: &Tansu, topic: &str, group: &str, services: &Services, extra: &[&str]) -> Output {
    let mut args = t.consume_args(topic, group);
    args.extend(["--timeout", "4"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    common::bin()
        .args(&args)
        .env("ALERTSTREAM_TELEGRAM_TOKEN", TELEGRAM_TOKEN)
        .env("ALERTSTREAM_TELEGRAM_API", services.server.url(""))
        .output()
        .unwrap()
}

fn assert_no_secret(out: &Output) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in [SLACK_SECRET, TELEGRAM_TOKEN] {
        assert!(!text.contains(secret), "a secret in the output:\n{text}");
    }
}

fn statuses(requests: &[Value]) -> Vec<i64> {
    requests
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect()
}

#[test]
fn each_service_is_told_every_kept_alert_in_its_own_shape_through_429_and_5xx() {
    let (t, samples) = broker_with_ztf(usize::MAX);
    let services = Services::start(&[
        "--script",
        "slack:1=429:1,slack:2=500,telegram:1=429:1,hook:2=503",
    ]);
    let saved = TempDir::new("notify-save");
    let out = consume(
        &t,
        "ztf",
        "g",
        &services,
        &[
            "--save",
            saved.0.to_str().unwrap(),
            "--notify",
            &services.slack(),
            "--notify",
            &format!("telegram:{CHAT}"),
            "--notify",
            &services.hook(),
            "--notify-rate",
            "1000/s",
        ],
    );
    common::assert_success(&out, "consume --notify: ");
    assert_no_secret(&out);
    let n = samples.len();

    // Slack: one accepted message per alert, after a 429 and a 500 retried.
    let slack = services.of_kind("slack");
    assert_eq!(statuses(&slack)[..3], [429, 500, 200]);
    let texts: Vec<String> = services
        .accepted("slack")
        .iter()
        .map(|r| r["body"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts.len(), n);
    for (object, candid) in &samples {
        let text = texts
            .iter()
            .find(|t| t.contains(&format!("alert {candid}")));
        let text = text.unwrap_or_else(|| panic!("no Slack message for {object} {candid}"));
        assert!(text.starts_with(object.as_str()), "{text}");
        assert!(
            text.contains(&format!("<https://fink-portal.org/{object}|Fink>")),
            "{text}"
        );
        assert!(text.contains(" mag"), "no magnitude: {text}");
    }

    // Telegram: the picture goes with each alert (sendPhoto, a PNG).
    let telegram = services.of_kind("telegram");
    assert_eq!(statuses(&telegram)[..2], [429, 200]);
    let photos = services.accepted("telegram");
    assert_eq!(photos.len(), n);
    for p in &photos {
        assert_eq!(p["method"], "sendPhoto");
        assert_eq!(p["photo_png"], true, "{p}");
        assert!(p["photo_bytes"].as_i64().unwrap() > 10_000, "{p}");
        assert_eq!(p["body"]["chat_id"], CHAT);
    }
    let captions: BTreeSet<String> = photos
        .iter()
        .map(|p| {
            p["body"]["caption"]
                .as_str()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    let objects: BTreeSet<String> = samples.iter().map(|(o, _)| o.clone()).collect();
    assert_eq!(captions, objects);

    // The webhook: the facts as JSON, ids and brightness.
    let hook = services.of_kind("hook");
    assert_eq!(statuses(&hook)[1], 503);
    let told: BTreeSet<(String, String)> = services
        .accepted("hook")
        .iter()
        .map(|r| {
            let b = &r["body"];
            assert_eq!(b["survey"], "ztf");
            assert!(
                b["mag"].as_f64().is_some_and(|m| m > 5.0 && m < 25.0),
                "{b}"
            );
            assert!(
                ["g", "r", "i"].contains(&b["band"].as_str().unwrap()),
                "{b}"
            );
            (
                b["object_id"].as_str().unwrap().to_owned(),
                b["alert_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(told, samples.iter().cloned().collect());
    assert_eq!(services.accepted("hook").len(), n, "each alert told once");
    assert_eq!(common::committed(&t, "g", "ztf"), n as i64);
    assert!(!saved.join("_undelivered").exists());
}

#[test]
fn what_cannot_be_told_is_kept_in_undelivered_and_the_stream_goes_on() {
    let (t, _) = broker_with_ztf(3);
    // The webhook is down; Slack refuses the first message for good (404).
    let services = Services::start(&["--fail-all", "hook", "--script", "slack:1=404"]);
    let saved = TempDir::new("notify-undelivered");
    let out = consume(
        &t,
        "ztf",
        "g",
        &services,
        &[
            "--save",
            saved.0.to_str().unwrap(),
            "--notify",
            &services.hook(),
            "--notify",
            &services.slack(),
            "--notify-give-up",
            "2",
            "--notify-rate",
            "100/s",
        ],
    );
    common::assert_success(&out, "consume --notify with a service down: ");
    assert_no_secret(&out);
    let kept = undelivered(&saved);
    let hooks: Vec<&Value> = kept
        .iter()
        .filter(|k| k["destination"].as_str().unwrap().starts_with("webhook:"))
        .collect();
    assert_eq!(hooks.len(), 3, "{kept:?}");
    for k in &hooks {
        assert_eq!(k["status"], 500);
        assert!(k["attempts"].as_i64().unwrap() >= 2, "{k}");
        assert!(k["request"]["object_id"].is_string(), "{k}");
    }
    let slack: Vec<&Value> = kept
        .iter()
        .filter(|k| k["destination"].as_str().unwrap().starts_with("slack:"))
        .collect();
    assert_eq!(slack.len(), 1, "{kept:?}");
    assert_eq!(slack[0]["status"], 404);
    assert_eq!(slack[0]["response"], "channel_not_found");
    assert_eq!(slack[0]["attempts"], 1, "a 404 is not retried");
    assert_eq!(services.accepted("slack").len(), 2);
    assert_eq!(common::committed(&t, "g", "ztf"), 3);
}

#[test]
fn above_the_rate_limit_alerts_are_told_in_a_digest_not_dropped() {
    let (t, samples) = broker_with_ztf(usize::MAX);
    let services = Services::start(&[]);
    let out = consume(
        &t,
        "ztf",
        "g",
        &services,
        &["--notify", &services.hook(), "--notify-rate", "2/s"],
    );
    common::assert_success(&out, "consume --notify-rate: ");
    let accepted = services.accepted("hook");
    let mut told = BTreeSet::new();
    let mut digests = 0;
    for r in &accepted {
        let b = &r["body"];
        if b["digest"] == true {
            digests += 1;
            let alerts = b["alerts"].as_array().unwrap();
            assert_eq!(b["count"].as_u64().unwrap() as usize, alerts.len());
            assert!(
                b["text"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{} more alert(s)", alerts.len())),
                "{b}"
            );
            for a in alerts {
                told.insert((
                    a["object_id"].as_str().unwrap().to_owned(),
                    a["alert_id"].as_str().unwrap().to_owned(),
                ));
            }
        } else {
            told.insert((
                b["object_id"].as_str().unwrap().to_owned(),
                b["alert_id"].as_str().unwrap().to_owned(),
            ));
        }
    }
    assert_eq!(
        told,
        samples.iter().cloned().collect(),
        "every alert told, one way or the other"
    );
    assert!(digests >= 1, "no digest in {} messages", accepted.len());
    assert!(
        accepted.len() < told.len() / 2,
        "{} messages for {} alerts at 2/s",
        accepted.len(),
        told.len()
    );
}

/// The consumer is killed while notifying a slow webhook; the restart
/// tells what was not committed: every kept alert reaches the webhook at
/// least once. A 2 s session so that Tansu 0.6 cannot strand the restart.
#[test]
fn kill_9_while_notifying_loses_no_notification() {
    let t = Tansu::sqlite();
    t.create_topic("src", 1);
    let n = 900;
    let mut writing = json_alert_producer(&t, "src", n, 0.004).spawn().unwrap();
    let services = Services::start(&["--delay-ms", "50"]);
    let args = |extra: &[&str]| -> Vec<String> {
        let servers = t.servers();
        let mut a: Vec<String> = [
            "consume",
            "src",
            "--servers",
            &servers,
            "--group",
            "g",
            "--quiet",
        ]
        .map(String::from)
        .to_vec();
        a.extend(
            [
                "--session-timeout-ms",
                "2000",
                "--batch",
                "20",
                "--where",
                "candid % 3 = 0",
            ]
            .map(String::from),
        );
        a.extend(["--notify".to_owned(), services.hook()]);
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let mut first = Running::spawn(&args(&[]));
    common::wait_until(Duration::from_secs(60), "some alerts told", || {
        services.accepted("hook").len() >= 40
    });
    first.signal(libc::SIGKILL);
    let _ = first.exit_within(Duration::from_secs(10));
    let before = services.accepted("hook").len();
    assert!(writing.wait().unwrap().success(), "the producer failed");
    let out = common::bin()
        .args(args(&["--timeout", "5"]))
        .output()
        .unwrap();
    common::assert_success(&out, "restarted consume --notify: ");
    let told: BTreeSet<i64> = services
        .accepted("hook")
        .iter()
        .map(|r| r["body"]["alert_id"].as_str().unwrap().parse().unwrap())
        .collect();
    let kept: BTreeSet<i64> = (0..n as i64).filter(|i| i % 3 == 0).collect();
    let missing: Vec<_> = kept.difference(&told).take(5).collect();
    assert!(missing.is_empty(), "never told: {missing:?}");
    assert!(
        before < kept.len(),
        "the kill came mid-stream: {before} told before"
    );
    assert_eq!(common::committed(&t, "g", "src"), n as i64);
}

#[test]
fn a_telegram_destination_without_a_token_is_refused_before_consuming() {
    let out = common::bin()
        .args([
            "consume",
            "t",
            "--servers",
            "127.0.0.1:1",
            "--group",
            "g",
            "--notify",
            "telegram:42",
        ])
        .env_remove("ALERTSTREAM_TELEGRAM_TOKEN")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(err.contains("ALERTSTREAM_TELEGRAM_TOKEN"), "{err}");
}

/// The bot token kept with a profile (`auth notify`, read from stdin, a
/// file only its owner reads) is used by `consume --profile`.
#[test]
fn a_profile_keeps_the_bot_token_off_the_command_line() {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let (t, _) = broker_with_ztf(2);
    let config = TempDir::new("notify-profile");
    let with_config = |args: &[&str]| {
        let mut c = common::bin();
        c.args(args).env("ALERTSTREAM_CONFIG_DIR", &config.0);
        c
    };
    let out = with_config(&[
        "auth",
        "register",
        "--profile",
        "p",
        "--servers",
        &t.servers(),
    ])
    .output()
    .unwrap();
    common::assert_success(&out, "auth register: ");
    let mut child = with_config(&["auth", "notify", "--profile", "p", "--telegram-token-stdin"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{TELEGRAM_TOKEN}").unwrap();
    let out = child.wait_with_output().unwrap();
    common::assert_success(&out, "auth notify: ");
    let kept = config.join("secrets/p.notify.json");
    assert_eq!(
        std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let services = Services::start(&[]);
    let out = with_config(&[
        "consume",
        "ztf",
        "--profile",
        "p",
        "--group",
        "g",
        "--quiet",
        "--timeout",
        "4",
        "--notify",
        &format!("telegram:{CHAT}"),
        "--no-notify-pictures",
    ])
    .env_remove("ALERTSTREAM_TELEGRAM_TOKEN")
    .env("ALERTSTREAM_TELEGRAM_API", services.server.url(""))
    .output()
    .unwrap();
    common::assert_success(&out, "consume --profile --notify telegram: ");
    assert_no_secret(&out);
    let told = services.accepted("telegram");
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told.iter().all(|r| r["method"] == "sendMessage"));
}

/// A webhook that redirects is not told (a redirect would turn the POST
/// into a body-less GET): kept in `_undelivered/`, not counted as told.
#[test]
fn a_redirecting_webhook_is_not_counted_as_told() {
    let (t, _) = broker_with_ztf(1);
    let services = Services::start(&["--script", "hook:1=307"]);
    let saved = TempDir::new("notify-redirect");
    let out = consume(
        &t,
        "ztf",
        "g",
        &services,
        &[
            "--save",
            saved.0.to_str().unwrap(),
            "--notify",
            &services.hook(),
        ],
    );
    common::assert_success(&out, "consume --notify to a redirecting webhook: ");
    let kept = undelivered(&saved);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0]["status"], 307);
    assert!(
        kept[0]["reason"].as_str().unwrap().contains("redirected"),
        "{}",
        kept[0]
    );
    assert_eq!(services.requests().len(), 1, "not retried, not followed");
}
