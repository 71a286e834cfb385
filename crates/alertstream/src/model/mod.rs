//! What an alert is, once decoded: the record's values and writer schema,
//! the survey-aware accessors, observation times, and the summary row.

pub mod alert;
pub mod format;
pub mod lightcurve;
pub mod schema;
pub mod stamp;
pub mod time;
pub mod value;
pub mod view;
