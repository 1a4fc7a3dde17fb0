//! iamd-iam: the IAM service rules. Names, ids, ARNs, paths, quotas and conflicts;
//! the in-memory view of the account that serves the hot path; and the principal's
//! effective policy set handed to the policy engine.
//!
//! It speaks neither HTTP nor SQL: requests arrive as the typed operation inputs
//! generated from botocore's models (`iamd-api`), and every write goes to the store as
//! a batch of typed [`iamd_store::Change`]s committed in one transaction *before* the
//! in-memory view changes (`Iam::write`: plan, prepare, commit, apply). Writes are
//! serialized by one async mutex, so each operation's checks (exists? conflicts?
//! quotas?) and its commit see the same state. The operations are listed once, in
//! `front.rs`; each is one `Operation` impl in `ops/`, by resource family.

mod analyzer;
mod authz_message;
mod binding;
mod core;
pub mod crypto;
mod entity;
mod error;
mod follow;
mod front;
pub mod ids;
mod ops;
mod policies;
mod principal;
mod sessions;
mod simulate;
mod state;
mod test_mode;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod testing;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod write_bench;

pub use crate::core::{Iam, InitOptions, InitReport, KeepRootKey, NewAccount, PendingAccount};
pub use analyzer::{lint_policy, ValidatePolicyInput, ValidatePolicyOutput};
pub use authz_message::{capture_denial, capture_denial_sync, AUTHORIZATION_MESSAGE_HEADER};
pub use binding::{BoundPolicy, Rebound};
pub use error::IamError;
pub use iamd_session::is_account_id;
pub use ops::Output;
pub use principal::{
    request_context, Authenticated, Check, Identity, KeyProblem, LazyContext, Principal,
    RequestOrigin, RoleSession, Target,
};
pub use sessions::is_session_key;
pub use simulate::CustomSimulation;
pub use simulate::{context_key_type, context_value_valid};
pub use state::UsageCell;
