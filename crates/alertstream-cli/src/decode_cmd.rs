//! `decode` and `inspect`: walk paths, decode every file, report failures
//! on stderr and go on.

use crate::cli::{CutoutsArgs, DecodeArgs, InspectArgs, ViewArgs};
use crate::text::{table_header, table_row};
use alertstream::decode::parallel::map_ordered;
use alertstream::model::summary::Summary;
use alertstream::{Alert, Decoder};
use anyhow::Context;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn decode(args: DecodeArgs) -> anyhow::Result<ExitCode> {
    let decoder = Decoder::new(args.format.decoder_options()).context("cannot set up decoding")?;
    for_each_alert(&decoder, &args.paths, |out, alert| {
        alert.record().write_json(out)?;
        out.push(b'\n');
        Ok(())
    })
}

pub fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let decoder = Decoder::new(args.format.decoder_options()).context("cannot set up decoding")?;
    if !args.json {
        writeln!(std::io::stdout(), "{}", table_header()).context("cannot write to stdout")?;
    }
    let json = args.json;
    for_each_alert(&decoder, &args.paths, move |out, alert| {
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
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot make {}", args.out.display()))?;
    let without = AtomicUsize::new(0);
    let code = for_each_alert(&decoder, &args.paths, |out, alert| {
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
    use alertstream::picture::{save_picture, PictureFormat};
    let decoder = Decoder::new(args.format.decoder_options()).context("cannot set up decoding")?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot make {}", args.out.display()))?;
    let format: PictureFormat = args.picture_format;
    for_each_alert(&decoder, &args.paths, |out, alert| {
        let path = save_picture(alert, &args.out, format).map_err(std::io::Error::other)?;
        writeln!(out, "{}", path.display())
    })
}

/// One file's output lines and the message of its failure, if any.
type FileOutput = (Vec<u8>, Option<String>);

/// Decodes every file under `paths` on every core, writes what `render`
/// makes of each alert in file order, and prints one line per failure.
/// Exit code 1 when anything failed.
fn for_each_alert(
    decoder: &Decoder,
    paths: &[PathBuf],
    render: impl Fn(&mut Vec<u8>, &Alert) -> std::io::Result<()> + Sync,
) -> anyhow::Result<ExitCode> {
    let mut failures = 0usize;
    let files = files_under(paths, &mut failures);
    let mut out = std::io::stdout().lock();
    let mut write_error = None;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let work = |file: &PathBuf| -> FileOutput {
        let decoded = decoder.decode_file(file);
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
    if failures > 0 {
        eprintln!("alertstream: {failures} file(s) failed; see the messages above");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
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
