//! The S3 service's metadata store: [`AnyStore`] with the fast path's object cache
//! kept true. Every object and bucket write of the service (PutObject, CopyObject,
//! CompleteMultipartUpload, DeleteObject(s), tagging, versioning, bucket deletion,
//! lifecycle expirations) goes through [`ObjectMeta`] on this type, which bumps the
//! bucket's generation in [`ObjectCache`] once the store call returned, whatever its
//! outcome (so before the request is answered). Reads and the writes that do not
//! change what a GetObject answers (uploads, parts, bucket policy and settings: those
//! are read through `Core::bucket`, not this cache) are passed through.
//!
//! The cache is on only with SQLite: with PostgreSQL other nodes write objects, and
//! object writes are not in the change log (only bucket changes are), so nothing would
//! tell this node; there every GetObject reads the database.

use std::sync::Arc;

use iamd_store::{
    AnyStore, BucketPolicy, BucketRecord, DeleteBucket, Deleted, ObjectMeta, ObjectRecord,
    PartRecord, Precondition, Put, StoreError, Tags, TrustBinding, UploadRecord, Version,
    Versioning,
};

use crate::cache::ObjectCache;
use crate::fast::FastObject;

/// At most this many cached keys (all buckets).
const OBJECT_ENTRIES: usize = 16 * 1024;

/// A cached current version: `None` when the key has none the fast path answers.
pub(crate) type CachedObject = Option<Arc<FastObject>>;

pub(crate) struct CachedStore {
    inner: AnyStore,
    objects: Option<ObjectCache<CachedObject>>,
}

impl CachedStore {
    pub(crate) fn new(inner: AnyStore) -> Self {
        let objects = match inner {
            AnyStore::Sqlite(_) => Some(ObjectCache::new(OBJECT_ENTRIES)),
            AnyStore::Postgres(_) => None,
        };
        CachedStore { inner, objects }
    }

    /// The fast path's view of the key's current version: from the cache, else read
    /// (and cached under the generation read before).
    pub(crate) async fn current(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<CachedObject, StoreError> {
        let Some(cache) = &self.objects else {
            return self.read_current(bucket, key).await;
        };
        if let Some(hit) = cache.get(bucket, key) {
            return Ok(hit);
        }
        let generation = cache.generation(bucket);
        let value = self.read_current(bucket, key).await?;
        cache.insert(bucket, key, generation, value.clone());
        Ok(value)
    }

    async fn read_current(&self, bucket: &str, key: &str) -> Result<CachedObject, StoreError> {
        Ok(match self.inner.get_object(bucket, key, None).await? {
            Some(Version::Object(o)) => FastObject::new(&o).map(Arc::new),
            _ => None,
        })
    }

    fn bump(&self, bucket: &str) {
        if let Some(c) = &self.objects {
            c.bump(bucket);
        }
    }

    /// A write to `bucket` returned `r` (committed or not): the bucket's cached
    /// objects go.
    fn written<T>(&self, bucket: &str, r: T) -> T {
        self.bump(bucket);
        r
    }
}

impl ObjectMeta for CachedStore {
    async fn list_buckets(&self) -> Result<Vec<BucketRecord>, StoreError> {
        self.inner.list_buckets().await
    }
    async fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>, StoreError> {
        self.inner.get_bucket(name).await
    }
    async fn create_bucket(&self, bucket: &BucketRecord) -> Result<(), StoreError> {
        let r = self.inner.create_bucket(bucket).await;
        self.written(&bucket.name, r)
    }
    async fn delete_bucket(&self, name: &str) -> Result<DeleteBucket, StoreError> {
        let r = self.inner.delete_bucket(name).await;
        self.written(name, r)
    }
    async fn get_bucket_policy(&self, bucket: &str) -> Result<Option<BucketPolicy>, StoreError> {
        self.inner.get_bucket_policy(bucket).await
    }
    async fn set_bucket_policy(
        &self,
        bucket: &str,
        policy: Option<(&str, &[TrustBinding])>,
    ) -> Result<(), StoreError> {
        self.inner.set_bucket_policy(bucket, policy).await
    }
    async fn bind_bucket_policy(
        &self,
        bucket: &str,
        document: &str,
        bindings: &[TrustBinding],
    ) -> Result<(), StoreError> {
        self.inner
            .bind_bucket_policy(bucket, document, bindings)
            .await
    }
    async fn get_bucket_setting(
        &self,
        bucket: &str,
        kind: &str,
    ) -> Result<Option<String>, StoreError> {
        self.inner.get_bucket_setting(bucket, kind).await
    }
    async fn set_bucket_setting(
        &self,
        bucket: &str,
        kind: &str,
        document: Option<&str>,
    ) -> Result<(), StoreError> {
        self.inner.set_bucket_setting(bucket, kind, document).await
    }
    async fn set_bucket_versioning(
        &self,
        bucket: &str,
        state: Versioning,
    ) -> Result<bool, StoreError> {
        let r = self.inner.set_bucket_versioning(bucket, state).await;
        self.written(bucket, r)
    }
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<Option<Version>, StoreError> {
        self.inner.get_object(bucket, key, version).await
    }
    async fn put_object(
        &self,
        object: &ObjectRecord,
        tags: &[(String, String)],
        when: Precondition<'_>,
    ) -> Result<Put, StoreError> {
        let r = self.inner.put_object(object, tags, when).await;
        self.written(&object.bucket, r)
    }
    async fn delete_object(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        marker_id: &str,
    ) -> Result<Deleted, StoreError> {
        let r = self
            .inner
            .delete_object(bucket, key, version, marker_id)
            .await;
        self.written(bucket, r)
    }
    async fn delete_object_if_blob(
        &self,
        bucket: &str,
        key: &str,
        blob_id: &str,
        marker_id: &str,
    ) -> Result<Option<Deleted>, StoreError> {
        let r = self
            .inner
            .delete_object_if_blob(bucket, key, blob_id, marker_id)
            .await;
        self.written(bucket, r)
    }
    async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<ObjectRecord>, StoreError> {
        self.inner.list_objects(bucket, prefix, after, limit).await
    }
    async fn list_versions(
        &self,
        bucket: &str,
        prefix: &str,
        after_key: &str,
        after_version: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Version>, StoreError> {
        self.inner
            .list_versions(bucket, prefix, after_key, after_version, limit)
            .await
    }
    async fn get_object_tags(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<Tags, StoreError> {
        self.inner.get_object_tags(bucket, key, version).await
    }
    async fn set_object_tags(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<Option<String>, StoreError> {
        let r = self.inner.set_object_tags(bucket, key, version, tags).await;
        self.written(bucket, r)
    }
    async fn create_upload(&self, upload: &UploadRecord) -> Result<(), StoreError> {
        self.inner.create_upload(upload).await
    }
    async fn get_upload(&self, upload_id: &str) -> Result<Option<UploadRecord>, StoreError> {
        self.inner.get_upload(upload_id).await
    }
    async fn list_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<UploadRecord>, StoreError> {
        self.inner.list_uploads(bucket, prefix, limit).await
    }
    async fn put_part(&self, part: &PartRecord) -> Result<Option<String>, StoreError> {
        self.inner.put_part(part).await
    }
    async fn list_parts(
        &self,
        upload_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<PartRecord>, StoreError> {
        self.inner.list_parts(upload_id, after, limit).await
    }
    async fn delete_upload(&self, upload_id: &str) -> Result<Option<Vec<String>>, StoreError> {
        self.inner.delete_upload(upload_id).await
    }
    async fn complete_upload(
        &self,
        upload_id: &str,
        object: &ObjectRecord,
        tags: &[(String, String)],
        when: Precondition<'_>,
    ) -> Result<Option<Put>, StoreError> {
        let r = self
            .inner
            .complete_upload(upload_id, object, tags, when)
            .await;
        self.written(&object.bucket, r)
    }
    async fn all_blob_ids(&self) -> Result<Vec<String>, StoreError> {
        self.inner.all_blob_ids().await
    }
}
