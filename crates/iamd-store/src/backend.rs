//! What both backends do the same way, written once: migrating, running a batch's
//! statements in an open transaction, and loading a snapshot.

use crate::decode::{self, Cells};
use crate::{Snapshot, StoreError};

/// Brings the schema up to date on `$tx` (an open sqlx transaction, begun so that no
/// other migrator runs at the same time) and commits it; evaluates to the commit's
/// result, returning early from the enclosing function on an earlier failure.
/// `$backend`: the [`crate::schema::Backend`] the migrations are rendered for.
macro_rules! migrate {
    ($tx:ident, $backend:expr) => {{
        let backend: $crate::schema::Backend = $backend;
        let mig = |e| $crate::StoreError::Migration(format!("{e}"));
        sqlx::raw_sql($crate::schema::CREATE_SCHEMA_VERSION)
            .execute(&mut *$tx)
            .await
            .map_err(mig)?;
        let current: i64 = sqlx::query_scalar($crate::schema::CURRENT_VERSION)
            .fetch_one(&mut *$tx)
            .await
            .map_err(mig)?;
        for m in $crate::schema::pending(current)? {
            let sql = $crate::schema::render(m.sql, backend);
            sqlx::raw_sql(&sql).execute(&mut *$tx).await.map_err(|e| {
                $crate::StoreError::Migration(format!(
                    "{} migration {}: {e}",
                    backend.name(),
                    m.version
                ))
            })?;
            sqlx::query($crate::schema::RECORD_VERSION)
                .bind(m.version)
                .bind($crate::schema::now_millis())
                .execute(&mut *$tx)
                .await
                .map_err(mig)?;
        }
        $tx.commit().await.map_err(mig)
    }};
}
pub(crate) use migrate;

/// Runs every statement of every change on `$tx` (an open sqlx transaction), returning
/// early from the enclosing function with the mapped error on the first failure (the
/// dropped transaction then rolls back). A statement that did not change the rows it
/// must ([`crate::sql::Rows`]) is a failure too.
macro_rules! run_changes {
    ($tx:expr, $scope:expr, $changes:expr) => {
        for change in $changes {
            for s in $crate::sql::statements(change, $scope) {
                let mut q = sqlx::query(s.sql);
                for arg in s.args {
                    q = match arg {
                        $crate::sql::Arg::Text(v) => q.bind(v),
                        $crate::sql::Arg::OptText(v) => q.bind(v),
                        $crate::sql::Arg::Owned(v) => q.bind(v),
                        $crate::sql::Arg::Int(v) => q.bind(v),
                        $crate::sql::Arg::OptInt(v) => q.bind(v),
                        $crate::sql::Arg::Bytes(v) => q.bind(v),
                    };
                }
                let done = q.execute(&mut *$tx).await.map_err(|e| {
                    $crate::StoreError::from_sqlx(e, || $crate::sql::describe(change))
                })?;
                s.rows
                    .check(done.rows_affected(), || $crate::sql::describe(change))?;
            }
        }
    };
}
pub(crate) use run_changes;

/// The accounts other than the first, read from the pool `$pool`, in id order.
macro_rules! other_accounts {
    ($pool:expr) => {{
        let rows = sqlx::query($crate::sql::LOAD_OTHER_ACCOUNTS)
            .fetch_all($pool)
            .await
            .map_err(|e| $crate::StoreError::from_sqlx(e, || "load accounts".into()))?;
        let mut all = $crate::decode::all(&rows, $crate::decode::account)?;
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }};
}
pub(crate) use other_accounts;

/// Fetches all rows of one load query on `$tx`, in the account `$scope` (`$1`).
macro_rules! fetch {
    ($tx:expr, $scope:expr, $sql:expr) => {
        sqlx::query($sql)
            .bind($scope)
            .fetch_all(&mut *$tx)
            .await
            .map_err(|e| $crate::StoreError::from_sqlx(e, || format!("load ({})", $sql)))?
    };
}
pub(crate) use fetch;

/// Fetches every table on `$tx` (an open read transaction), ends the transaction and
/// evaluates to the rows decoded into a [`crate::Snapshot`]; returns early from the
/// enclosing function if fetching or ending fails.
macro_rules! load_snapshot {
    ($tx:ident, $scope:expr) => {{
        let tables = $crate::backend::fetch_tables!($tx, $scope);
        $tx.commit()
            .await
            .map_err(|e| $crate::StoreError::from_sqlx(e, || "load: end".into()))?;
        $crate::backend::snapshot(tables)
    }};
}
pub(crate) use load_snapshot;

/// Fetches every table on `$tx` into a [`Tables`].
macro_rules! fetch_tables {
    ($tx:expr, $scope:expr) => {
        $crate::backend::Tables {
            account: $crate::backend::fetch!($tx, $scope, $crate::sql::LOAD_ACCOUNT),
            users: $crate::backend::fetch!($tx, $scope, $crate::sql::LOAD_USERS),
            groups: $crate::backend::fetch!($tx, $scope, $crate::sql::LOAD_GROUPS),
            memberships: $crate::backend::fetch!($tx, $scope, $crate::sql::LOAD_MEMBERSHIPS),
            inline_policies: $crate::backend::fetch!(
                $tx,
                $scope,
                $crate::sql::LOAD_INLINE_POLICIES
            ),
            access_keys: $crate::backend::fetch!($tx, $scope, $crate::sql::LOAD_ACCESS_KEYS),
            key_usage: $crate::backend::fetch!($tx, $scope, $crate::sql::LOAD_KEY_USAGE),
            tags: $crate::backend::fetch!($tx, $scope, $crate::sql::LOAD_TAGS),
            roles: $crate::backend::fetch!($tx, $scope, $crate::sql::LOAD_ROLES),
            instance_profiles: $crate::backend::fetch!(
                $tx,
                $scope,
                $crate::sql::LOAD_INSTANCE_PROFILES
            ),
            instance_profile_roles: $crate::backend::fetch!(
                $tx,
                $scope,
                $crate::sql::LOAD_INSTANCE_PROFILE_ROLES
            ),
            deletion_tasks: $crate::backend::fetch!($tx, $scope, $crate::sql::LOAD_DELETION_TASKS),
            managed_policies: $crate::backend::fetch!(
                $tx,
                $scope,
                $crate::sql::LOAD_MANAGED_POLICIES
            ),
            policy_versions: $crate::backend::fetch!(
                $tx,
                $scope,
                $crate::sql::LOAD_POLICY_VERSIONS
            ),
            attachments: $crate::backend::fetch!($tx, $scope, $crate::sql::LOAD_ATTACHMENTS),
        }
    };
}
pub(crate) use fetch_tables;

/// The raw rows of every table.
pub(crate) struct Tables<R> {
    pub account: Vec<R>,
    pub users: Vec<R>,
    pub groups: Vec<R>,
    pub memberships: Vec<R>,
    pub inline_policies: Vec<R>,
    pub access_keys: Vec<R>,
    pub key_usage: Vec<R>,
    pub tags: Vec<R>,
    pub roles: Vec<R>,
    pub instance_profiles: Vec<R>,
    pub instance_profile_roles: Vec<R>,
    pub deletion_tasks: Vec<R>,
    pub managed_policies: Vec<R>,
    pub policy_versions: Vec<R>,
    pub attachments: Vec<R>,
}

/// Decodes the rows and sorts every list by primary key (byte order).
pub(crate) fn snapshot<R: Cells>(t: Tables<R>) -> Result<Snapshot, StoreError> {
    let mut accounts = decode::all(&t.account, decode::account)?;
    if accounts.len() > 1 {
        return Err(StoreError::Corrupt(format!(
            "account: {} rows, expected at most one",
            accounts.len()
        )));
    }
    let mut s = Snapshot {
        account: accounts.pop(),
        users: decode::all(&t.users, decode::user)?,
        groups: decode::all(&t.groups, decode::group)?,
        memberships: decode::all(&t.memberships, decode::membership)?,
        inline_policies: decode::all(&t.inline_policies, decode::inline_policy)?,
        access_keys: decode::all(&t.access_keys, decode::access_key)?,
        key_usage: decode::all(&t.key_usage, decode::key_usage)?,
        tags: decode::all(&t.tags, decode::tag)?,
        roles: decode::all(&t.roles, decode::role)?,
        instance_profiles: decode::all(&t.instance_profiles, decode::instance_profile)?,
        instance_profile_roles: decode::all(
            &t.instance_profile_roles,
            decode::instance_profile_role,
        )?,
        deletion_tasks: decode::all(&t.deletion_tasks, decode::deletion_task)?,
        managed_policies: decode::all(&t.managed_policies, decode::managed_policy)?,
        policy_versions: decode::all(&t.policy_versions, decode::policy_version)?,
        attachments: decode::all(&t.attachments, decode::attachment)?,
    };
    s.sort();
    Ok(s)
}
