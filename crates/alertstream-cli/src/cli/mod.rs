//! Command-line arguments: the commands and their help (every example in
//! it runs: a test runs them on the bundled alerts), one struct per
//! command (`commands`), shared option groups (`shared`).

mod commands;
mod select;
mod shared;

pub use commands::*;

pub use shared::*;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "alertstream",
    version,
    about = "Fast, reliable client for astronomical alert streams (ZTF, Fink, Rubin/LSST, ANTARES)",
    after_help = "Exit codes: 0 success, 1 some input failed or an error occurred, 2 usage error.\n\
                  Run `alertstream <COMMAND> --help` for examples. NO_COLOR is honoured."
)]
pub struct Cli {
    /// Print librdkafka's connection, security and protocol log on stderr (secrets are never in it)
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The examples of each command's help. Broker examples name
/// 127.0.0.1:9092, the broker of `scripts/tansu.sh start`.
pub mod examples {
    // Each line under 80 columns, so that no terminal wraps it.
    pub const DECODE: &str = "Examples:\n  \
        alertstream decode \\\n      \
        tests/data/ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro\n  \
        alertstream decode tests/data/fink | head -c 300\n  \
        alertstream decode --schema-dir tests/data/rubin/schema \\\n      \
        tests/data/rubin/wire_format > rubin.jsonl\n\n\
        Bytes are base64 strings; 64-bit integers are exact JSON integers; NaN becomes null.";
    pub const INSPECT: &str = "Examples:\n  \
        alertstream inspect tests/data/ztf\n  \
        alertstream inspect --json tests/data/antares/1262927.json\n\n\
        Times are shown in UTC; --json also gives the survey's own time value and scale.";
    pub const TABLE: &str = "Examples:\n  \
        alertstream table tests/data/ztf -o alerts.parquet\n  \
        alertstream table tests/data/ztf -o lightcurves.parquet --lightcurve\n  \
        alertstream table tests/data/ztf -o - --output-format csv | head -3\n\n\
        One row per alert: records become struct columns, arrays list columns, 64-bit ids stay\n\
        exact, plus a time_utc column. Several schema versions make one table (their union).\n\
        --lightcurve: one row per measurement (detections, upper limits, forced photometry),\n\
        each measurement of an object once. Then, in Python:\n  \
        import pandas as pd; df = pd.read_parquet('alerts.parquet')";
    pub const CUTOUTS: &str = "Examples:\n  \
        alertstream cutouts tests/data/ztf --out stamps/\n  \
        alertstream cutouts --out . --gz \\\n      \
        tests/data/ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro\n\n\
        Files: DIR/<alert id>_science.fits, _template.fits, _difference.fits, with the header\n\
        the survey put there (--gz: .fits.gz, ZTF's compressed bytes as shipped).\n\
        ANTARES alerts carry no cutouts.";
    pub const VIEW: &str = "Examples:\n  \
        alertstream view --out pictures/ \\\n      \
        tests/data/ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro\n  \
        alertstream view tests/data/ztf --out pictures/ --picture-format svg\n\n\
        One file per alert: DIR/<alert id>.png. Cutouts with zscale limits and an asinh stretch\n\
        (NaN pixels magenta); the light curve with detections and error bars per band (ZTF fid\n\
        1 = g, 2 = r, 3 = i), upper limits as open triangles, forced photometry as open circles,\n\
        this alert's point crossed; magnitudes for ZTF, fluxes in nJy for Rubin.";
    pub const CONSUME: &str = "Examples:\n  \
        alertstream consume ztf --servers 127.0.0.1:9092 --group me \\\n      \
        --display --timeout 10\n  \
        alertstream consume '^fink_.*' --servers 127.0.0.1:9092 --group me \\\n      \
        --save alerts/ --timeout 10\n  \
        alertstream consume ztf,fink_sn --servers 127.0.0.1:9092 --group me2 \\\n      \
        --save alerts --layout topic --limit 1000 --timeout 10\n\n\
        Offsets are committed only after the alerts are on disk (--save) or printed; a restart\n\
        with the same --group resumes where the last run stopped. Ctrl-C or SIGTERM finishes the\n\
        batch, commits and exits 0 within 5 s; a second Ctrl-C exits at once. Undecodable\n\
        messages go raw to DIR/_quarantine/. --timeout counts from the first partition\n\
        assignment; a group that assigns none is reported while messages wait, and with\n\
        --timeout the run ends with exit 1 after max(--timeout, 3 sessions) without any.";
    pub const PUBLISH: &str = "Examples:\n  \
        alertstream publish --servers 127.0.0.1:9092 --topic ztf \\\n      \
        --wire-format ztf --create-topic tests/data/ztf\n  \
        alertstream publish --servers 127.0.0.1:9092 --topic fink_sn \\\n      \
        --wire-format fink --create-topic --repeat 10 --rate 500 tests/data/fink\n  \
        alertstream publish --servers 127.0.0.1:9092 --topic rubin \\\n      \
        --wire-format confluent --create-topic \\\n      \
        --schema-dir tests/data/rubin/schema tests/data/rubin/wire_format";
    pub const TOPICS: &str = "Examples:\n  \
        alertstream topics --servers 127.0.0.1:9092\n  \
        alertstream topics --servers 127.0.0.1:9092 --json";
    pub const LAG: &str = "Examples:\n  \
        alertstream lag --servers 127.0.0.1:9092 --group me\n  \
        alertstream lag --servers 127.0.0.1:9092 --group me --topic ztf --json";
    pub const RESET: &str = "Examples:\n  \
        alertstream reset --servers 127.0.0.1:9092 --group me --topic ztf \\\n      \
        --to earliest\n  \
        alertstream reset --servers 127.0.0.1:9092 --group me --topic ztf \\\n      \
        --to 2026-11-20T00:00:00Z";
    pub const REGISTER: &str = "Examples:\n  \
        alertstream auth register --profile ztf --broker fink-ztf --username me \\\n      \
        --group me_grp --servers 127.0.0.1:9092 --topics fink_sn_candidates_ztf\n  \
        echo s3cret | alertstream auth register --profile ant --broker antares \\\n      \
        --username KEY --group my_grp --topics extragalactic --password-stdin\n\n\
        `alertstream brokers` lists the presets.";
    pub const AUTH_NOTIFY: &str = "Examples:\n  \
        echo 123456:ABC | alertstream auth notify --profile ztf \\\n      \
        --telegram-token-stdin\n  \
        echo https://hooks.slack.com/services/T/B/X | alertstream auth notify \\\n      \
        --profile ztf --slack-webhook-stdin\n\n\
        Then `consume --profile ztf --notify telegram:CHAT_ID` (or --notify slack) finds it;\n\
        ALERTSTREAM_TELEGRAM_TOKEN and ALERTSTREAM_SLACK_WEBHOOK_URL win over it.";
    pub const THUMBNAILS: &str = "Examples:\n  \
        alertstream thumbnails ztf_candidate:1234567890 --out thumbs/\n  \
        alertstream thumbnails ztf_candidate:42 --out thumbs/ --json\n\n\
        One image per thumbnail ANTARES keeps (science, template, difference), named as\n\
        ANTARES names it, as antares-client's get_thumbnails fetches them.";
    pub const BROKERS: &str = "Examples:\n  \
        alertstream brokers\n  \
        alertstream brokers --json\n\n\
        A preset is one flag away: consume, topics, lag and publish take --broker NAME\n\
        (credentials: --username, and ALERTSTREAM_PASSWORD or --password-stdin).";
    pub const SERVE: &str = "Examples:\n  \
        alertstream serve tests/data --listen 127.0.0.1:0 --duration 2\n  \
        alertstream serve tests/data/ztf --listen 127.0.0.1:0 --duration 2\n\n\
        Open the address it prints in a browser on this machine: the alerts newest first with\n\
        their thumbnails; sort, search by object, filter with --where expressions; an alert's\n\
        picture, fields and broker portals. New alerts appear as `consume --save DIR` saves\n\
        them (or run `consume --save DIR --serve ADDR`, which adds /metrics and /health).";
    pub const DEMO: &str = "Examples:\n  \
        alertstream demo\n  \
        alertstream demo --servers 127.0.0.1:9092 --dir demo-alerts\n\n\
        The second runs against a broker on this machine (scripts/tansu.sh start).";
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode alert files to JSON Lines: one full record per line on stdout
    #[command(after_help = examples::DECODE)]
    Decode(DecodeArgs),
    /// Show a table of alerts: object, alert id, time, position, band, brightness, history, cutouts
    #[command(after_help = examples::INSPECT)]
    Inspect(InspectArgs),
    /// Turn saved alerts into one table (Parquet, Arrow IPC or CSV) for pandas, polars, DuckDB, Spark
    #[command(after_help = examples::TABLE)]
    Table(TableArgs),
    /// Write each alert's cutouts (science, template, difference) as FITS files
    #[command(after_help = examples::CUTOUTS)]
    Cutouts(CutoutsArgs),
    /// Draw a picture of each alert: its three cutouts above its light curve
    #[command(after_help = examples::VIEW)]
    View(ViewArgs),
    /// Consume alert topics from a Kafka broker: display, save durably, resume in a group
    #[command(after_help = examples::CONSUME)]
    Consume(Box<ConsumeArgs>),
    /// Publish alert files to a topic in a broker's wire format (simulate a survey's stream)
    #[command(after_help = examples::PUBLISH)]
    Publish(PublishArgs),
    /// List the broker's topics with their partition counts
    #[command(after_help = examples::TOPICS)]
    Topics(TopicsArgs),
    /// Show a group's committed offset, high watermark and lag per partition
    #[command(after_help = examples::LAG)]
    Lag(LagArgs),
    /// Move a group's committed offsets (stop its consumers first)
    #[command(after_help = examples::RESET)]
    Reset(ResetArgs),
    /// Fetch ANTARES alerts' thumbnails (cutout images) from its API
    #[command(after_help = examples::THUMBNAILS)]
    Thumbnails(ThumbnailsArgs),
    /// List the brokers alertstream knows: servers, security, format, topics
    #[command(after_help = examples::BROKERS)]
    Brokers(BrokersArgs),
    /// Register, show, list and remove broker profiles (credentials stored 0600)
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Serve a live web view of a folder of saved alerts (list, pictures, fields, filters)
    #[command(after_help = examples::SERVE)]
    Serve(ServeArgs),
    /// Run a whole stream on the bundled alerts: embedded broker, publish, consume, save
    #[command(after_help = examples::DEMO)]
    Demo(DemoArgs),
}

pub fn parse() -> Cli {
    Cli::parse()
}
