//! What an alert is, once decoded: the record's values and writer schema,
//! the survey-aware accessors, observation times, stamps, light curves and
//! a survey-neutral summary.

pub mod alert;
pub mod checkpoint;
pub mod format;
pub mod lightcurve;
pub mod portal;
pub mod schema;
pub mod stamp;
pub mod summary;
pub mod time;
pub mod value;
