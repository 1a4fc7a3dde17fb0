//! The IAM and STS operations, one [`Operation`] impl per implemented request type,
//! in modules by resource family. Each impl says which action on which resources the
//! request needs ([`Operation::checks`], docs/policy-semantics.md §6.2, with the
//! condition keys of §5.4) and what it does once authorized ([`Operation::run`]); the
//! front door (`front.rs`) lists the implemented operations once and runs
//! checks → authorize → run. Writes go through [`Iam::write`]; what every entity kind
//! has (names, paths, tags, inline policies) is written once over [`Entity`].

/// ListX (by path prefix, in name order) of the kind `$E`: `$items` is the list
/// result's field.
macro_rules! list_operation {
    ($E:ty, $list:ident => $listed:ident { $items:ident }) => {
        impl Operation for api::$list {
            fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
                Ok(cx.listing::<$E>(self.path_prefix.as_deref()))
            }
            async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
                let ($items, is_truncated, marker) = iam.list_entities::<$E>(
                    self.path_prefix,
                    self.marker.as_deref(),
                    self.max_items,
                );
                out(api::$listed {
                    $items,
                    is_truncated: Some(is_truncated),
                    marker,
                })
            }
        }
    };
}

/// ListX (by path prefix, in name order) and UpdateX (rename, move) of the kind `$E`:
/// `$items` is the list result's field, `$name` / `$new_name` the update's.
macro_rules! list_and_update_operations {
    ($E:ty, $list:ident => $listed:ident { $items:ident },
     $update:ident { $name:ident, $new_name:ident }) => {
        list_operation!($E, $list => $listed { $items });

        impl Operation for api::$update {
            fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
                Ok(cx.update::<$E>(
                    &self.$name,
                    self.$new_name.as_deref(),
                    self.new_path.as_deref(),
                ))
            }
            async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
                iam.update_entity::<$E>(&self.$name, self.$new_name, self.new_path)
                    .await
            }
        }
    };
}

pub(crate) mod access_keys;
pub(crate) mod account;
pub(crate) mod authorization_details;
pub(crate) mod boundaries;
pub(crate) mod groups;
pub(crate) mod inline_policies;
pub(crate) mod instance_profiles;
pub(crate) mod managed_policies;
pub(crate) mod roles;
pub(crate) mod simulator;
pub(crate) mod sts;
pub(crate) mod tags;
pub(crate) mod users;

use std::collections::BTreeSet;
use std::future::Future;

use iamd_api::iam as api;
use iamd_api::{Timestamp, WriteXml};
use iamd_store::{Change, Store};

use crate::core::Iam;
use crate::entity::{Entity, Keys};
use crate::error::IamError;
use crate::principal::{Check, Principal};
use crate::state::{Role, State, User};

/// AWS quotas this service enforces.
pub(crate) mod quota {
    pub(crate) const ACCESS_KEYS_PER_USER: usize = 2;
    pub(crate) const GROUPS_PER_USER: usize = 10;
    pub(crate) const USER_POLICY_SIZE: usize = 2048;
    pub(crate) const GROUP_POLICY_SIZE: usize = 5120;
    pub(crate) const ROLE_POLICY_SIZE: usize = 10240;
    pub(crate) const TAGS_PER_ENTITY: usize = 50;
    pub(crate) const USERS: i32 = 5000;
    pub(crate) const GROUPS: i32 = 300;
    pub(crate) const ROLES: usize = 1000;
    pub(crate) const INSTANCE_PROFILES: usize = 1000;
    /// Characters (whitespace not counted) of a role's trust policy (ACLSizePerRole).
    pub(crate) const TRUST_POLICY_SIZE: usize = 2048;
    /// Roles in one instance profile (InstanceSessionsPerInstanceProfile; AWS: fixed).
    pub(crate) const ROLES_PER_INSTANCE_PROFILE: usize = 1;
    /// Characters (whitespace not counted) of a managed policy version (PolicySize).
    pub(crate) const MANAGED_POLICY_SIZE: usize = 6144;
    /// Versions one managed policy keeps (AWS: fixed).
    pub(crate) const VERSIONS_PER_POLICY: usize = 5;
    /// Managed policies attached to one user, group or role (PoliciesPerUser, …).
    pub(crate) const ATTACHED_POLICIES: usize = 10;
    /// Customer-managed policies per account (PoliciesPerAccount).
    pub(crate) const MANAGED_POLICIES: usize = 1500;
    /// Policy versions in use per account (PolicyVersionsInUse).
    pub(crate) const POLICY_VERSIONS_IN_USE: usize = 10000;
}

/// The result of an operation, ready to encode (`None`: the operation has no output).
pub type Output = Option<Box<dyn WriteXml + Send>>;

/// What [`Operation::checks`] may look at: the state (read-locked while the checks are
/// made), the account, the caller and the operation's action (`iam:CreateUser`).
pub(crate) struct Cx<'a> {
    pub(crate) state: &'a State,
    pub(crate) account: &'a str,
    pub(crate) principal: &'a Principal,
    pub(crate) action: &'static str,
}

/// One implemented IAM or STS operation: its request type.
pub(crate) trait Operation: Sized + Send {
    /// The checks the request must pass: its action on the resources it touches, with
    /// the condition keys the action supports. An action the Service Authorization
    /// Reference lists with no resource type returns [`Cx::wildcard`] explicitly.
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError>;

    /// Runs the operation for a caller the checks were authorized for (only the front
    /// door, [`Iam::handle`], calls this).
    fn run<S: Store>(
        self,
        iam: &Iam<S>,
        p: &Principal,
    ) -> impl Future<Output = Result<Output, IamError>> + Send;
}

impl Cx<'_> {
    /// The check of this action on `arn`.
    pub(crate) fn on(&self, arn: String, keys: Keys) -> Vec<Check> {
        vec![Check::on(self.action, arn, keys)]
    }

    /// The check of a wildcard-only action (resource `*`).
    pub(crate) fn wildcard(&self) -> Vec<Check> {
        vec![Check::wildcard(self.action)]
    }

    /// The ARN of the entity named `name` and its resource tag keys. One that does not
    /// exist is named with the default path `/` (the request then fails with
    /// NoSuchEntity after authorization).
    pub(crate) fn target<E: Entity>(&self, name: &str) -> (String, Keys) {
        match E::by_name(self.state, name) {
            Some(e) => (e.arn(self.account), e.resource_tag_keys()),
            None => (E::arn_of(self.account, "/", name), Vec::new()),
        }
    }

    /// The check on the user, group or role `arn` names (SimulatePrincipalPolicy,
    /// GetContextKeysForPrincipalPolicy), with its resource tag keys when it exists.
    pub(crate) fn by_arn(&self, arn: &str) -> Vec<Check> {
        let keys = User::by_arn(self.state, self.account, arn)
            .map(User::resource_tag_keys)
            .or_else(|| Role::by_arn(self.state, self.account, arn).map(Entity::resource_tag_keys))
            .unwrap_or_default();
        self.on(arn.to_string(), keys)
    }

    /// The check on the entity named `name`.
    pub(crate) fn entity<E: Entity>(&self, name: &str) -> Vec<Check> {
        let (arn, keys) = self.target::<E>(name);
        self.on(arn, keys)
    }

    /// The check on the named user, or on the caller itself when the name is omitted.
    pub(crate) fn user_or_caller(&self, name: Option<&str>) -> Vec<Check> {
        match (name, self.principal.long_term()) {
            (Some(n), _) => self.entity::<User>(n),
            (None, Principal::User { name, .. }) => self.entity::<User>(name),
            (
                None,
                Principal::Root { .. }
                | Principal::AssumedRole(_)
                | Principal::Session(_)
                | Principal::FederatedUser(_),
            ) => self.on(self.principal.arn().into_owned(), Vec::new()),
        }
    }

    /// CreateX: the new entity's ARN (default path `/`), with the request's tags
    /// (`aws:RequestTag/*`, `aws:TagKeys`) and permissions boundary
    /// (`iam:PermissionsBoundary`) as condition keys.
    pub(crate) fn creation<E: Entity>(
        &self,
        path: Option<&str>,
        name: &str,
        tags: Option<&[api::Tag]>,
        boundary: Option<&str>,
    ) -> Vec<Check> {
        let mut keys = tags.map(request_tag_keys).unwrap_or_default();
        if let Some(b) = boundary {
            keys.push(("iam:PermissionsBoundary".to_string(), vec![b.to_string()]));
        }
        self.on(E::arn_of(self.account, path.unwrap_or("/"), name), keys)
    }

    /// UpdateUser, UpdateGroup: the entity, and the ARN it gets when renamed or moved.
    pub(crate) fn update<E: Entity>(
        &self,
        name: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> Vec<Check> {
        let mut checks = self.entity::<E>(name);
        if new_name.is_some() || new_path.is_some() {
            let (path, old) = match E::by_name(self.state, name) {
                Some(e) => (e.path(), e.name()),
                None => ("/", name),
            };
            let new = E::arn_of(
                self.account,
                new_path.unwrap_or(path),
                new_name.unwrap_or(old),
            );
            checks.push(Check::on(self.action, new, Vec::new()));
        }
        checks
    }

    /// ListUsers, ListGroups: AWS names the listed path in their denials
    /// ("… on resource: arn:aws:iam::A:user/"), and policies on a path grant them.
    pub(crate) fn listing<E: Entity>(&self, path_prefix: Option<&str>) -> Vec<Check> {
        let target = format!(
            "arn:aws:iam::{}:{}{}",
            self.account,
            E::ARN_TYPE,
            path_prefix.unwrap_or("/")
        );
        self.on(target, Vec::new())
    }
}

pub(crate) fn user_arn(account: &str, path: &str, name: &str) -> String {
    User::arn_of(account, path, name)
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn out<T: WriteXml + Send + 'static>(v: T) -> Result<Output, IamError> {
    Ok(Some(Box::new(v)))
}

/// Percent-encodes a policy document as AWS returns it (RFC 3986 unreserved kept).
pub(crate) fn url_encode(doc: &str) -> String {
    let mut s = String::with_capacity(doc.len() * 2);
    for b in doc.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            s.push(b as char);
        } else {
            s.push('%');
            s.push(char::from(b"0123456789ABCDEF"[(b >> 4) as usize]));
            s.push(char::from(b"0123456789ABCDEF"[(b & 15) as usize]));
        }
    }
    s
}

/// One page of `items` (already in AWS's order) after the opaque `marker`.
/// Markers are the sort key of the first item of the next page.
fn page<T, K: AsRef<str>>(
    items: Vec<(K, T)>,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> (Vec<T>, bool, Option<String>) {
    let start = match marker {
        Some(m) => items
            .iter()
            .position(|(k, _)| k.as_ref() >= m)
            .unwrap_or(items.len()),
        None => 0,
    };
    page_from(items.into_iter().skip(start), max_items)
}

/// One page of `rest`, items in key order that start at the request's marker: the
/// first `MaxItems` (default 100), whether more follow, and the next marker (the key
/// of the first item not shown). Reads one item past the page, no further.
fn page_from<T, K: AsRef<str>>(
    mut rest: impl Iterator<Item = (K, T)>,
    max_items: Option<i32>,
) -> (Vec<T>, bool, Option<String>) {
    let max = max_items.unwrap_or(100).max(1) as usize;
    let taken: Vec<T> = rest.by_ref().take(max).map(|(_, v)| v).collect();
    match rest.next() {
        Some((k, _)) => (taken, true, Some(k.as_ref().to_string())),
        None => (taken, false, None),
    }
}

/// A policy document as AWS checks it before anything else: the grammar of its type
/// (MalformedPolicyDocument), then its size, whitespace not counted (LimitExceeded
/// naming the quota `quota_name`).
fn check_document(
    doc: &str,
    ty: iamd_policy::PolicyType,
    quota_name: &str,
    limit: usize,
) -> Result<(), IamError> {
    if let Some(f) = iamd_policy::validate(doc, ty).into_iter().next() {
        return Err(IamError::MalformedPolicyDocument(f.message));
    }
    if iamd_policy::size_without_whitespace(doc) > limit {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for {quota_name}: {limit}"
        )));
    }
    Ok(())
}

/// AWS's DeleteConflict unless `empty`: what the entity still has must go first.
fn delete_conflict_unless(empty: bool, undo_first: &str) -> Result<(), IamError> {
    if empty {
        Ok(())
    } else {
        Err(IamError::DeleteConflict(format!(
            "Cannot delete entity, must {undo_first} first."
        )))
    }
}

/// What any entity kind's operations share.
impl<S: Store> Iam<S> {
    /// An entity as AWS returns it.
    fn api<E: Entity>(&self, e: &E) -> E::Api {
        e.to_api(self.account_id())
    }

    /// A write whose answer is empty: [`Iam::write`] with the changes `plan` returns.
    async fn change(
        &self,
        mut plan: impl FnMut(&State) -> Result<Vec<Change>, IamError> + Send,
    ) -> Result<Output, IamError> {
        self.write(|state| Ok((plan(state)?, None))).await
    }

    /// Creates the entity `rec` (its name must be free) with the changes that attach
    /// things to it, and returns it as AWS shows it. A writer elsewhere that took the
    /// name first makes it EntityAlreadyExists.
    async fn create<E: Entity>(
        &self,
        rec: E::Rec,
        attached: Vec<Change>,
    ) -> Result<E::Api, IamError> {
        self.create_with::<E>(rec, |_, _| Ok(attached.clone()))
            .await
    }

    /// [`Iam::create`] whose record is completed, and whose attached changes are
    /// planned, against the state under the write lock (quotas, references).
    async fn create_with<E: Entity>(
        &self,
        rec: E::Rec,
        mut plan: impl FnMut(&State, &mut E::Rec) -> Result<Vec<Change>, IamError> + Send,
    ) -> Result<E::Api, IamError> {
        let name = E::rec_name(&rec).to_string();
        let shown = self
            .write(|state| {
                E::ensure_name_free(state, &name, None)?;
                let mut rec = rec.clone();
                let attached = plan(state, &mut rec)?;
                let shown = self.api(&E::from_rec(rec.clone()));
                let mut changes = vec![E::stored(rec)];
                changes.extend(attached);
                Ok((changes, shown))
            })
            .await
            .map_err(|e| match e {
                IamError::ConcurrentModification(_) => E::already_exists(&name),
                other => other,
            })?;
        Ok(shown)
    }

    /// ListUsers, ListGroups: one page of the entities whose path starts with
    /// `path_prefix` (default `/`), in name order.
    fn list_entities<E: Entity>(
        &self,
        path_prefix: Option<String>,
        marker: Option<&str>,
        max_items: Option<i32>,
    ) -> (Vec<E::Api>, bool, Option<String>) {
        let prefix = path_prefix.unwrap_or_else(|| "/".to_string());
        let state = self.read();
        let (by_id, names) = E::table(&state);
        let items: Vec<(&String, E::Api)> = names
            .iter()
            .filter_map(|(lower, id)| by_id.get(id).map(|e| (lower, e)))
            .filter(|(_, e)| e.path().starts_with(&prefix))
            .map(|(lower, e)| (lower, self.api(e)))
            .collect();
        page(items, marker, max_items)
    }

    /// The entities with these ids as AWS shows them, keyed and sorted by lower(name)
    /// for [`page`] (a group's members, a user's groups).
    fn in_name_order<E: Entity>(
        &self,
        state: &State,
        ids: &BTreeSet<String>,
    ) -> Vec<(String, E::Api)> {
        let mut items: Vec<(String, E::Api)> = ids
            .iter()
            .filter_map(|id| E::by_id(state, id))
            .map(|e| (e.name().to_lowercase(), self.api(e)))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        items
    }

    /// UpdateUser, UpdateGroup: a new name (free, or the entity's own in another case)
    /// and/or a new path.
    async fn update_entity<E: Entity>(
        &self,
        name: &str,
        new_name: Option<String>,
        new_path: Option<String>,
    ) -> Result<Output, IamError> {
        self.change(|state| {
            let e = E::named(state, name)?;
            if let Some(new) = &new_name {
                E::ensure_name_free(state, new, Some(e.id()))?;
            }
            Ok(vec![e.renamed(new_name.clone(), new_path.clone())])
        })
        .await
    }
}

/// The user a request names, or the calling user when the name is omitted.
fn target_user<'a>(
    state: &'a State,
    p: &Principal,
    name: Option<&str>,
) -> Result<&'a User, IamError> {
    match (name, p.long_term()) {
        (Some(n), _) => User::named(state, n),
        (None, Principal::User { id, name, .. }) => {
            User::by_id(state, id).ok_or_else(|| User::not_found(name))
        }
        (
            None,
            Principal::Root { .. }
            | Principal::AssumedRole(_)
            | Principal::Session(_)
            | Principal::FederatedUser(_),
        ) => Err(IamError::Validation(
            "Must specify userName when calling with non-User credentials".to_string(),
        )),
    }
}

/// The request's tags as condition keys (CreateX, TagX): `aws:RequestTag/k` for each,
/// and `aws:TagKeys`, their keys; none when the request carries no tag.
fn request_tag_keys(tags: &[api::Tag]) -> Keys {
    tag_keys(tags.iter().map(|t| (t.key.as_str(), t.value.as_str())))
}

/// [`request_tag_keys`] over `(key, value)` pairs (IAM's tags, STS's session tags).
pub(crate) fn tag_keys<'t>(tags: impl Iterator<Item = (&'t str, &'t str)> + Clone) -> Keys {
    let mut keys: Keys = tags
        .clone()
        .map(|(k, v)| (format!("aws:RequestTag/{k}"), vec![v.to_string()]))
        .collect();
    if !keys.is_empty() {
        keys.push((
            "aws:TagKeys".to_string(),
            tags.map(|(k, _)| k.to_string()).collect(),
        ));
    }
    keys
}

/// The keys an UntagX request removes as condition keys: `aws:TagKeys`.
fn removed_tag_keys(keys: &[String]) -> Keys {
    vec![("aws:TagKeys".to_string(), keys.to_vec())]
}

/// `checks` with the request's own condition keys `keys` added to each (the tags of a
/// TagX or UntagX request over the resource's keys from [`Cx::target`]).
fn with_keys(mut checks: Vec<Check>, keys: Keys) -> Vec<Check> {
    for c in &mut checks {
        c.keys.extend(keys.iter().cloned());
    }
    checks
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
