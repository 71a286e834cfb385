//! Every example in every `--help` runs, as a user would paste it: taken
//! from the help text itself, run by bash from a folder where `tests/data`
//! holds the bundled alerts, with `alertstream` on the PATH, against a real
//! Tansu broker where an example names 127.0.0.1:9092, and a local stand-in
//! for ANTARES' API.

mod common;

use common::{AntaresApi, Tansu, TempDir};
use std::path::Path;
use std::process::Command;

/// The commands whose help has examples, in an order where each example's
/// topics and groups exist by the time it runs (publish before consume).
const COMMANDS: [&[&str]; 16] = [
    &["decode"],
    &["inspect"],
    &["table"],
    &["cutouts"],
    &["view"],
    &["publish"],
    &["topics"],
    &["consume"],
    &["lag"],
    &["reset"],
    &["auth", "register"],
    &["auth", "notify"],
    &["brokers"],
    &["thumbnails"],
    &["serve"],
    &["demo"],
];

/// The example lines under "Examples:" in a help text, continuation lines
/// (ending with `\`) joined.
fn examples(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = help.lines().skip_while(|l| l.trim() != "Examples:").skip(1);
    let mut current = String::new();
    for line in lines.by_ref() {
        assert!(
            line.len() < 80,
            "an example line a terminal would wrap: {line}"
        );
        let line = line.trim();
        if line.is_empty() {
            break;
        }
        match line.strip_suffix('\\') {
            Some(start) => current.push_str(start),
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

fn help(command: &[&str]) -> String {
    let out = common::bin().args(command).arg("--help").output().unwrap();
    common::assert_success(&out, "--help: ");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_help_example_runs() {
    let t = Tansu::sqlite();
    let antares = AntaresApi::start(&t.servers(), &[]);
    let work = TempDir::new("help-examples");
    let repo_tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests");
    std::os::unix::fs::symlink(repo_tests.canonicalize().unwrap(), work.join("tests")).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_alertstream"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for command in COMMANDS {
        let found = examples(&help(command));
        assert!(
            found.len() >= 2,
            "{command:?} --help has {} examples",
            found.len()
        );
        for example in found {
            assert!(example.starts_with("alertstream ") || example.starts_with("echo "));
            let line = example.replace("127.0.0.1:9092", &t.servers());
            let out = Command::new("bash")
                .args(["-o", "pipefail", "-c", &line])
                .current_dir(&work.0)
                .env("PATH", &path)
                .env("ALERTSTREAM_CONFIG_DIR", work.join("config"))
                .env("NO_COLOR", "1")
                .env("ANTARES_API_BASE_URL", antares.base())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "`{example}` exited {:?}:\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
    }
    assert!(ran >= 25, "{ran} examples ran");
}

#[test]
fn examples_are_found_with_their_continuation_lines() {
    let text = "Usage: x\n\nExamples:\n  alertstream a \\\n      --b c\n  alertstream d\n\nMore.";
    assert_eq!(examples(text), ["alertstream a --b c", "alertstream d"]);
}
