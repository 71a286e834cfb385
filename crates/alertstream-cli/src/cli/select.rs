//! The options that select alerts (`--where`, sky regions, a watchlist),
//! shared by `consume` and the offline commands, and the repeats options of
//! `consume` (`--dedupe`, `--once-per-object`, `--state`).

use crate::Usage;
use alertstream::select::{
    parse_angle, parse_duration_days, state, Cone, Criteria, Filter, Once, Region, SkyMap,
    Watchlist,
};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

/// Which alerts to keep.
#[derive(Debug, Args, Default)]
pub struct SelectArgs {
    /// Keep the alerts for which this SQL expression is true, e.g.
    /// "candidate.magpsf < 18 AND candidate.drb > 0.8": dotted paths by the schema's field
    /// names, or mag, flux, band, ra, dec, mjd, object_id, alert_id, topic; AND OR NOT,
    /// comparisons, BETWEEN, IN, LIKE, IS NULL, + - * /, abs, coalesce, now() (MJD),
    /// len(array), any(array, condition), all(...), count(...)
    #[arg(long = "where", value_name = "EXPR")]
    pub where_: Option<String>,
    /// Keep alerts within RADIUS of RA,DEC (degrees; the radius may say 5arcsec, 2arcmin);
    /// repeatable: the union
    #[arg(long, value_name = "RA,DEC,RADIUS", value_parser = parse_cone)]
    pub cone: Vec<Cone>,
    /// Keep alerts inside this IVOA MOC (FITS, JSON or ASCII); repeatable: the union
    #[arg(long, value_name = "FILE")]
    pub moc: Vec<PathBuf>,
    /// Keep alerts in the credible region of this HEALPix probability sky map (LIGO/Virgo/KAGRA
    /// FITS, flat or multi-order, gzipped or not); kept alerts carry its density there
    #[arg(long, value_name = "FILE")]
    pub skymap: Option<PathBuf>,
    /// The probability the sky map's region holds
    #[arg(long, value_name = "P", default_value_t = 0.9)]
    pub credible: f64,
    /// Keep alerts near a target of this CSV file (header name,ra,dec[,radius]; radius in
    /// arcseconds or with a unit); kept alerts carry the targets' names
    #[arg(long, value_name = "FILE")]
    pub watchlist: Option<PathBuf>,
    /// Radius of the watchlist's targets that give none
    #[arg(long, value_name = "ANGLE", default_value = "2arcsec", value_parser = parse_radius)]
    pub match_radius: f64,
}

fn parse_cone(text: &str) -> Result<Cone, String> {
    text.parse()
}

fn parse_radius(text: &str) -> Result<f64, String> {
    parse_angle(text).ok_or_else(|| format!("'{text}' is not an angle (5arcsec, 2arcmin, 0.5deg)"))
}

impl SelectArgs {
    /// True when anything selects (a watchlist or a sky map tags too).
    pub fn tags(&self) -> bool {
        self.watchlist.is_some() || self.skymap.is_some()
    }

    /// The criteria, files read. An expression that does not parse is a
    /// usage error (exit 2).
    pub fn criteria(&self) -> anyhow::Result<Criteria> {
        let mut criteria = Criteria::default();
        if let Some(text) = &self.where_ {
            criteria.filter = Some(Filter::parse(text).map_err(|e| Usage(e.to_string()))?);
        }
        let mut region = Region::default();
        for cone in &self.cone {
            region.add_cone(*cone);
        }
        for moc in &self.moc {
            region.add_moc_file(moc)?;
        }
        if let Some(path) = &self.skymap {
            let map = SkyMap::read(path, self.credible)?;
            log::info!(
                "{}: the {:.0}% credible region holds {:.4} of the probability in {:.1} deg² ({} cells)",
                path.display(),
                self.credible * 100.0,
                map.probability,
                map.area_deg2,
                map.cells()
            );
            region.set_skymap(map);
        }
        criteria.region = region;
        if let Some(path) = &self.watchlist {
            let list = Watchlist::from_csv(path, self.match_radius)?;
            log::info!("{}: {} targets", path.display(), list.len());
            criteria.watchlist = Some(list);
        }
        Ok(criteria)
    }
}

/// Each alert and each object once.
#[derive(Debug, Args, Default)]
pub struct OnceArgs {
    /// `alert`: the same alert id received on several topics (or twice) is kept once
    #[arg(long, value_name = "WHAT", value_parser = ["alert"])]
    pub dedupe: Option<String>,
    /// Keep at most one alert per object per period of observation time (1d, 12h, 30m)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub once_per_object: Option<f64>,
    /// Where --dedupe and --once-per-object keep what they saw: redis://HOST:PORT to share it
    /// between the machines of one group, else a SQLite file (default: DIR/.alertstream-state.sqlite
    /// with --save, else ~/.local/state/alertstream/<group>.sqlite)
    #[arg(long, value_name = "LOCATION")]
    pub state: Option<String>,
}

fn parse_duration(text: &str) -> Result<f64, String> {
    parse_duration_days(text)
        .ok_or_else(|| format!("'{text}' is not a duration (1d, 12h, 30m, 90s, 2w)"))
}

impl OnceArgs {
    /// The repeats stage, when asked for; its state is scoped to `group`.
    pub fn once(&self, group: &str, save: Option<&PathBuf>) -> anyhow::Result<Option<Once>> {
        if self.dedupe.is_none() && self.once_per_object.is_none() {
            if self.state.is_some() {
                return Err(Usage("--state goes with --dedupe or --once-per-object".into()).into());
            }
            return Ok(None);
        }
        let location = match (&self.state, save) {
            (Some(location), _) => location.clone(),
            (None, Some(dir)) => dir.join(".alertstream-state.sqlite").display().to_string(),
            (None, None) => default_state(group)?.display().to_string(),
        };
        let claims = state::open(&location).context("cannot open the de-duplication state")?;
        Ok(Some(Once::new(
            self.dedupe.is_some(),
            self.once_per_object,
            claims,
            group,
        )))
    }
}

/// `$XDG_STATE_HOME/alertstream/<group>.sqlite`, else `~/.local/state/...`.
fn default_state(group: &str) -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .ok_or_else(|| {
            anyhow::anyhow!("no HOME to keep the de-duplication state in: pass --state")
        })?;
    let name = alertstream::durable::file_name_part(group);
    Ok(base.join("alertstream").join(format!("{name}.sqlite")))
}
