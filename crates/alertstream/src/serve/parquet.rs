//! The rows of Parquet files saved by `consume --save-format parquet`, as
//! alerts: each row written as a JSON document (arrow-json) and decoded as
//! one, so the list, filters and the alert page read them as they read
//! files. Only the rows asked for are read (a row selection).

use crate::decode::Decoder;
use crate::error::{Error, Result};
use crate::model::alert::Alert;
use arrow_array::{make_array, Array, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use bytes::Bytes;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection, RowSelector};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

fn failed(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Table(format!("{}: {e}", path.display()))
}

/// How many rows the file holds (from its footer).
pub(super) fn row_count(path: &Path) -> Result<usize> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| failed(path, e))?;
    Ok(usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0))
}

/// Calls `each` with the row number and alert of every row of `rows`
/// (sorted, distinct), in order; a row that cannot be decoded gives `None`.
pub(super) fn each_row(
    decoder: &Decoder,
    path: &Path,
    rows: &[usize],
    mut each: impl FnMut(usize, Option<Alert>),
) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| failed(path, e))?
        .with_row_selection(selection(rows))
        .build()
        .map_err(|e| failed(path, e))?;
    let mut wanted = rows.iter();
    for batch in reader {
        let batch =
            without_time_zones(batch.map_err(|e| failed(path, e))?).map_err(|e| failed(path, e))?;
        let mut lines = Vec::new();
        {
            let mut writer = arrow_json::LineDelimitedWriter::new(&mut lines);
            writer.write(&batch).map_err(|e| failed(path, e))?;
            writer.finish().map_err(|e| failed(path, e))?;
        }
        for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let Some(&row) = wanted.next() else {
                return Ok(());
            };
            let alert = decoder
                .decode(None, Bytes::copy_from_slice(line))
                .ok()
                .and_then(|a| a.into_iter().next());
            each(row, alert);
        }
    }
    Ok(())
}

/// Timestamps with a zone named "UTC" as plain timestamps (the same
/// instants): arrow-json formats named zones only with a time-zone database.
fn without_time_zones(batch: RecordBatch) -> std::result::Result<RecordBatch, ArrowError> {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        match field.data_type() {
            DataType::Timestamp(unit, Some(_)) => {
                let plain = DataType::Timestamp(*unit, None);
                let data = column
                    .to_data()
                    .into_builder()
                    .data_type(plain.clone())
                    .build()?;
                fields.push(Field::new(field.name(), plain, field.is_nullable()));
                columns.push(make_array(data));
            }
            _ => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// Selects `rows` (sorted, distinct) and skips the rest.
fn selection(rows: &[usize]) -> RowSelection {
    let mut selectors = Vec::new();
    let mut next = 0;
    for &row in rows {
        if row > next {
            selectors.push(RowSelector::skip(row - next));
        }
        selectors.push(RowSelector::select(1));
        next = row + 1;
    }
    RowSelection::from(selectors)
}
