//! Command-line arguments: one struct per subcommand, shared option groups.

use alertstream::{DecoderOptions, Format};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "alertstream",
    version,
    about = "Fast, reliable client for astronomical alert streams (ZTF, Fink, Rubin/LSST, ANTARES)",
    after_help = "Exit codes: 0 success, 1 some input failed or an error occurred, 2 usage error.\n\
                  Run `alertstream <COMMAND> --help` for examples."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode alert files to JSON Lines: one full record per line on stdout
    #[command(after_help = "Examples:\n  \
        alertstream decode tests/data/ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro\n  \
        alertstream decode tests/data/fink | jq .objectId\n  \
        alertstream decode --schema-dir tests/data/rubin/schema tests/data/rubin/wire_format\n  \
        alertstream decode --format fink --schema schema.avsc datum.bin\n\n\
        Bytes are base64 strings; 64-bit integers are exact JSON integers; NaN becomes null.")]
    Decode(DecodeArgs),
    /// Show a table of alerts: object, alert id, time, position, band, brightness, history, cutouts
    #[command(after_help = "Examples:\n  \
        alertstream inspect tests/data/ztf\n  \
        alertstream inspect --json tests/data/antares/1262927.json\n\n\
        Times are shown in UTC; --json also gives the survey's own time value and scale.")]
    Inspect(InspectArgs),
}

/// How to read payloads: format and where writer schemas come from.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Payload format; detected per file when omitted
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// Writer schema (.avsc) for schemaless Avro datums
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Schema folder: Rubin alert_packet layout (vMAJOR_MINOR/) for Confluent ids,
    /// distribution_schema_fink_ztf_<KEY>.avsc for old Fink keys
    #[arg(long, value_name = "DIR")]
    pub schema_dir: Option<PathBuf>,
    /// Confluent-compatible schema registry (GET /schemas/ids/{id})
    #[arg(long, value_name = "URL")]
    pub schema_registry: Option<String>,
}

impl FormatArgs {
    pub fn decoder_options(&self) -> DecoderOptions {
        DecoderOptions {
            format: self.format,
            schema_file: self.schema.clone(),
            schema_dir: self.schema_dir.clone(),
            schema_registry: self.schema_registry.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    /// Files or folders (searched recursively)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    /// One JSON object per alert instead of a table
    #[arg(long)]
    pub json: bool,
    /// Files or folders (searched recursively)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

pub fn parse() -> Cli {
    Cli::parse()
}
