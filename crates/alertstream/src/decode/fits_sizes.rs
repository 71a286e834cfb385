//! FITS headers looked at before a FITS reader multiplies their numbers:
//! fitsrs computes an HDU's data size from NAXISn unchecked, so a hostile
//! header (NAXIS1 = NAXIS2 = 2^40) would overflow inside it. Every HDU's
//! data must fit in the bytes that follow its header.

/// A header is read until END, at most this many cards (ZTF's stamps have
/// about 200; 36 cards make a 2880-byte block).
const MAX_HEADER_CARDS: usize = 36 * 100;
const BLOCK: usize = 2880;

/// Checks that each HDU's data (|BITPIX|/8 x NAXIS1 x ... + PCOUNT bytes)
/// lies within `fits`.
pub(crate) fn check(fits: &[u8]) -> Result<(), String> {
    let mut at = 0;
    while at + BLOCK <= fits.len() {
        let (header_bytes, bitpix, axes, pcount) = read_header(&fits[at..]);
        let data = axes
            .iter()
            .try_fold((bitpix / 8).max(1), |bytes, &n| bytes.checked_mul(n))
            .map(|b| if axes.is_empty() { 0 } else { b })
            .and_then(|b| b.checked_add(pcount));
        let start = at + header_bytes;
        let fits_in = data
            .and_then(|d| usize::try_from(d).ok())
            .and_then(|d| start.checked_add(d))
            .filter(|&end| end <= fits.len());
        let Some(end) = fits_in else {
            let axes: Vec<String> = axes.iter().map(u64::to_string).collect();
            return Err(format!(
                "its header's axes ({} values of {bitpix} bits) cannot fit in its {} bytes",
                axes.join(" x "),
                fits.len()
            ));
        };
        at = end.div_ceil(BLOCK) * BLOCK;
    }
    Ok(())
}

/// (bytes of the header, |BITPIX|, NAXISn, PCOUNT) of the header at the
/// start of `bytes`.
fn read_header(bytes: &[u8]) -> (usize, u64, Vec<u64>, u64) {
    let (mut bitpix, mut axes, mut pcount) = (8u64, Vec::new(), 0u64);
    let mut cards: usize = 0;
    for card in bytes.chunks_exact(80).take(MAX_HEADER_CARDS) {
        cards += 1;
        let keyword = std::str::from_utf8(&card[..8]).unwrap_or("").trim_end();
        if keyword == "END" {
            break;
        }
        let value = || -> Option<i64> {
            let text = std::str::from_utf8(card.get(10..)?).ok()?;
            text.split('/').next()?.trim().parse().ok()
        };
        match keyword {
            "BITPIX" => bitpix = value().map_or(8, |b| b.unsigned_abs()),
            "PCOUNT" => pcount = value().and_then(|v| u64::try_from(v).ok()).unwrap_or(0),
            k if k.starts_with("NAXIS") && k.len() > 5 => {
                axes.push(value().and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
            }
            _ => {}
        }
    }
    ((cards * 80).div_ceil(BLOCK) * BLOCK, bitpix, axes, pcount)
}
