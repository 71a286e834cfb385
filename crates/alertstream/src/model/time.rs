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
        self.unix_seconds() / 86_400.0 + MJD_UNIX_EPOCH
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

/// Formats Unix seconds as ISO 8601 UTC (proleptic Gregorian calendar).
pub fn format_unix_utc(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "invalid time".to_owned();
    }
    let millis = (seconds * 1000.0).round() as i64;
    let (days, ms_of_day) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
    let (min, rest) = (rest / 60_000, rest % 60_000);
    format!(
        "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{:02}.{:03}Z",
        rest / 1000,
        rest % 1000
    )
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]][Z]` (UTC) or an integer
/// count of milliseconds since the Unix epoch; returns milliseconds.
pub fn parse_utc_millis(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = s.split_once(['T', ' ']).unwrap_or((s, "00:00"));
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut t = time.splitn(3, ':');
    let h: i64 = t.next()?.parse().ok().filter(|h| (0..24).contains(h))?;
    let min: i64 = t.next()?.parse().ok().filter(|m| (0..60).contains(m))?;
    let sec: f64 = t
        .next()
        .map_or(Some(0.0), |x| x.parse().ok())
        .filter(|s| (0.0..61.0).contains(s))?;
    let days = days_from_civil(y, m as u32, day as u32);
    Some((days * 86_400 + h * 3600 + min * 60) * 1000 + (sec * 1000.0).round() as i64)
}

/// (year, month, day) to days since 1970-01-01: Howard Hinnant's algorithm.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
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
        assert_eq!(parse_utc_millis("yesterday"), None);
    }
}
