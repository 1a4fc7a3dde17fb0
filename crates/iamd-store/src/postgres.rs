//! PostgreSQL, for several stateless nodes sharing one database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::backend::{load_snapshot, migrate, run_changes};
use crate::log::{append_log, encode_batch, load_all, log_since};
use crate::schema::Backend;
use crate::{Change, Everything, LogEntry, Seq, Snapshot, StoreError};

const POOL_SIZE: u32 = 8;
/// How long a request waits for a connection (the database unreachable: the write
/// fails with this delay, never hangs).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// The server-side bound of every statement (`statement_timeout`).
const STATEMENT_TIMEOUT: &str = "5s";
/// The client-side bound of a whole batch (a database that stopped answering on an
/// open connection).
const APPLY_TIMEOUT: Duration = Duration::from_secs(8);
/// Taken (transaction-scoped) while migrating, so nodes starting together migrate once.
const MIGRATION_LOCK: i64 = 0x6961_6d64; // "iamd"
/// Every change-log entry notifies this channel with its sequence as payload (the
/// trigger of migration 8), for other nodes to follow. (Delivered by PostgreSQL at
/// commit, and only then.)
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
        let options = options.options([("statement_timeout", STATEMENT_TIMEOUT)]);
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

    /// See [`crate::Store::apply_logged`]. Bounded by [`APPLY_TIMEOUT`] (an unknown
    /// outcome then, like any dropped commit: the change log tells, see
    /// `iamd-iam`'s follower).
    pub async fn apply_logged(
        &self,
        account: Option<&str>,
        changes: &[Change],
        expect: Option<Seq>,
    ) -> Result<Seq, StoreError> {
        let scope = crate::scope_of(account, changes)?;
        if changes.is_empty() {
            return self.log_head().await;
        }
        let body = encode_batch(changes)?;
        let mut attempt = 1;
        loop {
            let once = self.apply_once(scope, changes, expect, body.clone());
            let done = tokio::time::timeout(APPLY_TIMEOUT, once)
                .await
                .unwrap_or_else(|_| {
                    Err(StoreError::Database(format!(
                        "apply: no answer within {APPLY_TIMEOUT:?}"
                    )))
                });
            match done {
                Err(StoreError::Database(msg)) if attempt < ATTEMPTS && is_retryable(&msg) => {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn apply_once(
        &self,
        scope: &str,
        changes: &[Change],
        expect: Option<Seq>,
        body: String,
    ) -> Result<Seq, StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "apply: begin".into()))?;
        // First: the sequence row serializes every logged writer from here to the
        // commit, so a stale writer waits, then learns it is stale, before any work.
        let seq = append_log!(tx, expect, scope, "batch", body);
        run_changes!(tx, scope, changes);
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "apply: commit".into()))?;
        Ok(seq)
    }

    /// See [`crate::Store::log_head`].
    pub async fn log_head(&self) -> Result<Seq, StoreError> {
        sqlx::query_scalar(crate::log::HEAD)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "change log: head".into()))
    }

    /// See [`crate::Store::load_all`]. One REPEATABLE READ snapshot.
    pub async fn load_all(&self) -> Result<Everything, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "load: begin".into()))?;
        load_all!(tx)
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
        self.apply_logged(account, changes, None).await.map(|_| ())
    }
    async fn other_accounts(&self) -> Result<Vec<crate::AccountRecord>, StoreError> {
        crate::backend::other_accounts!(&self.pool)
    }
    async fn apply_logged(
        &self,
        account: Option<&str>,
        changes: &[Change],
        expect: Option<Seq>,
    ) -> Result<Seq, StoreError> {
        PostgresStore::apply_logged(self, account, changes, expect).await
    }
    async fn log_since(&self, after: Seq, limit: i64) -> Result<Vec<LogEntry>, StoreError> {
        log_since!(&self.pool, after, limit)
    }
    async fn log_head(&self) -> Result<Seq, StoreError> {
        PostgresStore::log_head(self).await
    }
    async fn prune_log(&self, through: Seq) -> Result<(), StoreError> {
        sqlx::query(crate::log::PRUNE)
            .bind(through)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "change log: prune".into()))
            .map(|_| ())
    }
    async fn load_all(&self) -> Result<Everything, StoreError> {
        PostgresStore::load_all(self).await
    }
    async fn listen(&self) -> Result<crate::log::Listener, StoreError> {
        crate::log::Listener::postgres(&self.pool).await
    }
    fn shared(&self) -> bool {
        true
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
