//! Columns filled from decoded values, one builder per node of a [`Shape`]:
//! a record's fields are found by position (a mapping computed once per
//! writer-schema record type), a document's by name.

use crate::error::{Error, Result};
use crate::model::value::{Datum, Value};
use crate::table::shape::{item_field, map_entries_field, struct_fields, Shape, TimestampUnit};
use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Float32Builder, Float64Builder, Int32Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, ListArray, MapArray, NullArray, StructArray};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use std::collections::HashMap;
use std::sync::Arc;

/// The builder of one column.
pub(crate) enum Column {
    Null(usize),
    Bool(BooleanBuilder),
    Int(Int32Builder),
    Long(Int64Builder),
    TimestampMillis(TimestampMillisecondBuilder),
    TimestampMicros(TimestampMicrosecondBuilder),
    Float(Float32Builder),
    Double(Float64Builder),
    Str(StringBuilder),
    Bytes(BinaryBuilder),
    Json(StringBuilder, Vec<u8>),
    List(Box<ListColumn>),
    Map(Box<MapColumn>),
    Struct(Box<StructColumn>),
}

pub(crate) struct ListColumn {
    item_shape: Shape,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    items: Column,
}

pub(crate) struct MapColumn {
    value_shape: Shape,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    keys: StringBuilder,
    values: Column,
}

/// A writer-schema record type: the schema's fingerprint and the node.
type RecordType = (u64, u32);
/// The column of each of a record type's fields, if the table has it.
type FieldColumns = Vec<Option<usize>>;

pub(crate) struct StructColumn {
    shape: Vec<(String, Shape)>,
    by_name: HashMap<String, usize>,
    /// For each writer-schema record type seen: its fields' columns.
    by_record_type: Vec<(RecordType, FieldColumns)>,
    nulls: NullBufferBuilder,
    rows: usize,
    columns: Vec<Column>,
}

/// A value that its column cannot hold (a document that changed shape
/// after the table's shape was fixed).
fn misfit(value: Value, column: &str) -> Error {
    Error::Table(format!(
        "a {value:?} value does not fit a {column} column: the data changed shape after the table's columns were fixed"
    ))
}

impl Column {
    pub(crate) fn new(shape: &Shape) -> Column {
        match shape {
            Shape::Null => Column::Null(0),
            Shape::Bool => Column::Bool(BooleanBuilder::new()),
            Shape::Int => Column::Int(Int32Builder::new()),
            Shape::Long => Column::Long(Int64Builder::new()),
            Shape::Timestamp(TimestampUnit::Millis) => {
                Column::TimestampMillis(TimestampMillisecondBuilder::new().with_timezone("UTC"))
            }
            Shape::Timestamp(TimestampUnit::Micros) => {
                Column::TimestampMicros(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
            Shape::Float => Column::Float(Float32Builder::new()),
            Shape::Double => Column::Double(Float64Builder::new()),
            Shape::Str => Column::Str(StringBuilder::new()),
            Shape::Bytes => Column::Bytes(BinaryBuilder::new()),
            Shape::Json => Column::Json(StringBuilder::new(), Vec::new()),
            Shape::List(item) => Column::List(Box::new(ListColumn {
                item_shape: (**item).clone(),
                offsets: vec![0],
                nulls: NullBufferBuilder::new(0),
                items: Column::new(item),
            })),
            Shape::Map(value) => Column::Map(Box::new(MapColumn {
                value_shape: (**value).clone(),
                offsets: vec![0],
                nulls: NullBufferBuilder::new(0),
                keys: StringBuilder::new(),
                values: Column::new(value),
            })),
            Shape::Struct(fields) => Column::Struct(Box::new(StructColumn::new(fields))),
        }
    }

    pub(crate) fn len(&self) -> usize {
        use arrow_array::builder::ArrayBuilder;
        match self {
            Column::Null(n) => *n,
            Column::Bool(b) => b.len(),
            Column::Int(b) => b.len(),
            Column::Long(b) => b.len(),
            Column::TimestampMillis(b) => b.len(),
            Column::TimestampMicros(b) => b.len(),
            Column::Float(b) => b.len(),
            Column::Double(b) => b.len(),
            Column::Str(b) | Column::Json(b, _) => b.len(),
            Column::Bytes(b) => b.len(),
            Column::List(l) => l.offsets.len() - 1,
            Column::Map(m) => m.offsets.len() - 1,
            Column::Struct(s) => s.rows,
        }
    }

    pub(crate) fn append_null(&mut self) {
        match self {
            Column::Null(n) => *n += 1,
            Column::Bool(b) => b.append_null(),
            Column::Int(b) => b.append_null(),
            Column::Long(b) => b.append_null(),
            Column::TimestampMillis(b) => b.append_null(),
            Column::TimestampMicros(b) => b.append_null(),
            Column::Float(b) => b.append_null(),
            Column::Double(b) => b.append_null(),
            Column::Str(b) | Column::Json(b, _) => b.append_null(),
            Column::Bytes(b) => b.append_null(),
            Column::List(l) => {
                l.offsets.push(*l.offsets.last().unwrap_or(&0));
                l.nulls.append_null();
            }
            Column::Map(m) => {
                m.offsets.push(*m.offsets.last().unwrap_or(&0));
                m.nulls.append_null();
            }
            Column::Struct(s) => s.append_null(),
        }
    }

    pub(crate) fn append(&mut self, d: Datum<'_>) -> Result<()> {
        let value = d.value();
        if matches!(value, Value::Null) {
            self.append_null();
            return Ok(());
        }
        match self {
            Column::Null(_) => return Err(misfit(value, "null")),
            Column::Bool(b) => match value {
                Value::Boolean(v) => b.append_value(v),
                _ => return Err(misfit(value, "boolean")),
            },
            Column::Int(b) => match value {
                Value::Int(v) => b.append_value(v),
                _ => return Err(misfit(value, "int")),
            },
            Column::Long(b) => b.append_value(d.as_i64().ok_or_else(|| misfit(value, "long"))?),
            Column::TimestampMillis(b) => {
                b.append_value(d.as_i64().ok_or_else(|| misfit(value, "timestamp"))?)
            }
            Column::TimestampMicros(b) => {
                b.append_value(d.as_i64().ok_or_else(|| misfit(value, "timestamp"))?)
            }
            Column::Float(b) => match value {
                Value::Float(v) => b.append_value(v),
                _ => return Err(misfit(value, "float")),
            },
            Column::Double(b) => b.append_value(d.as_f64().ok_or_else(|| misfit(value, "double"))?),
            Column::Str(b) => b.append_value(d.as_str().ok_or_else(|| misfit(value, "string"))?),
            Column::Bytes(b) => b.append_value(d.as_bytes().ok_or_else(|| misfit(value, "bytes"))?),
            Column::Json(b, scratch) => {
                scratch.clear();
                d.write_json(scratch)
                    .map_err(|e| Error::Table(format!("a value as JSON: {e}")))?;
                b.append_value(String::from_utf8_lossy(scratch));
            }
            Column::List(l) => {
                if !matches!(value, Value::Array(_)) {
                    return Err(misfit(value, "list"));
                }
                let mut n = 0;
                for item in d.items() {
                    l.items.append(item)?;
                    n += 1;
                }
                push_offset(&mut l.offsets, n)?;
                l.nulls.append_non_null();
            }
            Column::Map(m) => {
                if !matches!(value, Value::Map(_)) {
                    return Err(misfit(value, "map"));
                }
                let mut n = 0;
                for (key, v) in d.entries() {
                    m.keys.append_value(key);
                    m.values.append(v)?;
                    n += 1;
                }
                push_offset(&mut m.offsets, n)?;
                m.nulls.append_non_null();
            }
            Column::Struct(s) => s.append(d)?,
        }
        Ok(())
    }

    /// The column's array; the builder starts again empty.
    pub(crate) fn finish(&mut self) -> Result<ArrayRef> {
        Ok(match self {
            Column::Null(n) => Arc::new(NullArray::new(std::mem::take(n))),
            Column::Bool(b) => Arc::new(b.finish()),
            Column::Int(b) => Arc::new(b.finish()),
            Column::Long(b) => Arc::new(b.finish()),
            Column::TimestampMillis(b) => Arc::new(b.finish()),
            Column::TimestampMicros(b) => Arc::new(b.finish()),
            Column::Float(b) => Arc::new(b.finish()),
            Column::Double(b) => Arc::new(b.finish()),
            Column::Str(b) | Column::Json(b, _) => Arc::new(b.finish()),
            Column::Bytes(b) => Arc::new(b.finish()),
            Column::List(l) => {
                let offsets = std::mem::replace(&mut l.offsets, vec![0]);
                Arc::new(
                    ListArray::try_new(
                        Arc::new(item_field(&l.item_shape)),
                        OffsetBuffer::new(ScalarBuffer::from(offsets)),
                        l.items.finish()?,
                        l.nulls.finish(),
                    )
                    .map_err(arrow_error("a list column"))?,
                )
            }
            Column::Map(m) => {
                let offsets = std::mem::replace(&mut m.offsets, vec![0]);
                let arrow_schema::DataType::Struct(entry_fields) =
                    map_entries_field(&m.value_shape).data_type().clone()
                else {
                    return Err(Error::Table("map entries are not a struct".into()));
                };
                let entries = StructArray::try_new(
                    entry_fields,
                    vec![Arc::new(m.keys.finish()), m.values.finish()?],
                    None,
                )
                .map_err(arrow_error("a map's entries"))?;
                Arc::new(
                    MapArray::try_new(
                        Arc::new(map_entries_field(&m.value_shape)),
                        OffsetBuffer::new(ScalarBuffer::from(offsets)),
                        entries,
                        m.nulls.finish(),
                        false,
                    )
                    .map_err(arrow_error("a map column"))?,
                )
            }
            Column::Struct(s) => Arc::new(s.finish()?),
        })
    }
}

fn push_offset(offsets: &mut Vec<i32>, n: usize) -> Result<()> {
    let last = *offsets.last().unwrap_or(&0) as usize;
    let next = i32::try_from(last + n).map_err(|_| {
        Error::Table(
            "a list column holds more than 2^31 items in one batch: use smaller batches".into(),
        )
    })?;
    offsets.push(next);
    Ok(())
}

pub(crate) fn arrow_error(context: &'static str) -> impl FnOnce(arrow_schema::ArrowError) -> Error {
    move |source| Error::Arrow {
        context: context.to_owned(),
        source,
    }
}

impl StructColumn {
    pub(crate) fn new(fields: &[(String, Shape)]) -> StructColumn {
        StructColumn {
            shape: fields.to_vec(),
            by_name: fields
                .iter()
                .enumerate()
                .map(|(i, (n, _))| (n.clone(), i))
                .collect(),
            by_record_type: Vec::new(),
            nulls: NullBufferBuilder::new(0),
            rows: 0,
            columns: fields.iter().map(|(_, s)| Column::new(s)).collect(),
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    fn append_null(&mut self) {
        for c in &mut self.columns {
            c.append_null();
        }
        self.nulls.append_null();
        self.rows += 1;
    }

    /// The column of each field of a record type, found by name once.
    fn columns_of(&mut self, d: Datum<'_>, key: RecordType) -> usize {
        if let Some(i) = self.by_record_type.iter().position(|(k, _)| *k == key) {
            return i;
        }
        let map = d
            .fields()
            .map(|(n, _)| self.by_name.get(n).copied())
            .collect();
        self.by_record_type.push((key, map));
        self.by_record_type.len() - 1
    }

    /// Appends a record or a document; fields it lacks are null.
    pub(crate) fn append(&mut self, d: Datum<'_>) -> Result<()> {
        match (d.value(), d.record_type()) {
            (Value::Record { .. }, Some(key)) => {
                let i = self.columns_of(d, key);
                let targets = std::mem::take(&mut self.by_record_type[i].1);
                let result = self.append_fields(d.field_values().zip(targets.iter().copied()));
                self.by_record_type[i].1 = targets;
                result?;
            }
            (Value::Map(_), _) => {
                let pairs: Vec<_> = d
                    .entries()
                    .map(|(n, v)| (v, self.by_name.get(n).copied()))
                    .collect();
                self.append_fields(pairs.into_iter())?;
            }
            (Value::Null, _) => {
                self.append_null();
                return Ok(());
            }
            (value, _) => return Err(misfit(value, "record")),
        }
        self.nulls.append_non_null();
        self.rows += 1;
        Ok(())
    }

    fn append_fields<'a>(
        &mut self,
        fields: impl Iterator<Item = (Datum<'a>, Option<usize>)>,
    ) -> Result<()> {
        for (value, target) in fields {
            let Some(column) = target.and_then(|j| self.columns.get_mut(j)) else {
                continue;
            };
            // A document may repeat a key: the first value wins.
            if column.len() == self.rows {
                column.append(value)?;
            }
        }
        for column in &mut self.columns {
            if column.len() == self.rows {
                column.append_null();
            }
        }
        Ok(())
    }

    /// The fields' arrays, for a batch's top level.
    pub(crate) fn finish_columns(&mut self) -> Result<Vec<ArrayRef>> {
        self.rows = 0;
        self.nulls = NullBufferBuilder::new(0);
        self.columns.iter_mut().map(Column::finish).collect()
    }

    fn finish(&mut self) -> Result<StructArray> {
        let nulls = self.nulls.finish();
        let rows = self.rows;
        self.rows = 0;
        let arrays = self
            .columns
            .iter_mut()
            .map(Column::finish)
            .collect::<Result<Vec<_>>>()?;
        if arrays.is_empty() {
            return Ok(StructArray::new_empty_fields(rows, nulls));
        }
        StructArray::try_new(struct_fields(&self.shape), arrays, nulls)
            .map_err(arrow_error("a record column"))
    }
}
