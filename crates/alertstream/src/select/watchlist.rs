//! A watchlist: named targets, each with a match radius, and the ones an
//! alert lies near. Targets are indexed by their HEALPix cell at a depth
//! whose cells are at least twice the largest radius across, so that a
//! position's matches are in its own cell or one of its 8 neighbours: a
//! lookup is 9 binary searches and a few exact separations, whatever the
//! number of targets. A million targets take about 60 MB.

use super::sky::{depth_for, haversine_of, parse_angle, SkyPos};
use crate::error::{Error, Result};
use std::path::Path;

/// Targets and their index.
#[derive(Debug, Clone)]
pub struct Watchlist {
    /// All names, one after the other; `name_ends[i]` ends target i's.
    names: String,
    name_ends: Vec<u32>,
    positions: Vec<SkyPos>,
    /// The haversine of each target's radius (see [`SkyPos::haversine_to`]).
    radii: Vec<f64>,
    /// (cell at `depth`, target) in cell order.
    cells: Vec<(u64, u32)>,
    depth: u8,
}

/// One target: name, position and match radius (degrees).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub name: String,
    pub ra: f64,
    pub dec: f64,
    pub radius: f64,
}

impl Watchlist {
    /// Builds the index over `targets`.
    pub fn new(targets: impl IntoIterator<Item = Target>) -> Result<Watchlist> {
        let mut list = Watchlist {
            names: String::new(),
            name_ends: Vec::new(),
            positions: Vec::new(),
            radii: Vec::new(),
            cells: Vec::new(),
            depth: 0,
        };
        let mut largest = 0f64;
        for (i, t) in targets.into_iter().enumerate() {
            let pos = SkyPos::new(t.ra, t.dec).ok_or_else(|| {
                Error::Config(format!(
                    "watchlist target {} ({}) is not at a position on the sky: ra {}, dec {}",
                    i + 1,
                    t.name,
                    t.ra,
                    t.dec
                ))
            })?;
            largest = largest.max(t.radius);
            list.names.push_str(&t.name);
            list.name_ends.push(
                u32::try_from(list.names.len())
                    .map_err(|_| Error::Config("watchlist names hold more than 4 GB".into()))?,
            );
            list.positions.push(pos);
            list.radii.push(haversine_of(t.radius));
        }
        list.depth = depth_for(2.0 * largest);
        list.cells = list
            .positions
            .iter()
            .enumerate()
            .map(|(i, p)| (p.cell(list.depth), i as u32))
            .collect();
        list.cells.sort_unstable();
        Ok(list)
    }

    /// Reads a CSV file with a header naming `name`, `ra`, `dec` (degrees)
    /// and optionally `radius` (arcseconds, or with a unit: `2arcmin`);
    /// targets without a radius get `default_radius` (degrees).
    pub fn from_csv(path: &Path, default_radius: f64) -> Result<Watchlist> {
        let bad = |reason: String| Error::Selection {
            path: path.to_owned(),
            reason,
        };
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_path(path)
            .map_err(|e| bad(e.to_string()))?;
        let header = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
        let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let (Some(name), Some(ra), Some(dec)) = (column("name"), column("ra"), column("dec"))
        else {
            return Err(bad(format!(
                "the header must name the columns name, ra and dec (and radius, optional); it is: {}",
                header.iter().collect::<Vec<_>>().join(",")
            )));
        };
        let radius = column("radius");
        let mut targets = Vec::new();
        for (line, record) in reader.records().enumerate() {
            let record = record.map_err(|e| bad(e.to_string()))?;
            let at = |reason: String| bad(format!("line {}: {reason}", line + 2));
            let number = |i: usize, what: &str| {
                record
                    .get(i)
                    .and_then(|v| v.parse::<f64>().ok())
                    .ok_or_else(|| at(format!("{what} is not a number")))
            };
            let radius = match radius.and_then(|i| record.get(i)).filter(|v| !v.is_empty()) {
                Some(text) => match text.parse::<f64>() {
                    Ok(arcsec) if arcsec >= 0.0 => arcsec / 3600.0,
                    _ => parse_angle(text)
                        .ok_or_else(|| at(format!("radius {text} is not an angle")))?,
                },
                None => default_radius,
            };
            targets.push(Target {
                name: record.get(name).unwrap_or("").to_owned(),
                ra: number(ra, "ra")?,
                dec: number(dec, "dec")?,
                radius,
            });
        }
        Watchlist::new(targets).map_err(|e| bad(e.to_string()))
    }

    pub fn len(&self) -> usize {
        self.positions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    fn name(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            i => self.name_ends[i - 1] as usize,
        };
        &self.names[start..self.name_ends[i] as usize]
    }

    /// The names of the targets within their radius of `pos`, nearest first.
    pub fn matches(&self, pos: &SkyPos) -> Vec<&str> {
        let center = pos.cell(self.depth);
        let mut cells = vec![center];
        cdshealpix::nested::append_bulk_neighbours(self.depth, center, &mut cells);
        let mut found: Vec<(f64, usize)> = Vec::new();
        for cell in cells {
            let start = self.cells.partition_point(|&(c, _)| c < cell);
            for &(c, i) in &self.cells[start..] {
                if c != cell {
                    break;
                }
                let i = i as usize;
                let h = pos.haversine_to(&self.positions[i]);
                if h <= self.radii[i] {
                    found.push((h, i));
                }
            }
        }
        found.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        found.dedup_by_key(|f| f.1);
        found.into_iter().map(|(_, i)| self.name(i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pseudo-random numbers in [0, 1).
    fn noise(seed: &mut u64) -> f64 {
        *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn the_index_finds_what_a_loop_over_every_target_finds() {
        let mut seed = 42;
        // Clustered near a pole and the 0/360 seam too, radii up to 1°.
        let targets: Vec<Target> = (0..3000)
            .map(|i| Target {
                name: format!("t{i}"),
                ra: noise(&mut seed) * 360.0,
                dec: if i % 3 == 0 {
                    89.0 + noise(&mut seed)
                } else {
                    noise(&mut seed) * 180.0 - 90.0
                },
                radius: noise(&mut seed) * if i % 10 == 0 { 1.0 } else { 0.01 },
            })
            .collect();
        let list = Watchlist::new(targets.clone()).unwrap();
        let mut matched = 0;
        for k in 0..3000 {
            let near = &targets[k % targets.len()];
            let pos = SkyPos::new(
                near.ra + (noise(&mut seed) - 0.5) * 0.05,
                (near.dec + (noise(&mut seed) - 0.5) * 0.05).clamp(-90.0, 90.0),
            )
            .unwrap();
            let mut expected: Vec<&str> = targets
                .iter()
                .filter(|t| pos.separation(&SkyPos::new(t.ra, t.dec).unwrap()) <= t.radius)
                .map(|t| t.name.as_str())
                .collect();
            let mut got = list.matches(&pos);
            expected.sort();
            got.sort();
            assert_eq!(got, expected, "at {pos:?}");
            matched += got.len();
        }
        assert!(matched > 500, "the test exercises matches: {matched}");
    }
}
