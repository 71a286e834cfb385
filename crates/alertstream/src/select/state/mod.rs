//! Where de-duplication keeps what it has seen: claims on keys (an alert id,
//! an object id), each held by one copy of an alert (its topic, partition
//! and offset) with the observation time it was kept at. A local SQLite
//! file by default; a Redis (or Valkey) server for the members of one group
//! spread over several machines (cargo feature `redis`).
//!
//! A claim is made when an alert is kept, before it is durable. If the run
//! dies before that, the alert's offset was not committed: the same copy
//! comes again, finds its own claim, and is kept. So a duplicate is dropped
//! only when its first copy is (or will be, on re-delivery) kept: the state
//! agrees with the commits.

#[cfg(feature = "redis")]
mod redis_claims;
mod sqlite;

#[cfg(feature = "redis")]
pub use redis_claims::RedisClaims;
pub use sqlite::SqliteClaims;

use crate::error::Result;

/// How long claims are kept (wall-clock) beyond their window, so that
/// state does not grow without end.
pub const RETENTION_DAYS: f64 = 30.0;

/// A claim on a key.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim<'a> {
    pub key: &'a str,
    /// The copy of the alert that claims it.
    pub holder: &'a str,
    /// Observation time, MJD.
    pub time: f64,
    /// Days after which another holder may claim the key (`None`: never).
    pub window: Option<f64>,
}

/// A store of claims shared by the processes that use it.
pub trait Claims: Send {
    /// True when the key is (now) this holder's: no claim yet, this
    /// holder's claim, or a claim older than the window (replaced).
    fn claim(&mut self, claim: &Claim<'_>) -> Result<bool>;

    /// Where the claims are, for messages.
    fn place(&self) -> String;
}

/// Opens the store `location` names: `redis://HOST:PORT[/DB]` (or
/// `rediss://`), else a SQLite file path (`sqlite:PATH` too).
pub fn open(location: &str) -> Result<Box<dyn Claims>> {
    if location.starts_with("redis://") || location.starts_with("rediss://") {
        #[cfg(feature = "redis")]
        return Ok(Box::new(RedisClaims::open(location)?));
        #[cfg(not(feature = "redis"))]
        return Err(crate::error::Error::State {
            place: location.to_owned(),
            reason: "this build of alertstream has no Redis support (cargo feature `redis`)".into(),
        });
    }
    let path = location.strip_prefix("sqlite:").unwrap_or(location);
    Ok(Box::new(SqliteClaims::open(std::path::Path::new(path))?))
}

/// Seconds a claim is kept for, wall-clock.
pub(crate) fn retention_seconds(window: Option<f64>) -> u64 {
    ((window.unwrap_or(0.0) + RETENTION_DAYS) * 86_400.0) as u64
}
