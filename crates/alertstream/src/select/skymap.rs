//! A gravitational-wave sky map (LIGO/Virgo/KAGRA): a HEALPix probability
//! map in a FITS binary table, flat (a `PROB` column, NESTED or RING
//! ordering, NSIDE) or multi-order (`UNIQ` and `PROBDENSITY` columns),
//! gzipped or not, read with fitsrs. It is reduced to its credible region
//! as ligo.skymap does: cells by decreasing density, each kept while the
//! probability summed up to and including it is at most the credible
//! level. Each cell of the region keeps its density, so that a kept alert
//! carries the density at its position.

use super::sky::{SkyPos, DEPTH_MAX};
use crate::decode::framing::gunzip_if_gzip;
use crate::error::{Error, Result};
use fitsrs::card::Value as FitsValue;
use fitsrs::hdu::data::bintable::{ColumnId, DataValue};
use fitsrs::{Fits, HDU};
use std::f64::consts::PI;
use std::io::Cursor;
use std::path::Path;

/// Largest sky map read (inflated): a flat NSIDE-2048 map is 400 MB.
const MAX_SKYMAP_BYTES: usize = 1 << 30;

/// The credible region of a sky map, with densities.
#[derive(Debug, Clone)]
pub struct SkyMap {
    /// Cells of the region as ranges of depth-29 cells, in order, with
    /// their probability density (per steradian).
    cells: Vec<(u64, u64, f64)>,
    /// The probability the region holds (at most the credible level).
    pub probability: f64,
    /// The region's area, in square degrees.
    pub area_deg2: f64,
}

/// One HEALPix cell of a map: its order, NESTED index and density.
struct Cell {
    order: u8,
    nested: u64,
    density: f64,
}

impl Cell {
    fn area_sr(&self) -> f64 {
        4.0 * PI / (12.0 * 4f64.powi(i32::from(self.order)))
    }
}

impl SkyMap {
    /// Reads a sky map and keeps the region that holds `credible` of its
    /// probability (0 < credible <= 1).
    pub fn read(path: &Path, credible: f64) -> Result<SkyMap> {
        let bad = |reason: String| Error::Selection {
            path: path.to_owned(),
            reason,
        };
        if !(credible > 0.0 && credible <= 1.0) {
            return Err(bad(format!(
                "the credible level {credible} is not in (0, 1]"
            )));
        }
        let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bytes = gunzip_if_gzip(&raw, MAX_SKYMAP_BYTES).map_err(|e| bad(e.to_string()))?;
        let cells = read_cells(&bytes).map_err(bad)?;
        Ok(SkyMap::credible_region(cells, credible))
    }

    fn credible_region(mut cells: Vec<Cell>, credible: f64) -> SkyMap {
        cells.sort_by(|a, b| b.density.total_cmp(&a.density));
        let mut total = 0.0;
        let mut kept = Vec::new();
        let mut area = 0.0;
        for cell in cells {
            let p = cell.density * cell.area_sr();
            if !(p.is_finite() && p >= 0.0) {
                continue;
            }
            if total + p > credible {
                break;
            }
            total += p;
            area += cell.area_sr();
            let shift = 2 * u32::from(DEPTH_MAX - cell.order);
            kept.push((
                cell.nested << shift,
                (cell.nested + 1) << shift,
                cell.density,
            ));
        }
        kept.sort_by_key(|&(start, _, _)| start);
        SkyMap {
            cells: kept,
            probability: total,
            area_deg2: area * (180.0 / PI) * (180.0 / PI),
        }
    }

    /// The density (per steradian) at `pos` when it is in the region.
    pub fn density_at(&self, pos: &SkyPos) -> Option<f64> {
        let hash = pos.cell(DEPTH_MAX);
        let i = self.cells.partition_point(|&(start, _, _)| start <= hash);
        let &(start, end, density) = self.cells.get(i.checked_sub(1)?)?;
        (start..end).contains(&hash).then_some(density)
    }

    /// Number of HEALPix cells in the region.
    pub fn cells(&self) -> usize {
        self.cells.len()
    }
}

/// The cells of the first binary table of a FITS sky map.
fn read_cells(fits: &[u8]) -> std::result::Result<Vec<Cell>, String> {
    crate::decode::fits_sizes::check(fits)?;
    let mut hdus = Fits::from_reader(Cursor::new(fits));
    while let Some(hdu) = hdus.next() {
        let HDU::XBinaryTable(table) = hdu.map_err(|e| e.to_string())? else {
            continue;
        };
        let header = table.get_header();
        let text = |key: &str| match header.get(key) {
            Some(FitsValue::String { value, .. }) => Some(value.trim().to_ascii_uppercase()),
            _ => None,
        };
        let integer = |key: &str| match header.get(key) {
            Some(FitsValue::Integer { value, .. }) => Some(*value),
            _ => None,
        };
        let ordering = text("ORDERING").ok_or("the sky map's table has no ORDERING")?;
        let columns: Vec<String> = (1..=header.get_xtension().get_num_cols())
            .filter_map(|i| text(&format!("TTYPE{i}")))
            .collect();
        if ordering == "NUNIQ" || columns.iter().any(|c| c == "UNIQ") {
            let rows = read_uniq(hdus.get_data(&table).table_data())?;
            return rows
                .into_iter()
                .map(|(uniq, density)| uniq_cell(uniq, density))
                .collect();
        }
        let order = match (integer("NSIDE"), integer("ORDER")) {
            (Some(nside), _) if nside > 0 && (nside as u64).is_power_of_two() => {
                (nside as u64).trailing_zeros() as u8
            }
            (None, Some(order)) if (0..=i64::from(DEPTH_MAX)).contains(&order) => order as u8,
            _ => return Err("the sky map's NSIDE is missing or not a power of 2".into()),
        };
        if order > DEPTH_MAX {
            return Err(format!("the sky map's order {order} is beyond {DEPTH_MAX}"));
        }
        let nested = match ordering.as_str() {
            "NESTED" => false,
            "RING" => true,
            other => return Err(format!("unknown ORDERING {other}: NESTED, RING or NUNIQ")),
        };
        let column = columns.first().cloned().unwrap_or_default();
        let probs = read_column(hdus.get_data(&table).table_data(), &column)?;
        let cells = 12u64 << (2 * u32::from(order));
        if probs.len() as u64 != cells {
            return Err(format!(
                "{} values where NSIDE {} has {cells} cells",
                probs.len(),
                1u64 << order
            ));
        }
        let layer = cdshealpix::nested::get(order);
        let area = 4.0 * PI / cells as f64;
        return Ok(probs
            .into_iter()
            .enumerate()
            .map(|(i, p)| Cell {
                order,
                nested: if nested {
                    layer.from_ring(i as u64)
                } else {
                    i as u64
                },
                density: p / area,
            })
            .collect());
    }
    Err("no binary table in the sky map".into())
}

/// A multi-order cell: UNIQ = 4 x 4^order + index.
fn uniq_cell(uniq: u64, density: f64) -> std::result::Result<Cell, String> {
    let order = (63 - uniq.leading_zeros()).checked_sub(2).map(|b| b / 2);
    match order {
        Some(order) if order <= u32::from(DEPTH_MAX) => Ok(Cell {
            order: order as u8,
            nested: uniq - (4u64 << (2 * order)),
            density,
        }),
        _ => Err(format!("UNIQ {uniq} is not a HEALPix cell")),
    }
}

fn number(value: &DataValue) -> Option<f64> {
    Some(match value {
        DataValue::Double { value, .. } => *value,
        DataValue::Float { value, .. } => f64::from(*value),
        DataValue::Long { value, .. } => *value as f64,
        DataValue::Integer { value, .. } => f64::from(*value),
        DataValue::Short { value, .. } => f64::from(*value),
        _ => return None,
    })
}

type Table<'a> = fitsrs::hdu::data::bintable::TableData<&'a mut Cursor<&'a [u8]>>;

fn read_column(mut data: Table<'_>, name: &str) -> std::result::Result<Vec<f64>, String> {
    let column: &'static str = match name {
        "PROB" => "PROB",
        "PROBABILITY" => "PROBABILITY",
        "PROBDENSITY" => "PROBDENSITY",
        other => return Err(format!("the first column is {other}, not PROB")),
    };
    data.select_fields(&[ColumnId::Name(column)]);
    data.map(|v| number(&v).ok_or_else(|| format!("{name} holds a value that is not a number")))
        .collect()
}

/// The UNIQ and PROBDENSITY columns, row by row.
fn read_uniq(mut data: Table<'_>) -> std::result::Result<Vec<(u64, f64)>, String> {
    data.select_fields(&[ColumnId::Name("UNIQ"), ColumnId::Name("PROBDENSITY")]);
    let mut rows = Vec::new();
    let mut uniq = None;
    for value in data {
        match (uniq.take(), value) {
            (None, DataValue::Long { value, .. }) => {
                uniq = Some(u64::try_from(value).map_err(|_| format!("UNIQ {value} is negative"))?)
            }
            (None, DataValue::Integer { value, .. }) => {
                uniq = Some(u64::try_from(value).map_err(|_| format!("UNIQ {value} is negative"))?)
            }
            (Some(u), density) => rows.push((
                u,
                number(&density).ok_or("PROBDENSITY holds a value that is not a number")?,
            )),
            (None, _) => return Err("UNIQ holds a value that is not an integer".into()),
        }
    }
    Ok(rows)
}
