//! Where a person looks an alert's object up: the brokers' portal pages,
//! and the class a broker gave it.

use crate::model::alert::{Alert, Survey};

/// A broker's page for an object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Link {
    pub name: &'static str,
    pub url: String,
}

/// The portals that show ZTF objects, by their `objectId`.
const ZTF_PORTALS: [(&str, &str, &str); 3] = [
    ("Fink", "https://fink-portal.org/", ""),
    ("Lasair", "https://lasair-ztf.lsst.ac.uk/objects/", "/"),
    ("ALeRCE", "https://alerce.online/object/", ""),
];

/// The portals that show Rubin objects, by their `diaObjectId`.
const RUBIN_PORTALS: [(&str, &str, &str); 2] = [
    ("Fink", "https://lsst.fink-portal.org/", ""),
    ("Lasair", "https://lasair.lsst.ac.uk/objects/", "/"),
];

/// ANTARES' page of a locus.
const ANTARES_LOCUS: &str = "https://antares.noirlab.edu/loci/";

/// The class a broker gave the alert, in the order brokers name it: Fink's
/// class, a classification column (Lasair's Sherlock), TNS, then the
/// CDS cross-match. "Unknown" and empty values do not count.
const CLASS_FIELDS: [&str; 7] = [
    "finkclass",
    "fink_class",
    "classification",
    "sherlock_classification",
    "class",
    "tnsclass",
    "cdsxmatch",
];

/// The brokers' pages for the alert's object, best known first.
pub fn portal_links(alert: &Alert) -> Vec<Link> {
    let Some(id) = alert.object_id() else {
        return Vec::new();
    };
    let id = id.to_string();
    let link = |(name, before, after): (&'static str, &str, &str)| Link {
        name,
        url: format!("{before}{}{after}", url_segment(&id)),
    };
    match alert.survey() {
        Survey::Ztf => ZTF_PORTALS.into_iter().map(link).collect(),
        Survey::Rubin | Survey::Lasair => RUBIN_PORTALS.into_iter().map(link).collect(),
        Survey::Antares => vec![Link {
            name: "ANTARES",
            url: format!("{ANTARES_LOCUS}{}", url_segment(&id)),
        }],
        Survey::Unknown if id.starts_with("ZTF") => ZTF_PORTALS.into_iter().map(link).collect(),
        Survey::Unknown => Vec::new(),
    }
}

/// The class a broker added to the alert, if any: Fink's class, a
/// classification column (Lasair's Sherlock), TNS, then the CDS cross-match.
pub fn classification(alert: &Alert) -> Option<String> {
    let record = alert.record();
    CLASS_FIELDS.iter().find_map(|name| {
        let text = record.get(name)?.as_str()?.trim();
        let known = !text.is_empty() && !text.eq_ignore_ascii_case("unknown");
        known.then(|| text.to_owned())
    })
}

/// An id as one URL path segment: unreserved characters kept, the rest
/// percent-encoded (a designation such as "2015 BC557" has a space).
pub fn url_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out += &format!("%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::url_segment;

    #[test]
    fn ids_become_one_path_segment() {
        assert_eq!(url_segment("ZTF21aaxtctv"), "ZTF21aaxtctv");
        assert_eq!(url_segment("2015 BC557/x"), "2015%20BC557%2Fx");
    }
}
