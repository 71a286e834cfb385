//! Option groups that several commands share, flattened into each: how to
//! read payloads (format, schemas, limits), and how to reach a broker.

use alertstream::api::antares::applicable;
use alertstream::decode::Limits;
use alertstream::kafka::security::{Mechanism, Protocol, Secret};
use alertstream::kafka::Connection;
use alertstream::names::Named;
use alertstream::profile::{with_prefix, Profile, Resolved, Store};
use alertstream::{DecoderOptions, Format};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use std::path::PathBuf;

/// A value parser for a setting named by words: the accepted words listed
/// in `--help` and in the error, parsed by the library.
pub fn words<
    T: Named + std::str::FromStr<Err = alertstream::names::UnknownName> + Clone + Send + Sync,
>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::names()).try_map(|s| s.parse::<T>())
}

/// Where writer schemas come from.
#[derive(Debug, Args, Clone, Default)]
pub struct SchemaArgs {
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

/// Bounds on what one payload may cost (a corrupt or hostile message is
/// an error, not an exhausted memory or stack).
#[derive(Debug, Args, Clone)]
pub struct LimitArgs {
    /// Largest size a payload may inflate to, all its gzip layers together
    #[arg(long, value_name = "MB", default_value_t = Limits::default().max_inflated >> 20)]
    pub max_inflated_mb: usize,
    /// Most gzip layers around one payload
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_gzip_layers)]
    pub max_gzip_layers: usize,
    /// Deepest nesting of records, arrays and maps
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth)]
    pub max_depth: usize,
    /// Largest decompressed block of an Avro container
    #[arg(long, value_name = "MB", default_value_t = Limits::default().max_block_bytes >> 20)]
    pub max_block_mb: usize,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        limits.max_inflated = self.max_inflated_mb.saturating_mul(1 << 20);
        limits.max_gzip_layers = self.max_gzip_layers;
        limits.max_depth = self.max_depth;
        limits.max_block_bytes = self.max_block_mb.saturating_mul(1 << 20);
        limits
    }
}

/// How to read payloads: format, where writer schemas come from, limits.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Payload format; detected per message or file when omitted
    #[arg(long, value_parser = words::<Format>())]
    pub format: Option<Format>,
    #[command(flatten)]
    pub schemas: SchemaArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

impl FormatArgs {
    pub fn decoder_options(&self) -> DecoderOptions {
        let mut options = schema_options(&self.schemas).with_limits(self.limits.limits());
        options.format = self.format;
        options
    }
}

/// Decoder options with the schemas given, the rest default.
pub fn schema_options(schemas: &SchemaArgs) -> DecoderOptions {
    let mut options = DecoderOptions::default();
    options.schema_file = schemas.schema.clone();
    options.schema_dir = schemas.schema_dir.clone();
    options.schema_registry = schemas.schema_registry.clone();
    options
}

/// Address and credentials of a broker.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Bootstrap servers, HOST:PORT[,HOST:PORT] (default: from the profile)
    #[arg(long, value_name = "HOST:PORT")]
    pub servers: Option<String>,
    /// Security protocol (default: the profile's, else PLAINTEXT)
    #[arg(long, value_parser = words::<Protocol>(), ignore_case = true, value_name = "PROTOCOL")]
    pub security_protocol: Option<Protocol>,
    /// SASL mechanism (default: the profile's, else SCRAM-SHA-512)
    #[arg(long, value_parser = words::<Mechanism>(), ignore_case = true, value_name = "MECHANISM")]
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
    /// OIDC token endpoint of SASL OAUTHBEARER (username = client id, password = client secret)
    #[arg(long, value_name = "URL")]
    pub oauth_token_url: Option<String>,
}

/// Connection to a broker.
#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// Registered profile to use (alertstream auth register); flags override it
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// A broker's preset, without a profile (`alertstream brokers` lists them);
    /// credentials from --username and ALERTSTREAM_PASSWORD or --password-stdin
    #[arg(long, value_name = "NAME", conflicts_with = "profile")]
    pub broker: Option<String>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Give up with an error when no broker answers within this many seconds
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS", value_parser = seconds)]
    pub connect_timeout: f64,
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
        let given = &self.connection;
        let resolved = self.profile()?;
        let servers = given.servers.clone().or(resolved.servers.clone()).ok_or_else(|| {
            match resolved.preset {
                Some(p) => anyhow::anyhow!(
                    "{} has no public address ({}): pass --servers HOST:PORT",
                    p.name,
                    p.note
                ),
                None => anyhow::anyhow!(
                    "no broker address: pass --servers HOST:PORT, --broker NAME (see `alertstream brokers`), or --profile NAME after `alertstream auth register`"
                ),
            }
        })?;
        let mut security = resolved.security.clone();
        if let Some(p) = given.security_protocol {
            security.protocol = p;
        }
        if let Some(m) = given.sasl_mechanism {
            security.mechanism = m;
        }
        if let Some(u) = &given.username {
            security.username = Some(u.clone());
        }
        // ALERTSTREAM_PASSWORD was applied by the profile's resolution.
        if given.password_stdin {
            security.password = Some(read_password_line()?);
        }
        if let Some(ca) = &given.ssl_ca_location {
            security.ssl_ca_location = Some(ca.clone());
        }
        if let Some(url) = &given.oauth_token_url {
            security.token_url = Some(url.clone());
        }
        if self.insecure_skip_tls_verify {
            eprintln!("alertstream: WARNING: TLS certificate and host-name verification is OFF (--insecure-skip-tls-verify)");
            security.skip_tls_verification = true;
        }
        let backup = resolved.preset.and_then(|p| p.backup_servers);
        let mut connection = Connection::new(servers);
        connection.security = security;
        connection.properties = resolved.properties();
        self.apply_remote_options(&resolved, &mut connection);
        connection
            .properties
            .extend(self.properties.iter().cloned());
        connection.connect_timeout = self.connect_timeout();
        if given.servers.is_none() {
            connection.backup_servers = backup.map(str::to_owned);
        }
        Ok(Target {
            connection,
            profile: resolved,
        })
    }

    /// The options the broker's API serves (ANTARES'), over the preset's
    /// and under the flags the user gave; none when --servers names another
    /// deployment. A failed fetch leaves the preset's settings, with a warning.
    fn apply_remote_options(&self, resolved: &Resolved, connection: &mut Connection) {
        if self.connection.servers.is_some() {
            return;
        }
        let Some(fetched) = resolved.remote_options() else {
            return;
        };
        let options = match fetched {
            Ok(options) => options,
            Err(e) => {
                eprintln!("alertstream: warning: cannot fetch the broker's streaming options ({e}); using the preset's settings");
                return;
            }
        };
        let flags = &self.connection;
        let given: Vec<&str> = [
            (flags.security_protocol.is_some(), "security.protocol"),
            (flags.sasl_mechanism.is_some(), "sasl.mechanism"),
            (flags.sasl_mechanism.is_some(), "sasl.mechanisms"),
            (flags.ssl_ca_location.is_some(), "ssl.ca.location"),
        ]
        .into_iter()
        .filter_map(|(set, key)| set.then_some(key))
        .collect();
        for (key, value) in applicable(options, &given) {
            if key == "bootstrap.servers" {
                connection.servers = value;
            } else {
                connection.properties.push((key, value));
            }
        }
    }

    fn profile(&self) -> anyhow::Result<Resolved> {
        if let Some(broker) = &self.broker {
            return Ok(Profile::of_broker(broker)?.resolve(None)?);
        }
        let store = Store::default_location()?;
        let (profile, password) = store
            .choose(self.profile.as_deref(), self.connection.servers.is_some())?
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

/// A number of seconds: finite and not negative.
pub fn seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..1e12).contains(&v) => Ok(v),
        _ => Err(format!(
            "expected a number of seconds (0 or more), got '{s}'"
        )),
    }
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got '{s}'"))
}
