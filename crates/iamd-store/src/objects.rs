//! S3 metadata: buckets, bucket policies and settings, objects, object tags, multipart
//! uploads and parts — the second interface of this crate, [`ObjectMeta`].
//!
//! Unlike IAM state this is unbounded, so it is queried, never loaded whole: objects
//! are listed by prefix and start-after with a limit, in UTF-8 byte order of the key
//! (both engines: `COLLATE "C"` on PostgreSQL, SQLite's BINARY).
//!
//! Contract:
//! - The store never sees object bytes: an object or part names its bytes by
//!   `blob_id` (a generated id; the caller owns the files). Every call that replaces
//!   or removes rows returns the `blob_id`s no row references any more, for the caller
//!   to delete **after** the call returned (so a crash leaves orphan files, removed at
//!   startup with [`ObjectMeta::all_blob_ids`], never a row without its file).
//! - Each call is one transaction; an acknowledged write is durable (same settings as
//!   [`crate::Store::apply`]).
//! - `metadata` and `tagging` are opaque texts chosen by the caller.
//! - Versions (schema 9): a key has one or more versions, at most one current; a
//!   delete marker is a version without bytes. The writes apply S3's rule for the
//!   bucket's versioning state as read in their own transaction, and check their
//!   [`Precondition`] there; writers of one key are serialized (SQLite: the one writer;
//!   PostgreSQL: a transaction-scoped advisory lock on the key), so a conditional write
//!   is atomic.

use std::future::Future;

use crate::{Millis, PostgresStore, SqliteStore, StoreError, TrustBinding};

/// A bucket policy as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketPolicy {
    /// The document exactly as the client sent it.
    pub document: String,
    /// The user and role ARNs it names, with their unique ids at save time (AWS's
    /// binding, as for a role's trust policy). `None`: saved by a build that did not
    /// keep them.
    pub bindings: Option<Vec<TrustBinding>>,
}

/// The bucket-settings kind holding a policy's bindings (written with the policy).
const POLICY_BINDINGS: &str = "policy-bindings";

/// A bucket's versioning state. A bucket starts unversioned; once versioning was
/// enabled it is `Enabled` or `Suspended`, never unversioned again (S3's rule; the
/// service refuses the change, the store records what it is told).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Versioning {
    #[default]
    Unversioned,
    Enabled,
    Suspended,
}

impl Versioning {
    fn column(self) -> Option<&'static str> {
        match self {
            Versioning::Unversioned => None,
            Versioning::Enabled => Some("Enabled"),
            Versioning::Suspended => Some("Suspended"),
        }
    }

    fn from_column(s: Option<&str>) -> Result<Versioning, StoreError> {
        match s {
            None => Ok(Versioning::Unversioned),
            Some("Enabled") => Ok(Versioning::Enabled),
            Some("Suspended") => Ok(Versioning::Suspended),
            Some(other) => Err(StoreError::Corrupt(format!(
                "s3_buckets: unknown versioning {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketRecord {
    pub name: String,
    pub owner_account: String,
    pub created: Millis,
    pub versioning: Versioning,
}

/// The id of the null version: the version of an object written while its bucket was
/// unversioned or versioning was suspended.
pub const NULL_VERSION: &str = "null";

/// One version of an object (not a delete marker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    pub bucket: String,
    pub key: String,
    /// [`NULL_VERSION`] for the null version. On a write: the id this version gets if
    /// the bucket's versioning is `Enabled` (the store uses the null version
    /// otherwise); it must be new.
    pub version_id: String,
    /// Whether this is the key's current version (read back; a write makes the
    /// version it writes current whatever this says).
    pub latest: bool,
    pub blob_id: String,
    pub size: i64,
    pub etag: String,
    pub content_type: Option<String>,
    pub metadata: String,
    pub last_modified: Millis,
}

/// A delete marker: a version without content, added by a DELETE without a version
/// id on a versioned bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteMarkerRecord {
    pub bucket: String,
    pub key: String,
    pub version_id: String,
    pub latest: bool,
    pub last_modified: Millis,
}

/// A version of a key: an object version or a delete marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    Object(ObjectRecord),
    DeleteMarker(DeleteMarkerRecord),
}

impl Version {
    pub fn key(&self) -> &str {
        match self {
            Version::Object(o) => &o.key,
            Version::DeleteMarker(m) => &m.key,
        }
    }

    pub fn version_id(&self) -> &str {
        match self {
            Version::Object(o) => &o.version_id,
            Version::DeleteMarker(m) => &m.version_id,
        }
    }

    pub fn latest(&self) -> bool {
        match self {
            Version::Object(o) => o.latest,
            Version::DeleteMarker(m) => m.latest,
        }
    }
}

/// What a write requires of the key's current version, checked in the write's
/// transaction (S3's conditional writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition<'a> {
    Always,
    /// `If-None-Match: *`: no current object (none, or a delete marker).
    IfAbsent,
    /// `If-Match`: the current object has this ETag (quotes ignored).
    IfMatch(&'a str),
}

/// Outcome of [`ObjectMeta::put_object`] and [`ObjectMeta::complete_upload`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    Written(Written),
    /// The precondition did not hold (nothing written).
    PreconditionFailed,
    /// `IfMatch` and there is no current object (nothing written).
    NoSuchKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The id of the version written.
    pub version_id: String,
    /// The bucket is versioned (`Enabled` or `Suspended`): S3 then names versions
    /// in its answers.
    pub versioned: bool,
    /// Blobs no row references any more (a replaced null version; a completed
    /// upload's parts), for the caller to delete.
    pub unused: Vec<String>,
}

/// Outcome of [`ObjectMeta::delete_object`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Deleted {
    /// The version removed, or the delete marker added; `None` when an unversioned
    /// bucket's object was deleted (or there was none).
    pub version_id: Option<String>,
    /// A delete marker was added, or the version removed was one.
    pub delete_marker: bool,
    /// The blob no row references any more, for the caller to delete.
    pub unused: Option<String>,
    pub versioned: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    pub upload_id: String,
    pub bucket: String,
    pub key: String,
    pub created: Millis,
    pub content_type: Option<String>,
    pub metadata: String,
    pub tagging: Option<String>,
    /// The additional checksum algorithm (`CRC32`, …) chosen at creation, if any.
    pub checksum_algorithm: Option<String>,
    /// `COMPOSITE` or `FULL_OBJECT`, with `checksum_algorithm`.
    pub checksum_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRecord {
    pub upload_id: String,
    pub part_number: i64,
    pub blob_id: String,
    pub size: i64,
    pub etag: String,
    pub last_modified: Millis,
    /// The part's checksum (base64) in its upload's algorithm, if it has one.
    pub checksum: Option<String>,
}

/// `(key, value)` pairs, sorted by key.
pub type Tags = Vec<(String, String)>;

/// Outcome of [`ObjectMeta::delete_bucket`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteBucket {
    /// Deleted, with its unfinished multipart uploads (aborted, as S3 does): the blobs
    /// of their parts, for the caller to delete.
    Deleted(Vec<String>),
    NoSuchBucket,
    /// Objects remain.
    NotEmpty,
}

/// S3 metadata queries and writes. Implemented by [`SqliteStore`], [`PostgresStore`]
/// and [`crate::AnyStore`].
pub trait ObjectMeta: Send + Sync + 'static {
    fn list_buckets(&self) -> impl Future<Output = Result<Vec<BucketRecord>, StoreError>> + Send;
    fn get_bucket(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<BucketRecord>, StoreError>> + Send;
    /// [`StoreError::Conflict`] if the name exists.
    fn create_bucket(
        &self,
        bucket: &BucketRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes the bucket (its policy, its settings, and its unfinished multipart
    /// uploads with their parts) only if it holds no object.
    fn delete_bucket(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<DeleteBucket, StoreError>> + Send;
    /// The policy and its principal bindings, read together (one statement).
    fn get_bucket_policy(
        &self,
        bucket: &str,
    ) -> impl Future<Output = Result<Option<BucketPolicy>, StoreError>> + Send;
    /// A policy (document, bindings) or `None` (deletes both), in one transaction.
    /// [`StoreError::Reference`] if the bucket is missing.
    fn set_bucket_policy(
        &self,
        bucket: &str,
        policy: Option<(&str, &[TrustBinding])>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Stores `bindings` for a policy stored without them (by an older build), only if
    /// the bucket's policy is still `document` and still has none (else nothing: a
    /// newer policy, or another node's bindings, stand).
    fn bind_bucket_policy(
        &self,
        bucket: &str,
        document: &str,
        bindings: &[TrustBinding],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A bucket setting of `kind` (a name the caller chooses: `tagging`, `cors`, …).
    fn get_bucket_setting(
        &self,
        bucket: &str,
        kind: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// `None` deletes. [`StoreError::Reference`] if the bucket is missing.
    fn set_bucket_setting(
        &self,
        bucket: &str,
        kind: &str,
        document: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Sets the bucket's versioning state; `false` if the bucket is missing.
    fn set_bucket_versioning(
        &self,
        bucket: &str,
        state: Versioning,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The key's current version (`version: None`; it may be a delete marker) or the
    /// version of that id.
    fn get_object(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> impl Future<Output = Result<Option<Version>, StoreError>> + Send;
    /// Writes a new current version of the object with its tags, as S3 does for the
    /// bucket's versioning state (read in the same transaction): unversioned or
    /// suspended, it replaces the null version; enabled, it adds `object.version_id`.
    /// `when` is checked against the current version first.
    /// [`StoreError::Reference`] if the bucket is missing.
    fn put_object(
        &self,
        object: &ObjectRecord,
        tags: &[(String, String)],
        when: Precondition<'_>,
    ) -> impl Future<Output = Result<Put, StoreError>> + Send;
    /// `version: Some(id)` removes that version (a delete marker too; the next newest
    /// becomes current). `None` deletes as S3 does for the bucket's versioning state:
    /// unversioned, the object goes; enabled, a delete marker `marker_id` becomes
    /// current; suspended, a null delete marker replaces the null version.
    /// [`StoreError::Reference`] if the bucket is missing.
    fn delete_object(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        marker_id: &str,
    ) -> impl Future<Output = Result<Deleted, StoreError>> + Send;
    /// [`ObjectMeta::delete_object`] without a version, only if the current version
    /// still names `blob_id` (a lifecycle expiration must not remove a newer object
    /// of the same key); `None` if it does not.
    fn delete_object_if_blob(
        &self,
        bucket: &str,
        key: &str,
        blob_id: &str,
        marker_id: &str,
    ) -> impl Future<Output = Result<Option<Deleted>, StoreError>> + Send;
    /// Current objects (not delete markers) with `key` starting with `prefix` and
    /// `key > after`, in byte order, at most `limit`.
    fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ObjectRecord>, StoreError>> + Send;
    /// Versions and delete markers of the keys starting with `prefix`, by key (byte
    /// order) then newest first, at most `limit`: after `after_key`'s version
    /// `after_version` (its older versions, then the next keys) or, without a version
    /// (or one that is gone), after the key.
    fn list_versions(
        &self,
        bucket: &str,
        prefix: &str,
        after_key: &str,
        after_version: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Version>, StoreError>> + Send;
    /// The tags of the version (`None`: the current version).
    fn get_object_tags(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> impl Future<Output = Result<Tags, StoreError>> + Send;
    /// Replaces the tags of the version (`None`: the current version); the id of the
    /// version tagged, `None` if there is no such object version.
    fn set_object_tags(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    fn create_upload(
        &self,
        upload: &UploadRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn get_upload(
        &self,
        upload_id: &str,
    ) -> impl Future<Output = Result<Option<UploadRecord>, StoreError>> + Send;
    /// Uploads of `bucket` whose key starts with `prefix`, by (key, upload id).
    fn list_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<UploadRecord>, StoreError>> + Send;
    /// Inserts or replaces a part; returns the replaced blob.
    /// [`StoreError::Reference`] if the upload is gone.
    fn put_part(
        &self,
        part: &PartRecord,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Parts with `part_number > after`, in order, at most `limit`.
    fn list_parts(
        &self,
        upload_id: &str,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PartRecord>, StoreError>> + Send;
    /// Removes the upload and its parts; returns the parts' blobs (`None`: no such
    /// upload).
    fn delete_upload(
        &self,
        upload_id: &str,
    ) -> impl Future<Output = Result<Option<Vec<String>>, StoreError>> + Send;
    /// In one transaction: removes the upload and its parts and puts `object` as
    /// [`ObjectMeta::put_object`] does (the parts' blobs are among the unused ones),
    /// or `None` if the upload was gone (nothing written). A failed precondition
    /// leaves the upload.
    fn complete_upload(
        &self,
        upload_id: &str,
        object: &ObjectRecord,
        tags: &[(String, String)],
        when: Precondition<'_>,
    ) -> impl Future<Output = Result<Option<Put>, StoreError>> + Send;

    /// Every blob id referenced by an object or a part.
    fn all_blob_ids(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

const BUCKET_COLS: &str = "name, owner_account, created, versioning";
const OBJ_COLS: &str =
    "bucket, object_key, version_id, latest, blob_id, size, etag, content_type, \
     metadata, last_modified";
const UPLOAD_COLS: &str =
    "upload_id, bucket, object_key, created, content_type, metadata, tagging, \
     checksum_algorithm, checksum_type";
const PART_COLS: &str = "upload_id, part_number, blob_id, size, etag, last_modified, checksum";

fn bucket(r: &impl crate::decode::Cells) -> Result<BucketRecord, StoreError> {
    Ok(BucketRecord {
        name: r.text(0)?,
        owner_account: r.text(1)?,
        created: r.int(2)?,
        versioning: Versioning::from_column(r.opt_text(3)?.as_deref())?,
    })
}

/// A row of [`OBJ_COLS`]: a delete marker has no blob.
fn version(r: &impl crate::decode::Cells) -> Result<Version, StoreError> {
    let latest = r.int(3)? != 0;
    Ok(match r.opt_text(4)? {
        None => Version::DeleteMarker(DeleteMarkerRecord {
            bucket: r.text(0)?,
            key: r.text(1)?,
            version_id: r.text(2)?,
            latest,
            last_modified: r.int(9)?,
        }),
        Some(blob_id) => Version::Object(ObjectRecord {
            bucket: r.text(0)?,
            key: r.text(1)?,
            version_id: r.text(2)?,
            latest,
            blob_id,
            size: r.int(5)?,
            etag: r.text(6)?,
            content_type: r.opt_text(7)?,
            metadata: r.text(8)?,
            last_modified: r.int(9)?,
        }),
    })
}

fn obj(r: &impl crate::decode::Cells) -> Result<ObjectRecord, StoreError> {
    match version(r)? {
        Version::Object(o) => Ok(o),
        Version::DeleteMarker(m) => Err(StoreError::Corrupt(format!(
            "s3_objects: {}/{} is a delete marker",
            m.bucket, m.key
        ))),
    }
}

/// Whether `when` lets a write replace `current`: `None` if so, else the answer.
fn precondition(when: Precondition<'_>, current: Option<&Version>) -> Option<Put> {
    let current = match current {
        Some(Version::Object(o)) => Some(o),
        _ => None,
    };
    match (when, current) {
        (Precondition::Always, _) | (Precondition::IfAbsent, None) => None,
        (Precondition::IfAbsent, Some(_)) => Some(Put::PreconditionFailed),
        (Precondition::IfMatch(_), None) => Some(Put::NoSuchKey),
        (Precondition::IfMatch(e), Some(o)) => {
            (o.etag.trim_matches('"') != e.trim_matches('"')).then_some(Put::PreconditionFailed)
        }
    }
}

/// The advisory lock PostgreSQL writers of one key take (FNV-1a of bucket and key:
/// the same on every node and binary), so that reading the current version and
/// writing the next one is atomic per key. SQLite's writers are serialized anyway.
fn key_lock(bucket: &str, key: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bucket.bytes().chain([0]).chain(key.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

fn upload(r: &impl crate::decode::Cells) -> Result<UploadRecord, StoreError> {
    Ok(UploadRecord {
        upload_id: r.text(0)?,
        bucket: r.text(1)?,
        key: r.text(2)?,
        created: r.int(3)?,
        content_type: r.opt_text(4)?,
        metadata: r.text(5)?,
        tagging: r.opt_text(6)?,
        checksum_algorithm: r.opt_text(7)?,
        checksum_type: r.opt_text(8)?,
    })
}

fn part(r: &impl crate::decode::Cells) -> Result<PartRecord, StoreError> {
    Ok(PartRecord {
        upload_id: r.text(0)?,
        part_number: r.int(1)?,
        blob_id: r.text(2)?,
        size: r.int(3)?,
        etag: r.text(4)?,
        last_modified: r.int(5)?,
        checksum: r.opt_text(6)?,
    })
}

fn db(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| StoreError::from_sqlx(e, || what.to_string())
}

/// The shared body of both implementations; `$begin_write` opens a write
/// transaction (binding any guard it needs to the given name).
macro_rules! object_meta_impl {
    ($store:ty, $pg:expr, |$s:ident, $guard:ident| $begin_write:expr) => {
        impl ObjectMeta for $store {
            async fn list_buckets(&self) -> Result<Vec<BucketRecord>, StoreError> {
                let sql = format!("SELECT {BUCKET_COLS} FROM s3_buckets ORDER BY name");
                let rows = sqlx::query(&sql)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("list buckets"))?;
                rows.iter().map(bucket).collect()
            }

            async fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>, StoreError> {
                let sql = format!("SELECT {BUCKET_COLS} FROM s3_buckets WHERE name = $1");
                let row = sqlx::query(&sql)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("get bucket"))?;
                row.as_ref().map(bucket).transpose()
            }

            async fn create_bucket(&self, b: &BucketRecord) -> Result<(), StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                sqlx::query(
                    "INSERT INTO s3_buckets (name, owner_account, created, versioning)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&b.name)
                .bind(&b.owner_account)
                .bind(b.created)
                .bind(b.versioning.column())
                .execute(&mut *tx)
                .await
                .map_err(db("create bucket"))?;
                crate::log::append_log!(tx, None, "", "bucket", (&b.name).to_string());
                tx.commit().await.map_err(db("create bucket: commit"))
            }

            async fn delete_bucket(&self, name: &str) -> Result<DeleteBucket, StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                let exists = sqlx::query("SELECT 1 FROM s3_buckets WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("delete bucket"))?;
                if exists.is_none() {
                    return Ok(DeleteBucket::NoSuchBucket);
                }
                let used = sqlx::query("SELECT 1 FROM s3_objects WHERE bucket = $1 LIMIT 1")
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("delete bucket"))?;
                if used.is_some() {
                    return Ok(DeleteBucket::NotEmpty);
                }
                let part_blobs: Vec<String> = sqlx::query_scalar(
                    "SELECT blob_id FROM s3_parts WHERE upload_id IN
                     (SELECT upload_id FROM s3_uploads WHERE bucket = $1)",
                )
                .bind(name)
                .fetch_all(&mut *tx)
                .await
                .map_err(db("delete bucket"))?;
                for sql in [
                    "DELETE FROM s3_parts WHERE upload_id IN
                     (SELECT upload_id FROM s3_uploads WHERE bucket = $1)",
                    "DELETE FROM s3_uploads WHERE bucket = $1",
                    "DELETE FROM s3_bucket_policies WHERE bucket = $1",
                    "DELETE FROM s3_bucket_settings WHERE bucket = $1",
                    "DELETE FROM s3_buckets WHERE name = $1",
                ] {
                    sqlx::query(sql)
                        .bind(name)
                        .execute(&mut *tx)
                        .await
                        .map_err(db("delete bucket"))?;
                }
                crate::log::append_log!(tx, None, "", "bucket", (name).to_string());
                tx.commit().await.map_err(db("delete bucket: commit"))?;
                Ok(DeleteBucket::Deleted(part_blobs))
            }

            async fn get_bucket_policy(
                &self,
                bucket: &str,
            ) -> Result<Option<BucketPolicy>, StoreError> {
                let row: Option<(String, Option<String>)> = sqlx::query_as(
                    "SELECT p.document, s.document FROM s3_bucket_policies p
                     LEFT JOIN s3_bucket_settings s
                       ON s.bucket = p.bucket AND s.kind = $2
                     WHERE p.bucket = $1",
                )
                .bind(bucket)
                .bind(POLICY_BINDINGS)
                .fetch_optional(&self.pool)
                .await
                .map_err(db("get bucket policy"))?;
                let Some((document, bindings)) = row else {
                    return Ok(None);
                };
                let bindings = match bindings {
                    None => None,
                    Some(b) => Some(crate::decode_bindings(&b).ok_or_else(|| {
                        StoreError::Corrupt(format!("bad policy bindings of bucket {bucket}"))
                    })?),
                };
                Ok(Some(BucketPolicy {
                    document,
                    bindings,
                }))
            }

            async fn set_bucket_policy(
                &self,
                bucket: &str,
                policy: Option<(&str, &[TrustBinding])>,
            ) -> Result<(), StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                sqlx::query("DELETE FROM s3_bucket_policies WHERE bucket = $1")
                    .bind(bucket)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("set bucket policy"))?;
                sqlx::query("DELETE FROM s3_bucket_settings WHERE bucket = $1 AND kind = $2")
                    .bind(bucket)
                    .bind(POLICY_BINDINGS)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("set bucket policy"))?;
                if let Some((doc, bindings)) = policy {
                    sqlx::query("INSERT INTO s3_bucket_policies (bucket, document) VALUES ($1, $2)")
                        .bind(bucket)
                        .bind(doc)
                        .execute(&mut *tx)
                        .await
                        .map_err(db("set bucket policy"))?;
                    sqlx::query(
                        "INSERT INTO s3_bucket_settings (bucket, kind, document) VALUES ($1, $2, $3)",
                    )
                    .bind(bucket)
                    .bind(POLICY_BINDINGS)
                    .bind(crate::encode_bindings(bindings))
                    .execute(&mut *tx)
                    .await
                    .map_err(db("set bucket policy"))?;
                }
                crate::log::append_log!(tx, None, "", "bucket", (bucket).to_string());
                tx.commit().await.map_err(db("set bucket policy: commit"))
            }

            async fn bind_bucket_policy(
                &self,
                bucket: &str,
                document: &str,
                bindings: &[TrustBinding],
            ) -> Result<(), StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                sqlx::query(
                    "INSERT INTO s3_bucket_settings (bucket, kind, document)
                     SELECT $1, $2, $3 WHERE EXISTS
                       (SELECT 1 FROM s3_bucket_policies WHERE bucket = $1 AND document = $4)
                     ON CONFLICT (bucket, kind) DO NOTHING",
                )
                .bind(bucket)
                .bind(POLICY_BINDINGS)
                .bind(crate::encode_bindings(bindings))
                .bind(document)
                .execute(&mut *tx)
                .await
                .map_err(db("bind bucket policy"))?;
                tx.commit().await.map_err(db("bind bucket policy: commit"))
            }

            async fn get_bucket_setting(
                &self,
                bucket: &str,
                kind: &str,
            ) -> Result<Option<String>, StoreError> {
                sqlx::query_scalar(
                    "SELECT document FROM s3_bucket_settings WHERE bucket = $1 AND kind = $2",
                )
                .bind(bucket)
                .bind(kind)
                .fetch_optional(&self.pool)
                .await
                .map_err(db("get bucket setting"))
            }

            async fn set_bucket_setting(
                &self,
                bucket: &str,
                kind: &str,
                document: Option<&str>,
            ) -> Result<(), StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                sqlx::query("DELETE FROM s3_bucket_settings WHERE bucket = $1 AND kind = $2")
                    .bind(bucket)
                    .bind(kind)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("set bucket setting"))?;
                if let Some(doc) = document {
                    sqlx::query(
                        "INSERT INTO s3_bucket_settings (bucket, kind, document) VALUES ($1, $2, $3)",
                    )
                    .bind(bucket)
                    .bind(kind)
                    .bind(doc)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("set bucket setting"))?;
                }
                crate::log::append_log!(tx, None, "", "bucket", (bucket).to_string());
                tx.commit().await.map_err(db("set bucket setting: commit"))
            }

            async fn set_bucket_versioning(
                &self,
                bucket: &str,
                state: Versioning,
            ) -> Result<bool, StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                let r = sqlx::query("UPDATE s3_buckets SET versioning = $1 WHERE name = $2")
                    .bind(state.column())
                    .bind(bucket)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("set bucket versioning"))?;
                // Other nodes cache the bucket's versioning state with its entry.
                crate::log::append_log!(tx, None, "", "bucket", (bucket).to_string());
                tx.commit().await.map_err(db("set bucket versioning: commit"))?;
                Ok(r.rows_affected() == 1)
            }

            async fn get_object(
                &self,
                bucket: &str,
                key: &str,
                version_id: Option<&str>,
            ) -> Result<Option<Version>, StoreError> {
                let row = match version_id {
                    None => {
                        let sql = format!(
                            "SELECT {OBJ_COLS} FROM s3_objects
                             WHERE bucket = $1 AND object_key = $2 AND latest = 1"
                        );
                        sqlx::query(&sql)
                            .bind(bucket)
                            .bind(key)
                            .fetch_optional(&self.pool)
                            .await
                    }
                    Some(v) => {
                        let sql = format!(
                            "SELECT {OBJ_COLS} FROM s3_objects
                             WHERE bucket = $1 AND object_key = $2 AND version_id = $3"
                        );
                        sqlx::query(&sql)
                            .bind(bucket)
                            .bind(key)
                            .bind(v)
                            .fetch_optional(&self.pool)
                            .await
                    }
                }
                .map_err(db("get object"))?;
                row.as_ref().map(version).transpose()
            }

            async fn put_object(
                &self,
                o: &ObjectRecord,
                tags: &[(String, String)],
                when: Precondition<'_>,
            ) -> Result<Put, StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                let out = put_object_in!(tx, $pg, o, tags, when);
                if matches!(out, Put::Written(_)) {
                    tx.commit().await.map_err(db("put object: commit"))?;
                }
                Ok(out)
            }

            async fn delete_object(
                &self,
                bucket: &str,
                key: &str,
                version_id: Option<&str>,
                marker_id: &str,
            ) -> Result<Deleted, StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                lock_key!(tx, $pg, bucket, key);
                let out = delete_object_in!(tx, bucket, key, version_id, marker_id);
                tx.commit().await.map_err(db("delete object: commit"))?;
                Ok(out)
            }

            async fn delete_object_if_blob(
                &self,
                bucket: &str,
                key: &str,
                blob_id: &str,
                marker_id: &str,
            ) -> Result<Option<Deleted>, StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                lock_key!(tx, $pg, bucket, key);
                let current = current_in!(tx, bucket, key);
                if !matches!(&current, Some(Version::Object(o)) if o.blob_id == blob_id) {
                    return Ok(None);
                }
                let out = delete_object_in!(tx, bucket, key, None::<&str>, marker_id);
                tx.commit().await.map_err(db("delete object: commit"))?;
                Ok(Some(out))
            }

            async fn list_objects(
                &self,
                bucket: &str,
                prefix: &str,
                after: &str,
                limit: u32,
            ) -> Result<Vec<ObjectRecord>, StoreError> {
                let sql = format!(
                    "SELECT {OBJ_COLS} FROM s3_objects
                     WHERE bucket = $1 AND latest = 1 AND blob_id IS NOT NULL
                       AND object_key > $2 AND object_key >= $3
                       AND substr(object_key, 1, length($3)) = $3
                     ORDER BY object_key LIMIT $4"
                );
                let rows = sqlx::query(&sql)
                    .bind(bucket)
                    .bind(after)
                    .bind(prefix)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("list objects"))?;
                rows.iter().map(obj).collect()
            }

            async fn list_versions(
                &self,
                bucket: &str,
                prefix: &str,
                after_key: &str,
                after_version: Option<&str>,
                limit: u32,
            ) -> Result<Vec<Version>, StoreError> {
                // Versions of `after_key` older than the marker's (none: seq >= 1).
                let mut older_than = 0i64;
                if let Some(v) = after_version {
                    let seq: Option<i64> = sqlx::query_scalar(
                        "SELECT seq FROM s3_objects
                         WHERE bucket = $1 AND object_key = $2 AND version_id = $3",
                    )
                    .bind(bucket)
                    .bind(after_key)
                    .bind(v)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("list versions"))?;
                    older_than = seq.unwrap_or(0);
                }
                let sql = format!(
                    "SELECT {OBJ_COLS} FROM s3_objects
                     WHERE bucket = $1
                       AND (object_key > $2 OR (object_key = $2 AND seq < $3))
                       AND object_key >= $4 AND substr(object_key, 1, length($4)) = $4
                     ORDER BY object_key, seq DESC LIMIT $5"
                );
                let rows = sqlx::query(&sql)
                    .bind(bucket)
                    .bind(after_key)
                    .bind(older_than)
                    .bind(prefix)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("list versions"))?;
                rows.iter().map(version).collect()
            }

            async fn get_object_tags(
                &self,
                bucket: &str,
                key: &str,
                version_id: Option<&str>,
            ) -> Result<Tags, StoreError> {
                let rows = match version_id {
                    None => {
                        sqlx::query(
                            "SELECT t.tag_key, t.tag_value FROM s3_object_tags t
                             JOIN s3_objects o ON o.bucket = t.bucket
                               AND o.object_key = t.object_key AND o.version_id = t.version_id
                             WHERE t.bucket = $1 AND t.object_key = $2 AND o.latest = 1
                             ORDER BY t.tag_key",
                        )
                        .bind(bucket)
                        .bind(key)
                        .fetch_all(&self.pool)
                        .await
                    }
                    Some(v) => {
                        sqlx::query(
                            "SELECT tag_key, tag_value FROM s3_object_tags
                             WHERE bucket = $1 AND object_key = $2 AND version_id = $3
                             ORDER BY tag_key",
                        )
                        .bind(bucket)
                        .bind(key)
                        .bind(v)
                        .fetch_all(&self.pool)
                        .await
                    }
                }
                .map_err(db("get object tags"))?;
                rows.iter()
                    .map(|r| {
                        use crate::decode::Cells;
                        Ok((r.text(0)?, r.text(1)?))
                    })
                    .collect()
            }

            async fn set_object_tags(
                &self,
                bucket: &str,
                key: &str,
                version_id: Option<&str>,
                tags: &[(String, String)],
            ) -> Result<Option<String>, StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                lock_key!(tx, $pg, bucket, key);
                let found = match version_id {
                    None => current_in!(tx, bucket, key),
                    Some(v) => version_in!(tx, bucket, key, v),
                };
                let Some(Version::Object(o)) = found else {
                    return Ok(None);
                };
                set_tags_in!(tx, bucket, key, &o.version_id, tags);
                tx.commit().await.map_err(db("set object tags: commit"))?;
                Ok(Some(o.version_id))
            }

            async fn create_upload(&self, u: &UploadRecord) -> Result<(), StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                let sql = format!(
                    "INSERT INTO s3_uploads ({UPLOAD_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                );
                sqlx::query(&sql)
                    .bind(&u.upload_id)
                    .bind(&u.bucket)
                    .bind(&u.key)
                    .bind(u.created)
                    .bind(&u.content_type)
                    .bind(&u.metadata)
                    .bind(&u.tagging)
                    .bind(&u.checksum_algorithm)
                    .bind(&u.checksum_type)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("create upload"))?;
                tx.commit().await.map_err(db("create upload: commit"))
            }

            async fn get_upload(&self, upload_id: &str) -> Result<Option<UploadRecord>, StoreError> {
                let sql = format!("SELECT {UPLOAD_COLS} FROM s3_uploads WHERE upload_id = $1");
                let row = sqlx::query(&sql)
                    .bind(upload_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("get upload"))?;
                row.as_ref().map(upload).transpose()
            }

            async fn list_uploads(
                &self,
                bucket: &str,
                prefix: &str,
                limit: u32,
            ) -> Result<Vec<UploadRecord>, StoreError> {
                let sql = format!(
                    "SELECT {UPLOAD_COLS} FROM s3_uploads
                     WHERE bucket = $1 AND substr(object_key, 1, length($2)) = $2
                     ORDER BY object_key, upload_id LIMIT $3"
                );
                let rows = sqlx::query(&sql)
                    .bind(bucket)
                    .bind(prefix)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("list uploads"))?;
                rows.iter().map(upload).collect()
            }

            async fn put_part(&self, p: &PartRecord) -> Result<Option<String>, StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                let old: Option<String> = sqlx::query_scalar(
                    "SELECT blob_id FROM s3_parts WHERE upload_id = $1 AND part_number = $2",
                )
                .bind(&p.upload_id)
                .bind(p.part_number)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db("put part"))?;
                sqlx::query("DELETE FROM s3_parts WHERE upload_id = $1 AND part_number = $2")
                    .bind(&p.upload_id)
                    .bind(p.part_number)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("put part"))?;
                let sql = format!("INSERT INTO s3_parts ({PART_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
                sqlx::query(&sql)
                    .bind(&p.upload_id)
                    .bind(p.part_number)
                    .bind(&p.blob_id)
                    .bind(p.size)
                    .bind(&p.etag)
                    .bind(p.last_modified)
                    .bind(&p.checksum)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("put part"))?;
                tx.commit().await.map_err(db("put part: commit"))?;
                Ok(old)
            }

            async fn list_parts(
                &self,
                upload_id: &str,
                after: i64,
                limit: u32,
            ) -> Result<Vec<PartRecord>, StoreError> {
                let sql = format!(
                    "SELECT {PART_COLS} FROM s3_parts WHERE upload_id = $1 AND part_number > $2
                     ORDER BY part_number LIMIT $3"
                );
                let rows = sqlx::query(&sql)
                    .bind(upload_id)
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("list parts"))?;
                rows.iter().map(part).collect()
            }

            async fn delete_upload(&self, upload_id: &str) -> Result<Option<Vec<String>>, StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                let blobs = delete_upload_in!(tx, upload_id);
                tx.commit().await.map_err(db("delete upload: commit"))?;
                Ok(blobs)
            }

            async fn complete_upload(
                &self,
                upload_id: &str,
                o: &ObjectRecord,
                tags: &[(String, String)],
                when: Precondition<'_>,
            ) -> Result<Option<Put>, StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                let exists = sqlx::query("SELECT 1 FROM s3_uploads WHERE upload_id = $1")
                    .bind(upload_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("complete upload"))?;
                if exists.is_none() {
                    return Ok(None);
                }
                let mut out = put_object_in!(tx, $pg, o, tags, when);
                let Put::Written(w) = &mut out else {
                    return Ok(Some(out));
                };
                if let Some(parts) = delete_upload_in!(tx, upload_id) {
                    w.unused.extend(parts);
                }
                tx.commit().await.map_err(db("complete upload: commit"))?;
                Ok(Some(out))
            }

            async fn all_blob_ids(&self) -> Result<Vec<String>, StoreError> {
                sqlx::query_scalar(
                    "SELECT blob_id FROM s3_objects WHERE blob_id IS NOT NULL
                     UNION ALL SELECT blob_id FROM s3_parts",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db("all blob ids"))
            }
        }
    };
}

/// Takes the key's write lock (PostgreSQL; see [`key_lock`]).
macro_rules! lock_key {
    ($tx:ident, $pg:expr, $bucket:expr, $key:expr) => {
        if $pg {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(key_lock($bucket, $key))
                .execute(&mut *$tx)
                .await
                .map_err(db("lock key"))?;
        }
    };
}

/// The bucket's versioning; returns [`StoreError::Reference`] if it is missing.
macro_rules! versioning_in {
    ($tx:ident, $bucket:expr) => {{
        let row: Option<Option<String>> =
            sqlx::query_scalar("SELECT versioning FROM s3_buckets WHERE name = $1")
                .bind($bucket)
                .fetch_optional(&mut *$tx)
                .await
                .map_err(db("bucket versioning"))?;
        match row {
            Some(v) => Versioning::from_column(v.as_deref())?,
            None => return Err(StoreError::Reference(format!("no bucket {}", $bucket))),
        }
    }};
}

macro_rules! current_in {
    ($tx:ident, $bucket:expr, $key:expr) => {{
        let sql = format!(
            "SELECT {OBJ_COLS} FROM s3_objects WHERE bucket = $1 AND object_key = $2 AND latest = 1"
        );
        let row = sqlx::query(&sql)
            .bind($bucket)
            .bind($key)
            .fetch_optional(&mut *$tx)
            .await
            .map_err(db("current version"))?;
        row.as_ref().map(version).transpose()?
    }};
}

macro_rules! version_in {
    ($tx:ident, $bucket:expr, $key:expr, $version:expr) => {{
        let sql = format!(
            "SELECT {OBJ_COLS} FROM s3_objects
             WHERE bucket = $1 AND object_key = $2 AND version_id = $3"
        );
        let row = sqlx::query(&sql)
            .bind($bucket)
            .bind($key)
            .bind($version)
            .fetch_optional(&mut *$tx)
            .await
            .map_err(db("object version"))?;
        row.as_ref().map(version).transpose()?
    }};
}

macro_rules! set_tags_in {
    ($tx:ident, $bucket:expr, $key:expr, $version:expr, $tags:expr) => {
        sqlx::query(
            "DELETE FROM s3_object_tags WHERE bucket = $1 AND object_key = $2 AND version_id = $3",
        )
        .bind($bucket)
        .bind($key)
        .bind($version)
        .execute(&mut *$tx)
        .await
        .map_err(db("set tags"))?;
        for (k, v) in $tags {
            sqlx::query(
                "INSERT INTO s3_object_tags (bucket, object_key, version_id, tag_key, tag_value)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind($bucket)
            .bind($key)
            .bind($version)
            .bind(k)
            .bind(v)
            .execute(&mut *$tx)
            .await
            .map_err(db("set tags"))?;
        }
    };
}

/// Removes one version (and its tags); evaluates to `Some((blob, was current))` if
/// it existed (`blob` is `None` for a delete marker). The key has no current version
/// after removing it: [`promote_in`] names the next.
macro_rules! remove_version_in {
    ($tx:ident, $bucket:expr, $key:expr, $version:expr) => {{
        let row: Option<(Option<String>, i64)> = sqlx::query_as(
            "SELECT blob_id, latest FROM s3_objects
             WHERE bucket = $1 AND object_key = $2 AND version_id = $3",
        )
        .bind($bucket)
        .bind($key)
        .bind($version)
        .fetch_optional(&mut *$tx)
        .await
        .map_err(db("remove version"))?;
        if row.is_some() {
            for sql in [
                "DELETE FROM s3_object_tags WHERE bucket = $1 AND object_key = $2 AND version_id = $3",
                "DELETE FROM s3_objects WHERE bucket = $1 AND object_key = $2 AND version_id = $3",
            ] {
                sqlx::query(sql)
                    .bind($bucket)
                    .bind($key)
                    .bind($version)
                    .execute(&mut *$tx)
                    .await
                    .map_err(db("remove version"))?;
            }
        }
        row.map(|(blob, latest)| (blob, latest != 0))
    }};
}

/// Makes the key's newest remaining version current.
macro_rules! promote_in {
    ($tx:ident, $bucket:expr, $key:expr) => {
        sqlx::query(
            "UPDATE s3_objects SET latest = 1
             WHERE bucket = $1 AND object_key = $2 AND seq =
               (SELECT MAX(seq) FROM s3_objects WHERE bucket = $1 AND object_key = $2)",
        )
        .bind($bucket)
        .bind($key)
        .execute(&mut *$tx)
        .await
        .map_err(db("promote version"))?;
    };
}

/// Adds a new current version (a delete marker when `$blob` is `None`): the previous
/// current one becomes noncurrent.
macro_rules! add_version_in {
    ($tx:ident, $bucket:expr, $key:expr, $version:expr, $blob:expr, $size:expr, $etag:expr,
     $content_type:expr, $metadata:expr, $modified:expr) => {{
        sqlx::query(
            "UPDATE s3_objects SET latest = 0 WHERE bucket = $1 AND object_key = $2 AND latest = 1",
        )
        .bind($bucket)
        .bind($key)
        .execute(&mut *$tx)
        .await
        .map_err(db("add version"))?;
        let seq: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM s3_objects WHERE bucket = $1 AND object_key = $2",
        )
        .bind($bucket)
        .bind($key)
        .fetch_one(&mut *$tx)
        .await
        .map_err(db("add version"))?;
        sqlx::query(
            "INSERT INTO s3_objects (bucket, object_key, version_id, seq, latest, blob_id, size,
                                     etag, content_type, metadata, last_modified)
             VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10)",
        )
        .bind($bucket)
        .bind($key)
        .bind($version)
        .bind(seq)
        .bind($blob)
        .bind($size)
        .bind($etag)
        .bind($content_type)
        .bind($metadata)
        .bind($modified)
        .execute(&mut *$tx)
        .await
        .map_err(db("add version"))?;
    }};
}

/// A DELETE (the key locked): evaluates to [`Deleted`].
macro_rules! delete_object_in {
    ($tx:ident, $bucket:expr, $key:expr, $version:expr, $marker_id:expr) => {{
        let (bucket, key): (&str, &str) = ($bucket, $key);
        let state = versioning_in!($tx, bucket);
        let versioned = state != Versioning::Unversioned;
        match $version {
            Some(v) => match remove_version_in!($tx, bucket, key, v) {
                None => Deleted {
                    version_id: Some(v.to_string()),
                    versioned,
                    ..Deleted::default()
                },
                Some((blob, was_latest)) => {
                    if was_latest {
                        promote_in!($tx, bucket, key);
                    }
                    Deleted {
                        version_id: Some(v.to_string()),
                        delete_marker: blob.is_none(),
                        unused: blob,
                        versioned,
                    }
                }
            },
            None if state == Versioning::Unversioned => Deleted {
                unused: remove_version_in!($tx, bucket, key, NULL_VERSION).and_then(|r| r.0),
                ..Deleted::default()
            },
            None => {
                let marker: &str = if state == Versioning::Enabled {
                    $marker_id
                } else {
                    NULL_VERSION
                };
                let unused = if state == Versioning::Suspended {
                    remove_version_in!($tx, bucket, key, NULL_VERSION).and_then(|r| r.0)
                } else {
                    None
                };
                add_version_in!(
                    $tx,
                    bucket,
                    key,
                    marker,
                    None::<&str>,
                    0i64,
                    "",
                    None::<&str>,
                    "{}",
                    crate::schema::now_millis()
                );
                Deleted {
                    version_id: Some(marker.to_string()),
                    delete_marker: true,
                    unused,
                    versioned,
                }
            }
        }
    }};
}

/// A PUT: evaluates to [`Put`] (nothing written unless `Put::Written`).
macro_rules! put_object_in {
    ($tx:ident, $pg:expr, $o:expr, $tags:expr, $when:expr) => {{
        let o: &ObjectRecord = $o;
        lock_key!($tx, $pg, &o.bucket, &o.key);
        let state = versioning_in!($tx, &o.bucket);
        let current = current_in!($tx, &o.bucket, &o.key);
        match precondition($when, current.as_ref()) {
            Some(refused) => refused,
            None => {
                let version_id = if state == Versioning::Enabled {
                    o.version_id.as_str()
                } else {
                    NULL_VERSION
                };
                let mut unused = Vec::new();
                if version_id == NULL_VERSION {
                    if let Some((Some(blob), _)) =
                        remove_version_in!($tx, &o.bucket, &o.key, NULL_VERSION)
                    {
                        unused.push(blob);
                    }
                }
                add_version_in!(
                    $tx,
                    &o.bucket,
                    &o.key,
                    version_id,
                    Some(o.blob_id.as_str()),
                    o.size,
                    &o.etag,
                    o.content_type.as_deref(),
                    &o.metadata,
                    o.last_modified
                );
                set_tags_in!($tx, &o.bucket, &o.key, version_id, $tags);
                Put::Written(Written {
                    version_id: version_id.to_string(),
                    versioned: state != Versioning::Unversioned,
                    unused,
                })
            }
        }
    }};
}

macro_rules! delete_upload_in {
    ($tx:ident, $upload_id:expr) => {{
        let exists = sqlx::query("SELECT 1 FROM s3_uploads WHERE upload_id = $1")
            .bind($upload_id)
            .fetch_optional(&mut *$tx)
            .await
            .map_err(db("delete upload"))?;
        if exists.is_none() {
            None
        } else {
            let blobs: Vec<String> =
                sqlx::query_scalar("SELECT blob_id FROM s3_parts WHERE upload_id = $1")
                    .bind($upload_id)
                    .fetch_all(&mut *$tx)
                    .await
                    .map_err(db("delete upload"))?;
            for sql in [
                "DELETE FROM s3_parts WHERE upload_id = $1",
                "DELETE FROM s3_uploads WHERE upload_id = $1",
            ] {
                sqlx::query(sql)
                    .bind($upload_id)
                    .execute(&mut *$tx)
                    .await
                    .map_err(db("delete upload"))?;
            }
            Some(blobs)
        }
    }};
}

object_meta_impl!(SqliteStore, false, |s, _w| {
    let w = s.writer.lock().await;
    let tx = s
        .pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(db("begin"))?;
    (w, tx)
});

object_meta_impl!(PostgresStore, true, |s, _w| {
    let tx = s.pool.begin().await.map_err(db("begin"))?;
    ((), tx)
});

macro_rules! delegate {
    ($self:ident, $m:ident($($arg:expr),*)) => {
        match $self {
            crate::AnyStore::Sqlite(s) => s.$m($($arg),*).await,
            crate::AnyStore::Postgres(s) => s.$m($($arg),*).await,
        }
    };
}

impl ObjectMeta for crate::AnyStore {
    async fn list_buckets(&self) -> Result<Vec<BucketRecord>, StoreError> {
        delegate!(self, list_buckets())
    }
    async fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>, StoreError> {
        delegate!(self, get_bucket(name))
    }
    async fn create_bucket(&self, b: &BucketRecord) -> Result<(), StoreError> {
        delegate!(self, create_bucket(b))
    }
    async fn delete_bucket(&self, name: &str) -> Result<DeleteBucket, StoreError> {
        delegate!(self, delete_bucket(name))
    }
    async fn get_bucket_policy(&self, bucket: &str) -> Result<Option<BucketPolicy>, StoreError> {
        delegate!(self, get_bucket_policy(bucket))
    }
    async fn set_bucket_policy(
        &self,
        bucket: &str,
        policy: Option<(&str, &[TrustBinding])>,
    ) -> Result<(), StoreError> {
        delegate!(self, set_bucket_policy(bucket, policy))
    }
    async fn bind_bucket_policy(
        &self,
        bucket: &str,
        document: &str,
        bindings: &[TrustBinding],
    ) -> Result<(), StoreError> {
        delegate!(self, bind_bucket_policy(bucket, document, bindings))
    }
    async fn get_bucket_setting(
        &self,
        bucket: &str,
        kind: &str,
    ) -> Result<Option<String>, StoreError> {
        delegate!(self, get_bucket_setting(bucket, kind))
    }
    async fn set_bucket_setting(
        &self,
        bucket: &str,
        kind: &str,
        doc: Option<&str>,
    ) -> Result<(), StoreError> {
        delegate!(self, set_bucket_setting(bucket, kind, doc))
    }
    async fn set_bucket_versioning(
        &self,
        bucket: &str,
        state: Versioning,
    ) -> Result<bool, StoreError> {
        delegate!(self, set_bucket_versioning(bucket, state))
    }
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<Option<Version>, StoreError> {
        delegate!(self, get_object(bucket, key, version))
    }
    async fn put_object(
        &self,
        o: &ObjectRecord,
        tags: &[(String, String)],
        when: Precondition<'_>,
    ) -> Result<Put, StoreError> {
        delegate!(self, put_object(o, tags, when))
    }
    async fn delete_object(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        marker_id: &str,
    ) -> Result<Deleted, StoreError> {
        delegate!(self, delete_object(bucket, key, version, marker_id))
    }
    async fn delete_object_if_blob(
        &self,
        bucket: &str,
        key: &str,
        blob_id: &str,
        marker_id: &str,
    ) -> Result<Option<Deleted>, StoreError> {
        delegate!(self, delete_object_if_blob(bucket, key, blob_id, marker_id))
    }
    async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<ObjectRecord>, StoreError> {
        delegate!(self, list_objects(bucket, prefix, after, limit))
    }
    async fn list_versions(
        &self,
        bucket: &str,
        prefix: &str,
        after_key: &str,
        after_version: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Version>, StoreError> {
        delegate!(
            self,
            list_versions(bucket, prefix, after_key, after_version, limit)
        )
    }
    async fn get_object_tags(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<Tags, StoreError> {
        delegate!(self, get_object_tags(bucket, key, version))
    }
    async fn set_object_tags(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<Option<String>, StoreError> {
        delegate!(self, set_object_tags(bucket, key, version, tags))
    }
    async fn create_upload(&self, u: &UploadRecord) -> Result<(), StoreError> {
        delegate!(self, create_upload(u))
    }
    async fn get_upload(&self, id: &str) -> Result<Option<UploadRecord>, StoreError> {
        delegate!(self, get_upload(id))
    }
    async fn list_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<UploadRecord>, StoreError> {
        delegate!(self, list_uploads(bucket, prefix, limit))
    }
    async fn put_part(&self, p: &PartRecord) -> Result<Option<String>, StoreError> {
        delegate!(self, put_part(p))
    }
    async fn list_parts(
        &self,
        id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<PartRecord>, StoreError> {
        delegate!(self, list_parts(id, after, limit))
    }
    async fn delete_upload(&self, id: &str) -> Result<Option<Vec<String>>, StoreError> {
        delegate!(self, delete_upload(id))
    }
    async fn complete_upload(
        &self,
        id: &str,
        o: &ObjectRecord,
        tags: &[(String, String)],
        when: Precondition<'_>,
    ) -> Result<Option<Put>, StoreError> {
        delegate!(self, complete_upload(id, o, tags, when))
    }
    async fn all_blob_ids(&self) -> Result<Vec<String>, StoreError> {
        delegate!(self, all_blob_ids())
    }
}
