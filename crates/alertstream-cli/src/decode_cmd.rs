//! `decode` and `inspect`: walk paths, decode every file, report failures
//! on stderr and go on.

use crate::cli::{CutoutsArgs, DecodeArgs, InspectArgs, ViewArgs};
use crate::text::{table_header, table_row};
use alertstream::decode::parallel::map_ordered;
use alertstream::model::stamp::Stamp;
use alertstream::model::summary::Summary;
use alertstream::select::{Criteria, Dropped, Verdict};
use alertstream::{Alert, Decoder, Survey};
use anyhow::Context;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

pub fn decode(args: DecodeArgs) -> anyhow::Result<ExitCode> {
    let decoder = Decoder::new(args.format.decoder_options()).context("cannot set up decoding")?;
    let criteria = args.select.criteria()?;
    let tagged = args.select.tags();
    for_each_alert(&decoder, &criteria, &args.paths, |out, alert| {
        match tagged {
            true => out.extend_from_slice(alert.to_json_with_matches().as_bytes()),
            false => alert.record().write_json(out)?,
        }
        out.push(b'\n');
        Ok(())
    })
}

pub fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let decoder = Decoder::new(args.format.decoder_options()).context("cannot set up decoding")?;
    let criteria = args.select.criteria()?;
    if !args.json {
        writeln!(std::io::stdout(), "{}", table_header()).context("cannot write to stdout")?;
    }
    let json = args.json;
    for_each_alert(&decoder, &criteria, &args.paths, move |out, alert| {
        let summary = Summary::of(alert);
        if json {
            serde_json::to_writer(&mut *out, &summary)?;
            out.push(b'\n');
        } else {
            writeln!(out, "{}", table_row(&summary))?;
        }
        Ok(())
    })
}

/// Writes each alert's stamps as FITS files and prints their paths.
pub fn cutouts(args: CutoutsArgs) -> anyhow::Result<ExitCode> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let decoder = Decoder::new(args.format.decoder_options()).context("cannot set up decoding")?;
    let criteria = args.select.criteria()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot make {}", args.out.display()))?;
    let without = AtomicUsize::new(0);
    let code = for_each_alert(&decoder, &criteria, &args.paths, |out, alert| {
        let written = alertstream::sink::stamps::save_stamps(alert, &args.out, args.gz)
            .map_err(std::io::Error::other)?;
        if written.is_empty() {
            without.fetch_add(1, Ordering::Relaxed);
        }
        for path in written {
            writeln!(out, "{}", path.display())?;
        }
        Ok(())
    })?;
    let without = without.into_inner();
    if without > 0 {
        eprintln!("alertstream: {without} alert(s) carry no cutouts (ANTARES alerts never do)");
    }
    Ok(code)
}

/// Draws a picture of each alert and prints its path.
pub fn view(args: ViewArgs) -> anyhow::Result<ExitCode> {
    use alertstream::picture::{save_picture_with, PictureFormat};
    let decoder = Decoder::new(args.format.decoder_options()).context("cannot set up decoding")?;
    let criteria = args.select.criteria()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot make {}", args.out.display()))?;
    let format: PictureFormat = args.picture_format;
    let api = alertstream::api::antares::api_base();
    for_each_alert(&decoder, &criteria, &args.paths, |out, alert| {
        let mut stamps = alert.cutouts().map_err(std::io::Error::other)?;
        if args.fetch_cutouts && stamps.is_empty() && alert.survey() == Survey::Antares {
            stamps = fetched_cutouts(&api, alert).map_err(std::io::Error::other)?;
        }
        let path =
            save_picture_with(alert, &stamps, &args.out, format).map_err(std::io::Error::other)?;
        writeln!(out, "{}", path.display())
    })
}

/// An ANTARES alert's cutouts from the thumbnails ANTARES' API keeps.
fn fetched_cutouts(api: &str, alert: &Alert) -> alertstream::Result<Vec<Stamp>> {
    let Some(id) = alert.alert_id() else {
        return Ok(Vec::new());
    };
    alertstream::api::antares::thumbnail_stamps(api, &id.to_string(), alert.limits())
}

/// One file's output lines and the message of its failure, if any.
type FileOutput = (Vec<u8>, Option<String>);

/// Decodes every file under `paths` on every core, keeps the alerts
/// `criteria` keep, writes what `render` makes of each in file order, and
/// prints one line per failure. Exit code 1 when anything failed.
fn for_each_alert(
    decoder: &Decoder,
    criteria: &Criteria,
    paths: &[PathBuf],
    render: impl Fn(&mut Vec<u8>, &Alert) -> std::io::Result<()> + Sync,
) -> anyhow::Result<ExitCode> {
    let tally = Tally::default();
    let mut failures = 0usize;
    let files = files_under(paths, &mut failures);
    let mut out = std::io::stdout().lock();
    let mut write_error = None;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let work = |file: &PathBuf| -> FileOutput {
        let mut decoded = decoder.decode_file(file);
        if let Err(e) = tally.select(criteria, &mut decoded.alerts) {
            return (Vec::new(), Some(format!("{}: {}", file.display(), e)));
        }
        // JSON with base64 cutouts is about 1.1x the Avro: one allocation.
        let size = decoded
            .alerts
            .iter()
            .map(|a| a.raw().len())
            .max()
            .unwrap_or(0);
        let mut lines = Vec::with_capacity(size + size / 4);
        for alert in &decoded.alerts {
            if let Err(e) = render(&mut lines, alert) {
                return (lines, Some(format!("{}: {e}", file.display())));
            }
        }
        let failure = decoded.failure.map(|f| {
            let record = f
                .record
                .map(|r| format!(" (record {r})"))
                .unwrap_or_default();
            format!(
                "{}{record}: {}",
                file.display(),
                crate::hint::with_hint(&f.error)
            )
        });
        (lines, failure)
    };
    map_ordered(&files, threads, work, |(lines, failure)| {
        if let Err(e) = out.write_all(&lines) {
            write_error = Some(e);
            return ControlFlow::Break(());
        }
        if let Some(message) = failure {
            failures += 1;
            let _ = out.flush();
            eprintln!("alertstream: {message}");
        }
        ControlFlow::Continue(())
    });
    match write_error.map_or_else(|| out.flush(), Err) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(e).context("cannot write to stdout"),
        Ok(()) => {}
    }
    if !criteria.is_empty() {
        eprintln!("alertstream: {}", tally.describe());
    }
    if let Some(filter) = &criteria.filter {
        for (field, closest) in filter.unknown_fields() {
            failures += 1;
            let closest = match closest.is_empty() {
                true => String::new(),
                false => format!(" (closest: {})", closest.join(", ")),
            };
            eprintln!(
                "alertstream: error: --where names {field}, a field of no alert read{closest}"
            );
        }
    }
    if failures > 0 {
        eprintln!("alertstream: {failures} file(s) or field(s) failed; see the messages above");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// How many alerts were read, kept and dropped, counted on every core.
#[derive(Default)]
struct Tally {
    seen: AtomicU64,
    kept: AtomicU64,
    dropped: std::sync::Mutex<Dropped>,
}

impl Tally {
    /// Keeps the alerts the criteria keep (tagged).
    fn select(&self, criteria: &Criteria, alerts: &mut Vec<Alert>) -> alertstream::Result<()> {
        if criteria.is_empty() {
            return Ok(());
        }
        let mut dropped = Dropped::default();
        let mut error = None;
        let seen = alerts.len() as u64;
        alerts.retain_mut(|a| match criteria.judge(a) {
            Ok(Verdict::Keep) => true,
            Ok(Verdict::Drop(c)) => {
                dropped.count(c);
                false
            }
            Err(e) => {
                error.get_or_insert(e);
                false
            }
        });
        self.seen.fetch_add(seen, Ordering::Relaxed);
        self.kept.fetch_add(alerts.len() as u64, Ordering::Relaxed);
        let mut total = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
        total.add(dropped);
        error.map_or(Ok(()), Err)
    }

    fn describe(&self) -> String {
        let dropped = *self.dropped.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = format!(
            "{} alerts read, {} kept",
            self.seen.load(Ordering::Relaxed),
            self.kept.load(Ordering::Relaxed)
        );
        if dropped.total() > 0 {
            text += &format!(", {} dropped ({})", dropped.total(), dropped.describe());
        }
        text
    }
}

/// Files under `paths` (see [`alertstream::decode::files::files_under`]);
/// each path that cannot be read is reported and counted as a failure.
pub fn files_under(paths: &[PathBuf], failures: &mut usize) -> Vec<PathBuf> {
    let (files, errors) = alertstream::decode::files::files_under(paths);
    for e in &errors {
        eprintln!("alertstream: {e}");
    }
    *failures += errors.len();
    files
}
