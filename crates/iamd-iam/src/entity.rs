//! What IAM's named entities have in common (users, groups, roles, instance
//! profiles, customer-managed policies): a name unique case-insensitively, a path, an ARN, the
//! wire shape AWS returns, AWS's messages about them, and what every kind carries —
//! tags (insertion order, keys unique case-insensitively) and inline policies by name,
//! with the kind's quota on their size. The operations that treat every kind alike
//! (list by path prefix, rename/move, tags, inline policies) are written once over
//! this trait in `ops/`, and the state table is generic over it (`state.rs`).

use std::collections::{BTreeMap, HashMap};

use iamd_api::iam as api;
use iamd_api::Timestamp;
use iamd_store::{
    Change, GroupRecord, InstanceProfileRecord, ManagedPolicyRecord, OwnerKind, RoleRecord,
    UserRecord,
};

use crate::binding::BoundPolicy;
use crate::error::IamError;
use crate::ops::quota;
use crate::policies::StoredPolicy;
use crate::state::{Group, InstanceProfile, ManagedPolicy, Role, State, User};

/// Condition keys with their values (`aws:ResourceTag/k` → [v], …).
pub(crate) type Keys = Vec<(String, Vec<String>)>;

/// Tags in insertion order; keys unique case-insensitively.
pub(crate) type Tags = Vec<(String, String)>;

pub(crate) trait Entity: Sized + Send + Sync + 'static {
    /// The kind as AWS's messages spell it at the start of a sentence ("User").
    const KIND: &'static str;
    /// The kind in ARNs and in denials (`arn:aws:iam::A:user/…`, "on resource: user bob").
    const ARN_TYPE: &'static str;
    /// The owner kind of its tags and inline policies in the store.
    const OWNER: OwnerKind;
    /// The most bytes (whitespace not counted) its inline policies may hold together.
    const INLINE_POLICY_SIZE: usize;
    /// The stored record.
    type Rec: Clone + Send;
    /// The entity as AWS returns it.
    type Api;

    /// id → entity, and lower(name) → id in AWS's listing order.
    fn table(state: &State) -> (&HashMap<String, Self>, &BTreeMap<String, String>);
    fn table_mut(state: &mut State) -> (&mut HashMap<String, Self>, &mut BTreeMap<String, String>);

    /// A new entity with nothing attached yet.
    fn from_rec(rec: Self::Rec) -> Self;
    fn set_rec(&mut self, rec: Self::Rec);
    fn rec_id(rec: &Self::Rec) -> &str;
    fn rec_name(rec: &Self::Rec) -> &str;

    fn id(&self) -> &str;
    fn name(&self) -> &str;
    fn path(&self) -> &str;
    fn tags(&self) -> &Tags;
    fn tags_mut(&mut self) -> &mut Tags;
    fn policies(&self) -> &BTreeMap<String, StoredPolicy>;
    fn policies_mut(&mut self) -> &mut BTreeMap<String, StoredPolicy>;
    fn to_api(&self, account: &str) -> Self::Api;
    /// The change that stores this entity with a new name and/or path.
    fn renamed(&self, name: Option<String>, path: Option<String>) -> Change;
    /// The change that stores a record of this kind.
    fn stored(rec: Self::Rec) -> Change;

    fn by_id<'a>(state: &'a State, id: &str) -> Option<&'a Self> {
        Self::table(state).0.get(id)
    }

    fn by_name<'a>(state: &'a State, name: &str) -> Option<&'a Self> {
        let (by_id, names) = Self::table(state);
        // Names are matched case-insensitively; an ASCII name (every valid one) is
        // lowered on the stack, without an allocation per lookup.
        let mut buf = [0u8; 128];
        let id = match buf.get_mut(..name.len()) {
            Some(lowered) if name.is_ascii() => {
                lowered.copy_from_slice(name.as_bytes());
                lowered.make_ascii_lowercase();
                std::str::from_utf8(lowered).ok().and_then(|n| names.get(n))
            }
            _ => names.get(&name.to_lowercase()),
        };
        id.and_then(|id| by_id.get(id))
    }

    /// The existing entity whose ARN (with its path) is exactly `arn`.
    fn by_arn<'a>(state: &'a State, account: &str, arn: &str) -> Option<&'a Self> {
        let name = arn.rsplit('/').next()?;
        Self::by_name(state, name).filter(|e| e.has_arn(account, arn))
    }

    /// Whether `arn` is this entity's ARN ([`Entity::arn`], compared without building it).
    fn has_arn(&self, account: &str, arn: &str) -> bool {
        (|| {
            let rest = arn.strip_prefix("arn:aws:iam::")?.strip_prefix(account)?;
            let rest = rest.strip_prefix(':')?.strip_prefix(Self::ARN_TYPE)?;
            Some(rest.strip_prefix(self.path())? == self.name())
        })()
        .unwrap_or(false)
    }

    fn arn_of(account: &str, path: &str, name: &str) -> String {
        format!("arn:aws:iam::{account}:{}{path}{name}", Self::ARN_TYPE)
    }

    fn arn(&self, account: &str) -> String {
        Self::arn_of(account, self.path(), self.name())
    }

    /// `aws:ResourceTag/k` for every tag, and `iam:ResourceTag/k` too on the kinds whose
    /// resource type the Service Authorization Reference lists it for (`user`, `role`;
    /// `policy` and `instance-profile` have `aws:ResourceTag` only) — the tags as they
    /// are before the request (docs/policy-semantics.md §5.1, §5.4).
    fn resource_tag_keys(&self) -> Keys {
        let iam_too = matches!(Self::ARN_TYPE, "user" | "role");
        let mut keys = Keys::with_capacity(self.tags().len() * 2);
        for (k, v) in self.tags() {
            keys.push((format!("aws:ResourceTag/{k}"), vec![v.clone()]));
            if iam_too {
                keys.push((format!("iam:ResourceTag/{k}"), vec![v.clone()]));
            }
        }
        keys
    }

    /// AWS's NoSuchEntity for the name `name`.
    fn not_found(name: &str) -> IamError {
        IamError::NoSuchEntity(format!(
            "The {} with name {name} cannot be found.",
            Self::KIND.to_lowercase()
        ))
    }

    /// AWS's EntityAlreadyExists for the name `name`.
    fn already_exists(name: &str) -> IamError {
        IamError::EntityAlreadyExists(format!("{} with name {name} already exists.", Self::KIND))
    }

    /// UnmodifiableEntity when only AWS may change this entity (a service-linked role).
    fn ensure_modifiable(&self) -> Result<(), IamError> {
        Ok(())
    }

    /// The entity named `name` (case-insensitively), or NoSuchEntity.
    fn named<'a>(state: &'a State, name: &str) -> Result<&'a Self, IamError> {
        Self::by_name(state, name).ok_or_else(|| Self::not_found(name))
    }

    /// EntityAlreadyExists when `name` is taken by an entity other than the one with
    /// id `except`.
    fn ensure_name_free(state: &State, name: &str, except: Option<&str>) -> Result<(), IamError> {
        match Self::by_name(state, name) {
            Some(other) if Some(other.id()) != except => Err(Self::already_exists(name)),
            _ => Ok(()),
        }
    }
}

/// The accessors alike for every kind: they read and rewrite `self.rec` (whose fields
/// `id`, `name`, `path` have these names), `self.tags` and `self.policies`; `$put` is
/// the change that stores a record.
macro_rules! common_methods {
    ($put:path) => {
        fn set_rec(&mut self, rec: Self::Rec) {
            self.rec = rec;
        }
        fn rec_id(rec: &Self::Rec) -> &str {
            &rec.id
        }
        fn rec_name(rec: &Self::Rec) -> &str {
            &rec.name
        }
        fn id(&self) -> &str {
            &self.rec.id
        }
        fn name(&self) -> &str {
            &self.rec.name
        }
        fn path(&self) -> &str {
            &self.rec.path
        }
        fn tags(&self) -> &Tags {
            &self.tags
        }
        fn tags_mut(&mut self) -> &mut Tags {
            &mut self.tags
        }
        fn policies(&self) -> &BTreeMap<String, StoredPolicy> {
            &self.policies
        }
        fn policies_mut(&mut self) -> &mut BTreeMap<String, StoredPolicy> {
            &mut self.policies
        }
        fn stored(rec: Self::Rec) -> Change {
            $put(rec)
        }
        fn renamed(&self, name: Option<String>, path: Option<String>) -> Change {
            let mut rec = self.rec.clone();
            if let Some(name) = name {
                rec.name = name;
            }
            if let Some(path) = path {
                rec.path = path;
            }
            $put(rec)
        }
    };
}

impl Entity for User {
    const KIND: &'static str = "User";
    const ARN_TYPE: &'static str = "user";
    const OWNER: OwnerKind = OwnerKind::User;
    const INLINE_POLICY_SIZE: usize = quota::USER_POLICY_SIZE;
    type Rec = UserRecord;
    type Api = api::User;

    fn table(state: &State) -> (&HashMap<String, Self>, &BTreeMap<String, String>) {
        (&state.users, &state.user_names)
    }
    fn table_mut(state: &mut State) -> (&mut HashMap<String, Self>, &mut BTreeMap<String, String>) {
        (&mut state.users, &mut state.user_names)
    }

    fn from_rec(rec: UserRecord) -> Self {
        User {
            rec,
            policies: BTreeMap::new(),
            groups: Default::default(),
            tags: Vec::new(),
            keys: Default::default(),
            attached: Default::default(),
            effective: std::sync::Arc::from(Vec::new()),
            boundary: None,
        }
    }

    common_methods!(Change::PutUser);

    fn to_api(&self, account: &str) -> api::User {
        api::User {
            path: self.rec.path.clone(),
            user_name: self.rec.name.clone(),
            user_id: self.rec.id.clone(),
            arn: self.arn(account),
            create_date: Timestamp::from_millis(self.rec.created),
            password_last_used: None,
            permissions_boundary: None,
            tags: None,
        }
    }
}

impl Entity for Group {
    const KIND: &'static str = "Group";
    const ARN_TYPE: &'static str = "group";
    const OWNER: OwnerKind = OwnerKind::Group;
    const INLINE_POLICY_SIZE: usize = quota::GROUP_POLICY_SIZE;
    type Rec = GroupRecord;
    type Api = api::Group;

    fn table(state: &State) -> (&HashMap<String, Self>, &BTreeMap<String, String>) {
        (&state.groups, &state.group_names)
    }
    fn table_mut(state: &mut State) -> (&mut HashMap<String, Self>, &mut BTreeMap<String, String>) {
        (&mut state.groups, &mut state.group_names)
    }

    fn from_rec(rec: GroupRecord) -> Self {
        Group {
            rec,
            policies: BTreeMap::new(),
            members: Default::default(),
            tags: Vec::new(),
            attached: Default::default(),
        }
    }

    common_methods!(Change::PutGroup);

    fn to_api(&self, account: &str) -> api::Group {
        api::Group {
            path: self.rec.path.clone(),
            group_name: self.rec.name.clone(),
            group_id: self.rec.id.clone(),
            arn: self.arn(account),
            create_date: Timestamp::from_millis(self.rec.created),
        }
    }
}

impl Entity for Role {
    const KIND: &'static str = "Role";
    const ARN_TYPE: &'static str = "role";
    const OWNER: OwnerKind = OwnerKind::Role;
    const INLINE_POLICY_SIZE: usize = quota::ROLE_POLICY_SIZE;
    type Rec = RoleRecord;
    type Api = api::Role;

    fn table(state: &State) -> (&HashMap<String, Self>, &BTreeMap<String, String>) {
        (&state.roles, &state.role_names)
    }
    fn table_mut(state: &mut State) -> (&mut HashMap<String, Self>, &mut BTreeMap<String, String>) {
        (&mut state.roles, &mut state.role_names)
    }

    /// A role whose trust policy trusts nobody until its prepared trust is set
    /// (`State::apply`); it shows the document as stored.
    fn from_rec(rec: RoleRecord) -> Self {
        let trust = BoundPolicy::nobody(&rec.trust_policy);
        Role {
            rec,
            policies: BTreeMap::new(),
            tags: Vec::new(),
            profiles: Default::default(),
            trust,
            attached: Default::default(),
            effective: std::sync::Arc::from(Vec::new()),
            boundary: None,
        }
    }

    common_methods!(Change::PutRole);

    /// The role as ListRoles shows it (GetRole adds tags, boundary and last use).
    fn to_api(&self, account: &str) -> api::Role {
        api::Role {
            path: self.rec.path.clone(),
            role_name: self.rec.name.clone(),
            role_id: self.rec.id.clone(),
            arn: self.arn(account),
            create_date: Timestamp::from_millis(self.rec.created),
            assume_role_policy_document: Some(crate::ops::url_encode(&self.trust.shown)),
            description: self.rec.description.clone(),
            max_session_duration: Some(
                i32::try_from(self.rec.max_session_duration).unwrap_or(i32::MAX),
            ),
            max_signin_session_duration: None,
            permissions_boundary: None,
            tags: None,
            role_last_used: None,
            source_role_template: None,
        }
    }

    fn ensure_modifiable(&self) -> Result<(), IamError> {
        if self.rec.service_linked {
            Err(IamError::Modeled(
                iamd_api::iam::errors::UNMODIFIABLE_ENTITY,
                format!(
                    "Cannot perform the operation on the protected role '{}' - this role is only modifiable by AWS",
                    self.rec.name
                ),
            ))
        } else {
            Ok(())
        }
    }
}

impl Entity for InstanceProfile {
    const KIND: &'static str = "Instance Profile";
    const ARN_TYPE: &'static str = "instance-profile";
    const OWNER: OwnerKind = OwnerKind::InstanceProfile;
    /// Instance profiles have no inline policies.
    const INLINE_POLICY_SIZE: usize = 0;
    type Rec = InstanceProfileRecord;
    type Api = api::InstanceProfile;

    fn table(state: &State) -> (&HashMap<String, Self>, &BTreeMap<String, String>) {
        (&state.profiles, &state.profile_names)
    }
    fn table_mut(state: &mut State) -> (&mut HashMap<String, Self>, &mut BTreeMap<String, String>) {
        (&mut state.profiles, &mut state.profile_names)
    }

    fn from_rec(rec: InstanceProfileRecord) -> Self {
        InstanceProfile {
            rec,
            roles: Default::default(),
            tags: Vec::new(),
            policies: BTreeMap::new(),
        }
    }

    common_methods!(Change::PutInstanceProfile);

    /// The profile without its roles (the caller adds them from the state).
    fn to_api(&self, account: &str) -> api::InstanceProfile {
        api::InstanceProfile {
            path: self.rec.path.clone(),
            instance_profile_name: self.rec.name.clone(),
            instance_profile_id: self.rec.id.clone(),
            arn: self.arn(account),
            create_date: Timestamp::from_millis(self.rec.created),
            roles: Vec::new(),
            tags: None,
        }
    }

    /// AWS: "Instance Profile NAME cannot be found."
    fn not_found(name: &str) -> IamError {
        IamError::NoSuchEntity(format!("Instance Profile {name} cannot be found."))
    }

    /// AWS: "Instance Profile NAME already exists."
    fn already_exists(name: &str) -> IamError {
        IamError::EntityAlreadyExists(format!("Instance Profile {name} already exists."))
    }
}

impl Entity for ManagedPolicy {
    const KIND: &'static str = "Policy";
    const ARN_TYPE: &'static str = "policy";
    const OWNER: OwnerKind = OwnerKind::Policy;
    /// Managed policies have no inline policies.
    const INLINE_POLICY_SIZE: usize = 0;
    type Rec = ManagedPolicyRecord;
    type Api = api::Policy;

    fn table(state: &State) -> (&HashMap<String, Self>, &BTreeMap<String, String>) {
        (&state.policies, &state.policy_names)
    }
    fn table_mut(state: &mut State) -> (&mut HashMap<String, Self>, &mut BTreeMap<String, String>) {
        (&mut state.policies, &mut state.policy_names)
    }

    fn from_rec(rec: ManagedPolicyRecord) -> Self {
        ManagedPolicy {
            rec,
            versions: BTreeMap::new(),
            tags: Vec::new(),
            policies: BTreeMap::new(),
        }
    }

    common_methods!(Change::PutManagedPolicy);

    /// The policy as CreatePolicy shows it: attached nowhere, updated when created
    /// (GetPolicy and ListPolicies fill in the counts and the update date).
    fn to_api(&self, account: &str) -> api::Policy {
        let created = Timestamp::from_millis(self.rec.created);
        api::Policy {
            policy_name: Some(self.rec.name.clone()),
            policy_id: Some(self.rec.id.clone()),
            arn: Some(self.arn(account)),
            path: Some(self.rec.path.clone()),
            default_version_id: Some(self.rec.default_version.clone()),
            attachment_count: Some(0),
            permissions_boundary_usage_count: Some(0),
            is_attachable: Some(true),
            description: None,
            create_date: Some(created),
            update_date: Some(created),
            tags: None,
        }
    }

    /// AWS: "A policy called NAME already exists. Duplicate names are not allowed."
    fn already_exists(name: &str) -> IamError {
        IamError::EntityAlreadyExists(format!(
            "A policy called {name} already exists. Duplicate names are not allowed."
        ))
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "a test")]
mod tests {
    use super::Entity;
    use crate::state::User;
    use crate::testing::{ok, open, MemStore, ACCOUNT};

    #[tokio::test]
    async fn lookups_by_name_and_arn_match_what_the_arn_says() {
        let iam = open(MemStore::default()).await;
        ok(&iam, "CreateUser", "UserName=Melvins&Path=/eng/").await;
        let state = iam.read();
        let u = User::by_name(&state, "melVINS").expect("case-insensitive name");
        assert_eq!(u.name(), "Melvins");
        // A name longer than the stack buffer, or not ASCII, takes the allocating path.
        assert!(User::by_name(&state, &"m".repeat(200)).is_none());
        assert!(User::by_name(&state, "melvİns").is_none());
        let arn = u.arn(ACCOUNT);
        assert_eq!(arn, "arn:aws:iam::123456789012:user/eng/Melvins");
        assert!(u.has_arn(ACCOUNT, &arn));
        assert!(User::by_arn(&state, ACCOUNT, &arn).is_some());
        for other in [
            "arn:aws:iam::123456789012:user/Melvins",
            "arn:aws:iam::123456789012:user/eng/melvins",
            "arn:aws:iam::210987654321:user/eng/Melvins",
            "arn:aws:iam::123456789012:group/eng/Melvins",
            "arn:aws:iam::123456789012:user/eng/Melvins/",
            "arn:aws:iam::123456789012:user/eng/Melvinsx",
            "arn:aws:iam::123456789012user/eng/Melvins",
            "arn:aws:sts::123456789012:user/eng/Melvins",
        ] {
            assert!(!u.has_arn(ACCOUNT, other), "{other}");
            assert!(User::by_arn(&state, ACCOUNT, other).is_none(), "{other}");
        }
    }
}
