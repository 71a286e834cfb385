//! Sky regions an alert must lie in: cones, IVOA MOCs (FITS, JSON or ASCII,
//! as mocpy, Aladin and the CDS services write them; read with the CDS
//! `moc` crate) and the credible region of a sky map. Several regions make
//! their union.

use super::sky::{haversine_of, parse_angle, SkyPos};
use super::skymap::SkyMap;
use crate::error::{Error, Result};
use moc::deser::fits::{from_fits_ivoa, MocIdxType, MocQtyType};
use moc::moc::range::RangeMOC;
use moc::moc::{
    CellMOCIntoIterator, CellMOCIterator, CellOrCellRangeMOCIntoIterator,
    CellOrCellRangeMOCIterator, RangeMOCIterator,
};
use moc::qty::Hpx;
use std::path::Path;

/// A cone: center and radius (degrees).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cone {
    pub center: SkyPos,
    pub radius: f64,
}

impl std::str::FromStr for Cone {
    type Err = String;

    /// `RA,DEC,RADIUS` in degrees, the radius with a unit if wished
    /// (`150.1,2.2,5arcsec`).
    fn from_str(text: &str) -> std::result::Result<Cone, String> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let [ra, dec, radius] = parts[..] else {
            return Err(format!("'{text}' is not RA,DEC,RADIUS"));
        };
        let degrees = |v: &str| v.parse::<f64>().ok();
        let center = degrees(ra)
            .zip(degrees(dec))
            .and_then(|(ra, dec)| SkyPos::new(ra, dec))
            .ok_or_else(|| format!("'{ra},{dec}' is not a position in degrees (dec within ±90)"))?;
        let radius = parse_angle(radius)
            .ok_or_else(|| format!("'{radius}' is not a radius (5arcsec, 2arcmin, 0.5deg)"))?;
        Ok(Cone { center, radius })
    }
}

/// The union of the regions given.
#[derive(Debug, Clone, Default)]
pub struct Region {
    /// Each cone's center and the haversine of its radius.
    cones: Vec<(SkyPos, f64)>,
    mocs: Vec<RangeMOC<u64, Hpx<u64>>>,
    skymap: Option<SkyMap>,
}

/// What a region says about a position inside it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inside {
    /// The sky map's density there, when the sky map's region holds it.
    pub probdensity: Option<f64>,
}

impl Region {
    pub fn is_empty(&self) -> bool {
        self.cones.is_empty() && self.mocs.is_empty() && self.skymap.is_none()
    }

    pub fn add_cone(&mut self, cone: Cone) {
        self.cones.push((cone.center, haversine_of(cone.radius)));
    }

    /// Adds a MOC file (FITS, JSON or ASCII, told from its first bytes).
    pub fn add_moc_file(&mut self, path: &Path) -> Result<()> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let moc = parse_moc(&bytes).map_err(|reason| Error::Selection {
            path: path.to_owned(),
            reason,
        })?;
        self.mocs.push(moc);
        Ok(())
    }

    pub fn set_skymap(&mut self, skymap: SkyMap) {
        self.skymap = Some(skymap);
    }

    /// `Some` when the position is in one of the regions.
    pub fn contains(&self, pos: &SkyPos) -> Option<Inside> {
        let probdensity = self.skymap.as_ref().and_then(|m| m.density_at(pos));
        let inside = probdensity.is_some()
            || self.cones.iter().any(|(c, h)| pos.haversine_to(c) <= *h)
            || self
                .mocs
                .iter()
                .any(|m| m.is_in(pos.ra.to_radians(), pos.dec.to_radians()));
        inside.then_some(Inside { probdensity })
    }
}

/// A MOC from its bytes: FITS (`SIMPLE`), JSON (`{`) or ASCII.
fn parse_moc(bytes: &[u8]) -> std::result::Result<RangeMOC<u64, Hpx<u64>>, String> {
    let not_space = || {
        let text = std::str::from_utf8(bytes).map_err(|_| "not a MOC: neither FITS nor text")?;
        Ok::<_, String>(text.trim_start())
    };
    if bytes.starts_with(b"SIMPLE") {
        crate::decode::fits_sizes::check(bytes)?;
        return match from_fits_ivoa(std::io::Cursor::new(bytes)).map_err(|e| e.to_string())? {
            MocIdxType::U64(MocQtyType::Hpx(moc)) => Ok(moc.collect()),
            MocIdxType::U32(MocQtyType::Hpx(moc)) => Ok(moc.collect_to_u64::<Hpx<u64>>()),
            MocIdxType::U16(MocQtyType::Hpx(moc)) => Ok(moc.collect_to_u64::<Hpx<u64>>()),
            _ => Err("a MOC of another quantity than the sky (time, frequency)".into()),
        };
    }
    let text = not_space()?;
    if text.starts_with('{') {
        let cells = moc::deser::json::from_json_aladin::<u64, Hpx<u64>>(text)
            .map_err(|e| format!("not a JSON MOC: {e}"))?;
        return Ok(cells.into_cell_moc_iter().ranges().into_range_moc());
    }
    let cells = moc::deser::ascii::from_ascii_ivoa::<u64, Hpx<u64>>(text)
        .map_err(|e| format!("not an ASCII MOC: {e}"))?;
    Ok(cells
        .into_cellcellrange_moc_iter()
        .ranges()
        .into_range_moc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cones_are_written_as_astronomers_write_them() {
        let c: Cone = "150.1, 2.2, 5arcsec".parse().unwrap();
        assert_eq!(c.center, SkyPos::new(150.1, 2.2).unwrap());
        assert!((c.radius - 5.0 / 3600.0).abs() < 1e-15);
        assert!("150,95,1".parse::<Cone>().is_err());
        assert!("150,2".parse::<Cone>().is_err());
    }

    #[test]
    fn json_and_ascii_mocs_are_read() {
        // The cell 0 of depth 0 (a twelfth of the sky) and depth-1 cell 44.
        for text in ["{\"0\":[0],\"1\":[44]}", "0/0 1/44"] {
            let moc = parse_moc(text.as_bytes()).unwrap();
            let mut region = Region::default();
            region.mocs.push(moc);
            let in_cell_0 = SkyPos::new(45.0, 45.0).unwrap(); // base cell 0
            assert_eq!(in_cell_0.cell(0), 0);
            assert!(region.contains(&in_cell_0).is_some(), "{text}");
            let elsewhere = SkyPos::new(225.0, -45.0).unwrap();
            assert!(region.contains(&elsewhere).is_none(), "{text}");
        }
        assert!(parse_moc(b"not a moc at all").is_err());
    }
}
