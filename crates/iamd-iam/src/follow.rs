//! Following the change log (`iamd_store::log`): the nodes sharing one database show
//! each other's writes.
//!
//! Memory shows the change log up to one position, kept under the write lock
//! (`Inner::write`): every entry up to it is applied, none after. A local write
//! commits only at that position (`Store::apply_logged` with the expected head) and
//! then advances it, so this node's own entries are never applied twice; an entry of
//! this node whose commit outcome was unknown (a dropped connection) is at the next
//! position and is applied from the log like any other. The follower ([`Iam::follow`],
//! one task per node on a shared store) applies the entries after the position in
//! sequence order through the same `State::prepare` + `State::apply` startup uses,
//! woken by PostgreSQL's notification and, as a backstop for a lost one, every
//! [`POLL`]. An entry it cannot take (the entries after its position were pruned, or
//! a batch memory refuses) makes it reload every account from one consistent read
//! (`Store::load_all`, which names the position it is current to).

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use iamd_store::log::{Listener, Wake};
use iamd_store::{Change, LogEntry, Logged, Seq, Store};
use tokio::sync::MutexGuard;

use crate::core::{Account, Iam};
use crate::error::IamError;
use crate::state::State;

/// The backstop: the follower reads the log at least this often.
pub const POLL: Duration = Duration::from_millis(100);
/// Entries read per query.
const READ_BATCH: i64 = 256;
/// How many times a write that found the log moved on catches up and plans again.
pub(crate) const STALE_RETRIES: usize = 8;

/// Called with a bucket name whose cached settings are stale (`None`: every bucket).
pub type BucketHook = dyn Fn(Option<&str>) + Send + Sync;

/// The follower's state.
#[derive(Default)]
pub(crate) struct Follow {
    /// When memory last was at the log's head (read from the database).
    current_at: Mutex<Option<Instant>>,
    /// Drops bucket caches (`iamd-s3`) when another node changed a bucket.
    bucket_hook: RwLock<Option<Arc<BucketHook>>>,
}

enum Outcome {
    /// Every entry given was applied (or was already).
    Applied,
    /// The entries cannot be applied in order: reload.
    Reload(String),
}

impl<S: Store> Iam<S> {
    /// Sets what is called when another node changed a bucket (`None`: all of them),
    /// or memory was reloaded.
    pub fn on_bucket_change(&self, hook: Arc<BucketHook>) {
        *self
            .inner
            .follow
            .bucket_hook
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(hook);
    }

    fn bucket_changed(&self, name: Option<&str>) {
        let hook = self
            .inner
            .follow
            .bucket_hook
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(h) = hook {
            h(name);
        }
    }

    /// Whether memory was at the log's head within `bound` (always true on a store no
    /// other node writes): `/readyz`.
    pub fn view_current(&self, bound: Duration) -> bool {
        if !self.inner.store.shared() {
            return true;
        }
        self.inner
            .follow
            .current_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|t| t.elapsed() <= bound)
    }

    /// Whether the database answers (a read of the log's head within `within`):
    /// `/readyz`.
    pub async fn database_reachable(&self, within: Duration) -> bool {
        matches!(
            tokio::time::timeout(within, self.inner.store.log_head()).await,
            Ok(Ok(_))
        )
    }

    /// The change-log position memory shows.
    pub async fn applied_seq(&self) -> Seq {
        *self.inner.write.lock().await
    }

    /// Applies every entry committed after the position memory shows (the follower's
    /// step; also after a write found the log moved on).
    pub async fn catch_up(&self) -> Result<(), IamError> {
        let mut applied = self.inner.write.lock().await;
        self.catch_up_locked(&mut applied).await
    }

    /// [`Iam::catch_up`] under the write lock, whose guard holds the position.
    pub(crate) async fn catch_up_locked(
        &self,
        applied: &mut MutexGuard<'_, Seq>,
    ) -> Result<(), IamError> {
        loop {
            let entries = self.inner.store.log_since(**applied, READ_BATCH).await?;
            match self.apply_entries(applied, &entries) {
                Outcome::Applied => {}
                Outcome::Reload(why) => {
                    tracing::warn!(reason = %why, "reloading every account from the database");
                    return self.reload_locked(applied).await;
                }
            }
            if (entries.len() as i64) < READ_BATCH {
                *self
                    .inner
                    .follow
                    .current_at
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                return Ok(());
            }
        }
    }

    fn apply_entries(&self, applied: &mut MutexGuard<'_, Seq>, entries: &[LogEntry]) -> Outcome {
        for e in entries {
            if e.seq <= **applied {
                continue;
            }
            if e.seq != **applied + 1 {
                return Outcome::Reload(format!(
                    "the change log holds {} after {} (pruned)",
                    e.seq, **applied
                ));
            }
            if let Err(why) = self.apply_entry(e) {
                return Outcome::Reload(format!("change {}: {why}", e.seq));
            }
            **applied = e.seq;
        }
        Outcome::Applied
    }

    /// Applies one entry to memory (the caller holds the write lock).
    fn apply_entry(&self, e: &LogEntry) -> Result<(), IamError> {
        let (account, changes) = match &e.change {
            Logged::Bucket(name) => {
                self.bucket_changed(Some(name));
                return Ok(());
            }
            Logged::Batch { account, changes } => (account, changes),
        };
        let acct = match account {
            None => Some(self.inner.first.clone()),
            Some(id) => self.inner.accounts_get(id),
        };
        match acct {
            Some(acct) => {
                let view = Iam {
                    inner: self.inner.clone(),
                    acct,
                };
                let prepared = view.read().prepare(changes, &self.inner.master)?;
                view.show(prepared, changes);
            }
            // An account created on another node: its first batch creates it.
            None => {
                let id = account.clone().unwrap_or_default();
                if !changes
                    .iter()
                    .any(|c| matches!(c, Change::PutAccount(a) if a.id == id))
                {
                    return Err(IamError::Internal(format!(
                        "a batch of account {id}, which this node does not hold"
                    )));
                }
                let mut state = State::default();
                let prepared = state.prepare(changes, &self.inner.master)?;
                state.apply(prepared);
                self.inner.add_account(id, state);
                self.inner.rebind_across_accounts();
            }
        }
        Ok(())
    }

    /// Replaces every account's state with the database's, at the position that read
    /// is current to.
    async fn reload_locked(&self, applied: &mut MutexGuard<'_, Seq>) -> Result<(), IamError> {
        let all = self.inner.store.load_all().await?;
        let master = &self.inner.master;
        let first = State::from_snapshot(all.first, master)?;
        let mut others = Vec::with_capacity(all.others.len());
        for (rec, snap) in all.others {
            others.push((rec.id, State::from_snapshot(snap, master)?));
        }
        *self
            .inner
            .first
            .state
            .write()
            .unwrap_or_else(|p| p.into_inner()) = first;
        for (id, state) in others {
            match self.inner.accounts_get(&id) {
                Some(acct) => {
                    *acct.state.write().unwrap_or_else(|p| p.into_inner()) = state;
                }
                None => {
                    self.inner.add_account(id, state);
                }
            }
        }
        self.inner.reindex_keys();
        self.inner.rebind_across_accounts();
        **applied = all.head;
        *self
            .inner
            .follow
            .current_at
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.bucket_changed(None);
        Ok(())
    }

    /// Starts the follower: a task that applies other nodes' writes as they commit
    /// (on a store that several nodes share). It ends when the service is dropped.
    pub fn follow(&self) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut listener: Option<Listener> = None;
            let mut failing = false;
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let iam = Iam {
                    acct: inner.first.clone(),
                    inner,
                };
                if listener.is_none() {
                    // Listen before reading: nothing committed after the read is missed.
                    listener = iam.inner.store.listen().await.ok();
                }
                match iam.catch_up().await {
                    Ok(()) if failing => {
                        failing = false;
                        tracing::info!("following the change log again");
                    }
                    Ok(()) => {}
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "cannot follow the change log; retrying");
                    }
                    Err(_) => {}
                }
                drop(iam);
                let wake = match &mut listener {
                    Some(l) => l.wait(POLL).await,
                    None => {
                        tokio::time::sleep(POLL).await;
                        Wake::Timeout
                    }
                };
                if matches!(wake, Wake::Failed(_)) {
                    listener = None;
                }
            }
        });
    }
}

impl<S> crate::core::Inner<S> {
    pub(crate) fn accounts_get(&self, id: &str) -> Option<Arc<Account>> {
        self.accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// Every account the server holds (a copy of the map's values: no lock held).
    pub(crate) fn account_list(&self) -> Vec<Arc<Account>> {
        self.accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Builds the key → account index from every account's keys (at start-up, and
    /// after a reload).
    pub(crate) fn reindex_keys(&self) {
        let mut index = std::collections::HashMap::new();
        for a in self.account_list() {
            let state = a.state.read().unwrap_or_else(|p| p.into_inner());
            for k in state.keys.keys() {
                index.insert(k.clone(), a.clone());
            }
        }
        *self.key_accounts.write().unwrap_or_else(|p| p.into_inner()) = index;
    }
}

#[cfg(test)]
#[path = "follow_tests.rs"]
mod tests;
