//! Alerts as tables: Arrow record batches, and Parquet, Arrow IPC or CSV
//! files that pandas, polars, pyarrow, DuckDB and Spark open unchanged.
//!
//! - [`AlertBatchBuilder`]: one row per alert; columns follow the writer
//!   schema (records become struct columns, arrays list columns, 64-bit
//!   ids stay Int64), plus `time_utc`. Several schema versions share a
//!   table through their union ([`Shape::merge`]).
//! - [`LightCurveBuilder`]: one row per measurement, the table one plots.
//! - [`AlertReader`]: files and folders of saved alerts as batches, a few
//!   in memory at a time.
//! - [`TableWriter`]: batches into a file.
//!
//! Reading a folder of saved alerts into a Parquet file:
//!
//! ```
//! use alertstream::table::{AlertReader, TableFormat, TableOptions, TableWriter};
//! use alertstream::{Decoder, DecoderOptions};
//! # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/ztf");
//! # let out = std::env::temp_dir().join(format!("alertstream-doc-{}.parquet", std::process::id()));
//! let reader = AlertReader::open(&[dir.into()], Decoder::new(DecoderOptions::default())?, TableOptions::default())?;
//! let file = std::fs::File::create(&out).map_err(|e| alertstream::Error::Io { path: out.clone(), source: e })?;
//! let mut writer = TableWriter::new(file, TableFormat::Parquet, reader.schema()?)?;
//! let report = reader.for_each_batch(|batch| writer.write(&batch))?;
//! writer.finish()?;
//! println!("{} alerts from {} files", report.alerts, report.files);
//! # std::fs::remove_file(&out).ok();
//! # Ok::<(), alertstream::Error>(())
//! ```

mod batch;
mod columns;
mod reader;
mod shape;
mod write;

/// The Arrow types in this module's signatures (one aligned arrow-rs version).
pub use arrow_array::RecordBatch;
pub use arrow_schema::SchemaRef;
pub use batch::{
    describe_schema, lightcurve_schema, AlertBatchBuilder, LightCurveBuilder, Shapes, TableOptions,
    CUTOUT_FIELDS, KAFKA_COLUMNS, MATCH_COLUMNS, TIME_UTC,
};
pub use reader::{AlertReader, ReadReport};
pub use shape::{Conflict, Shape, TimestampUnit};
pub use write::{
    csv_left_out, parquet_properties, TableFormat, TableWriter, ROW_GROUP_BYTES, ROW_GROUP_ROWS,
};
