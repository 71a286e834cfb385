//! `consume`: arguments to a library [`Pipeline`], progress and the final
//! report on stderr. The stream itself (poll, save in durable batches,
//! commit after each batch, signals) is the library's.

use crate::cli::ConsumeArgs;
use crate::text::display_line;
use alertstream::kafka::consumer::{newer_versions, topic_list};
use alertstream::kafka::{admin, transfer, Connection, Consumer, ConsumerConfig, Forwarder};
use alertstream::notify::{
    Destination, Notifier, NotifyOptions, Rate, SLACK_WEBHOOK_ENV, TELEGRAM_TOKEN_ENV,
};
use alertstream::pipeline::{Options, Pipeline, Progress, Stats};
use alertstream::profile::{NotifySecret, Store};
use alertstream::select::Selection;
use alertstream::serve::Live;
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
    let username = target.connection.security.username.as_deref();
    target.profile.check_group(username, &group)?;
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
    let saving = saving(&args, &target.profile.topic_prefix)?;
    let notifier = notifier(&args)?;
    let connection = target.connection.clone();
    let mut config = ConsumerConfig::new(target.connection, group.clone(), &[]);
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
    let subscribed = config.topics.clone();
    let consumer = Consumer::new(config).context("cannot start consuming")?;
    tell_newer_versions(&connection, &subscribed);
    let mut sink = sink(args.display, saving)?;
    if let Some((servers, topic)) = &args.forward {
        let mut to = Connection::new(servers.clone());
        to.connect_timeout = connection.connect_timeout;
        let forwarder = Forwarder::new(&to, topic)
            .with_context(|| format!("cannot forward to {topic} at {servers}"))?;
        sink = Box::new(Both::new(sink, forwarder));
    }
    let live = args.serve.map(|_| Live::default());
    if let Some(notifier) = notifier {
        if let Some(live) = &live {
            live.with_tally(notifier.tally());
        }
        sink = Box::new(Both::new(sink, notifier));
    }
    // The web view of what is saved, with the run's metrics and health.
    let _server = match (args.serve, &args.save, &live) {
        (Some(addr), Some(dir), Some(live)) => {
            Some(crate::serve_cmd::start(dir, addr, Some(live.clone()))?)
        }
        _ => None,
    };
    let mut options = Options::default();
    options.limit = args.limit;
    options.idle_timeout = args.timeout.map(Duration::from_secs_f64);
    options.batch = args.batch.max(1);
    options.batch_wait = Duration::from_millis(args.batch_ms);
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let stats = stream(consumer, sink, options, progress, selection, live.as_ref());
    if let (Err(e), Some(live)) = (&stats, &live) {
        live.fail(format!("{e:#}"));
    }
    let stats = stats?;
    if !args.quiet {
        report(&stats, args.save.as_ref());
    }
    report_transfer_end(&connection, &group, &subscribed);
    Ok(ExitCode::SUCCESS)
}

/// The notifier of `--notify`, its undelivered messages kept beside the saved alerts.
fn notifier(args: &ConsumeArgs) -> anyhow::Result<Option<Notifier>> {
    let notify = &args.notify;
    if notify.notify.is_empty() {
        return Ok(None);
    }
    let rate: Option<Rate> = notify.notify_rate.as_deref().map(str::parse).transpose()?;
    // The environment, else the profile's kept secrets (`auth notify`).
    let store = Store::default_location()?;
    let profile = args.broker.profile.as_deref().unwrap_or("default");
    let env = |name: &str| {
        let kept = match name {
            TELEGRAM_TOKEN_ENV => Some(NotifySecret::TelegramToken),
            SLACK_WEBHOOK_ENV => Some(NotifySecret::SlackWebhook),
            _ => None,
        };
        std::env::var(name).ok().or_else(|| {
            let secret = store.notify_secret(profile, kept?).ok().flatten()?;
            Some(secret.expose().to_owned())
        })
    };
    let mut destinations = Vec::new();
    for spec in &notify.notify {
        let mut destination = Destination::parse(spec, None, env)?;
        destination.rate = rate.or(destination.rate);
        destinations.push(destination);
    }
    let mut options = NotifyOptions::new(args.save.clone().unwrap_or_else(|| PathBuf::from(".")));
    options.give_up = Duration::from_secs_f64(notify.notify_give_up.max(0.0));
    options.pictures = !notify.no_notify_pictures;
    Ok(Some(Notifier::new(destinations, options)?))
}

/// Says so when the broker has a newer major version of a subscribed
/// stream (Rubin moves to `lsst-alerts-v12` at its next major schema).
fn tell_newer_versions(connection: &Connection, subscribed: &[String]) {
    if !subscribed.iter().any(|t| t.rsplit_once("-v").is_some()) {
        return;
    }
    let Ok(listed) = admin::topics(connection) else {
        return;
    };
    let available: Vec<String> = listed.into_iter().map(|t| t.topic).collect();
    for (old, new) in newer_versions(subscribed, &available) {
        eprintln!(
            "alertstream: note: the broker also has {new}, a newer version of {old}: \
             the stream moves to a new topic at each major schema version"
        );
    }
}

/// After a Data Transfer run, says whether every partition was read to its
/// end (a re-run with the same group resumes where this one stopped).
fn report_transfer_end(connection: &Connection, group: &str, topics: &[String]) {
    match transfer::unread(connection, group, topics) {
        Ok(None) => {}
        Ok(Some(u)) if u.partitions == 0 => {
            eprintln!(
                "alertstream: every partition of {} was read to its end",
                u.topics.join(", ")
            );
        }
        Ok(Some(u)) => eprintln!(
            "alertstream: {} message(s) in {} partition(s) of {} not read yet: run the same \
             command again to resume",
            u.messages,
            u.partitions,
            u.topics.join(", ")
        ),
        Err(e) => eprintln!("alertstream: cannot tell whether the transfer is complete: {e}"),
    }
}

/// Where and how a stream is saved.
pub struct Saving {
    pub dir: PathBuf,
    pub storage: Storage,
}

fn saving(args: &ConsumeArgs, topic_prefix: &str) -> anyhow::Result<Option<Saving>> {
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
        format => Storage::named(format, args.layout)?.with_topic_prefix(topic_prefix),
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
    live: Option<&Live>,
) -> anyhow::Result<Stats> {
    let selecting = !selection.is_empty();
    let pipeline = Pipeline::new(consumer, sink)
        .options(options)
        .select(selection)
        .stop_on(stop_on_signals()?);
    let show = |p: &Progress| {
        if let Some(live) = live {
            live.update(p);
        }
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
