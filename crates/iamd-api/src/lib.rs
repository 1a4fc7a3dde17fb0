//! iamd-api: the AWS IAM and STS wire contract.
//!
//! * [`iam`] and [`sts`] are **generated** by `codegen/gen_api.py` from
//!   botocore's `service-2.json` models (see the header of each file): one
//!   input struct and (where the operation has output) one result struct per
//!   operation, the shared nested shapes, Query-protocol decoders with the
//!   model's constraints, XML encoders, dispatch and the modeled error table.
//! * [`params`], [`xml`], [`time`], [`error`], [`rt`], [`json`] are the
//!   hand-written runtime they use.
//!
//! ```
//! use iamd_api::{iam, Params};
//! let p = Params::from_form(b"Action=CreateUser&Version=2010-05-08&UserName=bob").unwrap();
//! let req = iam::decode(p.action().unwrap(), &p).unwrap();
//! assert_eq!(req.operation_name(), "CreateUser");
//! ```

pub mod base64;
pub mod error;
pub mod json;
pub mod params;
pub mod rt;
pub mod time;
pub mod xml;

mod generated;

pub use error::{ApiError, ModeledError};
pub use generated::{iam, sts};
pub use json::WriteJson;
pub use params::Params;
pub use time::Timestamp;
pub use xml::WriteXml;
