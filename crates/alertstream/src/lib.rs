//! # alertstream
//!
//! Decode, inspect and (soon) stream the alerts of astronomical alert brokers:
//! ZTF, Fink, Rubin/LSST and ANTARES. See `ARCHITECTURE.md` for the map.
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

pub mod admin;
pub mod alert;
pub mod avro;
mod broker;
pub mod decode;
pub mod document;
pub mod error;
pub mod format;
pub mod profile;
pub mod publish;
pub mod schema;
pub mod security;
pub mod sink;
pub mod source;
pub mod time;
pub mod value;
pub mod view;

pub use alert::{Alert, Brightness, Cutout, Id, KafkaMeta, Point, Survey};
pub use broker::set_verbose;
pub use decode::{Decoded, Decoder, DecoderOptions, Failure};
pub use error::{Error, Result};
pub use format::Format;
pub use schema::{SchemaCache, WriterSchema};
pub use time::{Time, TimeScale};
pub use value::{Datum, Value};
