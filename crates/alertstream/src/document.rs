//! Schemaless documents: ANTARES's zlib-compressed BSON and plain JSON, turned
//! into the same [`Value`] tree as Avro records.

use crate::error::{Error, Result};
use crate::value::Value;
use bytes::Bytes;
use std::io::Read;

/// ANTARES payloads are small; anything inflating beyond this is refused.
const MAX_INFLATED: u64 = 256 << 20;

/// Decodes an ANTARES message: zlib(BSON document).
pub fn decode_antares(payload: &[u8]) -> Result<Value> {
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
pub fn decode_bson(raw: &[u8]) -> Result<Value> {
    let doc = bson::Document::from_reader(raw).map_err(|e| Error::Bson(e.to_string()))?;
    Ok(from_bson_document(doc))
}

fn from_bson_document(doc: bson::Document) -> Value {
    Value::Map(doc.into_iter().map(|(k, v)| (k, from_bson(v))).collect())
}

fn from_bson(v: bson::Bson) -> Value {
    use bson::Bson as B;
    match v {
        B::Null | B::Undefined => Value::Null,
        B::Boolean(b) => Value::Boolean(b),
        B::Int32(i) => Value::Int(i),
        B::Int64(i) => Value::Long(i),
        B::Double(d) => Value::Double(d),
        B::String(s) | B::Symbol(s) | B::JavaScriptCode(s) => Value::String(s),
        B::Array(items) => Value::Array(items.into_iter().map(from_bson).collect()),
        B::Document(d) => from_bson_document(d),
        B::Binary(b) => Value::Bytes(Bytes::from(b.bytes)),
        B::DateTime(t) => Value::Long(t.timestamp_millis()),
        B::Timestamp(t) => Value::Long(i64::from(t.time)),
        B::ObjectId(o) => Value::String(o.to_hex()),
        B::Decimal128(d) => Value::String(d.to_string()),
        other => Value::String(other.to_string()),
    }
}

/// Decodes every JSON value in `payload` (one object, or JSON Lines).
pub fn decode_json(payload: &[u8]) -> Result<Vec<Value>> {
    serde_json::Deserializer::from_slice(payload)
        .into_iter::<serde_json::Value>()
        .map(|r| r.map(from_json).map_err(|e| Error::Json(e.to_string())))
        .collect()
}

fn from_json(v: serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Boolean(b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Long(i),
            None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::String(s),
        J::Array(items) => Value::Array(items.into_iter().map(from_json).collect()),
        J::Object(o) => Value::Map(o.into_iter().map(|(k, v)| (k, from_json(v))).collect()),
    }
}
