//! Managed policies: customer-managed ones (CreatePolicy, GetPolicy, DeletePolicy,
//! ListPolicies; versions: CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions,
//! DeletePolicyVersion, SetDefaultPolicyVersion; tags: TagPolicy, UntagPolicy,
//! ListPolicyTags), the AWS-managed catalogue (`iamd_catalog`: readable, listable,
//! attachable, read-only), and attachments to users, groups and roles
//! (Attach…/Detach…/ListAttached…Policies, ListEntitiesForPolicy).
//!
//! Attached policies count among the identity policies the engine evaluates: memory
//! keeps every user's and role's compiled set current (`state.rs`), including when a
//! policy's default version changes.

use std::collections::BTreeSet;

use iamd_api::iam as api;
use iamd_api::Timestamp;
use iamd_policy::PolicyType;
use iamd_store::{AttachmentRecord, Change, ManagedPolicyRecord, PolicyVersionRecord, Store};

use super::{
    out, page, page_from, quota, removed_tag_keys, request_tag_keys, tags, ts, url_encode,
    with_keys, Cx, Operation, Output,
};
use crate::core::{now_ms, Iam};
use crate::entity::Entity;
use crate::error::IamError;
use crate::principal::{Check, Principal};
use crate::state::{is_aws_managed, version_number, Group, ManagedPolicy, Role, State, User};

/// A managed policy an ARN names.
#[derive(Clone, Copy)]
pub(super) enum Found<'a> {
    Local(&'a ManagedPolicy),
    Aws(&'static iamd_catalog::ManagedPolicy),
}

/// InvalidInput unless `arn` has a managed policy ARN's shape
/// (`arn:aws:iam::<12 digits | aws>:policy/…`).
pub(crate) fn check_arn(arn: &str) -> Result<(), IamError> {
    let ok = arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(account, resource)| {
            (account == "aws" || iamd_session::is_account_id(account))
                && resource.starts_with("policy/")
                && !resource.contains(':')
        });
    if ok {
        Ok(())
    } else {
        Err(IamError::InvalidInput(format!("ARN {arn} is not valid.")))
    }
}

/// One AWS-managed policy as ListPolicies orders it: by name, then ARN.
struct AwsListed {
    /// `NAME ARN`: the sort key and the listing's marker.
    key: Box<str>,
    policy: &'static iamd_catalog::ManagedPolicy,
}

impl AwsListed {
    fn arn(&self) -> &str {
        self.key
            .get(self.policy.name().len() + 1..)
            .unwrap_or_default()
    }
}

/// The catalogue in ListPolicies order, built on first use.
fn aws_listing() -> Result<&'static [AwsListed], IamError> {
    static LISTING: std::sync::OnceLock<Vec<AwsListed>> = std::sync::OnceLock::new();
    if let Some(l) = LISTING.get() {
        return Ok(l);
    }
    let mut l: Vec<AwsListed> = catalog()?
        .iter()
        .map(|p| AwsListed {
            key: format!("{} {}", p.name(), p.arn()).into(),
            policy: p,
        })
        .collect();
    l.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(LISTING.get_or_init(|| l))
}

/// Two iterators in key order merged into one in key order.
fn merged<K: Ord, T>(
    a: impl Iterator<Item = (K, T)>,
    b: impl Iterator<Item = (K, T)>,
) -> impl Iterator<Item = (K, T)> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some((ka, _)), Some((kb, _))) if kb < ka => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}

fn catalog() -> Result<&'static iamd_catalog::Catalog, IamError> {
    iamd_catalog::catalog().map_err(|e| IamError::Internal(e.to_string()))
}

/// Whether the managed policy `arn` exists (customer-managed in this account, or in
/// AWS's catalogue).
pub(crate) fn policy_exists(state: &State, arn: &str) -> bool {
    find(state, arn).is_some()
}

pub(super) fn find<'a>(state: &'a State, arn: &str) -> Option<Found<'a>> {
    if is_aws_managed(arn) {
        iamd_catalog::catalog()
            .ok()
            .and_then(|c| c.by_arn(arn))
            .map(Found::Aws)
    } else {
        state.policy_by_arn(arn).map(Found::Local)
    }
}

/// AWS's NoSuchEntity for a policy that does not exist (GetPolicy, DeletePolicy, …).
fn not_found(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("Policy {arn} was not found."))
}

/// AWS's NoSuchEntity for a policy that cannot be attached (Attach…Policy).
fn not_attachable(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
}

fn no_such_version(arn: &str, version: &str) -> IamError {
    IamError::NoSuchEntity(format!(
        "Policy {arn} version {version} does not exist or is not attachable."
    ))
}

/// The existing managed policy `arn` (customer- or AWS-managed).
fn existing<'a>(state: &'a State, arn: &str) -> Result<Found<'a>, IamError> {
    check_arn(arn)?;
    find(state, arn).ok_or_else(|| not_found(arn))
}

/// The customer-managed policy `arn`, for an operation that changes it. AWS-managed
/// policies belong to the `aws` account, on which no caller is ever authorized to
/// change anything: AWS's AccessDenied naming the policy.
fn writable<'a>(
    state: &'a State,
    p: &Principal,
    action: &str,
    arn: &str,
) -> Result<&'a ManagedPolicy, IamError> {
    match existing(state, arn)? {
        Found::Local(m) => Ok(m),
        Found::Aws(_) => Err(IamError::AccessDenied(format!(
            "User: {} is not authorized to perform: {action} on resource: policy {arn}",
            p.arn()
        ))),
    }
}

/// A document as CreatePolicy and CreatePolicyVersion check it: the managed policy
/// grammar, then its size (PolicySize, whitespace not counted).
fn check_document(doc: &str) -> Result<(), IamError> {
    super::check_document(
        doc,
        PolicyType::Managed,
        "PolicySize",
        quota::MANAGED_POLICY_SIZE,
    )
}

/// A catalogue date (`YYYY-MM-DDTHH:MM:SSZ`) as a timestamp.
pub(super) fn catalog_date(s: &str) -> Option<Timestamp> {
    Timestamp::parse_iso8601(s).ok()
}

fn count(n: usize) -> Option<i32> {
    Some(i32::try_from(n).unwrap_or(i32::MAX))
}

/// The policy as ListPolicies shows it (GetPolicy adds the description and tags).
pub(super) fn api_policy(state: &State, account: &str, f: &Found<'_>) -> api::Policy {
    match f {
        Found::Local(m) => {
            let arn = m.arn(account);
            let mut p = m.to_api(account);
            p.attachment_count = count(state.attachment_count(&arn));
            p.permissions_boundary_usage_count = count(state.boundary_count(&arn));
            // AWS: the creation of the newest version.
            let updated = m.versions.values().map(|v| v.rec.created).max();
            p.update_date = Some(ts(updated.unwrap_or(m.rec.created)));
            p
        }
        Found::Aws(c) => {
            let arn = c.arn();
            api::Policy {
                policy_name: Some(c.name().to_string()),
                policy_id: Some(crate::ids::derived_id("ANPA", &arn)),
                path: Some(c.path().to_string()),
                default_version_id: Some(c.default_version().id().to_string()),
                attachment_count: count(state.attachment_count(&arn)),
                permissions_boundary_usage_count: count(state.boundary_count(&arn)),
                is_attachable: Some(true),
                description: None,
                create_date: catalog_date(c.create_date()),
                update_date: catalog_date(c.update_date()),
                tags: None,
                arn: Some(arn),
            }
        }
    }
}

/// The check of the operation on the policy `arn`, with its resource tags.
fn on_policy(cx: &Cx<'_>, arn: &str) -> Vec<Check> {
    let keys = cx
        .state
        .policy_by_arn(arn)
        .map(|m| m.resource_tag_keys())
        .unwrap_or_default();
    cx.on(arn.to_string(), keys)
}

impl Operation for api::CreatePolicyRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.creation::<ManagedPolicy>(
            self.path.as_deref(),
            &self.policy_name,
            self.tags.as_deref(),
            None,
        ))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        check_document(&self.policy_document)?;
        let tags = self.tags.unwrap_or_default();
        let now = now_ms();
        let rec = ManagedPolicyRecord {
            id: crate::ids::unique_id("ANPA")?,
            name: self.policy_name,
            path: self.path.unwrap_or_else(|| "/".to_string()),
            created: now,
            description: self.description,
            default_version: "v1".to_string(),
            next_version: 2,
        };
        let description = rec.description.clone();
        let version = PolicyVersionRecord {
            policy_id: rec.id.clone(),
            version_id: "v1".to_string(),
            document: self.policy_document,
            created: now,
        };
        let mut policy = iam
            .create_with::<ManagedPolicy>(rec, |state, rec| {
                if state.policies.len() >= quota::MANAGED_POLICIES {
                    return Err(IamError::LimitExceeded(format!(
                        "Cannot exceed quota for PoliciesPerAccount: {}",
                        quota::MANAGED_POLICIES
                    )));
                }
                let mut changes = vec![Change::PutPolicyVersion(version.clone())];
                changes.extend(tags::tagging::<ManagedPolicy>(&rec.id, &[], &tags)?);
                Ok(changes)
            })
            .await?;
        policy.description = description;
        if !tags.is_empty() {
            policy.tags = Some(tags);
        }
        out(api::CreatePolicyResult {
            policy: Some(policy),
        })
    }
}

impl Operation for api::GetPolicyRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(on_policy(cx, &self.policy_arn))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        let found = existing(&state, &self.policy_arn)?;
        let mut policy = api_policy(&state, iam.account_id(), &found);
        if let Found::Local(m) = found {
            policy.description = m.rec.description.clone();
            if !m.tags.is_empty() {
                policy.tags = Some(tags::api_tags(&m.tags));
            }
        }
        out(api::GetPolicyResult {
            policy: Some(policy),
        })
    }
}

impl Operation for api::DeletePolicyRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(on_policy(cx, &self.policy_arn))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        let arn = self.policy_arn;
        iam.change(|state| {
            let m = writable(state, p, "iam:DeletePolicy", &arn)?;
            if state.attachment_count(&arn) > 0 || state.boundary_count(&arn) > 0 {
                return Err(IamError::DeleteConflict(
                    "Cannot delete a policy attached to entities.".to_string(),
                ));
            }
            if m.versions.len() > 1 {
                return Err(IamError::DeleteConflict(
                    "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."
                        .to_string(),
                ));
            }
            let mut changes = tags::untagging(m, |_| true);
            changes.push(Change::DeleteManagedPolicy {
                id: m.rec.id.clone(),
            });
            Ok(changes)
        })
        .await
    }
}

/// Whether a policy used `attached` times as a permissions policy and `boundary` times
/// as a permissions boundary passes ListPolicies' OnlyAttached and PolicyUsageFilter.
fn usage_passes(
    only_attached: bool,
    filter: Option<&str>,
    attached: usize,
    boundary: usize,
) -> bool {
    let by_filter = match filter {
        Some("PermissionsPolicy") => attached > 0,
        Some("PermissionsBoundary") => boundary > 0,
        _ => true,
    };
    by_filter && (!only_attached || attached + boundary > 0)
}

impl Operation for api::ListPoliciesRequest {
    /// The reference lists no resource type for ListPolicies.
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.wildcard())
    }

    /// Scope `All` (default), `AWS` or `Local`; in name order (AWS-managed and
    /// customer-managed policies merged), paged by name and ARN.
    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let scope = self.scope.as_deref().unwrap_or("All");
        let prefix = self.path_prefix.as_deref().unwrap_or("/");
        let only_attached = self.only_attached.unwrap_or(false);
        let filter = self.policy_usage_filter.as_deref();
        let account = iam.account_id();
        let state = iam.read();
        let passes = |path: &str, arn: &str| {
            path.starts_with(prefix)
                && usage_passes(
                    only_attached,
                    filter,
                    state.attachment_count(arn),
                    state.boundary_count(arn),
                )
        };
        let marker = self.marker.as_deref().unwrap_or("");
        // The account's own policies (few), sorted here; AWS's from the catalogue's
        // index, sorted once. Both start at the marker and are merged lazily: a page
        // reads its items and one more.
        let mut local: Vec<(String, Found<'_>)> = Vec::new();
        if scope != "AWS" {
            for m in state.policies.values() {
                let arn = m.arn(account);
                let key = format!("{} {arn}", m.rec.name);
                if key.as_str() >= marker && passes(&m.rec.path, &arn) {
                    local.push((key, Found::Local(m)));
                }
            }
        }
        local.sort_by(|a, b| a.0.cmp(&b.0));
        let aws: &[AwsListed] = match scope {
            "Local" => &[],
            _ => aws_listing()?,
        };
        let aws = aws
            .get(aws.partition_point(|e| &*e.key < marker)..)
            .unwrap_or_default()
            .iter()
            .filter(|e| passes(e.policy.path(), e.arn()))
            .map(|e| (&*e.key, Found::Aws(e.policy)));
        let local = local.iter().map(|(k, f)| (k.as_str(), *f));
        let (found, is_truncated, marker) = page_from(merged(aws, local), self.max_items);
        let policies = found
            .iter()
            .map(|f| api_policy(&state, account, f))
            .collect();
        out(api::ListPoliciesResult {
            policies: Some(policies),
            is_truncated: Some(is_truncated),
            marker,
        })
    }
}

// ----- versions -------------------------------------------------------------------

impl Operation for api::CreatePolicyVersionRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(on_policy(cx, &self.policy_arn))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        check_document(&self.policy_document)?;
        let (arn, document) = (self.policy_arn, self.policy_document);
        let set_as_default = self.set_as_default.unwrap_or(false);
        let version = iam
            .write(|state| {
                let m = writable(state, p, "iam:CreatePolicyVersion", &arn)?;
                if m.versions.len() >= quota::VERSIONS_PER_POLICY {
                    return Err(IamError::LimitExceeded(format!(
                        "A managed policy can have up to {} versions. Before you create a new version, you must delete an existing version.",
                        quota::VERSIONS_PER_POLICY
                    )));
                }
                let id = format!("v{}", m.rec.next_version);
                let created = now_ms();
                let mut rec = m.rec.clone();
                rec.next_version += 1;
                if set_as_default {
                    rec.default_version = id.clone();
                }
                let changes = vec![
                    Change::PutPolicyVersion(PolicyVersionRecord {
                        policy_id: m.rec.id.clone(),
                        version_id: id.clone(),
                        document: document.clone(),
                        created,
                    }),
                    Change::PutManagedPolicy(rec),
                ];
                let shown = api::PolicyVersion {
                    document: None,
                    version_id: Some(id),
                    is_default_version: Some(set_as_default),
                    create_date: Some(ts(created)),
                };
                Ok((changes, shown))
            })
            .await?;
        out(api::CreatePolicyVersionResult {
            policy_version: Some(version),
        })
    }
}

/// A version of a customer-managed policy as AWS shows it (`document`: GetPolicyVersion's).
pub(super) fn local_version(
    m: &ManagedPolicy,
    v: &crate::state::PolicyVersion,
    document: Option<String>,
) -> api::PolicyVersion {
    api::PolicyVersion {
        document,
        version_id: Some(v.rec.version_id.clone()),
        is_default_version: Some(v.rec.version_id == m.rec.default_version),
        create_date: Some(ts(v.rec.created)),
    }
}

/// A version of an AWS-managed policy as AWS shows it.
pub(super) fn aws_version(
    c: &iamd_catalog::ManagedPolicy,
    v: &iamd_catalog::PolicyVersion,
    document: Option<String>,
) -> api::PolicyVersion {
    api::PolicyVersion {
        document,
        version_id: Some(v.id().to_string()),
        is_default_version: Some(v.id() == c.default_version().id()),
        create_date: catalog_date(v.create_date()),
    }
}

/// Items in their own order, keyed for [`page`] by position.
fn indexed<T>(items: Vec<T>) -> Vec<(String, T)> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, t)| (format!("{i:06}"), t))
        .collect()
}

impl Operation for api::GetPolicyVersionRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(on_policy(cx, &self.policy_arn))
    }

    /// The document URL-encoded, as AWS returns it.
    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        let (arn, id) = (&self.policy_arn, &self.version_id);
        let version = match existing(&state, arn)? {
            Found::Local(m) => {
                let v = version_number(id)
                    .and_then(|n| m.versions.get(&n))
                    .ok_or_else(|| no_such_version(arn, id))?;
                local_version(m, v, Some(url_encode(&v.rec.document)))
            }
            Found::Aws(c) => {
                let v = c.version(id).ok_or_else(|| no_such_version(arn, id))?;
                let doc = v
                    .document()
                    .map_err(|e| IamError::Internal(e.to_string()))?;
                aws_version(c, v, Some(url_encode(&doc)))
            }
        };
        out(api::GetPolicyVersionResult {
            policy_version: Some(version),
        })
    }
}

impl Operation for api::ListPolicyVersionsRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(on_policy(cx, &self.policy_arn))
    }

    /// Newest first, without documents (AWS's order and shape).
    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        let versions: Vec<api::PolicyVersion> = match existing(&state, &self.policy_arn)? {
            Found::Local(m) => m
                .versions
                .values()
                .rev()
                .map(|v| local_version(m, v, None))
                .collect(),
            Found::Aws(c) => c.versions().map(|v| aws_version(c, v, None)).collect(),
        };
        let (versions, is_truncated, marker) =
            page(indexed(versions), self.marker.as_deref(), self.max_items);
        out(api::ListPolicyVersionsResult {
            versions: Some(versions),
            is_truncated: Some(is_truncated),
            marker,
        })
    }
}

/// The version `id` of the customer-managed policy `arn` an operation changes.
fn writable_version<'a>(
    state: &'a State,
    p: &Principal,
    action: &str,
    arn: &str,
    id: &str,
) -> Result<&'a ManagedPolicy, IamError> {
    let m = writable(state, p, action, arn)?;
    match version_number(id).and_then(|n| m.versions.get(&n)) {
        Some(_) => Ok(m),
        None => Err(no_such_version(arn, id)),
    }
}

impl Operation for api::DeletePolicyVersionRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(on_policy(cx, &self.policy_arn))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        let (arn, id) = (self.policy_arn, self.version_id);
        iam.change(|state| {
            let m = writable_version(state, p, "iam:DeletePolicyVersion", &arn, &id)?;
            if m.rec.default_version == id {
                return Err(IamError::DeleteConflict(
                    "Cannot delete the default version of a policy.".to_string(),
                ));
            }
            Ok(vec![Change::DeletePolicyVersion {
                policy_id: m.rec.id.clone(),
                version_id: id.clone(),
            }])
        })
        .await
    }
}

impl Operation for api::SetDefaultPolicyVersionRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(on_policy(cx, &self.policy_arn))
    }

    /// Every principal with the policy attached is evaluated with the new default from
    /// the next request on (`State::apply` refreshes their compiled sets).
    async fn run<S: Store>(self, iam: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        let (arn, id) = (self.policy_arn, self.version_id);
        iam.change(|state| {
            let m = writable_version(state, p, "iam:SetDefaultPolicyVersion", &arn, &id)?;
            let mut rec = m.rec.clone();
            rec.default_version = id.clone();
            Ok(vec![Change::PutManagedPolicy(rec)])
        })
        .await
    }
}

// ----- tags -----------------------------------------------------------------------

impl Operation for api::TagPolicyRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(with_keys(
            on_policy(cx, &self.policy_arn),
            request_tag_keys(&self.tags),
        ))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        let arn = &self.policy_arn;
        tags::tag(iam, |s| writable(s, p, "iam:TagPolicy", arn), &self.tags).await
    }
}

impl Operation for api::UntagPolicyRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(with_keys(
            on_policy(cx, &self.policy_arn),
            removed_tag_keys(&self.tag_keys),
        ))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        let arn = &self.policy_arn;
        tags::untag(
            iam,
            |s| writable(s, p, "iam:UntagPolicy", arn),
            &self.tag_keys,
        )
        .await
    }
}

impl Operation for api::ListPolicyTagsRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(on_policy(cx, &self.policy_arn))
    }

    /// In insertion order; an AWS-managed policy has none.
    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let (tags, is_truncated, marker) = tags::list(
            iam,
            |s| {
                Ok(match existing(s, &self.policy_arn)? {
                    Found::Local(m) => Some(&m.tags),
                    Found::Aws(_) => None,
                })
            },
            self.marker.as_deref(),
            self.max_items,
        )?;
        out(api::ListPolicyTagsResult {
            tags,
            is_truncated: Some(is_truncated),
            marker,
        })
    }
}

// ----- attachments ----------------------------------------------------------------

/// The kinds managed policies attach to.
pub(crate) trait Attachable: Entity {
    /// The quota AWS names at the 11th attachment (`PoliciesPerUser`).
    const QUOTA: &'static str;
    /// ARNs of the attached managed policies.
    fn attached(&self) -> &BTreeSet<String>;
    /// The ARN of its permissions boundary (groups have none).
    fn boundary(&self) -> Option<&str>;
}

impl Attachable for User {
    const QUOTA: &'static str = "PoliciesPerUser";
    fn attached(&self) -> &BTreeSet<String> {
        &self.attached
    }
    fn boundary(&self) -> Option<&str> {
        self.rec.boundary_arn.as_deref()
    }
}

impl Attachable for Group {
    const QUOTA: &'static str = "PoliciesPerGroup";
    fn attached(&self) -> &BTreeSet<String> {
        &self.attached
    }
    fn boundary(&self) -> Option<&str> {
        None
    }
}

impl Attachable for Role {
    const QUOTA: &'static str = "PoliciesPerRole";
    fn attached(&self) -> &BTreeSet<String> {
        &self.attached
    }
    fn boundary(&self) -> Option<&str> {
        self.rec.boundary_arn.as_deref()
    }
}

/// Attach…Policy / Detach…Policy: the user, group or role, with the policy's ARN as
/// `iam:PolicyARN` (Service Authorization Reference) and its resource tags.
fn attachment_checks<E: Entity>(cx: &Cx<'_>, name: &str, arn: &str) -> Vec<Check> {
    let (target, mut keys) = cx.target::<E>(name);
    keys.push(("iam:PolicyARN".to_string(), vec![arn.to_string()]));
    cx.on(target, keys)
}

fn attachment<E: Attachable>(e: &E, arn: &str) -> AttachmentRecord {
    AttachmentRecord {
        owner_kind: E::OWNER,
        owner_id: e.id().to_string(),
        policy_arn: arn.to_string(),
    }
}

/// Attaches the managed policy `arn` to the entity `name` (again: nothing changes).
async fn attach<E: Attachable, S: Store>(
    iam: &Iam<S>,
    name: &str,
    arn: &str,
) -> Result<Output, IamError> {
    check_arn(arn)?;
    iam.change(|state| {
        let e = E::named(state, name)?;
        e.ensure_modifiable()?;
        if find(state, arn).is_none() {
            return Err(not_attachable(arn));
        }
        super::boundaries::not_service_role_policy(arn)?;
        if e.attached().contains(arn) {
            return Ok(Vec::new());
        }
        if e.attached().len() >= quota::ATTACHED_POLICIES {
            return Err(IamError::LimitExceeded(format!(
                "Cannot exceed quota for {}: {}",
                E::QUOTA,
                quota::ATTACHED_POLICIES
            )));
        }
        Ok(vec![Change::PutAttachment(attachment(e, arn))])
    })
    .await
}

async fn detach<E: Attachable, S: Store>(
    iam: &Iam<S>,
    name: &str,
    arn: &str,
) -> Result<Output, IamError> {
    check_arn(arn)?;
    iam.change(|state| {
        let e = E::named(state, name)?;
        e.ensure_modifiable()?;
        if !e.attached().contains(arn) {
            return Err(not_found(arn));
        }
        Ok(vec![Change::DeleteAttachment(attachment(e, arn))])
    })
    .await
}

/// One page of the policies attached to the entity `name` whose path starts with
/// `path_prefix`, in name order.
fn list_attached<E: Attachable, S: Store>(
    iam: &Iam<S>,
    name: &str,
    path_prefix: Option<&str>,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> Result<(Vec<api::AttachedPolicy>, bool, Option<String>), IamError> {
    let prefix = path_prefix.unwrap_or("/");
    let state = iam.read();
    let e = E::named(&state, name)?;
    let mut items: Vec<(String, api::AttachedPolicy)> = e
        .attached()
        .iter()
        .filter_map(|arn| {
            let (name, path) = match find(&state, arn)? {
                Found::Local(m) => (m.rec.name.clone(), m.rec.path.clone()),
                Found::Aws(c) => (c.name().to_string(), c.path().to_string()),
            };
            path.starts_with(prefix).then(|| {
                (
                    format!("{name} {arn}"),
                    api::AttachedPolicy {
                        policy_name: Some(name),
                        policy_arn: Some(arn.clone()),
                    },
                )
            })
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(page(items, marker, max_items))
}

/// Attach…Policy, Detach…Policy and ListAttached…Policies of the kind `$E`, whose
/// requests name it in `$name`.
macro_rules! attachment_operations {
    ($E:ty, $name:ident, $attach:ident, $detach:ident, $list:ident => $listed:ident) => {
        impl Operation for api::$attach {
            fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
                Ok(attachment_checks::<$E>(cx, &self.$name, &self.policy_arn))
            }
            async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
                attach::<$E, S>(iam, &self.$name, &self.policy_arn).await
            }
        }

        impl Operation for api::$detach {
            fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
                Ok(attachment_checks::<$E>(cx, &self.$name, &self.policy_arn))
            }
            async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
                detach::<$E, S>(iam, &self.$name, &self.policy_arn).await
            }
        }

        impl Operation for api::$list {
            fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
                Ok(cx.entity::<$E>(&self.$name))
            }
            async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
                let (attached_policies, is_truncated, marker) = list_attached::<$E, S>(
                    iam,
                    &self.$name,
                    self.path_prefix.as_deref(),
                    self.marker.as_deref(),
                    self.max_items,
                )?;
                out(api::$listed {
                    attached_policies: Some(attached_policies),
                    is_truncated: Some(is_truncated),
                    marker,
                })
            }
        }
    };
}

attachment_operations!(User, user_name, AttachUserPolicyRequest, DetachUserPolicyRequest,
    ListAttachedUserPoliciesRequest => ListAttachedUserPoliciesResult);
attachment_operations!(Group, group_name, AttachGroupPolicyRequest, DetachGroupPolicyRequest,
    ListAttachedGroupPoliciesRequest => ListAttachedGroupPoliciesResult);
attachment_operations!(Role, role_name, AttachRolePolicyRequest, DetachRolePolicyRequest,
    ListAttachedRolePoliciesRequest => ListAttachedRolePoliciesResult);

/// Which entities ListEntitiesForPolicy selects: those under `prefix` that have the
/// policy `arn` attached (when `policies`) or as permissions boundary (when
/// `boundaries`).
struct Holding<'a> {
    arn: &'a str,
    prefix: &'a str,
    policies: bool,
    boundaries: bool,
}

impl Holding<'_> {
    /// The selected entities of kind `E`, keyed by `order` and lower(name), as `make`
    /// shows them.
    fn of<E: Attachable>(
        &self,
        state: &State,
        order: char,
        make: fn(&E) -> Listed,
    ) -> Vec<(String, Listed)> {
        E::table(state)
            .0
            .values()
            .filter(|e| {
                ((self.policies && e.attached().contains(self.arn))
                    || (self.boundaries && e.boundary() == Some(self.arn)))
                    && e.path().starts_with(self.prefix)
            })
            .map(|e| (format!("{order} {}", e.name().to_lowercase()), make(e)))
            .collect()
    }
}

/// One entity ListEntitiesForPolicy returns.
enum Listed {
    Group(api::PolicyGroup),
    Role(api::PolicyRole),
    User(api::PolicyUser),
}

impl Operation for api::ListEntitiesForPolicyRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(on_policy(cx, &self.policy_arn))
    }

    /// The groups, roles and users (in that order, each by name) that have the policy
    /// attached (`PermissionsPolicy`) and/or as permissions boundary
    /// (`PermissionsBoundary`); EntityFilter `LocalManagedPolicy` / `AWSManagedPolicy`
    /// select nothing (a policy attaches to no policy).
    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        let arn = self.policy_arn.as_str();
        existing(&state, arn)?;
        let prefix = self.path_prefix.as_deref().unwrap_or("/");
        let filter = self.entity_filter.as_deref();
        let wants = |kind: &str| filter.is_none() || filter == Some(kind);
        let (policies, boundaries) = match self.policy_usage_filter.as_deref() {
            Some("PermissionsPolicy") => (true, false),
            Some("PermissionsBoundary") => (false, true),
            _ => (true, true),
        };
        let mut items: Vec<(String, Listed)> = Vec::new();
        let who = Holding {
            arn,
            prefix,
            policies,
            boundaries,
        };
        if wants("Group") {
            items.extend(who.of::<Group>(&state, 'g', |g| {
                Listed::Group(api::PolicyGroup {
                    group_name: Some(g.rec.name.clone()),
                    group_id: Some(g.rec.id.clone()),
                })
            }));
        }
        if wants("Role") {
            items.extend(who.of::<Role>(&state, 'r', |r| {
                Listed::Role(api::PolicyRole {
                    role_name: Some(r.rec.name.clone()),
                    role_id: Some(r.rec.id.clone()),
                })
            }));
        }
        if wants("User") {
            items.extend(who.of::<User>(&state, 'u', |u| {
                Listed::User(api::PolicyUser {
                    user_name: Some(u.rec.name.clone()),
                    user_id: Some(u.rec.id.clone()),
                })
            }));
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (listed, is_truncated, marker) = page(items, self.marker.as_deref(), self.max_items);
        let (mut policy_groups, mut policy_roles, mut policy_users) =
            (Vec::new(), Vec::new(), Vec::new());
        for l in listed {
            match l {
                Listed::Group(g) => policy_groups.push(g),
                Listed::Role(r) => policy_roles.push(r),
                Listed::User(u) => policy_users.push(u),
            }
        }
        out(api::ListEntitiesForPolicyResult {
            policy_groups: Some(policy_groups),
            policy_users: Some(policy_users),
            policy_roles: Some(policy_roles),
            is_truncated: Some(is_truncated),
            marker,
        })
    }
}

#[cfg(test)]
#[allow(clippy::panic, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn policy_arns_are_checked_for_shape() {
        for ok in [
            "arn:aws:iam::123456789012:policy/x",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "arn:aws:iam::aws:policy/service-role/AWSConfigRole",
        ] {
            assert!(check_arn(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ReadOnlyAccess",
            "arn:aws:iam::aws:policy/arn:aws:iam::aws:policy/SecurityAudit",
            "arn:aws:iam::12345:policy/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:s3:::bucket",
        ] {
            match check_arn(bad) {
                Err(IamError::InvalidInput(m)) => assert_eq!(m, format!("ARN {bad} is not valid.")),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn usage_filters() {
        assert!(usage_passes(false, None, 0, 0));
        assert!(!usage_passes(true, None, 0, 0));
        assert!(usage_passes(true, None, 0, 1));
        assert!(!usage_passes(false, Some("PermissionsPolicy"), 0, 1));
        assert!(usage_passes(false, Some("PermissionsBoundary"), 0, 1));
        assert!(usage_passes(true, Some("PermissionsPolicy"), 2, 0));
    }
}
