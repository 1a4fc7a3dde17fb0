//! iamd-text: the small text utilities more than one iamd crate needs, in one place.
//!
//! - [`date`]: proleptic-Gregorian civil-date arithmetic (Howard Hinnant's algorithms)
//!   and the two fixed date formats of AWS requests, ISO 8601 basic (`X-Amz-Date`) and
//!   IMF-fixdate (`Date`).
//! - [`percent`]: percent-decoding (lenient, as SigV4 canonicalization and S3 read
//!   URLs, or strict, as the Query protocol's form bodies) and hex digits.
//!
//! Pure: no I/O, no clock, no allocation where nothing changes, no dependencies.
#![forbid(unsafe_code)]

pub mod date;
pub mod percent;
