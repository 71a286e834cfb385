//! Alerts into Arrow record batches: one row per alert (columns from the
//! writer schema), or one row per light-curve measurement.

use crate::error::{Error, Result};
use crate::model::alert::{Alert, Id, Survey};
use crate::model::lightcurve::Measurement;
use crate::model::schema::WriterSchema;
use crate::table::columns::{arrow_error, StructColumn};
use crate::table::shape::{struct_fields, Shape};
use arrow_array::builder::{
    Float64Builder, Int32Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The image stamps: binary columns, left out unless asked for.
pub const CUTOUT_FIELDS: [&str; 3] = ["cutoutScience", "cutoutTemplate", "cutoutDifference"];

/// The column of observation times in UTC, added to every alert table.
pub const TIME_UTC: &str = "time_utc";

/// The columns that say where a streamed alert came from.
pub const KAFKA_COLUMNS: [&str; 4] = [
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "kafka_timestamp",
];

/// The columns of what a selection found: the watchlist targets an alert
/// lies near, and the sky map's probability density at its position.
pub const MATCH_COLUMNS: [&str; 2] = crate::model::alert::MATCH_FIELDS;

/// What goes in a table of alerts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TableOptions {
    /// Keep the image stamps (as shipped, gzip-compressed FITS for ZTF) as
    /// binary columns.
    pub cutouts: bool,
    /// Add the Kafka topic, partition, offset and timestamp of each alert.
    pub kafka: bool,
    /// Add what a selection found ([`MATCH_COLUMNS`]).
    pub matches: bool,
    /// Rows per record batch.
    pub batch_rows: usize,
    /// Nesting deeper than this is refused (schemas that refer to
    /// themselves, hostile documents).
    pub max_depth: usize,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            cutouts: false,
            kafka: false,
            matches: false,
            batch_rows: 1024,
            max_depth: crate::limits::Limits::default().max_depth,
        }
    }
}

impl TableOptions {
    pub fn with_cutouts(mut self, cutouts: bool) -> Self {
        self.cutouts = cutouts;
        self
    }

    pub fn with_kafka(mut self, kafka: bool) -> Self {
        self.kafka = kafka;
        self
    }

    pub fn with_matches(mut self, matches: bool) -> Self {
        self.matches = matches;
        self
    }

    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
        self
    }
}

/// The shapes of alerts' records: parsed once per writer schema.
#[derive(Debug, Default)]
pub struct Shapes {
    by_schema: HashMap<u64, Arc<Shape>>,
}

impl Shapes {
    /// The shape of an alert's record as a table row (cutouts left out
    /// unless `options.cutouts`).
    pub fn of(&mut self, alert: &Alert, options: &TableOptions) -> Result<Arc<Shape>> {
        match alert.schema() {
            Some(schema) => {
                if let Some(shape) = self.by_schema.get(&schema.fingerprint()) {
                    return Ok(shape.clone());
                }
                let shape = Arc::new(row_shape(
                    Shape::of_schema(schema, options.max_depth)?,
                    options,
                )?);
                self.by_schema.insert(schema.fingerprint(), shape.clone());
                Ok(shape)
            }
            None => {
                let shape =
                    Shape::of_datum(alert.record(), options.max_depth).ok_or_else(|| {
                        Error::Table(format!(
                            "a document nests deeper than {} levels",
                            options.max_depth
                        ))
                    })?;
                Ok(Arc::new(row_shape(shape, options)?))
            }
        }
    }
}

pub(crate) fn row_shape(shape: Shape, options: &TableOptions) -> Result<Shape> {
    match shape {
        Shape::Struct(_) if options.cutouts => Ok(shape),
        Shape::Struct(_) => Ok(shape.without(&CUTOUT_FIELDS)),
        other => Err(Error::Table(format!(
            "an alert's record must be a record to become a row; this one is {other}"
        ))),
    }
}

/// Names what a shape came from, for errors about schema versions.
pub fn describe_schema(schema: Option<&WriterSchema>) -> String {
    match schema {
        Some(s) => format!(
            "schema {} ({})",
            s.name().unwrap_or("(unnamed)"),
            s.fingerprint_hex()
        ),
        None => "a document".to_owned(),
    }
}

/// Builds record batches of alerts, one row each, with the columns of a
/// row [`Shape`] (the union of the alerts' schema versions), plus
/// `time_utc` and, with [`TableOptions::kafka`], the Kafka columns.
///
/// ```
/// # use alertstream::{Decoder, DecoderOptions};
/// use alertstream::table::{AlertBatchBuilder, Shapes, TableOptions};
/// # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro");
/// let alerts = Decoder::new(DecoderOptions::default())?.decode_file(path.as_ref()).into_result()?;
/// let options = TableOptions::default();
/// let shape = Shapes::default().of(&alerts[0], &options)?;
/// let mut builder = AlertBatchBuilder::new(&shape, &options)?;
/// for alert in &alerts {
///     builder.append(alert)?;
/// }
/// let batch = builder.finish()?;
/// assert_eq!(batch.num_rows(), alerts.len());
/// assert!(batch.column_by_name("prv_candidates").is_some());
/// # Ok::<(), alertstream::Error>(())
/// ```
pub struct AlertBatchBuilder {
    shape: Shape,
    schema: SchemaRef,
    row: StructColumn,
    time_utc: TimestampMicrosecondBuilder,
    kafka: Option<KafkaColumns>,
    matches: Option<(ListBuilder<StringBuilder>, Float64Builder)>,
}

struct KafkaColumns {
    topic: StringBuilder,
    partition: Int32Builder,
    offset: Int64Builder,
    timestamp: TimestampMillisecondBuilder,
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

impl AlertBatchBuilder {
    pub fn new(shape: &Shape, options: &TableOptions) -> Result<Self> {
        let Shape::Struct(fields) = shape else {
            return Err(Error::Table(format!("a row must be a record, not {shape}")));
        };
        let mut columns: Vec<Field> = struct_fields(fields)
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        columns.push(Field::new(TIME_UTC, utc_micros(), true));
        if options.kafka {
            columns.extend([
                Field::new(KAFKA_COLUMNS[0], DataType::Utf8, true),
                Field::new(KAFKA_COLUMNS[1], DataType::Int32, true),
                Field::new(KAFKA_COLUMNS[2], DataType::Int64, true),
                Field::new(
                    KAFKA_COLUMNS[3],
                    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                    true,
                ),
            ]);
        }
        if options.matches {
            columns.extend([
                Field::new(
                    MATCH_COLUMNS[0],
                    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
                    true,
                ),
                Field::new(MATCH_COLUMNS[1], DataType::Float64, true),
            ]);
        }
        check_unique(&columns)?;
        Ok(AlertBatchBuilder {
            matches: options.matches.then(|| {
                (
                    ListBuilder::new(StringBuilder::new()),
                    Float64Builder::new(),
                )
            }),
            shape: shape.clone(),
            schema: Arc::new(Schema::new(columns)),
            row: StructColumn::new(fields),
            time_utc: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            kafka: options.kafka.then(|| KafkaColumns {
                topic: StringBuilder::new(),
                partition: Int32Builder::new(),
                offset: Int64Builder::new(),
                timestamp: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            }),
        })
    }

    /// The batches' schema.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The row shape this builder was made for.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// Rows appended since the last batch.
    pub fn len(&self) -> usize {
        self.row.rows()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one alert as a row. An alert whose shape the builder's shape
    /// does not hold is refused, and the builder must then be dropped.
    pub fn append(&mut self, alert: &Alert) -> Result<()> {
        self.row.append(alert.record())?;
        self.time_utc
            .append_option(alert.time().and_then(unix_micros));
        if let Some(k) = &mut self.kafka {
            let meta = alert.kafka();
            k.topic.append_option(meta.map(|m| m.topic.as_str()));
            k.partition.append_option(meta.map(|m| m.partition));
            k.offset.append_option(meta.map(|m| m.offset));
            k.timestamp.append_option(meta.and_then(|m| m.timestamp_ms));
        }
        if let Some((targets, density)) = &mut self.matches {
            let found = alert.matches();
            match found.filter(|m| !m.targets.is_empty()) {
                Some(m) => targets.append_value(m.targets.iter().map(Some)),
                None => targets.append_null(),
            }
            density.append_option(found.and_then(|m| m.probdensity));
        }
        Ok(())
    }

    /// The rows appended so far as a batch; the builder starts again empty.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let mut columns = self.row.finish_columns()?;
        columns.push(Arc::new(self.time_utc.finish()));
        if let Some(k) = &mut self.kafka {
            columns.extend::<[ArrayRef; 4]>([
                Arc::new(k.topic.finish()),
                Arc::new(k.partition.finish()),
                Arc::new(k.offset.finish()),
                Arc::new(k.timestamp.finish()),
            ]);
        }
        if let Some((targets, density)) = &mut self.matches {
            columns
                .extend::<[ArrayRef; 2]>([Arc::new(targets.finish()), Arc::new(density.finish())]);
        }
        RecordBatch::try_new(self.schema.clone(), columns).map_err(arrow_error("a batch of alerts"))
    }
}

fn check_unique(fields: &[Field]) -> Result<()> {
    let mut seen = HashSet::new();
    for f in fields {
        if !seen.insert(f.name()) {
            return Err(Error::Table(format!(
                "the alerts have a field named '{}', a column alertstream adds; rename it before converting",
                f.name()
            )));
        }
    }
    Ok(())
}

/// Microseconds since the Unix epoch; `None` outside years 1000 to 3000
/// (a time no observation has: a placeholder, or test data).
fn unix_micros(t: crate::model::time::Time) -> Option<i64> {
    const PLAUSIBLE_SECONDS: std::ops::Range<f64> = -30.0e9..32.0e9;
    let s = t.unix_seconds();
    PLAUSIBLE_SECONDS
        .contains(&s)
        .then(|| (s * 1e6).round() as i64)
}

/// The light-curve table's columns.
pub fn lightcurve_schema() -> SchemaRef {
    let text = |n: &str| Field::new(n, DataType::Utf8, true);
    let float = |n: &str| Field::new(n, DataType::Float64, true);
    Arc::new(Schema::new(vec![
        text("object_id"),
        text("alert_id"),
        text("survey"),
        text("source"),
        text("kind"),
        Field::new("measurement_id", DataType::Int64, true),
        float("time"),
        text("time_scale"),
        Field::new(TIME_UTC, utc_micros(), true),
        text("band"),
        float("mag"),
        float("mag_err"),
        float("flux_njy"),
        float("flux_err_njy"),
        float("upper_limit"),
        float("ra"),
        float("dec"),
    ]))
}

/// Builds the light-curve table: one row per measurement, each measurement
/// of an object once however many of its alerts repeat it (the first
/// alert that carries it gives its row).
///
/// ```
/// # use alertstream::{Decoder, DecoderOptions};
/// use alertstream::table::LightCurveBuilder;
/// # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro");
/// let alerts = Decoder::new(DecoderOptions::default())?.decode_file(path.as_ref()).into_result()?;
/// let mut curves = LightCurveBuilder::default();
/// for alert in &alerts {
///     curves.append(alert);
/// }
/// let batch = curves.finish()?;
/// assert_eq!(batch.num_rows(), alerts[0].measurements().len());
/// # Ok::<(), alertstream::Error>(())
/// ```
pub struct LightCurveBuilder {
    seen: HashSet<u64>,
    rows: usize,
    object_id: StringBuilder,
    alert_id: StringBuilder,
    survey: StringBuilder,
    source: StringBuilder,
    kind: StringBuilder,
    measurement_id: Int64Builder,
    time: Float64Builder,
    time_scale: StringBuilder,
    time_utc: TimestampMicrosecondBuilder,
    band: StringBuilder,
    floats: [Float64Builder; 7],
}

impl Default for LightCurveBuilder {
    fn default() -> Self {
        LightCurveBuilder {
            seen: HashSet::new(),
            rows: 0,
            object_id: StringBuilder::new(),
            alert_id: StringBuilder::new(),
            survey: StringBuilder::new(),
            source: StringBuilder::new(),
            kind: StringBuilder::new(),
            measurement_id: Int64Builder::new(),
            time: Float64Builder::new(),
            time_scale: StringBuilder::new(),
            time_utc: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            band: StringBuilder::new(),
            floats: Default::default(),
        }
    }
}

/// What makes two rows the same measurement: the object, what kind of
/// measurement, the band and the time.
fn measurement_key(object: Option<&str>, m: &Measurement) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    object.hash(&mut h);
    m.kind.hash(&mut h);
    m.band.hash(&mut h);
    m.time.map(|t| t.value.to_bits()).hash(&mut h);
    h.finish()
}

impl LightCurveBuilder {
    /// Rows appended since the last batch.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends the measurements of an alert that are new for its object.
    pub fn append(&mut self, alert: &Alert) {
        let object = alert.object_id().map(|id| id.to_string());
        let alert_id = alert.alert_id().map(|id: Id| id.to_string());
        let survey = Survey::name(alert.survey());
        for m in alert.measurements() {
            if !self.seen.insert(measurement_key(object.as_deref(), &m)) {
                continue;
            }
            self.object_id.append_option(object.as_deref());
            self.alert_id.append_option(alert_id.as_deref());
            self.survey.append_value(survey);
            self.source.append_value(m.source.name());
            self.kind.append_value(m.kind.name());
            self.measurement_id.append_option(m.id);
            self.time.append_option(m.time.map(|t| t.value));
            self.time_scale
                .append_option(m.time.map(|t| t.scale_name()));
            self.time_utc.append_option(m.time.and_then(unix_micros));
            self.band.append_option(m.band.as_deref());
            let values = [
                m.mag,
                m.mag_err,
                m.flux_njy,
                m.flux_err_njy,
                m.upper_limit,
                m.ra,
                m.dec,
            ];
            for (b, v) in self.floats.iter_mut().zip(values) {
                b.append_option(v);
            }
            self.rows += 1;
        }
    }

    /// The rows appended so far as a batch. Measurements already seen stay
    /// remembered, so that later batches do not repeat them.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        self.rows = 0;
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.object_id.finish()),
            Arc::new(self.alert_id.finish()),
            Arc::new(self.survey.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.measurement_id.finish()),
            Arc::new(self.time.finish()),
            Arc::new(self.time_scale.finish()),
            Arc::new(self.time_utc.finish()),
            Arc::new(self.band.finish()),
        ];
        columns.extend(
            self.floats
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        RecordBatch::try_new(lightcurve_schema(), columns)
            .map_err(arrow_error("a light-curve batch"))
    }
}
