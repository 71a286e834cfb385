//! Settings whose values are words (`earliest`, `parquet`, `svg`...): each
//! such enum lists its words once, and is parsed from them here, for the
//! command line, the Python package and profiles alike.

use std::fmt;

/// An enum whose values are named by words.
pub trait Named: Sized + Copy + 'static {
    /// What the values are values of, for messages ("start position").
    const WHAT: &'static str;
    /// Every value, in the order the words are listed.
    const ALL: &'static [Self];
    /// The word for a value.
    fn name(self) -> &'static str;

    /// Every word, in order.
    fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|v| v.name()).collect()
    }
}

/// A word that names no value; its message lists the accepted words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    pub what: &'static str,
    pub given: String,
    pub expected: Vec<&'static str>,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} '{}': expected {}",
            self.what,
            self.given,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownName {}

impl From<UnknownName> for crate::error::Error {
    fn from(e: UnknownName) -> Self {
        crate::error::Error::Config(e.to_string())
    }
}

/// The value a word names (case-insensitive, `-` and `_` alike).
///
/// ```
/// use alertstream::kafka::Start;
/// assert_eq!("LATEST".parse::<Start>(), Ok(Start::Latest));
/// let error = "newest".parse::<Start>().unwrap_err();
/// assert_eq!(error.to_string(), "unknown start position 'newest': expected earliest, latest");
/// ```
pub fn parse_name<T: Named>(given: &str) -> Result<T, UnknownName> {
    let same = |a: &str| {
        a.len() == given.len()
            && a.bytes().zip(given.bytes()).all(|(x, y)| {
                x.eq_ignore_ascii_case(&y) || (b"-_".contains(&x) && b"-_".contains(&y))
            })
    };
    T::ALL
        .iter()
        .copied()
        .find(|v| same(v.name()))
        .ok_or_else(|| UnknownName {
            what: T::WHAT,
            given: given.to_owned(),
            expected: T::names(),
        })
}

/// Implements [`Named`], `FromStr` and `Display` for an enum from its words.
macro_rules! named {
    ($type:ty, $what:literal, { $($variant:path => $word:literal),+ $(,)? }) => {
        impl $crate::names::Named for $type {
            const WHAT: &'static str = $what;
            const ALL: &'static [Self] = &[$($variant),+];
            fn name(self) -> &'static str {
                match self {
                    $($variant => $word),+
                }
            }
        }

        impl std::str::FromStr for $type {
            type Err = $crate::names::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::names::parse_name(s)
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::names::Named::name(*self))
            }
        }
    };
}
pub(crate) use named;
