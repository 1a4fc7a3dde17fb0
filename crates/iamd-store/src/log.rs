//! The change log (schema 8): every committed write appends one entry, in the same
//! transaction, under a gapless monotonic sequence, so that other nodes sharing the
//! database apply the same changes in the same order.
//!
//! - `change_seq` is one row holding the last sequence. A writer takes the next number
//!   with `UPDATE change_seq SET last = last + 1 … RETURNING last`; the row lock is held
//!   until the writer commits, so numbers are taken in commit order and without gaps: a
//!   reader that sees entry `n` sees every entry before it.
//! - `change_log (seq, account, node, kind, body, at)`: `kind` is `batch` (body: the
//!   batch's [`Change`]s as JSON, serde's externally tagged encoding of the records;
//!   `account` is `''` for the first account) or `bucket` (body: a bucket name whose
//!   cached settings other nodes must drop). `node` names the writer (diagnostics).
//! - PostgreSQL notifies `iamd_changes` with the sequence as payload for every entry
//!   (a trigger of the migration; delivered at commit). SQLite writes the same log
//!   through the same code and never notifies.
//! - Entries older than the last [`LOG_KEEP`] are pruned by the writers (every
//!   [`PRUNE_EVERY`]th entry); a reader that finds the entry after its position gone
//!   reloads everything ([`crate::Store::load_all`]).

use crate::{AccountRecord, Change, Snapshot, StoreError};

/// A position in the change log (0: before the first entry).
pub type Seq = i64;

/// How many entries the log keeps.
pub const LOG_KEEP: Seq = 10_000;
/// Writers prune once every this many entries.
pub const PRUNE_EVERY: Seq = 500;

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub seq: Seq,
    /// The node that wrote it ([`crate::node_id`] of its process).
    pub node: String,
    pub change: Logged,
}

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logged {
    /// A committed batch of an account (`None`: the first account).
    Batch {
        account: Option<String>,
        changes: Vec<Change>,
    },
    /// A bucket's owner, policy or settings changed (or it was created or deleted).
    Bucket(String),
}

/// A batch's changes as the log stores them.
pub(crate) fn encode_batch(changes: &[Change]) -> Result<String, StoreError> {
    serde_json::to_string(changes)
        .map_err(|e| StoreError::Corrupt(format!("encoding a batch: {e}")))
}

impl Logged {
    pub(crate) fn decode(account: String, kind: &str, body: String) -> Result<Logged, StoreError> {
        match kind {
            "batch" => Ok(Logged::Batch {
                account: (!account.is_empty()).then_some(account),
                changes: serde_json::from_str(&body)
                    .map_err(|e| StoreError::Corrupt(format!("change log batch: {e}")))?,
            }),
            "bucket" => Ok(Logged::Bucket(body)),
            other => Err(StoreError::Corrupt(format!(
                "change log: unknown kind {other:?}"
            ))),
        }
    }
}

/// Everything the store holds, read in one transaction with the log position it is
/// current to ([`crate::Store::load_all`]).
#[derive(Debug, Clone, Default)]
pub struct Everything {
    pub head: Seq,
    pub first: Snapshot,
    pub others: Vec<(AccountRecord, Snapshot)>,
}

/// This process's name in the log: `pid@start-millis`, fixed at first use.
pub fn node_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| format!("{}@{}", std::process::id(), crate::schema::now_millis()))
}

pub(crate) const TAKE_SEQ: &str =
    "UPDATE change_seq SET last = last + 1 WHERE id = 1 RETURNING last";
pub(crate) const TAKE_SEQ_IF: &str =
    "UPDATE change_seq SET last = last + 1 WHERE id = 1 AND last = $1 RETURNING last";
pub(crate) const HEAD: &str = "SELECT last FROM change_seq WHERE id = 1";
pub(crate) const INSERT: &str =
    "INSERT INTO change_log (seq, account, node, kind, body, at) VALUES ($1, $2, $3, $4, $5, $6)";
pub(crate) const PRUNE: &str = "DELETE FROM change_log WHERE seq <= $1";
pub(crate) const SINCE: &str = "SELECT seq, account, node, kind, body FROM change_log \
     WHERE seq > $1 ORDER BY seq LIMIT $2";

/// Appends an entry (`$account`: `""` for the first; `$kind`: `"batch"` or `"bucket"`;
/// `$body`: its text) to the log on `$tx` (an open write transaction), evaluating to
/// its sequence; with `$expect` `Some(n)`, only if the log's head is `n`
/// (else returns `Err(StoreError::Stale(n))` from the enclosing function, whose dropped
/// transaction rolls back). The sequence row stays locked until the commit.
macro_rules! append_log {
    ($tx:expr, $expect:expr, $account:expr, $kind:expr, $body:expr) => {{
        let expect: Option<$crate::Seq> = $expect;
        let taken: Option<i64> = match expect {
            Some(n) => sqlx::query_scalar($crate::log::TAKE_SEQ_IF).bind(n),
            None => sqlx::query_scalar($crate::log::TAKE_SEQ),
        }
        .fetch_optional(&mut *$tx)
        .await
        .map_err(|e| $crate::StoreError::from_sqlx(e, || "change log: sequence".into()))?;
        let Some(seq) = taken else {
            return Err(match expect {
                Some(n) => $crate::StoreError::Stale(n),
                None => $crate::StoreError::Corrupt("change_seq has no row".into()),
            });
        };
        let (account, kind, body): (&str, &str, String) = ($account, $kind, $body);
        sqlx::query($crate::log::INSERT)
            .bind(seq)
            .bind(account)
            .bind($crate::node_id())
            .bind(kind)
            .bind(body)
            .bind($crate::schema::now_millis())
            .execute(&mut *$tx)
            .await
            .map_err(|e| $crate::StoreError::from_sqlx(e, || "change log: append".into()))?;
        if seq % $crate::log::PRUNE_EVERY == 0 {
            sqlx::query($crate::log::PRUNE)
                .bind(seq - $crate::log::LOG_KEEP)
                .execute(&mut *$tx)
                .await
                .map_err(|e| $crate::StoreError::from_sqlx(e, || "change log: prune".into()))?;
        }
        seq
    }};
}
pub(crate) use append_log;

/// The entries after `$after` on `$pool`, at most `$limit`, in sequence order.
macro_rules! log_since {
    ($pool:expr, $after:expr, $limit:expr) => {{
        let rows = sqlx::query($crate::log::SINCE)
            .bind($after)
            .bind($limit)
            .fetch_all($pool)
            .await
            .map_err(|e| $crate::StoreError::from_sqlx(e, || "change log: read".into()))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            use $crate::decode::Cells;
            let kind = r.text(3)?;
            out.push($crate::LogEntry {
                seq: r.int(0)?,
                node: r.text(2)?,
                change: $crate::Logged::decode(r.text(1)?, &kind, r.text(4)?)?,
            });
        }
        Ok(out)
    }};
}
pub(crate) use log_since;

/// Everything the store holds and the log head, read on `$tx` (an open read
/// transaction that sees one snapshot), which it ends.
macro_rules! load_all {
    ($tx:ident) => {{
        let head: i64 = sqlx::query_scalar($crate::log::HEAD)
            .fetch_one(&mut *$tx)
            .await
            .map_err(|e| $crate::StoreError::from_sqlx(e, || "load: log head".into()))?;
        let first = $crate::backend::fetch_tables!($tx, "");
        let rows = sqlx::query($crate::sql::LOAD_OTHER_ACCOUNTS)
            .fetch_all(&mut *$tx)
            .await
            .map_err(|e| $crate::StoreError::from_sqlx(e, || "load accounts".into()))?;
        let mut accounts = $crate::decode::all(&rows, $crate::decode::account)?;
        accounts.sort_by(|a, b| a.id.cmp(&b.id));
        let mut others = Vec::with_capacity(accounts.len());
        for a in accounts {
            let t = $crate::backend::fetch_tables!($tx, a.id.as_str());
            others.push((a, t));
        }
        $tx.commit()
            .await
            .map_err(|e| $crate::StoreError::from_sqlx(e, || "load: end".into()))?;
        let mut all = $crate::Everything {
            head,
            first: $crate::backend::snapshot(first)?,
            others: Vec::with_capacity(others.len()),
        };
        for (a, t) in others {
            all.others.push((a, $crate::backend::snapshot(t)?));
        }
        Ok(all)
    }};
}
pub(crate) use load_all;

/// Wakes a log reader when an entry is committed ([`crate::Store::listen`]).
pub struct Listener {
    pg: Option<sqlx::postgres::PgListener>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("postgres", &self.pg.is_some())
            .finish()
    }
}

/// Why [`Listener::wait`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// An entry was committed (its sequence, if the payload parsed).
    Notified(Option<Seq>),
    /// Nothing within the wait.
    Timeout,
    /// The connection was lost (and is being re-established): notifications may have
    /// been missed.
    Lost,
    /// Listening failed (the database is unreachable); the wait was spent.
    Failed(String),
}

impl Listener {
    /// No notifications: every wait times out.
    pub fn none() -> Listener {
        Listener { pg: None }
    }

    pub(crate) async fn postgres(pool: &sqlx::PgPool) -> Result<Listener, StoreError> {
        let mut l = sqlx::postgres::PgListener::connect_with(pool)
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "listen: connect".into()))?;
        l.listen(crate::postgres::NOTIFY_CHANNEL)
            .await
            .map_err(|e| StoreError::from_sqlx(e, || "listen".into()))?;
        Ok(Listener { pg: Some(l) })
    }

    /// Waits at most `max` for a notification.
    pub async fn wait(&mut self, max: std::time::Duration) -> Wake {
        let Some(l) = &mut self.pg else {
            tokio::time::sleep(max).await;
            return Wake::Timeout;
        };
        let deadline = tokio::time::Instant::now() + max;
        match tokio::time::timeout_at(deadline, l.try_recv()).await {
            Err(_) => Wake::Timeout,
            Ok(Ok(Some(n))) => Wake::Notified(n.payload().parse().ok()),
            Ok(Ok(None)) => Wake::Lost,
            Ok(Err(e)) => {
                tokio::time::sleep_until(deadline).await;
                Wake::Failed(e.to_string())
            }
        }
    }
}
