//! The one place that maps every error to AWS's code, HTTP status and message, and
//! renders the Query-protocol `<ErrorResponse>`.

use iamd_api::ApiError;
use iamd_iam::IamError;
use iamd_sigv4::SigError;

/// Every way a Query-protocol request can fail.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Sig(#[from] SigError),
    #[error(transparent)]
    Iam(#[from] IamError),
    /// An `AccessDenied` with its encoded authorization message (sent in the
    /// `x-iamd-authorization-message` header; the body is the plain `AccessDenied`).
    #[error("{0}")]
    Denied(IamError, String),
    #[error("request body too large")]
    BodyTooLarge,
    #[error("request body not received in time")]
    BodyTimeout,
    #[error("request body could not be read: {0}")]
    BodyRead(String),
}

impl RequestError {
    /// (code, HTTP status, sender fault, message) as AWS reports them.
    pub fn parts(&self) -> (String, u16, bool, String) {
        match self {
            RequestError::Api(e) => (e.code.clone(), e.status, e.sender_fault, e.message.clone()),
            // The Query APIs answer a header-signed request outside the clock-skew
            // window with SignatureDoesNotMatch ("Signature expired: …").
            RequestError::Sig(
                e @ SigError::RequestExpired {
                    presigned: false, ..
                },
            ) => (
                "SignatureDoesNotMatch".to_string(),
                403,
                true,
                e.to_string(),
            ),
            RequestError::Sig(e) => (
                e.aws_code().to_string(),
                e.http_status(),
                true,
                e.to_string(),
            ),
            RequestError::Iam(e) | RequestError::Denied(e, _) => {
                use iamd_api::iam::errors as modeled;
                // Code, status and fault from IAM's model where it defines the error;
                // the common errors (ValidationError, AccessDenied, NotImplemented)
                // are not in the model.
                let m = match e {
                    IamError::NoSuchEntity(_) => modeled::NO_SUCH_ENTITY,
                    IamError::EntityAlreadyExists(_) => modeled::ENTITY_ALREADY_EXISTS,
                    IamError::DeleteConflict(_) => modeled::DELETE_CONFLICT,
                    IamError::LimitExceeded(_) => modeled::LIMIT_EXCEEDED,
                    IamError::MalformedPolicyDocument(_) => modeled::MALFORMED_POLICY_DOCUMENT,
                    IamError::InvalidInput(_) => modeled::INVALID_INPUT,
                    IamError::ConcurrentModification(_) => modeled::CONCURRENT_MODIFICATION,
                    IamError::Modeled(m, _) => *m,
                    IamError::Store(_) | IamError::Internal(_) => modeled::SERVICE_FAILURE,
                    IamError::Validation(m) => {
                        return ("ValidationError".into(), 400, true, m.clone())
                    }
                    IamError::InvalidClientTokenId => {
                        return ("InvalidClientTokenId".into(), 403, true, e.to_string())
                    }
                    IamError::AccessDenied(m) => {
                        return ("AccessDenied".into(), 403, true, m.clone())
                    }
                    IamError::NotImplemented(m) => {
                        return ("NotImplemented".into(), 501, false, m.clone())
                    }
                };
                let message = match e {
                    // Internal details go to the log, not to the client.
                    IamError::Store(_) | IamError::Internal(_) => {
                        "The request processing has failed because of an unknown error, exception or failure.".to_string()
                    }
                    other => other.to_string(),
                };
                (m.code.to_string(), m.status, m.sender_fault, message)
            }
            RequestError::BodyTooLarge => (
                "RequestEntityTooLarge".into(),
                413,
                true,
                "Request body exceeds the maximum allowed size of 1048576 bytes.".into(),
            ),
            RequestError::BodyTimeout => (
                "RequestTimeout".into(),
                408,
                true,
                "The request body was not received in time.".into(),
            ),
            RequestError::BodyRead(m) => ("MalformedQueryString".into(), 400, true, m.clone()),
        }
    }

    /// The encoded authorization message an `AccessDenied` carries.
    pub fn authorization_message(&self) -> Option<&str> {
        match self {
            RequestError::Denied(_, m) => Some(m),
            _ => None,
        }
    }

    /// The error of an IAM or STS operation with the encoded authorization message
    /// captured while it ran: every `AccessDenied` carries one (`encode_refusal` for a
    /// refusal the policy engine did not decide).
    pub fn from_operation(
        e: IamError,
        captured: Option<String>,
        refusal: impl FnOnce() -> Option<String>,
    ) -> Self {
        match e {
            IamError::AccessDenied(_) => match captured.or_else(refusal) {
                Some(m) => RequestError::Denied(e, m),
                None => RequestError::Iam(e),
            },
            other => RequestError::Iam(other),
        }
    }

    /// The `<ErrorResponse>` body, in the namespace of the service that failed.
    pub fn to_xml(&self, xmlns: &str, request_id: &str) -> (u16, String) {
        let (code, status, sender, message) = self.parts();
        (
            status,
            ApiError::new(code, message, status, sender).to_xml(xmlns, request_id),
        )
    }
}
