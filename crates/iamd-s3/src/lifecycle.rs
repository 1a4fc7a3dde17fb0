//! Lifecycle rules applied: a background sweep expires objects (`Expiration` by
//! `Days` or `Date`) and aborts unfinished multipart uploads
//! (`AbortIncompleteMultipartUpload`) of every bucket with a lifecycle configuration.
//!
//! As S3 counts: an object expires at the first midnight UTC at least `Days` days after
//! it was written (an upload is aborted likewise, counted from its initiation), or
//! from `Date` on. A rule applies to the keys of its prefix, sizes and tags (`Filter`,
//! or the legacy `Prefix`); only `Enabled` rules run. On a versioned bucket an
//! expiration adds a delete marker (the object stays as a noncurrent version), as S3
//! does. Transitions have nothing to act on here (one storage class); noncurrent-version
//! actions are stored but not applied.
//!
//! An object is removed only while it is still the one the sweep judged (a newer
//! object of the same key written meanwhile stays), its blob after the store let go
//! of it.

use std::sync::Arc;
use std::time::Duration;

use iamd_store::ObjectMeta;
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
                if rule.expiration.is_some() {
                    objects += self.expire_objects(&b.name, rule, &sel, now_ms).await?;
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
                let size_ok = sel.larger_than.is_none_or(|m| o.size > m)
                    && sel.smaller_than.is_none_or(|m| o.size < m);
                if !size_ok || !object_due(rule, o.last_modified, now_ms) {
                    continue;
                }
                if !sel.tags.is_empty() {
                    let tags = self
                        .store
                        .get_object_tags(bucket, &o.key, Some(&o.version_id))
                        .await?;
                    if !sel.tags.iter().all(|t| tags.contains(t)) {
                        continue;
                    }
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
