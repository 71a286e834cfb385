//! The shape of a table's columns, from an Avro writer schema or inferred
//! from a document (BSON, JSON), and the union of several shapes: what lets
//! alerts of different schema versions share one table.

use crate::error::{Error, Result};
use crate::model::schema::WriterSchema;
use crate::model::value::{Datum, Value};
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use serde_avro_fast::schema::{LogicalType, RegularType, SchemaKey, SchemaMut};
use std::fmt;
use std::sync::Arc;

/// A column's type. Every column is nullable: a field that one schema
/// version lacks is null in the rows of that version.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Only nulls were seen (documents).
    Null,
    Bool,
    Int,
    Long,
    /// An Avro `timestamp-millis` / `timestamp-micros` long: an instant, UTC.
    Timestamp(TimestampUnit),
    Float,
    Double,
    /// Text, and Avro enum symbols.
    Str,
    /// Avro bytes and fixed, BSON binary.
    Bytes,
    /// Document values whose type differs from one document to the next:
    /// kept as JSON text rather than lost.
    Json,
    List(Box<Shape>),
    /// Avro map: string keys.
    Map(Box<Shape>),
    Struct(Vec<(String, Shape)>),
}

/// What one unit of an Avro timestamp is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampUnit {
    Millis,
    Micros,
}

/// Two shapes that cannot share a column, found at `path`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub path: String,
    pub left: String,
    pub right: String,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Null => f.write_str("null"),
            Shape::Bool => f.write_str("boolean"),
            Shape::Int => f.write_str("int"),
            Shape::Long => f.write_str("long"),
            Shape::Timestamp(TimestampUnit::Millis) => f.write_str("timestamp-millis"),
            Shape::Timestamp(TimestampUnit::Micros) => f.write_str("timestamp-micros"),
            Shape::Float => f.write_str("float"),
            Shape::Double => f.write_str("double"),
            Shape::Str => f.write_str("string"),
            Shape::Bytes => f.write_str("bytes"),
            Shape::Json => f.write_str("json"),
            Shape::List(item) => write!(f, "array<{item}>"),
            Shape::Map(value) => write!(f, "map<{value}>"),
            Shape::Struct(_) => f.write_str("record"),
        }
    }
}

impl Conflict {
    /// The conflict seen from the parent: `field` (a record's field, `[]` an
    /// array's items, `{}` a map's values) before the path so far.
    fn within(mut self, field: &str) -> Conflict {
        self.path = if self.path.is_empty() {
            field.to_owned()
        } else if self.path.starts_with(['[', '{']) {
            format!("{field}{}", self.path)
        } else {
            format!("{field}.{}", self.path)
        };
        self
    }
}

impl Shape {
    /// The shape of the records a writer schema describes.
    pub fn of_schema(schema: &WriterSchema, max_depth: usize) -> Result<Shape> {
        let tree = schema.tree();
        of_node(tree, SchemaKey::from_idx(0), max_depth).ok_or_else(|| {
            Error::Table(format!(
                "the schema {} nests deeper than {max_depth} levels (or refers to itself): it cannot be a table",
                schema.name().unwrap_or("(unnamed)")
            ))
        })
    }

    /// The shape of one document's value (BSON, JSON); `None` when it nests
    /// deeper than `max_depth`.
    pub fn of_datum(d: Datum<'_>, max_depth: usize) -> Option<Shape> {
        if max_depth == 0 {
            return None;
        }
        Some(match d.value() {
            Value::Null => Shape::Null,
            Value::Boolean(_) => Shape::Bool,
            Value::Int(_) => Shape::Int,
            Value::Long(_) => Shape::Long,
            Value::Float(_) => Shape::Float,
            Value::Double(_) => Shape::Double,
            Value::String(_) | Value::Enum { .. } => Shape::Str,
            Value::Bytes(_) | Value::Fixed(_) => Shape::Bytes,
            Value::Array(_) => {
                let mut item = Shape::Null;
                for i in d.items() {
                    item = item.union(Shape::of_datum(i, max_depth - 1)?);
                }
                Shape::List(Box::new(item))
            }
            Value::Map(_) => {
                let mut fields: Vec<(String, Shape)> = Vec::new();
                for (name, v) in d.entries() {
                    let shape = Shape::of_datum(v, max_depth - 1)?;
                    match fields.iter_mut().find(|(n, _)| n == name) {
                        Some((_, s)) => *s = std::mem::replace(s, Shape::Null).union(shape),
                        None => fields.push((name.to_owned(), shape)),
                    }
                }
                Shape::Struct(fields)
            }
            Value::Record { .. } => Shape::Struct(
                d.fields()
                    .map(|(n, v)| Some((n.to_owned(), Shape::of_datum(v, max_depth - 1)?)))
                    .collect::<Option<_>>()?,
            ),
        })
    }

    /// The shape that holds the values of both: fields of either record (in
    /// order of first appearance), numbers widened (int to long, float to
    /// double, integers with floats to double). Any other difference of
    /// type is a [`Conflict`] naming the field.
    pub fn merge(self, other: Shape) -> Result<Shape, Conflict> {
        self.combine(other, true)
    }

    /// Like [`Shape::merge`], but a difference of type becomes a JSON text
    /// column (documents, which promise no schema).
    pub fn union(self, other: Shape) -> Shape {
        self.combine(other, false).unwrap_or(Shape::Json)
    }

    /// The conflict's path is built on the way back up, so that merging
    /// costs no string unless it fails.
    fn combine(self, other: Shape, strict: bool) -> Result<Shape, Conflict> {
        use Shape::*;
        Ok(match (self, other) {
            (a, b) if a == b => a,
            (Null, x) | (x, Null) => x,
            (Json, _) | (_, Json) => Json,
            (Int, Long) | (Long, Int) => Long,
            // A version that declared the instant as a plain long.
            (Timestamp(_), Int | Long) | (Int | Long, Timestamp(_)) => Long,
            (Float, Double) | (Double, Float) => Double,
            (Int | Long, Float | Double) | (Float | Double, Int | Long) => Double,
            (List(a), List(b)) => {
                List(Box::new(a.combine(*b, strict).map_err(|c| c.within("[]"))?))
            }
            (Map(a), Map(b)) => Map(Box::new(a.combine(*b, strict).map_err(|c| c.within("{}"))?)),
            (Struct(mut a), Struct(b)) => {
                for (name, shape) in b {
                    match a.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, s)) => {
                            *s = std::mem::replace(s, Null)
                                .combine(shape, strict)
                                .map_err(|c| c.within(&name))?;
                        }
                        None => a.push((name, shape)),
                    }
                }
                Struct(a)
            }
            (_, _) if !strict => Json,
            (a, b) => {
                return Err(Conflict {
                    path: String::new(),
                    left: a.to_string(),
                    right: b.to_string(),
                })
            }
        })
    }

    /// True when every value of `other` fits a column of this shape as it is.
    pub fn holds(&self, other: &Shape) -> bool {
        self == other || self.clone().merge(other.clone()).is_ok_and(|m| &m == self)
    }

    /// A top-level record without the named fields.
    pub fn without(self, names: &[&str]) -> Shape {
        match self {
            Shape::Struct(fields) => Shape::Struct(
                fields
                    .into_iter()
                    .filter(|(n, _)| !names.contains(&n.as_str()))
                    .collect(),
            ),
            other => other,
        }
    }

    /// The Arrow type of a column of this shape.
    pub fn data_type(&self) -> DataType {
        match self {
            Shape::Null => DataType::Null,
            Shape::Bool => DataType::Boolean,
            Shape::Int => DataType::Int32,
            Shape::Long => DataType::Int64,
            Shape::Timestamp(unit) => DataType::Timestamp(
                match unit {
                    TimestampUnit::Millis => TimeUnit::Millisecond,
                    TimestampUnit::Micros => TimeUnit::Microsecond,
                },
                Some("UTC".into()),
            ),
            Shape::Float => DataType::Float32,
            Shape::Double => DataType::Float64,
            Shape::Str | Shape::Json => DataType::Utf8,
            Shape::Bytes => DataType::Binary,
            Shape::List(item) => DataType::List(Arc::new(item_field(item))),
            Shape::Map(value) => DataType::Map(Arc::new(map_entries_field(value)), false),
            Shape::Struct(fields) => DataType::Struct(struct_fields(fields)),
        }
    }
}

pub(crate) fn item_field(item: &Shape) -> Field {
    Field::new("item", item.data_type(), true)
}

pub(crate) fn map_entries_field(value: &Shape) -> Field {
    Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", value.data_type(), true),
        ])),
        false,
    )
}

pub(crate) fn struct_fields(fields: &[(String, Shape)]) -> Fields {
    fields
        .iter()
        .map(|(n, s)| Field::new(n, s.data_type(), true))
        .collect()
}

/// `None` past `depth` levels: a schema that refers to itself.
fn of_node(tree: &SchemaMut, key: SchemaKey, depth: usize) -> Option<Shape> {
    let depth = depth.checked_sub(1)?;
    let node = tree.get(key)?;
    match (&node.type_, &node.logical_type) {
        (RegularType::Long, Some(LogicalType::TimestampMillis)) => {
            return Some(Shape::Timestamp(TimestampUnit::Millis))
        }
        (RegularType::Long, Some(LogicalType::TimestampMicros)) => {
            return Some(Shape::Timestamp(TimestampUnit::Micros))
        }
        _ => {}
    }
    Some(match &node.type_ {
        RegularType::Null => Shape::Null,
        RegularType::Boolean => Shape::Bool,
        RegularType::Int => Shape::Int,
        RegularType::Long => Shape::Long,
        RegularType::Float => Shape::Float,
        RegularType::Double => Shape::Double,
        RegularType::Bytes | RegularType::Fixed(_) => Shape::Bytes,
        RegularType::String | RegularType::Enum(_) => Shape::Str,
        RegularType::Array(a) => Shape::List(Box::new(of_node(tree, a.items, depth)?)),
        RegularType::Map(m) => Shape::Map(Box::new(of_node(tree, m.values, depth)?)),
        RegularType::Union(u) => {
            let mut shape = Shape::Null;
            for &v in &u.variants {
                shape = shape.union(of_node(tree, v, depth)?);
            }
            shape
        }
        RegularType::Record(r) => Shape::Struct(
            r.fields
                .iter()
                .map(|f| Some((f.name.clone(), of_node(tree, f.type_, depth)?)))
                .collect::<Option<_>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[(&str, Shape)]) -> Shape {
        Shape::Struct(
            fields
                .iter()
                .map(|(n, s)| (n.to_string(), s.clone()))
                .collect(),
        )
    }

    #[test]
    fn a_union_of_versions_keeps_every_field_and_widens_numbers() {
        let old = record(&[("a", Shape::Int), ("b", Shape::Float)]);
        let new = record(&[("a", Shape::Long), ("c", Shape::Str), ("b", Shape::Double)]);
        let merged = old.merge(new).unwrap();
        assert_eq!(
            merged,
            record(&[("a", Shape::Long), ("b", Shape::Double), ("c", Shape::Str)])
        );
    }

    #[test]
    fn a_changed_type_is_refused_with_the_field_named() {
        let old = record(&[("candidate", record(&[("magpsf", Shape::Float)]))]);
        let new = record(&[("candidate", record(&[("magpsf", Shape::Str)]))]);
        let err = old.merge(new).unwrap_err();
        assert_eq!(err.path, "candidate.magpsf");
        assert_eq!((err.left.as_str(), err.right.as_str()), ("float", "string"));
    }

    #[test]
    fn a_conflict_inside_a_list_of_records_is_named_by_its_path() {
        let item = |t: Shape| Shape::List(Box::new(record(&[("magpsf", t)])));
        let old = record(&[("prv_candidates", item(Shape::Float))]);
        let new = record(&[("prv_candidates", item(Shape::Bool))]);
        assert_eq!(old.merge(new).unwrap_err().path, "prv_candidates[].magpsf");
    }

    #[test]
    fn documents_with_changing_types_become_json() {
        let a = record(&[("x", Shape::Str)]);
        let b = record(&[("x", Shape::Double)]);
        assert_eq!(a.union(b), record(&[("x", Shape::Json)]));
    }

    #[test]
    fn holds_accepts_subsets_and_nulls_only() {
        let file = record(&[("a", Shape::Long), ("b", Shape::Str)]);
        assert!(file.holds(&record(&[("a", Shape::Int)])));
        assert!(file.holds(&record(&[("b", Shape::Null)])));
        assert!(!file.holds(&record(&[("c", Shape::Str)])));
        assert!(!file.holds(&record(&[("a", Shape::Double)])));
    }
}
