//! The error type. Each variant corresponds to one AWS error code for the IAM/STS
//! (Query protocol) flavour; [`SigError::s3_code`] gives the code S3 uses for the same
//! condition. Messages follow AWS's wording. No variant ever carries secret material.

use std::borrow::Cow;

/// The standard `SignatureDoesNotMatch` message of IAM and STS.
pub const SIGNATURE_DOES_NOT_MATCH_MESSAGE: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// S3's `SignatureDoesNotMatch` message.
pub const S3_SIGNATURE_DOES_NOT_MATCH_MESSAGE: &str = "The request signature we calculated does not match the signature you provided. Check your key and signing method.";

/// What the verifier computed, for AWS-style diagnostics (S3 returns `StringToSign`
/// and `CanonicalRequest` elements in its `SignatureDoesNotMatch` error body).
/// Contains no secret material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MismatchDiagnostics {
    /// The canonical request of the primary canonicalization.
    pub canonical_request: String,
    /// The string to sign of the primary canonicalization.
    pub string_to_sign: String,
}

/// A Signature Version 4 authentication failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigError {
    /// No `Authorization` header and no presigned query parameters (IAM/STS: 403).
    /// For S3 the server usually treats such a request as anonymous instead.
    #[error("Request is missing Authentication Token")]
    MissingAuthenticationToken,

    /// The `Authorization` header or the presigned query parameters are incomplete or
    /// malformed (400). `presigned` selects the S3 code
    /// (`AuthorizationQueryParametersError` vs `AuthorizationHeaderMalformed`).
    #[error("{message}")]
    IncompleteSignature {
        /// AWS-style message.
        message: String,
        /// Whether the request used presigned query parameters.
        presigned: bool,
    },

    /// The algorithm is not `AWS4-HMAC-SHA256` (e.g. Signature Version 2 or SigV4a).
    #[error("{message}")]
    UnsupportedAlgorithm {
        /// AWS-style message.
        message: String,
    },

    /// Both an `Authorization` header and presigned query parameters were given.
    #[error("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")]
    ConflictingAuthentication,

    /// The access key id is unknown or inactive (403). Produced by the server's
    /// secret lookup, never by this crate's verification itself.
    #[error("The security token included in the request is invalid.")]
    InvalidClientTokenId,

    /// The signature is wrong, or the credential scope is
    /// inconsistent with the request date (403).
    #[error("{message}")]
    SignatureDoesNotMatch {
        /// AWS-style message ([`SIGNATURE_DOES_NOT_MATCH_MESSAGE`] in the common case).
        message: Cow<'static, str>,
        /// What was computed (boxed to keep the error small); `None` when `host` is not signed.
        diagnostics: Option<Box<MismatchDiagnostics>>,
    },

    /// The request time is outside the allowed skew, or a presigned URL has expired or
    /// is not yet valid (403).
    #[error("{message}")]
    RequestExpired {
        /// AWS-style message.
        message: String,
        /// Whether the request used presigned query parameters (S3 answers
        /// `AccessDenied` then, `RequestTimeTooSkewed` otherwise).
        presigned: bool,
    },

    /// The session token has expired (403). Produced by the server, not by this crate.
    #[error("The security token included in the request is expired")]
    ExpiredToken,

    /// The request lacks something required to verify it (400), e.g. S3's
    /// `x-amz-content-sha256` header when the body hash is not available.
    #[error("{message}")]
    InvalidRequest {
        /// AWS-style message.
        message: String,
    },

    /// `x-amz-content-sha256` does not match the body that was passed in (400).
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch,

    /// `x-amz-*` headers are present but not signed (403 `AccessDenied`).
    /// Produced by [`crate::ParsedAuth::require_signed_amz_headers`], which the S3
    /// pre-check and the Query (IAM/STS) path call.
    #[error("There were headers present in the request which were not signed")]
    HeadersNotSigned {
        /// The unsigned header names (S3's `HeadersNotSigned` element, comma-joined).
        headers: Vec<String>,
    },
}

impl SigError {
    /// The AWS error code used by the IAM and STS (Query protocol) APIs.
    pub fn aws_code(&self) -> &'static str {
        match self {
            SigError::MissingAuthenticationToken => "MissingAuthenticationToken",
            SigError::IncompleteSignature { .. } => "IncompleteSignature",
            SigError::UnsupportedAlgorithm { .. } => "IncompleteSignature",
            SigError::ConflictingAuthentication => "InvalidRequest",
            SigError::InvalidClientTokenId => "InvalidClientTokenId",
            SigError::SignatureDoesNotMatch { .. } => "SignatureDoesNotMatch",
            SigError::RequestExpired { .. } => "RequestExpired",
            SigError::ExpiredToken => "ExpiredToken",
            SigError::InvalidRequest { .. } => "InvalidRequest",
            SigError::ContentSha256Mismatch => "XAmzContentSHA256Mismatch",
            SigError::HeadersNotSigned { .. } => "AccessDenied",
        }
    }

    /// The HTTP status IAM and STS answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            SigError::MissingAuthenticationToken
            | SigError::InvalidClientTokenId
            | SigError::SignatureDoesNotMatch { .. }
            | SigError::RequestExpired { .. }
            | SigError::ExpiredToken
            | SigError::HeadersNotSigned { .. } => 403,
            SigError::IncompleteSignature { .. }
            | SigError::UnsupportedAlgorithm { .. }
            | SigError::ConflictingAuthentication
            | SigError::InvalidRequest { .. }
            | SigError::ContentSha256Mismatch => 400,
        }
    }

    /// The error code S3 uses for the same condition.
    pub fn s3_code(&self) -> &'static str {
        match self {
            SigError::MissingAuthenticationToken => "AccessDenied",
            SigError::IncompleteSignature {
                presigned: true, ..
            } => "AuthorizationQueryParametersError",
            SigError::IncompleteSignature {
                presigned: false, ..
            } => "AuthorizationHeaderMalformed",
            SigError::UnsupportedAlgorithm { .. } => "InvalidRequest",
            SigError::ConflictingAuthentication => "InvalidArgument",
            SigError::InvalidClientTokenId => "InvalidAccessKeyId",
            SigError::SignatureDoesNotMatch { .. } => "SignatureDoesNotMatch",
            SigError::RequestExpired {
                presigned: true, ..
            } => "AccessDenied",
            SigError::RequestExpired {
                presigned: false, ..
            } => "RequestTimeTooSkewed",
            SigError::ExpiredToken => "ExpiredToken",
            SigError::InvalidRequest { .. } => "InvalidRequest",
            SigError::ContentSha256Mismatch => "XAmzContentSHA256Mismatch",
            SigError::HeadersNotSigned { .. } => "AccessDenied",
        }
    }

    /// The HTTP status S3 answers with.
    pub fn s3_http_status(&self) -> u16 {
        match self {
            SigError::MissingAuthenticationToken
            | SigError::InvalidClientTokenId
            | SigError::SignatureDoesNotMatch { .. }
            | SigError::RequestExpired { .. }
            | SigError::HeadersNotSigned { .. } => 403,
            SigError::ExpiredToken
            | SigError::IncompleteSignature { .. }
            | SigError::UnsupportedAlgorithm { .. }
            | SigError::ConflictingAuthentication
            | SigError::InvalidRequest { .. }
            | SigError::ContentSha256Mismatch => 400,
        }
    }

    /// The message S3 uses, where it differs from [`Display`](std::fmt::Display).
    pub fn s3_message(&self) -> Cow<'static, str> {
        match self {
            SigError::MissingAuthenticationToken => Cow::Borrowed("Access Denied"),
            SigError::InvalidClientTokenId => {
                Cow::Borrowed("The AWS Access Key Id you provided does not exist in our records.")
            }
            SigError::SignatureDoesNotMatch { message, .. }
                if message == SIGNATURE_DOES_NOT_MATCH_MESSAGE
                    || message == crate::HOST_NOT_SIGNED_MESSAGE =>
            {
                Cow::Borrowed(S3_SIGNATURE_DOES_NOT_MATCH_MESSAGE)
            }
            SigError::RequestExpired {
                presigned: false, ..
            } => Cow::Borrowed(
                "The difference between the request time and the current time is too large.",
            ),
            SigError::UnsupportedAlgorithm { .. } => Cow::Borrowed(
                "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
            ),
            SigError::ExpiredToken => Cow::Borrowed("The provided token has expired."),
            SigError::RequestExpired {
                message,
                presigned: true,
            } => Cow::Owned(message.trim_end_matches('.').to_owned()),
            other => Cow::Owned(other.to_string()),
        }
    }

    /// Diagnostics of a signature mismatch, if any.
    pub fn diagnostics(&self) -> Option<&MismatchDiagnostics> {
        match self {
            SigError::SignatureDoesNotMatch {
                diagnostics: Some(d),
                ..
            } => Some(d),
            _ => None,
        }
    }

    pub(crate) fn incomplete(message: impl Into<String>, presigned: bool) -> Self {
        SigError::IncompleteSignature {
            message: message.into(),
            presigned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl SigError {
        fn mismatch() -> Self {
            SigError::SignatureDoesNotMatch {
                message: Cow::Borrowed(SIGNATURE_DOES_NOT_MATCH_MESSAGE),
                diagnostics: None,
            }
        }
    }

    #[test]
    fn codes_and_statuses() {
        assert_eq!(SigError::mismatch().aws_code(), "SignatureDoesNotMatch");
        assert_eq!(SigError::mismatch().http_status(), 403);
        assert_eq!(
            SigError::mismatch().s3_message(),
            S3_SIGNATURE_DOES_NOT_MATCH_MESSAGE
        );
        assert_eq!(
            SigError::MissingAuthenticationToken.to_string(),
            "Request is missing Authentication Token"
        );
        assert_eq!(
            SigError::InvalidClientTokenId.s3_code(),
            "InvalidAccessKeyId"
        );
        let e = SigError::incomplete("x", true);
        assert_eq!(e.aws_code(), "IncompleteSignature");
        assert_eq!(e.http_status(), 400);
        assert_eq!(e.s3_code(), "AuthorizationQueryParametersError");
        let e = SigError::RequestExpired {
            message: "m".into(),
            presigned: false,
        };
        assert_eq!(e.s3_code(), "RequestTimeTooSkewed");
        assert_eq!(e.aws_code(), "RequestExpired");
    }
}
