//! Avro binary decoding: schemaless datums (this module) and Object Container
//! File framing ([`container`]). Framing is kept apart from decoding, as in
//! arrow-avro: the container layer yields blocks of bytes, the datum layer
//! turns bytes into values with the writer schema.

pub mod container;
pub(crate) mod plan;

use crate::error::{Error, Result};
use crate::schema::WriterSchema;
use crate::value::{Span, Value};
pub(crate) use plan::Plan;
use plan::Node;

/// Nesting deeper than this is treated as corrupt (guards recursive schemas).
const MAX_DEPTH: usize = 128;

/// Decodes one datum starting at `pos` in `buf`; returns the value and the
/// position just after it.
///
/// Strings and bytes in the value are [`Span`]s of `buf`.
pub fn decode_datum(schema: &WriterSchema, buf: &[u8], pos: usize) -> Result<(Value, usize)> {
    if u32::try_from(buf.len()).is_err() {
        return Err(Error::corrupt(0, "payload larger than 4 GiB"));
    }
    let plan = schema.plan();
    let mut reader = DatumReader { plan, buf, pos };
    let value = reader.value(0, 0)?;
    Ok((value, reader.pos))
}

/// Decodes a datum that must fill `buf` exactly (one Kafka message value).
pub fn decode_whole_datum(schema: &WriterSchema, buf: &[u8], pos: usize) -> Result<Value> {
    let (value, end) = decode_datum(schema, buf, pos)?;
    if end != buf.len() {
        return Err(Error::TrailingBytes {
            at: end,
            left: buf.len() - end,
        });
    }
    Ok(value)
}

struct DatumReader<'a> {
    plan: &'a Plan,
    buf: &'a [u8],
    pos: usize,
}

impl DatumReader<'_> {
    fn value(&mut self, node: u32, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(Error::corrupt(self.pos, "values nested too deeply"));
        }
        let Some(&n) = self.plan.nodes.get(node as usize) else {
            return Err(Error::corrupt(self.pos, "schema refers to a missing type"));
        };
        Ok(match n {
            Node::Null => Value::Null,
            Node::Boolean => match self.byte("boolean")? {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                b => return Err(Error::corrupt(self.pos - 1, format!("boolean byte {b}"))),
            },
            Node::Int => Value::Int(self.int()?),
            Node::Long => Value::Long(self.long("long")?),
            Node::Float => Value::Float(f32::from_le_bytes(self.array("float")?)),
            Node::Double => Value::Double(f64::from_le_bytes(self.array("double")?)),
            Node::Bytes => Value::Bytes(self.length_delimited("bytes")?),
            Node::String => {
                let at = self.pos;
                let span = self.length_delimited("string")?;
                if std::str::from_utf8(span.of(self.buf)).is_err() {
                    return Err(Error::corrupt(at, "string is not valid UTF-8"));
                }
                Value::String(span)
            }
            Node::Fixed { size } => Value::Fixed(self.take(size as usize, "fixed")?),
            Node::Enum { symbols } => {
                let at = self.pos;
                let symbol = self.int()?;
                if symbol < 0 || symbol as u32 >= symbols {
                    return Err(Error::corrupt(at, format!("enum index {symbol} out of range")));
                }
                Value::Enum {
                    schema: node,
                    symbol: symbol as u32,
                }
            }
            Node::Nullable { null_first, other } => {
                let at = self.pos;
                match (self.long("union index")?, null_first) {
                    (0, true) | (1, false) => Value::Null,
                    (1, true) | (0, false) => self.value(other, depth + 1)?,
                    (b, _) => return Err(Error::corrupt(at, format!("union index {b} out of range"))),
                }
            }
            Node::Union { start, len } => {
                let at = self.pos;
                let branch = self.long("union index")?;
                if branch < 0 || branch >= i64::from(len) {
                    return Err(Error::corrupt(at, format!("union index {branch} out of range")));
                }
                self.value(self.child(start + branch as u32)?, depth + 1)?
            }
            Node::Record { start, len } => {
                let mut fields = Vec::with_capacity(len as usize);
                for i in start..start + len {
                    fields.push(self.value(self.child(i)?, depth + 1)?);
                }
                Value::Record { schema: node, fields }
            }
            Node::Array { items } => {
                let mut values = Vec::new();
                while let Some(count) = self.block_count()? {
                    values.reserve(count);
                    for _ in 0..count {
                        values.push(self.value(items, depth + 1)?);
                    }
                }
                Value::Array(values)
            }
            Node::Map { values } => {
                let mut entries = Vec::new();
                while let Some(count) = self.block_count()? {
                    entries.reserve(count);
                    for _ in 0..count {
                        let at = self.pos;
                        let key = self.length_delimited("map key")?;
                        let key = std::str::from_utf8(key.of(self.buf))
                            .map_err(|_| Error::corrupt(at, "map key is not valid UTF-8"))?
                            .to_owned();
                        entries.push((key, self.value(values, depth + 1)?));
                    }
                }
                Value::Map(entries)
            }
        })
    }

    fn child(&self, i: u32) -> Result<u32> {
        self.plan
            .children
            .get(i as usize)
            .copied()
            .ok_or_else(|| Error::corrupt(self.pos, "schema refers to a missing type"))
    }

    /// Next block's item count of an array or map; `None` at the end marker.
    fn block_count(&mut self) -> Result<Option<usize>> {
        let at = self.pos;
        let count = self.long("block count")?;
        if count == 0 {
            return Ok(None);
        }
        if count < 0 {
            self.long("block size")?;
        }
        let count = count.unsigned_abs();
        // Each item takes at least one byte in any schema an alert uses; a
        // larger count is corruption and must not become a huge allocation.
        let remaining = self.buf.len() - self.pos;
        if count > remaining as u64 {
            return Err(Error::corrupt(
                at,
                format!("block claims {count} items but only {remaining} bytes remain"),
            ));
        }
        Ok(Some(count as usize))
    }

    fn byte(&mut self, what: &'static str) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or(Error::Truncated { at: self.pos, what })?;
        self.pos += 1;
        Ok(b)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let bytes: [u8; N] = self
            .buf
            .get(self.pos..self.pos + N)
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::Truncated { at: self.pos, what })?;
        self.pos += N;
        Ok(bytes)
    }

    fn int(&mut self) -> Result<i32> {
        let at = self.pos;
        let v = self.long("int")?;
        i32::try_from(v).map_err(|_| Error::corrupt(at, format!("int value {v} out of range")))
    }

    #[inline]
    fn long(&mut self, what: &'static str) -> Result<i64> {
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(i64::from(b >> 1) ^ -i64::from(b & 1));
            }
        }
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let (v, len) = read_varint(rest).map_err(|truncated| {
            if truncated {
                Error::Truncated { at: self.pos, what }
            } else {
                Error::corrupt(self.pos, format!("{what}: varint longer than 10 bytes"))
            }
        })?;
        self.pos += len;
        Ok(v)
    }

    fn length_delimited(&mut self, what: &'static str) -> Result<Span> {
        let at = self.pos;
        let len = self.long(what)?;
        let len = usize::try_from(len)
            .map_err(|_| Error::corrupt(at, format!("{what} has negative length {len}")))?;
        self.take(len, what)
    }

    fn take(&mut self, len: usize, what: &'static str) -> Result<Span> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or(Error::Truncated { at: self.pos, what })?;
        let span = Span::new(self.pos, len);
        self.pos = end;
        Ok(span)
    }
}

/// Reads a zig-zag varint. `Err(true)` when the input ends first, `Err(false)`
/// when it runs past 10 bytes.
pub(crate) fn read_varint(buf: &[u8]) -> std::result::Result<(i64, usize), bool> {
    let mut n: u64 = 0;
    for (i, &b) in buf.iter().enumerate().take(10) {
        n |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((((n >> 1) as i64) ^ -((n & 1) as i64), i + 1));
        }
    }
    Err(buf.len() < 10)
}
