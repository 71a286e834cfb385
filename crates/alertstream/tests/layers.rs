//! Two rules of ARCHITECTURE.md, checked on the source: no module imports
//! from a module above it, and no string of the library's non-test code
//! names a command-line flag (the library names causes and settings; the
//! command line and Python say them in their own words).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may use, lowest first.
const LAYERS: [(&str, &[&str]); 17] = [
    ("limits", &[]),
    ("error", &["limits"]),
    ("names", &["error"]),
    ("durable", &["error"]),
    ("avro", &["error", "limits"]),
    ("model", &["avro", "error", "limits", "names"]),
    ("decode", &["avro", "error", "limits", "model", "names"]),
    ("api", &["decode", "durable", "error", "limits", "model"]),
    (
        "table",
        &["decode", "error", "limits", "model", "names", "durable"],
    ),
    (
        "sink",
        &[
            "decode", "durable", "error", "limits", "model", "names", "table",
        ],
    ),
    (
        "kafka",
        &[
            "decode", "durable", "error", "limits", "model", "names", "sink",
        ],
    ),
    ("profile", &["api", "error", "kafka", "model", "names"]),
    ("select", &["decode", "error", "limits", "model", "names"]),
    ("picture", &["decode", "durable", "error", "model", "names"]),
    ("notify", &["durable", "error", "model", "picture", "sink"]),
    ("pipeline", &["error", "kafka", "model", "select", "sink"]),
    (
        "serve",
        &[
            "decode", "error", "model", "notify", "picture", "pipeline", "select",
        ],
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments and its `#[cfg(test)]` module.
fn code(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let end = [
        "#[cfg(test)]\nmod tests",
        "#[cfg(test)]\npub(crate) mod tests",
    ]
    .iter()
    .filter_map(|start| text.find(start))
    .min()
    .unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(str::to_owned)
        .collect()
}

/// Top-level module of a file under src/ (`lib.rs`: none).
fn module_of(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(src()).unwrap();
    let first = relative.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_owned();
    (name != "lib").then_some(name)
}

#[test]
fn no_module_imports_from_a_module_above_it() {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.into_iter().collect();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let Some(module) = module_of(file) else {
            continue;
        };
        let uses = allowed.get(module.as_str()).unwrap_or_else(|| {
            panic!("module {module} is not in LAYERS (add it where it belongs)")
        });
        for line in code(file) {
            for (at, _) in line.match_indices("crate::") {
                let used: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if used != module
                    && !uses.contains(&used.as_str())
                    && allowed.contains_key(used.as_str())
                {
                    wrong.push(format!("{}: {module} uses {used}", file.display()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports running up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_library_string_names_a_command_line_flag() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut flags = Vec::new();
    for file in &files {
        for line in code(file) {
            // The text between quotes, roughly: enough to find `--word`.
            for (i, quoted) in line.split('"').enumerate() {
                let is_string = i % 2 == 1;
                let flag = quoted
                    .match_indices("--")
                    .any(|(at, _)| quoted[at + 2..].starts_with(|c: char| c.is_ascii_lowercase()));
                if is_string && flag {
                    flags.push(format!("{}: {}", file.display(), line.trim()));
                }
            }
        }
    }
    assert!(
        flags.is_empty(),
        "strings naming flags:\n{}",
        flags.join("\n")
    );
}
