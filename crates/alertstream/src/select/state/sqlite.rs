//! Claims in a local SQLite file (bundled SQLite): one row per key, each
//! claim in its own transaction (WAL, no fsync per commit: a process that
//! dies keeps what it wrote; a machine that loses power may forget recent
//! claims, which re-keeps a copy, never loses one).

use super::{retention_seconds, Claim, Claims};
use crate::error::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;

/// How long a process waits for another one's transaction on the file.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub struct SqliteClaims {
    connection: Connection,
    place: String,
}

impl SqliteClaims {
    pub fn open(path: &Path) -> Result<SqliteClaims> {
        let place = path.display().to_string();
        let fail = |e: rusqlite::Error| Error::State {
            place: place.clone(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let connection = Connection::open(path).map_err(fail)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 CREATE TABLE IF NOT EXISTS claims (
                     key TEXT PRIMARY KEY, holder TEXT NOT NULL,
                     time REAL NOT NULL, expires REAL NOT NULL);",
            )
            .map_err(fail)?;
        connection
            .execute("DELETE FROM claims WHERE expires < ?1", params![now()])
            .map_err(fail)?;
        Ok(SqliteClaims { connection, place })
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Claims for SqliteClaims {
    fn claim(&mut self, claim: &Claim<'_>) -> Result<bool> {
        let place = self.place.clone();
        let fail = move |e: rusqlite::Error| Error::State {
            place: place.clone(),
            reason: e.to_string(),
        };
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&fail)?;
        let held: Option<(String, f64)> = tx
            .query_row(
                "SELECT holder, time FROM claims WHERE key = ?1",
                params![claim.key],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(&fail)?;
        let mine = match held {
            Some((holder, _)) if holder == claim.holder => return Ok(true),
            Some((_, time)) => claim.window.is_some_and(|w| claim.time >= time + w),
            None => true,
        };
        if mine {
            let expires = now() + retention_seconds(claim.window) as f64;
            tx.execute(
                "INSERT OR REPLACE INTO claims (key, holder, time, expires) VALUES (?1, ?2, ?3, ?4)",
                params![claim.key, claim.holder, claim.time, expires],
            )
            .map_err(&fail)?;
            tx.commit().map_err(&fail)?;
        }
        Ok(mine)
    }

    fn place(&self) -> String {
        self.place.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_held_by_its_first_copy_and_freed_after_the_window() {
        let dir = std::env::temp_dir().join(format!("alertstream-claims-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("state.sqlite");
        let claim = |key, holder, time| Claim {
            key,
            holder,
            time,
            window: Some(1.0),
        };
        let mut a = SqliteClaims::open(&path).unwrap();
        assert!(a.claim(&claim("obj:1", "t/0/5", 60000.0)).unwrap());
        // Another process on the same file sees the claim.
        let mut b = SqliteClaims::open(&path).unwrap();
        assert!(!b.claim(&claim("obj:1", "u/3/9", 60000.5)).unwrap());
        // The first copy delivered again is still the holder.
        assert!(b.claim(&claim("obj:1", "t/0/5", 60000.0)).unwrap());
        // After the window, a new alert of the object is kept.
        assert!(b.claim(&claim("obj:1", "u/3/10", 60001.0)).unwrap());
        assert!(!a.claim(&claim("obj:1", "t/0/5", 60000.0)).unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
