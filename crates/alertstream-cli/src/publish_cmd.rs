//! `publish` (alert files to a topic) and `demo` (a whole stream on the
//! bundled alerts, against an embedded or a given broker).

use crate::cli::{schema_options, DemoArgs, PublishArgs};
use crate::consume_cmd::{report, sink, stream, Saving};
use crate::decode_cmd::files_under;
use alertstream::kafka::admin::create_topic;
use alertstream::kafka::publisher::{encode, Message, Publisher};
use alertstream::kafka::{Connection, Consumer, ConsumerConfig, EmbeddedBroker, Start};
use alertstream::pipeline::Options;
use alertstream::sink::{Layout, Storage, StorageFormat};
use alertstream::{Decoder, DecoderOptions, Format};
use anyhow::Context;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

pub fn publish(args: PublishArgs) -> anyhow::Result<ExitCode> {
    let options = schema_options(&args.schemas).with_limits(args.limits.limits());
    let decoder = Decoder::new(options).context("cannot set up decoding")?;
    let mut failures = 0usize;
    let mut messages = Vec::new();
    for file in files_under(&args.paths, &mut failures) {
        let decoded = decoder.decode_file(&file);
        for alert in &decoded.alerts {
            match encode(alert, args.wire_format, args.schema_id) {
                Ok(m) => messages.push(m),
                Err(e) => {
                    eprintln!(
                        "alertstream: {}: {}",
                        file.display(),
                        crate::hint::with_hint(&e)
                    );
                    failures += 1;
                }
            }
        }
        if let Some(f) = decoded.failure {
            eprintln!(
                "alertstream: {}: {}",
                file.display(),
                crate::hint::with_hint(&f.error)
            );
            failures += 1;
        }
    }
    let conn = args.broker.target()?.connection;
    if args.create_topic {
        create_topic(&conn, &args.topic, args.partitions)?;
    }
    let publisher = Publisher::new(&conn, &args.topic)?;
    let sent = send_all(&publisher, &messages, args.repeat, args.rate)?;
    eprintln!(
        "alertstream: published {sent} {} messages to {}",
        args.wire_format, args.topic
    );
    Ok(if failures > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Sends every message `repeat` times, at most `rate` per second, and waits
/// for the broker to acknowledge all of them.
fn send_all(
    publisher: &Publisher,
    messages: &[Message],
    repeat: u64,
    rate: Option<f64>,
) -> anyhow::Result<u64> {
    let start = Instant::now();
    let mut sent = 0u64;
    for _ in 0..repeat {
        for m in messages {
            if let Some(rate) = rate.filter(|r| *r > 0.0) {
                let due = start + Duration::from_secs_f64(sent as f64 / rate);
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
            }
            publisher.send(m)?;
            sent += 1;
        }
    }
    publisher.flush(DELIVERY_TIMEOUT)?;
    Ok(sent)
}

/// Alerts bundled into the binary for `demo`: (file name, bytes, wire format).
const DEMO_ALERTS: [(&str, &[u8], Format); 6] = [
    (
        "ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro",
        include_bytes!("../../../tests/data/ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro"),
        Format::Ztf,
    ),
    (
        "ztf_v3.5_1661382530015060001_ZTF18aaxjdyr.avro",
        include_bytes!("../../../tests/data/ztf/ztf_v3.5_1661382530015060001_ZTF18aaxjdyr.avro"),
        Format::Ztf,
    ),
    (
        "ztf_v2.0_472263571115090000_ZTF18aaxjlwy.avro",
        include_bytes!("../../../tests/data/ztf/ztf_v2.0_472263571115090000_ZTF18aaxjlwy.avro"),
        Format::Ztf,
    ),
    (
        "fink ZTF19acihgng.avro",
        include_bytes!("../../../tests/data/fink/ZTF19acihgng.avro"),
        Format::Fink,
    ),
    (
        "elasticc alert_mjd60674.0512_obj747_src1494043.avro.gz",
        include_bytes!("../../../tests/data/fink/alert_mjd60674.0512_obj747_src1494043.avro.gz"),
        Format::Ztf,
    ),
    (
        "antares 1262927.bson.zlib",
        include_bytes!("../../../tests/data/antares/1262927.bson.zlib"),
        Format::Antares,
    ),
];

pub fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let topic = "alertstream-demo";
    let embedded;
    let conn = match &args.servers {
        Some(s) => {
            let conn = Connection::new(s);
            create_topic(&conn, topic, 1)?;
            conn
        }
        None => {
            embedded = EmbeddedBroker::start(&[topic])?;
            eprintln!(
                "alertstream: embedded broker (librdkafka mock cluster) at {}",
                embedded.servers()
            );
            Connection::new(embedded.servers())
        }
    };

    let decoder = Decoder::new(DecoderOptions::default())?;
    let mut messages = Vec::new();
    for (name, bytes, format) in DEMO_ALERTS {
        for alert in decoder
            .decode(None, bytes.to_vec().into())
            .with_context(|| format!("bundled alert {name}"))?
        {
            messages.push(encode(&alert, format, None)?);
        }
    }
    let publisher = Publisher::new(&conn, topic)?;
    let sent = send_all(&publisher, &messages, 1, None)?;
    eprintln!(
        "alertstream: published {sent} bundled alerts (ZTF, Fink, ELAsTiCC, ANTARES) to {topic}"
    );

    let group = format!("alertstream-demo-{}", std::process::id());
    let mut config = ConsumerConfig::new(conn, group, &[topic]);
    config.start = Start::Earliest;
    config.session_timeout_ms = 6000;
    let consumer = Consumer::new(config)?;
    let saving = Saving {
        dir: args.dir.clone(),
        storage: Storage::named(StorageFormat::Avro, Layout::Fink)?,
    };
    let sink = sink(true, Some(saving))?;
    let mut options = Options::default();
    options.limit = Some(sent);
    options.idle_timeout = Some(Duration::from_secs(30));
    let stats = stream(
        consumer,
        sink,
        options,
        std::io::stderr().is_terminal(),
        Default::default(),
        None,
    )?;
    report(&stats, Some(&args.dir));
    eprintln!(
        "alertstream: look at them with: {} inspect {}",
        this_command(),
        args.dir.display()
    );
    Ok(if stats.alerts == sent {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// How to run this binary again, as the user ran it: `alertstream` when it
/// was found on the PATH, else its path (`cargo run` runs
/// `target/release/alertstream`; `cargo install --path crates/alertstream-cli`
/// puts it on the PATH).
fn this_command() -> String {
    let argv0 = std::env::args().next().unwrap_or_default();
    if argv0.is_empty() || !argv0.contains('/') {
        return "alertstream".to_owned();
    }
    argv0
}
