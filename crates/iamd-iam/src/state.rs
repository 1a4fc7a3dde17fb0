//! The in-memory view of the account: every entity, indexed for the hot path
//! (access key → principal → compiled policies) and for ordered listings.
//!
//! It is rebuilt from the store's snapshot at startup and changed only by applying
//! the same [`Change`]s that were just committed to the store, so memory and the
//! database cannot drift apart.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use iamd_store::{
    AccessKeyRecord, AccountRecord, Change, GroupRecord, KeyStatus, KeyUsageRecord, OwnerKind,
    Snapshot, UserRecord,
};

use iamd_policy::CompiledPolicy;

use crate::crypto::MasterKey;
use crate::policies::StoredPolicy;

/// A user with everything attached to it.
#[derive(Debug, Clone)]
pub struct User {
    pub rec: UserRecord,
    /// Inline policies by name (AWS lists them in name order).
    pub policies: BTreeMap<String, StoredPolicy>,
    /// Group ids.
    pub groups: BTreeSet<String>,
    /// Tags in insertion order, keys unique case-insensitively.
    pub tags: Vec<(String, String)>,
    /// Access key ids.
    pub keys: BTreeSet<String>,
    /// The user's identity policies, compiled: its own inline policies and those of
    /// its groups. Rebuilt whenever one of them changes, so a request never gathers.
    pub effective: Arc<[Arc<CompiledPolicy>]>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub rec: GroupRecord,
    pub policies: BTreeMap<String, StoredPolicy>,
    /// User ids.
    pub members: BTreeSet<String>,
}

/// An access key with its decrypted secret (memory only; never logged).
#[derive(Clone)]
pub struct Key {
    pub rec: AccessKeyRecord,
    pub secret: Arc<str>,
    /// Last use, updated in memory on every request (persisted in the background).
    pub usage: Arc<UsageCell>,
}

/// The last use of a key. Its own lock, so recording a use never takes the state lock.
#[derive(Debug, Default)]
pub struct UsageCell {
    pub last: std::sync::Mutex<Option<KeyUsageRecord>>,
}

impl UsageCell {
    pub fn get(&self) -> Option<KeyUsageRecord> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl User {
    /// `aws:ResourceTag/k` and `iam:ResourceTag/k` for every tag
    /// (docs/policy-semantics.md §5.1, §5.4).
    pub fn resource_tag_keys(&self) -> Vec<(String, Vec<String>)> {
        self.tags
            .iter()
            .flat_map(|(k, v)| {
                [
                    (format!("aws:ResourceTag/{k}"), vec![v.clone()]),
                    (format!("iam:ResourceTag/{k}"), vec![v.clone()]),
                ]
            })
            .collect()
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.rec.id)
            .field("status", &self.rec.status)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default, Clone)]
pub struct State {
    pub account: Option<AccountRecord>,
    pub users: HashMap<String, User>,
    /// lower(name) → id, ordered: AWS lists users and groups by name.
    pub user_names: BTreeMap<String, String>,
    pub groups: HashMap<String, Group>,
    pub group_names: BTreeMap<String, String>,
    pub keys: HashMap<String, Key>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
}

impl State {
    pub fn from_snapshot(snap: Snapshot, master: &MasterKey) -> Result<Self, StateError> {
        let mut s = State {
            account: snap.account,
            ..State::default()
        };
        let mut changes = Vec::new();
        changes.extend(snap.users.into_iter().map(Change::PutUser));
        changes.extend(snap.groups.into_iter().map(Change::PutGroup));
        changes.extend(snap.memberships.into_iter().map(Change::PutMembership));
        changes.extend(
            snap.inline_policies
                .into_iter()
                .map(Change::PutInlinePolicy),
        );
        changes.extend(snap.access_keys.into_iter().map(Change::PutAccessKey));
        changes.extend(snap.key_usage.into_iter().map(Change::PutKeyUsage));
        changes.extend(snap.tags.into_iter().map(Change::PutTag));
        for c in &changes {
            s.apply(c, master)?;
        }
        Ok(s)
    }

    pub fn user_by_name(&self, name: &str) -> Option<&User> {
        self.user_names
            .get(&name.to_lowercase())
            .and_then(|id| self.users.get(id))
    }

    /// The existing user whose ARN (with its path) is exactly `arn`.
    pub fn user_by_arn(&self, account: &str, arn: &str) -> Option<&User> {
        let name = arn.rsplit('/').next()?;
        self.user_by_name(name)
            .filter(|u| crate::ops::user_arn(account, &u.rec.path, &u.rec.name) == arn)
    }

    /// The existing group whose ARN (with its path) is exactly `arn`.
    pub fn group_by_arn(&self, account: &str, arn: &str) -> Option<&Group> {
        let name = arn.rsplit('/').next()?;
        self.group_by_name(name)
            .filter(|g| crate::ops::group_arn(account, &g.rec.path, &g.rec.name) == arn)
    }

    pub fn group_by_name(&self, name: &str) -> Option<&Group> {
        self.group_names
            .get(&name.to_lowercase())
            .and_then(|id| self.groups.get(id))
    }

    /// Applies one committed change and refreshes the effective policy sets it touched.
    pub fn apply(&mut self, change: &Change, master: &MasterKey) -> Result<(), StateError> {
        let touched: Vec<String> = match change {
            Change::PutMembership(m) | Change::DeleteMembership(m) => vec![m.user_id.clone()],
            Change::PutInlinePolicy(iamd_store::InlinePolicyRecord {
                owner_kind,
                owner_id,
                ..
            })
            | Change::DeleteInlinePolicy {
                owner_kind,
                owner_id,
                ..
            } => match owner_kind {
                OwnerKind::User => vec![owner_id.clone()],
                OwnerKind::Group => self
                    .groups
                    .get(owner_id)
                    .map(|g| g.members.iter().cloned().collect())
                    .unwrap_or_default(),
                _ => Vec::new(),
            },
            Change::DeleteGroup { id } => self
                .groups
                .get(id)
                .map(|g| g.members.iter().cloned().collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        self.apply_one(change, master)?;
        for uid in touched {
            self.refresh_effective(&uid);
        }
        Ok(())
    }

    fn refresh_effective(&mut self, user_id: &str) {
        let Some(u) = self.users.get(user_id) else {
            return;
        };
        let mut set: Vec<Arc<CompiledPolicy>> =
            u.policies.values().map(|p| p.compiled.clone()).collect();
        for gid in &u.groups {
            if let Some(g) = self.groups.get(gid) {
                set.extend(g.policies.values().map(|p| p.compiled.clone()));
            }
        }
        if let Some(u) = self.users.get_mut(user_id) {
            u.effective = Arc::from(set);
        }
    }

    /// Applies one committed change. Stored policy documents are re-parsed here, so a
    /// document that no longer parses (it was accepted by an older version) is an
    /// error at startup rather than a silently skipped policy.
    fn apply_one(&mut self, change: &Change, master: &MasterKey) -> Result<(), StateError> {
        match change {
            Change::PutAccount(a) => self.account = Some(a.clone()),
            Change::PutUser(u) => {
                let lower = u.name.to_lowercase();
                match self.users.get_mut(&u.id) {
                    Some(existing) => {
                        self.user_names.remove(&existing.rec.name.to_lowercase());
                        existing.rec = u.clone();
                    }
                    None => {
                        self.users.insert(
                            u.id.clone(),
                            User {
                                rec: u.clone(),
                                policies: BTreeMap::new(),
                                groups: BTreeSet::new(),
                                tags: Vec::new(),
                                keys: BTreeSet::new(),
                                effective: Arc::from(Vec::new()),
                            },
                        );
                    }
                }
                self.user_names.insert(lower, u.id.clone());
            }
            Change::DeleteUser { id } => {
                if let Some(u) = self.users.remove(id) {
                    self.user_names.remove(&u.rec.name.to_lowercase());
                    for g in &u.groups {
                        if let Some(g) = self.groups.get_mut(g) {
                            g.members.remove(id);
                        }
                    }
                    for k in &u.keys {
                        self.keys.remove(k);
                    }
                }
            }
            Change::PutGroup(g) => {
                let lower = g.name.to_lowercase();
                match self.groups.get_mut(&g.id) {
                    Some(existing) => {
                        self.group_names.remove(&existing.rec.name.to_lowercase());
                        existing.rec = g.clone();
                    }
                    None => {
                        self.groups.insert(
                            g.id.clone(),
                            Group {
                                rec: g.clone(),
                                policies: BTreeMap::new(),
                                members: BTreeSet::new(),
                            },
                        );
                    }
                }
                self.group_names.insert(lower, g.id.clone());
            }
            Change::DeleteGroup { id } => {
                if let Some(g) = self.groups.remove(id) {
                    self.group_names.remove(&g.rec.name.to_lowercase());
                    for u in &g.members {
                        if let Some(u) = self.users.get_mut(u) {
                            u.groups.remove(id);
                        }
                    }
                }
            }
            Change::PutMembership(m) => {
                let (Some(u), Some(g)) = (
                    self.users.get_mut(&m.user_id),
                    self.groups.get_mut(&m.group_id),
                ) else {
                    return Err(StateError::Corrupt(format!(
                        "membership of unknown user/group {m:?}"
                    )));
                };
                u.groups.insert(m.group_id.clone());
                g.members.insert(m.user_id.clone());
            }
            Change::DeleteMembership(m) => {
                if let Some(u) = self.users.get_mut(&m.user_id) {
                    u.groups.remove(&m.group_id);
                }
                if let Some(g) = self.groups.get_mut(&m.group_id) {
                    g.members.remove(&m.user_id);
                }
            }
            Change::PutInlinePolicy(p) => {
                let stored = StoredPolicy::inline(&p.document, &p.name).map_err(|e| {
                    StateError::Corrupt(format!("stored policy {:?} does not parse: {e}", p.name))
                })?;
                let map = self.inline_map(p.owner_kind, &p.owner_id)?;
                map.insert(p.name.clone(), stored);
            }
            Change::DeleteInlinePolicy {
                owner_kind,
                owner_id,
                name,
            } => {
                if let Ok(map) = self.inline_map(*owner_kind, owner_id) {
                    map.remove(name);
                }
            }
            Change::PutAccessKey(k) => {
                let plain = master.open(&k.id, &k.secret_ciphertext)?;
                let secret: Arc<str> = String::from_utf8(plain)
                    .map_err(|_| StateError::Corrupt(format!("secret of {} is not text", k.id)))?
                    .into();
                if let Some(uid) = &k.user_id {
                    let u = self.users.get_mut(uid).ok_or_else(|| {
                        StateError::Corrupt(format!("key {} of unknown user", k.id))
                    })?;
                    u.keys.insert(k.id.clone());
                }
                let usage = self
                    .keys
                    .get(&k.id)
                    .map(|old| old.usage.clone())
                    .unwrap_or_default();
                self.keys.insert(
                    k.id.clone(),
                    Key {
                        rec: k.clone(),
                        secret,
                        usage,
                    },
                );
            }
            Change::DeleteAccessKey { id } => {
                if let Some(k) = self.keys.remove(id) {
                    if let Some(u) = k
                        .rec
                        .user_id
                        .as_ref()
                        .and_then(|uid| self.users.get_mut(uid))
                    {
                        u.keys.remove(id);
                    }
                }
            }
            Change::PutKeyUsage(u) => {
                if let Some(k) = self.keys.get(&u.access_key_id) {
                    let mut last = k.usage.last.lock().unwrap_or_else(|p| p.into_inner());
                    if last.as_ref().is_none_or(|l| l.last_used <= u.last_used) {
                        *last = Some(u.clone());
                    }
                }
            }
            Change::PutTag(t) => {
                if t.owner_kind == OwnerKind::User {
                    if let Some(u) = self.users.get_mut(&t.owner_id) {
                        match u
                            .tags
                            .iter_mut()
                            .find(|(k, _)| k.eq_ignore_ascii_case(&t.key))
                        {
                            Some(slot) => *slot = (t.key.clone(), t.value.clone()),
                            None => u.tags.push((t.key.clone(), t.value.clone())),
                        }
                    }
                }
            }
            Change::DeleteTag {
                owner_kind,
                owner_id,
                key,
            } => {
                if *owner_kind == OwnerKind::User {
                    if let Some(u) = self.users.get_mut(owner_id) {
                        u.tags.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
                    }
                }
            }
        }
        Ok(())
    }

    fn inline_map(
        &mut self,
        kind: OwnerKind,
        id: &str,
    ) -> Result<&mut BTreeMap<String, StoredPolicy>, StateError> {
        match kind {
            OwnerKind::User => self.users.get_mut(id).map(|u| &mut u.policies),
            OwnerKind::Group => self.groups.get_mut(id).map(|g| &mut g.policies),
            OwnerKind::Role | OwnerKind::Policy => None,
        }
        .ok_or_else(|| {
            StateError::Corrupt(format!("inline policy of unknown {} {id}", kind.as_str()))
        })
    }

    pub fn active_key(&self, id: &str) -> Option<&Key> {
        self.keys
            .get(id)
            .filter(|k| k.rec.status == KeyStatus::Active)
    }
}
