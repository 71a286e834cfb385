//! SASL/SCRAM against a real broker (Tansu with --authentication): the right
//! password streams, a wrong one is a clear error within 30 s, and the
//! password never appears in anything alertstream prints.

mod common;

use common::{fails_within, path, Tansu};
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

/// `consume TOPIC --group g --display --timeout 4` with quick group settings.
fn display_consumer(topic: &str) -> Command {
    let mut c = common::bin();
    c.args([
        "consume",
        topic,
        "--group",
        "g",
        "--display",
        "--timeout",
        "4",
    ])
    .args(["--session-timeout-ms", "6000"]);
    c
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
    common::assert_success(&out, "publish: ");
    assert_no_secret(&out, PASSWORD);

    let mut consume = display_consumer("secure");
    consume.args(&auth).arg("--verbose"); // librdkafka's detailed log must not leak it either
    let out = with_password(consume, PASSWORD);
    common::assert_success(&out, "consume: ");
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
    let (out, stderr) = fails_within(Duration::from_secs(30), || {
        with_password(consume, "wrong-password")
    });
    let expected = format!(
        "authentication failed for user carol at {} (SASL SCRAM-SHA-512)",
        t.servers()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert_no_secret(&out, "wrong-password");
}

/// A self-signed test CA: `NAME.pem` and `NAME.key`.
fn make_ca(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    let subject = format!("/CN=alertstream test {name}");
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &subject,
            "-keyout", &key, "-out", &pem,
        ],
    );
    dir.join(pem)
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    common::assert_success(&out, &format!("openssl {args:?}: "));
}

/// `NAME.pem` and `NAME.key`, signed by the CA `ca`, valid for `san` only.
fn make_cert(dir: &std::path::Path, ca: &str, name: &str, san: &str) {
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    let (ca_key, ca_pem) = (format!("{ca}.key"), format!("{ca}.pem"));
    let ext = format!("{name}.cnf");
    std::fs::write(dir.join(&ext), format!("subjectAltName={san}\n")).unwrap();
    openssl(
        dir,
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj",
            "/CN=test",
        ],
    );
    openssl(
        dir,
        &[
            "x509", "-req", "-in", &csr, "-CA", &ca_pem, "-CAkey", &ca_key, "-out", &pem, "-days",
            "2", "-extfile", &ext,
        ],
    );
}

/// socat terminating TLS on `tls_port` in front of the broker's plain port.
struct TlsFront(std::process::Child);

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tls_front(dir: &std::path::Path, cert: &str, tls_port: u16, backend: u16) -> TlsFront {
    let listen = format!(
        "OPENSSL-LISTEN:{tls_port},bind=127.0.0.1,fork,reuseaddr,cert={},key={},verify=0",
        dir.join(format!("{cert}.pem")).display(),
        dir.join(format!("{cert}.key")).display()
    );
    let child = Command::new("socat")
        .args([&listen, &format!("TCP:127.0.0.1:{backend}")])
        .stderr(Stdio::null())
        .spawn()
        .expect("socat runs (scripts/test.sh installs it)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
        assert!(Instant::now() < deadline, "socat did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    TlsFront(child)
}

#[test]
fn sasl_ssl_verifies_the_broker_certificate_and_host_name() {
    let certs = common::TempDir::new("tls");
    make_ca(&certs.0, "ca");
    make_cert(&certs.0, "ca", "broker", "IP:127.0.0.1");
    make_cert(&certs.0, "ca", "elsewhere", "DNS:alerts.example.org");
    let wrong_ca = make_ca(&certs.0, "other-ca");
    let tls_port = common::free_port();
    let t = Tansu::with_users_advertising(&[("dave", PASSWORD, "scram512")], Some(tls_port));
    let _front = tls_front(&certs.0, "broker", tls_port, t.port);
    let servers = format!("127.0.0.1:{tls_port}");
    let tls = |ca: &std::path::Path| -> Vec<String> {
        [
            "--servers",
            &servers,
            "--security-protocol",
            "SASL_SSL",
            "--sasl-mechanism",
            "SCRAM-SHA-512",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(
            [
                "--username",
                "dave",
                "--password-stdin",
                "--ssl-ca-location",
            ]
            .map(String::from),
        )
        .chain([ca.display().to_string()])
        .collect()
    };
    let good_ca = certs.0.join("ca.pem");

    let mut publish = common::bin();
    publish
        .args([
            "publish",
            "--topic",
            "tls",
            "--format",
            "ztf",
            "--create-topic",
        ])
        .args(tls(&good_ca));
    publish.arg(path("ztf/ztf_v3.5_1661382530015060001_ZTF18aaxjdyr.avro"));
    let out = with_password(publish, PASSWORD);
    common::assert_success(&out, "publish over TLS: ");

    let mut consume = display_consumer("tls");
    consume.args(tls(&good_ca));
    let out = with_password(consume, PASSWORD);
    common::assert_success(&out, "consume over TLS: ");
    assert_eq!(common::stdout_lines(&out).len(), 1);

    let mut wrong = common::bin();
    wrong
        .args(["consume", "tls", "--group", "g2", "--connect-timeout", "5"])
        .args(tls(&wrong_ca));
    let out = with_password(wrong, PASSWORD);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("TLS connection to {servers} failed")),
        "{stderr}"
    );
    assert!(
        stderr.contains("certificate verify failed"),
        "says why: {stderr}"
    );
    assert!(
        stderr.contains("hint: pass --ssl-ca-location FILE"),
        "says what to pass: {stderr}"
    );
}

fn with_config(c: &mut Command, config: &common::TempDir, home: &common::TempDir) {
    c.env("ALERTSTREAM_CONFIG_DIR", &config.0)
        .env("HOME", &home.0)
        .env_remove("ALERTSTREAM_PASSWORD");
}

#[test]
fn a_registered_profile_streams_and_never_shows_its_password() {
    use std::os::unix::fs::PermissionsExt;
    let t = Tansu::with_users(&[("erin", PASSWORD, "scram512")]);
    t.create_topic_as("secure", "erin", PASSWORD); // also publishes one alert
    let (config, home) = (common::TempDir::new("config"), common::TempDir::new("home"));

    let mut register = common::bin();
    register.args([
        "auth",
        "register",
        "--profile",
        "p",
        "--broker",
        "local",
        "--servers",
        &t.servers(),
    ]);
    register.args(["--username", "erin", "--group", "g", "--topics", "secure"]);
    register.args(["--security-protocol", "SASL_PLAINTEXT", "--password-stdin"]);
    with_config(&mut register, &config, &home);
    let out = with_password(register, PASSWORD);
    common::assert_success(&out, "");
    let secret = config.join("secrets/p");
    assert_eq!(
        std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let mut show = common::bin();
    show.args(["auth", "show", "--profile", "p"]);
    with_config(&mut show, &config, &home);
    let shown = show.output().unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains("*** (set)"));
    assert_no_secret(&shown, PASSWORD);

    let consume = |config: &common::TempDir| {
        let mut c = common::bin();
        c.args([
            "consume",
            "--profile",
            "p",
            "--display",
            "--timeout",
            "4",
            "--session-timeout-ms",
            "6000",
        ]);
        with_config(&mut c, config, &home);
        c.output().unwrap()
    };
    let out = consume(&config);
    common::assert_success(&out, "");
    assert_eq!(
        common::stdout_lines(&out).len(),
        1,
        "no --servers, --group or topic needed"
    );
    assert_no_secret(&out, PASSWORD);

    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = consume(&config);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("readable by others"));

    let mut remove = common::bin();
    remove.args(["auth", "remove", "--profile", "p"]);
    with_config(&mut remove, &config, &home);
    assert!(remove.output().unwrap().status.success());
    assert!(!secret.exists());
}

#[test]
fn fink_client_credentials_are_used_when_no_profile_exists() {
    let t = Tansu::sqlite();
    t.create_topic("fink_early_sn_candidates_ztf", 1);
    t.publish(
        "fink_early_sn_candidates_ztf",
        "fink",
        &[],
        &[&path("fink/ZTF19acihgng.avro")],
    );
    let (config, home) = (common::TempDir::new("config"), common::TempDir::new("home"));
    std::fs::create_dir_all(home.join(".finkclient")).unwrap();
    let yml = format!(
        "groupid: fink_group\nmaxtimeout: 10\nservers: {}\nsurvey: ztf\ntopics:\n  fink_early_sn_candidates_ztf: {{}}\nusername: someone\n",
        t.servers()
    );
    std::fs::write(home.join(".finkclient/ztf_credentials.yml"), yml).unwrap();
    let mut c = common::bin();
    c.args([
        "consume",
        "--display",
        "--timeout",
        "4",
        "--session-timeout-ms",
        "6000",
    ]);
    with_config(&mut c, &config, &home);
    let out = c.output().unwrap();
    common::assert_success(&out, "");
    let lines = common::stdout_lines(&out);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("ZTF19acihgng"));
}

#[test]
fn the_password_can_come_from_the_environment() {
    let t = Tansu::with_users(&[("frank", PASSWORD, "scram512")]);
    t.create_topic_as("secure", "frank", PASSWORD); // also publishes one alert
    let no_profiles = common::TempDir::new("noprofile");
    let out = display_consumer("secure")
        .args([
            "--servers",
            &t.servers(),
            "--security-protocol",
            "SASL_PLAINTEXT",
        ])
        .args(["--username", "frank"])
        .env("ALERTSTREAM_PASSWORD", PASSWORD)
        .env("ALERTSTREAM_CONFIG_DIR", &no_profiles.0)
        .output()
        .unwrap();
    common::assert_success(&out, "");
    assert_eq!(common::stdout_lines(&out).len(), 1);
    assert_no_secret(&out, PASSWORD);
}
