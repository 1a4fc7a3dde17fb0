//! The one error type of the store.

/// What can go wrong in [`crate::Store::load`], [`crate::Store::apply`] and opening a store.
///
/// `Conflict`, `Reference` and `Missing` are the errors a correct service layer can still meet
/// (a racing writer on another node, or in this process); the rest are operational.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// A unique constraint refused a change (an id or name already taken, compared the
    /// way the schema compares it). The message names the change and the constraint.
    /// Nothing of the batch was written.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A foreign key refused a change: the change refers to a row that does not exist
    /// (e.g. a membership of a missing user), or deletes a row that others still refer
    /// to (e.g. a user that still has access keys or group memberships). Nothing of the
    /// batch was written.
    #[error("dangling reference: {0}")]
    Reference(String),
    /// A change deletes an entity (user, group, access key, role, instance profile,
    /// managed policy) that is not in the batch's account: gone already (a racing
    /// writer), or never there. Nothing of the batch was written.
    #[error("no such row: {0}")]
    Missing(String),
    /// The database failed (I/O, connection, pool timeout, bad SQL, ...).
    #[error("database error: {0}")]
    Database(String),
    /// [`crate::Store::apply_logged`] with an expected log position that is no longer
    /// the head: another node (or writer) committed first. Nothing was written; catch
    /// up with [`crate::Store::log_since`] and plan again.
    #[error("stale: the change log moved past {0}")]
    Stale(crate::Seq),
    /// A stored row does not decode into a record (unknown enum text, wrong type, ...).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The schema could not be brought up to date (or the database is newer than this
    /// binary).
    #[error("migration failed: {0}")]
    Migration(String),
    /// The store URL is not one [`crate::AnyStore::open`] understands.
    #[error("invalid store url: {0}")]
    InvalidUrl(String),
}

impl StoreError {
    /// Maps a sqlx error met while doing `what` (a short description of the change or
    /// step) to a store error, classifying constraint violations by sqlx's error kind.
    pub(crate) fn from_sqlx(err: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
        match &err {
            sqlx::Error::Database(db) => {
                let mut msg = format!("{}: {}", what(), db.message());
                if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                    if let Some(detail) = pg.detail() {
                        msg.push_str(" (");
                        msg.push_str(detail);
                        msg.push(')');
                    }
                    // The SQLSTATE, locale-independent (see `postgres::is_retryable`).
                    msg.push_str(" [SQLSTATE ");
                    msg.push_str(pg.code());
                    msg.push(']');
                } else if let Some(c) = db.constraint() {
                    msg.push_str(" (constraint ");
                    msg.push_str(c);
                    msg.push(')');
                }
                if db.is_unique_violation() {
                    StoreError::Conflict(msg)
                } else if db.is_foreign_key_violation() {
                    StoreError::Reference(msg)
                } else {
                    StoreError::Database(msg)
                }
            }
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::TypeNotFound { .. } => StoreError::Corrupt(format!("{}: {err}", what())),
            _ => StoreError::Database(format!("{}: {err}", what())),
        }
    }
}
