//! The decoded record: a flat arena of small `Copy` values.
//!
//! An alert's values live in one `Vec<Value>`; slot 0 is the record itself.
//! Records, arrays and maps name a range of slots; strings and bytes name a
//! range of the alert's buffer. Decoding an alert costs one vector, dropping
//! it one free, and field names stay in the writer schema, not in each alert.
//! A [`Datum`] pairs a value with its arena, buffer and schema so that fields
//! can be looked up by name and the record serialized with its names.

use crate::model::schema::WriterSchema;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_avro_fast::schema::{RegularType, SchemaKey};

/// One decoded value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Int(i32),
    Long(i64),
    Float(f32),
    Double(f64),
    /// Avro `bytes`, BSON binary.
    Bytes(Span),
    /// UTF-8 text (checked when decoded).
    String(Span),
    /// Avro fixed.
    Fixed(Span),
    /// Avro enum: the writer-schema node and the symbol's index.
    Enum {
        schema: u32,
        symbol: u32,
    },
    /// Items in consecutive slots.
    Array(Slots),
    /// Avro map or JSON/BSON document: key (a `String`) and value slots alternate.
    Map(Slots),
    /// Avro record: the writer-schema node that names its fields, and their slots.
    Record {
        schema: u32,
        fields: Slots,
    },
}

/// Where a string or bytes value lies in its alert's buffer.
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
        buf.get(start..start + self.len as usize)
            .unwrap_or_default()
    }
}

/// A range of slots in an alert's value arena. A map's range holds two slots
/// (key, value) per entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Slots {
    pub start: u32,
    pub len: u32,
}

impl Slots {
    pub(crate) fn new(start: usize, len: usize) -> Self {
        Slots {
            start: start as u32,
            len: len as u32,
        }
    }

    pub(crate) fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }

    fn of<'a>(&self, arena: &'a [Value]) -> &'a [Value] {
        arena.get(self.range()).unwrap_or_default()
    }
}

/// Builds an arena: a composite value reserves its slots first, then fills
/// them, so that its children's own children land after its range.
#[derive(Debug, Default)]
pub(crate) struct ArenaBuilder {
    pub values: Vec<Value>,
}

impl ArenaBuilder {
    pub fn with_capacity(n: usize) -> Self {
        ArenaBuilder {
            values: Vec::with_capacity(n),
        }
    }

    /// Reserves `n` consecutive slots and returns the first.
    pub fn reserve(&mut self, n: usize) -> usize {
        let start = self.values.len();
        self.values.resize(start + n, Value::Null);
        start
    }

    /// Makes room for `more` slots right after `slots` (an array's next block):
    /// grows in place when nothing was appended since, else moves the range.
    pub fn extend(&mut self, slots: Slots, more: usize) -> Slots {
        let end = slots.range().end;
        let start = if end == self.values.len() {
            slots.start as usize
        } else {
            let moved = self.values.len();
            self.values.extend_from_within(slots.range());
            moved
        };
        self.values.resize(self.values.len() + more, Value::Null);
        Slots::new(start, slots.len as usize + more)
    }

    pub fn set(&mut self, slot: usize, value: Value) {
        if let Some(s) = self.values.get_mut(slot) {
            *s = value;
        }
    }
}

/// A value seen with its arena, buffer and writer schema.
#[derive(Debug, Clone, Copy)]
pub struct Datum<'a> {
    value: Value,
    arena: &'a [Value],
    buf: &'a [u8],
    schema: Option<&'a WriterSchema>,
}

impl<'a> Datum<'a> {
    /// The root (slot 0) of an arena, with the buffer its spans refer to and
    /// its writer schema (`None` for BSON and JSON documents).
    pub fn root(arena: &'a [Value], buf: &'a [u8], schema: Option<&'a WriterSchema>) -> Self {
        Datum {
            value: arena.first().copied().unwrap_or(Value::Null),
            arena,
            buf,
            schema,
        }
    }

    fn child(&self, value: Value) -> Datum<'a> {
        Datum { value, ..*self }
    }

    /// The underlying value.
    pub fn value(&self) -> Value {
        self.value
    }

    /// A field of a record, or an entry of a map/document, by name. `None` when
    /// absent or when this value is neither.
    pub fn get(&self, name: &str) -> Option<Datum<'a>> {
        match self.value {
            Value::Record { schema, fields } => {
                let index = self.field_names(schema)?.position(|n| n == name)?;
                Some(self.child(*fields.of(self.arena).get(index)?))
            }
            Value::Map(entries) => entries
                .of(self.arena)
                .chunks_exact(2)
                .find(|kv| self.child(kv[0]).as_str() == Some(name))
                .map(|kv| self.child(kv[1])),
            _ => None,
        }
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

    /// Any numeric value as f64.
    pub fn as_f64(&self) -> Option<f64> {
        match self.value {
            Value::Int(v) => Some(v.into()),
            Value::Long(v) => Some(v as f64),
            Value::Float(v) => Some(v.into()),
            Value::Double(v) => Some(v),
            _ => None,
        }
    }

    /// An integer value as i64.
    pub fn as_i64(&self) -> Option<i64> {
        match self.value {
            Value::Int(v) => Some(v.into()),
            Value::Long(v) => Some(v),
            _ => None,
        }
    }

    /// A string, or the symbol of an enum.
    pub fn as_str(&self) -> Option<&'a str> {
        match self.value {
            Value::String(s) => std::str::from_utf8(s.of(self.buf)).ok(),
            Value::Enum { schema, symbol } => self.enum_symbol(schema, symbol),
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
        let items = match self.value {
            Value::Array(slots) => slots.of(self.arena),
            _ => &[],
        };
        let this = *self;
        items.iter().map(move |&v| this.child(v))
    }

    /// The entries of a map or document (empty for anything else).
    pub fn entries(&self) -> impl Iterator<Item = (&'a str, Datum<'a>)> + 'a {
        let slots = match self.value {
            Value::Map(slots) => slots.of(self.arena),
            _ => &[],
        };
        let this = *self;
        slots
            .chunks_exact(2)
            .map(move |kv| (this.child(kv[0]).as_str().unwrap_or(""), this.child(kv[1])))
    }

    /// Number of items when this is an array.
    pub fn array_len(&self) -> Option<usize> {
        match self.value {
            Value::Array(slots) => Some(slots.len as usize),
            _ => None,
        }
    }

    /// A record's field names (from its writer schema) and values, in order.
    pub fn fields(&self) -> impl Iterator<Item = (&'a str, Datum<'a>)> + 'a {
        let (names, slots) = match self.value {
            Value::Record { schema, fields } => (self.field_names(schema), fields.of(self.arena)),
            _ => (None, &[][..]),
        };
        let this = *self;
        names
            .into_iter()
            .flatten()
            .zip(slots)
            .map(move |(n, &v)| (n, this.child(v)))
    }

    /// A record's values in field order (see [`Datum::fields`] for names).
    pub fn field_values(&self) -> impl Iterator<Item = Datum<'a>> + 'a {
        let slots = match self.value {
            Value::Record { fields, .. } => fields.of(self.arena),
            _ => &[],
        };
        let this = *self;
        slots.iter().map(move |&v| this.child(v))
    }

    /// Identifies a record's type: its writer schema's fingerprint and
    /// node. Records with the same key have the same fields in the same order.
    pub fn record_type(&self) -> Option<(u64, u32)> {
        match self.value {
            Value::Record { schema, .. } => Some((self.schema?.fingerprint(), schema)),
            _ => None,
        }
    }

    /// The Avro logical type the value of a record's field `index` carries
    /// (from the field's type, or the union branch it took), if any.
    pub fn logical_at(&self, index: usize) -> Option<Logical> {
        let Value::Record { schema, fields } = self.value else {
            return None;
        };
        let RegularType::Record(r) = &self.node(schema)?.type_ else {
            return None;
        };
        self.logical_of(
            r.fields.get(index)?.type_,
            *fields.of(self.arena).get(index)?,
        )
    }

    /// A record's field names, each with whether its values may carry an
    /// Avro logical type (its type, or a branch of its union, has one): the
    /// same for every record of one [`Datum::record_type`].
    pub fn field_layout(&self) -> Vec<(&'a str, bool)> {
        let Value::Record { schema, .. } = self.value else {
            return Vec::new();
        };
        let (Some(tree), Some(RegularType::Record(r))) = (
            self.schema.map(|s| s.tree()),
            self.node(schema).map(|n| &n.type_),
        ) else {
            return Vec::new();
        };
        let has_logical = |key: SchemaKey| {
            tree.get(key).is_some_and(|n| {
                n.logical_type.is_some()
                    || matches!(&n.type_, RegularType::Union(u) if u.variants.iter()
                        .any(|v| tree.get(*v).is_some_and(|b| b.logical_type.is_some())))
            })
        };
        r.fields
            .iter()
            .map(|f| (f.name.as_str(), has_logical(f.type_)))
            .collect()
    }

    fn logical_of(&self, key: SchemaKey, value: Value) -> Option<Logical> {
        let tree = self.schema?.tree();
        let node = tree.get(key)?;
        let node = match &node.type_ {
            RegularType::Union(u) => u
                .variants
                .iter()
                .filter_map(|k| tree.get(*k))
                .find(|n| same_kind(&n.type_, value))?,
            _ => node,
        };
        Logical::of(node.logical_type.as_ref()?)
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

/// The Avro logical types that change what a value means (fastavro reads
/// them as dates, times and UUID strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Logical {
    /// Days since 1970-01-01 (int).
    Date,
    /// Milliseconds after midnight (int).
    TimeMillis,
    /// Microseconds after midnight (long).
    TimeMicros,
    /// Milliseconds since the Unix epoch, UTC (long).
    TimestampMillis,
    /// Microseconds since the Unix epoch, UTC (long).
    TimestampMicros,
    /// A UUID (string).
    Uuid,
}

impl Logical {
    fn of(logical: &serde_avro_fast::schema::LogicalType) -> Option<Logical> {
        use serde_avro_fast::schema::LogicalType as L;
        Some(match logical {
            L::Date => Logical::Date,
            L::TimeMillis => Logical::TimeMillis,
            L::TimeMicros => Logical::TimeMicros,
            L::TimestampMillis => Logical::TimestampMillis,
            L::TimestampMicros => Logical::TimestampMicros,
            L::Uuid => Logical::Uuid,
            _ => return None,
        })
    }
}

/// Whether a union branch of this type holds `value`.
fn same_kind(type_: &RegularType, value: Value) -> bool {
    matches!(
        (type_, value),
        (RegularType::Int, Value::Int(_))
            | (RegularType::Long, Value::Long(_))
            | (RegularType::String, Value::String(_))
    )
}

/// Bytes as standard base64 (as alerts' bytes are written in JSON).
pub fn base64_str(bytes: &[u8]) -> String {
    base64_simd::STANDARD.encode_to_string(bytes)
}

/// Appends `bytes` as base64 (SIMD: about 4x the scalar encoder here).
fn append_base64(bytes: &[u8], out: &mut Vec<u8>) {
    base64_simd::STANDARD.encode_append(bytes, out);
}

/// `"name":`. Avro names are `[A-Za-z_][A-Za-z0-9_]*`: written as they
/// are; anything else goes through serde_json's escaping.
fn write_field_name(name: &str, out: &mut Vec<u8>) -> serde_json::Result<()> {
    if name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, name)?;
    }
    out.push(b':');
    Ok(())
}

impl Datum<'_> {
    /// Appends the same JSON as `serde_json::to_writer(out, &datum)`, faster:
    /// bytes go out as base64 without serde_json's string-escaping pass (the
    /// base64 alphabet needs none), and they are most of an alert (cutouts).
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let comma = |out: &mut Vec<u8>, i: usize| {
            if i > 0 {
                out.push(b',');
            }
        };
        match self.value {
            Value::Bytes(b) | Value::Fixed(b) => {
                out.push(b'"');
                append_base64(b.of(self.buf), out);
                out.push(b'"');
            }
            Value::Array(_) => {
                out.push(b'[');
                for (i, item) in self.items().enumerate() {
                    comma(out, i);
                    item.write_json(out)?;
                }
                out.push(b']');
            }
            Value::Map(_) => {
                out.push(b'{');
                for (i, (key, value)) in self.entries().enumerate() {
                    comma(out, i);
                    serde_json::to_writer(&mut *out, key)?;
                    out.push(b':');
                    value.write_json(out)?;
                }
                out.push(b'}');
            }
            Value::Record { schema, fields } => {
                let names = self
                    .field_names(schema)
                    .ok_or_else(|| serde::ser::Error::custom("record without its schema"))?;
                out.push(b'{');
                for (i, (name, &v)) in names.zip(fields.of(self.arena)).enumerate() {
                    comma(out, i);
                    write_field_name(name, out)?;
                    self.child(v).write_json(out)?;
                }
                out.push(b'}');
            }
            Value::Null => out.extend_from_slice(b"null"),
            Value::Boolean(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            Value::Int(v) => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
            Value::Long(v) => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
            Value::Float(v) => serde_json::to_writer(&mut *out, &v)?,
            Value::Double(v) => serde_json::to_writer(&mut *out, &v)?,
            Value::String(_) | Value::Enum { .. } => {
                serde_json::to_writer(&mut *out, self.as_str().unwrap_or(""))?
            }
        }
        Ok(())
    }
}

/// JSON view: field names from the schema, bytes as base64, 64-bit integers
/// exact, floats in their shortest round-trip form (NaN and infinities become
/// null, which JSON cannot express otherwise).
impl Serialize for Datum<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Null => s.serialize_unit(),
            Value::Boolean(b) => s.serialize_bool(b),
            Value::Int(v) => s.serialize_i32(v),
            Value::Long(v) => s.serialize_i64(v),
            Value::Float(v) => s.serialize_f32(v),
            Value::Double(v) => s.serialize_f64(v),
            Value::Bytes(b) | Value::Fixed(b) => s.serialize_str(&base64_str(b.of(self.buf))),
            Value::String(_) | Value::Enum { .. } => s.serialize_str(self.as_str().unwrap_or("")),
            Value::Array(slots) => {
                let mut seq = s.serialize_seq(Some(slots.len as usize))?;
                for item in self.items() {
                    seq.serialize_element(&item)?;
                }
                seq.end()
            }
            Value::Map(slots) => {
                let mut map = s.serialize_map(Some(slots.len as usize / 2))?;
                for (k, v) in self.entries() {
                    map.serialize_entry(k, &v)?;
                }
                map.end()
            }
            Value::Record { schema, fields } => {
                let mut map = s.serialize_map(Some(fields.len as usize))?;
                let names = self
                    .field_names(schema)
                    .ok_or_else(|| serde::ser::Error::custom("record without its schema"))?;
                for (name, &v) in names.zip(fields.of(self.arena)) {
                    map.serialize_entry(name, &self.child(v))?;
                }
                map.end()
            }
        }
    }
}
