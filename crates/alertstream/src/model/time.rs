//! Observation times and their scales, and conversion to UTC for display.

use std::fmt;

/// Seconds TAI is ahead of UTC since 2017-01-01 (valid for every Rubin alert).
const TAI_MINUS_UTC: f64 = 37.0;
const JD_UNIX_EPOCH: f64 = 2_440_587.5;
const MJD_UNIX_EPOCH: f64 = 40_587.0;

/// The time scale and reference of an observation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeScale {
    /// Julian Date, UTC (ZTF `jd`).
    JdUtc,
    /// Modified Julian Date, UTC (ANTARES `mjd`).
    MjdUtc,
    /// Modified Julian Date, TAI (Rubin `midpointMjdTai`).
    MjdTai,
}

/// An observation time as the survey gives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Time {
    pub value: f64,
    pub scale: TimeScale,
}

impl Time {
    pub fn jd_utc(value: f64) -> Self {
        Time {
            value,
            scale: TimeScale::JdUtc,
        }
    }

    pub fn mjd_utc(value: f64) -> Self {
        Time {
            value,
            scale: TimeScale::MjdUtc,
        }
    }

    pub fn mjd_tai(value: f64) -> Self {
        Time {
            value,
            scale: TimeScale::MjdTai,
        }
    }

    /// Seconds since 1970-01-01T00:00:00 UTC.
    pub fn unix_seconds(&self) -> f64 {
        match self.scale {
            TimeScale::JdUtc => (self.value - JD_UNIX_EPOCH) * 86_400.0,
            TimeScale::MjdUtc => (self.value - MJD_UNIX_EPOCH) * 86_400.0,
            TimeScale::MjdTai => (self.value - MJD_UNIX_EPOCH) * 86_400.0 - TAI_MINUS_UTC,
        }
    }

    /// Modified Julian Date in UTC (Rubin's TAI converted).
    pub fn to_mjd_utc(&self) -> f64 {
        unix_to_mjd(self.unix_seconds())
    }

    /// ISO 8601 UTC, to the millisecond: `2019-11-12T10:31:07.123Z`.
    pub fn to_utc_string(&self) -> String {
        format_unix_utc(self.unix_seconds())
    }

    /// Short name of the scale, e.g. `JD(UTC)`.
    pub fn scale_name(&self) -> &'static str {
        match self.scale {
            TimeScale::JdUtc => "JD(UTC)",
            TimeScale::MjdUtc => "MJD(UTC)",
            TimeScale::MjdTai => "MJD(TAI)",
        }
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_utc_string())
    }
}

/// Unix seconds as a Modified Julian Date (UTC).
pub fn unix_to_mjd(seconds: f64) -> f64 {
    seconds / 86_400.0 + MJD_UNIX_EPOCH
}

/// Formats Unix seconds as ISO 8601 UTC, to the millisecond.
pub fn format_unix_utc(seconds: f64) -> String {
    let millis = (seconds * 1000.0).round();
    if !millis.is_finite() || millis.abs() >= i64::MAX as f64 {
        return "invalid time".to_owned();
    }
    match chrono::DateTime::from_timestamp_millis(millis as i64) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => "invalid time".to_owned(),
    }
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]][Z]` (UTC) or an integer
/// count of milliseconds since the Unix epoch; returns milliseconds. A date
/// that does not exist (2026-02-31) is refused.
pub fn parse_utc_millis(s: &str) -> Option<i64> {
    use chrono::{NaiveDate, NaiveDateTime};
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    let time = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    Some(time.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_epoch_and_known_dates() {
        assert_eq!(format_unix_utc(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Time::jd_utc(2_451_545.0).to_utc_string(),
            "2000-01-01T12:00:00.000Z"
        );
        assert_eq!(
            Time::mjd_utc(60_000.0).to_utc_string(),
            "2023-02-25T00:00:00.000Z"
        );
        assert_eq!(
            Time::mjd_tai(60_000.0).to_utc_string(),
            "2023-02-24T23:59:23.000Z"
        );
        assert_eq!(format_unix_utc(951_782_400.0), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn parsing_utc_times_round_trips_with_formatting() {
        for text in [
            "2000-02-29T00:00:00.000Z",
            "2026-11-21T22:15:03.250Z",
            "1969-07-20T20:17:40.000Z",
        ] {
            let ms = parse_utc_millis(text).unwrap();
            assert_eq!(format_unix_utc(ms as f64 / 1000.0), text);
        }
        assert_eq!(parse_utc_millis("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_utc_millis("1700000000000"), Some(1_700_000_000_000));
        assert_eq!(parse_utc_millis("2026-13-01"), None);
        assert_eq!(parse_utc_millis("2026-02-31T00:00:00Z"), None);
        assert_eq!(parse_utc_millis("2026-02-28T24:00:00Z"), None);
        assert_eq!(
            parse_utc_millis("2024-02-29T12:30"),
            Some(1_709_209_800_000)
        );
        assert_eq!(parse_utc_millis("yesterday"), None);
    }
}
