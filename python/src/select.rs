//! The selection keyword arguments (`where=`, `cone=`, `moc=`, `skymap=`,
//! `credible=`, `watchlist=`, `match_radius=`, and for a consumer
//! `dedupe=`, `once_per_object=`, `state=`) into the library's selection.

use crate::errors;
use alertstream::select::{
    parse_angle, parse_duration_days, state, Cone, Criteria, Filter, Once, Region, SkyMap, SkyPos,
    Watchlist,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::path::PathBuf;

/// The criteria keyword arguments, as given.
#[derive(Default)]
pub struct CriteriaArgs<'py> {
    pub where_: Option<String>,
    pub cone: Option<Bound<'py, PyAny>>,
    pub moc: Option<Bound<'py, PyAny>>,
    pub skymap: Option<PathBuf>,
    pub credible: f64,
    pub watchlist: Option<PathBuf>,
    pub match_radius: Option<Bound<'py, PyAny>>,
}

/// An angle given as a number of degrees or as text (`"5arcsec"`).
fn angle(keyword: &str, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(degrees) = value.extract::<f64>() {
        if degrees >= 0.0 && degrees.is_finite() {
            return Ok(degrees);
        }
    }
    value
        .extract::<String>()
        .ok()
        .and_then(|t| parse_angle(&t))
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "{keyword}: {value} is not an angle (degrees, or '5arcsec', '2arcmin')"
            ))
        })
}

/// `cone=(ra, dec, radius)`, `"ra,dec,radius"`, or a list of them.
fn cones(value: &Bound<'_, PyAny>) -> PyResult<Vec<Cone>> {
    let one = |v: &Bound<'_, PyAny>| -> PyResult<Cone> {
        if let Ok(text) = v.extract::<String>() {
            return text
                .parse()
                .map_err(|e: String| PyValueError::new_err(format!("cone: {e}")));
        }
        let (ra, dec, radius): (f64, f64, Bound<'_, PyAny>) = v.extract().map_err(|_| {
            PyValueError::new_err("cone: give (ra, dec, radius) in degrees, or 'ra,dec,radius'")
        })?;
        let center = SkyPos::new(ra, dec).ok_or_else(|| {
            PyValueError::new_err(format!("cone: ({ra}, {dec}) is not a position in degrees"))
        })?;
        Ok(Cone {
            center,
            radius: angle("cone", &radius)?,
        })
    };
    if v_is_list(value) {
        value.try_iter()?.map(|v| one(&v?)).collect()
    } else {
        Ok(vec![one(value)?])
    }
}

fn v_is_list(value: &Bound<'_, PyAny>) -> bool {
    value.is_instance_of::<pyo3::types::PyList>()
}

/// A path or a list of paths.
fn paths(value: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    crate::reader::path_list(value)
}

impl CriteriaArgs<'_> {
    /// True when a watchlist or a sky map tags the alerts.
    pub fn tags(&self) -> bool {
        self.watchlist.is_some() || self.skymap.is_some()
    }

    pub fn criteria(&self) -> PyResult<Criteria> {
        let mut criteria = Criteria::default();
        if let Some(text) = &self.where_ {
            criteria.filter = Some(Filter::parse(text).map_err(errors::to_py)?);
        }
        let mut region = Region::default();
        if let Some(value) = &self.cone {
            for cone in cones(value)? {
                region.add_cone(cone);
            }
        }
        if let Some(value) = &self.moc {
            for path in paths(value)? {
                region.add_moc_file(&path).map_err(errors::to_py)?;
            }
        }
        if let Some(path) = &self.skymap {
            region.set_skymap(SkyMap::read(path, self.credible).map_err(errors::to_py)?);
        }
        criteria.region = region;
        if let Some(path) = &self.watchlist {
            let radius = match &self.match_radius {
                Some(r) => angle("match_radius", r)?,
                None => 2.0 / 3600.0,
            };
            criteria.watchlist = Some(Watchlist::from_csv(path, radius).map_err(errors::to_py)?);
        }
        Ok(criteria)
    }
}

/// `dedupe=True`, `once_per_object="1d"`, `state="redis://..."`.
pub fn once(
    dedupe: bool,
    once_per_object: Option<&str>,
    state_at: Option<&str>,
    group: &str,
) -> PyResult<Option<Once>> {
    let window = once_per_object
        .map(|text| {
            parse_duration_days(text).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "once_per_object: {text:?} is not a duration ('1d', '12h', '30m')"
                ))
            })
        })
        .transpose()?;
    if !dedupe && window.is_none() {
        if state_at.is_some() {
            return Err(PyValueError::new_err(
                "state= goes with dedupe=True or once_per_object=",
            ));
        }
        return Ok(None);
    }
    let location = match state_at {
        Some(location) => location.to_owned(),
        None => {
            let home = std::env::var_os("HOME").ok_or_else(|| {
                PyValueError::new_err("no HOME to keep the de-duplication state in: pass state=")
            })?;
            let name = alertstream::durable::file_name_part(group);
            PathBuf::from(home)
                .join(".local/state/alertstream")
                .join(format!("{name}.sqlite"))
                .display()
                .to_string()
        }
    };
    let claims = state::open(&location).map_err(errors::to_py)?;
    Ok(Some(Once::new(dedupe, window, claims, group)))
}
