//! A rate limit per destination (`N/s`, `N/min`, `N/h`) as a token bucket
//! holding at most N messages.

use crate::error::{Error, Result};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// At most `count` messages per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

impl Rate {
    pub fn per_second(count: u32) -> Rate {
        Rate {
            count,
            period: Duration::from_secs(1),
        }
    }
}

impl FromStr for Rate {
    type Err = Error;

    /// `1/s`, `20/min`, `100/h`.
    fn from_str(text: &str) -> Result<Rate> {
        let bad = || {
            Error::Config(format!(
                "rate '{text}': expected N/s, N/min or N/h, N at least 1"
            ))
        };
        let (count, unit) = text.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let seconds = match unit.trim() {
            "s" | "sec" | "second" => 1,
            "min" | "m" | "minute" => 60,
            "h" | "hour" => 3600,
            _ => return Err(bad()),
        };
        if count == 0 {
            return Err(bad());
        }
        Ok(Rate {
            count,
            period: Duration::from_secs(seconds),
        })
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.period.as_secs() {
            1 => "s",
            60 => "min",
            3600 => "h",
            _ => return write!(f, "{}/{}s", self.count, self.period.as_secs_f64()),
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// Tokens refilled continuously at the rate, at most `count` held.
#[derive(Debug)]
pub(crate) struct Bucket {
    rate: Option<Rate>,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn new(rate: Option<Rate>) -> Bucket {
        Bucket {
            rate,
            tokens: rate.map_or(0.0, |r| f64::from(r.count)),
            at: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        if let Some(rate) = self.rate {
            let per_second = f64::from(rate.count) / rate.period.as_secs_f64();
            let gained = now.saturating_duration_since(self.at).as_secs_f64() * per_second;
            self.tokens = (self.tokens + gained).min(f64::from(rate.count));
        }
        self.at = now;
    }

    /// Whether a token is there (always, without a rate), without taking it.
    pub fn ready(&mut self, now: Instant) -> bool {
        if self.rate.is_none() {
            return true;
        }
        self.refill(now);
        self.tokens >= 1.0
    }

    /// Takes a token if there is one (always, without a rate).
    pub fn take(&mut self, now: Instant) -> bool {
        if self.rate.is_none() {
            return true;
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until a token is there.
    pub fn wait(&mut self, now: Instant) -> Duration {
        let Some(rate) = self.rate else {
            return Duration::ZERO;
        };
        self.refill(now);
        let missing = (1.0 - self.tokens).max(0.0);
        rate.period.mul_f64(missing / f64::from(rate.count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print() {
        assert_eq!("1/s".parse::<Rate>().unwrap(), Rate::per_second(1));
        assert_eq!("20/min".parse::<Rate>().unwrap().to_string(), "20/min");
        assert!("0/s".parse::<Rate>().is_err());
        assert!("3 per day".parse::<Rate>().is_err());
    }

    #[test]
    fn a_bucket_lets_through_its_count_then_waits() {
        let mut bucket = Bucket::new(Some("2/s".parse().unwrap()));
        let t = Instant::now();
        assert!(bucket.take(t) && bucket.take(t));
        assert!(!bucket.take(t));
        let wait = bucket.wait(t);
        assert!(
            wait > Duration::from_millis(400) && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        assert!(bucket.take(t + Duration::from_millis(500)));
        assert!(Bucket::new(None).take(t));
    }
}
