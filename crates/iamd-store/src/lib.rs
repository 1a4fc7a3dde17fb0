//! iamd-store: persistence behind one interface, with two implementations
//! (SQLite, the embedded default, and PostgreSQL for several nodes).
//!
//! The contract (the service layer relies on every line of it):
//! - The service layer never sees SQL. It reads the whole state once with
//!   [`Store::load`] (IAM state is bounded by AWS quotas, so it fits in memory and the
//!   hot path never queries the database) and writes with [`Store::apply`], a batch of
//!   typed [`Change`]s committed in **one transaction**: all of them or none.
//! - `apply` returns only after the transaction is durable (SQLite: WAL with
//!   `synchronous=FULL`; PostgreSQL: default `synchronous_commit`). An acknowledged
//!   write survives `kill -9`.
//! - Uniqueness is enforced by the database too, so two nodes (or two racing writers)
//!   can never both create the same entity: names are unique per account
//!   case-insensitively (users, groups, roles, managed policies), ids are unique, an
//!   inline policy name is unique per owner (case-sensitive, as AWS), a membership is
//!   unique per (group, user) (its primary key, so putting it again is a no-op). A
//!   violation returns [`StoreError::Conflict`] and nothing of the batch is written.
//!   Roles and instance profiles (schema version 3) follow the same rules; a role
//!   in an instance profile is unique per (profile, role). Customer-managed policies
//!   (schema version 4) too; a policy version is unique per (policy, version id), an
//!   attachment per (owner, policy ARN).
//! - `Put*` replaces the row with the same primary key, or inserts it. A put of an
//!   entity (user, group, access key, role, instance profile, deletion task, managed
//!   policy) whose id is a row of another account writes nothing and fails the batch
//!   with `Conflict`.
//! - `Delete*` of an entity deletes it in the batch's account only; one that is not
//!   there (gone already, or another account's) fails the batch with `Missing`.
//!   `Delete*` of a missing child row (membership, inline policy, tag, attachment,
//!   policy version, role in a profile) is not an error (the service checked
//!   existence in memory under its write lock).
//! - Secrets arrive already encrypted (`secret_ciphertext`): the store never sees a
//!   plaintext secret.
//!
//! Details the service layer should know:
//! - The changes of a batch run **in order**. Foreign keys are checked at each change:
//!   put a parent before its children (`PutUser` before `PutAccessKey` of that user),
//!   delete children before their parent (`DeleteMembership`s and `DeleteAccessKey`s
//!   before `DeleteUser`). A change that would leave a dangling reference fails with
//!   [`StoreError::Reference`] and nothing of the batch is written. The checked
//!   references: membership → group and user, access key → user, instance-profile
//!   role → instance profile and role, policy version → managed policy.
//! - `DeleteUser` / `DeleteGroup` / `DeleteRole` / `DeleteInstanceProfile` also delete
//!   that owner's tags, inline policies and managed-policy attachments
//!   (their owner reference is polymorphic, so no foreign key guards it); the service
//!   may still delete them explicitly first. `DeleteManagedPolicy` deletes the policy's
//!   tags and versions. `DeleteAccessKey` deletes its key usage.
//! - An attachment names its policy by ARN (customer-managed `arn:aws:iam::ACCOUNT:policy/…`
//!   or AWS-managed `arn:aws:iam::aws:policy/…`, which has no row): the store does not
//!   check that the policy exists; the service does. `PutAttachment` of an existing
//!   attachment is a no-op.
//! - `PutMembership` of an existing membership is a no-op (AddUserToGroup is
//!   idempotent). `PutKeyUsage` of a key that no longer exists writes nothing, and an
//!   older `last_used` never replaces a newer one (usage is written off the request
//!   path and may arrive late).
//! - At most one first account exists: a `PutAccount` of the first account with another
//!   id is a `Conflict`. Other accounts are written with [`Store::apply_in`].
//! - [`Store::load`] reads one consistent snapshot; every list is sorted by primary
//!   key (byte order), the same on both engines.
//! - A dropped `apply` future rolls its transaction back, unless it was dropped while
//!   committing, when the outcome is unknown: don't drop it.
//! - Every committed batch (and every bucket write of [`ObjectMeta`]) appends one entry
//!   to the change log ([`log`], schema 8) in its transaction, under a gapless sequence
//!   in commit order; [`Store::apply_logged`] can require the head it expects, which
//!   serializes the writers of every node. PostgreSQL notifies `iamd_changes` with the
//!   sequence ([`postgres::NOTIFY_CHANNEL`]) for other nodes to follow; a batch that
//!   hits a deadlock or serialization failure is retried (it was rolled back entirely).
//!
//! ```no_run
//! use iamd_store::{AnyStore, Change, Store, UserRecord};
//! # async fn demo() -> Result<(), iamd_store::StoreError> {
//! let store = AnyStore::open("sqlite:///var/lib/iamd/iamd.db").await?;
//! let snapshot = store.load().await?;
//! store
//!     .apply(&[Change::PutUser(UserRecord {
//!         id: "AIDAEXAMPLE0000000001".into(),
//!         name: "melvins".into(),
//!         path: "/".into(),
//!         created: 1_700_000_000_000,
//!         boundary_arn: None,
//!     })])
//!     .await?;
//! # let _ = snapshot; Ok(()) }
//! ```

use std::future::Future;

mod any;
mod backend;
mod decode;
mod error;
pub mod log;
mod objects;
pub mod postgres;
mod schema;
mod sql;
pub mod sqlite;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use any::AnyStore;
pub use error::StoreError;
pub use log::{node_id, Everything, LogEntry, Logged, Seq};
pub use objects::{
    BucketPolicy, BucketRecord, DeleteBucket, DeleteMarkerRecord, Deleted, ObjectMeta,
    ObjectRecord, PartRecord, Precondition, Put, Tags, UploadRecord, Version, Versioning, Written,
    NULL_VERSION,
};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Persistence of the IAM state: read it all, write typed batches atomically.
///
/// The store holds several accounts (schema 5): the first (the server's own, created
/// on first start) and others (`iamd account create`). Every load and batch is in one
/// account: `None` is the first, `Some(id)` another. A batch's rows belong to its
/// account; names are unique per account.
pub trait Store: Send + Sync + 'static {
    /// Reads the whole state of the first account (one consistent snapshot).
    fn load(&self) -> impl Future<Output = Result<Snapshot, StoreError>> + Send {
        self.load_in(None)
    }
    /// Writes `changes` in the first account, in one transaction, in order: all or
    /// nothing. Returns once the transaction is durable. An empty batch does nothing.
    fn apply(&self, changes: &[Change]) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.apply_in(None, changes)
    }
    /// Reads the whole state of one account (`None`: the first).
    fn load_in(
        &self,
        account: Option<&str>,
    ) -> impl Future<Output = Result<Snapshot, StoreError>> + Send;
    /// [`Store::apply`] in one account (`None`: the first). `PutAccount` in another
    /// account's batch must name that account (else `Conflict`, nothing written).
    fn apply_in(
        &self,
        account: Option<&str>,
        changes: &[Change],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The accounts other than the first, in id order.
    fn other_accounts(&self)
        -> impl Future<Output = Result<Vec<AccountRecord>, StoreError>> + Send;

    /// [`Store::apply_in`], appending the batch to the change log ([`log`]) in the same
    /// transaction; returns the entry's sequence. With `expect` `Some(n)` the batch is
    /// written only if the log's head is `n` (the writer's view is current), else
    /// nothing is written and the error is [`StoreError::Stale`]: writes of every node
    /// are serialized through the database. (The default, for stores without a log,
    /// applies the batch and returns 0.)
    fn apply_logged(
        &self,
        account: Option<&str>,
        changes: &[Change],
        expect: Option<Seq>,
    ) -> impl Future<Output = Result<Seq, StoreError>> + Send {
        let _ = expect;
        async move { self.apply_in(account, changes).await.map(|()| 0) }
    }
    /// The log entries after `after`, at most `limit`, in sequence order. An entry
    /// `after + 1` missing from a non-empty answer was pruned.
    fn log_since(
        &self,
        after: Seq,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<LogEntry>, StoreError>> + Send {
        let _ = (after, limit);
        async { Ok(Vec::new()) }
    }
    /// The log's head: the sequence of its last entry (0 when empty).
    fn log_head(&self) -> impl Future<Output = Result<Seq, StoreError>> + Send {
        async { Ok(0) }
    }
    /// Deletes the log entries up to `through` (writers prune by themselves; see
    /// [`log::LOG_KEEP`]).
    fn prune_log(&self, through: Seq) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = through;
        async { Ok(()) }
    }
    /// Every account's snapshot and the log head they are current to, in one
    /// consistent read.
    fn load_all(&self) -> impl Future<Output = Result<Everything, StoreError>> + Send {
        async {
            let first = self.load_in(None).await?;
            let mut others = Vec::new();
            for a in self.other_accounts().await? {
                let s = self.load_in(Some(&a.id)).await?;
                others.push((a, s));
            }
            Ok(Everything {
                head: 0,
                first,
                others,
            })
        }
    }
    /// A wake-up source for log readers: PostgreSQL's notifications; none for SQLite
    /// (a reader polls).
    fn listen(&self) -> impl Future<Output = Result<log::Listener, StoreError>> + Send {
        async { Ok(log::Listener::none()) }
    }
    /// Several processes may write this store (PostgreSQL): each must follow the log.
    fn shared(&self) -> bool {
        false
    }
}

/// Checks that a batch in `account` creates no other account; the scope text the SQL
/// binds (`""` for the first account).
pub(crate) fn scope_of<'a>(
    account: Option<&'a str>,
    changes: &[Change],
) -> Result<&'a str, StoreError> {
    let Some(id) = account else { return Ok("") };
    if id.is_empty() {
        return Err(StoreError::Conflict("an account id cannot be empty".into()));
    }
    for c in changes {
        if let Change::PutAccount(a) = c {
            if a.id != id {
                return Err(StoreError::Conflict(format!(
                    "put account {} in a batch of account {id}",
                    a.id
                )));
            }
        }
    }
    Ok(id)
}

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// Which kind of entity owns an inline policy or a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum OwnerKind {
    User,
    Group,
    Role,
    Policy,
    InstanceProfile,
}

impl OwnerKind {
    /// The inverse of [`OwnerKind::as_str`].
    pub fn parse(s: &str) -> Option<OwnerKind> {
        match s {
            "user" => Some(OwnerKind::User),
            "group" => Some(OwnerKind::Group),
            "role" => Some(OwnerKind::Role),
            "policy" => Some(OwnerKind::Policy),
            "instance-profile" => Some(OwnerKind::InstanceProfile),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::User => "user",
            OwnerKind::Group => "group",
            OwnerKind::Role => "role",
            OwnerKind::Policy => "policy",
            OwnerKind::InstanceProfile => "instance-profile",
        }
    }
}

/// The account this server serves (one row; created on first start).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountRecord {
    /// 12 ASCII digits.
    pub id: String,
    pub created: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserRecord {
    /// Unique id, `AIDA` + 17 characters.
    pub id: String,
    pub name: String,
    /// Starts and ends with `/`.
    pub path: String,
    pub created: Millis,
    /// ARN of the permissions boundary policy, if any.
    pub boundary_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupRecord {
    /// Unique id, `AGPA` + 17 characters.
    pub id: String,
    pub name: String,
    pub path: String,
    pub created: Millis,
}

/// A principal ARN named in a role's trust policy, bound to the unique id the principal
/// had when the policy was saved (AWS's trust binding: a principal deleted and
/// recreated under the same ARN has another id, and the trust no longer names it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TrustBinding {
    pub arn: String,
    /// `AIDA…` or `AROA…`.
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoleRecord {
    /// Unique id, `AROA` + 17 characters.
    pub id: String,
    pub name: String,
    pub path: String,
    pub created: Millis,
    /// The trust policy exactly as the client sent it (decoded JSON text).
    pub trust_policy: String,
    /// The user and role ARNs the trust policy names, with their ids at save time.
    pub trust_bindings: Vec<TrustBinding>,
    pub description: Option<String>,
    /// Seconds, 3,600–43,200.
    pub max_session_duration: i64,
    /// ARN of the permissions boundary policy, if any.
    pub boundary_arn: Option<String>,
    /// Created by CreateServiceLinkedRole: only AWS (here: the service-linked role
    /// operations) may modify it.
    pub service_linked: bool,
    /// When the role was last assumed, and in which region (`RoleLastUsed`).
    pub last_used: Option<Millis>,
    pub last_used_region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InstanceProfileRecord {
    /// Unique id, `AIPA` + 17 characters.
    pub id: String,
    pub name: String,
    pub path: String,
    pub created: Millis,
}

/// A role in an instance profile.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct InstanceProfileRoleRecord {
    pub profile_id: String,
    pub role_id: String,
}

/// The deletion task of a service-linked role (GetServiceLinkedRoleDeletionStatus).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeletionTaskRecord {
    /// `task/aws-service-role/<service>/<role name>/<uuid>`.
    pub id: String,
    pub created: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct MembershipRecord {
    pub group_id: String,
    pub user_id: String,
}

/// An inline policy of a user, group or role.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InlinePolicyRecord {
    pub owner_kind: OwnerKind,
    pub owner_id: String,
    pub name: String,
    /// The policy document exactly as the client sent it (decoded JSON text).
    pub document: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    /// The inverse of [`KeyStatus::as_str`].
    pub fn parse(s: &str) -> Option<KeyStatus> {
        match s {
            "Active" => Some(KeyStatus::Active),
            "Inactive" => Some(KeyStatus::Inactive),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessKeyRecord {
    /// `AKIA` + 16 characters.
    pub id: String,
    /// The owning user's id; `None` for the account root's keys.
    pub user_id: Option<String>,
    pub status: KeyStatus,
    /// AES-256-GCM ciphertext of the 40-character secret (nonce included), produced
    /// by the service layer with the key id as associated data.
    pub secret_ciphertext: Vec<u8>,
    pub created: Millis,
}

/// Last use of an access key (GetAccessKeyLastUsed). Written off the request path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyUsageRecord {
    pub access_key_id: String,
    pub last_used: Millis,
    pub service: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TagRecord {
    pub owner_kind: OwnerKind,
    pub owner_id: String,
    pub key: String,
    pub value: String,
}

/// A customer-managed policy (its documents are its versions).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ManagedPolicyRecord {
    /// Unique id, `ANPA` + 17 characters.
    pub id: String,
    pub name: String,
    pub path: String,
    pub created: Millis,
    pub description: Option<String>,
    /// The default version's id (`v3`).
    pub default_version: String,
    /// The number the next version gets (`v<n>`): version ids are never reused.
    pub next_version: i64,
}

/// One version of a customer-managed policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicyVersionRecord {
    pub policy_id: String,
    /// `v1`, `v2`, …
    pub version_id: String,
    /// The policy document exactly as the client sent it (decoded JSON text).
    pub document: String,
    pub created: Millis,
}

/// A managed policy attached to a user, group or role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct AttachmentRecord {
    pub owner_kind: OwnerKind,
    pub owner_id: String,
    /// The policy's ARN (customer-managed or AWS-managed).
    pub policy_arn: String,
}

/// One typed write. A batch of these is one transaction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Change {
    PutAccount(AccountRecord),
    PutUser(UserRecord),
    DeleteUser {
        id: String,
    },
    PutGroup(GroupRecord),
    DeleteGroup {
        id: String,
    },
    PutMembership(MembershipRecord),
    DeleteMembership(MembershipRecord),
    PutInlinePolicy(InlinePolicyRecord),
    DeleteInlinePolicy {
        owner_kind: OwnerKind,
        owner_id: String,
        name: String,
    },
    PutAccessKey(AccessKeyRecord),
    DeleteAccessKey {
        id: String,
    },
    PutKeyUsage(KeyUsageRecord),
    PutTag(TagRecord),
    DeleteTag {
        owner_kind: OwnerKind,
        owner_id: String,
        key: String,
    },
    PutRole(RoleRecord),
    DeleteRole {
        id: String,
    },
    PutInstanceProfile(InstanceProfileRecord),
    DeleteInstanceProfile {
        id: String,
    },
    PutInstanceProfileRole(InstanceProfileRoleRecord),
    DeleteInstanceProfileRole(InstanceProfileRoleRecord),
    PutDeletionTask(DeletionTaskRecord),
    PutManagedPolicy(ManagedPolicyRecord),
    DeleteManagedPolicy {
        id: String,
    },
    PutPolicyVersion(PolicyVersionRecord),
    DeletePolicyVersion {
        policy_id: String,
        version_id: String,
    },
    PutAttachment(AttachmentRecord),
    DeleteAttachment(AttachmentRecord),
}

/// Everything the store holds, as loaded at startup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub account: Option<AccountRecord>,
    pub users: Vec<UserRecord>,
    pub groups: Vec<GroupRecord>,
    pub memberships: Vec<MembershipRecord>,
    pub inline_policies: Vec<InlinePolicyRecord>,
    pub access_keys: Vec<AccessKeyRecord>,
    pub key_usage: Vec<KeyUsageRecord>,
    pub tags: Vec<TagRecord>,
    pub roles: Vec<RoleRecord>,
    pub instance_profiles: Vec<InstanceProfileRecord>,
    pub instance_profile_roles: Vec<InstanceProfileRoleRecord>,
    pub deletion_tasks: Vec<DeletionTaskRecord>,
    pub managed_policies: Vec<ManagedPolicyRecord>,
    pub policy_versions: Vec<PolicyVersionRecord>,
    pub attachments: Vec<AttachmentRecord>,
}

impl Snapshot {
    /// Sorts every list by primary key (byte order): the order [`Store::load`] returns.
    pub fn sort(&mut self) {
        self.users.sort_by(|a, b| a.id.cmp(&b.id));
        self.groups.sort_by(|a, b| a.id.cmp(&b.id));
        self.memberships
            .sort_by(|a, b| (&a.group_id, &a.user_id).cmp(&(&b.group_id, &b.user_id)));
        self.inline_policies.sort_by(|a, b| {
            (a.owner_kind.as_str(), &a.owner_id, &a.name).cmp(&(
                b.owner_kind.as_str(),
                &b.owner_id,
                &b.name,
            ))
        });
        self.access_keys.sort_by(|a, b| a.id.cmp(&b.id));
        self.key_usage
            .sort_by(|a, b| a.access_key_id.cmp(&b.access_key_id));
        self.tags.sort_by(|a, b| {
            (a.owner_kind.as_str(), &a.owner_id, &a.key).cmp(&(
                b.owner_kind.as_str(),
                &b.owner_id,
                &b.key,
            ))
        });
        self.roles.sort_by(|a, b| a.id.cmp(&b.id));
        self.instance_profiles.sort_by(|a, b| a.id.cmp(&b.id));
        self.instance_profile_roles
            .sort_by(|a, b| (&a.profile_id, &a.role_id).cmp(&(&b.profile_id, &b.role_id)));
        self.deletion_tasks.sort_by(|a, b| a.id.cmp(&b.id));
        self.managed_policies.sort_by(|a, b| a.id.cmp(&b.id));
        self.policy_versions
            .sort_by(|a, b| (&a.policy_id, &a.version_id).cmp(&(&b.policy_id, &b.version_id)));
        self.attachments.sort_by(|a, b| {
            (a.owner_kind.as_str(), &a.owner_id, &a.policy_arn).cmp(&(
                b.owner_kind.as_str(),
                &b.owner_id,
                &b.policy_arn,
            ))
        });
    }
}

/// A role's trust bindings as stored: one `arn<TAB>id` per line (IAM ARNs and ids
/// contain neither tabs nor newlines).
pub(crate) fn encode_bindings(b: &[TrustBinding]) -> String {
    b.iter()
        .map(|b| format!("{}\t{}", b.arn, b.id))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The inverse of [`encode_bindings`]; `None` if a line is not `arn<TAB>id`.
pub(crate) fn decode_bindings(s: &str) -> Option<Vec<TrustBinding>> {
    s.split('\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split_once('\t').map(|(arn, id)| TrustBinding {
                arn: arn.to_string(),
                id: id.to_string(),
            })
        })
        .collect()
}
