//! One type for "whichever store the configuration named".

use std::path::Path;

use crate::{Change, Everything, LogEntry, PostgresStore, Seq, Snapshot, SqliteStore, StoreError};

/// The store chosen at startup; implements [`crate::Store`] by delegation.
#[derive(Debug, Clone)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl AnyStore {
    /// Opens the store named by `url` and brings its schema up to date:
    /// - `sqlite:///abs/path/iamd.db` (or `sqlite://relative/path.db`, `sqlite:path.db`):
    ///   the file is created if missing, with its parent directories;
    /// - `postgres://user:password@host:port/database` (also `postgresql://`).
    pub async fn open(url: &str) -> Result<AnyStore, StoreError> {
        match parse_url(url)? {
            Target::Sqlite(path) => Ok(AnyStore::Sqlite(SqliteStore::open(path).await?)),
            Target::Postgres => Ok(AnyStore::Postgres(PostgresStore::open(url).await?)),
        }
    }

    /// Opens the embedded default, `<data_dir>/iamd.db`.
    pub async fn open_dir(data_dir: &Path) -> Result<AnyStore, StoreError> {
        Ok(AnyStore::Sqlite(SqliteStore::open_dir(data_dir).await?))
    }

    /// An in-memory SQLite store (nothing on disk; gone when the last clone drops).
    pub async fn open_memory() -> Result<AnyStore, StoreError> {
        Ok(AnyStore::Sqlite(SqliteStore::open_memory().await?))
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection. Later calls fail.
    pub async fn close(&self) {
        match self {
            AnyStore::Sqlite(s) => s.close().await,
            AnyStore::Postgres(s) => s.close().await,
        }
    }
}

impl crate::Store for AnyStore {
    async fn load_in(&self, account: Option<&str>) -> Result<Snapshot, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.load_in(account).await,
            AnyStore::Postgres(s) => s.load_in(account).await,
        }
    }
    async fn apply_in(&self, account: Option<&str>, changes: &[Change]) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => crate::Store::apply_in(s, account, changes).await,
            AnyStore::Postgres(s) => crate::Store::apply_in(s, account, changes).await,
        }
    }
    async fn other_accounts(&self) -> Result<Vec<crate::AccountRecord>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => crate::Store::other_accounts(s).await,
            AnyStore::Postgres(s) => crate::Store::other_accounts(s).await,
        }
    }
    async fn apply_logged(
        &self,
        account: Option<&str>,
        changes: &[Change],
        expect: Option<Seq>,
    ) -> Result<Seq, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.apply_logged(account, changes, expect).await,
            AnyStore::Postgres(s) => s.apply_logged(account, changes, expect).await,
        }
    }
    async fn log_since(&self, after: Seq, limit: i64) -> Result<Vec<LogEntry>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => crate::Store::log_since(s, after, limit).await,
            AnyStore::Postgres(s) => crate::Store::log_since(s, after, limit).await,
        }
    }
    async fn log_head(&self) -> Result<Seq, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.log_head().await,
            AnyStore::Postgres(s) => s.log_head().await,
        }
    }
    async fn prune_log(&self, through: Seq) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => crate::Store::prune_log(s, through).await,
            AnyStore::Postgres(s) => crate::Store::prune_log(s, through).await,
        }
    }
    async fn load_all(&self) -> Result<Everything, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.load_all().await,
            AnyStore::Postgres(s) => s.load_all().await,
        }
    }
    async fn listen(&self) -> Result<crate::log::Listener, StoreError> {
        match self {
            AnyStore::Sqlite(s) => crate::Store::listen(s).await,
            AnyStore::Postgres(s) => crate::Store::listen(s).await,
        }
    }
    fn shared(&self) -> bool {
        matches!(self, AnyStore::Postgres(_))
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    Sqlite(&'a Path),
    Postgres,
}

fn parse_url(url: &str) -> Result<Target<'_>, StoreError> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() || path == ":memory:" || path.starts_with(":memory:") {
            return Err(StoreError::InvalidUrl(format!(
                "{url}: a sqlite url needs a file path (sqlite:///path/to/iamd.db)"
            )));
        }
        if path.contains('?') {
            return Err(StoreError::InvalidUrl(format!(
                "{url}: sqlite urls take no parameters"
            )));
        }
        Ok(Target::Sqlite(Path::new(path)))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Target::Postgres)
    } else {
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        Err(StoreError::InvalidUrl(format!(
            "unknown scheme {scheme:?}: expected sqlite:///path/to/iamd.db or postgres://..."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls() {
        assert_eq!(
            parse_url("sqlite:///var/lib/iamd/iamd.db").ok(),
            Some(Target::Sqlite(Path::new("/var/lib/iamd/iamd.db")))
        );
        assert_eq!(
            parse_url("sqlite://data/iamd.db").ok(),
            Some(Target::Sqlite(Path::new("data/iamd.db")))
        );
        assert_eq!(
            parse_url("sqlite:iamd.db").ok(),
            Some(Target::Sqlite(Path::new("iamd.db")))
        );
        for bad in ["sqlite://", "sqlite::memory:", "sqlite:///x.db?mode=rwc"] {
            assert!(
                matches!(parse_url(bad), Err(StoreError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn postgres_and_unknown_urls() {
        assert_eq!(parse_url("postgres://u@h/db").ok(), Some(Target::Postgres));
        assert_eq!(
            parse_url("postgresql://u@h/db").ok(),
            Some(Target::Postgres)
        );
        for bad in ["mysql://u@h/db", "/var/lib/iamd.db", ""] {
            assert!(
                matches!(parse_url(bad), Err(StoreError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }
}
