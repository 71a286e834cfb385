//! `--where`: a SQL boolean expression over an alert's fields, as Lasair
//! users write their filters. Parsed with sqlparser (`compile`), evaluated
//! on the decoded record in place (`eval`), names resolved by the writer
//! schema or the alert model's survey-neutral names (`fields`).
//!
//! ```
//! use alertstream::select::Filter;
//! # use alertstream::{Decoder, DecoderOptions};
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro");
//! # let alert = Decoder::new(DecoderOptions::default())?.decode_file(path.as_ref()).into_result()?.remove(0);
//! let bright = Filter::parse("candidate.magpsf < 19 AND (candidate.ssdistnr < 0 OR candidate.ssdistnr > 5)")?;
//! let faint = Filter::parse("mag > 21 AND band = 'g'")?;
//! assert!(bright.test(&alert)? != faint.test(&alert)?);
//! # Ok::<(), alertstream::Error>(())
//! ```

mod compile;
mod eval;
mod fields;

pub use fields::NEUTRAL_NAMES;

use crate::error::{Error, Result};
use crate::model::alert::Alert;
use compile::Node;
use eval::{Eval, Scalar};
use fields::Resolver;

/// A compiled filter expression. Cheap to share between threads.
#[derive(Debug)]
pub struct Filter {
    text: String,
    root: Node,
    resolver: Resolver,
}

impl Filter {
    /// Parses `text`; a syntax error is [`Error::Expression`], with the
    /// column where it is.
    pub fn parse(text: &str) -> Result<Filter> {
        let compiled = compile::compile(text).map_err(|invalid| Error::Expression {
            text: text.to_owned(),
            column: invalid.column,
            reason: invalid.reason,
        })?;
        Ok(Filter {
            text: text.to_owned(),
            root: compiled.root,
            resolver: Resolver::new(compiled.paths),
        })
    }

    /// The expression as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when the expression is true for the alert (false or NULL: not
    /// kept). Values of kinds that cannot meet (a string compared with a
    /// number) are [`Error::Filter`], naming the field and both kinds.
    pub fn test(&self, alert: &Alert) -> Result<bool> {
        self.resolver.learn(alert.record());
        let mut eval = Eval {
            alert,
            resolver: &self.resolver,
            now_mjd: now_mjd(),
            items: Vec::new(),
        };
        match eval.eval(&self.root) {
            Ok(Scalar::Bool(b)) => Ok(b),
            Ok(Scalar::Null) => Ok(false),
            Ok(other) => Err(Error::Filter {
                expression: self.text.clone(),
                reason: format!("it gives {} where a condition was expected", other.kind()),
            }),
            Err(mismatch) => Err(Error::Filter {
                expression: self.text.clone(),
                reason: mismatch.0,
            }),
        }
    }

    /// The expression's fields that no alert tested so far had, each with
    /// the closest field names of the records seen.
    pub fn unknown_fields(&self) -> Vec<(String, Vec<String>)> {
        self.resolver.never_found()
    }
}

/// Now as a Modified Julian Date (UTC).
fn now_mjd() -> f64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    crate::model::time::unix_to_mjd(unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(json: &str) -> Alert {
        let decoder = crate::Decoder::new(crate::DecoderOptions::default()).unwrap();
        decoder
            .decode(None, json.as_bytes().to_vec().into())
            .unwrap()
            .remove(0)
    }

    #[test]
    fn sql_three_valued_logic() {
        let a =
            alert(r#"{"objectId": "ZTF1", "x": 3, "n": null, "items": [{"m": 1}, {"m": null}]}"#);
        let keeps = |text: &str| Filter::parse(text).unwrap().test(&a).unwrap();
        for (text, kept) in [
            ("x = 3", true),
            ("missing < 1", false),
            ("NOT (missing < 1)", false),
            ("missing < 1 OR x = 3", true),
            ("missing < 1 AND x = 3", false),
            ("NOT (missing < 1 AND x = 4)", true),
            ("n IS NULL AND missing IS NULL", true),
            ("x IN (1, NULL)", false),
            ("NOT (x IN (1, NULL))", false),
            ("x IN (3, NULL)", true),
            ("any(items, m = 1)", true),
            ("all(items, m = 1)", false),
            ("NOT all(items, m = 1)", false),
            ("all(items, m IS NULL OR m = 1)", true),
            ("any(items, m = 2)", false),
            ("NOT any(items, m = 2)", false),
            ("count(items, m IS NULL) = 1", true),
            ("x / 2 = 1.5 AND x % 2 = 1 AND -x = -3", true),
            ("coalesce(n, missing, x) = 3", true),
        ] {
            assert_eq!(keeps(text), kept, "{text}");
        }
        let mismatch = Filter::parse("objectId + 1 > 2")
            .unwrap()
            .test(&a)
            .unwrap_err();
        assert!(
            mismatch.to_string().contains("objectId is string"),
            "{mismatch}"
        );
    }
}
