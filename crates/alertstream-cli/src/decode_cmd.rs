//! `decode` and `inspect`: walk paths, decode every file, report failures
//! on stderr and go on.

use crate::cli::{DecodeArgs, InspectArgs};
use alertstream::model::view::{table_header, table_row, Summary};
use alertstream::{Alert, Decoder};
use anyhow::Context;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn decode(args: DecodeArgs) -> anyhow::Result<ExitCode> {
    let decoder = Decoder::new(args.format.decoder_options()).context("cannot set up decoding")?;
    for_each_alert(&decoder, &args.paths, |out, alert| {
        serde_json::to_writer(&mut *out, &alert.record())?;
        out.write_all(b"\n")
    })
}

pub fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let decoder = Decoder::new(args.format.decoder_options()).context("cannot set up decoding")?;
    let json = args.json;
    let mut header_written = json;
    for_each_alert(&decoder, &args.paths, move |out, alert| {
        let summary = Summary::of(alert);
        if json {
            serde_json::to_writer(&mut *out, &summary)?;
            out.write_all(b"\n")
        } else {
            if !header_written {
                writeln!(out, "{}", table_header())?;
                header_written = true;
            }
            writeln!(out, "{}", table_row(&summary))
        }
    })
}

/// Decodes every file under `paths`, hands each alert to `emit`, and prints
/// one line per failure. Exit code 1 when anything failed.
fn for_each_alert(
    decoder: &Decoder,
    paths: &[PathBuf],
    mut emit: impl FnMut(&mut dyn Write, &Alert) -> std::io::Result<()>,
) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failures = 0usize;
    for file in files_under(paths, &mut failures) {
        let decoded = decoder.decode_file(&file);
        for alert in &decoded.alerts {
            if let Err(e) = emit(&mut out, alert) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return Ok(ExitCode::SUCCESS);
                }
                return Err(e).context("cannot write to stdout");
            }
        }
        if let Some(f) = decoded.failure {
            failures += 1;
            out.flush().ok();
            let record = f
                .record
                .map(|r| format!(" (record {r})"))
                .unwrap_or_default();
            eprintln!("alertstream: {}{record}: {}", file.display(), f.error);
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(e).context("cannot write to stdout")
        }
        _ => {}
    }
    if failures > 0 {
        eprintln!("alertstream: {failures} file(s) failed; see the messages above");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Files named on the command line, and files under named folders (sorted,
/// hidden files and Spark markers skipped). Missing paths count as failures.
pub fn files_under(paths: &[PathBuf], failures: &mut usize) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect_dir(path, &mut files, failures);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            eprintln!("alertstream: {}: no such file or directory", path.display());
            *failures += 1;
        }
    }
    files
}

fn collect_dir(dir: &Path, files: &mut Vec<PathBuf>, failures: &mut usize) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("alertstream: {}: {e}", dir.display());
            *failures += 1;
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if is_skipped(&p) {
            continue;
        }
        if p.is_dir() {
            collect_dir(&p, files, failures);
        } else {
            files.push(p);
        }
    }
}

/// Hidden files, Spark's `_SUCCESS` markers and schema files are not alerts.
fn is_skipped(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.')
        || name.starts_with('_')
        || name.ends_with(".avsc")
        || name.ends_with(".crc")
        || name.ends_with(".md")
}
