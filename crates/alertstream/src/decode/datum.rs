//! Avro datums into values: the writer schema's plan walked over the bytes.
//! Framing (container files) is kept apart, in [`crate::avro::container`], as
//! in arrow-avro: the container layer yields blocks of bytes, this layer turns
//! bytes into values.

use crate::avro::plan::{Node, Plan};
use crate::avro::read_varint;
use crate::error::{Error, Limit, Result};
use crate::model::schema::WriterSchema;
use crate::model::value::{ArenaBuilder, Slots, Span, Value};

/// Decodes one datum starting at `pos` in `buf`; returns its value arena
/// (slot 0 holds the datum) and the position just after it. Nesting deeper
/// than `max_depth` (a recursive schema) is refused.
///
/// Strings and bytes in the values are [`Span`]s of `buf`.
pub fn decode_datum(
    schema: &WriterSchema,
    buf: &[u8],
    pos: usize,
    max_depth: usize,
) -> Result<(Vec<Value>, usize)> {
    if u32::try_from(buf.len()).is_err() {
        return Err(Error::corrupt(0, "payload larger than 4 GiB"));
    }
    // Most of an alert's bytes are cutouts: one slot per 16 bytes is plenty.
    let hint = (buf.len().saturating_sub(pos) / 16).clamp(64, 1 << 14);
    let mut reader = DatumReader {
        plan: schema.plan(),
        buf,
        pos,
        arena: ArenaBuilder::with_capacity(hint),
        max_depth,
    };
    let root = reader.arena.reserve(1);
    reader.fill(0, root, 0).map_err(|e| *e)?;
    Ok((reader.arena.values, reader.pos))
}

/// Decodes a datum that must fill `buf` exactly (one Kafka message value).
pub fn decode_whole_datum(
    schema: &WriterSchema,
    buf: &[u8],
    pos: usize,
    max_depth: usize,
) -> Result<Vec<Value>> {
    let (values, end) = decode_datum(schema, buf, pos, max_depth)?;
    if end != buf.len() {
        return Err(Error::TrailingBytes {
            at: end,
            left: buf.len() - end,
        });
    }
    Ok(values)
}

/// Errors are boxed inside the decoder: the success path then moves small values.
type Fallible<T> = std::result::Result<T, Box<Error>>;

#[cold]
fn corrupt(at: usize, reason: impl Into<String>) -> Box<Error> {
    Box::new(Error::corrupt(at, reason))
}

#[cold]
fn truncated(at: usize, what: &'static str) -> Box<Error> {
    Box::new(Error::Truncated { at, what })
}

struct DatumReader<'a> {
    plan: &'a Plan,
    buf: &'a [u8],
    pos: usize,
    arena: ArenaBuilder,
    max_depth: usize,
}

impl DatumReader<'_> {
    /// Decodes a value of schema `node` into arena slot `slot`.
    fn fill(&mut self, mut node: u32, slot: usize, depth: usize) -> Fallible<()> {
        if depth > self.max_depth {
            return Err(Box::new(Error::LimitExceeded {
                limit: Limit::MaxDepth,
                what: format!(
                    "values nested deeper than {} levels at byte {}",
                    self.max_depth, self.pos
                ),
                allowed: format!("{} levels", self.max_depth),
            }));
        }
        let value = loop {
            let Some(&n) = self.plan.nodes.get(node as usize) else {
                return Err(corrupt(self.pos, "schema refers to a missing type"));
            };
            break match n {
                Node::Null => Value::Null,
                Node::Boolean => match self.byte("boolean")? {
                    0 => Value::Boolean(false),
                    1 => Value::Boolean(true),
                    b => return Err(corrupt(self.pos - 1, format!("boolean byte {b}"))),
                },
                Node::Int => Value::Int(self.int()?),
                Node::Long => Value::Long(self.long("long")?),
                Node::Float => Value::Float(f32::from_le_bytes(self.array("float")?)),
                Node::Double => Value::Double(f64::from_le_bytes(self.array("double")?)),
                Node::Bytes => Value::Bytes(self.length_delimited("bytes")?),
                Node::String => Value::String(self.string("string")?),
                Node::Fixed { size } => Value::Fixed(self.take(size as usize, "fixed")?),
                Node::Enum { symbols } => {
                    let at = self.pos;
                    let symbol = self.int()?;
                    if symbol < 0 || symbol as u32 >= symbols {
                        return Err(corrupt(at, format!("enum index {symbol} out of range")));
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
                        (1, true) | (0, false) => {
                            node = other;
                            continue;
                        }
                        (b, _) => return Err(corrupt(at, format!("union index {b} out of range"))),
                    }
                }
                Node::Union { start, len } => {
                    let at = self.pos;
                    let branch = self.long("union index")?;
                    if branch < 0 || branch >= i64::from(len) {
                        return Err(corrupt(at, format!("union index {branch} out of range")));
                    }
                    node = self.child(start + branch as u32)?;
                    continue;
                }
                Node::Record { start, len } => {
                    let base = self.arena.reserve(len as usize);
                    for i in 0..len {
                        let field = self.child(start + i)?;
                        self.fill(field, base + i as usize, depth + 1)?;
                    }
                    Value::Record {
                        schema: node,
                        fields: Slots::new(base, len as usize),
                    }
                }
                Node::Array { items } => {
                    let mut slots = Slots::new(self.arena.values.len(), 0);
                    while let Some(count) = self.block_count()? {
                        slots = self.arena.extend(slots, count);
                        let first = slots.range().end - count;
                        for i in first..first + count {
                            self.fill(items, i, depth + 1)?;
                        }
                    }
                    Value::Array(slots)
                }
                Node::Map { values } => {
                    let mut slots = Slots::new(self.arena.values.len(), 0);
                    while let Some(count) = self.block_count()? {
                        slots = self.arena.extend(slots, 2 * count);
                        let first = slots.range().end - 2 * count;
                        for i in (first..first + 2 * count).step_by(2) {
                            let key = self.string("map key")?;
                            self.arena.set(i, Value::String(key));
                            self.fill(values, i + 1, depth + 1)?;
                        }
                    }
                    Value::Map(slots)
                }
            };
        };
        self.arena.set(slot, value);
        Ok(())
    }

    fn child(&self, i: u32) -> Fallible<u32> {
        match self.plan.children.get(i as usize) {
            Some(&c) => Ok(c),
            None => Err(corrupt(self.pos, "schema refers to a missing type")),
        }
    }

    fn string(&mut self, what: &'static str) -> Fallible<Span> {
        let at = self.pos;
        let span = self.length_delimited(what)?;
        if std::str::from_utf8(span.of(self.buf)).is_err() {
            return Err(corrupt(at, format!("{what} is not valid UTF-8")));
        }
        Ok(span)
    }

    /// Next block's item count of an array or map; `None` at the end marker.
    fn block_count(&mut self) -> Fallible<Option<usize>> {
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
            return Err(corrupt(
                at,
                format!("block claims {count} items but only {remaining} bytes remain"),
            ));
        }
        Ok(Some(count as usize))
    }

    fn byte(&mut self, what: &'static str) -> Fallible<u8> {
        let Some(&b) = self.buf.get(self.pos) else {
            return Err(truncated(self.pos, what));
        };
        self.pos += 1;
        Ok(b)
    }

    #[inline]
    fn array<const N: usize>(&mut self, what: &'static str) -> Fallible<[u8; N]> {
        match self
            .buf
            .get(self.pos..self.pos + N)
            .and_then(|b| <[u8; N]>::try_from(b).ok())
        {
            Some(bytes) => {
                self.pos += N;
                Ok(bytes)
            }
            None => Err(truncated(self.pos, what)),
        }
    }

    #[inline]
    fn int(&mut self) -> Fallible<i32> {
        let at = self.pos;
        let v = self.long("int")?;
        i32::try_from(v).map_err(|_| corrupt(at, format!("int value {v} out of range")))
    }

    #[inline]
    fn long(&mut self, what: &'static str) -> Fallible<i64> {
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(i64::from(b >> 1) ^ -i64::from(b & 1));
            }
        }
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let (v, len) = read_varint(rest).map_err(|ended| {
            if ended {
                truncated(self.pos, what)
            } else {
                corrupt(self.pos, format!("{what}: varint longer than 10 bytes"))
            }
        })?;
        self.pos += len;
        Ok(v)
    }

    fn length_delimited(&mut self, what: &'static str) -> Fallible<Span> {
        let at = self.pos;
        let len = self.long(what)?;
        let len = usize::try_from(len)
            .map_err(|_| corrupt(at, format!("{what} has negative length {len}")))?;
        self.take(len, what)
    }

    #[inline]
    fn take(&mut self, len: usize, what: &'static str) -> Fallible<Span> {
        match self.pos.checked_add(len) {
            Some(end) if end <= self.buf.len() => {
                let span = Span::new(self.pos, len);
                self.pos = end;
                Ok(span)
            }
            _ => Err(truncated(self.pos, what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::value::Datum;

    fn zigzag(v: i64, out: &mut Vec<u8>) {
        let mut n = ((v << 1) ^ (v >> 63)) as u64;
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    fn string(s: &str, out: &mut Vec<u8>) {
        zigzag(s.len() as i64, out);
        out.extend_from_slice(s.as_bytes());
    }

    /// Arrays and maps may come in several blocks (negative counts carry a
    /// byte size); items of nested records land after their parent's slots.
    #[test]
    fn multi_block_arrays_and_maps() {
        let schema = WriterSchema::parse(
            r#"{"type":"record","name":"r","fields":[
                {"name":"a","type":{"type":"array","items":{"type":"record","name":"p","fields":[
                    {"name":"x","type":"long"},{"name":"s","type":["null","string"]}]}}},
                {"name":"m","type":{"type":"map","values":"int"}},
                {"name":"after","type":"string"}]}"#,
        )
        .unwrap();
        let mut d = Vec::new();
        zigzag(2, &mut d); // first block: 2 items
        for (x, s) in [(1, "one"), (2, "two")] {
            zigzag(x, &mut d);
            zigzag(1, &mut d);
            string(s, &mut d);
        }
        let mut block = Vec::new();
        zigzag(3, &mut block);
        zigzag(0, &mut block); // null branch
        zigzag(-1, &mut d); // second block: 1 item, with its byte size
        zigzag(block.len() as i64, &mut d);
        d.extend_from_slice(&block);
        zigzag(0, &mut d);
        zigzag(1, &mut d); // map: two blocks of one entry
        string("k1", &mut d);
        zigzag(10, &mut d);
        zigzag(1, &mut d);
        string("k2", &mut d);
        zigzag(20, &mut d);
        zigzag(0, &mut d);
        string("end", &mut d);

        let values = decode_whole_datum(&schema, &d, 0, 128).unwrap();
        let root = Datum::root(&values, &d, Some(&schema));
        let items: Vec<_> = root.get("a").unwrap().items().collect();
        assert_eq!(items.len(), 3);
        let xs: Vec<_> = items
            .iter()
            .map(|i| i.get("x").unwrap().as_i64().unwrap())
            .collect();
        assert_eq!(xs, [1, 2, 3]);
        assert_eq!(items[1].get("s").unwrap().as_str(), Some("two"));
        assert!(items[2].get("s").unwrap().is_null());
        let m = root.get("m").unwrap();
        assert_eq!(m.get("k1").unwrap().as_i64(), Some(10));
        assert_eq!(m.get("k2").unwrap().as_i64(), Some(20));
        assert_eq!(root.get("after").unwrap().as_str(), Some("end"));
        let json = serde_json::to_string(&root).unwrap();
        assert_eq!(
            json,
            r#"{"a":[{"x":1,"s":"one"},{"x":2,"s":"two"},{"x":3,"s":null}],"m":{"k1":10,"k2":20},"after":"end"}"#
        );
    }

    #[test]
    fn huge_block_counts_are_refused_before_allocating() {
        let schema = WriterSchema::parse(r#"{"type":"array","items":"null"}"#).unwrap();
        let mut d = Vec::new();
        zigzag(1 << 40, &mut d);
        let err = decode_whole_datum(&schema, &d, 0, 128).unwrap_err();
        assert!(err.to_string().contains("block claims"), "{err}");
    }
}
