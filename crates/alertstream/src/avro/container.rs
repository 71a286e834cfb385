//! Avro Object Container File framing: header (magic, metadata, sync marker),
//! then blocks of `count, size, data, sync`. Blocks are decompressed here;
//! their records are decoded by [`crate::decode::datum::decode_datum`].

use super::read_varint;
use crate::error::{Error, Limit, Result};
use bytes::Bytes;
use std::io::Read;

/// The four bytes every container file starts with.
pub const MAGIC: &[u8; 4] = b"Obj\x01";

/// Block compression codecs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Null,
    Deflate,
    Snappy,
}

/// A parsed container header.
#[derive(Debug, Clone)]
pub struct Header {
    /// The writer schema's JSON text (`avro.schema`).
    pub schema: Bytes,
    pub codec: Codec,
    pub sync: [u8; 16],
    /// Offset of the first block.
    pub blocks_start: usize,
}

/// One decompressed block of records.
#[derive(Debug, Clone)]
pub struct Block {
    /// Number of records in the block.
    pub count: usize,
    /// The records' bytes, decompressed.
    pub data: Bytes,
    /// Offset of the block in the file (for error messages).
    pub offset: usize,
}

struct Cursor<'a> {
    buf: &'a Bytes,
    pos: usize,
}

impl Cursor<'_> {
    fn long(&mut self, what: &'static str) -> Result<i64> {
        let (v, len) = read_varint(&self.buf[self.pos.min(self.buf.len())..]).map_err(|t| {
            if t {
                Error::Truncated { at: self.pos, what }
            } else {
                Error::corrupt(self.pos, format!("{what}: varint longer than 10 bytes"))
            }
        })?;
        self.pos += len;
        Ok(v)
    }

    fn take(&mut self, len: i64, what: &'static str) -> Result<Bytes> {
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| self.pos.checked_add(l))
            .filter(|&e| e <= self.buf.len())
            .ok_or(Error::Truncated { at: self.pos, what })?;
        let b = self.buf.slice(self.pos..end);
        self.pos = end;
        Ok(b)
    }

    fn length_delimited(&mut self, what: &'static str) -> Result<Bytes> {
        let len = self.long(what)?;
        self.take(len, what)
    }
}

/// Reads the header of a container held in `buf`.
pub fn read_header(buf: &Bytes) -> Result<Header> {
    if !buf.starts_with(MAGIC) {
        return Err(Error::corrupt(
            0,
            "not an Avro container file (no 'Obj\\x01' magic)",
        ));
    }
    let mut c = Cursor { buf, pos: 4 };
    let mut schema = None;
    let mut codec = Codec::Null;
    loop {
        let count = c.long("header metadata count")?;
        if count == 0 {
            break;
        }
        if count < 0 {
            c.long("header metadata size")?;
        }
        for _ in 0..count.unsigned_abs() {
            let key = c.length_delimited("header metadata key")?;
            let value = c.length_delimited("header metadata value")?;
            match &key[..] {
                b"avro.schema" => schema = Some(value),
                b"avro.codec" => codec = parse_codec(&value)?,
                _ => {}
            }
        }
    }
    let sync = c.take(16, "sync marker")?;
    let schema = schema.ok_or_else(|| Error::corrupt(4, "container header has no avro.schema"))?;
    Ok(Header {
        schema,
        codec,
        sync: sync[..].try_into().unwrap_or([0; 16]),
        blocks_start: c.pos,
    })
}

fn parse_codec(name: &[u8]) -> Result<Codec> {
    match name {
        b"null" | b"" => Ok(Codec::Null),
        b"deflate" => Ok(Codec::Deflate),
        b"snappy" => Ok(Codec::Snappy),
        other => Err(Error::UnsupportedCodec(
            String::from_utf8_lossy(other).into_owned(),
        )),
    }
}

/// Iterates over the blocks of a container, decompressing each; a block
/// that decompresses to more than `max_block_bytes` is refused.
pub fn blocks<'a>(
    buf: &'a Bytes,
    header: &'a Header,
    max_block_bytes: usize,
) -> impl Iterator<Item = Result<Block>> + 'a {
    let mut c = Cursor {
        buf,
        pos: header.blocks_start,
    };
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || c.pos >= buf.len() {
            return None;
        }
        let result = next_block(&mut c, header, max_block_bytes);
        failed = result.is_err();
        Some(result)
    })
}

fn next_block(c: &mut Cursor<'_>, header: &Header, max: usize) -> Result<Block> {
    let offset = c.pos;
    let count = c.long("block record count")?;
    let count = usize::try_from(count)
        .map_err(|_| Error::corrupt(offset, format!("negative block record count {count}")))?;
    let data = c.length_delimited("block data")?;
    let sync_at = c.pos;
    let sync = c.take(16, "block sync marker")?;
    if sync[..] != header.sync {
        return Err(Error::corrupt(
            sync_at,
            "block sync marker does not match the header's",
        ));
    }
    let data = decompress(header.codec, data, offset, max)?;
    Ok(Block {
        count,
        data,
        offset,
    })
}

fn decompress(codec: Codec, data: Bytes, offset: usize, max: usize) -> Result<Bytes> {
    match codec {
        Codec::Null => Ok(data),
        Codec::Deflate => {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(&data[..])
                .take(max as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| Error::Decompress {
                    codec: "deflate",
                    reason: format!("block at byte {offset}: {e}"),
                })?;
            check_block_size(out.len(), offset, max)?;
            Ok(out.into())
        }
        Codec::Snappy => {
            let snappy_err = |reason: String| Error::Decompress {
                codec: "snappy",
                reason: format!("block at byte {offset}: {reason}"),
            };
            let split = data
                .len()
                .checked_sub(4)
                .ok_or_else(|| snappy_err("block shorter than its CRC".into()))?;
            let (body, crc) = data.split_at(split);
            let len = snap::raw::decompress_len(body).map_err(|e| snappy_err(e.to_string()))?;
            check_block_size(len, offset, max)?;
            let out = snap::raw::Decoder::new()
                .decompress_vec(body)
                .map_err(|e| snappy_err(e.to_string()))?;
            let expected = u32::from_be_bytes(crc.try_into().unwrap_or([0; 4]));
            if crc32fast::hash(&out) != expected {
                return Err(snappy_err(
                    "CRC32 of the decompressed block does not match".into(),
                ));
            }
            Ok(out.into())
        }
    }
}

fn check_block_size(len: usize, offset: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(Error::LimitExceeded {
            limit: Limit::MaxBlockBytes,
            what: format!(
                "the container block at byte {offset} decompresses to more than {max} bytes"
            ),
            allowed: format!("{max} bytes"),
        });
    }
    Ok(())
}

/// A container's header: magic, metadata (the schema, codec null), sync marker.
pub fn container_header(schema: &str, sync: [u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + schema.len());
    out.extend_from_slice(MAGIC);
    write_long(&mut out, 2);
    write_bytes(&mut out, b"avro.schema");
    write_bytes(&mut out, schema.as_bytes());
    write_bytes(&mut out, b"avro.codec");
    write_bytes(&mut out, b"null");
    write_long(&mut out, 0);
    out.extend_from_slice(&sync);
    out
}

/// What precedes a block's data: its record count and its size in bytes.
/// The data and the header's sync marker follow.
pub fn block_prefix(count: usize, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(20);
    write_long(&mut out, count as i64);
    write_long(&mut out, size as i64);
    out
}

fn write_long(out: &mut Vec<u8>, v: i64) {
    let mut n = ((v << 1) ^ (v >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}
