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

use std::future::Future;

use crate::{Millis, PostgresStore, SqliteStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketRecord {
    pub name: String,
    pub owner_account: String,
    pub created: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    pub bucket: String,
    pub key: String,
    pub blob_id: String,
    pub size: i64,
    pub etag: String,
    pub content_type: Option<String>,
    pub metadata: String,
    pub last_modified: Millis,
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
    fn get_bucket_policy(
        &self,
        bucket: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// `None` deletes. [`StoreError::Reference`] if the bucket is missing.
    fn set_bucket_policy(
        &self,
        bucket: &str,
        document: Option<&str>,
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

    fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<ObjectRecord>, StoreError>> + Send;
    /// Inserts or replaces the object and sets its tags; returns the replaced blob.
    /// [`StoreError::Reference`] if the bucket is missing.
    fn put_object(
        &self,
        object: &ObjectRecord,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Returns the removed blob (`None`: there was no such object).
    fn delete_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Deletes the object only if it still names `blob_id` (a lifecycle expiration
    /// must not remove a newer object of the same key); `true` if it did (the blob is
    /// then the caller's to delete).
    fn delete_object_if_blob(
        &self,
        bucket: &str,
        key: &str,
        blob_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Objects with `key` starting with `prefix` and `key > after`, in byte order,
    /// at most `limit`.
    fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ObjectRecord>, StoreError>> + Send;
    fn get_object_tags(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Tags, StoreError>> + Send;
    /// Replaces the object's tags; `false` if the object does not exist.
    fn set_object_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

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
    /// In one transaction: removes the upload and its parts and puts `object`.
    /// Returns the blobs no longer referenced (parts, replaced object), or `None` if
    /// the upload was gone (nothing written).
    fn complete_upload(
        &self,
        upload_id: &str,
        object: &ObjectRecord,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<Option<Vec<String>>, StoreError>> + Send;

    /// Every blob id referenced by an object or a part.
    fn all_blob_ids(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

const BUCKET_COLS: &str = "name, owner_account, created";
const OBJ_COLS: &str =
    "bucket, object_key, blob_id, size, etag, content_type, metadata, last_modified";
const UPLOAD_COLS: &str =
    "upload_id, bucket, object_key, created, content_type, metadata, tagging, \
     checksum_algorithm, checksum_type";
const PART_COLS: &str = "upload_id, part_number, blob_id, size, etag, last_modified, checksum";

fn bucket(r: &impl crate::decode::Cells) -> Result<BucketRecord, StoreError> {
    Ok(BucketRecord {
        name: r.text(0)?,
        owner_account: r.text(1)?,
        created: r.int(2)?,
    })
}

fn obj(r: &impl crate::decode::Cells) -> Result<ObjectRecord, StoreError> {
    Ok(ObjectRecord {
        bucket: r.text(0)?,
        key: r.text(1)?,
        blob_id: r.text(2)?,
        size: r.int(3)?,
        etag: r.text(4)?,
        content_type: r.opt_text(5)?,
        metadata: r.text(6)?,
        last_modified: r.int(7)?,
    })
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
    ($store:ty, |$s:ident, $guard:ident| $begin_write:expr) => {
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
                    "INSERT INTO s3_buckets (name, owner_account, created) VALUES ($1, $2, $3)",
                )
                .bind(&b.name)
                .bind(&b.owner_account)
                .bind(b.created)
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

            async fn get_bucket_policy(&self, bucket: &str) -> Result<Option<String>, StoreError> {
                sqlx::query_scalar("SELECT document FROM s3_bucket_policies WHERE bucket = $1")
                    .bind(bucket)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("get bucket policy"))
            }

            async fn set_bucket_policy(
                &self,
                bucket: &str,
                document: Option<&str>,
            ) -> Result<(), StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                sqlx::query("DELETE FROM s3_bucket_policies WHERE bucket = $1")
                    .bind(bucket)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("set bucket policy"))?;
                if let Some(doc) = document {
                    sqlx::query("INSERT INTO s3_bucket_policies (bucket, document) VALUES ($1, $2)")
                        .bind(bucket)
                        .bind(doc)
                        .execute(&mut *tx)
                        .await
                        .map_err(db("set bucket policy"))?;
                }
                crate::log::append_log!(tx, None, "", "bucket", (bucket).to_string());
                tx.commit().await.map_err(db("set bucket policy: commit"))
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

            async fn get_object(
                &self,
                bucket: &str,
                key: &str,
            ) -> Result<Option<ObjectRecord>, StoreError> {
                let sql = format!(
                    "SELECT {OBJ_COLS} FROM s3_objects WHERE bucket = $1 AND object_key = $2"
                );
                let row = sqlx::query(&sql)
                    .bind(bucket)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("get object"))?;
                row.as_ref().map(obj).transpose()
            }

            async fn put_object(
                &self,
                o: &ObjectRecord,
                tags: &[(String, String)],
            ) -> Result<Option<String>, StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                let old = put_object_in!(tx, o, tags);
                tx.commit().await.map_err(db("put object: commit"))?;
                Ok(old)
            }

            async fn delete_object(
                &self,
                bucket: &str,
                key: &str,
            ) -> Result<Option<String>, StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                let old = delete_object_in!(tx, bucket, key, |_: &str| true);
                tx.commit().await.map_err(db("delete object: commit"))?;
                Ok(old)
            }

            async fn delete_object_if_blob(
                &self,
                bucket: &str,
                key: &str,
                blob_id: &str,
            ) -> Result<bool, StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                let old = delete_object_in!(tx, bucket, key, |current: &str| current == blob_id);
                tx.commit().await.map_err(db("delete object: commit"))?;
                Ok(old.is_some())
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
                     WHERE bucket = $1 AND object_key > $2 AND object_key >= $3
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

            async fn get_object_tags(&self, bucket: &str, key: &str) -> Result<Tags, StoreError> {
                let rows = sqlx::query(
                    "SELECT tag_key, tag_value FROM s3_object_tags
                     WHERE bucket = $1 AND object_key = $2 ORDER BY tag_key",
                )
                .bind(bucket)
                .bind(key)
                .fetch_all(&self.pool)
                .await
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
                tags: &[(String, String)],
            ) -> Result<bool, StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                let exists = sqlx::query(
                    "SELECT 1 FROM s3_objects WHERE bucket = $1 AND object_key = $2",
                )
                .bind(bucket)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db("set object tags"))?;
                if exists.is_none() {
                    return Ok(false);
                }
                set_tags_in!(tx, bucket, key, tags);
                tx.commit().await.map_err(db("set object tags: commit"))?;
                Ok(true)
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
            ) -> Result<Option<Vec<String>>, StoreError> {
                let $s = self;
                let ($guard, mut tx) = $begin_write;
                let Some(mut blobs) = delete_upload_in!(tx, upload_id) else {
                    return Ok(None);
                };
                if let Some(old) = put_object_in!(tx, o, tags) {
                    blobs.push(old);
                }
                tx.commit().await.map_err(db("complete upload: commit"))?;
                Ok(Some(blobs))
            }

            async fn all_blob_ids(&self) -> Result<Vec<String>, StoreError> {
                sqlx::query_scalar(
                    "SELECT blob_id FROM s3_objects UNION ALL SELECT blob_id FROM s3_parts",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db("all blob ids"))
            }
        }
    };
}

macro_rules! set_tags_in {
    ($tx:ident, $bucket:expr, $key:expr, $tags:expr) => {
        sqlx::query("DELETE FROM s3_object_tags WHERE bucket = $1 AND object_key = $2")
            .bind($bucket)
            .bind($key)
            .execute(&mut *$tx)
            .await
            .map_err(db("set tags"))?;
        for (k, v) in $tags {
            sqlx::query(
                "INSERT INTO s3_object_tags (bucket, object_key, tag_key, tag_value)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind($bucket)
            .bind($key)
            .bind(k)
            .bind(v)
            .execute(&mut *$tx)
            .await
            .map_err(db("set tags"))?;
        }
    };
}

/// Deletes the object (and its tags) if it exists and `$keep_going` accepts its blob
/// id; evaluates to the deleted blob.
macro_rules! delete_object_in {
    ($tx:ident, $bucket:expr, $key:expr, $keep_going:expr) => {{
        let old: Option<String> = sqlx::query_scalar(
            "SELECT blob_id FROM s3_objects WHERE bucket = $1 AND object_key = $2",
        )
        .bind($bucket)
        .bind($key)
        .fetch_optional(&mut *$tx)
        .await
        .map_err(db("delete object"))?;
        let old = old.filter(|b| ($keep_going)(b.as_str()));
        if old.is_some() {
            for sql in [
                "DELETE FROM s3_object_tags WHERE bucket = $1 AND object_key = $2",
                "DELETE FROM s3_objects WHERE bucket = $1 AND object_key = $2",
            ] {
                sqlx::query(sql)
                    .bind($bucket)
                    .bind($key)
                    .execute(&mut *$tx)
                    .await
                    .map_err(db("delete object"))?;
            }
        }
        old
    }};
}

macro_rules! put_object_in {
    ($tx:ident, $o:expr, $tags:expr) => {{
        let o = $o;
        let old: Option<String> = sqlx::query_scalar(
            "SELECT blob_id FROM s3_objects WHERE bucket = $1 AND object_key = $2",
        )
        .bind(&o.bucket)
        .bind(&o.key)
        .fetch_optional(&mut *$tx)
        .await
        .map_err(db("put object"))?;
        for sql in [
            "DELETE FROM s3_object_tags WHERE bucket = $1 AND object_key = $2",
            "DELETE FROM s3_objects WHERE bucket = $1 AND object_key = $2",
        ] {
            sqlx::query(sql)
                .bind(&o.bucket)
                .bind(&o.key)
                .execute(&mut *$tx)
                .await
                .map_err(db("put object"))?;
        }
        let sql =
            format!("INSERT INTO s3_objects ({OBJ_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        sqlx::query(&sql)
            .bind(&o.bucket)
            .bind(&o.key)
            .bind(&o.blob_id)
            .bind(o.size)
            .bind(&o.etag)
            .bind(&o.content_type)
            .bind(&o.metadata)
            .bind(o.last_modified)
            .execute(&mut *$tx)
            .await
            .map_err(db("put object"))?;
        set_tags_in!($tx, &o.bucket, &o.key, $tags);
        old
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

object_meta_impl!(SqliteStore, |s, _w| {
    let w = s.writer.lock().await;
    let tx = s
        .pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(db("begin"))?;
    (w, tx)
});

object_meta_impl!(PostgresStore, |s, _w| {
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
    async fn get_bucket_policy(&self, bucket: &str) -> Result<Option<String>, StoreError> {
        delegate!(self, get_bucket_policy(bucket))
    }
    async fn set_bucket_policy(&self, bucket: &str, doc: Option<&str>) -> Result<(), StoreError> {
        delegate!(self, set_bucket_policy(bucket, doc))
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
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<ObjectRecord>, StoreError> {
        delegate!(self, get_object(bucket, key))
    }
    async fn put_object(
        &self,
        o: &ObjectRecord,
        tags: &[(String, String)],
    ) -> Result<Option<String>, StoreError> {
        delegate!(self, put_object(o, tags))
    }
    async fn delete_object(&self, bucket: &str, key: &str) -> Result<Option<String>, StoreError> {
        delegate!(self, delete_object(bucket, key))
    }
    async fn delete_object_if_blob(
        &self,
        bucket: &str,
        key: &str,
        blob_id: &str,
    ) -> Result<bool, StoreError> {
        delegate!(self, delete_object_if_blob(bucket, key, blob_id))
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
    async fn get_object_tags(&self, bucket: &str, key: &str) -> Result<Tags, StoreError> {
        delegate!(self, get_object_tags(bucket, key))
    }
    async fn set_object_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: &[(String, String)],
    ) -> Result<bool, StoreError> {
        delegate!(self, set_object_tags(bucket, key, tags))
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
    ) -> Result<Option<Vec<String>>, StoreError> {
        delegate!(self, complete_upload(id, o, tags))
    }
    async fn all_blob_ids(&self) -> Result<Vec<String>, StoreError> {
        delegate!(self, all_blob_ids())
    }
}
