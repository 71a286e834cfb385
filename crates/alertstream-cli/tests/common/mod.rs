//! Shared by the CLI and streaming tests: paths, running the binary, and a
//! real Tansu broker on a free port of 127.0.0.1.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(rel)
}

pub fn path(rel: &str) -> String {
    data(rel).display().to_string()
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alertstream"));
    c.env("NO_COLOR", "1");
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

/// The command exited 0; otherwise its stderr, after `what`, is the message.
pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn stdout_lines(o: &Output) -> Vec<String> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A fresh folder under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("alertstream-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The Tansu binary that scripts/tansu.sh installs.
pub fn tansu_binary() -> PathBuf {
    if let Ok(p) = std::env::var("ALERTSTREAM_TANSU") {
        return p.into();
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let p = Path::new(&home).join(".cache/alertstream/tansu/bin/tansu");
    assert!(
        p.exists(),
        "Tansu is not installed: run `scripts/tansu.sh install` (scripts/test.sh does)"
    );
    p
}

/// A real Kafka-protocol broker (Tansu) on 127.0.0.1, stopped on drop.
pub struct Tansu {
    child: Child,
    pub port: u16,
    dir: TempDir,
    engine: &'static str,
    authentication: bool,
    /// The port clients are told to use (a TLS front), when not `port`.
    advertised_port: u16,
}

impl Tansu {
    /// SQLite storage: correct resume and group semantics.
    pub fn sqlite() -> Self {
        Self::start("sqlite://tansu.db")
    }

    fn start(engine: &'static str) -> Self {
        let dir = TempDir::new("tansu");
        let port = free_port();
        let child = Self::spawn(&dir.0, port, port, engine, false);
        let t = Tansu {
            child,
            port,
            dir,
            engine,
            authentication: false,
            advertised_port: port,
        };
        t.wait_listening();
        t
    }

    /// SQLite storage with SASL/SCRAM required: the users are created on an
    /// open broker, which then restarts with `--authentication`.
    pub fn with_users(users: &[(&str, &str, &str)]) -> Self {
        Self::with_users_advertising(users, None)
    }

    /// Like [`Tansu::with_users`], telling clients to connect to
    /// `advertised_port` (where a TLS terminator forwards to the broker).
    pub fn with_users_advertising(
        users: &[(&str, &str, &str)],
        advertised_port: Option<u16>,
    ) -> Self {
        let mut t = Self::sqlite();
        for (user, password, mechanism) in users {
            let out = Command::new(tansu_binary())
                .args(["user", "create", user, password, "--mechanism", mechanism])
                .args(["--broker", &format!("tcp://127.0.0.1:{}", t.port)])
                .output()
                .unwrap();
            assert_success(&out, "user create: ");
        }
        t.authentication = true;
        t.advertised_port = advertised_port.unwrap_or(t.port);
        t.restart();
        t
    }

    fn spawn(dir: &Path, port: u16, advertised: u16, engine: &str, authentication: bool) -> Child {
        let url = format!("tcp://127.0.0.1:{port}");
        let advertised = format!("tcp://127.0.0.1:{advertised}");
        let mut c = Command::new(tansu_binary());
        c.args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &advertised,
        ])
        .args(["--storage-engine", engine]);
        if authentication {
            c.arg("--authentication");
        }
        c.current_dir(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("tansu.log")).unwrap())
            .spawn()
            .unwrap()
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Tansu did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("tansu.log")).unwrap_or_default()
    }

    pub fn servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A library connection to this broker.
    pub fn connection(&self) -> alertstream::kafka::Connection {
        let mut conn = alertstream::kafka::Connection::new(self.servers());
        conn.connect_timeout = Duration::from_secs(10);
        conn
    }

    pub fn create_topic(&self, name: &str, partitions: u32) {
        let out = Command::new(tansu_binary())
            .args([
                "topic",
                "create",
                name,
                "--partitions",
                &partitions.to_string(),
            ])
            .args(["--broker", &format!("tcp://127.0.0.1:{}", self.port)])
            .output()
            .unwrap();
        assert_success(&out, "topic create: ");
    }

    /// Creates a topic through alertstream with SASL credentials.
    pub fn create_topic_as(&self, name: &str, user: &str, password: &str) {
        use std::io::Write;
        let servers = self.servers();
        let mut child = bin()
            .args([
                "publish",
                "--servers",
                &servers,
                "--topic",
                name,
                "--format",
                "json",
                "--create-topic",
            ])
            .args([
                "--security-protocol",
                "SASL_PLAINTEXT",
                "--username",
                user,
                "--password-stdin",
            ])
            .arg(data("antares/1262927.json"))
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let out = child.wait_with_output().unwrap();
        assert_success(&out, "create topic: ");
    }

    /// Publishes with the CLI; panics with its stderr if it fails.
    pub fn publish(&self, topic: &str, format: &str, extra: &[&str], paths: &[&str]) {
        let servers = self.servers();
        let mut args = vec![
            "publish",
            "--servers",
            &servers,
            "--topic",
            topic,
            "--format",
            format,
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(paths);
        let out = run(&args);
        assert_success(&out, "publish: ");
    }

    /// `consume` arguments for this broker with quick group settings.
    pub fn consume_args(&self, topic: &str, group: &str) -> Vec<String> {
        [
            "consume",
            topic,
            "--servers",
            &self.servers(),
            "--group",
            group,
            "--session-timeout-ms",
            "6000",
            "--quiet",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Stops and starts again on the same port and database.
    pub fn restart(&mut self) {
        self.stop();
        self.child = Self::spawn(
            &self.dir.0,
            self.port,
            self.advertised_port,
            self.engine,
            self.authentication,
        );
        self.wait_listening();
    }

    /// Kills the broker (SIGKILL): clients see it vanish mid-request.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Deletes a topic with Tansu's own client.
    pub fn delete_topic(&self, name: &str) {
        let out = Command::new(tansu_binary())
            .args(["topic", "delete", name])
            .args(["--broker", &format!("tcp://127.0.0.1:{}", self.port)])
            .output()
            .unwrap();
        assert_success(&out, "topic delete: ");
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until `ready` holds, failing with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running `alertstream` whose stdout and stderr are collected.
pub struct Running {
    pub child: Child,
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Running {
    pub fn spawn(args: &[String]) -> Self {
        let mut child = bin()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let collect = |stream: Box<dyn std::io::Read + Send>| {
            let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
            let sink = text.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(stream)
                    .lines()
                    .map_while(Result::ok)
                {
                    let mut t = sink.lock().unwrap();
                    t.push_str(&line);
                    t.push('\n');
                }
            });
            text
        };
        let stdout = collect(Box::new(child.stdout.take().unwrap()));
        let stderr = collect(Box::new(child.stderr.take().unwrap()));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    pub fn stdout_lines(&self) -> usize {
        self.stdout.lock().unwrap().lines().count()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill only sends a signal to the child we started.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Waits at most `limit` for the exit; its code (`None`: killed by a
    /// signal, which fails the caller's assertion with the stderr).
    pub fn exit_within(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100)); // the readers finish
                return status.code();
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("still running after {limit:?}; stderr:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command that must fail with exit code 1 within `limit` (an error
/// reported, not a retry loop); returns its output and its stderr as text.
#[allow(dead_code)]
pub fn fails_within(limit: Duration, command: impl FnOnce() -> Output) -> (Output, String) {
    let start = Instant::now();
    let out = command();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(start.elapsed() < limit, "took {:?}", start.elapsed());
    (out, stderr)
}

/// A Python with fink-client installed: `ALERTSTREAM_FINK_PYTHON`, else the
/// virtual environment that scripts/test.sh makes. Never skipped: without
/// one the test fails and says how to get it.
pub fn fink_python() -> PathBuf {
    if let Ok(p) = std::env::var("ALERTSTREAM_FINK_PYTHON") {
        return p.into();
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let p = Path::new(&home).join(".cache/alertstream/fink-venv/bin/python");
    assert!(
        p.exists(),
        "no Python with fink-client: run scripts/test.sh once (it makes {}), or set ALERTSTREAM_FINK_PYTHON",
        p.display()
    );
    p
}

/// Runs a command, reads the first line of its stdout, then closes the pipe
/// (as `| head -1` does); returns that line and how the command ended.
pub fn first_line_then_close(mut command: Command) -> (String, Output) {
    use std::io::{BufRead, BufReader};
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    (first, child.wait_with_output().unwrap())
}

/// A library consumer configuration for this broker with quick group settings.
pub fn consumer_config(t: &Tansu, group: &str, topic: &str) -> alertstream::kafka::ConsumerConfig {
    let mut c = alertstream::kafka::ConsumerConfig::new(t.connection(), group, &[topic]);
    c.session_timeout_ms = 6000;
    c
}

/// Offsets `group` has committed on `topic`, summed over its partitions
/// (0 while it has committed none).
pub fn committed(t: &Tansu, group: &str, topic: &str) -> i64 {
    alertstream::kafka::admin::lag(&t.connection(), group, &[topic.to_owned()])
        .map(|rows| rows.iter().filter_map(|r| r.committed).sum())
        .unwrap_or(0)
}

/// A local HTTP server of `tests/servers/` that answers as a broker's
/// service does; it prints "port N" once listening on 127.0.0.1.
pub struct LocalServer {
    child: std::process::Child,
    pub port: u16,
}

impl LocalServer {
    pub fn start(script: &str, args: &[&str]) -> Self {
        use std::io::{BufRead, BufReader};
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/servers")
            .join(script);
        let mut child = Command::new("python3")
            .arg(&script)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{} said {line:?}", script.display()));
        LocalServer { child, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A local stand-in for ANTARES' REST API (`tests/servers/antares_api.py`),
/// serving Kafka options that point at `kafka_servers`.
pub struct AntaresApi(LocalServer);

impl AntaresApi {
    pub fn start(kafka_servers: &str, extra: &[&str]) -> Self {
        let mut args = vec![kafka_servers];
        args.extend_from_slice(extra);
        AntaresApi(LocalServer::start("antares_api.py", &args))
    }

    /// The API base, as `ANTARES_API_BASE_URL` takes it.
    pub fn base(&self) -> String {
        self.0.url("/v1/")
    }
}

/// A confluent-kafka producer of `n` JSON alerts to `topic`: objectId
/// `ZTF26fwd<i>`, candid `i`, magpsf `15 + (i % 10) / 2`, key `k<i>`, headers
/// `origin` and `i`; `pause` seconds between messages.
#[allow(dead_code)]
pub fn json_alert_producer(t: &Tansu, topic: &str, n: usize, pause: f64) -> Command {
    let script = r#"
import json, sys, time, confluent_kafka
servers, topic, n, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
p = confluent_kafka.Producer({"bootstrap.servers": servers, "linger.ms": 5})
for i in range(n):
    value = json.dumps({"objectId": f"ZTF26fwd{i:05d}", "candid": i, "magpsf": 15 + (i % 10) * 0.5})
    p.produce(topic, key=f"k{i}".encode(), value=value.encode(),
              headers=[("origin", b"replica"), ("i", str(i).encode())])
    p.poll(0)
    if pause:
        time.sleep(pause)
sys.exit(1 if p.flush(30) else 0)
"#;
    let mut command = Command::new(fink_python());
    command.args([
        "-c",
        script,
        &t.servers(),
        topic,
        &n.to_string(),
        &pause.to_string(),
    ]);
    command
}
