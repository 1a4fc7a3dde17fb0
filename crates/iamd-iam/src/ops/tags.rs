//! Tags, alike for every entity kind (TagUser, UntagUser, ListUserTags; the role's
//! and the instance profile's: one more `tag_operations!` line each): AWS's rules — at most 50 per entity, keys
//! unique case-insensitively, a key set again in another case replaces the old one, keys
//! beginning with `aws:` reserved. The length and character rules are the model's
//! (checked when the request is decoded).

use iamd_api::iam as api;
use iamd_store::{Change, Store, TagRecord};

use super::{
    out, page, quota, removed_tag_keys, request_tag_keys, with_keys, Cx, Operation, Output,
};
use crate::core::Iam;
use crate::entity::{Entity, Tags};
use crate::error::IamError;
use crate::principal::{Check, Principal};
use crate::state::{InstanceProfile, Role, State, User};

/// AWS reserves tag keys beginning with `aws:` (any case) for its own use.
pub(crate) const RESERVED_PREFIX: &str =
    "Tag keys starting with 'aws:' are reserved for internal use.";

/// The changes that set `new` on the entity `id` whose tags are `existing`, after
/// AWS's checks: no key twice (case-insensitively), at most 50 tags in all.
pub(crate) fn tagging<E: Entity>(
    id: &str,
    existing: &[(String, String)],
    new: &[api::Tag],
) -> Result<Vec<Change>, IamError> {
    for (i, t) in new.iter().enumerate() {
        if new[..i].iter().any(|o| o.key.eq_ignore_ascii_case(&t.key)) {
            return Err(IamError::InvalidInput(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into(),
            ));
        }
    }
    // The `aws:` prefix (any case) is AWS's own.
    if new.iter().any(|t| {
        t.key
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
    }) {
        return Err(IamError::InvalidInput(RESERVED_PREFIX.into()));
    }
    let same_key = |t: &api::Tag| {
        existing
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&t.key))
            .map(|(k, _)| k)
    };
    let added = new.iter().filter(|t| same_key(t).is_none()).count();
    if existing.len() + added > quota::TAGS_PER_ENTITY {
        return Err(IamError::LimitExceeded(format!(
            "The number of tags has reached the maximum limit of {}.",
            quota::TAGS_PER_ENTITY
        )));
    }
    let mut changes = Vec::new();
    for t in new {
        if let Some(old) = same_key(t).filter(|k| **k != t.key) {
            changes.push(Change::DeleteTag {
                owner_kind: E::OWNER,
                owner_id: id.to_string(),
                key: old.clone(),
            });
        }
        changes.push(Change::PutTag(TagRecord {
            owner_kind: E::OWNER,
            owner_id: id.to_string(),
            key: t.key.clone(),
            value: t.value.clone(),
        }));
    }
    Ok(changes)
}

/// The changes that delete the tags of `e` whose key `remove` selects.
pub(crate) fn untagging<E: Entity>(e: &E, remove: impl Fn(&str) -> bool) -> Vec<Change> {
    e.tags()
        .iter()
        .filter(|(k, _)| remove(k))
        .map(|(k, _)| Change::DeleteTag {
            owner_kind: E::OWNER,
            owner_id: e.id().to_string(),
            key: k.clone(),
        })
        .collect()
}

/// Tags as AWS returns them.
pub(crate) fn api_tags(tags: &Tags) -> Vec<api::Tag> {
    tags.iter()
        .map(|(k, v)| api::Tag {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

/// Tag…: sets `tags` on the entity `find` resolves in the state (by name, or a
/// customer-managed policy by ARN).
pub(super) async fn tag<E: Entity, S: Store>(
    iam: &Iam<S>,
    find: impl for<'s> Fn(&'s State) -> Result<&'s E, IamError> + Send + Sync,
    tags: &[api::Tag],
) -> Result<Output, IamError> {
    iam.change(|state| {
        let e = find(state)?;
        tagging::<E>(e.id(), e.tags(), tags)
    })
    .await
}

/// Untag…: removes the `keys` (case-insensitively) from the entity `find` resolves.
pub(super) async fn untag<E: Entity, S: Store>(
    iam: &Iam<S>,
    find: impl for<'s> Fn(&'s State) -> Result<&'s E, IamError> + Send + Sync,
    keys: &[String],
) -> Result<Output, IamError> {
    iam.change(|state| {
        let e = find(state)?;
        Ok(untagging(e, |k| {
            keys.iter().any(|d| d.eq_ignore_ascii_case(k))
        }))
    })
    .await
}

/// One page of the tags `find` resolves (`None`: an entity without tags, such as an
/// AWS-managed policy), in insertion order: `(tags, is_truncated, marker)`.
pub(super) fn list<S: Store>(
    iam: &Iam<S>,
    find: impl for<'s> FnOnce(&'s State) -> Result<Option<&'s Tags>, IamError>,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> Result<(Vec<api::Tag>, bool, Option<String>), IamError> {
    let state = iam.read();
    let items: Vec<(String, api::Tag)> = find(&state)?
        .map(api_tags)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, t)| (format!("{i:06}"), t))
        .collect();
    Ok(page(items, marker, max_items))
}

/// Tag, Untag and List…Tags of the kind `$E`, whose requests name it in `$name`.
macro_rules! tag_operations {
    ($E:ty, $name:ident, $tag:ident, $untag:ident, $list:ident => $listed:ident) => {
        impl Operation for api::$tag {
            fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
                Ok(with_keys(
                    cx.entity::<$E>(&self.$name),
                    request_tag_keys(&self.tags),
                ))
            }
            async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
                tag(iam, |s| <$E>::named(s, &self.$name), &self.tags).await
            }
        }

        impl Operation for api::$untag {
            fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
                Ok(with_keys(
                    cx.entity::<$E>(&self.$name),
                    removed_tag_keys(&self.tag_keys),
                ))
            }
            async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
                untag(iam, |s| <$E>::named(s, &self.$name), &self.tag_keys).await
            }
        }

        impl Operation for api::$list {
            fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
                Ok(cx.entity::<$E>(&self.$name))
            }
            async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
                let (tags, is_truncated, marker) = list(
                    iam,
                    |s| <$E>::named(s, &self.$name).map(|e| Some(e.tags())),
                    self.marker.as_deref(),
                    self.max_items,
                )?;
                out(api::$listed {
                    tags,
                    is_truncated: Some(is_truncated),
                    marker,
                })
            }
        }
    };
}

tag_operations!(User, user_name, TagUserRequest, UntagUserRequest, ListUserTagsRequest => ListUserTagsResult);
tag_operations!(Role, role_name, TagRoleRequest, UntagRoleRequest, ListRoleTagsRequest => ListRoleTagsResult);
tag_operations!(InstanceProfile, instance_profile_name, TagInstanceProfileRequest,
    UntagInstanceProfileRequest, ListInstanceProfileTagsRequest => ListInstanceProfileTagsResult);
