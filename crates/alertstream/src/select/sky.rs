//! Positions and angles on the sky: a checked position (finite, declination
//! within ±90°), angular separations by the haversine formula (exact at
//! arcsecond scales), radii written as astronomers write them (`5arcsec`,
//! `2arcmin`, `0.5deg`, `0.5`), and HEALPix cells (cdshealpix, NESTED).

use std::f64::consts::PI;

/// The finest HEALPix depth (cells of about 0.4 milliarcseconds).
pub const DEPTH_MAX: u8 = 29;

/// A position on the sky, in degrees, checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SkyPos {
    pub ra: f64,
    pub dec: f64,
}

impl SkyPos {
    /// `None` for a position that is not one (NaN, declination beyond ±90°).
    pub fn new(ra: f64, dec: f64) -> Option<SkyPos> {
        (ra.is_finite() && dec.is_finite() && (-90.0..=90.0).contains(&dec)).then(|| SkyPos {
            ra: ra.rem_euclid(360.0),
            dec,
        })
    }

    /// The haversine of the angle to `other` (0 for the same position, 1
    /// for antipodes): monotonic in the angle, so compared directly.
    pub fn haversine_to(&self, other: &SkyPos) -> f64 {
        let (d1, d2) = (self.dec.to_radians(), other.dec.to_radians());
        let sin_ddec = ((d2 - d1) / 2.0).sin();
        let sin_dra = ((other.ra - self.ra).to_radians() / 2.0).sin();
        (sin_ddec * sin_ddec + d1.cos() * d2.cos() * sin_dra * sin_dra).clamp(0.0, 1.0)
    }

    /// The angle to `other`, in degrees.
    pub fn separation(&self, other: &SkyPos) -> f64 {
        (2.0 * self.haversine_to(other).sqrt().asin()).to_degrees()
    }

    /// The NESTED HEALPix cell holding it at `depth`.
    pub fn cell(&self, depth: u8) -> u64 {
        cdshealpix::nested::hash(depth, self.ra.to_radians(), self.dec.to_radians())
    }
}

/// The haversine of an angle in degrees: what [`SkyPos::haversine_to`]
/// is compared with.
pub fn haversine_of(degrees: f64) -> f64 {
    let half = (degrees.to_radians() / 2.0).sin();
    half * half
}

/// An angle as written: `5arcsec`, `5"`, `2arcmin`, `2'`, `0.5deg`, `0.5d`
/// or a bare number of degrees. `None` when it is not one (or negative).
pub fn parse_angle(text: &str) -> Option<f64> {
    let text = text.trim();
    // Each unit and how many of it make a degree.
    let units: [(&str, f64); 9] = [
        ("arcsec", 3600.0),
        ("arcmin", 60.0),
        ("deg", 1.0),
        ("mas", 3_600_000.0),
        ("\"", 3600.0),
        ("'", 60.0),
        ("°", 1.0),
        ("d", 1.0),
        ("", 1.0),
    ];
    units.iter().find_map(|(unit, per_degree)| {
        let number = text.strip_suffix(unit)?.trim();
        number
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| v / per_degree)
    })
}

/// The depth whose cells are at least `degrees` across: the cells around a
/// position within that distance are its own and its neighbours'.
pub fn depth_for(degrees: f64) -> u8 {
    (0..=DEPTH_MAX)
        .rev()
        .find(|&d| cell_size(d) >= degrees)
        .unwrap_or(0)
}

/// The smallest angular size of a cell at `depth`, in degrees (a HEALPix
/// cell's sides are at least 2/3 of the square root of its area).
fn cell_size(depth: u8) -> f64 {
    let cells = 12.0 * 4f64.powi(i32::from(depth));
    let side = (4.0 * PI / cells).sqrt().to_degrees();
    side * 2.0 / 3.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angles_as_astronomers_write_them() {
        assert_eq!(parse_angle("5arcsec"), Some(5.0 / 3600.0));
        assert_eq!(parse_angle("2arcmin"), Some(2.0 / 60.0));
        assert_eq!(parse_angle("0.5"), Some(0.5));
        assert_eq!(parse_angle("1.5deg"), Some(1.5));
        assert_eq!(parse_angle("3\""), Some(3.0 / 3600.0));
        assert_eq!(parse_angle("-1"), None);
        assert_eq!(parse_angle("five"), None);
    }

    #[test]
    fn separations_are_exact_at_small_and_large_scales() {
        let a = SkyPos::new(10.0, 20.0).unwrap();
        let b = SkyPos::new(10.0, 20.0 + 1.0 / 3600.0).unwrap();
        assert!((a.separation(&b) * 3600.0 - 1.0).abs() < 1e-9);
        let pole = SkyPos::new(0.0, 90.0).unwrap();
        let equator = SkyPos::new(123.0, 0.0).unwrap();
        assert!((pole.separation(&equator) - 90.0).abs() < 1e-12);
        assert_eq!(SkyPos::new(1.0, 91.0), None);
        assert_eq!(SkyPos::new(f64::NAN, 0.0), None);
        assert_eq!(SkyPos::new(-10.0, 0.0).unwrap().ra, 350.0);
    }

    #[test]
    fn cells_hold_the_radius() {
        for degrees in [1.0 / 3600.0, 0.01, 1.0, 30.0] {
            let d = depth_for(degrees);
            assert!(cell_size(d) >= degrees);
            assert!(d == DEPTH_MAX || cell_size(d + 1) < degrees);
        }
    }
}
