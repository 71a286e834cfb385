//! Decode the bundled ZTF alerts with each Avro crate, writer schema parsed
//! once beforehand, and print alerts/s. One run, same inputs, same machine.

use std::path::Path;
use std::time::Instant;

struct Sample {
    container: bytes::Bytes,
    schema_text: String,
    datum: bytes::Bytes,
}

fn samples() -> Vec<Sample> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/ztf");
    let decoder = alertstream::Decoder::new(Default::default()).unwrap();
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        let container: bytes::Bytes = std::fs::read(&p).unwrap().into();
        let alert = decoder.decode(None, container.clone()).unwrap().remove(0);
        out.push(Sample {
            schema_text: alert.schema().unwrap().text().to_owned(),
            datum: alert.avro_datum().unwrap().clone(),
            container,
        });
    }
    out
}

fn measure(name: &str, samples: &[Sample], rounds: usize, mut f: impl FnMut(usize, &Sample) -> bool) {
    let start = Instant::now();
    let mut ok = 0usize;
    for _ in 0..rounds {
        for (i, s) in samples.iter().enumerate() {
            ok += usize::from(f(i, s));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = rounds * samples.len();
    println!("{name:<58} {:>10.0} alerts/s  ({ok}/{n} decoded)", n as f64 / secs);
}

fn main() {
    let samples = samples();
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(500);
    println!("{} ZTF alerts (schemas v1.7 .. v3.5), {} rounds each", samples.len(), rounds);

    let ours: Vec<_> = samples
        .iter()
        .map(|s| alertstream::WriterSchema::parse(&s.schema_text).unwrap())
        .collect();
    measure("alertstream datum decoder -> Value tree", &samples, rounds, |i, s| {
        alertstream::avro::decode_whole_datum(&ours[i], &s.datum, 0).is_ok()
    });
    if std::env::var("ONLY_OURS").is_ok() {
        return;
    }
    let decoder = alertstream::Decoder::new(Default::default()).unwrap();
    measure("alertstream Decoder::decode(container message)", &samples, rounds, |_, s| {
        decoder.decode(None, s.container.clone()).is_ok()
    });

    let saf: Vec<serde_avro_fast::Schema> = samples.iter().map(|s| s.schema_text.parse().unwrap()).collect();
    if let Err(e) = serde_avro_fast::from_datum_slice::<serde_json::Value>(&samples[0].datum, &saf[0]) {
        println!("serde_avro_fast -> serde_json::Value fails on ZTF: {e}");
    }
    measure("serde_avro_fast -> serde_json::Value", &samples, rounds, |i, s| {
        serde_avro_fast::from_datum_slice::<serde_json::Value>(&s.datum, &saf[i]).is_ok()
    });
    measure("serde_avro_fast -> IgnoredAny (skip, lower bound)", &samples, rounds, |i, s| {
        serde_avro_fast::from_datum_slice::<serde::de::IgnoredAny>(&s.datum, &saf[i]).is_ok()
    });

    let apache: Vec<Option<apache_avro::Schema>> = samples
        .iter()
        .map(|s| match apache_avro::Schema::parse_str(&s.schema_text) {
            Ok(schema) => Some(schema),
            Err(e) => {
                eprintln!("apache-avro rejects a ZTF schema: {e}");
                None
            }
        })
        .collect();
    let accepted = apache.iter().filter(|s| s.is_some()).count();
    println!("apache-avro parses {accepted}/{} writer schemas", samples.len());
    measure("apache-avro from_avro_datum -> types::Value", &samples, rounds, |i, s| {
        apache[i]
            .as_ref()
            .is_some_and(|schema| apache_avro::from_avro_datum(schema, &mut &s.datum[..], None).is_ok())
    });

    measure("arrow-avro Reader (container per message) -> RecordBatch", &samples, rounds / 10, |_, s| {
        match arrow_avro::reader::ReaderBuilder::new().build(std::io::Cursor::new(&s.container[..])) {
            Ok(reader) => reader.into_iter().all(|b| b.is_ok()),
            Err(_) => false,
        }
    });
}
