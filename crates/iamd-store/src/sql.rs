//! The data-manipulation SQL, shared by both backends (`$n` parameters work in both),
//! and the translation of each [`Change`] into statements.

use crate::{Change, OwnerKind};

/// A bind parameter, borrowed from the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    /// Text encoded from the change (a role's trust bindings).
    Owned(String),
    Int(i64),
    OptInt(Option<i64>),
    Bytes(&'a [u8]),
}

/// What a statement must have done for its change to be carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    /// Any number of rows (an idempotent child write, or usage of a deleted key).
    Any,
    /// Exactly one row: a put guarded by the account (none changed means the id is a
    /// row of another account: [`crate::StoreError::Conflict`]).
    Put,
    /// Exactly one row: an entity deleted in its account (none deleted means it is not
    /// there, or is another account's: [`crate::StoreError::Missing`]).
    Delete,
}

/// One statement with its parameters (`$1` is `args[0]`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stmt<'a> {
    pub sql: &'static str,
    pub args: Vec<Arg<'a>>,
    pub rows: Rows,
}

fn stmt<'a>(sql: &'static str, args: Vec<Arg<'a>>) -> Stmt<'a> {
    Stmt {
        sql,
        args,
        rows: Rows::Any,
    }
}

/// A put guarded by the account: it must write its row.
fn guarded_put<'a>(sql: &'static str, args: Vec<Arg<'a>>) -> Stmt<'a> {
    Stmt {
        rows: Rows::Put,
        ..stmt(sql, args)
    }
}

/// The delete of an entity of the account `scope`: it must delete its row.
fn scoped_delete<'a>(sql: &'static str, id: &'a str, scope: &'a str) -> Stmt<'a> {
    Stmt {
        rows: Rows::Delete,
        ..stmt(sql, vec![Arg::Text(id), Arg::Text(scope)])
    }
}

impl Rows {
    /// The error for a statement that changed `affected` rows, if that is not what it
    /// must do; `what` describes the change.
    pub(crate) fn check(
        self,
        affected: u64,
        what: impl FnOnce() -> String,
    ) -> Result<(), crate::StoreError> {
        match (self, affected) {
            (Rows::Any, _) | (Rows::Put | Rows::Delete, 1) => Ok(()),
            (Rows::Put, n) => Err(crate::StoreError::Conflict(format!(
                "{}: {n} rows written (the id is a row of another account)",
                what()
            ))),
            (Rows::Delete, n) => Err(crate::StoreError::Missing(format!(
                "{}: {n} rows deleted (no such row in this account)",
                what()
            ))),
        }
    }
}

const PUT_ACCOUNT: &str = "INSERT INTO account (id, created) VALUES ($1, $2) \
     ON CONFLICT (id) DO UPDATE SET created = excluded.created";
/// An account other than the first (schema 5).
const PUT_OTHER_ACCOUNT: &str = "INSERT INTO accounts (id, created) VALUES ($1, $2) \
     ON CONFLICT (id) DO UPDATE SET created = excluded.created";
// The rows that belong to an account directly carry `account_id` (the batch's scope,
// `''` for the first account) as their last parameter; an update never moves a row to
// another account.
const PUT_USER: &str = "INSERT INTO users (id, name, path, created, boundary_arn, account_id) \
     VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, path = excluded.path, \
     created = excluded.created, boundary_arn = excluded.boundary_arn \
     WHERE users.account_id = excluded.account_id";
const DELETE_USER: &str = "DELETE FROM users WHERE id = $1 AND account_id = $2";
const PUT_GROUP: &str = "INSERT INTO groups (id, name, path, created, account_id) \
     VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, path = excluded.path, \
     created = excluded.created WHERE groups.account_id = excluded.account_id";
const DELETE_GROUP: &str = "DELETE FROM groups WHERE id = $1 AND account_id = $2";
const PUT_MEMBERSHIP: &str = "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) \
     ON CONFLICT (group_id, user_id) DO NOTHING";
const DELETE_MEMBERSHIP: &str = "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2";
const PUT_INLINE_POLICY: &str =
    "INSERT INTO inline_policies (owner_kind, owner_id, name, document) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (owner_kind, owner_id, name) DO UPDATE SET document = excluded.document";
const DELETE_INLINE_POLICY: &str =
    "DELETE FROM inline_policies WHERE owner_kind = $1 AND owner_id = $2 AND name = $3";
const DELETE_INLINE_POLICIES_OF: &str =
    "DELETE FROM inline_policies WHERE owner_kind = $1 AND owner_id = $2";
const PUT_ACCESS_KEY: &str =
    "INSERT INTO access_keys (id, user_id, status, secret_ciphertext, created, account_id) \
     VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, status = excluded.status, \
     secret_ciphertext = excluded.secret_ciphertext, created = excluded.created \
     WHERE access_keys.account_id = excluded.account_id";
const DELETE_ACCESS_KEY: &str = "DELETE FROM access_keys WHERE id = $1 AND account_id = $2";
/// Usage is written off the request path: usage of a key deleted meanwhile is dropped
/// (inserts nothing), and an older timestamp never replaces a newer one.
const PUT_KEY_USAGE: &str = "INSERT INTO key_usage (access_key_id, last_used, service, region) \
     SELECT id, $2, $3, $4 FROM access_keys WHERE id = $1 \
     ON CONFLICT (access_key_id) DO UPDATE SET last_used = excluded.last_used, \
     service = excluded.service, region = excluded.region \
     WHERE excluded.last_used >= key_usage.last_used";
const PUT_TAG: &str = "INSERT INTO tags (owner_kind, owner_id, tag_key, tag_value) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (owner_kind, owner_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value";
const DELETE_TAG: &str =
    "DELETE FROM tags WHERE owner_kind = $1 AND owner_id = $2 AND tag_key = $3";
const DELETE_TAGS_OF: &str = "DELETE FROM tags WHERE owner_kind = $1 AND owner_id = $2";
const PUT_ROLE: &str = "INSERT INTO roles (id, name, path, created, trust_policy, \
     trust_bindings, description, max_session_duration, boundary_arn, service_linked, \
     last_used, last_used_region, account_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, path = excluded.path, \
     created = excluded.created, trust_policy = excluded.trust_policy, \
     trust_bindings = excluded.trust_bindings, description = excluded.description, \
     max_session_duration = excluded.max_session_duration, \
     boundary_arn = excluded.boundary_arn, service_linked = excluded.service_linked, \
     last_used = excluded.last_used, last_used_region = excluded.last_used_region \
     WHERE roles.account_id = excluded.account_id";
const DELETE_ROLE: &str = "DELETE FROM roles WHERE id = $1 AND account_id = $2";
const PUT_INSTANCE_PROFILE: &str = "INSERT INTO instance_profiles (id, name, path, created, \
     account_id) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, path = excluded.path, \
     created = excluded.created WHERE instance_profiles.account_id = excluded.account_id";
const DELETE_INSTANCE_PROFILE: &str =
    "DELETE FROM instance_profiles WHERE id = $1 AND account_id = $2";
const PUT_INSTANCE_PROFILE_ROLE: &str =
    "INSERT INTO instance_profile_roles (profile_id, role_id) VALUES ($1, $2) \
     ON CONFLICT (profile_id, role_id) DO NOTHING";
const DELETE_INSTANCE_PROFILE_ROLE: &str =
    "DELETE FROM instance_profile_roles WHERE profile_id = $1 AND role_id = $2";
const PUT_DELETION_TASK: &str = "INSERT INTO role_deletion_tasks (id, created, account_id) \
     VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET created = excluded.created \
     WHERE role_deletion_tasks.account_id = excluded.account_id";

const PUT_MANAGED_POLICY: &str = "INSERT INTO managed_policies (id, name, path, created, \
     description, default_version, next_version, account_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, path = excluded.path, \
     created = excluded.created, description = excluded.description, \
     default_version = excluded.default_version, next_version = excluded.next_version \
     WHERE managed_policies.account_id = excluded.account_id";
const DELETE_MANAGED_POLICY: &str =
    "DELETE FROM managed_policies WHERE id = $1 AND account_id = $2";
const PUT_POLICY_VERSION: &str =
    "INSERT INTO policy_versions (policy_id, version_id, document, created) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (policy_id, version_id) DO UPDATE SET document = excluded.document, \
     created = excluded.created";
const DELETE_POLICY_VERSION: &str =
    "DELETE FROM policy_versions WHERE policy_id = $1 AND version_id = $2";
const DELETE_POLICY_VERSIONS_OF: &str = "DELETE FROM policy_versions WHERE policy_id = $1";
const PUT_ATTACHMENT: &str =
    "INSERT INTO policy_attachments (owner_kind, owner_id, policy_arn) VALUES ($1, $2, $3) \
     ON CONFLICT (owner_kind, owner_id, policy_arn) DO NOTHING";
const DELETE_ATTACHMENT: &str = "DELETE FROM policy_attachments \
     WHERE owner_kind = $1 AND owner_id = $2 AND policy_arn = $3";
const DELETE_ATTACHMENTS_OF: &str =
    "DELETE FROM policy_attachments WHERE owner_kind = $1 AND owner_id = $2";

/// The statements that carry out `change` in the account `scope` (`""`: the first
/// account), in order.
pub(crate) fn statements<'a>(change: &'a Change, scope: &'a str) -> Vec<Stmt<'a>> {
    use Arg::*;
    match change {
        Change::PutAccount(a) if scope.is_empty() => {
            vec![stmt(PUT_ACCOUNT, vec![Text(&a.id), Int(a.created)])]
        }
        Change::PutAccount(a) => vec![stmt(PUT_OTHER_ACCOUNT, vec![Text(&a.id), Int(a.created)])],
        Change::PutUser(u) => vec![guarded_put(
            PUT_USER,
            vec![
                Text(&u.id),
                Text(&u.name),
                Text(&u.path),
                Int(u.created),
                OptText(u.boundary_arn.as_deref()),
                Text(scope),
            ],
        )],
        Change::DeleteUser { id } => owner_delete(OwnerKind::User, id, scope, DELETE_USER),
        Change::PutGroup(g) => vec![guarded_put(
            PUT_GROUP,
            vec![
                Text(&g.id),
                Text(&g.name),
                Text(&g.path),
                Int(g.created),
                Text(scope),
            ],
        )],
        Change::DeleteGroup { id } => owner_delete(OwnerKind::Group, id, scope, DELETE_GROUP),
        Change::PutMembership(m) => vec![stmt(
            PUT_MEMBERSHIP,
            vec![Text(&m.group_id), Text(&m.user_id)],
        )],
        Change::DeleteMembership(m) => vec![stmt(
            DELETE_MEMBERSHIP,
            vec![Text(&m.group_id), Text(&m.user_id)],
        )],
        Change::PutInlinePolicy(p) => vec![stmt(
            PUT_INLINE_POLICY,
            vec![
                Text(p.owner_kind.as_str()),
                Text(&p.owner_id),
                Text(&p.name),
                Text(&p.document),
            ],
        )],
        Change::DeleteInlinePolicy {
            owner_kind,
            owner_id,
            name,
        } => vec![stmt(
            DELETE_INLINE_POLICY,
            vec![Text(owner_kind.as_str()), Text(owner_id), Text(name)],
        )],
        Change::PutAccessKey(k) => vec![guarded_put(
            PUT_ACCESS_KEY,
            vec![
                Text(&k.id),
                OptText(k.user_id.as_deref()),
                Text(k.status.as_str()),
                Bytes(&k.secret_ciphertext),
                Int(k.created),
                Text(scope),
            ],
        )],
        Change::DeleteAccessKey { id } => vec![scoped_delete(DELETE_ACCESS_KEY, id, scope)],
        Change::PutKeyUsage(u) => vec![stmt(
            PUT_KEY_USAGE,
            vec![
                Text(&u.access_key_id),
                Int(u.last_used),
                Text(&u.service),
                Text(&u.region),
            ],
        )],
        Change::PutTag(t) => vec![stmt(
            PUT_TAG,
            vec![
                Text(t.owner_kind.as_str()),
                Text(&t.owner_id),
                Text(&t.key),
                Text(&t.value),
            ],
        )],
        Change::DeleteTag {
            owner_kind,
            owner_id,
            key,
        } => vec![stmt(
            DELETE_TAG,
            vec![Text(owner_kind.as_str()), Text(owner_id), Text(key)],
        )],
        Change::PutRole(r) => vec![guarded_put(
            PUT_ROLE,
            vec![
                Text(&r.id),
                Text(&r.name),
                Text(&r.path),
                Int(r.created),
                Text(&r.trust_policy),
                Owned(crate::encode_bindings(&r.trust_bindings)),
                OptText(r.description.as_deref()),
                Int(r.max_session_duration),
                OptText(r.boundary_arn.as_deref()),
                Int(i64::from(r.service_linked)),
                OptInt(r.last_used),
                OptText(r.last_used_region.as_deref()),
                Text(scope),
            ],
        )],
        Change::DeleteRole { id } => owner_delete(OwnerKind::Role, id, scope, DELETE_ROLE),
        Change::PutInstanceProfile(p) => vec![guarded_put(
            PUT_INSTANCE_PROFILE,
            vec![
                Text(&p.id),
                Text(&p.name),
                Text(&p.path),
                Int(p.created),
                Text(scope),
            ],
        )],
        Change::DeleteInstanceProfile { id } => owner_delete(
            OwnerKind::InstanceProfile,
            id,
            scope,
            DELETE_INSTANCE_PROFILE,
        ),
        Change::PutInstanceProfileRole(m) => vec![stmt(
            PUT_INSTANCE_PROFILE_ROLE,
            vec![Text(&m.profile_id), Text(&m.role_id)],
        )],
        Change::DeleteInstanceProfileRole(m) => vec![stmt(
            DELETE_INSTANCE_PROFILE_ROLE,
            vec![Text(&m.profile_id), Text(&m.role_id)],
        )],
        Change::PutDeletionTask(t) => {
            vec![guarded_put(
                PUT_DELETION_TASK,
                vec![Text(&t.id), Int(t.created), Text(scope)],
            )]
        }
        Change::PutManagedPolicy(p) => vec![guarded_put(
            PUT_MANAGED_POLICY,
            vec![
                Text(&p.id),
                Text(&p.name),
                Text(&p.path),
                Int(p.created),
                OptText(p.description.as_deref()),
                Text(&p.default_version),
                Int(p.next_version),
                Text(scope),
            ],
        )],
        Change::DeleteManagedPolicy { id } => vec![
            stmt(
                DELETE_TAGS_OF,
                vec![Text(OwnerKind::Policy.as_str()), Text(id)],
            ),
            stmt(DELETE_POLICY_VERSIONS_OF, vec![Text(id)]),
            scoped_delete(DELETE_MANAGED_POLICY, id, scope),
        ],
        Change::PutPolicyVersion(v) => vec![stmt(
            PUT_POLICY_VERSION,
            vec![
                Text(&v.policy_id),
                Text(&v.version_id),
                Text(&v.document),
                Int(v.created),
            ],
        )],
        Change::DeletePolicyVersion {
            policy_id,
            version_id,
        } => vec![stmt(
            DELETE_POLICY_VERSION,
            vec![Text(policy_id), Text(version_id)],
        )],
        Change::PutAttachment(a) => vec![stmt(
            PUT_ATTACHMENT,
            vec![
                Text(a.owner_kind.as_str()),
                Text(&a.owner_id),
                Text(&a.policy_arn),
            ],
        )],
        Change::DeleteAttachment(a) => vec![stmt(
            DELETE_ATTACHMENT,
            vec![
                Text(a.owner_kind.as_str()),
                Text(&a.owner_id),
                Text(&a.policy_arn),
            ],
        )],
    }
}

/// Deleting an owner deletes its tags, inline policies and policy attachments
/// (polymorphic references that no foreign key can express), then the row itself.
fn owner_delete<'a>(
    kind: OwnerKind,
    id: &'a str,
    scope: &'a str,
    delete: &'static str,
) -> Vec<Stmt<'a>> {
    let of = || vec![Arg::Text(kind.as_str()), Arg::Text(id)];
    vec![
        stmt(DELETE_TAGS_OF, of()),
        stmt(DELETE_INLINE_POLICIES_OF, of()),
        stmt(DELETE_ATTACHMENTS_OF, of()),
        scoped_delete(delete, id, scope),
    ]
}

/// A short description of a change for error messages (never includes secrets or
/// policy documents).
pub(crate) fn describe(change: &Change) -> String {
    match change {
        Change::PutAccount(a) => format!("PutAccount {}", a.id),
        Change::PutUser(u) => format!("PutUser {} (name {:?})", u.id, u.name),
        Change::DeleteUser { id } => format!("DeleteUser {id}"),
        Change::PutGroup(g) => format!("PutGroup {} (name {:?})", g.id, g.name),
        Change::DeleteGroup { id } => format!("DeleteGroup {id}"),
        Change::PutMembership(m) => format!("PutMembership {} in {}", m.user_id, m.group_id),
        Change::DeleteMembership(m) => {
            format!("DeleteMembership {} in {}", m.user_id, m.group_id)
        }
        Change::PutInlinePolicy(p) => format!(
            "PutInlinePolicy {:?} of {} {}",
            p.name,
            p.owner_kind.as_str(),
            p.owner_id
        ),
        Change::DeleteInlinePolicy {
            owner_kind,
            owner_id,
            name,
        } => format!(
            "DeleteInlinePolicy {name:?} of {} {owner_id}",
            owner_kind.as_str()
        ),
        Change::PutAccessKey(k) => format!("PutAccessKey {}", k.id),
        Change::DeleteAccessKey { id } => format!("DeleteAccessKey {id}"),
        Change::PutKeyUsage(u) => format!("PutKeyUsage {}", u.access_key_id),
        Change::PutTag(t) => format!(
            "PutTag {:?} of {} {}",
            t.key,
            t.owner_kind.as_str(),
            t.owner_id
        ),
        Change::DeleteTag {
            owner_kind,
            owner_id,
            key,
        } => format!("DeleteTag {key:?} of {} {owner_id}", owner_kind.as_str()),
        Change::PutRole(r) => format!("PutRole {} (name {:?})", r.id, r.name),
        Change::DeleteRole { id } => format!("DeleteRole {id}"),
        Change::PutInstanceProfile(p) => {
            format!("PutInstanceProfile {} (name {:?})", p.id, p.name)
        }
        Change::DeleteInstanceProfile { id } => format!("DeleteInstanceProfile {id}"),
        Change::PutInstanceProfileRole(m) => {
            format!("PutInstanceProfileRole {} in {}", m.role_id, m.profile_id)
        }
        Change::DeleteInstanceProfileRole(m) => {
            format!(
                "DeleteInstanceProfileRole {} in {}",
                m.role_id, m.profile_id
            )
        }
        Change::PutDeletionTask(t) => format!("PutDeletionTask {}", t.id),
        Change::PutManagedPolicy(p) => {
            format!("PutManagedPolicy {} (name {:?})", p.id, p.name)
        }
        Change::DeleteManagedPolicy { id } => format!("DeleteManagedPolicy {id}"),
        Change::PutPolicyVersion(v) => {
            format!("PutPolicyVersion {} of {}", v.version_id, v.policy_id)
        }
        Change::DeletePolicyVersion {
            policy_id,
            version_id,
        } => format!("DeletePolicyVersion {version_id} of {policy_id}"),
        Change::PutAttachment(a) => format!(
            "PutAttachment {} to {} {}",
            a.policy_arn,
            a.owner_kind.as_str(),
            a.owner_id
        ),
        Change::DeleteAttachment(a) => format!(
            "DeleteAttachment {} from {} {}",
            a.policy_arn,
            a.owner_kind.as_str(),
            a.owner_id
        ),
    }
}

// Loading: one query per table. Rows are sorted in Rust (byte order of the primary
// key), so both engines return the same order whatever their collation.
// Every load query takes the account (`$1`, `''` for the first) and returns its rows;
// a row of a table without `account_id` belongs to its owner's account (a row whose
// owner is in no table, to the first account, as before schema 5).
pub(crate) const LOAD_ACCOUNT: &str = "SELECT id, created FROM account WHERE $1 = '' \
     UNION ALL SELECT id, created FROM accounts WHERE id = $1";
/// The accounts other than the first (no parameter).
pub(crate) const LOAD_OTHER_ACCOUNTS: &str = "SELECT id, created FROM accounts";
pub(crate) const LOAD_USERS: &str =
    "SELECT id, name, path, created, boundary_arn FROM users WHERE account_id = $1";
pub(crate) const LOAD_GROUPS: &str =
    "SELECT id, name, path, created FROM groups WHERE account_id = $1";
pub(crate) const LOAD_MEMBERSHIPS: &str = "SELECT group_id, user_id FROM group_members t \
     WHERE COALESCE((SELECT account_id FROM groups WHERE id = t.group_id), '') = $1";
/// The account of the owner `t.owner_id` (ids are unique across kinds: their prefix
/// names the kind).
macro_rules! owner_in_account {
    () => {
        "COALESCE((SELECT account_id FROM users WHERE id = t.owner_id), \
         (SELECT account_id FROM groups WHERE id = t.owner_id), \
         (SELECT account_id FROM roles WHERE id = t.owner_id), \
         (SELECT account_id FROM instance_profiles WHERE id = t.owner_id), \
         (SELECT account_id FROM managed_policies WHERE id = t.owner_id), '') = $1"
    };
}
pub(crate) const LOAD_INLINE_POLICIES: &str = concat!(
    "SELECT owner_kind, owner_id, name, document FROM inline_policies t WHERE ",
    owner_in_account!()
);
pub(crate) const LOAD_ACCESS_KEYS: &str =
    "SELECT id, user_id, status, secret_ciphertext, created FROM access_keys \
     WHERE account_id = $1";
pub(crate) const LOAD_KEY_USAGE: &str =
    "SELECT access_key_id, last_used, service, region FROM key_usage t \
     WHERE COALESCE((SELECT account_id FROM access_keys WHERE id = t.access_key_id), '') = $1";
pub(crate) const LOAD_TAGS: &str = concat!(
    "SELECT owner_kind, owner_id, tag_key, tag_value FROM tags t WHERE ",
    owner_in_account!()
);
pub(crate) const LOAD_ROLES: &str = "SELECT id, name, path, created, trust_policy, \
     trust_bindings, description, max_session_duration, boundary_arn, service_linked, \
     last_used, last_used_region FROM roles WHERE account_id = $1";
pub(crate) const LOAD_INSTANCE_PROFILES: &str =
    "SELECT id, name, path, created FROM instance_profiles WHERE account_id = $1";
pub(crate) const LOAD_INSTANCE_PROFILE_ROLES: &str =
    "SELECT profile_id, role_id FROM instance_profile_roles t WHERE COALESCE((SELECT \
     account_id FROM instance_profiles WHERE id = t.profile_id), '') = $1";
pub(crate) const LOAD_DELETION_TASKS: &str =
    "SELECT id, created FROM role_deletion_tasks WHERE account_id = $1";
pub(crate) const LOAD_MANAGED_POLICIES: &str = "SELECT id, name, path, created, description, \
     default_version, next_version FROM managed_policies WHERE account_id = $1";
pub(crate) const LOAD_POLICY_VERSIONS: &str =
    "SELECT policy_id, version_id, document, created FROM policy_versions t WHERE \
     COALESCE((SELECT account_id FROM managed_policies WHERE id = t.policy_id), '') = $1";
pub(crate) const LOAD_ATTACHMENTS: &str = concat!(
    "SELECT owner_kind, owner_id, policy_arn FROM policy_attachments t WHERE ",
    owner_in_account!()
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    /// Every statement's highest `$n` equals its argument count, and every `$1..$n`
    /// appears.
    #[test]
    fn placeholders_match_arguments() {
        for change in crate::testing::every_change() {
            for s in statements(&change, "") {
                for i in 1..=s.args.len() {
                    assert!(s.sql.contains(&format!("${i}")), "{}: missing ${i}", s.sql);
                }
                let next = s.args.len() + 1;
                assert!(
                    !s.sql.contains(&format!("${next}")),
                    "{}: extra ${next}",
                    s.sql
                );
            }
        }
    }

    #[test]
    fn deleting_an_owner_deletes_its_tags_and_policies_first() {
        let del_user = Change::DeleteUser { id: "AIDA1".into() };
        let stmts = statements(&del_user, "");
        assert_eq!(stmts.len(), 4);
        assert_eq!(stmts[0].sql, DELETE_TAGS_OF);
        assert_eq!(stmts[1].sql, DELETE_INLINE_POLICIES_OF);
        assert_eq!(stmts[2].sql, DELETE_ATTACHMENTS_OF);
        assert_eq!(stmts[3].sql, DELETE_USER);
        assert_eq!(stmts[0].args, vec![Arg::Text("user"), Arg::Text("AIDA1")]);
        assert_eq!(stmts[3].args, vec![Arg::Text("AIDA1"), Arg::Text("")]);
        assert_eq!(stmts[3].rows, Rows::Delete);
        let del_group = Change::DeleteGroup { id: "AGPA1".into() };
        let stmts = statements(&del_group, "");
        assert_eq!(stmts[1].args, vec![Arg::Text("group"), Arg::Text("AGPA1")]);
        assert_eq!(stmts[3].sql, DELETE_GROUP);
        let del_role = Change::DeleteRole { id: "AROA1".into() };
        let stmts = statements(&del_role, "");
        assert_eq!(stmts[0].args, vec![Arg::Text("role"), Arg::Text("AROA1")]);
        assert_eq!(stmts[3].sql, DELETE_ROLE);
        let del_profile = Change::DeleteInstanceProfile { id: "AIPA1".into() };
        let stmts = statements(&del_profile, "");
        assert_eq!(
            stmts[0].args,
            vec![Arg::Text("instance-profile"), Arg::Text("AIPA1")]
        );
        assert_eq!(stmts[3].sql, DELETE_INSTANCE_PROFILE);
        let del_policy = Change::DeleteManagedPolicy { id: "ANPA1".into() };
        let stmts = statements(&del_policy, "");
        assert_eq!(stmts[0].args, vec![Arg::Text("policy"), Arg::Text("ANPA1")]);
        assert_eq!(stmts[1].sql, DELETE_POLICY_VERSIONS_OF);
        assert_eq!(stmts[2].sql, DELETE_MANAGED_POLICY);
    }

    #[test]
    fn trust_bindings_round_trip() {
        let b = vec![
            TrustBinding {
                arn: "arn:aws:iam::123456789012:user/a".into(),
                id: "AIDA1".into(),
            },
            TrustBinding {
                arn: "arn:aws:iam::123456789012:role/x/b".into(),
                id: "AROA2".into(),
            },
        ];
        assert_eq!(decode_bindings(&encode_bindings(&b)), Some(b));
        assert_eq!(decode_bindings(""), Some(Vec::new()));
        assert_eq!(decode_bindings("no tab"), None);
    }

    #[test]
    fn descriptions_hide_secrets_and_documents() {
        for change in crate::testing::every_change() {
            let d = describe(&change);
            assert!(!d.contains("SECRET"), "{d}");
            assert!(!d.contains("Statement"), "{d}");
        }
    }

    #[test]
    fn enum_texts_round_trip() {
        for k in [
            OwnerKind::User,
            OwnerKind::Group,
            OwnerKind::Role,
            OwnerKind::Policy,
            OwnerKind::InstanceProfile,
        ] {
            assert_eq!(OwnerKind::parse(k.as_str()), Some(k));
        }
        for s in [KeyStatus::Active, KeyStatus::Inactive] {
            assert_eq!(KeyStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(OwnerKind::parse("User"), None);
        assert_eq!(KeyStatus::parse("active"), None);
    }
}
