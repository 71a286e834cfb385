//! Avro binary decoding: schemaless datums (this module) and Object Container
//! File framing ([`container`]). Framing is kept apart from decoding, as in
//! arrow-avro: the container layer yields blocks of bytes, the datum layer
//! turns bytes into values with the writer schema.

pub mod container;

use crate::error::{Error, Result};
use crate::schema::WriterSchema;
use crate::value::Value;
use bytes::Bytes;
use serde_avro_fast::schema::{RegularType, SchemaKey, SchemaNode};

/// Nesting deeper than this is treated as corrupt (guards recursive schemas).
const MAX_DEPTH: usize = 128;

/// Decodes one datum starting at `pos` in `buf`; returns the value and the
/// position just after it.
pub fn decode_datum(schema: &WriterSchema, buf: &Bytes, pos: usize) -> Result<(Value, usize)> {
    let mut reader = DatumReader {
        nodes: schema.tree().nodes(),
        buf,
        pos,
    };
    let value = reader.value(SchemaKey::root().idx(), 0)?;
    Ok((value, reader.pos))
}

/// Decodes a datum that must fill `buf` exactly (one Kafka message value).
pub fn decode_whole_datum(schema: &WriterSchema, buf: &Bytes, pos: usize) -> Result<Value> {
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
    nodes: &'a [SchemaNode],
    buf: &'a Bytes,
    pos: usize,
}

impl DatumReader<'_> {
    fn value(&mut self, node: usize, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(Error::corrupt(self.pos, "values nested too deeply"));
        }
        let Some(n) = self.nodes.get(node) else {
            return Err(Error::corrupt(self.pos, "schema refers to a missing type"));
        };
        Ok(match &n.type_ {
            RegularType::Null => Value::Null,
            RegularType::Boolean => match self.byte("boolean")? {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                b => return Err(Error::corrupt(self.pos - 1, format!("boolean byte {b}"))),
            },
            RegularType::Int => Value::Int(self.int()?),
            RegularType::Long => Value::Long(self.long("long")?),
            RegularType::Float => Value::Float(f32::from_le_bytes(self.array("float")?)),
            RegularType::Double => Value::Double(f64::from_le_bytes(self.array("double")?)),
            RegularType::Bytes => Value::Bytes(self.length_delimited("bytes")?),
            RegularType::String => {
                let at = self.pos;
                let raw = self.length_delimited("string")?;
                let s = std::str::from_utf8(&raw)
                    .map_err(|_| Error::corrupt(at, "string is not valid UTF-8"))?;
                Value::String(s.to_owned())
            }
            RegularType::Fixed(f) => Value::Fixed(self.take(f.size, "fixed")?),
            RegularType::Enum(e) => {
                let at = self.pos;
                let symbol = self.int()?;
                if symbol < 0 || symbol as usize >= e.symbols.len() {
                    return Err(Error::corrupt(at, format!("enum index {symbol} out of range")));
                }
                Value::Enum {
                    schema: node as u32,
                    symbol: symbol as u32,
                }
            }
            RegularType::Union(u) => {
                let at = self.pos;
                let branch = self.long("union index")?;
                let Some(key) = usize::try_from(branch).ok().and_then(|b| u.variants.get(b)) else {
                    return Err(Error::corrupt(at, format!("union index {branch} out of range")));
                };
                self.value(key.idx(), depth + 1)?
            }
            RegularType::Record(r) => {
                let mut fields = Vec::with_capacity(r.fields.len());
                for f in &r.fields {
                    fields.push(self.value(f.type_.idx(), depth + 1)?);
                }
                Value::Record {
                    schema: node as u32,
                    fields,
                }
            }
            RegularType::Array(a) => {
                let mut items = Vec::new();
                while let Some(count) = self.block_count()? {
                    items.reserve(count);
                    for _ in 0..count {
                        items.push(self.value(a.items.idx(), depth + 1)?);
                    }
                }
                Value::Array(items)
            }
            RegularType::Map(m) => {
                let mut entries = Vec::new();
                while let Some(count) = self.block_count()? {
                    entries.reserve(count);
                    for _ in 0..count {
                        let at = self.pos;
                        let key = self.length_delimited("map key")?;
                        let key = String::from_utf8(key.to_vec())
                            .map_err(|_| Error::corrupt(at, "map key is not valid UTF-8"))?;
                        entries.push((key, self.value(m.values.idx(), depth + 1)?));
                    }
                }
                Value::Map(entries)
            }
        })
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
        if count > (self.buf.len() - self.pos) as u64 {
            return Err(Error::corrupt(
                at,
                format!("block claims {count} items but only {} bytes remain", self.buf.len() - self.pos),
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
        let bytes = self
            .buf
            .get(self.pos..self.pos + N)
            .ok_or(Error::Truncated { at: self.pos, what })?;
        self.pos += N;
        Ok(bytes.try_into().unwrap_or([0; N]))
    }

    fn int(&mut self) -> Result<i32> {
        let at = self.pos;
        let v = self.long("int")?;
        i32::try_from(v).map_err(|_| Error::corrupt(at, format!("int value {v} out of range")))
    }

    fn long(&mut self, what: &'static str) -> Result<i64> {
        let (v, len) = read_varint(&self.buf[self.pos.min(self.buf.len())..])
            .map_err(|truncated| {
                if truncated {
                    Error::Truncated { at: self.pos, what }
                } else {
                    Error::corrupt(self.pos, format!("{what}: varint longer than 10 bytes"))
                }
            })?;
        self.pos += len;
        Ok(v)
    }

    fn length_delimited(&mut self, what: &'static str) -> Result<Bytes> {
        let at = self.pos;
        let len = self.long(what)?;
        let len = usize::try_from(len)
            .map_err(|_| Error::corrupt(at, format!("{what} has negative length {len}")))?;
        self.take(len, what)
    }

    fn take(&mut self, len: usize, what: &'static str) -> Result<Bytes> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or(Error::Truncated { at: self.pos, what })?;
        let bytes = self.buf.slice(self.pos..end);
        self.pos = end;
        Ok(bytes)
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
