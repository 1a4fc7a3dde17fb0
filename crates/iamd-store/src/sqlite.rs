//! The embedded default: SQLite in WAL mode with `synchronous=FULL`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::backend::{load_snapshot, migrate, run_changes};
use crate::log::{append_log, encode_batch, load_all, log_since};
use crate::schema::Backend;
use crate::{Change, Everything, LogEntry, Seq, Snapshot, StoreError};

/// Connections in the pool: one writer at a time (serialised in-process by a mutex, and
/// across processes by `BEGIN IMMEDIATE` + the busy timeout) plus readers.
const POOL_SIZE: u32 = 4;
/// How long a writer waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A store in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// Serialises writers of this process, so they queue here rather than spin in
    /// SQLite's busy handler.
    pub(crate) writer: Arc<tokio::sync::Mutex<()>>,
    path: PathBuf,
}

impl SqliteStore {
    /// The database file's name inside the data directory.
    pub const FILE_NAME: &'static str = "iamd.db";

    /// Opens (creating the directory and the file if missing) `<data_dir>/iamd.db`.
    pub async fn open_dir(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Database(format!("creating data dir {}: {e}", data_dir.display()))
        })?;
        SqliteStore::open(&data_dir.join(Self::FILE_NAME)).await
    }

    /// Opens (creating it and its parent directories if missing) the database file at
    /// `path`, and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Database(format!("creating directory {}: {e}", parent.display()))
            })?;
        }
        create_private_file(path).map_err(|e| {
            StoreError::Database(format!("creating sqlite {}: {e}", path.display()))
        })?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            .min_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| {
                StoreError::from_sqlx(e, || format!("opening sqlite {}", path.display()))
            })?;
        let store = SqliteStore {
            pool,
            writer: Arc::new(tokio::sync::Mutex::new(())),
            path: path.to_owned(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// A database in memory only (`iamd serve --ephemeral`): one connection that the
    /// pool never closes (the database lives as long as it), nothing on disk.
    pub async fn open_memory() -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .journal_mode(SqliteJournalMode::Memory)
            .synchronous(SqliteSynchronous::Off)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "opening sqlite in memory".into()))?;
        let store = SqliteStore {
            pool,
            writer: Arc::new(tokio::sync::Mutex::new(())),
            path: PathBuf::new(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes every connection (checkpointing the WAL). Later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let _w = self.writer.lock().await;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| StoreError::Migration(format!("{e}")))?;
        migrate!(tx, Backend::Sqlite)
    }

    /// See [`crate::Store::load_in`].
    pub async fn load_in(&self, account: Option<&str>) -> Result<Snapshot, StoreError> {
        let scope = account.unwrap_or("");
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "load: begin".into()))?;
        load_snapshot!(tx, scope)
    }

    /// See [`crate::Store::apply_logged`].
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
        let _w = self.writer.lock().await;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "apply: begin".into()))?;
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

    /// See [`crate::Store::load_all`].
    pub async fn load_all(&self) -> Result<Everything, StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "load: begin".into()))?;
        load_all!(tx)
    }
}

impl crate::Store for SqliteStore {
    async fn load_in(&self, account: Option<&str>) -> Result<Snapshot, StoreError> {
        SqliteStore::load_in(self, account).await
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
        SqliteStore::apply_logged(self, account, changes, expect).await
    }
    async fn log_since(&self, after: Seq, limit: i64) -> Result<Vec<LogEntry>, StoreError> {
        log_since!(&self.pool, after, limit)
    }
    async fn log_head(&self) -> Result<Seq, StoreError> {
        SqliteStore::log_head(self).await
    }
    async fn prune_log(&self, through: Seq) -> Result<(), StoreError> {
        let _w = self.writer.lock().await;
        sqlx::query(crate::log::PRUNE)
            .bind(through)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "change log: prune".into()))
            .map(|_| ())
    }
    async fn load_all(&self) -> Result<Everything, StoreError> {
        SqliteStore::load_all(self).await
    }
}

/// Creates the database file empty (SQLite takes an empty file for a new database)
/// with mode 0600 whatever the umask, before SQLite opens it: SQLite creates the
/// `-wal` and `-shm` files with the database file's mode, so they are 0600 too. An
/// existing file is left as it is.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(f) => f.set_permissions(std::fs::Permissions::from_mode(0o600)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// Every pooled connection runs with the pragmas the durability and integrity
    /// contract depends on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_have_the_contract_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_dir(dir.path()).await.unwrap();
        assert_eq!(store.path(), dir.path().join("iamd.db"));
        // Hold several connections at once so more than one is checked.
        let mut conns = Vec::new();
        for _ in 0..POOL_SIZE {
            conns.push(store.pool.acquire().await.unwrap());
        }
        for conn in &mut conns {
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(journal, "wal");
            assert_eq!(sync, 2, "synchronous=FULL");
            assert_eq!(fk, 1, "foreign_keys=ON");
            assert_eq!(busy, BUSY_TIMEOUT.as_millis() as i64);
        }
    }

    /// The database and its `-wal`/`-shm` files are created readable by the owner
    /// only, whatever the umask grants (typically 0644).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn database_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_dir(dir.path()).await.unwrap();
        for name in ["iamd.db", "iamd.db-wal", "iamd.db-shm"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
        }
        store.close().await;
    }
}
