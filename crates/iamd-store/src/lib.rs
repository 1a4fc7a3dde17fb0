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
//!   unique per (group, user). A violation returns [`StoreError::Conflict`] and
//!   nothing of the batch is written.
//! - `Upsert*` replaces the row with the same primary key, or inserts it.
//! - `Delete*` of a missing row is not an error (the service checked existence in
//!   memory under its write lock).
//! - Secrets arrive already encrypted (`secret_ciphertext`): the store never sees a
//!   plaintext secret.

// (implementation modules are added by the store work; see README of this crate)

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// Which kind of entity owns an inline policy or a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OwnerKind {
    User,
    Group,
    Role,
    Policy,
}

impl OwnerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::User => "user",
            OwnerKind::Group => "group",
            OwnerKind::Role => "role",
            OwnerKind::Policy => "policy",
        }
    }
}

/// The account this server serves (one row; created on first start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// 12 ASCII digits.
    pub id: String,
    pub created: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// Unique id, `AGPA` + 17 characters.
    pub id: String,
    pub name: String,
    pub path: String,
    pub created: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MembershipRecord {
    pub group_id: String,
    pub user_id: String,
}

/// An inline policy of a user, group or role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlinePolicyRecord {
    pub owner_kind: OwnerKind,
    pub owner_id: String,
    pub name: String,
    /// The policy document exactly as the client sent it (decoded JSON text).
    pub document: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsageRecord {
    pub access_key_id: String,
    pub last_used: Millis,
    pub service: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRecord {
    pub owner_kind: OwnerKind,
    pub owner_id: String,
    pub key: String,
    pub value: String,
}

/// One typed write. A batch of these is one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    PutAccount(AccountRecord),
    PutUser(UserRecord),
    DeleteUser { id: String },
    PutGroup(GroupRecord),
    DeleteGroup { id: String },
    PutMembership(MembershipRecord),
    DeleteMembership(MembershipRecord),
    PutInlinePolicy(InlinePolicyRecord),
    DeleteInlinePolicy { owner_kind: OwnerKind, owner_id: String, name: String },
    PutAccessKey(AccessKeyRecord),
    DeleteAccessKey { id: String },
    PutKeyUsage(KeyUsageRecord),
    PutTag(TagRecord),
    DeleteTag { owner_kind: OwnerKind, owner_id: String, key: String },
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
}
