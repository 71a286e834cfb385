//! Record batches into a file: Parquet (zstd), Arrow IPC, or CSV.

use crate::error::{Error, Result};
use crate::table::columns::arrow_error;
use arrow_array::{Array, ArrayRef, RecordBatch, StructArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::io::Write;
use std::sync::Arc;

/// Rows per Parquet row group: what the writer holds in memory before
/// writing (a few tens of MB of ZTF alerts without cutouts).
pub const ROW_GROUP_ROWS: usize = 8192;
/// A row group is also closed past this many bytes in memory (cutouts).
pub const ROW_GROUP_BYTES: usize = 64 << 20;

/// A table file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// Parquet, zstd-compressed.
    Parquet,
    /// Arrow IPC file (Feather v2).
    Arrow,
    /// CSV with a header; records become `parent.child` columns, and
    /// list, map and binary columns are left out (CSV cannot hold them).
    Csv,
}

crate::names::named!(TableFormat, "table format", {
    TableFormat::Parquet => "parquet",
    TableFormat::Arrow => "arrow",
    TableFormat::Csv => "csv",
});

impl TableFormat {
    /// From a file name's extension: `.parquet`/`.pq`, `.arrow`/`.feather`/
    /// `.ipc`, `.csv`.
    pub fn from_path(path: &std::path::Path) -> Option<TableFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "pq" => Some(TableFormat::Parquet),
            "feather" | "ipc" => Some(TableFormat::Arrow),
            other => other.parse().ok(),
        }
    }
}

/// The Parquet settings of alertstream's files, for a file whose first
/// batch is `first`: zstd, bounded row groups; binary columns (cutouts:
/// each value distinct) without a dictionary or min/max statistics, and
/// stored as they are when they already hold gzip data (ZTF's stamps),
/// where zstd would only cost time.
pub fn parquet_properties(first: &RecordBatch) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("alertstream {}", env!("CARGO_PKG_VERSION")));
    let mut binary = Vec::new();
    for (f, column) in first.schema().fields().iter().zip(first.columns()) {
        binary_leaves(f, column, &mut Vec::new(), &mut binary);
    }
    for (path, gzipped) in binary {
        let path = ColumnPath::new(path);
        builder = builder
            .set_column_dictionary_enabled(path.clone(), false)
            .set_column_statistics_enabled(path.clone(), EnabledStatistics::None);
        if gzipped {
            builder = builder.set_column_compression(path, Compression::UNCOMPRESSED);
        }
    }
    builder.build()
}

/// Paths of the binary columns reached through records (not lists), and
/// whether their first value is gzip data.
fn binary_leaves(
    f: &Field,
    column: &ArrayRef,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, bool)>,
) {
    prefix.push(f.name().clone());
    match f.data_type() {
        DataType::Binary => {
            let gzipped = column
                .as_any()
                .downcast_ref::<arrow_array::BinaryArray>()
                .and_then(|b| b.iter().flatten().next())
                .is_some_and(|v| v.starts_with(&crate::decode::framing::GZIP_MAGIC));
            out.push((prefix.clone(), gzipped));
        }
        DataType::Struct(children) => {
            if let Some(s) = column.as_any().downcast_ref::<StructArray>() {
                for (c, a) in children.iter().zip(s.columns()) {
                    binary_leaves(c, a, prefix, out);
                }
            }
        }
        _ => {}
    }
    prefix.pop();
}

/// Writes record batches of one schema to a file or stream.
pub struct TableWriter<W: Write + Send> {
    inner: Inner<W>,
}

enum Inner<W: Write + Send> {
    /// Made at the first batch, whose data choose the columns' settings.
    Parquet {
        writer: Option<ArrowWriter<W>>,
        out: Option<W>,
        schema: SchemaRef,
    },
    Arrow(arrow_ipc::writer::FileWriter<W>),
    Csv {
        writer: arrow_csv::Writer<W>,
        schema: SchemaRef,
    },
}

fn parquet_error(context: &'static str) -> impl FnOnce(parquet::errors::ParquetError) -> Error {
    move |source| Error::Parquet {
        context: context.to_owned(),
        source,
    }
}

impl<W: Write + Send> TableWriter<W> {
    pub fn new(out: W, format: TableFormat, schema: SchemaRef) -> Result<Self> {
        let inner = match format {
            TableFormat::Parquet => Inner::Parquet {
                writer: None,
                out: Some(out),
                schema,
            },
            TableFormat::Arrow => Inner::Arrow(
                arrow_ipc::writer::FileWriter::try_new(out, &schema)
                    .map_err(arrow_error("cannot start the Arrow file"))?,
            ),
            TableFormat::Csv => Inner::Csv {
                writer: arrow_csv::WriterBuilder::new().with_header(true).build(out),
                schema: csv_layout(&schema).0,
            },
        };
        Ok(TableWriter { inner })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match &mut self.inner {
            Inner::Parquet {
                writer,
                out,
                schema,
            } => {
                let w = match writer {
                    Some(w) => w,
                    None => writer.insert(start_parquet(out, schema, batch)?),
                };
                w.write(batch)
                    .map_err(parquet_error("cannot write to the Parquet file"))?;
                if w.in_progress_size() > ROW_GROUP_BYTES {
                    w.flush()
                        .map_err(parquet_error("cannot write to the Parquet file"))?;
                }
                Ok(())
            }
            Inner::Arrow(w) => w
                .write(batch)
                .map_err(arrow_error("cannot write to the Arrow file")),
            Inner::Csv { writer, schema } => writer
                .write(&flatten_for_csv(batch, schema.clone())?)
                .map_err(arrow_error("cannot write the CSV")),
        }
    }

    /// Ends the file (Parquet footer, Arrow footer) and returns the output.
    pub fn finish(self) -> Result<W> {
        match self.inner {
            Inner::Parquet {
                writer,
                mut out,
                schema,
            } => {
                let w = match writer {
                    Some(w) => w,
                    None => {
                        start_parquet(&mut out, &schema, &RecordBatch::new_empty(schema.clone()))?
                    }
                };
                w.into_inner()
                    .map_err(parquet_error("cannot finish the Parquet file"))
            }
            Inner::Arrow(mut w) => {
                w.finish()
                    .map_err(arrow_error("cannot finish the Arrow file"))?;
                w.into_inner()
                    .map_err(arrow_error("cannot finish the Arrow file"))
            }
            Inner::Csv { writer, .. } => Ok(writer.into_inner()),
        }
    }
}

fn start_parquet<W: Write + Send>(
    out: &mut Option<W>,
    schema: &SchemaRef,
    first: &RecordBatch,
) -> Result<ArrowWriter<W>> {
    let out = out
        .take()
        .ok_or_else(|| Error::Table("the Parquet file was already started".into()))?;
    ArrowWriter::try_new(out, schema.clone(), Some(parquet_properties(first)))
        .map_err(parquet_error("cannot start the Parquet file"))
}

fn csv_cannot_hold(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::List(_)
            | DataType::LargeList(_)
            | DataType::Map(_, _)
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::Null
    )
}

/// A field's CSV columns (records flattened into `parent.child`, timestamps
/// labelled with the UTC offset), and the names of those CSV cannot hold.
fn csv_columns(f: &Field, prefix: &str, kept: &mut Vec<Field>, left_out: &mut Vec<String>) {
    let name = format!("{prefix}{}", f.name());
    match f.data_type() {
        DataType::Struct(children) => {
            for c in children {
                csv_columns(c, &format!("{name}."), kept, left_out);
            }
        }
        dt if csv_cannot_hold(dt) => left_out.push(name),
        DataType::Timestamp(unit, Some(_)) => kept.push(Field::new(
            name,
            DataType::Timestamp(*unit, Some(CSV_UTC.into())),
            true,
        )),
        dt => kept.push(Field::new(name, dt.clone(), true)),
    }
}

fn csv_layout(schema: &Schema) -> (SchemaRef, Vec<String>) {
    let (mut kept, mut left_out) = (Vec::new(), Vec::new());
    for f in schema.fields() {
        csv_columns(f, "", &mut kept, &mut left_out);
    }
    (Arc::new(Schema::new(kept)), left_out)
}

/// The columns a CSV of `schema` leaves out: lists, maps, bytes.
pub fn csv_left_out(schema: &Schema) -> Vec<String> {
    csv_layout(schema).1
}

fn flat_arrays(array: &ArrayRef, out: &mut Vec<ArrayRef>) {
    match array.data_type() {
        DataType::Struct(_) => {
            if let Some(s) = array.as_any().downcast_ref::<StructArray>() {
                for c in s.columns() {
                    flat_arrays(c, out);
                }
            }
        }
        dt if csv_cannot_hold(dt) => {}
        DataType::Timestamp(_, Some(_)) => out.push(utc_offset(array)),
        _ => out.push(array.clone()),
    }
}

/// How CSV timestamps name UTC: arrow-csv knows offsets, not zone names.
const CSV_UTC: &str = "+00:00";

/// The same instants, labelled with the UTC offset rather than the name.
fn utc_offset(array: &ArrayRef) -> ArrayRef {
    use arrow_array::{TimestampMicrosecondArray, TimestampMillisecondArray};
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<TimestampMicrosecondArray>() {
        return Arc::new(a.clone().with_timezone(CSV_UTC));
    }
    if let Some(a) = any.downcast_ref::<TimestampMillisecondArray>() {
        return Arc::new(a.clone().with_timezone(CSV_UTC));
    }
    array.clone()
}

/// Records become `parent.child` columns (a null record's fields are null:
/// the builders fill them so); lists, maps and bytes are left out.
fn flatten_for_csv(batch: &RecordBatch, schema: SchemaRef) -> Result<RecordBatch> {
    let mut arrays = Vec::new();
    for c in batch.columns() {
        flat_arrays(c, &mut arrays);
    }
    RecordBatch::try_new(schema, arrays).map_err(arrow_error("flattening records for CSV"))
}
