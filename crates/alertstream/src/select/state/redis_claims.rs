//! Claims in a Redis (or Valkey) server shared by the members of a group
//! on several machines: one atomic Lua script per claim, so two processes
//! never both take a key.

use super::{retention_seconds, Claim, Claims};
use crate::error::{Error, Result};

/// GET the key; keep it when this holder has it; refuse when another holder
/// has it within the window; else SET it with an expiry.
const CLAIM: &str = r"
local v = redis.call('GET', KEYS[1])
if v then
  local sep = string.find(v, '|', 1, true)
  if string.sub(v, 1, sep - 1) == ARGV[1] then return 1 end
  if ARGV[3] == '' then return 0 end
  if tonumber(ARGV[2]) < tonumber(string.sub(v, sep + 1)) + tonumber(ARGV[3]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'EX', ARGV[4])
return 1
";

pub struct RedisClaims {
    connection: redis::Connection,
    script: redis::Script,
    place: String,
}

impl RedisClaims {
    pub fn open(url: &str) -> Result<RedisClaims> {
        // Never the password in messages: the address only.
        let place = redact(url);
        let fail = |e: redis::RedisError| Error::State {
            place: place.clone(),
            reason: e.to_string(),
        };
        let client = redis::Client::open(url).map_err(fail)?;
        let connection = client
            .get_connection_with_timeout(std::time::Duration::from_secs(10))
            .map_err(fail)?;
        Ok(RedisClaims {
            connection,
            script: redis::Script::new(CLAIM),
            place,
        })
    }
}

/// `redis://user:secret@host:port/0` as `redis://host:port/0`.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://{}", &url[at + 1..]),
        _ => url.to_owned(),
    }
}

impl Claims for RedisClaims {
    fn claim(&mut self, claim: &Claim<'_>) -> Result<bool> {
        let window = claim.window.map(|w| w.to_string()).unwrap_or_default();
        let taken: i64 = self
            .script
            .key(claim.key)
            .arg(claim.holder)
            .arg(claim.time)
            .arg(window)
            .arg(retention_seconds(claim.window))
            .invoke(&mut self.connection)
            .map_err(|e| Error::State {
                place: self.place.clone(),
                reason: e.to_string(),
            })?;
        Ok(taken == 1)
    }

    fn place(&self) -> String {
        self.place.clone()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_show() {
        assert_eq!(
            super::redact("redis://me:s3cret@host:6379/0"),
            "redis://host:6379/0"
        );
        assert_eq!(super::redact("redis://host:6379"), "redis://host:6379");
    }
}
