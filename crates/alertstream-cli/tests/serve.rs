//! `serve DIR` and `consume --serve`: the web view of saved alerts, opened
//! in a real browser (Debian's headless Chromium, driven through the
//! DevTools protocol by `tests/browser/check_view.py`); its JSON API
//! compared with an independent reader (fastavro); bad requests (unknown
//! alerts, path traversal, a huge query) refused without touching a file
//! outside the folder; `/metrics` and `/health` of a running stream.

mod common;

use common::{fink_python, Running, Tansu, TempDir};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A folder of saved alerts: the ZTF samples but one (kept to be "saved"
/// while the page is open).
fn saved_folder() -> (TempDir, Vec<String>, String) {
    let dir = TempDir::new("serve");
    let mut names: Vec<String> = std::fs::read_dir(common::data("ztf"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let new = names.pop().unwrap();
    for name in &names {
        std::fs::copy(common::data("ztf").join(name), dir.join(name)).unwrap();
    }
    (dir, names, new)
}

/// `alertstream serve` on a free port of `host`; its base URL.
fn serve_on(dir: &Path, host: &str) -> (Running, String) {
    let listen = format!("{host}:0");
    let running =
        Running::spawn(&["serve", dir.to_str().unwrap(), "--listen", &listen].map(String::from));
    let url = address(&running);
    (running, url)
}

/// The address a running `serve` or `consume --serve` says it serves at.
fn address(running: &Running) -> String {
    let mut url = String::new();
    common::wait_until(Duration::from_secs(30), "the server's address", || {
        url = running
            .stderr()
            .lines()
            .find_map(|l| l.split(" at ").nth(1).map(|u| u.trim().to_owned()))
            .unwrap_or_default();
        !url.is_empty()
    });
    url
}

fn serve(dir: &Path) -> (Running, String) {
    serve_on(dir, "127.0.0.1")
}

/// One raw HTTP/1.1 GET, the target sent as is (no normalising client in
/// between): status and body.
fn get(base: &str, target: &str) -> (u16, String) {
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn json(base: &str, target: &str) -> Value {
    let (status, body) = get(base, target);
    assert_eq!(status, 200, "{target}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{target}: {e}: {body}"))
}

/// Waits until the folder is indexed.
fn indexed(base: &str) {
    common::wait_until(Duration::from_secs(30), "the folder indexed", || {
        json(base, "/api/status")["complete"] == true
    });
}

#[test]
fn a_browser_lists_the_alerts_and_sees_a_new_one_arrive() {
    let (dir, names, new) = saved_folder();
    let (_server, url) = serve(&dir.0);
    let shots = TempDir::new("serve-screenshot");
    let shot = shots.join("list.png");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser/check_view.py");
    let out = Command::new(fink_python())
        .arg(&script)
        .arg(&url)
        .arg(&dir.0)
        .arg(common::data("ztf").join(&new))
        .arg(&names[0])
        .arg(&shot)
        .output()
        .unwrap();
    common::assert_success(&out, "the browser: ");
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The first page: every saved alert, by its file and its object.
    let first: Vec<(String, String)> = seen["first"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                r[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(first.len(), names.len(), "{seen}");
    for (id, object) in &first {
        assert!(names.contains(id), "{id}");
        assert!(
            id.ends_with(&format!("_{object}.avro")),
            "{id} shows {object}"
        );
    }
    assert_eq!(seen["count"], names.len().to_string());
    // The alert saved while the page was open: listed, marked new.
    let after = seen["after"].as_array().unwrap();
    assert_eq!(after.len(), names.len() + 1);
    assert!(
        after.iter().any(|r| r[0] == new.as_str() && r[2] == true),
        "{seen}"
    );
    assert!(
        seen["new_count"].as_str().unwrap().starts_with("1 new"),
        "{seen}"
    );
    assert!(seen["appeared_seconds"].as_f64().unwrap() < 10.0, "{seen}");
    // The screenshot is a page, not a blank.
    assert!(
        seen["screenshot"]["colours"].as_u64().unwrap() > 50,
        "{seen}"
    );
    // The alert's page: its object, portals, fields and picture.
    let page = &seen["alert_page"];
    let object = names[0]
        .trim_end_matches(".avro")
        .rsplit('_')
        .next()
        .unwrap();
    assert_eq!(page["title"], object);
    let links: Vec<&str> = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        links.contains(&format!("https://fink-portal.org/{object}").as_str()),
        "{links:?}"
    );
    assert!(page["fields"].as_u64().unwrap() > 50, "{page}");
    assert!(page["picture_width"].as_u64().unwrap() >= 1000, "{page}");
}

/// fastavro's reading of the alerts of a folder, by file name: object,
/// candid, magnitude, band.
fn fastavro_rows(dir: &Path) -> Value {
    let script = r#"
import fastavro, json, pathlib, sys
rows = {}
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.avro")):
    with open(path, "rb") as f:
        a = next(fastavro.reader(f))
    c = a["candidate"]
    rows[path.name] = {"object_id": a["objectId"], "alert_id": str(a["candid"]), "mag": c["magpsf"],
                       "band": {1: "g", 2: "r", 3: "i"}[c["fid"]]}
print(json.dumps(rows))
"#;
    let out = Command::new(fink_python())
        .args(["-c", script])
        .arg(dir)
        .output()
        .unwrap();
    common::assert_success(&out, "fastavro: ");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Object, candid and magnitude (4 decimals) of each row.
fn facts(rows: &[Value]) -> std::collections::BTreeSet<(String, String, String)> {
    rows.iter()
        .map(|r| {
            let mag = r["mag"].as_f64().unwrap();
            (
                r["object_id"].to_string(),
                r["alert_id"].to_string(),
                format!("{mag:.4}"),
            )
        })
        .collect()
}

/// A table of alerts (`alertstream table`, as `consume --save-format
/// parquet` writes them): a row each, read back as alerts.
#[test]
fn the_rows_of_parquet_files_are_listed_as_alerts() {
    let want = fastavro_rows(&common::data("ztf"));
    let dir = TempDir::new("serve-parquet");
    let table = dir.join("ztf.parquet");
    let out = common::run(&[
        "table",
        common::path("ztf").as_str(),
        "-o",
        table.to_str().unwrap(),
    ]);
    common::assert_success(&out, "table: ");
    let (_server, url) = serve(&dir.0);
    indexed(&url);
    let listed = json(&url, "/api/alerts?limit=500");
    let got = facts(listed["alerts"].as_array().unwrap());
    let expected = facts(
        &want
            .as_object()
            .unwrap()
            .values()
            .cloned()
            .collect::<Vec<_>>(),
    );
    assert_eq!(got, expected);
    let filtered = json(
        &url,
        "/api/alerts?limit=500&where=candidate.magpsf%20%3C%2018",
    );
    let bright = want
        .as_object()
        .unwrap()
        .values()
        .filter(|w| w["mag"].as_f64().unwrap() < 18.0)
        .count();
    assert_eq!(filtered["total"], bright);
    let id = listed["alerts"][0]["id"]
        .as_str()
        .unwrap()
        .replace('#', "%23");
    let page = json(&url, &format!("/api/alerts/{id}"));
    assert!(page["fields"]["candidate"]["magpsf"].is_number(), "{page}");
    assert_eq!(get(&url, &format!("/alerts/{id}/picture.svg")).0, 200);
}

/// The API's rows against fastavro's reading of the same files; `where`
/// filters as `decode --where` does; sorting by magnitude.
#[test]
fn the_api_agrees_with_an_independent_reader() {
    let (dir, names, _) = saved_folder();
    let (_server, url) = serve(&dir.0);
    indexed(&url);
    let want = fastavro_rows(&dir.0);
    let listed = json(&url, "/api/alerts?limit=500&sort=mag&order=asc");
    let rows = listed["alerts"].as_array().unwrap();
    assert_eq!(rows.len(), names.len());
    assert_eq!(listed["total"], names.len());
    let mut last = f64::MIN;
    for row in rows {
        let w = &want[row["id"].as_str().unwrap()];
        assert_eq!(row["object_id"], w["object_id"]);
        assert_eq!(row["alert_id"], w["alert_id"]);
        assert_eq!(row["band"], w["band"]);
        let mag = row["mag"].as_f64().unwrap();
        assert!((mag - w["mag"].as_f64().unwrap()).abs() < 1e-4, "{row}");
        assert!(mag >= last, "sorted by magnitude");
        last = mag;
        assert!(row["thumbnail"].as_str().unwrap().ends_with("/thumb.png"));
    }
    let bright: Vec<&str> = want
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, w)| w["mag"].as_f64().unwrap() < 18.0)
        .map(|(k, _)| k.as_str())
        .collect();
    let filtered = json(
        &url,
        "/api/alerts?limit=500&where=candidate.magpsf%20%3C%2018",
    );
    assert_eq!(filtered["total"], bright.len(), "{filtered}");
    for row in filtered["alerts"].as_array().unwrap() {
        assert!(bright.contains(&row["id"].as_str().unwrap()));
    }
    let object = names[0]
        .trim_end_matches(".avro")
        .rsplit('_')
        .next()
        .unwrap();
    let searched = json(
        &url,
        &format!("/api/alerts?q={}", object[3..].to_lowercase()),
    );
    let found: Vec<&str> = searched["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["object_id"].as_str().unwrap())
        .collect();
    assert!(
        !found.is_empty() && found.iter().all(|o| *o == object),
        "{searched}"
    );
    // The thumbnail is a PNG; the picture an SVG.
    let id = rows[0]["id"].as_str().unwrap();
    let (status, body) = get(&url, &format!("/alerts/{id}/picture.svg"));
    assert_eq!(status, 200);
    assert!(body.contains("<svg"), "{}", &body[..body.len().min(200)]);
    let (status, body) = get(&url, &format!("/alerts/{id}/thumb.png"));
    assert_eq!(status, 200);
    assert!(body.starts_with("\u{FFFD}PNG"), "not a PNG");
}

#[test]
fn bad_requests_get_4xx_and_no_file_outside_the_folder() {
    let (dir, _, _) = saved_folder();
    std::fs::write(
        dir.0.parent().unwrap().join("secret-beside.avro"),
        "root:x:0:0",
    )
    .unwrap();
    let (_server, url) = serve(&dir.0);
    indexed(&url);
    for target in [
        "/alerts/../../etc/passwd",
        "/alerts/..%2F..%2F..%2Fetc%2Fpasswd/picture.svg",
        "/alerts/..%2Fsecret-beside.avro/thumb.png",
        "/api/alerts/..%2Fsecret-beside.avro",
        "/api/alerts/%2Fetc%2Fpasswd",
        "/alerts/..%2F..%2Fetc%2Fpasswd",
        "/assets/../../../etc/passwd",
        "/api/alerts/no-such-alert.avro",
        "/etc/passwd",
    ] {
        let (status, body) = get(&url, target);
        assert!((400..500).contains(&status), "{target}: {status} {body}");
        assert!(!body.contains("root:"), "{target}: {body}");
    }
    let huge = format!("/api/alerts?where={}", "a".repeat(100_000));
    let (status, _) = get(&url, &huge);
    assert!((400..500).contains(&status), "a huge query: {status}");
    let (status, body) = get(&url, "/api/alerts?where=candidate.magpsf%20%3C%3C%202");
    assert_eq!(status, 400);
    assert!(body.contains('^'), "the error points at the column: {body}");
    let (status, _) = get(&url, "/api/alerts?sort=nonsense");
    assert_eq!(status, 400);
}

#[test]
fn another_address_than_this_machine_warns_that_there_is_no_authentication() {
    let (dir, _, _) = saved_folder();
    let (_server, _) = serve_on(&dir.0, "0.0.0.0");
    let (_local, _) = serve(&dir.0);
    common::wait_until(Duration::from_secs(10), "the warning", || {
        _server.stderr().contains("no authentication")
    });
    assert!(!_local.stderr().contains("no authentication"));
    let out = common::bin().args(["serve", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("[default: 127.0.0.1:8080]"));
}

/// `consume --save --serve`: the view of the folder being saved, with the
/// run's Prometheus metrics and its health (503 once the broker is gone).
#[test]
fn a_running_stream_serves_metrics_and_health() {
    let mut t = Tansu::sqlite();
    t.create_topic("ztf", 1);
    let files: Vec<String> = std::fs::read_dir(common::data("ztf"))
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect();
    let paths: Vec<&str> = files.iter().map(String::as_str).collect();
    t.publish("ztf", "ztf", &[], &paths);
    let saved = TempDir::new("serve-consume");
    let mut args = t.consume_args("ztf", "g");
    args.extend(
        [
            "--save",
            saved.0.to_str().unwrap(),
            "--serve",
            "127.0.0.1:0",
            "--where",
            "candidate.magpsf < 18",
        ]
        .map(String::from),
    );
    let running = Running::spawn(&args);
    let url = address(&running);
    common::wait_until(Duration::from_secs(30), "every alert received", || {
        let (_, body) = get(&url, "/metrics");
        body.contains(&format!(
            "alertstream_alerts_received_total{{topic=\"ztf\"}} {}",
            files.len()
        ))
    });
    let (status, metrics) = get(&url, "/metrics");
    assert_eq!(status, 200);
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{metrics}"))
    };
    let kept = value("alertstream_alerts_kept_total{topic=\"ztf\"}");
    let dropped = value("alertstream_alerts_dropped_total{criterion=\"where\"}");
    assert_eq!(kept + dropped, files.len() as f64);
    assert!(kept > 0.0 && dropped > 0.0, "{metrics}");
    assert!(
        metrics.contains("# TYPE alertstream_consumer_lag gauge"),
        "{metrics}"
    );
    assert_eq!(value("alertstream_up"), 1.0);
    common::wait_until(Duration::from_secs(20), "the kept alerts committed", || {
        let (_, m) = get(&url, "/metrics");
        m.contains(&format!("alertstream_alerts_committed_total {kept}"))
    });
    let (status, _) = get(&url, "/health");
    assert_eq!(status, 200);
    // The list shows what was saved.
    let listed = json(&url, "/api/alerts");
    assert_eq!(listed["count"].as_f64().unwrap(), kept);
    // The broker goes away: unhealthy, and the outage counted.
    t.stop();
    common::wait_until(Duration::from_secs(30), "/health to say 503", || {
        get(&url, "/health").0 == 503
    });
    let (_, body) = get(&url, "/health");
    assert!(body.contains("no broker reachable"), "{body}");
}
