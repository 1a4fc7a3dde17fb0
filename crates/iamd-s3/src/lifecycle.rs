//! Lifecycle rules applied: a background sweep expires objects (`Expiration` by
//! `Days` or `Date`) and aborts unfinished multipart uploads
//! (`AbortIncompleteMultipartUpload`) of every bucket with a lifecycle configuration.
//!
//! As S3 counts: an object expires at the first midnight UTC at least `Days` days after
//! it was written (an upload is aborted likewise, counted from its initiation), or
//! from `Date` on. A rule applies to the keys of its prefix, sizes and tags (`Filter`,
//! or the legacy `Prefix`); only `Enabled` rules run. On a versioned bucket an
//! expiration adds a delete marker (the object stays as a noncurrent version), as S3
//! does. `NoncurrentVersionExpiration` removes a version `NoncurrentDays` after it
//! became noncurrent (when its successor was written), beyond the
//! `NewerNoncurrentVersions` newest noncurrent ones; `ExpiredObjectDeleteMarker` removes a
//! current delete marker that is its key's only version. Transitions have nothing to act
//! on here (one storage class).
//!
//! An object is removed only while it is still the one the sweep judged (a newer
//! object of the same key written meanwhile stays), its blob after the store let go
//! of it.

use std::sync::Arc;
use std::time::Duration;

use iamd_store::{ObjectMeta, Version};
use s3s::dto::{BucketLifecycleConfiguration, LifecycleRule, TagSet};

use crate::settings::LIFECYCLE;
use crate::Core;

const DAY_MS: i64 = 86_400_000;
const BATCH: u32 = 1000;

/// What a rule selects, from its `Filter` (or legacy `Prefix`).
#[derive(Debug, Default)]
struct Selection {
    prefix: String,
    tags: Vec<(String, String)>,
    larger_than: Option<i64>,
    smaller_than: Option<i64>,
}

impl Selection {
    fn size_ok(&self, size: i64) -> bool {
        self.larger_than.is_none_or(|m| size > m) && self.smaller_than.is_none_or(|m| size < m)
    }
}

fn selection(rule: &LifecycleRule) -> Selection {
    let tag_pairs = |t: &TagSet| -> Vec<(String, String)> {
        t.iter()
            .map(|t| {
                (
                    t.key.clone().unwrap_or_default(),
                    t.value.clone().unwrap_or_default(),
                )
            })
            .collect()
    };
    let Some(f) = &rule.filter else {
        return Selection {
            prefix: rule.prefix.clone().unwrap_or_default(),
            ..Selection::default()
        };
    };
    match &f.and {
        Some(a) => Selection {
            prefix: a.prefix.clone().unwrap_or_default(),
            tags: a.tags.as_ref().map(tag_pairs).unwrap_or_default(),
            larger_than: a.object_size_greater_than,
            smaller_than: a.object_size_less_than,
        },
        None => Selection {
            prefix: f.prefix.clone().unwrap_or_default(),
            tags: f
                .tag
                .as_ref()
                .map(|t| tag_pairs(&vec![t.clone()]))
                .unwrap_or_default(),
            larger_than: f.object_size_greater_than,
            smaller_than: f.object_size_less_than,
        },
    }
}

/// The first midnight UTC at least `days` after `from_ms`.
fn after_days(from_ms: i64, days: i64) -> i64 {
    let t = from_ms.saturating_add(days.saturating_mul(DAY_MS));
    t.div_euclid(DAY_MS)
        .saturating_add(i64::from(t.rem_euclid(DAY_MS) != 0))
        .saturating_mul(DAY_MS)
}

fn ms_of(t: &s3s::dto::Timestamp) -> i64 {
    let t: time::OffsetDateTime = t.clone().into();
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Whether the rule expires an object written at `written_ms` by `now_ms`.
fn object_due(rule: &LifecycleRule, written_ms: i64, now_ms: i64) -> bool {
    let Some(e) = &rule.expiration else {
        return false;
    };
    if let Some(days) = e.days.filter(|d| *d > 0) {
        return now_ms >= after_days(written_ms, i64::from(days));
    }
    e.date.as_ref().is_some_and(|d| now_ms >= ms_of(d))
}

/// Whether the rule's NoncurrentVersionExpiration removes the noncurrent version at
/// `position` (1: the newest noncurrent one), noncurrent since `since_ms`, by `now_ms`.
fn noncurrent_due(rule: &LifecycleRule, position: usize, since_ms: i64, now_ms: i64) -> bool {
    let Some(e) = &rule.noncurrent_version_expiration else {
        return false;
    };
    let keep = e
        .newer_noncurrent_versions
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    position > keep
        && e.noncurrent_days
            .filter(|d| *d > 0)
            .is_some_and(|d| now_ms >= after_days(since_ms, i64::from(d)))
}

/// Whether the rule removes expired object delete markers.
fn cleans_markers(rule: &LifecycleRule) -> bool {
    rule.expiration
        .as_ref()
        .and_then(|e| e.expired_object_delete_marker)
        == Some(true)
}

/// Whether the rule aborts an upload initiated at `created_ms` by `now_ms`.
fn upload_due(rule: &LifecycleRule, created_ms: i64, now_ms: i64) -> bool {
    rule.abort_incomplete_multipart_upload
        .as_ref()
        .and_then(|a| a.days_after_initiation)
        .filter(|d| *d > 0)
        .is_some_and(|d| now_ms >= after_days(created_ms, i64::from(d)))
}

fn enabled(rule: &LifecycleRule) -> bool {
    rule.status.as_str() == s3s::dto::ExpirationStatus::ENABLED
}

/// Runs [`Core::sweep_lifecycle`] every `every`, for as long as the process runs.
pub(crate) async fn run(core: Arc<Core>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = crate::service::now_ms();
        match core.sweep_lifecycle(now).await {
            Ok((0, 0)) => {}
            Ok((objects, uploads)) => {
                tracing::info!(
                    objects,
                    uploads,
                    "lifecycle: expired objects, aborted uploads"
                );
            }
            Err(e) => tracing::error!(error = %e, "lifecycle sweep failed"),
        }
    }
}

impl Core {
    /// One pass of every bucket's enabled rules at `now_ms`: the number of objects
    /// expired and uploads aborted.
    pub(crate) async fn sweep_lifecycle(
        &self,
        now_ms: i64,
    ) -> Result<(usize, usize), iamd_store::StoreError> {
        let (mut objects, mut uploads) = (0, 0);
        for b in self.store.list_buckets().await? {
            let config: Option<BucketLifecycleConfiguration> =
                match self.stored_setting(&b.name, LIFECYCLE).await {
                    Ok(c) => c,
                    Err(_) => {
                        tracing::error!(bucket = %b.name, "lifecycle configuration unreadable");
                        continue;
                    }
                };
            for rule in config.iter().flat_map(|c| &c.rules).filter(|r| enabled(r)) {
                let sel = selection(rule);
                if rule
                    .expiration
                    .as_ref()
                    .is_some_and(|e| e.days.is_some() || e.date.is_some())
                {
                    objects += self.expire_objects(&b.name, rule, &sel, now_ms).await?;
                }
                if rule.noncurrent_version_expiration.is_some() || cleans_markers(rule) {
                    objects += self.expire_versions(&b.name, rule, &sel, now_ms).await?;
                }
                if rule.abort_incomplete_multipart_upload.is_some() {
                    uploads += self.abort_uploads(&b.name, rule, &sel, now_ms).await?;
                }
            }
        }
        Ok((objects, uploads))
    }

    async fn expire_objects(
        &self,
        bucket: &str,
        rule: &LifecycleRule,
        sel: &Selection,
        now_ms: i64,
    ) -> Result<usize, iamd_store::StoreError> {
        let mut after = String::new();
        let mut n = 0;
        loop {
            let page = self
                .store
                .list_objects(bucket, &sel.prefix, &after, BATCH)
                .await?;
            let full = page.len() == BATCH as usize;
            for o in page {
                after.clone_from(&o.key);
                if !sel.size_ok(o.size)
                    || !object_due(rule, o.last_modified, now_ms)
                    || !self.tags_match(sel, bucket, &o.key, &o.version_id).await?
                {
                    continue;
                }
                // As a DELETE without a version: on a versioned bucket a delete
                // marker covers the object, which stays as a noncurrent version.
                let marker_id = crate::blobs::new_id()
                    .map_err(|e| iamd_store::StoreError::Database(format!("version id: {e}")))?;
                if let Some(d) = self
                    .store
                    .delete_object_if_blob(bucket, &o.key, &o.blob_id, &marker_id)
                    .await?
                {
                    if let Some(b) = &d.unused {
                        self.blobs.remove(std::slice::from_ref(b)).await;
                    }
                    n += 1;
                }
            }
            if !full {
                return Ok(n);
            }
        }
    }

    /// NoncurrentVersionExpiration and ExpiredObjectDeleteMarker over the versions the
    /// rule selects, key by key (newest first). A version removed is removed by id;
    /// the one a page ends on is removed after the next page is read (the listing
    /// resumes after it).
    async fn expire_versions(
        &self,
        bucket: &str,
        rule: &LifecycleRule,
        sel: &Selection,
        now_ms: i64,
    ) -> Result<usize, iamd_store::StoreError> {
        let mut n = 0;
        let (mut after_key, mut after_version) = (String::new(), None::<String>);
        // The key being read, the position of its next version (0: current), and
        // when the version before it was written (when the next became noncurrent).
        let (mut key, mut position, mut newer_written) = (String::new(), 0usize, 0i64);
        let mut lone_marker: Option<String> = None;
        let mut carried: Option<(String, String)> = None;
        loop {
            let page = self
                .store
                .list_versions(
                    bucket,
                    &sel.prefix,
                    &after_key,
                    after_version.as_deref(),
                    BATCH,
                )
                .await?;
            let full = page.len() == BATCH as usize;
            let mut doomed: Vec<(String, String)> = carried.take().into_iter().collect();
            for v in page {
                if v.key() != key {
                    if let Some(m) = lone_marker.take() {
                        doomed.push((key.clone(), m));
                    }
                    key = v.key().to_string();
                    position = 0;
                } else {
                    position += 1;
                }
                after_key = key.clone();
                after_version = Some(v.version_id().to_string());
                let (written, size) = match &v {
                    Version::Object(o) => (o.last_modified, Some(o.size)),
                    Version::DeleteMarker(m) => (m.last_modified, None),
                };
                if position == 0 {
                    if matches!(&v, Version::DeleteMarker(_)) && cleans_markers(rule) {
                        lone_marker = Some(v.version_id().to_string());
                    }
                } else {
                    lone_marker = None;
                    if size.is_none_or(|s| sel.size_ok(s))
                        && noncurrent_due(rule, position, newer_written, now_ms)
                        && self.tags_match(sel, bucket, &key, v.version_id()).await?
                    {
                        doomed.push((key.clone(), v.version_id().to_string()));
                    }
                }
                newer_written = written;
            }
            if !full {
                if let Some(m) = lone_marker.take() {
                    doomed.push((key.clone(), m));
                }
            }
            for (k, v) in doomed {
                if full && Some(&v) == after_version.as_ref() && k == after_key {
                    carried = Some((k, v));
                    continue;
                }
                n += self.remove_version(bucket, &k, &v).await?;
            }
            if !full {
                return Ok(n);
            }
        }
    }

    /// Whether the version carries every tag the rule selects by.
    async fn tags_match(
        &self,
        sel: &Selection,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> Result<bool, iamd_store::StoreError> {
        if sel.tags.is_empty() {
            return Ok(true);
        }
        let tags = self
            .store
            .get_object_tags(bucket, key, Some(version_id))
            .await?;
        Ok(sel.tags.iter().all(|t| tags.contains(t)))
    }

    /// Removes one version by id (its blob after the store let go of it).
    async fn remove_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> Result<usize, iamd_store::StoreError> {
        let d = self
            .store
            .delete_object(bucket, key, Some(version_id), "")
            .await?;
        if let Some(b) = &d.unused {
            self.blobs.remove(std::slice::from_ref(b)).await;
        }
        Ok(usize::from(d.unused.is_some() || d.delete_marker))
    }

    async fn abort_uploads(
        &self,
        bucket: &str,
        rule: &LifecycleRule,
        sel: &Selection,
        now_ms: i64,
    ) -> Result<usize, iamd_store::StoreError> {
        // Uploads are few; a rule with tags or sizes does not select uploads (S3: the
        // abort action takes a prefix filter only).
        if !sel.tags.is_empty() || sel.larger_than.is_some() || sel.smaller_than.is_some() {
            return Ok(0);
        }
        let mut n = 0;
        for u in self
            .store
            .list_uploads(bucket, &sel.prefix, u32::MAX)
            .await?
        {
            if !upload_due(rule, u.created, now_ms) {
                continue;
            }
            if let Some(parts) = self.store.delete_upload(&u.upload_id).await? {
                self.blobs.remove(&parts).await;
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use s3s::dto::*;

    fn rule() -> LifecycleRule {
        LifecycleRule {
            abort_incomplete_multipart_upload: Some(AbortIncompleteMultipartUpload {
                days_after_initiation: Some(2),
            }),
            expiration: Some(LifecycleExpiration {
                date: None,
                days: Some(1),
                expired_object_delete_marker: None,
            }),
            filter: Some(LifecycleRuleFilter {
                prefix: Some("logs/".into()),
                ..Default::default()
            }),
            id: None,
            noncurrent_version_expiration: None,
            noncurrent_version_transitions: None,
            prefix: None,
            status: ExpirationStatus::from_static(ExpirationStatus::ENABLED),
            transitions: None,
        }
    }

    #[test]
    fn days_count_to_the_next_midnight_utc() {
        // Written 2024-01-01T10:00Z, one day: expires 2024-01-03T00:00Z.
        let written = 1_704_103_200_000;
        let due = 1_704_240_000_000;
        assert_eq!(after_days(written, 1), due);
        assert!(!object_due(&rule(), written, due - 1));
        assert!(object_due(&rule(), written, due));
        // Exactly at midnight: that midnight plus the days.
        assert_eq!(after_days(1_704_067_200_000, 1), 1_704_153_600_000);
        assert!(!upload_due(&rule(), written, due));
        assert!(upload_due(&rule(), written, due + DAY_MS));
        assert_eq!(selection(&rule()).prefix, "logs/");
    }

    #[test]
    fn noncurrent_versions_expire_after_their_days_beyond_the_newest_kept() {
        let mut r = rule();
        assert!(!noncurrent_due(&r, 1, 0, i64::MAX));
        r.noncurrent_version_expiration = Some(NoncurrentVersionExpiration {
            newer_noncurrent_versions: Some(2),
            noncurrent_days: Some(1),
        });
        // Noncurrent since 2024-01-01T10:00Z: due from 2024-01-03T00:00Z, for the
        // third newest noncurrent version on.
        let since = 1_704_103_200_000;
        let due = 1_704_240_000_000;
        assert!(noncurrent_due(&r, 3, since, due));
        assert!(!noncurrent_due(&r, 3, since, due - 1));
        assert!(!noncurrent_due(&r, 2, since, due));
        r.expiration = Some(LifecycleExpiration {
            date: None,
            days: None,
            expired_object_delete_marker: Some(true),
        });
        assert!(cleans_markers(&r));
        assert!(!cleans_markers(&rule()));
    }

    #[test]
    fn dates_and_disabled_rules() {
        let mut r = rule();
        r.expiration = Some(LifecycleExpiration {
            date: Some(Timestamp::from(
                std::time::UNIX_EPOCH + Duration::from_millis(1_704_067_200_000),
            )),
            days: None,
            expired_object_delete_marker: None,
        });
        assert!(object_due(&r, 0, 1_704_067_200_000));
        assert!(!object_due(&r, 0, 1_704_067_199_999));
        r.status = ExpirationStatus::from_static(ExpirationStatus::DISABLED);
        assert!(!enabled(&r));
    }
}
