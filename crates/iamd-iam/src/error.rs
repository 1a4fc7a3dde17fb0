//! Errors of the IAM service. Each variant is one AWS error code; the server maps
//! them to HTTP status and XML in one place (`iamd::errors`).

#[derive(Debug, thiserror::Error)]
pub enum IamError {
    /// 404 `NoSuchEntity`.
    #[error("{0}")]
    NoSuchEntity(String),
    /// 409 `EntityAlreadyExists`.
    #[error("{0}")]
    EntityAlreadyExists(String),
    /// 409 `DeleteConflict`.
    #[error("{0}")]
    DeleteConflict(String),
    /// 409 `LimitExceeded`.
    #[error("{0}")]
    LimitExceeded(String),
    /// 400 `MalformedPolicyDocument`.
    #[error("{0}")]
    MalformedPolicyDocument(String),
    /// 400 `ValidationError`.
    #[error("{0}")]
    Validation(String),
    /// 400 `InvalidInput`.
    #[error("{0}")]
    InvalidInput(String),
    /// 403 `InvalidClientTokenId`: credentials this service does not take (GetSessionToken
    /// credentials obtained without MFA, calling IAM).
    #[error("The security token included in the request is invalid.")]
    InvalidClientTokenId,
    /// 403 `AccessDenied`.
    #[error("{0}")]
    AccessDenied(String),
    /// Any other error of IAM's model, with the code, status and fault the generated
    /// table gives it (`iamd_api::iam::errors`), e.g. `UnmodifiableEntity`: a new AWS
    /// error code needs no new variant and no new mapping in the server.
    #[error("{1}")]
    Modeled(iamd_api::ModeledError, String),
    /// 409 `ConcurrentModification`: another node or writer changed the entity first.
    #[error("{0}")]
    ConcurrentModification(String),
    /// 501 — the operation is modelled but not implemented yet.
    #[error("{0}")]
    NotImplemented(String),
    /// 500 `ServiceFailure` — the store failed; nothing was written.
    #[error("the store failed: {0}")]
    Store(iamd_store::StoreError),
    /// 500 `ServiceFailure` — an internal invariant failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<iamd_store::StoreError> for IamError {
    fn from(e: iamd_store::StoreError) -> Self {
        match e {
            iamd_store::StoreError::Conflict(what) => IamError::ConcurrentModification(format!(
                "A conflicting change was committed concurrently ({what}). Retry the request."
            )),
            // A row this batch refers to was removed by a concurrent writer (another
            // node), or a row still has dependents: the request raced and changed nothing.
            iamd_store::StoreError::Reference(what) | iamd_store::StoreError::Missing(what) => {
                IamError::ConcurrentModification(format!(
                    "A conflicting change was committed concurrently ({what}). Retry the request."
                ))
            }
            other => IamError::Store(other),
        }
    }
}

impl From<crate::crypto::CryptoError> for IamError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        IamError::Internal(e.to_string())
    }
}

impl From<crate::state::StateError> for IamError {
    fn from(e: crate::state::StateError) -> Self {
        match e {
            crate::state::StateError::Unsupported(m) => IamError::NotImplemented(m),
            other => IamError::Internal(other.to_string()),
        }
    }
}
