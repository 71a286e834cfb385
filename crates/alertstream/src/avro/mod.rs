//! The Avro format itself, below the alert model: Object Container File
//! framing (reading and writing) and writer schemas compiled into decode
//! plans. Turning datums into values is [`crate::decode`]'s job.

pub mod container;
pub(crate) mod plan;

pub(crate) use plan::Plan;

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
