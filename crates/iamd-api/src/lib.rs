//! iamd-api: the AWS IAM and STS wire contract.
//!
//! * [`iam`] and [`sts`] are **generated** by `codegen/gen_api.py` from
//!   botocore's `service-2.json` models (see the header of each file): one
//!   input struct (`CreateUserRequest`) and, where the operation has output,
//!   one result struct (`CreateUserResult`; the model's `…Response` shapes are
//!   renamed `…Result`, and two IAM results are shared by two operations each:
//!   `GetContextKeysForPolicyResult`, `SimulatePolicyResult`) per operation,
//!   the shared nested shapes (`User`, `Tag`, …), Query-protocol decoders with
//!   the model's constraints, XML encoders, dispatch (`IamRequest`,
//!   [`iam::decode`]) and the modeled error table ([`iam::errors`]).
//! * [`params`], [`xml`], [`time`], [`error`], [`rt`], [`json`], [`base64`]
//!   are the hand-written runtime they use.
//!
//! Type mapping: strings and enums → `String` (enum values are validated, the
//! raw value stays visible), `integer` → `i32`, `boolean` → `bool`,
//! `timestamp` → [`Timestamp`], `blob` → `Vec<u8>`, lists → `Vec<T>`, maps →
//! `BTreeMap<String, V>`; members not `required` by the model are `Option`s.
//!
//! # Wire decisions
//!
//! * Request parameters: a repeated name, bad percent-encoding or invalid
//!   UTF-8 → `MalformedQueryString` (400). Unknown parameters are ignored.
//! * Lists `Name.member.N`, maps `Name.entry.N.key/value`: indices must be
//!   canonical decimals forming exactly `1..=n`, else `MalformedQueryString`.
//!   `Name=` with no items (botocore's empty list) is an empty list.
//! * A value that cannot be converted (integer, boolean `true`/`false`,
//!   ISO-8601 timestamp, base64) → `InvalidParameterValue` (400).
//! * Constraint violations (required, length, range, pattern, enum) are all
//!   collected and reported as one `ValidationError` (400) in AWS's wording;
//!   paths are lowerCamelCase (`tags.1.member.key`); values of `sensitive`
//!   members and of lists are not echoed; values over
//!   [`rt::MAX_ECHO_CHARS`] characters are cut and end in `...`.
//! * Unknown `Action` → `InvalidAction` "Could not find operation X for
//!   version V"; [`iam::decode_request`] also rejects a foreign `Version` so.
//! * Responses: `<{Op}Response xmlns=…>`, `<{Op}Result>` only for operations
//!   with output, timestamps `2011-01-22T20:02:27Z` (seconds, UTC).
//!
//! ```
//! use iamd_api::{iam, Params, Timestamp};
//! let p = Params::from_form(b"Action=CreateUser&Version=2010-05-08&UserName=bob").unwrap();
//! let iam::IamRequest::CreateUser(req) = iam::decode_request(&p).unwrap() else { unreachable!() };
//! assert_eq!(req.user_name, "bob");
//!
//! let result = iam::CreateUserResult {
//!     user: Some(iam::User {
//!         path: "/".into(),
//!         user_name: req.user_name.clone(),
//!         user_id: "AIDAEXAMPLE".into(),
//!         arn: "arn:aws:iam::123456789012:user/bob".into(),
//!         create_date: Timestamp::now(),
//!         ..Default::default()
//!     }),
//! };
//! let mut body = String::new();
//! iam::encode_response("CreateUser", Some(&result), "request-id", &mut body);
//! assert!(body.contains("<UserName>bob</UserName>"));
//!
//! let err = iam::errors::NO_SUCH_ENTITY.with_message("The user with name x cannot be found.");
//! let mut body = String::new();
//! iam::encode_error(&err, "request-id", &mut body);
//! assert_eq!(err.status, 404);
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

/// The Query-protocol services this crate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// IAM, version 2010-05-08.
    Iam,
    /// STS, version 2011-06-15.
    Sts,
}

impl Service {
    /// Picks the service of a request: by `Version` when it names one of the
    /// two API versions, else by which service has operation `action`
    /// (the two operation sets are disjoint). `None`: neither.
    pub fn for_request(action: &str, version: Option<&str>) -> Option<Service> {
        match version {
            Some(iam::API_VERSION) => Some(Service::Iam),
            Some(sts::API_VERSION) => Some(Service::Sts),
            _ if iam::is_operation(action) => Some(Service::Iam),
            _ if sts::is_operation(action) => Some(Service::Sts),
            _ => None,
        }
    }

    /// The response XML namespace.
    pub fn xmlns(self) -> &'static str {
        match self {
            Service::Iam => iam::XMLNS,
            Service::Sts => sts::XMLNS,
        }
    }

    /// The API version.
    pub fn api_version(self) -> &'static str {
        match self {
            Service::Iam => iam::API_VERSION,
            Service::Sts => sts::API_VERSION,
        }
    }
}
