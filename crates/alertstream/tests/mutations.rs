//! Damaged input gives errors, never panics, hangs or huge allocations:
//! truncated, byte-flipped, empty and random variants of every sample.

mod common;

use alertstream::Error;
use alertstream::{Decoded, Decoder};
use bytes::Bytes;

/// Deterministic xorshift generator: the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn decode(d: &Decoder, bytes: Vec<u8>) -> Decoded {
    d.decode_partial(None, Bytes::from(bytes))
}

fn samples() -> Vec<(String, Vec<u8>)> {
    common::alert_samples()
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

/// Cut points: every byte of the first 256, then an even spread to the end.
fn cut_points(len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = (0..len.min(256)).collect();
    cuts.extend((256..len).step_by((len / 64).max(1)));
    cuts.push(len.saturating_sub(1));
    cuts
}

#[test]
fn truncated_payloads_fail_with_a_position() {
    let d = common::decoder_for_samples();
    for (name, bytes) in samples() {
        let complete = decode(&d, bytes.clone()).alerts.len();
        for cut in cut_points(bytes.len()) {
            let truncated = bytes[..cut].to_vec();
            if truncated.trim_ascii_end() == bytes.trim_ascii_end() {
                continue; // only trailing white space was cut (JSON)
            }
            let out = decode(&d, truncated);
            let failure = out.failure.unwrap_or_else(|| {
                panic!(
                    "{name} cut at {cut}: decoded {} alerts without error",
                    out.alerts.len()
                )
            });
            assert!(out.alerts.len() < complete.max(1), "{name} cut at {cut}");
            let error = &failure.error;
            // Once the container magic (or Confluent header) is there, Avro errors promise the byte
            // where reading stopped: within what was left.
            if name.ends_with(".avro") && cut >= 5 {
                let at = byte_position(error)
                    .unwrap_or_else(|| panic!("{name} cut at {cut}: no byte position in: {error}"));
                assert!(
                    at <= cut,
                    "{name} cut at {cut}: error at byte {at}: {error}"
                );
                assert!(error.to_string().contains(&format!("byte {at}")), "{error}");
            }
        }
    }
}

/// The byte offset an error names, looking inside a record's error.
fn byte_position(error: &Error) -> Option<usize> {
    match error {
        Error::Truncated { at, .. }
        | Error::Corrupt { at, .. }
        | Error::TrailingBytes { at, .. } => Some(*at),
        Error::InRecord { source, .. } => byte_position(source),
        _ => None,
    }
}

#[test]
fn flipped_bytes_never_panic() {
    let d = common::decoder_for_samples();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut failures = 0usize;
    let mut runs = 0usize;
    for (_, bytes) in samples() {
        for _ in 0..150 {
            let mut m = bytes.clone();
            for _ in 0..=rng.below(4) {
                let at = rng.below(m.len());
                m[at] ^= 1 << rng.below(8);
            }
            failures += usize::from(decode(&d, m).failure.is_some());
            runs += 1;
        }
    }
    // Flips inside float or cutout bytes decode fine; flips in lengths, varints,
    // unions and headers must be caught. Both must happen.
    assert!(
        failures > runs / 10,
        "only {failures} of {runs} mutations were detected"
    );
    assert!(failures < runs, "every mutation failed: suspicious");
}

#[test]
fn header_and_length_fields_overwritten_with_extremes() {
    let d = common::decoder_for_samples();
    let mut rng = Rng(42);
    for (name, bytes) in samples() {
        for _ in 0..100 {
            let mut m = bytes.clone();
            let at = rng.below(m.len().min(600));
            let extreme: &[u8] = match rng.below(4) {
                0 => &[0xff; 10],
                1 => &[0x80; 12],
                2 => &[0x01],
                _ => &[0xfe, 0xff, 0xff, 0xff, 0x0f],
            };
            let end = (at + extreme.len()).min(m.len());
            m[at..end].copy_from_slice(&extreme[..end - at]);
            let _ = decode(&d, m); // must return, not panic or abort on allocation
        }
        let _ = name;
    }
}

#[test]
fn empty_and_random_payloads_are_errors() {
    let d = common::decoder_for_samples();
    let empty = decode(&d, Vec::new());
    assert!(empty
        .failure
        .unwrap()
        .error
        .to_string()
        .contains("empty payload"));
    let mut rng = Rng(7);
    for len in [1usize, 2, 5, 16, 100, 4096, 70_000] {
        for _ in 0..20 {
            let random: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let out = decode(&d, random);
            assert!(
                out.failure.is_some(),
                "random {len} bytes decoded as {} alerts",
                out.alerts.len()
            );
        }
    }
}

#[test]
fn every_format_forced_on_every_sample_never_panics() {
    for &format in alertstream::Format::ALL {
        let d = Decoder::new(
            alertstream::DecoderOptions::default()
                .with_format(format)
                .with_schema_file(common::data("fink/distribution_schema_0p2.avsc"))
                .with_schema_dir(common::data("rubin/schema")),
        )
        .unwrap();
        for (_, bytes) in samples() {
            let _ = decode(&d, bytes);
        }
    }
}
