//! `consume`: the main job. Poll, display, save in durable batches, commit
//! after each batch, stop on limit, idle timeout or signal.

use crate::cli::{ConsumeArgs, LayoutArg, SaveFormatArg, StartArg};
use alertstream::sink::{BackgroundSink, FileSink, Layout, SaveFormat};
use alertstream::source::{Checkpoint, Consumer, ConsumerConfig, Start};
use alertstream::time::format_unix_utc;
use alertstream::{Alert, Error};
use anyhow::Context;
use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Fink's added-value fields worth showing next to an alert, when present.
const FINK_FIELDS: [&str; 9] = [
    "finkclass",
    "tnsclass",
    "cdsxmatch",
    "roid",
    "mulens",
    "rf_snia_vs_nonia",
    "snn_snia_vs_nonia",
    "rf_kn_vs_nonkn",
    "fink_class",
];

/// How a stream run behaves; shared by `consume` and `demo`.
pub struct StreamOptions {
    pub limit: Option<u64>,
    pub idle_timeout: Option<Duration>,
    pub display: bool,
    pub progress: bool,
    pub batch: usize,
    pub batch_wait: Duration,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct StreamStats {
    pub alerts: u64,
    pub quarantined: u64,
    pub bytes: u64,
    /// The whole run, group join included.
    pub seconds: f64,
    /// From the first alert to the end: the rate the stream was served at.
    pub streaming_seconds: f64,
}

pub fn consume(args: ConsumeArgs) -> anyhow::Result<ExitCode> {
    let target = args.broker.target()?;
    let group = args.group.clone().or(target.profile.group.clone()).ok_or_else(|| {
        anyhow::anyhow!("no consumer group: pass --group NAME (or register one with `alertstream auth register`)")
    })?;
    let topics = target.topics(&split_topics(&args.topics));
    if topics.is_empty() {
        anyhow::bail!(
            "no topic: name one, or register topics with `alertstream auth register --topics`"
        );
    }
    let conn = target.connection;
    let mut config = ConsumerConfig::new(conn.servers, group, &[]);
    config.topics = topics;
    config.start = match args.start {
        StartArg::Earliest => Start::Earliest,
        StartArg::Latest => Start::Latest,
    };
    config.decoder = args.format.decoder_options();
    if config.decoder.schema_registry.is_none() {
        config.decoder.schema_registry = target.profile.schema_registry.clone();
    }
    config.fetch_wait_max_ms = args.fetch_wait_ms;
    config.session_timeout_ms = args.session_timeout_ms;
    config.properties = conn.properties;
    config.connect_timeout = conn.connect_timeout;
    config.security = conn.security;
    let consumer = Consumer::new(config).context("cannot start consuming")?;
    let sink = match &args.save {
        Some(dir) => Some(open_sink(dir, args.layout, args.save_format)?),
        None => None,
    };
    let options = StreamOptions {
        limit: args.limit,
        idle_timeout: args.timeout.map(Duration::from_secs_f64),
        display: args.display,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        batch: args.batch.max(1),
        batch_wait: Duration::from_millis(args.batch_ms),
    };
    let stop = stop_on_signals()?;
    let stats = run_stream(consumer, sink, &options, &stop)?;
    if !args.quiet {
        report(&stats, args.save.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn open_sink(
    dir: &PathBuf,
    layout: LayoutArg,
    format: SaveFormatArg,
) -> anyhow::Result<FileSink> {
    let layout = match layout {
        LayoutArg::Fink => Layout::Fink,
        LayoutArg::Topic => Layout::Topic,
    };
    let format = match format {
        SaveFormatArg::Avro => SaveFormat::Avro,
        SaveFormatArg::Json => SaveFormat::Json,
    };
    FileSink::new(dir, layout, format).with_context(|| format!("cannot save to {}", dir.display()))
}

pub fn report(stats: &StreamStats, saved: Option<&PathBuf>) {
    let secs = stats.streaming_seconds.max(1e-9);
    let mut line = format!(
        "alertstream: {} alerts in {:.1} s; {:.0} alerts/s, {:.1} MB/s since the first alert",
        stats.alerts,
        stats.seconds,
        stats.alerts as f64 / secs,
        stats.bytes as f64 / secs / 1e6
    );
    if stats.quarantined > 0 {
        line += &format!(", {} undecodable message(s) quarantined", stats.quarantined);
    }
    if let Some(dir) = saved {
        line += &format!("; saved in {}", dir.display());
    }
    eprintln!("{line}");
}

/// Topics given as names, comma lists or ^regex patterns.
fn split_topics(args: &[String]) -> Vec<String> {
    args.iter()
        .flat_map(|a| {
            if a.starts_with('^') {
                vec![a.clone()]
            } else {
                a.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
        })
        .collect()
}

/// SIGINT and SIGTERM set a flag: the loop finishes its batch and exits 0.
pub fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())
            .context("cannot install signal handlers")?;
    }
    Ok(stop)
}

const NOT_DURABLE: &str = "cannot make saved alerts durable; their offsets are not committed";

/// Encoded alerts waiting for the saving thread: about 8 MB of ZTF alerts.
const SAVE_QUEUE: usize = 128;

struct Stream<'a> {
    consumer: Consumer,
    /// Writes files on its own thread; hands back each sealed batch's
    /// offsets once the batch is durable.
    sink: Option<BackgroundSink<Checkpoint>>,
    options: &'a StreamOptions,
    stats: StreamStats,
    oldest_unsaved: Option<Instant>,
    warned: HashSet<String>,
    out: std::io::StdoutLock<'static>,
}

/// Polls until limit, idle timeout or signal; every alert is displayed and/or
/// staged, and each batch is made durable before its offsets are committed.
pub fn run_stream(
    consumer: Consumer,
    sink: Option<FileSink>,
    options: &StreamOptions,
    stop: &AtomicBool,
) -> anyhow::Result<StreamStats> {
    let start = Instant::now();
    let sink = sink
        .map(|sink| BackgroundSink::spawn(sink, SAVE_QUEUE))
        .transpose()
        .context("cannot start saving")?;
    let mut s = Stream {
        consumer,
        sink,
        options,
        stats: StreamStats::default(),
        oldest_unsaved: None,
        warned: HashSet::new(),
        out: std::io::stdout().lock(),
    };
    let mut last_alert = Instant::now();
    let mut last_progress = Instant::now();
    let mut first_alert = None;
    while !stop.load(Ordering::Relaxed) && options.limit.is_none_or(|l| s.stats.alerts < l) {
        if options
            .idle_timeout
            .is_some_and(|t| last_alert.elapsed() >= t)
        {
            break;
        }
        match s.consumer.poll(Duration::from_millis(100)) {
            Ok(Some(alert)) => {
                last_alert = Instant::now();
                first_alert.get_or_insert(last_alert);
                s.take(&alert)?;
            }
            Ok(None) => {}
            Err(Error::Poison(poison)) => {
                last_alert = Instant::now();
                s.quarantine(*poison)?;
            }
            Err(e) => s.warn_once(&e.to_string()),
        }
        s.commit_durable()?;
        if s.batch_due() {
            s.start_batch()?;
        }
        if options.progress && last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            s.progress(start.elapsed().as_secs_f64());
        }
    }
    s.start_batch()?;
    s.finish_saving()?;
    if options.progress {
        eprint!("\r\x1b[K");
    }
    s.stats.seconds = start.elapsed().as_secs_f64();
    s.stats.streaming_seconds = first_alert.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let Stream {
        consumer, stats, ..
    } = s;
    consumer.close();
    Ok(stats)
}

impl Stream<'_> {
    fn take(&mut self, alert: &Alert) -> anyhow::Result<()> {
        self.stats.alerts += 1;
        self.stats.bytes += alert.avro_datum().map_or(alert.raw().len(), |d| d.len()) as u64;
        if self.options.display {
            writeln!(self.out, "{}", display_line(alert)).context("cannot write to stdout")?;
        }
        if let Some(sink) = &mut self.sink {
            sink.save(alert).context("cannot save an alert")?;
        }
        self.oldest_unsaved.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn quarantine(&mut self, poison: alertstream::source::PoisonMessage) -> anyhow::Result<()> {
        self.stats.quarantined += 1;
        let place = match &mut self.sink {
            Some(sink) => format!("kept in {}", sink.save_quarantine(&poison)?.display()),
            None => "not kept (no --save)".to_owned(),
        };
        eprintln!(
            "alertstream: undecodable message {}[{}] offset {}: {}; {place}",
            poison.topic, poison.partition, poison.offset, poison.error
        );
        self.oldest_unsaved.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn batch_due(&self) -> bool {
        let staged = self.sink.as_ref().map_or(0, BackgroundSink::unsealed);
        staged >= self.options.batch
            || self
                .oldest_unsaved
                .is_some_and(|t| t.elapsed() >= self.options.batch_wait)
    }

    /// The durability contract: a batch's offsets are committed only after
    /// its files are durable. Without --save, after its lines are written.
    /// With --save, the batch is sealed: the saving thread makes it durable
    /// while the next one is consumed, and hands its offsets back.
    fn start_batch(&mut self) -> anyhow::Result<()> {
        self.out.flush().context("cannot write to stdout")?;
        self.oldest_unsaved = None;
        match &mut self.sink {
            None => self.consumer.commit().context("cannot commit offsets"),
            Some(sink) => sink.seal(self.consumer.checkpoint()).context(NOT_DURABLE),
        }
    }

    /// Commits the offsets of the batches that became durable.
    fn commit_durable(&mut self) -> anyhow::Result<()> {
        let Some(sink) = &mut self.sink else {
            return Ok(());
        };
        let durable = sink.durable().context(NOT_DURABLE)?;
        self.commit_checkpoints(durable)
    }

    /// Waits for the saving thread to make every sealed batch durable, then
    /// commits their offsets.
    fn finish_saving(&mut self) -> anyhow::Result<()> {
        let Some(sink) = self.sink.take() else {
            return Ok(());
        };
        let durable = sink.finish().context(NOT_DURABLE)?;
        self.commit_checkpoints(durable)
    }

    /// Commits several durable batches at once: one round trip to the broker.
    fn commit_checkpoints(&mut self, checkpoints: Vec<Checkpoint>) -> anyhow::Result<()> {
        let mut all = Checkpoint::default();
        for checkpoint in checkpoints {
            all.extend(checkpoint);
        }
        self.consumer
            .commit_checkpoint(&all)
            .context("cannot commit offsets")
    }

    fn warn_once(&mut self, message: &str) {
        if self.warned.insert(message.to_owned()) {
            eprintln!("alertstream: warning: {message}");
        }
    }

    fn progress(&self, seconds: f64) {
        let lag = self
            .consumer
            .lag()
            .map_or("?".to_owned(), |l| l.to_string());
        eprint!(
            "\r\x1b[K{} alerts  {:.0}/s  lag {lag}",
            self.stats.alerts,
            self.stats.alerts as f64 / seconds.max(1e-9)
        );
    }
}

/// `emitted  received  topic  object  alert  brightness  [fink fields]`
pub fn display_line(alert: &Alert) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let dash = || "-".to_owned();
    let mut line = format!(
        "{:<24} {:<24} {:<16} {:<14} {:>20} {}",
        alert.time().map_or_else(dash, |t| t.to_utc_string()),
        format_unix_utc(now),
        alert.kafka().map_or_else(dash, |k| k.topic.clone()),
        alert.object_id().map_or_else(dash, |i| i.to_string()),
        alert.alert_id().map_or_else(dash, |i| i.to_string()),
        alert.brightness().map_or_else(dash, |b| b.to_string()),
    );
    let record = alert.record();
    for name in FINK_FIELDS {
        if let Some(v) = record.get(name).filter(|v| !v.is_null()) {
            let text = v
                .as_str()
                .map(str::to_owned)
                .or_else(|| v.as_f64().map(|f| format!("{f:.3}")));
            if let Some(text) = text {
                line += &format!(" {name}={text}");
            }
        }
    }
    line
}
