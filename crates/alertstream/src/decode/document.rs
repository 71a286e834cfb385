//! Schemaless documents: ANTARES's zlib-compressed BSON and plain JSON, turned
//! into the same [`Value`] tree as Avro records.

use crate::decode::framing::inflate;
use crate::error::Limit;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::model::value::{ArenaBuilder, Slots, Span, Value};
use bson::{RawBsonRef, RawDocument};

/// A decoded document: its value arena and the buffer its strings lie in.
pub type Document = (Vec<Value>, Vec<u8>);

/// Builds a document's arena and collects its strings and bytes in one buffer.
#[derive(Default)]
struct DocumentBuilder {
    arena: ArenaBuilder,
    text: Vec<u8>,
}

impl DocumentBuilder {
    fn span(&mut self, bytes: &[u8]) -> Span {
        let span = Span::new(self.text.len(), bytes.len());
        self.text.extend_from_slice(bytes);
        span
    }

    fn string(&mut self, s: &str) -> Value {
        Value::String(self.span(s.as_bytes()))
    }

    fn finish(self) -> Result<Document> {
        if u32::try_from(self.text.len().max(self.arena.values.len())).is_err() {
            return Err(Error::corrupt(0, "document larger than 4 GiB"));
        }
        Ok((self.arena.values, self.text))
    }

    /// Fills an array's slots from its items.
    fn array<T>(&mut self, items: Vec<T>, mut fill: impl FnMut(&mut Self, T, usize)) -> Value {
        let base = self.arena.reserve(items.len());
        let len = items.len();
        for (i, item) in items.into_iter().enumerate() {
            fill(self, item, base + i);
        }
        Value::Array(Slots::new(base, len))
    }

    /// Fills a map's key and value slots from its entries.
    fn map<T>(
        &mut self,
        len: usize,
        entries: impl Iterator<Item = (String, T)>,
        mut fill: impl FnMut(&mut Self, T, usize),
    ) -> Value {
        let base = self.arena.reserve(2 * len);
        for (i, (key, value)) in entries.enumerate() {
            let key = self.string(&key);
            self.arena.set(base + 2 * i, key);
            fill(self, value, base + 2 * i + 1);
        }
        Value::Map(Slots::new(base, 2 * len))
    }
}

/// Decodes an ANTARES message: zlib(BSON document).
pub fn decode_antares(payload: &[u8], limits: &Limits) -> Result<Document> {
    let raw = inflate(
        flate2::read::ZlibDecoder::new(payload),
        limits.max_inflated,
        "zlib",
    )?;
    decode_bson(&raw, limits.max_depth)
}

/// Decodes one BSON document nested at most `max_depth` levels.
pub fn decode_bson(raw: &[u8], max_depth: usize) -> Result<Document> {
    check_bson_depth(raw, max_depth)?;
    let doc = bson::Document::from_reader(raw).map_err(|e| Error::Bson(e.to_string()))?;
    let mut b = DocumentBuilder::default();
    let root = b.arena.reserve(1);
    fill_bson(&mut b, bson::Bson::Document(doc), root);
    b.finish()
}

type RawItems<'a> = Box<dyn Iterator<Item = bson::raw::Result<RawBsonRef<'a>>> + 'a>;

fn raw_items(doc: &RawDocument) -> RawItems<'_> {
    Box::new(doc.iter().map(|item| item.map(|(_, value)| value)))
}

/// Walks the raw document without recursion (the BSON parser recurses, and
/// a hostile document nested 100,000 levels deep overflows the stack).
fn check_bson_depth(raw: &[u8], max_depth: usize) -> Result<()> {
    let bad = |e: bson::raw::Error| Error::Bson(e.to_string());
    let root = RawDocument::from_bytes(raw).map_err(bad)?;
    let mut open: Vec<RawItems> = vec![raw_items(root)];
    while let Some(items) = open.last_mut() {
        let nested = match items.next() {
            None => {
                open.pop();
                continue;
            }
            Some(item) => match item.map_err(bad)? {
                RawBsonRef::Document(d) => raw_items(d),
                RawBsonRef::Array(a) => Box::new(a.into_iter()),
                _ => continue,
            },
        };
        if open.len() >= max_depth {
            return Err(Error::LimitExceeded {
                limit: Limit::MaxDepth,
                what: format!("BSON nested deeper than {max_depth} levels"),
                allowed: format!("{max_depth} levels"),
            });
        }
        open.push(nested);
    }
    Ok(())
}

fn fill_bson(b: &mut DocumentBuilder, v: bson::Bson, slot: usize) {
    use bson::Bson as B;
    let value = match v {
        B::Null | B::Undefined => Value::Null,
        B::Boolean(x) => Value::Boolean(x),
        B::Int32(i) => Value::Int(i),
        B::Int64(i) => Value::Long(i),
        B::Double(d) => Value::Double(d),
        B::String(s) | B::Symbol(s) | B::JavaScriptCode(s) => b.string(&s),
        B::Array(items) => b.array(items, fill_bson),
        B::Document(d) => b.map(d.len(), d.into_iter(), fill_bson),
        B::Binary(bin) => Value::Bytes(b.span(&bin.bytes)),
        B::DateTime(t) => Value::Long(t.timestamp_millis()),
        B::Timestamp(t) => Value::Long(i64::from(t.time)),
        B::ObjectId(o) => b.string(&o.to_hex()),
        other => b.string(&other.to_string()),
    };
    b.arena.set(slot, value);
}

/// Decodes every JSON value in `payload` (one object, or JSON Lines),
/// nested at most `max_depth` levels (serde_json stops at 128 in any case).
pub fn decode_json(payload: &[u8], max_depth: usize) -> Result<Vec<Document>> {
    serde_json::Deserializer::from_slice(payload)
        .into_iter::<serde_json::Value>()
        .map(|r| {
            let json = r.map_err(|e| Error::Json(e.to_string()))?;
            let mut b = DocumentBuilder::default();
            check_json_depth(&json, max_depth)?;
            let root = b.arena.reserve(1);
            fill_json(&mut b, json, root);
            b.finish()
        })
        .collect()
}

/// Refuses a JSON value nested deeper than `max_depth`, with a stack of
/// its own: no recursion on input.
fn check_json_depth(json: &serde_json::Value, max_depth: usize) -> Result<()> {
    use serde_json::Value as J;
    let mut pending = vec![(json, 0usize)];
    while let Some((value, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &serde_json::Value>> = match value {
            J::Array(items) => Box::new(items.iter()),
            J::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        if depth >= max_depth {
            return Err(Error::LimitExceeded {
                limit: Limit::MaxDepth,
                what: format!("JSON nested deeper than {max_depth} levels"),
                allowed: format!("{max_depth} levels"),
            });
        }
        pending.extend(children.map(|c| (c, depth + 1)));
    }
    Ok(())
}

fn fill_json(b: &mut DocumentBuilder, v: serde_json::Value, slot: usize) {
    use serde_json::Value as J;
    let value = match v {
        J::Null => Value::Null,
        J::Bool(x) => Value::Boolean(x),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Long(i),
            None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => b.string(&s),
        J::Array(items) => b.array(items, fill_json),
        J::Object(o) => b.map(o.len(), o.into_iter(), fill_json),
    };
    b.arena.set(slot, value);
}
