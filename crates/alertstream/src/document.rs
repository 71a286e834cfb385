//! Schemaless documents: ANTARES's zlib-compressed BSON and plain JSON, turned
//! into the same [`Value`] tree as Avro records.

use crate::error::{Error, Result};
use crate::value::{Span, Value};
use std::io::Read;

/// ANTARES payloads are small; anything inflating beyond this is refused.
const MAX_INFLATED: u64 = 256 << 20;

/// A decoded document and the buffer its strings and bytes lie in.
pub type Document = (Value, Vec<u8>);

/// Collects the strings and bytes of a document in one buffer.
#[derive(Default)]
struct Arena(Vec<u8>);

impl Arena {
    fn push(&mut self, bytes: &[u8]) -> Span {
        let span = Span::new(self.0.len(), bytes.len());
        self.0.extend_from_slice(bytes);
        span
    }

    fn string(&mut self, s: &str) -> Value {
        Value::String(self.push(s.as_bytes()))
    }
}

/// Decodes an ANTARES message: zlib(BSON document).
pub fn decode_antares(payload: &[u8]) -> Result<Document> {
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(payload)
        .take(MAX_INFLATED)
        .read_to_end(&mut raw)
        .map_err(|e| Error::Decompress {
            codec: "zlib",
            reason: e.to_string(),
        })?;
    decode_bson(&raw)
}

/// Decodes one BSON document.
pub fn decode_bson(raw: &[u8]) -> Result<Document> {
    let doc = bson::Document::from_reader(raw).map_err(|e| Error::Bson(e.to_string()))?;
    let mut arena = Arena::default();
    let value = from_bson_document(doc, &mut arena);
    Ok((value, arena.0))
}

fn from_bson_document(doc: bson::Document, arena: &mut Arena) -> Value {
    Value::Map(doc.into_iter().map(|(k, v)| (k, from_bson(v, arena))).collect())
}

fn from_bson(v: bson::Bson, arena: &mut Arena) -> Value {
    use bson::Bson as B;
    match v {
        B::Null | B::Undefined => Value::Null,
        B::Boolean(b) => Value::Boolean(b),
        B::Int32(i) => Value::Int(i),
        B::Int64(i) => Value::Long(i),
        B::Double(d) => Value::Double(d),
        B::String(s) | B::Symbol(s) | B::JavaScriptCode(s) => arena.string(&s),
        B::Array(items) => Value::Array(items.into_iter().map(|i| from_bson(i, arena)).collect()),
        B::Document(d) => from_bson_document(d, arena),
        B::Binary(b) => Value::Bytes(arena.push(&b.bytes)),
        B::DateTime(t) => Value::Long(t.timestamp_millis()),
        B::Timestamp(t) => Value::Long(i64::from(t.time)),
        B::ObjectId(o) => arena.string(&o.to_hex()),
        B::Decimal128(d) => arena.string(&d.to_string()),
        other => arena.string(&other.to_string()),
    }
}

/// Decodes every JSON value in `payload` (one object, or JSON Lines).
pub fn decode_json(payload: &[u8]) -> Result<Vec<Document>> {
    serde_json::Deserializer::from_slice(payload)
        .into_iter::<serde_json::Value>()
        .map(|r| {
            let json = r.map_err(|e| Error::Json(e.to_string()))?;
            let mut arena = Arena::default();
            let value = from_json(json, &mut arena);
            Ok((value, arena.0))
        })
        .collect()
}

fn from_json(v: serde_json::Value, arena: &mut Arena) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Boolean(b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Long(i),
            None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => arena.string(&s),
        J::Array(items) => Value::Array(items.into_iter().map(|i| from_json(i, arena)).collect()),
        J::Object(o) => Value::Map(o.into_iter().map(|(k, v)| (k, from_json(v, arena))).collect()),
    }
}
