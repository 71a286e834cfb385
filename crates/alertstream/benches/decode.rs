//! Decode benchmark: ZTF (container per message), Fink (schemaless datum,
//! schema JSON in the key) and Rubin (Confluent wire format) messages built
//! from the bundled alerts, repeated to at least 10,000 per format.
//!
//! Prints alerts/s and MB/s for decoding alone and for decoding plus JSON
//! output, as JSON Lines on stdout. With `BENCH_MESSAGES_DIR` set it also
//! writes the exact messages it decoded, so bench/bench-decode.sh can time
//! fastavro on the same bytes. Run through that script.

use alertstream::{Decoder, DecoderOptions};
use bytes::Bytes;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

const MIN_MESSAGES: usize = 10_000;

struct Message {
    key: Option<Bytes>,
    value: Bytes,
}

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(rel)
}

fn files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data(dir))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

fn repeat(base: Vec<Message>) -> Vec<Message> {
    let rounds = MIN_MESSAGES.div_ceil(base.len());
    (0..rounds)
        .flat_map(|_| {
            base.iter().map(|m| Message {
                key: m.key.clone(),
                value: m.value.clone(),
            })
        })
        .collect()
}

/// ZTF: each alert file is exactly what ZTF puts in a Kafka message.
fn ztf_messages() -> Vec<Message> {
    repeat(
        files("ztf")
            .into_iter()
            .map(|p| Message {
                key: None,
                value: std::fs::read(p).unwrap().into(),
            })
            .collect(),
    )
}

/// Fink: each record of Fink's files as a schemaless datum, schema JSON in the key.
fn fink_messages() -> Vec<Message> {
    let d = Decoder::new(DecoderOptions::default()).unwrap();
    let mut base = Vec::new();
    for rel in ["fink/avro_multi_alerts.avro", "fink/part-3-305711.avro"] {
        for alert in d.decode_file(&data(rel)).into_result().unwrap() {
            let key = Bytes::from(alert.schema().unwrap().text().to_owned());
            base.push(Message {
                key: Some(key),
                value: alert.avro_datum().unwrap().clone(),
            });
        }
    }
    repeat(base)
}

/// Rubin: Confluent-framed packets (schema id in the first 5 bytes).
fn rubin_messages() -> Vec<Message> {
    repeat(
        files("rubin/wire_format")
            .into_iter()
            .map(|p| Message {
                key: None,
                value: std::fs::read(p).unwrap().into(),
            })
            .collect(),
    )
}

fn write_messages(dir: &Path, name: &str, msgs: &[Message]) {
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(dir.join(format!("{name}.msgs"))).unwrap());
    for m in msgs {
        let key = m.key.as_deref().unwrap_or_default();
        out.write_all(&(key.len() as u32).to_le_bytes()).unwrap();
        out.write_all(key).unwrap();
        out.write_all(&(m.value.len() as u32).to_le_bytes())
            .unwrap();
        out.write_all(&m.value).unwrap();
    }
}

fn run(name: &str, msgs: &[Message], with_json: bool) {
    let decoder =
        Decoder::new(DecoderOptions::default().with_schema_dir(data("rubin/schema"))).unwrap();
    // Warm up: first sight of each schema parses it; steady state is what counts.
    for m in msgs.iter().take(64) {
        decoder.decode(m.key.as_deref(), m.value.clone()).unwrap();
    }
    let bytes: usize = msgs.iter().map(|m| m.value.len()).sum();
    let mut sink = Vec::with_capacity(1 << 20);
    let mut best = f64::MAX;
    let mut alerts = 0;
    for _ in 0..3 {
        let start = Instant::now();
        alerts = 0;
        for m in msgs {
            for alert in decoder.decode(m.key.as_deref(), m.value.clone()).unwrap() {
                if with_json {
                    sink.clear();
                    alert.record().write_json(&mut sink).unwrap();
                    sink.push(b'\n');
                }
                alerts += 1;
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    let line = serde_json::json!({
        "side": "alertstream",
        "format": name,
        "task": if with_json { "decode+json" } else { "decode" },
        "messages": msgs.len(),
        "alerts": alerts,
        "seconds": best,
        "alerts_per_s": alerts as f64 / best,
        "mb_per_s": bytes as f64 / best / 1e6,
    });
    println!("{line}");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo bench --list
    }
    let sets = [
        ("ztf", ztf_messages()),
        ("fink", fink_messages()),
        ("rubin", rubin_messages()),
    ];
    if let Ok(dir) = std::env::var("BENCH_MESSAGES_DIR") {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, msgs) in &sets {
            write_messages(Path::new(&dir), name, msgs);
        }
    }
    for (name, msgs) in &sets {
        run(name, msgs, false);
        run(name, msgs, true);
    }
}
