//! A folder of saved alerts as record batches: the seeds' `AlertReader`.
//!
//! Two passes over the files: the first finds the table's columns (the
//! union of every schema version met; container files are read only up to
//! their header), the second decodes and builds batches on every core, a
//! few batches at a time, so that memory does not grow with the folder.

use crate::decode::files::files_under;
use crate::decode::parallel::map_ordered_ahead;
use crate::decode::Decoder;
use crate::error::{Error, Result};
use crate::model::alert::Alert;
use crate::model::schema::WriterSchema;
use crate::table::batch::{
    describe_schema, lightcurve_schema, row_shape, AlertBatchBuilder, LightCurveBuilder, Shapes,
    TableOptions,
};
use crate::table::shape::Shape;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes of files that make one batch at most (unless one file is larger).
const RUN_BYTES: u64 = 16 << 20;

/// Batches each thread may have built ahead of the writer.
const BATCHES_AHEAD_PER_THREAD: usize = 2;

/// Saved alerts (files or folders, any format the decoder reads) as Arrow
/// record batches with one schema: see the module documentation.
///
/// ```
/// use alertstream::table::{AlertReader, TableOptions};
/// use alertstream::{Decoder, DecoderOptions};
/// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/ztf");
/// let decoder = Decoder::new(DecoderOptions::default())?;
/// let reader = AlertReader::open(&[dir.into()], decoder, TableOptions::default())?;
/// let mut rows = 0;
/// let report = reader.for_each_batch(|batch| {
///     rows += batch.num_rows();
///     Ok(())
/// })?;
/// assert_eq!(rows as u64, report.alerts);
/// assert!(report.failures.is_empty());
/// # Ok::<(), alertstream::Error>(())
/// ```
pub struct AlertReader {
    files: Vec<PathBuf>,
    decoder: Decoder,
    options: TableOptions,
    shape: Shape,
    unlisted: Vec<String>,
    threads: usize,
    keep: Option<Keep>,
}

/// Which alerts go in the table (and how they are tagged): see
/// [`AlertReader::with_filter`].
pub type Keep = Arc<dyn Fn(&mut Alert) -> Result<bool> + Send + Sync>;

/// What reading gave.
#[derive(Debug, Default, Clone)]
#[non_exhaustive]
pub struct ReadReport {
    pub files: u64,
    pub alerts: u64,
    pub rows: u64,
    /// One message per path that could not be read or decoded in full
    /// (the alerts read before a failure are kept).
    pub failures: Vec<String>,
}

/// What the first pass learns of one file.
enum FileShape {
    Schemas(Vec<Arc<WriterSchema>>),
    Documents(Option<Shape>),
    Failed,
}

impl AlertReader {
    /// Lists the files under `paths` and finds the table's columns.
    /// Fails when two schema versions give one field types that cannot
    /// share a column (naming the field and both versions).
    pub fn open(paths: &[PathBuf], decoder: Decoder, options: TableOptions) -> Result<Self> {
        let (files, unlisted) = files_under(paths);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut reader = AlertReader {
            files,
            decoder,
            options,
            shape: Shape::Struct(Vec::new()),
            unlisted: unlisted.iter().map(ToString::to_string).collect(),
            threads,
            keep: None,
        };
        reader.shape = reader.find_shape()?;
        Ok(reader)
    }

    /// Keeps only the alerts `keep` says true for (it may tag them); runs
    /// on every core. The table's columns still come from every file.
    pub fn with_filter(mut self, keep: Keep) -> Self {
        self.keep = Some(keep);
        self
    }

    /// The alerts `keep` keeps, in order.
    fn kept(&self, mut alerts: Vec<Alert>) -> Result<Vec<Alert>> {
        let Some(keep) = &self.keep else {
            return Ok(alerts);
        };
        let mut error = None;
        alerts.retain_mut(|a| match keep(a) {
            Ok(k) => k,
            Err(e) => {
                error.get_or_insert(e);
                false
            }
        });
        match error {
            Some(e) => Err(e),
            None => Ok(alerts),
        }
    }

    /// The files that will be read, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The row shape: the union of the alerts' records.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The schema of the alert batches.
    pub fn schema(&self) -> Result<SchemaRef> {
        Ok(AlertBatchBuilder::new(&self.shape, &self.options)?.schema())
    }

    /// The schema of the light-curve batches.
    pub fn lightcurve_schema(&self) -> SchemaRef {
        lightcurve_schema()
    }

    fn find_shape(&self) -> Result<Shape> {
        let mut shape = Shape::Struct(Vec::new());
        let mut seen = HashSet::new();
        let mut first_origin: Option<String> = None;
        let mut conflict = None;
        let work = |file: &PathBuf| self.file_shape(file);
        map_ordered_ahead(&self.files, self.threads, 32, work, |(file, found)| {
            let mut add = |new: Shape, origin: String| -> ControlFlow<()> {
                let before = std::mem::replace(&mut shape, Shape::Null);
                match before.merge(new) {
                    Ok(merged) => {
                        shape = merged;
                        first_origin.get_or_insert(origin);
                        ControlFlow::Continue(())
                    }
                    Err(c) => {
                        conflict = Some(Error::Table(format!(
                            "field {} is {} in the files before ({} first) but {} in {origin}; convert them separately",
                            c.path,
                            c.left,
                            first_origin.clone().unwrap_or_default(),
                            c.right
                        )));
                        ControlFlow::Break(())
                    }
                }
            };
            match found {
                FileShape::Schemas(schemas) => {
                    for schema in schemas {
                        if !seen.insert(schema.fingerprint()) {
                            continue;
                        }
                        let origin =
                            format!("{} ({})", file.display(), describe_schema(Some(&schema)));
                        match Shape::of_schema(&schema, self.options.max_depth)
                            .and_then(|s| row_shape(s, &self.options))
                        {
                            Ok(s) => add(s, origin)?,
                            Err(e) => {
                                conflict = Some(e);
                                return ControlFlow::Break(());
                            }
                        }
                    }
                    ControlFlow::Continue(())
                }
                FileShape::Documents(Some(s)) => {
                    shape = std::mem::replace(&mut shape, Shape::Null).union(s);
                    ControlFlow::Continue(())
                }
                FileShape::Documents(None) | FileShape::Failed => ControlFlow::Continue(()),
            }
        });
        match conflict {
            Some(e) => Err(e),
            None => Ok(shape),
        }
    }

    fn file_shape(&self, file: &Path) -> (PathBuf, FileShape) {
        let shape = match std::fs::read(file) {
            Ok(bytes) => {
                let bytes = bytes::Bytes::from(bytes);
                match self.decoder.container_schema(&bytes) {
                    Some(Ok(schema)) => FileShape::Schemas(vec![schema]),
                    Some(Err(_)) => FileShape::Failed,
                    None => self.decoded_shape(self.decoder.decode_partial(None, bytes).alerts),
                }
            }
            Err(_) => FileShape::Failed,
        };
        (file.to_path_buf(), shape)
    }

    fn decoded_shape(&self, alerts: Vec<Alert>) -> FileShape {
        if alerts.iter().all(|a| a.schema().is_some()) {
            let mut schemas: Vec<Arc<WriterSchema>> = Vec::new();
            for a in &alerts {
                if let Some(s) = a.schema() {
                    if !schemas.iter().any(|x| x.fingerprint() == s.fingerprint()) {
                        schemas.push(s.clone());
                    }
                }
            }
            return FileShape::Schemas(schemas);
        }
        let mut shapes = Shapes::default();
        let mut merged: Option<Shape> = None;
        for a in &alerts {
            let Ok(s) = shapes.of(a, &self.options) else {
                continue;
            };
            merged = Some(match merged {
                None => (*s).clone(),
                Some(m) => m.union((*s).clone()),
            });
        }
        FileShape::Documents(merged)
    }

    /// Decodes every file and hands over the alerts as record batches of
    /// about `batch_rows` rows, in file order.
    pub fn for_each_batch(
        &self,
        emit: impl FnMut(RecordBatch) -> Result<()>,
    ) -> Result<ReadReport> {
        self.batches(
            || AlertBatchBuilder::new(&self.shape, &self.options),
            |b: &mut AlertBatchBuilder, a: &Alert| b.append(a),
            |b| b.finish(),
            emit,
        )
    }

    /// Decodes every file and hands over its light curves: one row per
    /// measurement, each measurement of an object once.
    pub fn for_each_lightcurve_batch(
        &self,
        mut emit: impl FnMut(RecordBatch) -> Result<()>,
    ) -> Result<ReadReport> {
        // Measurements are compared across the whole input: one builder,
        // fed in file order, on this thread.
        let mut curves = LightCurveBuilder::default();
        let batch_rows = self.options.batch_rows;
        let mut rows = 0u64;
        let mut report = self.for_each_decoded(|alerts| {
            for alert in &alerts {
                curves.append(alert);
            }
            if curves.len() >= batch_rows {
                rows += curves.len() as u64;
                emit(curves.finish()?)?;
            }
            Ok(())
        })?;
        if !curves.is_empty() {
            rows += curves.len() as u64;
            emit(curves.finish()?)?;
        }
        report.rows = rows;
        Ok(report)
    }

    /// Decodes the files on every core and gives each one's alerts, in order.
    fn for_each_decoded(
        &self,
        mut take: impl FnMut(Vec<Alert>) -> Result<()>,
    ) -> Result<ReadReport> {
        let mut report = self.report();
        let mut error = None;
        let work = |file: &PathBuf| (file.clone(), self.decoder.decode_file(file));
        map_ordered_ahead(&self.files, self.threads, 32, work, |(file, decoded)| {
            report.files += 1;
            report.alerts += decoded.alerts.len() as u64;
            if let Some(f) = decoded.failure {
                report
                    .failures
                    .push(failure_message(&file, f.record, &f.error));
            }
            go_on(
                self.kept(decoded.alerts)
                    .map_err(|e| in_file(&file, e))
                    .and_then(&mut take),
                &mut error,
            )
        });
        match error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    fn report(&self) -> ReadReport {
        ReadReport {
            failures: self.unlisted.clone(),
            ..ReadReport::default()
        }
    }

    /// Builds batches on every core: each thread decodes a run of files
    /// and builds their batch; batches are emitted in file order.
    fn batches<B>(
        &self,
        new: impl Fn() -> Result<B> + Sync,
        append: impl Fn(&mut B, &Alert) -> Result<()> + Sync,
        finish: impl Fn(&mut B) -> Result<RecordBatch> + Sync,
        mut emit: impl FnMut(RecordBatch) -> Result<()>,
    ) -> Result<ReadReport> {
        let mut report = self.report();
        let runs = self.runs_of_files();
        let mut error = None;
        let work = |run: &std::ops::Range<usize>| -> Result<(RecordBatch, ReadReport)> {
            let mut builder = new()?;
            let mut part = ReadReport::default();
            for file in &self.files[run.clone()] {
                let decoded = self.decoder.decode_file(file);
                part.files += 1;
                part.alerts += decoded.alerts.len() as u64;
                if let Some(f) = decoded.failure {
                    part.failures
                        .push(failure_message(file, f.record, &f.error));
                }
                let alerts = self.kept(decoded.alerts).map_err(|e| in_file(file, e))?;
                for alert in &alerts {
                    append(&mut builder, alert).map_err(|e| in_file(file, e))?;
                }
            }
            Ok((finish(&mut builder)?, part))
        };
        map_ordered_ahead(
            &runs,
            self.threads,
            BATCHES_AHEAD_PER_THREAD,
            work,
            |result| {
                let step = result.and_then(|(batch, part)| {
                    report.files += part.files;
                    report.alerts += part.alerts;
                    report.rows += batch.num_rows() as u64;
                    report.failures.extend(part.failures);
                    if batch.num_rows() > 0 {
                        emit(batch)?;
                    }
                    Ok(())
                });
                go_on(step, &mut error)
            },
        );
        match error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Runs of consecutive files, one batch each: `batch_rows` files, or
    /// fewer when they hold more than [`RUN_BYTES`] (files of many alerts).
    fn runs_of_files(&self) -> Vec<std::ops::Range<usize>> {
        let per_run = self.options.batch_rows.max(1);
        let mut runs = Vec::new();
        let (mut start, mut bytes) = (0, 0u64);
        for (i, file) in self.files.iter().enumerate() {
            bytes += std::fs::metadata(file).map_or(0, |m| m.len());
            if i + 1 - start >= per_run || bytes >= RUN_BYTES {
                runs.push(start..i + 1);
                (start, bytes) = (i + 1, 0);
            }
        }
        if start < self.files.len() {
            runs.push(start..self.files.len());
        }
        runs
    }
}

/// Goes on after a step that worked; keeps the error of one that failed.
fn go_on(step: Result<()>, error: &mut Option<Error>) -> ControlFlow<()> {
    match step {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => {
            *error = Some(e);
            ControlFlow::Break(())
        }
    }
}

fn failure_message(file: &Path, record: Option<usize>, error: &Error) -> String {
    match record {
        Some(r) => format!("{} (record {r}): {error}", file.display()),
        None => format!("{}: {error}", file.display()),
    }
}

fn in_file(file: &Path, e: Error) -> Error {
    Error::Table(format!("{}: {e}", file.display()))
}
