//! Each alert and each object once: the same alert id received on several
//! topics is kept once (`dedupe`), and at most one alert per object per
//! window of observation time (`per_object`, as Lasair's rate-limited
//! consumer does). Claims are kept in a shared store (see [`super::state`]).

use super::state::{Claim, Claims};
use crate::error::Result;
use crate::model::alert::Alert;

/// What makes an alert a repeat.
pub struct Once {
    /// The same alert id seen before is a repeat.
    pub dedupe: bool,
    /// An object kept within this many days (observation time) is a repeat.
    pub per_object: Option<f64>,
    claims: Box<dyn Claims>,
    /// Keys are `<prefix>alert:<id>` and `<prefix>object:<id>`.
    prefix: String,
    /// Copies of alerts read without Kafka coordinates, numbered.
    local: u64,
}

impl std::fmt::Debug for Once {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Once")
            .field("dedupe", &self.dedupe)
            .field("per_object", &self.per_object)
            .field("state", &self.claims.place())
            .finish()
    }
}

impl Once {
    /// `prefix` scopes the keys (a consumer group's name: groups do not
    /// share their repeats).
    pub fn new(
        dedupe: bool,
        per_object: Option<f64>,
        claims: Box<dyn Claims>,
        prefix: &str,
    ) -> Self {
        Once {
            dedupe,
            per_object,
            claims,
            prefix: format!("alertstream:{prefix}:"),
            local: 0,
        }
    }

    /// True when the alert is a repeat (dropped); false when it is kept,
    /// its claims made.
    pub fn is_repeat(&mut self, alert: &Alert) -> Result<bool> {
        let holder = match alert.kafka() {
            Some(k) => format!("{}/{}/{}", k.topic, k.partition, k.offset),
            None => {
                self.local += 1;
                format!("local/{}/{}", std::process::id(), self.local)
            }
        };
        let time = alert
            .time()
            .map(|t| t.to_mjd_utc())
            .unwrap_or_else(|| crate::model::time::unix_to_mjd(now()));
        if self.dedupe {
            if let Some(id) = alert.alert_id() {
                let key = format!("{}alert:{id}", self.prefix);
                let claim = Claim {
                    key: &key,
                    holder: &holder,
                    time,
                    window: None,
                };
                if !self.claims.claim(&claim)? {
                    return Ok(true);
                }
            }
        }
        if let (Some(window), Some(id)) = (self.per_object, alert.object_id()) {
            let key = format!("{}object:{id}", self.prefix);
            let claim = Claim {
                key: &key,
                holder: &holder,
                time,
                window: Some(window),
            };
            if !self.claims.claim(&claim)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A duration as written: `1d`, `12h`, `30m`, `90s`, `2w`; in days.
pub fn parse_duration_days(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic())?);
    let value: f64 = number.trim().parse().ok().filter(|v: &f64| *v >= 0.0)?;
    let per_day = match unit {
        "w" => 1.0 / 7.0,
        "d" => 1.0,
        "h" => 24.0,
        "m" | "min" => 1440.0,
        "s" => 86_400.0,
        _ => return None,
    };
    Some(value / per_day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_as_users_write_them() {
        assert_eq!(super::parse_duration_days("1d"), Some(1.0));
        assert_eq!(super::parse_duration_days("12h"), Some(0.5));
        assert_eq!(super::parse_duration_days("2w"), Some(14.0));
        assert_eq!(super::parse_duration_days("90s"), Some(90.0 / 86_400.0));
        assert_eq!(super::parse_duration_days("1"), None);
        assert_eq!(super::parse_duration_days("1y"), None);
    }
}
