//! `table`: saved alerts into one Parquet, Arrow or CSV file.

use crate::cli::TableArgs;
use alertstream::durable::AtomicFile;
use alertstream::select::Verdict;
use alertstream::table::{
    csv_left_out, AlertReader, ReadReport, TableFormat, TableOptions, TableWriter,
};
use alertstream::Decoder;
use anyhow::{bail, Context};
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

pub fn table(args: TableArgs) -> anyhow::Result<ExitCode> {
    let to_stdout = args.output.as_os_str() == "-";
    let format = output_format(&args, to_stdout)?;
    let started = Instant::now();
    let decoder = Decoder::new(args.format.decoder_options()).context("cannot set up decoding")?;
    let options = TableOptions::default()
        .with_cutouts(args.cutouts)
        .with_matches(args.select.tags());
    let mut reader = AlertReader::open(&args.paths, decoder, options)?;
    let criteria = std::sync::Arc::new(args.select.criteria()?);
    if !criteria.is_empty() {
        let keep = criteria.clone();
        reader = reader.with_filter(std::sync::Arc::new(move |alert| {
            Ok(keep.judge(alert)? == Verdict::Keep)
        }));
    }
    let schema = if args.lightcurve {
        reader.lightcurve_schema()
    } else {
        reader.schema()?
    };
    let left_out = match format {
        TableFormat::Csv => csv_left_out(&schema),
        _ => Vec::new(),
    };
    if !left_out.is_empty() {
        eprintln!(
            "alertstream: CSV cannot hold {} (lists, maps, bytes): left out; use --lightcurve for the measurements, or Parquet for every column",
            left_out.join(", ")
        );
    }
    let report = if to_stdout {
        let out = BufWriter::with_capacity(1 << 20, std::io::stdout());
        match write_table(&reader, &args, out, format, schema) {
            Err(e) if is_broken_pipe(&e) => return Ok(ExitCode::SUCCESS),
            other => other?,
        }
    } else {
        // Whole or not at all: a temporary file, synced, then renamed; an
        // error on the way removes it.
        let mut file = AtomicFile::create(&args.output)?;
        let report = write_table(
            &reader,
            &args,
            BufWriter::with_capacity(1 << 20, &mut file),
            format,
            schema,
        )?;
        file.commit()?;
        report
    };
    for failure in &report.failures {
        eprintln!("alertstream: {failure}");
    }
    let mut unknown = 0;
    if let Some(filter) = &criteria.filter {
        for (field, closest) in filter.unknown_fields() {
            unknown += 1;
            eprintln!(
                "alertstream: error: --where names {field}, a field of no alert read (closest: {})",
                closest.join(", ")
            );
        }
    }
    if unknown > 0 {
        return Ok(ExitCode::from(1));
    }
    print_summary(&args, &report, started.elapsed().as_secs_f64())?;
    if !report.failures.is_empty() {
        eprintln!(
            "alertstream: {} path(s) failed; the table holds every alert that could be read",
            report.failures.len()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn output_format(args: &TableArgs, to_stdout: bool) -> anyhow::Result<TableFormat> {
    if let Some(f) = &args.output_format {
        return Ok(*f);
    }
    if to_stdout {
        return Ok(TableFormat::Csv);
    }
    match TableFormat::from_path(&args.output) {
        Some(f) => Ok(f),
        None => bail!(
            "cannot tell the format of {} from its extension: name it .parquet, .arrow or .csv, or pass --output-format",
            args.output.display()
        ),
    }
}

fn write_table<W: Write + Send>(
    reader: &AlertReader,
    args: &TableArgs,
    out: W,
    format: TableFormat,
    schema: alertstream::table::SchemaRef,
) -> anyhow::Result<ReadReport> {
    let mut writer = TableWriter::new(out, format, schema)?;
    let report = if args.lightcurve {
        reader.for_each_lightcurve_batch(|batch| writer.write(&batch))?
    } else {
        reader.for_each_batch(|batch| writer.write(&batch))?
    };
    let mut out = writer.finish()?;
    out.flush().context("cannot write the table")?;
    Ok(report)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.to_string().contains("Broken pipe")
    })
}

fn print_summary(args: &TableArgs, report: &ReadReport, seconds: f64) -> anyhow::Result<()> {
    let output = args.output.display().to_string();
    if args.json {
        let summary = serde_json::json!({
            "output": output,
            "files": report.files,
            "alerts": report.alerts,
            "rows": report.rows,
            "failures": report.failures.len(),
            "seconds": seconds,
        });
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{summary}").context("cannot write to stdout")?;
    } else if output != "-" {
        let rate = report.alerts as f64 / seconds.max(1e-9);
        eprintln!(
            "{} alerts from {} files -> {output}: {} rows in {seconds:.1} s ({rate:.0} alerts/s)",
            report.alerts, report.files, report.rows
        );
    }
    Ok(())
}
