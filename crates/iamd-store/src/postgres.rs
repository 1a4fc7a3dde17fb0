//! PostgreSQL, for several stateless nodes sharing one database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::backend::{load_snapshot, migrate, run_changes};
use crate::schema::Backend;
use crate::{Change, Snapshot, StoreError};

const POOL_SIZE: u32 = 8;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// Taken (transaction-scoped) while migrating, so nodes starting together migrate once.
const MIGRATION_LOCK: i64 = 0x6961_6d64; // "iamd"
/// Every committed `apply` notifies this channel (payload empty), for other nodes to
/// reload. (Delivered by PostgreSQL at commit, and only then.)
pub const NOTIFY_CHANNEL: &str = "iamd_changes";
/// A batch failing with a deadlock (40P01) or serialization failure (40001) was rolled
/// back entirely, so it is retried this many times in all.
const ATTEMPTS: usize = 3;

/// A store in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db`, see sqlx's
    /// `PgConnectOptions` for the parameters) and brings the schema up to date.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl(format!("{}: {e}", redact(url))))?;
        PostgresStore::open_with(options).await
    }

    /// Connects with explicit options and brings the schema up to date.
    pub async fn open_with(options: PgConnectOptions) -> Result<PostgresStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "connecting to postgres".into()))?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Closes every connection. Later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mig = |e| StoreError::Migration(format!("{e}"));
        let mut tx = self.pool.begin().await.map_err(mig)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(mig)?;
        migrate!(tx, Backend::Postgres)
    }

    /// See [`crate::Store::load_in`]. Reads one consistent snapshot (REPEATABLE READ).
    pub async fn load_in(&self, account: Option<&str>) -> Result<Snapshot, StoreError> {
        let scope = account.unwrap_or("");
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "load: begin".into()))?;
        load_snapshot!(tx, scope)
    }

    /// See [`crate::Store::apply_in`].
    pub async fn apply_in(
        &self,
        account: Option<&str>,
        changes: &[Change],
    ) -> Result<(), StoreError> {
        let scope = crate::scope_of(account, changes)?;
        if changes.is_empty() {
            return Ok(());
        }
        let mut attempt = 1;
        loop {
            match self.apply_once(scope, changes).await {
                Err(StoreError::Database(msg)) if attempt < ATTEMPTS && is_retryable(&msg) => {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn apply_once(&self, scope: &str, changes: &[Change]) -> Result<(), StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "apply: begin".into()))?;
        run_changes!(tx, scope, changes);
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(NOTIFY_CHANNEL)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "apply: notify".into()))?;
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "apply: commit".into()))
    }
}

/// Deadlocks (40P01) and serialization failures (40001) roll the whole transaction
/// back; retrying the batch is then safe. (`StoreError::from_sqlx` appends PostgreSQL's
/// SQLSTATE to the message.)
fn is_retryable(msg: &str) -> bool {
    msg.ends_with("[SQLSTATE 40P01]") || msg.ends_with("[SQLSTATE 40001]")
}

/// The URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &userinfo[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl crate::Store for PostgresStore {
    async fn load_in(&self, account: Option<&str>) -> Result<Snapshot, StoreError> {
        PostgresStore::load_in(self, account).await
    }
    async fn apply_in(&self, account: Option<&str>, changes: &[Change]) -> Result<(), StoreError> {
        PostgresStore::apply_in(self, account, changes).await
    }
    async fn other_accounts(&self) -> Result<Vec<crate::AccountRecord>, StoreError> {
        crate::backend::other_accounts!(&self.pool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password() {
        assert_eq!(
            redact("postgres://iamd:s3cret@db:5432/iamd"),
            "postgres://iamd:***@db:5432/iamd"
        );
        assert_eq!(redact("postgres://iamd@db/iamd"), "postgres://iamd@db/iamd");
        assert_eq!(redact("postgres://db/iamd"), "postgres://db/iamd");
    }

    #[test]
    fn retryable_messages() {
        assert!(is_retryable("apply: deadlock detected [SQLSTATE 40P01]"));
        assert!(is_retryable(
            "x: could not serialize access [SQLSTATE 40001]"
        ));
        assert!(!is_retryable("x: relation does not exist [SQLSTATE 42P01]"));
    }
}
