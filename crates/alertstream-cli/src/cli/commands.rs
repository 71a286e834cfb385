//! One argument struct per command.

use super::examples;
use super::select::{OnceArgs, SelectArgs};
use super::shared::seconds;
use super::shared::{words, BrokerArgs, ConnectionArgs, FormatArgs, LimitArgs, SchemaArgs};
use alertstream::kafka::admin::ResetTo;
use alertstream::kafka::Start;
use alertstream::picture::PictureFormat;
use alertstream::sink::parquet::PartitionBy;
use alertstream::sink::{Layout, StorageFormat};
use alertstream::table::TableFormat;
use alertstream::Format;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DecodeArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Files or folders (searched recursively)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    #[command(flatten)]
    pub select: SelectArgs,
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
    #[command(flatten)]
    pub select: SelectArgs,
    /// Output file (written under a temporary name, synced, renamed when complete); - for stdout
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
    /// Output format; from the output's extension when omitted (stdout: csv)
    #[arg(long, value_name = "FORMAT", value_parser = words::<TableFormat>())]
    pub output_format: Option<TableFormat>,
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
    #[command(flatten)]
    pub select: SelectArgs,
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
    #[command(flatten)]
    pub select: SelectArgs,
    /// Folder for the pictures (made if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Picture format
    #[arg(long, value_name = "FORMAT", default_value = "png", value_parser = words::<PictureFormat>())]
    pub picture_format: PictureFormat,
    /// ANTARES alerts (which carry no cutouts): fetch them from ANTARES' API
    #[arg(long)]
    pub fetch_cutouts: bool,
    /// Files or folders (searched recursively)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
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
    /// Static group membership (librdkafka group.instance.id): a restart with the same id gets
    /// its partitions back at once. The id must be unique per running process, and a static
    /// member does not leave the group on close (its partitions wait for it one session)
    #[arg(long, value_name = "ID")]
    pub instance_id: Option<String>,
    /// Where a new group starts
    #[arg(long, default_value = "earliest", value_parser = words::<Start>())]
    pub start: Start,
    /// Stop after N alerts
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Stop (exit 0) after this many seconds without a new alert, counted from the first
    /// partition assignment
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    pub timeout: Option<f64>,
    /// Print one line per alert
    #[arg(long)]
    pub display: bool,
    /// Save every alert as a file in DIR (durably, before its offset is committed)
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
    /// Republish the kept alerts, as received (key, headers, payload), to TOPIC at
    /// SERVERS (PLAINTEXT; an idempotent producer); offsets are committed once acknowledged
    #[arg(long, value_name = "SERVERS/TOPIC", value_parser = parse_forward)]
    pub forward: Option<(String, String)>,
    /// File layout: fink = DIR/<objectId>_<candid>.avro, topic = DIR/<topic>/<alert id>.<ext>
    #[arg(long, default_value = "fink", value_parser = words::<Layout>())]
    pub layout: Layout,
    /// File content: avro = one-record container with the writer schema, json = the record,
    /// parquet = rolling files DIR/<topic>/[date=D/][class=C/]<partition>-<first>-<last>.parquet
    #[arg(long, default_value = "avro", value_parser = words::<StorageFormat>())]
    pub save_format: StorageFormat,
    /// Alerts per durable batch (one file-system sync and one commit per batch)
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub batch: usize,
    /// Parquet: close the files (and commit their offsets) once one holds N alerts...
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub roll: u64,
    /// ...or once the oldest alert in them has waited this long
    #[arg(long, default_value_t = 300.0, value_name = "SECONDS", value_parser = seconds)]
    pub roll_seconds: f64,
    /// Parquet: folders that readers see as columns (Hive): date (UTC date of the
    /// observation), topic, class (Fink's classification); comma-separated
    #[arg(long, value_delimiter = ',', value_name = "KEYS", value_parser = words::<PartitionBy>())]
    pub partition_by: Vec<PartitionBy>,
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
    /// Group session timeout (librdkafka session.timeout.ms): how long the group waits for a
    /// member that stopped without leaving before handing its partitions to others
    #[arg(long, default_value_t = alertstream::kafka::consumer::DEFAULT_SESSION_TIMEOUT_MS, value_name = "MS")]
    pub session_timeout_ms: u32,
    /// No progress line
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub format: FormatArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub once: OnceArgs,
    #[command(flatten)]
    pub notify: NotifyArgs,
    /// Serve a live web view of the saved alerts, with /metrics and /health, at this address
    /// (127.0.0.1:8080 is this machine only; another address warns: the page has no
    /// authentication)
    #[arg(long, value_name = "ADDR", requires = "save")]
    pub serve: Option<std::net::SocketAddr>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A folder of saved alerts (consume --save)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Where to listen: this machine only by default; another address warns (no
    /// authentication)
    #[arg(long, default_value = alertstream::serve::DEFAULT_LISTEN, value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// Stop after this many seconds (default: until Ctrl-C)
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    pub duration: Option<f64>,
}

#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// Tell each kept alert to slack:WEBHOOK_URL (or `slack` with the URL in
    /// ALERTSTREAM_SLACK_WEBHOOK_URL), telegram:CHAT_ID (the bot token in
    /// ALERTSTREAM_TELEGRAM_TOKEN) or webhook:URL; repeatable. An alert's offset is committed
    /// once every destination accepted it (or it was written to DIR/_undelivered/)
    #[arg(long, value_name = "DESTINATION")]
    pub notify: Vec<String>,
    /// At most this many messages per destination (N/s, N/min, N/h); alerts above it are told
    /// together in one digest. Default: 1/s for Slack and Telegram, none for a webhook
    #[arg(long, value_name = "RATE", requires = "notify")]
    pub notify_rate: Option<String>,
    /// Retry a notification that fails (HTTP 429 after its Retry-After, 5xx and network
    /// errors with backoff) this long, then write it to _undelivered/ (in --save DIR, else
    /// in the current folder) and go on
    #[arg(
        long,
        default_value_t = 300.0,
        value_name = "SECONDS",
        value_parser = seconds,
        requires = "notify"
    )]
    pub notify_give_up: f64,
    /// Send Telegram text only, without the alert's picture
    #[arg(long, requires = "notify")]
    pub no_notify_pictures: bool,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Topic to publish to
    #[arg(long)]
    pub topic: String,
    /// Wire format of the messages sent (the input files' format is detected)
    #[arg(long, alias = "format", value_parser = words::<Format>())]
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
    #[command(flatten)]
    pub schemas: SchemaArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
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

#[derive(Debug, Args)]
pub struct ThumbnailsArgs {
    /// ANTARES alert ids (as ztf_candidate:1234567890)
    #[arg(required = true, value_name = "ALERT_ID")]
    pub alert_ids: Vec<String>,
    /// Folder the images are written to (created if needed)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// ANTARES' API (default: ANTARES_API_BASE_URL, else https://api.antares.noirlab.edu/v1/)
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// One JSON object per image
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BrokersArgs {
    /// One JSON object per broker
    #[arg(long)]
    pub json: bool,
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
                    "'{t}' is not earliest, latest or a UTC time like 2026-11-20T00:00:00Z \
                     (a date that exists, a time of day below 24:00)"
                )
            }),
    }
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Save a profile (password read from stdin with --password-stdin)
    #[command(after_help = examples::REGISTER)]
    Register(Box<RegisterArgs>),
    /// Show a profile (the password masked)
    Show(NameArgs),
    /// List profiles
    List,
    /// Remove a profile and its password
    Remove(NameArgs),
    /// Keep a notification secret for a profile (read from stdin): consume --notify uses it
    #[command(after_help = examples::AUTH_NOTIFY)]
    Notify(NotifySecretArgs),
}

#[derive(Debug, Args)]
pub struct NotifySecretArgs {
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub profile: String,
    /// Read a Telegram bot's token (from BotFather) from stdin
    #[arg(
        long,
        conflicts_with = "slack_webhook_stdin",
        required_unless_present = "slack_webhook_stdin"
    )]
    pub telegram_token_stdin: bool,
    /// Read a Slack incoming webhook's URL from stdin
    #[arg(long)]
    pub slack_webhook_stdin: bool,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub profile: String,
    /// Broker preset (`alertstream brokers` lists them)
    #[arg(long, value_name = "PRESET")]
    pub broker: Option<String>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[arg(long)]
    pub group: Option<String>,
    #[arg(long, num_args = 1.., value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// Payload format of the broker's topics (default: the preset's, else detected)
    #[arg(long, value_parser = words::<Format>())]
    pub format: Option<Format>,
    #[arg(long, value_name = "URL")]
    pub schema_registry: Option<String>,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub profile: String,
}

/// `HOST:PORT[,HOST:PORT]/TOPIC`.
fn parse_forward(s: &str) -> Result<(String, String), String> {
    match s.rsplit_once('/') {
        Some((servers, topic)) if !servers.is_empty() && !topic.is_empty() => {
            Ok((servers.to_owned(), topic.to_owned()))
        }
        _ => Err(format!(
            "expected SERVERS/TOPIC (as 127.0.0.1:9092/mine), got '{s}'"
        )),
    }
}
