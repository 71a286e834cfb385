//! Display values of a stamp: IRAF's zscale limits and astropy's asinh
//! stretch, as astronomers' viewers show cutouts.

use crate::model::stamp::Stamp;

/// Display limits of an image: IRAF's zscale, as astropy's `ZScaleInterval`
/// computes it (1,000 samples, contrast 0.25, 2.5-sigma rejection over at
/// most 5 iterations, rejected pixels' neighbours rejected too). `None` when
/// no pixel is finite.
pub fn zscale(values: &[f64]) -> Option<(f64, f64)> {
    const SAMPLES: usize = 1000;
    const CONTRAST: f64 = 0.25;
    const KREJ: f64 = 2.5;
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let stride = ((finite.len() as f64 / SAMPLES as f64).max(1.0)) as usize;
    let mut samples: Vec<f64> = finite.into_iter().step_by(stride).take(SAMPLES).collect();
    samples.sort_by(f64::total_cmp);
    let npix = samples.len();
    let (mut low, mut high) = (*samples.first()?, *samples.last()?);
    let min_good = 5.max((npix as f64 * 0.5) as usize);
    let grow = 1.max((npix as f64 * 0.01) as usize);
    let mut rejected = vec![false; npix];
    let (mut good, mut last_good) = (npix, npix + 1);
    let mut slope = None;
    for _ in 0..5 {
        if good >= last_good || good < min_good {
            break;
        }
        let (s, intercept) = line_fit(&samples, &rejected);
        slope = Some(s);
        let flat: Vec<f64> = samples
            .iter()
            .enumerate()
            .map(|(i, v)| v - (s * i as f64 + intercept))
            .collect();
        let threshold = KREJ
            * std_dev(
                flat.iter()
                    .zip(&rejected)
                    .filter(|(_, r)| !**r)
                    .map(|(f, _)| *f),
            );
        for (r, f) in rejected.iter_mut().zip(&flat) {
            if *f < -threshold || *f > threshold {
                *r = true;
            }
        }
        rejected = dilate(&rejected, grow);
        last_good = good;
        good = rejected.iter().filter(|r| !**r).count();
    }
    if let Some(s) = slope.filter(|_| good >= min_good) {
        let s = s / CONTRAST;
        let center = (npix - 1) / 2;
        let median = if npix % 2 == 1 {
            samples[npix / 2]
        } else {
            (samples[npix / 2 - 1] + samples[npix / 2]) / 2.0
        };
        low = low.max(median - (center as f64 - 1.0) * s);
        high = high.min(median + (npix - center) as f64 * s);
    }
    Some((low, high))
}

/// Least-squares line through the points not rejected: (slope, intercept).
fn line_fit(y: &[f64], rejected: &[bool]) -> (f64, f64) {
    let points = || {
        y.iter()
            .enumerate()
            .zip(rejected)
            .filter(|(_, r)| !**r)
            .map(|((i, v), _)| (i as f64, *v))
    };
    let n = points().count() as f64;
    let (mx, my) = points().fold((0.0, 0.0), |(sx, sy), (x, v)| (sx + x / n, sy + v / n));
    let (sxy, sxx) = points().fold((0.0, 0.0), |(a, b), (x, v)| {
        (a + (x - mx) * (v - my), b + (x - mx) * (x - mx))
    });
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (slope, my - slope * mx)
}

fn std_dev(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count() as f64;
    if n == 0.0 {
        return 0.0;
    }
    let mean = values.clone().sum::<f64>() / n;
    (values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// Marks the neighbours of rejected samples as numpy's
/// `convolve(rejected, ones(grow), mode="same")` does.
fn dilate(rejected: &[bool], grow: usize) -> Vec<bool> {
    let n = rejected.len() as isize;
    let (before, after) = (
        grow as isize - 1 - (grow as isize - 1) / 2,
        (grow as isize - 1) / 2,
    );
    (0..n)
        .map(|i| {
            let from = (i - before).max(0);
            let to = (i + after).min(n - 1);
            (from..=to).any(|j| rejected[j as usize])
        })
        .collect()
}

/// The asinh stretch of astropy's `AsinhStretch(a)` on values normalized to
/// `[0, 1]` between `low` and `high` (clipped); NaN stays NaN.
pub fn asinh_stretch(value: f64, low: f64, high: f64, a: f64) -> f64 {
    if value.is_nan() {
        return f64::NAN;
    }
    let span = high - low;
    let x = if span > 0.0 {
        ((value - low) / span).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (x / a).asinh() / (1.0 / a).asinh()
}

/// A stamp's display values in `[0, 1]`: zscale limits, then an asinh
/// stretch (a = 0.1); NaN where the pixel is NaN.
pub fn display_values(stamp: &Stamp) -> Vec<f64> {
    match zscale(&stamp.pixels) {
        Some((low, high)) => stamp
            .pixels
            .iter()
            .map(|&v| asinh_stretch(v, low, high, 0.1))
            .collect(),
        None => vec![f64::NAN; stamp.pixels.len()],
    }
}
