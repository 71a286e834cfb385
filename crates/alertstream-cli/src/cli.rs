//! Command-line arguments: one struct per subcommand, shared option groups.

use alertstream::kafka::admin::ResetTo;
use alertstream::kafka::profile::{with_prefix, Resolved, Store};
use alertstream::kafka::security::{Mechanism, Protocol, Secret};
use alertstream::kafka::Connection;
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
    /// Print librdkafka's connection, security and protocol log on stderr (secrets are never in it)
    #[arg(long, short, global = true)]
    pub verbose: bool,
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
    /// Turn saved alerts into one table (Parquet, Arrow IPC or CSV) for pandas, polars, DuckDB, Spark
    #[command(after_help = "Examples:\n  \
        alertstream table alertDB/ -o alerts.parquet\n  \
        alertstream table alertDB/ -o lightcurves.parquet --lightcurve\n  \
        alertstream table tests/data/ztf -o - --output-format csv | head -3\n\n\
        One row per alert: records become struct columns, arrays list columns, 64-bit ids stay\n\
        exact, plus a time_utc column. Several schema versions make one table (their union).\n\
        --lightcurve: one row per measurement (detections, upper limits, forced photometry),\n\
        each measurement of an object once. Then, in Python:\n  \
        import pandas as pd; df = pd.read_parquet('alerts.parquet')")]
    Table(TableArgs),
    /// Write each alert's cutouts (science, template, difference) as FITS files
    #[command(after_help = "Examples:\n  \
        alertstream cutouts tests/data/ztf --out stamps/\n  \
        alertstream cutouts alertDB/ZTF17aaajnnn_472263571115115000.avro --out . --gz\n\n\
        Files: DIR/<alert id>_science.fits, _template.fits, _difference.fits, with the header\n\
        the survey put there (--gz: .fits.gz, ZTF's compressed bytes as shipped).\n\
        ANTARES alerts carry no cutouts.")]
    Cutouts(CutoutsArgs),
    /// Draw a picture of each alert: its three cutouts above its light curve
    #[command(after_help = "Examples:\n  \
        alertstream view tests/data/ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro --out pictures/\n  \
        alertstream view alertDB/ --out pictures/ --format svg\n\n\
        One file per alert: DIR/<alert id>.png. Cutouts with zscale limits and an asinh stretch\n\
        (NaN pixels magenta); the light curve with detections and error bars per band (ZTF fid\n\
        1 = g, 2 = r, 3 = i), upper limits as open triangles, forced photometry as open circles,\n\
        this alert's point crossed; magnitudes for ZTF, fluxes in nJy for Rubin.")]
    View(ViewArgs),
    /// Consume alert topics from a Kafka broker: display, save durably, resume in a group
    #[command(after_help = "Examples:\n  \
        alertstream consume ztf_public --servers kafka.example.org:9092 --group me --display\n  \
        alertstream consume '^fink_.*' --servers HOST:9092 --group me --save alerts/ --timeout 60\n  \
        alertstream consume t1,t2 --servers HOST:9092 --group me --save alerts --layout topic --limit 1000\n\n\
        Offsets are committed only after the alerts are on disk (--save) or printed; a restart\n\
        with the same --group resumes where the last run stopped. Ctrl-C finishes the batch,\n\
        commits and exits 0. Undecodable messages go raw to DIR/_quarantine/.")]
    Consume(ConsumeArgs),
    /// Publish alert files to a topic in a broker's wire format (simulate a survey's stream)
    #[command(after_help = "Examples:\n  \
        alertstream publish --servers 127.0.0.1:9092 --topic ztf --format ztf --create-topic tests/data/ztf\n  \
        alertstream publish --servers 127.0.0.1:9092 --topic fink --format fink --repeat 100 --rate 500 tests/data/fink\n  \
        alertstream publish --servers 127.0.0.1:9092 --topic rubin --format confluent \\\n      \
        --schema-dir tests/data/rubin/schema tests/data/rubin/wire_format")]
    Publish(PublishArgs),
    /// List the broker's topics with their partition counts
    #[command(
        after_help = "Examples:\n  alertstream topics --servers 127.0.0.1:9092\n  alertstream topics --servers HOST:9092 --json"
    )]
    Topics(TopicsArgs),
    /// Show a group's committed offset, high watermark and lag per partition
    #[command(
        after_help = "Examples:\n  alertstream lag --servers 127.0.0.1:9092 --group me\n  alertstream lag --servers HOST:9092 --group me --topic ztf --json"
    )]
    Lag(LagArgs),
    /// Move a group's committed offsets (stop its consumers first)
    #[command(after_help = "Examples:\n  \
        alertstream reset --servers 127.0.0.1:9092 --group me --topic ztf --to earliest\n  \
        alertstream reset --servers HOST:9092 --group me --topic ztf --to 2026-11-20T00:00:00Z")]
    Reset(ResetArgs),
    /// Register, show, list and remove broker profiles (credentials stored 0600)
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Run a whole stream on the bundled alerts: embedded broker, publish, consume, save
    #[command(after_help = "Examples:\n  \
        alertstream demo\n  \
        alertstream demo --servers 127.0.0.1:9092   # against a running broker (scripts/tansu.sh start)")]
    Demo(DemoArgs),
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
        let mut options = DecoderOptions::default();
        options.format = self.format;
        options.schema_file = self.schema.clone();
        options.schema_dir = self.schema_dir.clone();
        options.schema_registry = self.schema_registry.clone();
        options
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

#[derive(Debug, Args)]
pub struct TableArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    /// Output file (written under a temporary name, renamed when complete); - for stdout
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
    /// Output format; from the output's extension when omitted (stdout: csv)
    #[arg(long, value_name = "FORMAT", value_parser = ["parquet", "arrow", "csv"])]
    pub output_format: Option<String>,
    /// One row per light-curve measurement instead of one per alert
    #[arg(long)]
    pub lightcurve: bool,
    /// Keep the cutouts (image stamps) as binary columns
    #[arg(long)]
    pub cutouts: bool,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Files or folders (searched recursively)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CutoutsArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    /// Folder for the FITS files (made if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Gzip-compressed files (.fits.gz)
    #[arg(long)]
    pub gz: bool,
    /// Files or folders (searched recursively)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ViewArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    /// Folder for the pictures (made if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Picture format
    #[arg(long = "picture-format", value_name = "FORMAT", default_value = "png", value_parser = ["png", "svg"])]
    pub picture_format: String,
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

/// Connection to a broker.
#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// Registered profile to use (alertstream auth register); flags override it
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Bootstrap servers, HOST:PORT[,HOST:PORT] (default: from the profile)
    #[arg(long, value_name = "HOST:PORT")]
    pub servers: Option<String>,
    /// Give up with an error when no broker answers within this many seconds
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub connect_timeout: f64,
    /// PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (default: the profile's, else PLAINTEXT)
    #[arg(long, value_parser = parse_protocol, value_name = "PROTOCOL")]
    pub security_protocol: Option<Protocol>,
    /// PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (default: the profile's, else SCRAM-SHA-512)
    #[arg(long, value_parser = parse_mechanism, value_name = "MECHANISM")]
    pub sasl_mechanism: Option<Mechanism>,
    /// SASL username
    #[arg(long)]
    pub username: Option<String>,
    /// Read the SASL password from the first line of stdin (else ALERTSTREAM_PASSWORD, else the profile's)
    #[arg(long)]
    pub password_stdin: bool,
    /// CA bundle that signed the broker's certificate (default: the system's)
    #[arg(long, value_name = "FILE")]
    pub ssl_ca_location: Option<PathBuf>,
    /// DANGEROUS: accept any TLS certificate and host name (man-in-the-middle possible)
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Extra librdkafka property (repeatable), e.g. -X fetch.max.bytes=52428800
    #[arg(short = 'X', long = "property", value_name = "KEY=VALUE", value_parser = parse_property)]
    pub properties: Vec<(String, String)>,
}

impl BrokerArgs {
    pub fn connect_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.connect_timeout.max(0.1))
    }

    /// The broker, credentials, group and topics to use: flags first, then
    /// the profile (`--profile`, else a profile named `default`, else
    /// fink-client's registered credentials), then its broker preset.
    pub fn target(&self) -> anyhow::Result<Target> {
        let resolved = self.profile()?;
        let servers = self.servers.clone().or(resolved.servers.clone()).ok_or_else(|| {
            anyhow::anyhow!(
                "no broker address: pass --servers HOST:PORT, or --profile NAME after `alertstream auth register`"
            )
        })?;
        let mut security = resolved.security.clone();
        if let Some(p) = self.security_protocol {
            security.protocol = p;
        }
        if let Some(m) = self.sasl_mechanism {
            security.mechanism = m;
        }
        if let Some(u) = &self.username {
            security.username = Some(u.clone());
        }
        // ALERTSTREAM_PASSWORD was applied by the profile's resolution.
        if self.password_stdin {
            security.password = Some(read_password_line()?);
        }
        if let Some(ca) = &self.ssl_ca_location {
            security.ssl_ca_location = Some(ca.clone());
        }
        if self.insecure_skip_tls_verify {
            eprintln!("alertstream: WARNING: TLS certificate and host-name verification is OFF (--insecure-skip-tls-verify)");
            security.skip_tls_verification = true;
        }
        let mut connection = Connection::new(servers);
        connection.security = security;
        connection.properties = self.properties.clone();
        connection.connect_timeout = self.connect_timeout();
        Ok(Target {
            connection,
            profile: resolved,
        })
    }

    fn profile(&self) -> anyhow::Result<Resolved> {
        let store = Store::default_location()?;
        let (profile, password) = store
            .choose(self.profile.as_deref(), self.servers.is_some())?
            .unwrap_or_default();
        Ok(profile.resolve(password)?)
    }
}

/// Where to connect, and the profile's group, topics and formats.
pub struct Target {
    pub connection: Connection,
    pub profile: Resolved,
}

impl Target {
    /// Topics named on the command line (with the profile's prefix), else the profile's.
    pub fn topics(&self, given: &[String]) -> Vec<String> {
        if given.is_empty() {
            return self.profile.topics.clone();
        }
        given
            .iter()
            .map(|t| with_prefix(&self.profile.topic_prefix, t))
            .collect()
    }
}

/// The first line of stdin, as a secret (`--password-stdin`).
pub fn read_password_line() -> std::io::Result<Secret> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(Secret::new(line.trim_end_matches(['\r', '\n'])))
}

fn parse_protocol(s: &str) -> Result<Protocol, String> {
    s.parse()
}

fn parse_mechanism(s: &str) -> Result<Mechanism, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// Topics: names, comma-separated lists, or ^regex patterns (default: the profile's)
    #[arg(value_name = "TOPIC")]
    pub topics: Vec<String>,
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Consumer group: resume point, and partitions shared between members (default: the profile's)
    #[arg(long)]
    pub group: Option<String>,
    /// Where a new group starts
    #[arg(long, value_enum, default_value = "earliest")]
    pub start: StartArg,
    /// Stop after N alerts
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Stop (exit 0) after this many seconds without a new alert
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Print one line per alert
    #[arg(long)]
    pub display: bool,
    /// Save every alert as a file in DIR (durably, before its offset is committed)
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
    /// File layout: fink = DIR/<objectId>_<candid>.avro, topic = DIR/<topic>/<alert id>.<ext>
    #[arg(long, value_enum, default_value = "fink")]
    pub layout: LayoutArg,
    /// File content: avro = one-record container with the writer schema, json = the record
    #[arg(long, value_enum, default_value = "avro")]
    pub save_format: SaveFormatArg,
    /// Alerts per durable batch (one file-system sync and one commit per batch)
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub batch: usize,
    /// Parquet: close the files (and commit their offsets) once one holds N alerts...
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub roll: u64,
    /// ...or once the oldest alert in them has waited this long
    #[arg(long, default_value_t = 300.0, value_name = "SECONDS")]
    pub roll_seconds: f64,
    /// Parquet: folders that readers see as columns (Hive): date (UTC date of the
    /// observation), topic, class (Fink's classification); comma-separated
    #[arg(long, value_delimiter = ',', value_name = "KEYS")]
    pub partition_by: Vec<String>,
    /// Parquet: leave the cutouts out of the files
    #[arg(long)]
    pub no_cutouts: bool,
    /// Longest a saved alert waits before its batch is made durable
    #[arg(long, default_value_t = 200, value_name = "MS")]
    pub batch_ms: u64,
    /// Broker-side wait for data per fetch (librdkafka fetch.wait.max.ms). Default: 1 for a
    /// broker on this machine (Tansu holds every fetch for the whole wait), 10 for a remote one
    #[arg(long, value_name = "MS")]
    pub fetch_wait_ms: Option<u32>,
    /// Group session timeout (librdkafka session.timeout.ms)
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub session_timeout_ms: u32,
    /// No progress line
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum StartArg {
    Earliest,
    Latest,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LayoutArg {
    Fink,
    Topic,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SaveFormatArg {
    Avro,
    Json,
    /// Rolling Parquet files: DIR/<topic>/[date=D/][class=C/]<partition>-<first>-<last>.parquet
    Parquet,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Topic to publish to
    #[arg(long)]
    pub topic: String,
    /// Wire format of the messages
    #[arg(long = "format", value_parser = parse_format)]
    pub wire_format: Format,
    /// Create the topic first (an existing topic is fine)
    #[arg(long)]
    pub create_topic: bool,
    /// Partitions of a created topic
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub partitions: i32,
    /// Send at most this many alerts per second
    #[arg(long, value_name = "ALERTS_PER_S")]
    pub rate: Option<f64>,
    /// Send the files N times
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: u64,
    /// Confluent schema id to announce (default: the id the alert was read with)
    #[arg(long, value_name = "ID")]
    pub schema_id: Option<u32>,
    /// Writer schema (.avsc) for schemaless Avro input files
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Schema folder for Confluent-framed input files (Rubin alert_packet layout)
    #[arg(long, value_name = "DIR")]
    pub schema_dir: Option<PathBuf>,
    /// Alert files or folders
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Use this broker instead of the embedded one
    #[arg(long, value_name = "HOST:PORT")]
    pub servers: Option<String>,
    /// Where to save the alerts
    #[arg(long, default_value = "alertstream-demo", value_name = "DIR")]
    pub dir: PathBuf,
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got '{s}'"))
}

#[derive(Debug, Args)]
pub struct TopicsArgs {
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// One JSON object per topic
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LagArgs {
    #[command(flatten)]
    pub broker: BrokerArgs,
    #[arg(long)]
    pub group: String,
    /// Only these topics (default: every topic the group committed on)
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// One JSON object per partition
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    #[command(flatten)]
    pub broker: BrokerArgs,
    #[arg(long)]
    pub group: String,
    /// Topics whose offsets move (repeatable)
    #[arg(long = "topic", value_name = "TOPIC", required = true)]
    pub topics: Vec<String>,
    /// earliest, latest, or a UTC time (2026-11-20T00:00:00Z) / milliseconds since the epoch
    #[arg(long, value_parser = parse_reset, value_name = "WHERE")]
    pub to: ResetTo,
}

fn parse_reset(s: &str) -> Result<ResetTo, String> {
    match s {
        "earliest" => Ok(ResetTo::Earliest),
        "latest" => Ok(ResetTo::Latest),
        t => alertstream::model::time::parse_utc_millis(t)
            .map(ResetTo::Timestamp)
            .ok_or_else(|| {
                format!(
                    "expected earliest, latest or a UTC time like 2026-11-20T00:00:00Z, got '{t}'"
                )
            }),
    }
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Save a profile (password read from stdin with --password-stdin)
    #[command(after_help = "Examples:\n  \
        alertstream auth register --profile ztf --broker fink-ztf --username me --group me_grp \\\n      \
        --servers HOST:PORT --topics fink_sn_candidates_ztf\n  \
        echo \"$SECRET\" | alertstream auth register --profile ant --broker antares --username KEY \\\n      \
        --group my_grp --topics extragalactic --password-stdin\n\n\
        Presets: fink-ztf, fink-lsst, antares, rubin, hopskotch, local (see the README table).")]
    Register(RegisterArgs),
    /// Show a profile (the password masked)
    Show(NameArgs),
    /// List profiles
    List,
    /// Remove a profile and its password
    Remove(NameArgs),
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub profile: String,
    /// Broker preset: fink-ztf, fink-lsst, antares, rubin, hopskotch, local
    #[arg(long, value_name = "PRESET")]
    pub broker: Option<String>,
    #[arg(long)]
    pub username: Option<String>,
    #[arg(long)]
    pub group: Option<String>,
    #[arg(long, value_name = "HOST:PORT")]
    pub servers: Option<String>,
    #[arg(long, num_args = 1.., value_name = "TOPIC")]
    pub topics: Vec<String>,
    #[arg(long, value_name = "PROTOCOL", value_parser = parse_protocol)]
    pub security_protocol: Option<Protocol>,
    #[arg(long, value_name = "MECHANISM", value_parser = parse_mechanism)]
    pub sasl_mechanism: Option<Mechanism>,
    #[arg(long, value_name = "FILE")]
    pub ssl_ca_location: Option<PathBuf>,
    #[arg(long, value_name = "URL")]
    pub schema_registry: Option<String>,
    /// Read the password from the first line of stdin
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub profile: String,
}
