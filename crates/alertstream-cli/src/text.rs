//! The text rows the commands print: the `inspect` table and the
//! `consume --display` line.

use alertstream::model::alert::MATCH_FIELDS;
use alertstream::model::summary::{IdJson, Summary, ADDED_VALUE_FIELDS};
use alertstream::model::time::format_unix_utc;
use alertstream::Alert;

/// Column header of the `inspect` table (OBJECT fits Rubin's 19-digit ids).
pub fn table_header() -> String {
    format!(
        "{:<19} {:>20} {:<24} {:>10} {:>10} {:<4} {:>22} {:>4} {:<7}",
        "OBJECT", "ALERT", "TIME (UTC)", "RA", "DEC", "BAND", "MAG / FLUX", "PREV", "CUTOUTS"
    )
}

/// One row of the `inspect` table.
pub fn table_row(s: &Summary) -> String {
    let id = |i: &Option<IdJson>| match i {
        Some(IdJson::Int(v)) => v.to_string(),
        Some(IdJson::Text(t)) => t.clone(),
        None => "-".to_owned(),
    };
    let num = |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
    let brightness = match (s.mag, s.flux_njy) {
        (Some(m), _) => format!("{m:.3}±{} mag", num(s.mag_err, 3)),
        (None, Some(f)) => format!("{f:.1}±{} nJy", num(s.flux_err_njy, 1)),
        _ => "-".to_owned(),
    };
    let cutouts: String = s
        .cutouts
        .iter()
        .map(|c| c[..1].to_ascii_uppercase())
        .collect();
    format!(
        "{:<19} {:>20} {:<24} {:>10} {:>10} {:<4} {:>22} {:>4} {:<7}",
        id(&s.object_id),
        id(&s.alert_id),
        s.time_utc.as_deref().unwrap_or("-"),
        num(s.ra, 5),
        num(s.dec, 5),
        s.band.as_deref().unwrap_or("-"),
        brightness,
        s.previous_detections,
        if cutouts.is_empty() {
            "-".to_owned()
        } else {
            cutouts
        },
    )
}

/// The `consume --display` line: `emitted  received  topic  object  alert
/// brightness  [fink fields]`, `received` in seconds since the Unix epoch.
pub fn display_line(alert: &Alert, received: f64) -> String {
    let dash = || "-".to_owned();
    let mut line = format!(
        "{:<24} {:<24} {:<16} {:<14} {:>20} {}",
        alert.time().map_or_else(dash, |t| t.to_utc_string()),
        format_unix_utc(received),
        alert.kafka().map_or_else(dash, |k| k.topic.clone()),
        alert.object_id().map_or_else(dash, |i| i.to_string()),
        alert.alert_id().map_or_else(dash, |i| i.to_string()),
        alert.brightness().map_or_else(dash, |b| b.to_string()),
    );
    let record = alert.record();
    for name in ADDED_VALUE_FIELDS {
        if let Some(v) = record.get(name).filter(|v| !v.is_null()) {
            let text = v
                .as_str()
                .map(str::to_owned)
                .or_else(|| v.as_f64().map(|f| format!("{f:.3}")));
            if let Some(text) = text {
                line += &format!(" {name}={text}");
            }
        }
    }
    if let Some(m) = alert.matches() {
        if !m.targets.is_empty() {
            line += &format!(" {}={}", MATCH_FIELDS[0], m.targets.join(","));
        }
        if let Some(d) = m.probdensity {
            line += &format!(" {}={d:.4}", MATCH_FIELDS[1]);
        }
    }
    line
}
