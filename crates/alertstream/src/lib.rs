//! # alertstream
//!
//! Receive, decode, look at and keep the alerts of astronomical alert
//! brokers: ZTF, Fink, Rubin/LSST and ANTARES. The modules follow the path of
//! one alert (see `ARCHITECTURE.md`):
//!
//! - [`kafka`]: connection, consumer, publisher, admin calls, profiles;
//! - [`decode`]: payload bytes (+ key) into alerts, with the writer schema;
//! - [`model`]: the decoded alert and its survey-aware accessors;
//! - [`select`]: the alerts that matter: expressions, sky regions,
//!   watchlists, each alert and object once;
//! - [`sink`]: where alerts go: durable files in batches, Parquet, a handler;
//! - [`table`]: alerts as Arrow record batches and Parquet files;
//! - [`pipeline`]: poll, hand to a sink, commit only what is durable.
//!
//! Below them: [`avro`] (container framing, decode plans), [`limits`] (what
//! one payload may cost), [`durable`] (files that appear whole or not at
//! all), [`names`] (settings named by words) and [`error`].
//!
//! ```
//! use alertstream::{Decoder, DecoderOptions};
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro");
//! let decoder = Decoder::new(DecoderOptions::default())?;
//! let alerts = decoder.decode_file(path.as_ref()).into_result()?;
//! let alert = &alerts[0];
//! assert_eq!(alert.object_id().unwrap().to_string(), "ZTF17aaajnnn");
//! println!("{} at ra={:?} {}", alert.alert_id().unwrap(), alert.ra(), alert.time().unwrap());
//! # Ok::<(), alertstream::Error>(())
//! ```

#[cfg(feature = "api")]
pub mod api;
pub mod avro;
pub mod decode;
pub mod durable;
pub mod error;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod limits;
pub mod model;
pub mod names;
#[cfg(feature = "notify")]
pub mod notify;
#[cfg(feature = "picture")]
pub mod picture;
#[cfg(feature = "kafka")]
pub mod pipeline;
#[cfg(feature = "profiles")]
pub mod profile;
#[cfg(feature = "select")]
pub mod select;
#[cfg(feature = "serve")]
pub mod serve;
pub mod sink;
#[cfg(feature = "table")]
pub mod table;

pub use decode::schemas::SchemaCache;
pub use decode::{Decoded, Decoder, DecoderOptions, Failure};
pub use error::{Error, PoisonMessage, Result};
pub use model::alert::{Alert, Brightness, Id, KafkaMeta, Matches, Point, Survey};
pub use model::format::Format;
pub use model::schema::WriterSchema;
pub use model::stamp::Cutout;
pub use model::time::{Time, TimeScale};
pub use model::value::{Datum, Logical, Value};
