//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository's test data folder.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

pub fn data(rel: &str) -> PathBuf {
    data_dir().join(rel)
}

/// Every alert sample (not schemas, not golden files), sorted.
pub fn alert_samples() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![data_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = entry.path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                if name != "golden" && name != "schema" {
                    stack.push(p);
                }
            } else if !name.ends_with(".avsc") && !name.ends_with(".md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub fn decoder_for_samples() -> alertstream::Decoder {
    alertstream::Decoder::new(
        alertstream::DecoderOptions::default().with_schema_dir(data("rubin/schema")),
    )
    .unwrap()
}
