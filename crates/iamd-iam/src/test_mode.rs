//! Test mode (`iamd serve --test-mode`, for test suites written for moto's "any
//! credentials" convention): an access key this server does not hold authenticates as
//! the root of the first account whatever its secret, and `reset-auth` grants a number
//! of requests that authenticate as that root whatever their key. Off unless
//! [`Iam::enable_test_mode`] was called: [`Iam::authenticate`] then fails closed as
//! always.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use iamd_store::Store;

use crate::core::Iam;
use crate::principal::{Authenticated, KeyProblem, Principal};

/// The test-mode switches of one server (all off by default).
#[derive(Debug, Default)]
pub(crate) struct TestMode {
    on: AtomicBool,
    /// Requests left that authenticate as the root whatever their key.
    passes: AtomicU64,
}

impl<S: Store> Iam<S> {
    /// Turns test mode on (for the life of this server; there is no way back).
    pub fn enable_test_mode(&self) {
        self.inner.test_mode.on.store(true, Ordering::Release);
    }

    /// Whether test mode is on.
    pub fn test_mode(&self) -> bool {
        self.inner.test_mode.on.load(Ordering::Acquire)
    }

    /// The next `n` authentications succeed as the first account's root whatever the
    /// key (moto's `reset-auth`); ignored unless test mode is on.
    pub fn grant_root_passes(&self, n: u64) {
        if self.test_mode() {
            self.inner.test_mode.passes.store(n, Ordering::Release);
        }
    }

    /// Takes one pass granted by [`Iam::grant_root_passes`], if any is left.
    fn take_root_pass(&self) -> bool {
        self.test_mode()
            && self
                .inner
                .test_mode
                .passes
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok()
    }

    /// The first account's root, its signature not to be checked.
    fn test_root(&self) -> Authenticated {
        Authenticated {
            principal: Principal::Root {
                account: self.inner.first.id.clone(),
            },
            secret: Arc::from(""),
            usage: None,
            any_secret: true,
        }
    }

    /// Test mode's say on an authentication: a granted pass first, else `found`, or
    /// the root when `found` failed only because this server does not hold the key
    /// (unknown, or a session token that does not open). Off: `found`, unchanged.
    pub(crate) fn test_mode_authenticate(
        &self,
        access_key_id: &str,
        found: impl FnOnce() -> Result<Authenticated, KeyProblem>,
    ) -> Result<Authenticated, KeyProblem> {
        if !self.test_mode() {
            return found();
        }
        if self.take_root_pass() {
            return Ok(self.test_root());
        }
        match found() {
            Err(KeyProblem::Unknown) => Ok(self.test_root()),
            // A token with a key we do not hold (moto's "testing"/"testing"); a
            // long-term key we hold keeps its refusal.
            Err(KeyProblem::InvalidToken)
                if matches!(self.credentials(access_key_id), Err(KeyProblem::Unknown)) =>
            {
                Ok(self.test_root())
            }
            other => other,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use crate::testing::{field, ok, open, root, MemStore, ROOT_KEY};

    use super::*;

    #[tokio::test]
    async fn unknown_keys_are_root_only_in_test_mode() {
        let iam = open(MemStore::default()).await;
        ok(&iam, "CreateUser", "UserName=melvins").await;
        let xml = ok(&iam, "CreateAccessKey", "UserName=melvins").await;
        let key = field(&xml, "AccessKeyId");
        // Off: unknown keys and foreign tokens are refused, as always.
        assert_eq!(
            iam.authenticate("testing", None).err(),
            Some(KeyProblem::Unknown)
        );
        assert_eq!(
            iam.authenticate("testing", Some("testing")).err(),
            Some(KeyProblem::InvalidToken)
        );
        iam.grant_root_passes(5);
        assert!(!iam.authenticate(&key, None).unwrap().any_secret);

        iam.enable_test_mode();
        for (id, token) in [("testing", None), ("testing", Some("testing"))] {
            let a = iam.authenticate(id, token).unwrap();
            assert!(a.any_secret);
            assert_eq!(a.principal, root());
        }
        // Held keys keep their identity, secret and refusals.
        let a = iam.authenticate(&key, None).unwrap();
        assert!(!a.any_secret);
        assert!(matches!(a.principal, Principal::User { ref name, .. } if name == "melvins"));
        assert_eq!(
            iam.authenticate(ROOT_KEY, Some("token")).err(),
            Some(KeyProblem::InvalidToken)
        );
        // reset-auth: exactly n authentications as root, whatever the key.
        iam.grant_root_passes(2);
        for _ in 0..2 {
            let a = iam.authenticate(&key, None).unwrap();
            assert!(a.any_secret);
            assert_eq!(a.principal, root());
        }
        assert!(!iam.authenticate(&key, None).unwrap().any_secret);
    }
}
