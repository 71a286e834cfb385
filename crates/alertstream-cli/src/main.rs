//! `alertstream`: a thin command-line layer over the alertstream library.

mod admin_cmd;
mod api_cmd;
mod auth_cmd;
mod cli;
mod consume_cmd;
mod decode_cmd;
mod hint;
mod out;
mod publish_cmd;
mod serve_cmd;
mod table_cmd;
mod text;

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    keep_freed_memory();
    let args = cli::parse();
    log_to_stderr(args.verbose);
    let result = match args.command {
        cli::Command::Decode(a) => decode_cmd::decode(a),
        cli::Command::Inspect(a) => decode_cmd::inspect(a),
        cli::Command::Table(a) => table_cmd::table(a),
        cli::Command::Cutouts(a) => decode_cmd::cutouts(a),
        cli::Command::View(a) => decode_cmd::view(a),
        cli::Command::Consume(a) => consume_cmd::consume(*a),
        cli::Command::Publish(a) => publish_cmd::publish(a),
        cli::Command::Demo(a) => publish_cmd::demo(a),
        cli::Command::Auth(a) => auth_cmd::auth(a),
        cli::Command::Brokers(a) => auth_cmd::brokers(a),
        cli::Command::Thumbnails(a) => api_cmd::thumbnails_cmd(a),
        cli::Command::Serve(a) => serve_cmd::serve(a),
        cli::Command::Topics(a) => admin_cmd::topics(a),
        cli::Command::Lag(a) => admin_cmd::lag(a),
        cli::Command::Reset(a) => admin_cmd::reset(a),
    };
    match result {
        Ok(code) => code,
        // What the user typed, found wrong after clap's own checks: exit 2 as clap does.
        Err(e) if e.downcast_ref::<Usage>().is_some() => {
            eprintln!("alertstream: error: {e}");
            ExitCode::from(2)
        }
        // The reader went away (`| head`): nothing more is wanted, as ripgrep does.
        Err(e) if is_closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("alertstream: error: {}", error_text(&e));
            if let Some(hint) = hint::for_error(&e) {
                eprintln!("alertstream: {hint}");
            }
            ExitCode::from(1)
        }
    }
}

/// An error in the command line that clap cannot see (an expression that
/// does not parse, a file of targets that cannot be read): exit code 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// The library's warnings (and with --verbose, its debug log and
/// librdkafka's) on stderr, one line each.
struct StderrLog;

impl log::Log for StderrLog {
    /// alertstream's warnings always; rdkafka's and librdkafka's log only
    /// with --verbose; never other crates' (an HTTP client logs URLs, and
    /// a webhook's URL or a bot token is a secret).
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        let target = metadata.target();
        let ours = target.starts_with("alertstream");
        let kafka = target.starts_with("rdkafka") || target == "librdkafka";
        metadata.level() <= log::max_level()
            && (ours || (kafka && log::max_level() >= log::Level::Debug))
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let text = match (record.level(), record.target()) {
            (_, "librdkafka") => format!("librdkafka: {}", record.args()),
            (log::Level::Error | log::Level::Warn, _) => {
                format!("alertstream: warning: {}", record.args())
            }
            _ => format!("alertstream: {}", record.args()),
        };
        // A closed stderr leaves nowhere to say so.
        let _ = writeln!(std::io::stderr(), "{text}");
    }

    fn flush(&self) {}
}

fn log_to_stderr(verbose: bool) {
    static LOG: StderrLog = StderrLog;
    if log::set_logger(&LOG).is_ok() {
        log::set_max_level(match verbose {
            true => log::LevelFilter::Debug,
            false => log::LevelFilter::Warn,
        });
    }
}

fn is_closed_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Streaming allocates and frees a few MB per fetch. glibc would hand large
/// blocks back to the kernel and fault fresh zeroed pages in for the next
/// ones; keeping them measured ~10% less system time when saving. Peak memory
/// is bounded by the prefetch queue either way.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator tunables; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// The error and its causes on one line; a cause that its parent's message
/// already quotes is not repeated.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            if !text.is_empty() {
                text += ": ";
            }
            text += &cause;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    fn disk_full() -> anyhow::Error {
        let io = std::io::Error::from_raw_os_error(28); // ENOSPC
        Err::<(), _>(alertstream::Error::Io {
            path: "/data/alerts/.alertstream-tmp-1-0".into(),
            source: io,
        })
        .context("cannot save an alert")
        .unwrap_err()
    }

    #[test]
    fn a_cause_already_quoted_by_its_parent_is_not_repeated() {
        let text = error_text(&disk_full());
        assert_eq!(text.matches("No space left on device").count(), 1, "{text}");
        assert!(
            text.starts_with("cannot save an alert: /data/alerts/"),
            "{text}"
        );
    }

    #[test]
    fn a_full_disk_gets_a_hint_and_other_errors_none() {
        assert!(hint::for_error(&disk_full()).is_some_and(|h| h.contains("free some space")));
        assert_eq!(hint::for_error(&anyhow::anyhow!("no topic")), None);
    }
}
