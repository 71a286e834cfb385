//! Selecting the alerts that matter, between decoding and the sink: a SQL
//! expression over the record (`--where`), sky regions (cones, MOCs, a sky
//! map's credible region), a watchlist of targets, and each alert and each
//! object once. A kept alert carries what the selection found
//! ([`crate::model::alert::Matches`]): the watchlist targets it lies near,
//! the sky map's density at its position.
//!
//! [`Criteria`] (expression, regions, watchlist) reads nothing but the
//! alert: it can judge alerts on every core. [`Selection`] adds the
//! repeats ([`Once`]), which keep state, for a stream.
//!
//! ```
//! use alertstream::select::{Criteria, Filter, Verdict};
//! # use alertstream::{Decoder, DecoderOptions};
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro");
//! # let mut alert = Decoder::new(DecoderOptions::default())?.decode_file(path.as_ref()).into_result()?.remove(0);
//! let mut criteria = Criteria::default();
//! criteria.filter = Some(Filter::parse("candidate.magpsf < 25")?);
//! criteria.region.add_cone("0,0,1deg".parse().unwrap());
//! assert!(matches!(criteria.judge(&mut alert)?, Verdict::Drop(_)));
//! # Ok::<(), alertstream::Error>(())
//! ```

mod expr;
mod once;
mod region;
mod sky;
mod skymap;
pub mod state;
mod watchlist;

pub use expr::{Filter, NEUTRAL_NAMES};
pub use once::{parse_duration_days, Once};
pub use region::{Cone, Region};
pub use sky::{parse_angle, SkyPos};
pub use skymap::SkyMap;
pub use watchlist::{Target, Watchlist};

use crate::error::Result;
use crate::model::alert::{Alert, Matches};

/// Why an alert was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Criterion {
    /// The expression was not true for it.
    Where,
    /// It lies in none of the sky regions (or has no position).
    Region,
    /// It lies near no watchlist target.
    Watchlist,
    /// The same alert, or an alert of the same object within the window,
    /// was kept before.
    Duplicate,
}

crate::names::named!(Criterion, "criterion", {
    Criterion::Where => "where",
    Criterion::Region => "region",
    Criterion::Watchlist => "watchlist",
    Criterion::Duplicate => "duplicate",
});

/// What becomes of one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    Drop(Criterion),
}

/// The criteria that read the alert alone. Shared between threads.
#[derive(Debug, Default)]
pub struct Criteria {
    pub filter: Option<Filter>,
    /// The union of the sky regions; empty: no constraint.
    pub region: Region,
    pub watchlist: Option<Watchlist>,
}

impl Criteria {
    /// True when nothing is asked: every alert is kept.
    pub fn is_empty(&self) -> bool {
        self.filter.is_none() && self.region.is_empty() && self.watchlist.is_none()
    }

    /// Judges an alert in order (expression, region, watchlist); a kept
    /// alert is tagged with what was found.
    pub fn judge(&self, alert: &mut Alert) -> Result<Verdict> {
        if let Some(filter) = &self.filter {
            if !filter.test(alert)? {
                return Ok(Verdict::Drop(Criterion::Where));
            }
        }
        if self.region.is_empty() && self.watchlist.is_none() {
            return Ok(Verdict::Keep);
        }
        let Some(pos) = alert
            .ra()
            .zip(alert.dec())
            .and_then(|(ra, dec)| SkyPos::new(ra, dec))
        else {
            let missing = match self.region.is_empty() {
                true => Criterion::Watchlist,
                false => Criterion::Region,
            };
            return Ok(Verdict::Drop(missing));
        };
        let mut matches = Matches::default();
        if !self.region.is_empty() {
            match self.region.contains(&pos) {
                Some(inside) => matches.probdensity = inside.probdensity,
                None => return Ok(Verdict::Drop(Criterion::Region)),
            }
        }
        if let Some(watchlist) = &self.watchlist {
            let near = watchlist.matches(&pos);
            if near.is_empty() {
                return Ok(Verdict::Drop(Criterion::Watchlist));
            }
            matches.targets = near.into_iter().map(str::to_owned).collect();
        }
        alert.set_matches(matches);
        Ok(Verdict::Keep)
    }
}

/// The whole selection of a stream: the criteria, then the repeats.
#[derive(Debug, Default)]
pub struct Selection {
    pub criteria: Criteria,
    pub once: Option<Once>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.criteria.is_empty() && self.once.is_none()
    }

    /// Judges an alert; a repeat is judged only among the kept ones.
    pub fn judge(&mut self, alert: &mut Alert) -> Result<Verdict> {
        match self.criteria.judge(alert)? {
            Verdict::Keep => {}
            dropped => return Ok(dropped),
        }
        if let Some(once) = &mut self.once {
            if once.is_repeat(alert)? {
                return Ok(Verdict::Drop(Criterion::Duplicate));
            }
        }
        Ok(Verdict::Keep)
    }
}

/// How many alerts each criterion dropped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dropped {
    pub by_where: u64,
    pub by_region: u64,
    pub by_watchlist: u64,
    pub duplicates: u64,
}

impl Dropped {
    pub fn count(&mut self, criterion: Criterion) {
        match criterion {
            Criterion::Where => self.by_where += 1,
            Criterion::Region => self.by_region += 1,
            Criterion::Watchlist => self.by_watchlist += 1,
            Criterion::Duplicate => self.duplicates += 1,
        }
    }

    /// Adds another count to this one.
    pub fn add(&mut self, other: Dropped) {
        self.by_where += other.by_where;
        self.by_region += other.by_region;
        self.by_watchlist += other.by_watchlist;
        self.duplicates += other.duplicates;
    }

    pub fn total(&self) -> u64 {
        self.by_where + self.by_region + self.by_watchlist + self.duplicates
    }

    /// `where 12, region 3` for the criteria that dropped any.
    /// Each criterion's name and count.
    pub fn by_criterion(&self) -> impl Iterator<Item = (&'static str, u64)> {
        [
            ("where", self.by_where),
            ("region", self.by_region),
            ("watchlist", self.by_watchlist),
            ("duplicate", self.duplicates),
        ]
        .into_iter()
    }

    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .by_criterion()
            .filter(|(_, n)| *n > 0)
            .map(|(what, n)| format!("{what} {n}"))
            .collect();
        parts.join(", ")
    }
}
