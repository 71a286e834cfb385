//! The decoded record: a compact value tree whose records are positional.
//!
//! Avro records carry only the index of their schema node; field names live
//! once in the writer schema, not in every decoded alert. A [`Datum`] pairs a
//! value with that schema so that fields can be looked up by name and the
//! record serialized with its schema's field names.

use crate::schema::WriterSchema;
use base64::Engine as _;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_avro_fast::schema::{RegularType, SchemaKey};

/// One decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Int(i32),
    Long(i64),
    Float(f32),
    Double(f64),
    /// Avro `bytes`, BSON binary: a span of the alert's buffer.
    Bytes(Span),
    /// UTF-8 text (checked when decoded): a span of the alert's buffer.
    String(Span),
    Array(Vec<Value>),
    /// Avro map or a JSON/BSON document: keys in their original order.
    Map(Vec<(String, Value)>),
    /// Avro record: the writer-schema node that names its fields, and the values in order.
    Record { schema: u32, fields: Vec<Value> },
    /// Avro enum: the writer-schema node and the symbol's index.
    Enum { schema: u32, symbol: u32 },
    /// Avro fixed.
    Fixed(Span),
}

/// Where a string or bytes value lies in the buffer its alert keeps: values
/// point into the payload instead of owning copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: u32,
    pub len: u32,
}

impl Span {
    pub(crate) fn new(start: usize, len: usize) -> Self {
        Span {
            start: start as u32,
            len: len as u32,
        }
    }

    /// The bytes of this span in `buf` (empty if `buf` is not its buffer).
    pub fn of<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        let start = self.start as usize;
        buf.get(start..start + self.len as usize).unwrap_or_default()
    }
}

/// A value seen through the schema that names its record fields.
#[derive(Debug, Clone, Copy)]
pub struct Datum<'a> {
    value: &'a Value,
    schema: Option<&'a WriterSchema>,
    buf: &'a [u8],
}

impl<'a> Datum<'a> {
    /// Pairs a value with its writer schema (`None` for BSON and JSON
    /// alerts) and the buffer its strings and bytes lie in.
    pub fn new(value: &'a Value, schema: Option<&'a WriterSchema>, buf: &'a [u8]) -> Self {
        Datum { value, schema, buf }
    }

    fn child(&self, value: &'a Value) -> Datum<'a> {
        Datum::new(value, self.schema, self.buf)
    }

    /// The underlying value.
    pub fn value(&self) -> &'a Value {
        self.value
    }

    /// A field of a record, or an entry of a map/document, by name. `None` when
    /// absent or when this value is neither.
    pub fn get(&self, name: &str) -> Option<Datum<'a>> {
        let value = match self.value {
            Value::Record { schema, fields } => {
                let index = self.field_names(*schema)?.position(|n| n == name)?;
                fields.get(index)?
            }
            Value::Map(entries) => &entries.iter().find(|(k, _)| k == name)?.1,
            _ => return None,
        };
        Some(self.child(value))
    }

    /// Follows a path of field names, e.g. `["candidate", "magpsf"]`.
    pub fn path(&self, names: &[&str]) -> Option<Datum<'a>> {
        names.iter().try_fold(*self, |d, n| d.get(n))
    }

    /// The first of several candidate names that is present and not null.
    pub fn first_of(&self, names: &[&str]) -> Option<Datum<'a>> {
        names
            .iter()
            .filter_map(|n| self.get(n))
            .find(|d| !d.is_null())
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// Any numeric value as f64 (`None` for NaN-free non-numbers).
    pub fn as_f64(&self) -> Option<f64> {
        match *self.value {
            Value::Int(v) => Some(v.into()),
            Value::Long(v) => Some(v as f64),
            Value::Float(v) => Some(v.into()),
            Value::Double(v) => Some(v),
            _ => None,
        }
    }

    /// An integer value as i64.
    pub fn as_i64(&self) -> Option<i64> {
        match *self.value {
            Value::Int(v) => Some(v.into()),
            Value::Long(v) => Some(v),
            _ => None,
        }
    }

    /// A string, or the symbol of an enum.
    pub fn as_str(&self) -> Option<&'a str> {
        match self.value {
            Value::String(s) => std::str::from_utf8(s.of(self.buf)).ok(),
            Value::Enum { schema, symbol } => self.enum_symbol(*schema, *symbol),
            _ => None,
        }
    }

    /// Bytes or fixed.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self.value {
            Value::Bytes(b) | Value::Fixed(b) => Some(b.of(self.buf)),
            _ => None,
        }
    }

    /// The items of an array (empty for anything else).
    pub fn items(&self) -> impl Iterator<Item = Datum<'a>> + 'a {
        let items: &'a [Value] = match self.value {
            Value::Array(items) => items,
            _ => &[],
        };
        let (schema, buf) = (self.schema, self.buf);
        items.iter().map(move |v| Datum::new(v, schema, buf))
    }

    /// Number of items when this is an array.
    pub fn len(&self) -> Option<usize> {
        match self.value {
            Value::Array(items) => Some(items.len()),
            _ => None,
        }
    }

    fn field_names(&self, node: u32) -> Option<impl Iterator<Item = &'a str> + 'a> {
        match &self.node(node)?.type_ {
            RegularType::Record(r) => Some(r.fields.iter().map(|f| f.name.as_str())),
            _ => None,
        }
    }

    fn enum_symbol(&self, node: u32, symbol: u32) -> Option<&'a str> {
        match &self.node(node)?.type_ {
            RegularType::Enum(e) => e.symbols.get(symbol as usize).map(String::as_str),
            _ => None,
        }
    }

    fn node(&self, node: u32) -> Option<&'a serde_avro_fast::schema::SchemaNode> {
        self.schema?.tree().get(SchemaKey::from_idx(node as usize))
    }
}

fn base64_str(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// JSON view: field names from the schema, bytes as base64, 64-bit integers
/// exact, floats in their shortest round-trip form (NaN and infinities become null,
/// which JSON cannot express otherwise).
impl Serialize for Datum<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Null => s.serialize_unit(),
            Value::Boolean(b) => s.serialize_bool(*b),
            Value::Int(v) => s.serialize_i32(*v),
            Value::Long(v) => s.serialize_i64(*v),
            Value::Float(v) => s.serialize_f32(*v),
            Value::Double(v) => s.serialize_f64(*v),
            Value::Bytes(b) | Value::Fixed(b) => s.serialize_str(&base64_str(b.of(self.buf))),
            Value::String(_) | Value::Enum { .. } => s.serialize_str(self.as_str().unwrap_or("")),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&self.child(item))?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, &self.child(v))?;
                }
                map.end()
            }
            Value::Record { schema, fields } => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                let names = self
                    .field_names(*schema)
                    .ok_or_else(|| serde::ser::Error::custom("record without its schema"))?;
                for (name, v) in names.zip(fields) {
                    map.serialize_entry(name, &self.child(v))?;
                }
                map.end()
            }
        }
    }
}
