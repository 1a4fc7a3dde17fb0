//! The service handle: the in-memory view, the write path, and startup.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use iamd_store::{
    AccessKeyRecord, AccountRecord, Change, KeyStatus, KeyUsageRecord, Seq, Store, StoreError,
    TrustBinding,
};

use crate::binding::Rebound;
use crate::crypto::MasterKey;
use crate::error::IamError;
use crate::state::{State, UsageCell};

/// What to do on first start.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// The account id for a new account; random when `None`. Ignored once an account exists.
    pub account_id: Option<String>,
    /// The account root's access key (id, secret) to install; generated when `None`.
    pub root_key: Option<(String, String)>,
    /// Open what the store holds and write nothing: no account created, no root key
    /// generated (a command that cannot hand a generated secret to anyone, such as
    /// `iamd account create`). A store without an account is an error.
    pub existing_only: bool,
    /// Stores a root key generated now (id, secret) before it is committed: the secret
    /// is shown once, so if this fails nothing is committed and `open` fails.
    pub keep_root_key: Option<KeepRootKey>,
}

/// Stores a root key (id, secret); the error says why it could not.
pub type KeepFn = dyn Fn(&str, &str) -> Result<(), String> + Send + Sync;

/// Where [`Iam::open`] hands a root key it generates, before committing it.
#[derive(Clone)]
pub struct KeepRootKey(pub Arc<KeepFn>);

impl std::fmt::Debug for KeepRootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeepRootKey(..)")
    }
}

/// What startup did, for the operator.
#[derive(Debug, Default)]
pub struct InitReport {
    pub created_account: bool,
    /// Set when a root key was generated now: the caller writes it to a private file.
    pub generated_root_key: Option<(String, String)>,
    pub root_key_from_env: bool,
}

/// One account: its id and its in-memory state (every account has its own IAM
/// namespace).
pub(crate) struct Account {
    pub(crate) id: String,
    /// The server's first account (the store's `None` scope).
    pub(crate) first: bool,
    pub(crate) state: RwLock<State>,
}

impl Account {
    pub(crate) fn new(id: String, first: bool, state: State) -> Arc<Account> {
        Arc::new(Account {
            id,
            first,
            state: RwLock::new(state),
        })
    }

    /// The store scope of this account's loads and batches.
    fn scope(&self) -> Option<&str> {
        (!self.first).then_some(self.id.as_str())
    }
}

pub(crate) struct Inner<S> {
    pub(crate) store: S,
    pub(crate) master: MasterKey,
    /// Every account by id (the first included).
    pub(crate) accounts: RwLock<HashMap<String, Arc<Account>>>,
    /// Long-term access key id → its account: authentication finds a key's account
    /// without looking through the accounts. Kept by [`Iam::write`].
    pub(crate) key_accounts: RwLock<HashMap<String, Arc<Account>>>,
    /// Serializes writers (of every account, and the change-log follower): each
    /// operation checks and commits against the same state. Holds the change-log
    /// position memory shows (`follow.rs`): every entry up to it is applied, none after.
    pub(crate) write: tokio::sync::Mutex<Seq>,
    /// The follower's health and the bucket-cache hook (`follow.rs`).
    pub(crate) follow: crate::follow::Follow,
    pub(crate) first: Arc<Account>,
    pub(crate) usage_tx: tokio::sync::mpsc::UnboundedSender<UsageMsg>,
    /// Verified session tokens (`sessions.rs`).
    pub(crate) sessions: crate::sessions::SessionCache,
    /// Test mode (`test_mode.rs`; off unless enabled).
    pub(crate) test_mode: crate::test_mode::TestMode,
    /// [`Iam::principals_version`]: bumped by [`Inner::rebind_across_accounts`].
    pub(crate) principals: AtomicU64,
}

/// The IAM service, seen from one account (the first, as [`Iam::open`] returns it;
/// [`Iam::in_account`] / [`Iam::for_principal`] give another). Cheap to clone.
pub struct Iam<S> {
    pub(crate) inner: Arc<Inner<S>>,
    pub(crate) acct: Arc<Account>,
}

impl<S> Clone for Iam<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            acct: self.acct.clone(),
        }
    }
}

/// A new account's id and root key, as [`Iam::create_account`] made them. The secret
/// is for the caller to store privately; it is never logged.
pub struct NewAccount {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("account_id", &self.account_id)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// An account chosen by [`Iam::begin_account`] and not yet committed; the write lock
/// is held until it is committed or dropped (dropping it writes nothing).
pub struct PendingAccount<'a, S> {
    iam: &'a Iam<S>,
    lock: tokio::sync::MutexGuard<'a, Seq>,
    changes: Vec<Change>,
    new: NewAccount,
}

impl<S> std::fmt::Debug for PendingAccount<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAccount")
            .field("new", &self.new)
            .finish_non_exhaustive()
    }
}

impl<S: Store> PendingAccount<'_, S> {
    /// The id and root key the account will have.
    pub fn account(&self) -> &NewAccount {
        &self.new
    }

    /// Commits the account and its root key in one batch, then shows them in memory.
    pub async fn commit(mut self) -> Result<NewAccount, IamError> {
        let inner = &self.iam.inner;
        let id = self.new.account_id.clone();
        let mut state = State::default();
        let prepared = state.prepare(&self.changes, &inner.master)?;
        let mut attempt = 0;
        *self.lock = loop {
            let expect = inner.store.shared().then_some(*self.lock);
            match inner
                .store
                .apply_logged(Some(&id), &self.changes, expect)
                .await
            {
                Ok(seq) => break seq,
                // Another node wrote first: catch up, and commit unless the id was
                // taken meanwhile.
                Err(StoreError::Stale(_)) if attempt < crate::follow::STALE_RETRIES => {
                    attempt += 1;
                    self.iam.catch_up_locked(&mut self.lock).await?;
                    if self.iam.in_account(&id).is_some() {
                        return Err(IamError::EntityAlreadyExists(format!(
                            "Account {id} already exists."
                        )));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        };
        state.apply(prepared);
        inner.add_account(id, state);
        Ok(self.new)
    }
}

/// A stored state as startup takes it: a secret this node's master key cannot decrypt
/// means the node was given another key than the one the secrets were sealed with (on
/// a cluster: another node's), and the node must not start.
fn startup_state(loaded: Result<State, crate::state::StateError>) -> Result<State, IamError> {
    loaded.map_err(|e| match e {
        crate::state::StateError::Crypto(c) => IamError::Internal(format!(
            "{c}: this node's master key cannot decrypt the secrets stored in the database; \
             every node sharing a database must use the same master key \
             (IAMD_MASTER_KEY or --master-key-file); refusing to start"
        )),
        other => other.into(),
    })
}

/// The service's one clock: unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Unix seconds now, from [`now_ms`].
pub(crate) fn now_secs() -> u64 {
    u64::try_from(now_ms() / 1000).unwrap_or(0)
}

impl<S> Inner<S> {
    /// Shows a new account (not the first) and indexes its keys.
    pub(crate) fn add_account(&self, id: String, state: State) -> Arc<Account> {
        let keys: Vec<String> = state.keys.keys().cloned().collect();
        let acct = Account::new(id.clone(), false, state);
        let mut index = self.key_accounts.write().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            index.insert(k, acct.clone());
        }
        drop(index);
        self.accounts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, acct.clone());
        acct
    }

    /// Rebinds every account's trust policies to what the principals of the *other*
    /// accounts they name are now (`binding.rs`; each state rebinds its own account's in
    /// `State::apply`). Run under the write lock, or before the service is shared: no
    /// state changes meanwhile, so reading two accounts at once cannot deadlock.
    pub(crate) fn rebind_across_accounts(&self) {
        let accounts = self.account_list();
        for acct in &accounts {
            let views = acct
                .state
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .trust_views(|b| {
                    let (owner, _) = crate::binding::iam_arn_account(&b.arn)?;
                    let other = accounts.iter().find(|a| a.id == owner && a.id != acct.id)?;
                    let state = other.state.read().unwrap_or_else(|p| p.into_inner());
                    Some(state.principal_arn(owner, &b.id))
                });
            acct.state
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .set_trust_views(views);
        }
        // After memory shows the change: a reader seeing the new value sees it.
        self.principals.fetch_add(1, Ordering::SeqCst);
    }
}

impl<S: Store> Iam<S> {
    /// Loads the account from the store, creating it (and the root key) on first start.
    pub async fn open(
        store: S,
        master: MasterKey,
        init: InitOptions,
    ) -> Result<(Self, InitReport), IamError> {
        // Nodes of a cluster started together may race to initialize one store.
        let mut attempt = 0;
        let (others, state, applied, report, account_id) = loop {
            // Every account and the change-log position they are current to, in one read.
            let everything = store.load_all().await?;
            let mut applied = everything.head;
            let mut state = startup_state(State::from_snapshot(everything.first, &master))?;
            let mut report = InitReport::default();
            let mut changes = Vec::new();
            let account_id = match &state.account {
                Some(a) => a.id.clone(),
                None if init.existing_only => {
                    return Err(IamError::Internal(
                        "the store holds no account: start the server once first".to_string(),
                    ))
                }
                None => {
                    let id = match &init.account_id {
                        Some(id) => id.clone(),
                        None => crate::ids::account_id()?,
                    };
                    changes.push(Change::PutAccount(AccountRecord {
                        id: id.clone(),
                        created: now_ms(),
                    }));
                    report.created_account = true;
                    id
                }
            };
            let root_keys: Vec<String> = state
                .keys
                .values()
                .filter(|k| k.rec.user_id.is_none())
                .map(|k| k.rec.id.clone())
                .collect();
            match &init.root_key {
                Some((id, secret)) => {
                    report.root_key_from_env = true;
                    let current = state.keys.get(id);
                    let same = current
                        .is_some_and(|k| k.rec.user_id.is_none() && &*k.secret == secret.as_str());
                    if !same {
                        if current.is_some_and(|k| k.rec.user_id.is_some()) {
                            return Err(IamError::Internal(format!(
                                "root access key id {id} belongs to a user"
                            )));
                        }
                        changes.push(Change::PutAccessKey(AccessKeyRecord {
                            id: id.clone(),
                            user_id: None,
                            status: KeyStatus::Active,
                            secret_ciphertext: master.seal(id, secret.as_bytes())?,
                            created: now_ms(),
                        }));
                    }
                }
                None if root_keys.is_empty() && !init.existing_only => {
                    let id = crate::ids::access_key_id("AKIA")?;
                    let secret = crate::ids::secret_access_key()?;
                    changes.push(Change::PutAccessKey(AccessKeyRecord {
                        id: id.clone(),
                        user_id: None,
                        status: KeyStatus::Active,
                        secret_ciphertext: master.seal(&id, secret.as_bytes())?,
                        created: now_ms(),
                    }));
                    report.generated_root_key = Some((id, secret));
                }
                None => {}
            }
            if !changes.is_empty() {
                let prepared = state.prepare(&changes, &master)?;
                if let (Some((id, secret)), Some(keep)) =
                    (&report.generated_root_key, &init.keep_root_key)
                {
                    (keep.0)(id, secret).map_err(|e| {
                        IamError::Internal(format!("the new root key could not be stored: {e}"))
                    })?;
                }
                match store
                    .apply_logged(None, &changes, store.shared().then_some(applied))
                    .await
                {
                    Ok(seq) => applied = seq,
                    // Another node of a cluster initialized the store (or wrote) since
                    // the load: load again and build on what it wrote.
                    Err(StoreError::Stale(_)) if attempt < crate::follow::STALE_RETRIES => {
                        attempt += 1;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
                state.apply(prepared);
            }
            break (everything.others, state, applied, report, account_id);
        };
        let first = Account::new(account_id.clone(), true, state);
        let mut accounts = HashMap::from([(account_id, first.clone())]);
        for (rec, snapshot) in others {
            if accounts.contains_key(&rec.id) {
                return Err(IamError::Internal(format!(
                    "account {} is stored twice",
                    rec.id
                )));
            }
            let state = startup_state(State::from_snapshot(snapshot, &master))?;
            accounts.insert(rec.id.clone(), Account::new(rec.id, false, state));
        }
        let (usage_tx, usage_rx) = tokio::sync::mpsc::unbounded_channel();
        let iam = Iam {
            inner: Arc::new(Inner {
                store,
                master,
                accounts: RwLock::new(accounts),
                key_accounts: RwLock::default(),
                write: tokio::sync::Mutex::new(applied),
                follow: Default::default(),
                first: first.clone(),
                usage_tx,
                sessions: Default::default(),
                test_mode: Default::default(),
                principals: AtomicU64::new(0),
            }),
            acct: first,
        };
        iam.inner.reindex_keys();
        // Each state bound its own account's principals; now that every account is
        // loaded, the principals trust policies name in other accounts.
        iam.inner.rebind_across_accounts();
        tokio::spawn(usage_writer(Arc::downgrade(&iam.inner), usage_rx));
        Ok((iam, report))
    }

    /// The account this handle serves.
    pub fn account_id(&self) -> &str {
        &self.acct.id
    }

    /// The server's first account (the one `--account-id` names).
    pub fn first_account_id(&self) -> &str {
        &self.inner.first.id
    }

    /// Every account id, sorted.
    pub fn account_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .inner
            .accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        ids.sort();
        ids
    }

    /// This service seen from the account `id`, if the server holds it.
    pub fn in_account(&self, id: &str) -> Option<Iam<S>> {
        if self.acct.id == id {
            return Some(self.clone());
        }
        self.view(&self.inner.accounts, id)
    }

    /// This service seen from the account `index` maps `key` to.
    fn view(&self, index: &RwLock<HashMap<String, Arc<Account>>>, key: &str) -> Option<Iam<S>> {
        // The guard is dropped before the view is used.
        let acct = index
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()?;
        Some(Iam {
            inner: self.inner.clone(),
            acct,
        })
    }

    /// This service seen from the account of `p` (its own entities: the user, the
    /// role of a session, its policies). An account the server does not hold (never
    /// for an authenticated caller) leaves it as it is.
    pub fn for_principal(&self, p: &crate::Principal) -> Iam<S> {
        self.in_account(p.account()).unwrap_or_else(|| self.clone())
    }

    /// The unique id of the user or role `arn` of `account`: `None` when the server
    /// does not hold the account, `Some(None)` when no such principal exists there.
    pub(crate) fn principal_id_in(&self, account: &str, arn: &str) -> Option<Option<String>> {
        self.in_account(account)
            .map(|other| other.read().principal_id(account, arn))
    }

    /// The bindings (ARN → unique id, `binding.rs`) of the users and roles a resource
    /// policy (`doc`, a bucket policy) names in the accounts this server holds, to be
    /// stored with it. `Err` names the first that does not exist (AWS refuses such a
    /// policy: S3's `MalformedPolicy` "Invalid principal in policy"). A document that
    /// does not parse binds nothing.
    pub fn bind_principals(&self, doc: &str) -> Result<Vec<TrustBinding>, String> {
        crate::binding::bind_resource(doc, |account, arn| self.principal_id_in(account, arn))
    }

    /// The bindings of a resource policy stored without them (by an older build):
    /// every named principal bound to its current id (`binding::bind_late`).
    pub fn bind_principals_late(&self, doc: &str) -> Vec<TrustBinding> {
        crate::binding::bind_late(doc, |account, arn| self.principal_id_in(account, arn))
    }

    /// What `bindings` stand for now (`binding::rebound`): a principal of a held
    /// account is looked up by its id; other accounts' keep what `old` says.
    pub fn rebound(&self, bindings: &[TrustBinding], old: &Rebound) -> Rebound {
        crate::binding::rebound(bindings, old, |b| {
            let (account, _) = crate::binding::iam_arn_account(&b.arn)?;
            let held = self.in_account(account)?;
            let arn = held.read().principal_arn(account, &b.id);
            Some(arn)
        })
    }

    /// Moves (after memory shows it) whenever users or roles of any account may have
    /// been created, deleted, renamed or moved, here or on another node: a view made
    /// by [`Iam::rebound`] when it had another value may be stale.
    pub fn principals_version(&self) -> u64 {
        self.inner.principals.load(Ordering::SeqCst)
    }

    /// The account of the long-term access key `id`, if any holds it.
    pub(crate) fn key_account(&self, id: &str) -> Option<Iam<S>> {
        self.view(&self.inner.key_accounts, id)
    }

    /// Creates an account (id `id`, random 12 digits when `None`) with one root
    /// access key, in the store and in memory. An existing id is refused
    /// (`EntityAlreadyExists`). [`Iam::begin_account`] then
    /// [`PendingAccount::commit`], for a caller with nothing to do in between.
    pub async fn create_account(&self, id: Option<String>) -> Result<NewAccount, IamError> {
        self.begin_account(id).await?.commit().await
    }

    /// The first half of creating an account: chooses its id (checked as
    /// [`Iam::create_account`] does) and its root key, and holds the write lock until
    /// [`PendingAccount::commit`] (or its drop, which writes nothing). The caller stores
    /// the secret first — it is shown once — and commits only once it is safe.
    pub async fn begin_account(
        &self,
        id: Option<String>,
    ) -> Result<PendingAccount<'_, S>, IamError> {
        let lock = self.inner.write.lock().await;
        let id = match id {
            Some(id) => {
                if !iamd_session::is_account_id(&id) {
                    return Err(IamError::Validation(format!(
                        "account id {id:?} is not 12 digits"
                    )));
                }
                id
            }
            None => loop {
                let id = crate::ids::account_id()?;
                if self.in_account(&id).is_none() {
                    break id;
                }
            },
        };
        if self.in_account(&id).is_some() {
            return Err(IamError::EntityAlreadyExists(format!(
                "Account {id} already exists."
            )));
        }
        let key_id = crate::ids::access_key_id("AKIA")?;
        let secret = crate::ids::secret_access_key()?;
        let changes = vec![
            Change::PutAccount(AccountRecord {
                id: id.clone(),
                created: now_ms(),
            }),
            Change::PutAccessKey(AccessKeyRecord {
                id: key_id.clone(),
                user_id: None,
                status: KeyStatus::Active,
                secret_ciphertext: self.inner.master.seal(&key_id, secret.as_bytes())?,
                created: now_ms(),
            }),
        ];
        Ok(PendingAccount {
            iam: self,
            lock,
            changes,
            new: NewAccount {
                account_id: id,
                access_key_id: key_id,
                secret_access_key: secret,
            },
        })
    }

    /// A read view of the state. Never hold it across an `.await`.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        // A poisoned lock means a panic happened while a writer held it; the state
        // is only mutated after a successful commit by code that does not panic, so
        // the data itself is still the committed state.
        self.acct.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The one write path. Under the write lock (so the plan and its commit see the
    /// same state), `plan` reads the state and returns the changes to commit with the
    /// operation's answer. The changes are then prepared against the state
    /// ([`State::prepare`]: compile, decrypt, check references — everything that can
    /// fail), committed to the store in one transaction, and only then applied to
    /// memory ([`State::apply`], which cannot fail). Memory therefore never shows an
    /// uncommitted change and always follows a committed one; readers see the old state
    /// until the commit is durable. An error anywhere before the commit writes nothing.
    ///
    /// On a shared store (several nodes) the commit requires the change-log position
    /// memory shows: when another node committed first ([`StoreError::Stale`]), memory
    /// catches up from the log and `plan` runs again against the state that now
    /// includes the other node's write (so two nodes racing answer as one node would:
    /// one `EntityAlreadyExists` or `LimitExceeded`, never a lost update).
    pub(crate) async fn write<T>(
        &self,
        mut plan: impl FnMut(&State) -> Result<(Vec<Change>, T), IamError>,
    ) -> Result<T, IamError> {
        let mut attempt = 0;
        loop {
            let mut applied = self.inner.write.lock().await;
            let (changes, prepared, answer) = {
                let state = self.read();
                let (changes, answer) = plan(&state)?;
                let prepared = state.prepare(&changes, &self.inner.master)?;
                (changes, prepared, answer)
            };
            if changes.is_empty() {
                return Ok(answer);
            }
            let expect = self.inner.store.shared().then_some(*applied);
            match self
                .inner
                .store
                .apply_logged(self.acct.scope(), &changes, expect)
                .await
            {
                Ok(seq) => {
                    self.show(prepared, &changes);
                    *applied = seq;
                    return Ok(answer);
                }
                Err(StoreError::Stale(_)) if attempt < crate::follow::STALE_RETRIES => {
                    attempt += 1;
                    drop(prepared);
                    self.catch_up_locked(&mut applied).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Makes memory show a committed (or followed) batch of this account.
    pub(crate) fn show(&self, prepared: crate::state::Prepared, changes: &[Change]) {
        self.acct
            .state
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .apply(prepared);
        self.index_keys(changes);
        if changes.iter().any(|c| {
            matches!(
                c,
                Change::PutUser(_)
                    | Change::DeleteUser { .. }
                    | Change::PutRole(_)
                    | Change::DeleteRole { .. }
            )
        }) {
            self.inner.rebind_across_accounts();
        }
    }

    /// Keeps the key → account index in step with a committed batch of this account.
    fn index_keys(&self, changes: &[Change]) {
        let keyed =
            |c: &Change| matches!(c, Change::PutAccessKey(_) | Change::DeleteAccessKey { .. });
        if !changes.iter().any(keyed) {
            return;
        }
        let mut index = self
            .inner
            .key_accounts
            .write()
            .unwrap_or_else(|p| p.into_inner());
        for c in changes {
            match c {
                Change::PutAccessKey(k) => {
                    index.insert(k.id.clone(), self.acct.clone());
                }
                Change::DeleteAccessKey { id } => {
                    index.remove(id);
                }
                _ => {}
            }
        }
    }

    /// Records that a key was used, without slowing the request: memory is updated
    /// at once (GetAccessKeyLastUsed sees it), and the database by a background
    /// writer that batches, at most about once a second per key and service.
    pub fn record_key_use(
        &self,
        cell: &UsageCell,
        access_key_id: &str,
        service: &str,
        region: &str,
    ) {
        let now = now_ms();
        let persist = {
            let mut last = cell.last.lock().unwrap_or_else(|p| p.into_inner());
            let persist = last.as_ref().is_none_or(|l| {
                now - l.last_used >= 1000 || l.service != service || l.region != region
            });
            if persist {
                *last = Some(KeyUsageRecord {
                    access_key_id: access_key_id.to_string(),
                    last_used: now,
                    service: service.to_string(),
                    region: region.to_string(),
                });
            }
            persist
        };
        if persist {
            if let Some(rec) = cell.get() {
                let _ = self.inner.usage_tx.send(UsageMsg::Use(rec));
            }
        }
    }

    /// Writes pending key-usage records now (used at shutdown).
    pub async fn flush_usage(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.inner.usage_tx.send(UsageMsg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

pub(crate) enum UsageMsg {
    Use(KeyUsageRecord),
    Flush(tokio::sync::oneshot::Sender<()>),
}

async fn usage_writer<S: Store>(
    inner: std::sync::Weak<Inner<S>>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<UsageMsg>,
) {
    loop {
        let Some(first) = rx.recv().await else { return };
        // Coalesce what arrives within a short window into one transaction.
        let mut pending: HashMap<String, KeyUsageRecord> = HashMap::new();
        let mut waiters = Vec::new();
        let mut take = |m: UsageMsg| match m {
            UsageMsg::Use(r) => {
                pending.insert(r.access_key_id.clone(), r);
                true
            }
            UsageMsg::Flush(w) => {
                waiters.push(w);
                false
            }
        };
        if take(first) {
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(200);
            while let Ok(Some(m)) = tokio::time::timeout_at(deadline, rx.recv()).await {
                if !take(m) {
                    break;
                }
            }
        }
        let Some(inner) = inner.upgrade() else { return };
        let iam = Iam {
            acct: inner.first.clone(),
            inner,
        };
        // One batch per account, each in its own account's scope.
        let mut by_account: HashMap<String, (Iam<S>, Vec<KeyUsageRecord>)> = HashMap::new();
        for r in pending.into_values() {
            if let Some(a) = iam.key_account(&r.access_key_id) {
                by_account
                    .entry(a.account_id().to_string())
                    .or_insert_with(|| (a, Vec::new()))
                    .1
                    .push(r);
            }
        }
        for (a, records) in by_account.into_values() {
            let written = a.write(|state| {
                let changes = records
                    .iter()
                    .filter(|r| state.keys.contains_key(&r.access_key_id))
                    .cloned()
                    .map(Change::PutKeyUsage)
                    .collect();
                Ok((changes, ()))
            });
            if let Err(e) = written.await {
                tracing::warn!(error = %e, "recording access key usage failed");
            }
        }
        for w in waiters {
            let _ = w.send(());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use iamd_store::{InlinePolicyRecord, MembershipRecord, OwnerKind, Snapshot, UserRecord};

    use std::future::Future;

    use super::*;
    use crate::entity::Entity;
    use crate::state::{Group, User};
    use crate::testing::{open, MemStore};

    fn user(name: &str) -> Change {
        Change::PutUser(UserRecord {
            id: "AIDAEXAMPLE".into(),
            name: name.into(),
            path: "/".into(),
            created: 1,
            boundary_arn: None,
        })
    }

    fn put(
        iam: &Iam<MemStore>,
        changes: Vec<Change>,
    ) -> impl Future<Output = Result<(), IamError>> + '_ {
        iam.write(move |_| Ok((changes.clone(), ())))
    }

    #[tokio::test]
    async fn a_batch_memory_cannot_take_is_never_committed() {
        let store = MemStore::default();
        let iam = open(store.clone()).await;
        let before = store.batches();
        put(&iam, vec![user("u")]).await.unwrap();
        assert_eq!(store.batches(), before + 1);
        // A stored policy memory cannot compile: refused before the store sees it,
        // and memory keeps the state the database has.
        let bad = Change::PutInlinePolicy(InlinePolicyRecord {
            owner_kind: OwnerKind::User,
            owner_id: "AIDAEXAMPLE".into(),
            name: "p".into(),
            document: "not a policy".into(),
        });
        assert!(put(&iam, vec![user("renamed"), bad]).await.is_err());
        // A membership of a user that does not exist: refused before the store too.
        let stray = Change::PutMembership(MembershipRecord {
            group_id: "AGPAEXAMPLE".into(),
            user_id: "AIDANOBODY".into(),
        });
        assert!(put(&iam, vec![stray]).await.is_err());
        // A kind memory keeps no table of is an error, never taken for a group.
        let role_tag = Change::PutTag(iamd_store::TagRecord {
            owner_kind: OwnerKind::Role,
            owner_id: "AROAEXAMPLE".into(),
            key: "k".into(),
            value: "v".into(),
        });
        assert!(put(&iam, vec![role_tag]).await.is_err());
        assert_eq!(store.batches(), before + 1);
        let state = iam.read();
        assert!(
            User::by_name(&state, "u").is_some_and(|u| u.rec.name == "u" && u.policies.is_empty())
        );
        assert!(User::by_name(&state, "renamed").is_none());
    }

    #[tokio::test]
    async fn opening_existing_only_writes_nothing_and_generates_no_root_key() {
        // An account whose root has deleted every access key of its own.
        let snap = Snapshot {
            account: Some(AccountRecord {
                id: "123456789012".into(),
                created: 1,
            }),
            ..Default::default()
        };
        let existing = InitOptions {
            existing_only: true,
            ..Default::default()
        };
        let store = MemStore::with(snap.clone());
        let (_, report) = Iam::open(store.clone(), crate::testing::master(), existing)
            .await
            .unwrap();
        assert!(report.generated_root_key.is_none());
        assert_eq!(store.batches(), 0);
        // The server's own start does generate one (and shows it to the operator).
        let store = MemStore::with(snap);
        let (_, report) = Iam::open(store.clone(), crate::testing::master(), Default::default())
            .await
            .unwrap();
        assert!(report.generated_root_key.is_some());
        assert_eq!(store.batches(), 1);
        // A store without an account is not opened at all.
        let existing = InitOptions {
            existing_only: true,
            ..Default::default()
        };
        assert!(
            Iam::open(MemStore::default(), crate::testing::master(), existing)
                .await
                .is_err()
        );
    }

    /// A root key generated on first start is handed to `keep_root_key` before it is
    /// committed; if it cannot be kept, nothing is committed.
    #[tokio::test]
    async fn a_generated_root_key_is_kept_before_it_is_committed() {
        let refuse = InitOptions {
            keep_root_key: Some(KeepRootKey(Arc::new(|_: &str, _: &str| {
                Err("no room".to_string())
            }))),
            ..Default::default()
        };
        let store = MemStore::default();
        let e = Iam::open(store.clone(), crate::testing::master(), refuse)
            .await
            .err()
            .unwrap();
        assert!(e.to_string().contains("no room"), "{e}");
        assert_eq!(store.batches(), 0);
        let kept = Arc::new(std::sync::Mutex::new(None));
        let (seen, at_keep) = (kept.clone(), store.clone());
        let keep = InitOptions {
            keep_root_key: Some(KeepRootKey(Arc::new(move |id: &str, secret: &str| {
                *seen.lock().unwrap() =
                    Some((id.to_string(), secret.to_string(), at_keep.batches()));
                Ok(())
            }))),
            ..Default::default()
        };
        let (_, report) = Iam::open(store.clone(), crate::testing::master(), keep)
            .await
            .unwrap();
        let (id, secret) = report.generated_root_key.unwrap();
        assert_eq!(*kept.lock().unwrap(), Some((id, secret, 0)));
        assert_eq!(store.batches(), 1);
    }

    #[tokio::test]
    async fn a_failed_commit_leaves_memory_unchanged() {
        let store = MemStore::default();
        let iam = open(store.clone()).await;
        store.fail(true);
        assert!(matches!(
            put(&iam, vec![user("u")]).await,
            Err(IamError::ConcurrentModification(_))
        ));
        assert!(User::by_name(&iam.read(), "u").is_none());
        store.fail(false);
        put(&iam, vec![user("u")]).await.unwrap();
        assert!(User::by_name(&iam.read(), "u").is_some());
    }

    #[tokio::test]
    async fn startup_keeps_every_kind_of_tag_and_refuses_what_it_cannot_keep() {
        let mut snap = Snapshot::default();
        snap.groups.push(iamd_store::GroupRecord {
            id: "AGPAEXAMPLE".into(),
            name: "g".into(),
            path: "/".into(),
            created: 1,
        });
        snap.tags.push(iamd_store::TagRecord {
            owner_kind: OwnerKind::Group,
            owner_id: "AGPAEXAMPLE".into(),
            key: "k".into(),
            value: "v".into(),
        });
        let iam = open(MemStore::with(snap.clone())).await;
        assert_eq!(
            Group::by_name(&iam.read(), "g").unwrap().tags,
            vec![("k".to_string(), "v".to_string())]
        );
        // A role's tag: no role table yet, so startup fails rather than drop it.
        snap.tags[0].owner_kind = OwnerKind::Role;
        let init = InitOptions::default();
        assert!(
            Iam::open(MemStore::with(snap), crate::testing::master(), init)
                .await
                .is_err()
        );
    }
}
