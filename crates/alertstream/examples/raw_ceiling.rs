//! The ceilings the streaming benchmark compares against (bench/bench-stream.sh):
//!
//! `raw_ceiling consume SERVERS TOPIC GROUP N` receives N messages with a bare
//! librdkafka consumer (no decoding, no commits): what the broker and the
//! client library can deliver.
//!
//! `raw_ceiling write DIR N FILE...` writes N files cycling over the given
//! files' bytes, then syncs the file system once: what the disk can take.
//!
//! `raw_ceiling consume-write SERVERS TOPIC GROUP N DIR` does both in one
//! thread: each message's key and payload (a Fink alert's schema and datum,
//! about the bytes of its saved container) to a file, one sync at the end.
//! No decoding, no durability per batch: what broker and disk together allow.
//!
//! Each prints one JSON line: messages/s, MB/s.

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use std::io::Write;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("consume") if args.len() == 5 => {
            consume(&args[1], &args[2], &args[3], args[4].parse().unwrap())
        }
        Some("write") if args.len() >= 4 => write(&args[1], args[2].parse().unwrap(), &args[3..]),
        Some("consume-write") if args.len() == 6 => consume_write(
            &args[1],
            &args[2],
            &args[3],
            args[4].parse().unwrap(),
            &args[5],
        ),
        _ => {
            eprintln!(
                "usage: raw_ceiling consume SERVERS TOPIC GROUP N | write DIR N FILE... \
                 | consume-write SERVERS TOPIC GROUP N DIR"
            );
            std::process::exit(2);
        }
    }
}

fn report(what: &str, n: usize, bytes: usize, start: Instant) {
    let s = start.elapsed().as_secs_f64();
    println!(
        "{{\"side\":\"{what}\",\"alerts\":{n},\"seconds\":{s},\"alerts_per_s\":{},\"mb_per_s\":{}}}",
        n as f64 / s,
        bytes as f64 / s / 1e6
    );
}

fn consume(servers: &str, topic: &str, group: &str, n: usize) {
    let (bytes, start) = each_message(servers, topic, group, n, |_, m| {
        m.payload().map_or(0, <[u8]>::len)
    });
    report("raw librdkafka", n, bytes, start);
}

fn consume_write(servers: &str, topic: &str, group: &str, n: usize, dir: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let (bytes, start) = each_message(servers, topic, group, n, |i, m| {
        let (key, payload) = (m.key().unwrap_or_default(), m.payload().unwrap_or_default());
        let mut file = std::fs::File::create(format!("{dir}/{i}.avro")).unwrap();
        file.write_all(key).unwrap();
        file.write_all(payload).unwrap();
        key.len() + payload.len()
    });
    sync_filesystem(dir);
    report("raw librdkafka + plain write", n, bytes, start);
}

/// Polls n messages with a bare consumer, handing each to `handle`, which
/// returns its byte count. Returns the bytes and when the first message came.
fn each_message(
    servers: &str,
    topic: &str,
    group: &str,
    n: usize,
    mut handle: impl FnMut(usize, &BorrowedMessage) -> usize,
) -> (usize, Instant) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        // The fetch settings alertstream uses for a broker on this machine.
        .set("fetch.wait.max.ms", "1")
        .set("max.partition.fetch.bytes", (4 << 20).to_string())
        .set("queued.max.messages.kbytes", "16384")
        .set("fetch.queue.backoff.ms", "10")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let (mut count, mut bytes) = (0usize, 0usize);
    let mut start = None;
    while count < n {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(500)) {
            start.get_or_insert_with(Instant::now);
            bytes += handle(count, &m);
            count += 1;
        }
    }
    (bytes, start.unwrap_or_else(Instant::now))
}

fn sync_filesystem(dir: &str) {
    let status = std::process::Command::new("sync")
        .arg("-f")
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
}

fn write(dir: &str, n: usize, files: &[String]) {
    let payloads: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    std::fs::create_dir_all(dir).unwrap();
    let start = Instant::now();
    let mut bytes = 0;
    for i in 0..n {
        let p = &payloads[i % payloads.len()];
        std::fs::write(format!("{dir}/{i}.avro"), p).unwrap();
        bytes += p.len();
    }
    sync_filesystem(dir);
    report("plain write + sync", n, bytes, start);
}
