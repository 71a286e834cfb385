//! `consume`: arguments to a library [`Pipeline`], progress and the final
//! report on stderr. The stream itself (poll, save in durable batches,
//! commit after each batch, signals) is the library's.

use crate::cli::ConsumeArgs;
use crate::text::display_line;
use alertstream::kafka::consumer::topic_list;
use alertstream::kafka::{Consumer, ConsumerConfig};
use alertstream::pipeline::{Options, Pipeline, Progress, Stats};
use alertstream::select::Selection;
use alertstream::sink::parquet::ParquetOptions;
use alertstream::sink::{Both, Handler, Sink, Storage, StorageFormat};
use alertstream::{Alert, Error};
use anyhow::Context;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub fn consume(args: ConsumeArgs) -> anyhow::Result<ExitCode> {
    let target = args.broker.target()?;
    let group = args.group.clone().or(target.profile.group.clone()).ok_or_else(|| {
        anyhow::anyhow!("no consumer group: pass --group NAME (or register one with `alertstream auth register`)")
    })?;
    let topics = target.topics(&topic_list(&args.topics));
    if topics.is_empty() {
        anyhow::bail!(
            "no topic: name one, or register topics with `alertstream auth register --topics`"
        );
    }
    // What selects alerts, before connecting: a bad expression exits 2.
    let selection = Selection {
        criteria: args.select.criteria()?,
        once: args.once.once(&group, args.save.as_ref())?,
    };
    let saving = saving(&args)?;
    let mut config = ConsumerConfig::new(target.connection, group, &[]);
    config.topics = topics;
    config.start = args.start;
    config.decoder = args.format.decoder_options();
    // The profile's format and registry, unless given on the command line.
    config.decoder.format = config.decoder.format.or(target.profile.format);
    if config.decoder.schema_registry.is_none() {
        config.decoder.schema_registry = target.profile.schema_registry.clone();
    }
    config.fetch_wait_max_ms = args.fetch_wait_ms;
    config.session_timeout_ms = args.session_timeout_ms;
    config.instance_id = args.instance_id.clone();
    let consumer = Consumer::new(config).context("cannot start consuming")?;
    let sink = sink(args.display, saving)?;
    let mut options = Options::default();
    options.limit = args.limit;
    options.idle_timeout = args.timeout.map(Duration::from_secs_f64);
    options.batch = args.batch.max(1);
    options.batch_wait = Duration::from_millis(args.batch_ms);
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let stats = stream(consumer, sink, options, progress, selection)?;
    if !args.quiet {
        report(&stats, args.save.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

/// Where and how a stream is saved.
pub struct Saving {
    pub dir: PathBuf,
    pub storage: Storage,
}

fn saving(args: &ConsumeArgs) -> anyhow::Result<Option<Saving>> {
    let parquet = args.save_format == StorageFormat::Parquet;
    if !parquet && !args.partition_by.is_empty() {
        anyhow::bail!("--partition-by goes with --save-format parquet");
    }
    let Some(dir) = &args.save else {
        if parquet || !args.partition_by.is_empty() {
            anyhow::bail!("--save-format parquet and --partition-by go with --save DIR");
        }
        return Ok(None);
    };
    let storage = match args.save_format {
        StorageFormat::Parquet => Storage::Parquet(
            ParquetOptions::default()
                .with_roll(
                    args.roll,
                    Duration::from_secs_f64(args.roll_seconds.max(0.0)),
                )
                .with_partition_by(args.partition_by.clone())
                .with_cutouts(!args.no_cutouts)
                .with_matches(args.select.tags()),
        ),
        format => Storage::named(format, args.layout)?,
    };
    Ok(Some(Saving {
        dir: dir.clone(),
        storage,
    }))
}

/// Where alerts go: printed lines, files, or both.
pub fn sink(display: bool, save: Option<Saving>) -> anyhow::Result<Box<dyn Sink>> {
    let display = display.then(display_handler);
    let saver = match save {
        Some(s) => Some(
            s.storage
                .open(&s.dir)
                .with_context(|| format!("cannot save to {}", s.dir.display()))?,
        ),
        None => None,
    };
    Ok(match (display, saver) {
        (Some(display), Some(saver)) => Box::new(Both::new(saver, display)),
        (Some(display), None) => Box::new(display),
        (None, Some(saver)) => saver,
        (None, None) => Box::new(Handler::new(|_: &Alert| Ok(()))),
    })
}

/// Prints one line per alert on stdout; an alert counts as handled once
/// its line is written.
fn display_handler() -> Handler<impl FnMut(&Alert) -> alertstream::Result<()>> {
    let mut out = std::io::stdout().lock();
    Handler::new(move |alert: &Alert| {
        writeln!(out, "{}", display_line(alert, now_unix())).map_err(|e| Error::Io {
            path: "standard output".into(),
            source: e,
        })
    })
}

/// Runs the pipeline until limit, idle timeout, signal or error, showing
/// progress on a terminal.
pub fn stream(
    consumer: Consumer,
    sink: Box<dyn Sink>,
    options: Options,
    progress: bool,
    selection: Selection,
) -> anyhow::Result<Stats> {
    let selecting = !selection.is_empty();
    let pipeline = Pipeline::new(consumer, sink)
        .options(options)
        .select(selection)
        .stop_on(stop_on_signals()?);
    let show = |p: &Progress| {
        if progress {
            let lag = p.lag.map_or("?".to_owned(), |l| l.to_string());
            let rate = p.seen as f64 / p.seconds.max(1e-9);
            let kept = match selecting {
                true => format!("{} seen  {} kept  ", p.seen, p.alerts),
                false => format!("{} alerts  ", p.alerts),
            };
            eprint!("\r\x1b[K{kept}{rate:.0}/s  lag {lag}");
        }
    };
    let stats = pipeline.run_with(show);
    if progress {
        eprint!("\r\x1b[K");
    }
    Ok(stats?)
}

pub fn report(stats: &Stats, saved: Option<&PathBuf>) {
    let secs = stats.streaming_seconds.max(1e-9);
    let mut line = format!(
        "alertstream: {} alerts in {:.1} s; {:.0} alerts/s, {:.1} MB/s since the first alert",
        stats.alerts,
        stats.seconds,
        stats.seen as f64 / secs,
        stats.bytes as f64 / secs / 1e6
    );
    if stats.dropped.total() > 0 || stats.seen != stats.alerts {
        line = format!(
            "alertstream: {} alerts seen, {} kept, {} dropped ({}) in {:.1} s; {:.0} alerts/s since the first alert",
            stats.seen,
            stats.alerts,
            stats.dropped.total(),
            stats.dropped.describe(),
            stats.seconds,
            stats.seen as f64 / secs,
        );
    }
    if stats.quarantined > 0 {
        line += &format!(", {} undecodable message(s) quarantined", stats.quarantined);
    }
    if let Some(dir) = saved {
        line += &format!("; saved in {}", dir.display());
    }
    if stats.stopped {
        line += "; stopped on request";
    }
    eprintln!("{line}");
}

/// SIGINT and SIGTERM set a flag: the pipeline finishes its batch and
/// exits 0 within its stop timeout. A second signal exits at once (130):
/// what was committed stays committed, the rest is delivered again.
fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Registered first: it sees the flag as the previous signal left it.
        signal_hook::flag::register_conditional_shutdown(signal, 130, stop.clone())
            .context("cannot install signal handlers")?;
        signal_hook::flag::register(signal, stop.clone())
            .context("cannot install signal handlers")?;
    }
    Ok(stop)
}
