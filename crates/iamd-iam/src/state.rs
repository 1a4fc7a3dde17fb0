//! The in-memory view of the account: every entity, indexed for the hot path
//! (access key → principal → compiled policies) and for ordered listings.
//!
//! It changes in two steps around every store commit, so memory and the database
//! cannot drift apart: [`State::prepare`] does everything that can fail (compile policy
//! documents, decrypt secrets, check that referenced entities exist, refuse owner kinds
//! memory has no table for) *before* the commit, and [`State::apply`] makes memory show
//! the prepared changes *after* it, and cannot fail. Startup builds the state from the
//! store's snapshot through the same two steps.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use iamd_store::{
    AccessKeyRecord, AccountRecord, AttachmentRecord, Change, GroupRecord, InstanceProfileRecord,
    InstanceProfileRoleRecord, KeyUsageRecord, ManagedPolicyRecord, MembershipRecord, OwnerKind,
    PolicyVersionRecord, RoleRecord, Snapshot, TrustBinding, UserRecord,
};

use iamd_policy::{CompiledPolicy, PolicyType};

use crate::binding::{self, BoundPolicy};
use crate::crypto::MasterKey;
use crate::entity::{Entity, Keys, Tags};
use crate::policies::StoredPolicy;

/// A user with everything attached to it.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) rec: UserRecord,
    /// Inline policies by name (AWS lists them in name order).
    pub(crate) policies: BTreeMap<String, StoredPolicy>,
    /// Group ids.
    pub(crate) groups: BTreeSet<String>,
    /// Tags in insertion order, keys unique case-insensitively.
    pub(crate) tags: Tags,
    /// Access key ids.
    pub(crate) keys: BTreeSet<String>,
    /// ARNs of the managed policies attached to it.
    pub(crate) attached: BTreeSet<String>,
    /// The user's identity policies, compiled: its own inline and attached managed
    /// policies and those of its groups. Rebuilt whenever one of them changes (a
    /// managed policy's default version included), so a request never gathers.
    pub(crate) effective: Arc<[Arc<CompiledPolicy>]>,
    /// The default document of its permissions boundary policy, compiled; refreshed
    /// with `effective` (`None`: no boundary).
    pub(crate) boundary: Option<Arc<CompiledPolicy>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) rec: GroupRecord,
    pub(crate) policies: BTreeMap<String, StoredPolicy>,
    /// User ids.
    pub(crate) members: BTreeSet<String>,
    /// Kept as stored (AWS has no API that tags a group).
    pub(crate) tags: Tags,
    /// ARNs of the managed policies attached to it.
    pub(crate) attached: BTreeSet<String>,
}

/// A role with everything attached to it.
#[derive(Debug, Clone)]
pub(crate) struct Role {
    pub(crate) rec: RoleRecord,
    pub(crate) policies: BTreeMap<String, StoredPolicy>,
    pub(crate) tags: Tags,
    /// Ids of the instance profiles it is in.
    pub(crate) profiles: BTreeSet<String>,
    /// Its trust policy, with the principals it names rebound to what they are now.
    pub(crate) trust: BoundPolicy,
    /// ARNs of the managed policies attached to it.
    pub(crate) attached: BTreeSet<String>,
    /// The role's identity policies, compiled (its inline and attached managed
    /// policies): what its sessions are evaluated with. Rebuilt whenever one of them
    /// changes.
    pub(crate) effective: Arc<[Arc<CompiledPolicy>]>,
    /// Its permissions boundary's default document, compiled (as a user's).
    pub(crate) boundary: Option<Arc<CompiledPolicy>>,
}

/// A customer-managed policy with its versions.
#[derive(Debug, Clone)]
pub(crate) struct ManagedPolicy {
    pub(crate) rec: ManagedPolicyRecord,
    /// Versions by number (`v3` → 3), each compiled when written or loaded.
    pub(crate) versions: BTreeMap<u64, PolicyVersion>,
    pub(crate) tags: Tags,
    /// Always empty: managed policies have no inline policies.
    pub(crate) policies: BTreeMap<String, StoredPolicy>,
}

/// One version of a customer-managed policy.
#[derive(Debug, Clone)]
pub(crate) struct PolicyVersion {
    pub(crate) rec: PolicyVersionRecord,
    pub(crate) compiled: Arc<CompiledPolicy>,
}

impl ManagedPolicy {
    /// The default version (always present for a policy written by this service).
    pub(crate) fn default_version(&self) -> Option<&PolicyVersion> {
        version_number(&self.rec.default_version).and_then(|n| self.versions.get(&n))
    }
}

/// `v3` → 3 (`None` for any other shape).
pub(crate) fn version_number(id: &str) -> Option<u64> {
    id.strip_prefix('v').and_then(|n| n.parse().ok())
}

/// Who holds an attached managed policy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Holder {
    Group(String),
    Role(String),
    User(String),
}

impl Holder {
    fn of(a: &AttachmentRecord) -> Result<Holder, StateError> {
        match a.owner_kind {
            OwnerKind::User => Ok(Holder::User(a.owner_id.clone())),
            OwnerKind::Group => Ok(Holder::Group(a.owner_id.clone())),
            OwnerKind::Role => Ok(Holder::Role(a.owner_id.clone())),
            OwnerKind::Policy | OwnerKind::InstanceProfile => Err(corrupt(format!(
                "managed policy {} attached to a {}",
                a.policy_arn,
                a.owner_kind.as_str()
            ))),
        }
    }
}

/// The ARN prefix of AWS-managed policies (`arn:aws:iam::aws:policy/…`).
pub(crate) fn is_aws_managed(arn: &str) -> bool {
    arn.starts_with("arn:aws:iam::aws:policy/")
}

/// An AWS-managed policy's default document, compiled (on attachment only: the
/// catalogue's documents stay compressed until then). A document the engine cannot
/// evaluate is [`StateError::Unsupported`], never a panic or a silently empty policy.
pub(crate) fn compile_aws_managed(arn: &str) -> Result<Arc<CompiledPolicy>, StateError> {
    let catalog = iamd_catalog::catalog().map_err(|e| corrupt(e.to_string()))?;
    let p = catalog
        .by_arn(arn)
        .ok_or_else(|| corrupt(format!("attachment of unknown AWS-managed policy {arn}")))?;
    let doc = p
        .default_version()
        .document()
        .map_err(|e| corrupt(e.to_string()))?;
    CompiledPolicy::from_json(&doc, PolicyType::Managed, p.name())
        .map(Arc::new)
        .map_err(|findings| {
            StateError::Unsupported(format!(
                "The AWS-managed policy {arn} cannot be attached on this server: its policy engine rejects the document ({}).",
                findings.first().map(|f| f.message.as_str()).unwrap_or("invalid")
            ))
        })
}

/// A compiled policy of type `ty` without statements: it allows nothing.
pub(crate) fn allows_nothing(ty: PolicyType, id: &str) -> Arc<CompiledPolicy> {
    let doc = iamd_policy::PolicyDocument {
        version: iamd_policy::Version::V2012_10_17,
        id: None,
        statements: Vec::new(),
        span: iamd_policy::Span::default(),
        version_span: None,
    };
    Arc::new(CompiledPolicy::compile(&doc, ty, id))
}

/// An instance profile: a container for one role.
#[derive(Debug, Clone)]
pub(crate) struct InstanceProfile {
    pub(crate) rec: InstanceProfileRecord,
    /// Role ids (AWS allows one).
    pub(crate) roles: BTreeSet<String>,
    pub(crate) tags: Tags,
    /// Always empty: instance profiles have no inline policies.
    pub(crate) policies: BTreeMap<String, StoredPolicy>,
}

/// An access key with its decrypted secret (memory only; never logged).
#[derive(Clone)]
pub(crate) struct Key {
    pub(crate) rec: AccessKeyRecord,
    pub(crate) secret: Arc<str>,
    /// Last use, updated in memory on every request (persisted in the background).
    pub(crate) usage: Arc<UsageCell>,
}

/// The last use of a key. Its own lock, so recording a use never takes the state lock.
#[derive(Debug, Default)]
pub struct UsageCell {
    pub(crate) last: std::sync::Mutex<Option<KeyUsageRecord>>,
}

impl UsageCell {
    pub(crate) fn get(&self) -> Option<KeyUsageRecord> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl User {
    /// `aws:ResourceTag/k` and `iam:ResourceTag/k` for every tag (the simulator's).
    pub(crate) fn resource_tag_keys(&self) -> Keys {
        <Self as Entity>::resource_tag_keys(self)
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.rec.id)
            .field("status", &self.rec.status)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) account: Option<AccountRecord>,
    pub(crate) users: HashMap<String, User>,
    /// lower(name) → id, ordered: AWS lists users and groups by name.
    pub(crate) user_names: BTreeMap<String, String>,
    pub(crate) groups: HashMap<String, Group>,
    pub(crate) group_names: BTreeMap<String, String>,
    pub(crate) roles: HashMap<String, Role>,
    pub(crate) role_names: BTreeMap<String, String>,
    pub(crate) profiles: HashMap<String, InstanceProfile>,
    pub(crate) profile_names: BTreeMap<String, String>,
    /// Customer-managed policies.
    pub(crate) policies: HashMap<String, ManagedPolicy>,
    pub(crate) policy_names: BTreeMap<String, String>,
    /// Managed policy ARN (customer- or AWS-managed) → who has it attached.
    pub(crate) attached_to: HashMap<String, BTreeSet<Holder>>,
    /// Managed policy ARN → the users and roles that have it as permissions boundary.
    pub(crate) bound_by: HashMap<String, BTreeSet<Holder>>,
    /// The compiled default documents of the AWS-managed policies attached to someone
    /// or used as someone's boundary (compiled on first use, dropped with the last).
    pub(crate) aws_compiled: HashMap<String, Arc<CompiledPolicy>>,
    pub(crate) keys: HashMap<String, Key>,
    /// Deletion task ids of service-linked roles (all succeeded).
    pub(crate) deletion_tasks: BTreeSet<String>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum StateError {
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    /// Something this server cannot do (an AWS-managed document its engine rejects).
    #[error("{0}")]
    Unsupported(String),
}

/// The owner of tags or inline policies, among the kinds memory keeps a table of. A
/// kind without one is refused by [`State::prepare`], never taken for another kind.
#[derive(Debug, Clone)]
enum Owner {
    User(String),
    Group(String),
    Role(String),
    InstanceProfile(String),
    Policy(String),
}

impl Owner {
    fn new(kind: OwnerKind, id: &str) -> Result<Owner, StateError> {
        match kind {
            OwnerKind::User => Ok(Owner::User(id.to_string())),
            OwnerKind::Group => Ok(Owner::Group(id.to_string())),
            OwnerKind::Role => Ok(Owner::Role(id.to_string())),
            OwnerKind::InstanceProfile => Ok(Owner::InstanceProfile(id.to_string())),
            OwnerKind::Policy => Ok(Owner::Policy(id.to_string())),
        }
    }
}

/// `$f` applied to the entity an [`Owner`] names, whatever its kind (`None`: gone).
macro_rules! on_owner {
    ($state:expr, $owner:expr, $f:expr) => {
        match $owner {
            Owner::User(id) => $state.users.get_mut(id).map($f),
            Owner::Group(id) => $state.groups.get_mut(id).map($f),
            Owner::Role(id) => $state.roles.get_mut(id).map($f),
            Owner::InstanceProfile(id) => $state.profiles.get_mut(id).map($f),
            Owner::Policy(id) => $state.policies.get_mut(id).map($f),
        }
    };
}

/// One change as memory applies it, with everything that could fail already done.
#[derive(Debug)]
enum Step {
    Account(AccountRecord),
    /// The user, and its boundary's compiled document when that is AWS-managed.
    PutUser(UserRecord, Option<Arc<CompiledPolicy>>),
    DeleteUser(String),
    PutGroup(GroupRecord),
    DeleteGroup(String),
    Join(MembershipRecord),
    Leave(MembershipRecord),
    PutPolicy(Owner, String, StoredPolicy),
    DeletePolicy(Owner, String),
    PutKey(AccessKeyRecord, Arc<str>),
    DeleteKey(String),
    Usage(KeyUsageRecord),
    PutTag(Owner, String, String),
    DeleteTag(Owner, String),
    /// The role, its trust policy parsed, and its boundary's compiled document when
    /// that is AWS-managed.
    PutRole(RoleRecord, BoundPolicy, Option<Arc<CompiledPolicy>>),
    DeleteRole(String),
    PutProfile(InstanceProfileRecord),
    DeleteProfile(String),
    AddRole(InstanceProfileRoleRecord),
    RemoveRole(InstanceProfileRoleRecord),
    DeletionTask(String),
    PutManaged(ManagedPolicyRecord),
    DeleteManaged(String),
    PutVersion(u64, PolicyVersionRecord, Arc<CompiledPolicy>),
    DeleteVersion(String, u64),
    /// The attachment, who holds it, and the AWS-managed policy's compiled document.
    Attach(AttachmentRecord, Holder, Option<Arc<CompiledPolicy>>),
    Detach(AttachmentRecord, Holder),
}

/// A batch of changes [`State::prepare`] accepted, for [`State::apply`].
#[derive(Debug, Default)]
pub(crate) struct Prepared(Vec<Step>);

/// Which users, groups, roles and instance profiles exist part-way through a batch:
/// the state, overlaid with what the batch's earlier changes create and delete.
struct Pending<'a> {
    state: &'a State,
    users: HashMap<&'a str, bool>,
    groups: HashMap<&'a str, bool>,
    roles: HashMap<&'a str, bool>,
    profiles: HashMap<&'a str, bool>,
    /// Managed policy id → its name (`None`: deleted by the batch).
    policies: HashMap<&'a str, Option<&'a str>>,
    /// AWS-managed documents compiled by this batch, by ARN.
    compiled: HashMap<&'a str, Arc<CompiledPolicy>>,
}

impl<'a> Pending<'a> {
    fn role(&self, id: &str) -> bool {
        self.roles
            .get(id)
            .copied()
            .unwrap_or_else(|| self.state.roles.contains_key(id))
    }

    fn profile(&self, id: &str) -> bool {
        self.profiles
            .get(id)
            .copied()
            .unwrap_or_else(|| self.state.profiles.contains_key(id))
    }

    fn user(&self, id: &str) -> bool {
        self.users
            .get(id)
            .copied()
            .unwrap_or_else(|| self.state.users.contains_key(id))
    }

    fn group(&self, id: &str) -> bool {
        self.groups
            .get(id)
            .copied()
            .unwrap_or_else(|| self.state.groups.contains_key(id))
    }

    /// The name of the managed policy `id`, if it exists part-way through the batch.
    fn policy(&self, id: &str) -> Option<&str> {
        match self.policies.get(id) {
            Some(name) => *name,
            None => self.state.policies.get(id).map(|p| p.rec.name.as_str()),
        }
    }

    fn owner(&self, o: &Owner) -> bool {
        match o {
            Owner::User(id) => self.user(id),
            Owner::Group(id) => self.group(id),
            Owner::Role(id) => self.role(id),
            Owner::InstanceProfile(id) => self.profile(id),
            Owner::Policy(id) => self.policy(id).is_some(),
        }
    }

    /// The AWS-managed document `arn`, compiled: the one memory (or this batch) holds,
    /// else compiled now. Always returned, so `apply` has it even when an earlier step
    /// of the batch dropped memory's copy (its last attachment detached).
    fn aws_document(&mut self, arn: &'a str) -> Result<Arc<CompiledPolicy>, StateError> {
        if let Some(c) = self.state.aws_compiled.get(arn) {
            Ok(c.clone())
        } else if let Some(c) = self.compiled.get(arn) {
            Ok(c.clone())
        } else {
            let c = compile_aws_managed(arn)?;
            self.compiled.insert(arn, c.clone());
            Ok(c)
        }
    }

    /// A permissions boundary as a user or role record names it: an existing managed
    /// policy (customer-managed: in this account, after the batch's earlier changes).
    /// Returns its compiled document when it is AWS-managed.
    fn boundary(
        &mut self,
        arn: Option<&'a str>,
    ) -> Result<Option<Arc<CompiledPolicy>>, StateError> {
        let Some(arn) = arn else {
            return Ok(None);
        };
        if is_aws_managed(arn) {
            return self.aws_document(arn).map(Some);
        }
        let exists = self
            .state
            .policy_by_arn(arn)
            .is_some_and(|m| self.policy(&m.rec.id).is_some());
        if exists {
            Ok(None)
        } else {
            Err(corrupt(format!(
                "permissions boundary of unknown policy {arn}"
            )))
        }
    }

    fn holder(&self, h: &Holder) -> bool {
        match h {
            Holder::User(id) => self.user(id),
            Holder::Group(id) => self.group(id),
            Holder::Role(id) => self.role(id),
        }
    }
}

fn corrupt(what: String) -> StateError {
    StateError::Corrupt(what)
}

impl State {
    /// The state a snapshot holds, prepared and applied like any batch.
    pub(crate) fn from_snapshot(snap: Snapshot, master: &MasterKey) -> Result<Self, StateError> {
        let mut s = State::default();
        // The account and the managed policies first: users and roles name their
        // permissions boundary by ARN, which needs both.
        let mut policies = Vec::new();
        policies.extend(snap.account.map(Change::PutAccount));
        policies.extend(
            snap.managed_policies
                .into_iter()
                .map(Change::PutManagedPolicy),
        );
        policies.extend(
            snap.policy_versions
                .into_iter()
                .map(Change::PutPolicyVersion),
        );
        let prepared = s.prepare(&policies, master)?;
        s.apply(prepared);
        let mut changes = Vec::new();
        changes.extend(snap.users.into_iter().map(Change::PutUser));
        changes.extend(snap.groups.into_iter().map(Change::PutGroup));
        changes.extend(snap.memberships.into_iter().map(Change::PutMembership));
        changes.extend(snap.roles.into_iter().map(Change::PutRole));
        changes.extend(
            snap.instance_profiles
                .into_iter()
                .map(Change::PutInstanceProfile),
        );
        changes.extend(
            snap.instance_profile_roles
                .into_iter()
                .map(Change::PutInstanceProfileRole),
        );
        changes.extend(snap.deletion_tasks.into_iter().map(Change::PutDeletionTask));
        // Inline policies and tags after their owners, of every kind.
        changes.extend(
            snap.inline_policies
                .into_iter()
                .map(Change::PutInlinePolicy),
        );
        changes.extend(snap.access_keys.into_iter().map(Change::PutAccessKey));
        changes.extend(snap.key_usage.into_iter().map(Change::PutKeyUsage));
        changes.extend(snap.tags.into_iter().map(Change::PutTag));
        let prepared = s.prepare(&changes, master)?;
        s.apply(prepared);
        // Attachments once every policy (found by ARN, with the account) is in place.
        let attachments: Vec<Change> = snap
            .attachments
            .into_iter()
            .map(Change::PutAttachment)
            .collect();
        let prepared = s.prepare(&attachments, master)?;
        s.apply(prepared);
        Ok(s)
    }

    /// The customer-managed policy whose ARN is exactly `arn` (in this account).
    pub(crate) fn policy_by_arn(&self, arn: &str) -> Option<&ManagedPolicy> {
        let account = self.account.as_ref()?;
        ManagedPolicy::by_arn(self, &account.id, arn)
    }

    /// The compiled default document of the managed policy `arn` (customer-managed, or
    /// AWS-managed and attached to someone).
    fn managed_compiled(&self, arn: &str) -> Option<Arc<CompiledPolicy>> {
        if is_aws_managed(arn) {
            self.aws_compiled.get(arn).cloned()
        } else {
            self.policy_by_arn(arn)
                .and_then(|p| p.default_version())
                .map(|v| v.compiled.clone())
        }
    }

    /// The compiled documents of the managed policies `attached` names.
    pub(crate) fn attached_compiled<'a>(
        &'a self,
        attached: &'a BTreeSet<String>,
    ) -> impl Iterator<Item = Arc<CompiledPolicy>> + 'a {
        attached.iter().filter_map(|arn| self.managed_compiled(arn))
    }

    /// How many users, groups and roles have the managed policy `arn` attached.
    pub(crate) fn attachment_count(&self, arn: &str) -> usize {
        self.attached_to.get(arn).map_or(0, BTreeSet::len)
    }

    /// How many users and roles have the managed policy `arn` as permissions boundary.
    pub(crate) fn boundary_count(&self, arn: &str) -> usize {
        self.bound_by.get(arn).map_or(0, BTreeSet::len)
    }

    /// The existing user whose ARN (with its path) is exactly `arn`.
    pub(crate) fn user_by_arn(&self, account: &str, arn: &str) -> Option<&User> {
        User::by_arn(self, account, arn)
    }

    /// The existing group whose ARN (with its path) is exactly `arn`.
    pub(crate) fn group_by_arn(&self, account: &str, arn: &str) -> Option<&Group> {
        Group::by_arn(self, account, arn)
    }

    /// How an AWS denial names the existing entity with this ARN (`user bob`), if any.
    pub(crate) fn denial_name(&self, account: &str, arn: &str) -> Option<String> {
        fn shown<E: Entity>(s: &State, account: &str, arn: &str) -> Option<String> {
            E::by_arn(s, account, arn).map(|e| format!("{} {}", E::ARN_TYPE, e.name()))
        }
        // AWS names a policy by its ARN: "on resource: policy arn:aws:iam::…".
        let policy = (ManagedPolicy::by_arn(self, account, arn).is_some()
            || (is_aws_managed(arn)
                && iamd_catalog::catalog().is_ok_and(|c| c.by_arn(arn).is_some())))
        .then(|| format!("policy {arn}"));
        shown::<User>(self, account, arn)
            .or_else(|| shown::<Group>(self, account, arn))
            .or_else(|| shown::<Role>(self, account, arn))
            .or(policy)
    }

    /// The unique id of the existing user or role whose ARN is exactly `arn`.
    pub(crate) fn principal_id(&self, account: &str, arn: &str) -> Option<String> {
        User::by_arn(self, account, arn)
            .map(|u| u.rec.id.clone())
            .or_else(|| Role::by_arn(self, account, arn).map(|r| r.rec.id.clone()))
    }

    /// The AWS-managed policies in use in this account: attached to a user, group or
    /// role, or set as a permissions boundary (ListPolicies' `OnlyAttached`, as AWS
    /// counts both usages there; GetAccountSummary's PolicyVersionsInUse and
    /// GetAccountAuthorizationDetails' policies).
    pub(crate) fn aws_managed_in_use(&self) -> BTreeSet<&str> {
        self.attached_to
            .keys()
            .chain(self.bound_by.keys())
            .map(String::as_str)
            .filter(|arn| is_aws_managed(arn))
            .collect()
    }

    /// The current ARN of the user or role with unique id `id`, in `account`.
    pub(crate) fn principal_arn(&self, account: &str, id: &str) -> Option<String> {
        self.users
            .get(id)
            .map(|u| u.arn(account))
            .or_else(|| self.roles.get(id).map(|r| r.arn(account)))
    }

    /// Rebinds every role's trust policy to what the principals of this account it
    /// names are now (`binding.rs`): after users or roles were created, deleted, renamed
    /// or moved. Other accounts' principals are rebound by `Iam`, which sees them.
    fn rebind_trusts(&mut self) {
        let Some(account) = self.account.as_ref().map(|a| a.id.clone()) else {
            return;
        };
        let views = self.trust_views(|b| {
            (binding::iam_arn_account(&b.arn).map(|(a, _)| a) == Some(account.as_str()))
                .then(|| self.principal_arn(&account, &b.id))
        });
        self.set_trust_views(views);
    }

    /// Every bound role's trust view, with `current` telling what a binding stands for
    /// now (`None`: unknown here, the view keeps what it had).
    pub(crate) fn trust_views(
        &self,
        current: impl Fn(&TrustBinding) -> binding::Known,
    ) -> Vec<(String, binding::Rebound)> {
        self.roles
            .values()
            .filter(|r| !r.rec.trust_bindings.is_empty())
            .map(|r| {
                let view = binding::rebound(&r.rec.trust_bindings, r.trust.rebound(), &current);
                (r.rec.id.clone(), view)
            })
            .collect()
    }

    /// Installs views made by [`State::trust_views`].
    pub(crate) fn set_trust_views(&mut self, views: Vec<(String, binding::Rebound)>) {
        for (id, view) in views {
            if let Some(r) = self.roles.get_mut(&id) {
                r.trust.rebind(&r.rec.trust_policy, view);
            }
        }
    }

    /// Checks `changes` against this state and does everything about them that can
    /// fail: compiles stored policy documents (one that no longer parses — accepted by
    /// an older version — is an error, never a silently skipped policy), decrypts
    /// secrets, checks that every entity a change refers to exists (after the batch's
    /// earlier changes) and that every owner kind has a table. Changes nothing.
    pub(crate) fn prepare(
        &self,
        changes: &[Change],
        master: &MasterKey,
    ) -> Result<Prepared, StateError> {
        let mut p = Pending {
            state: self,
            users: HashMap::new(),
            groups: HashMap::new(),
            roles: HashMap::new(),
            profiles: HashMap::new(),
            policies: HashMap::new(),
            compiled: HashMap::new(),
        };
        let mut steps = Vec::with_capacity(changes.len());
        for change in changes {
            let step = match change {
                Change::PutAccount(a) => Step::Account(a.clone()),
                Change::PutUser(u) => {
                    let compiled = p.boundary(u.boundary_arn.as_deref())?;
                    p.users.insert(&u.id, true);
                    Step::PutUser(u.clone(), compiled)
                }
                Change::DeleteUser { id } => {
                    p.users.insert(id, false);
                    Step::DeleteUser(id.clone())
                }
                Change::PutGroup(g) => {
                    p.groups.insert(&g.id, true);
                    Step::PutGroup(g.clone())
                }
                Change::DeleteGroup { id } => {
                    p.groups.insert(id, false);
                    Step::DeleteGroup(id.clone())
                }
                Change::PutMembership(m) => {
                    if !p.user(&m.user_id) || !p.group(&m.group_id) {
                        return Err(corrupt(format!("membership of unknown user/group {m:?}")));
                    }
                    Step::Join(m.clone())
                }
                Change::DeleteMembership(m) => Step::Leave(m.clone()),
                Change::PutInlinePolicy(r) => {
                    let owner = Owner::new(r.owner_kind, &r.owner_id)?;
                    if let Owner::InstanceProfile(id) = &owner {
                        return Err(corrupt(format!("inline policy of instance profile {id}")));
                    }
                    if !p.owner(&owner) {
                        return Err(corrupt(format!(
                            "inline policy of unknown {} {}",
                            r.owner_kind.as_str(),
                            r.owner_id
                        )));
                    }
                    let stored = StoredPolicy::inline(&r.document, &r.name).map_err(|e| {
                        corrupt(format!("stored policy {:?} does not parse: {e}", r.name))
                    })?;
                    Step::PutPolicy(owner, r.name.clone(), stored)
                }
                Change::DeleteInlinePolicy {
                    owner_kind,
                    owner_id,
                    name,
                } => Step::DeletePolicy(Owner::new(*owner_kind, owner_id)?, name.clone()),
                Change::PutAccessKey(k) => {
                    if let Some(uid) = &k.user_id {
                        if !p.user(uid) {
                            return Err(corrupt(format!("key {} of unknown user", k.id)));
                        }
                    }
                    let plain = master.open(&k.id, &k.secret_ciphertext)?;
                    let secret: Arc<str> = String::from_utf8(plain)
                        .map_err(|_| corrupt(format!("secret of {} is not text", k.id)))?
                        .into();
                    Step::PutKey(k.clone(), secret)
                }
                Change::DeleteAccessKey { id } => Step::DeleteKey(id.clone()),
                Change::PutKeyUsage(u) => Step::Usage(u.clone()),
                Change::PutTag(t) => {
                    let owner = Owner::new(t.owner_kind, &t.owner_id)?;
                    if !p.owner(&owner) {
                        return Err(corrupt(format!(
                            "tag of unknown {} {}",
                            t.owner_kind.as_str(),
                            t.owner_id
                        )));
                    }
                    Step::PutTag(owner, t.key.clone(), t.value.clone())
                }
                Change::DeleteTag {
                    owner_kind,
                    owner_id,
                    key,
                } => Step::DeleteTag(Owner::new(*owner_kind, owner_id)?, key.clone()),
                Change::PutRole(r) => {
                    let trust = BoundPolicy::trust(&r.trust_policy).map_err(|e| {
                        corrupt(format!("trust policy of role {} does not parse: {e}", r.id))
                    })?;
                    let compiled = p.boundary(r.boundary_arn.as_deref())?;
                    p.roles.insert(&r.id, true);
                    Step::PutRole(r.clone(), trust, compiled)
                }
                Change::DeleteRole { id } => {
                    p.roles.insert(id, false);
                    Step::DeleteRole(id.clone())
                }
                Change::PutInstanceProfile(ip) => {
                    p.profiles.insert(&ip.id, true);
                    Step::PutProfile(ip.clone())
                }
                Change::DeleteInstanceProfile { id } => {
                    p.profiles.insert(id, false);
                    Step::DeleteProfile(id.clone())
                }
                Change::PutInstanceProfileRole(m) => {
                    if !p.profile(&m.profile_id) || !p.role(&m.role_id) {
                        return Err(corrupt(format!(
                            "instance profile role of unknown profile/role {m:?}"
                        )));
                    }
                    Step::AddRole(m.clone())
                }
                Change::DeleteInstanceProfileRole(m) => Step::RemoveRole(m.clone()),
                Change::PutDeletionTask(t) => Step::DeletionTask(t.id.clone()),
                Change::PutManagedPolicy(r) => {
                    p.policies.insert(&r.id, Some(&r.name));
                    Step::PutManaged(r.clone())
                }
                Change::DeleteManagedPolicy { id } => {
                    p.policies.insert(id, None);
                    Step::DeleteManaged(id.clone())
                }
                Change::PutPolicyVersion(v) => {
                    let name = p.policy(&v.policy_id).ok_or_else(|| {
                        corrupt(format!("version of unknown policy {}", v.policy_id))
                    })?;
                    let n = version_number(&v.version_id)
                        .ok_or_else(|| corrupt(format!("policy version id {}", v.version_id)))?;
                    let compiled =
                        CompiledPolicy::from_json(&v.document, PolicyType::Managed, name).map_err(
                            |f| {
                                corrupt(format!(
                                    "stored policy {name:?} {} does not parse: {}",
                                    v.version_id,
                                    f.first().map(|f| f.message.as_str()).unwrap_or_default()
                                ))
                            },
                        )?;
                    Step::PutVersion(n, v.clone(), Arc::new(compiled))
                }
                Change::DeletePolicyVersion {
                    policy_id,
                    version_id,
                } => {
                    let n = version_number(version_id)
                        .ok_or_else(|| corrupt(format!("policy version id {version_id}")))?;
                    Step::DeleteVersion(policy_id.clone(), n)
                }
                Change::PutAttachment(a) => {
                    let holder = Holder::of(a)?;
                    if !p.holder(&holder) {
                        return Err(corrupt(format!(
                            "attachment to unknown {} {}",
                            a.owner_kind.as_str(),
                            a.owner_id
                        )));
                    }
                    let arn = a.policy_arn.as_str();
                    let compiled = if is_aws_managed(arn) {
                        Some(p.aws_document(arn)?)
                    } else {
                        let exists = self
                            .policy_by_arn(arn)
                            .is_some_and(|m| p.policy(&m.rec.id).is_some());
                        if !exists {
                            return Err(corrupt(format!("attachment of unknown policy {arn}")));
                        }
                        None
                    };
                    Step::Attach(a.clone(), holder, compiled)
                }
                Change::DeleteAttachment(a) => Step::Detach(a.clone(), Holder::of(a)?),
            };
            steps.push(step);
        }
        Ok(Prepared(steps))
    }

    /// Makes memory show a prepared batch (after its commit), and refreshes the
    /// effective policy sets it touched. Cannot fail.
    pub(crate) fn apply(&mut self, prepared: Prepared) {
        let mut touched = BTreeSet::new();
        let mut touched_roles = BTreeSet::new();
        let mut principals_changed = false;
        // Holders of managed policies whose compiled default may have changed.
        let mut holders: BTreeSet<Holder> = BTreeSet::new();
        let mut changed_policies: BTreeSet<String> = BTreeSet::new();
        for step in prepared.0 {
            self.touched_by(&step, &mut touched);
            match &step {
                Step::PutPolicy(Owner::Role(id), ..) | Step::DeletePolicy(Owner::Role(id), _) => {
                    touched_roles.insert(id.clone());
                }
                Step::Attach(_, h, _) | Step::Detach(_, h) => {
                    holders.insert(h.clone());
                }
                Step::PutManaged(r) => {
                    changed_policies.insert(r.id.clone());
                }
                Step::PutVersion(_, v, _) => {
                    changed_policies.insert(v.policy_id.clone());
                }
                Step::PutUser(u, _) => {
                    // Its boundary may have changed.
                    touched.insert(u.id.clone());
                    principals_changed = true;
                }
                Step::PutRole(r, ..) => {
                    touched_roles.insert(r.id.clone());
                    principals_changed = true;
                }
                Step::DeleteUser(_) | Step::DeleteRole(_) => {
                    principals_changed = true;
                }
                _ => {}
            }
            self.apply_step(step);
        }
        if let Some(account) = self.account.as_ref().map(|a| a.id.clone()) {
            for id in &changed_policies {
                if let Some(p) = self.policies.get(id) {
                    let arn = p.arn(&account);
                    if let Some(h) = self.attached_to.get(&arn) {
                        holders.extend(h.iter().cloned());
                    }
                    if let Some(h) = self.bound_by.get(&arn) {
                        holders.extend(h.iter().cloned());
                    }
                }
            }
        }
        for h in holders {
            match h {
                Holder::User(id) => {
                    touched.insert(id);
                }
                Holder::Group(id) => {
                    if let Some(g) = self.groups.get(&id) {
                        touched.extend(g.members.iter().cloned());
                    }
                }
                Holder::Role(id) => {
                    touched_roles.insert(id);
                }
            }
        }
        for uid in touched {
            self.refresh_effective(&uid);
        }
        for rid in touched_roles {
            self.refresh_role(&rid);
        }
        if principals_changed {
            self.rebind_trusts();
        }
    }

    /// The users whose effective policy set `step` changes.
    fn touched_by(&self, step: &Step, touched: &mut BTreeSet<String>) {
        let members = |gid: &str| self.groups.get(gid).map(|g| g.members.iter().cloned());
        match step {
            Step::Join(m) | Step::Leave(m) => {
                touched.insert(m.user_id.clone());
            }
            Step::PutPolicy(Owner::User(id), ..) | Step::DeletePolicy(Owner::User(id), _) => {
                touched.insert(id.clone());
            }
            Step::PutPolicy(Owner::Group(id), ..)
            | Step::DeletePolicy(Owner::Group(id), _)
            | Step::DeleteGroup(id) => touched.extend(members(id).into_iter().flatten()),
            Step::Account(_)
            | Step::PutUser(..)
            | Step::DeleteUser(_)
            | Step::PutGroup(_)
            | Step::PutKey(..)
            | Step::DeleteKey(_)
            | Step::Usage(_)
            | Step::PutTag(..)
            | Step::DeleteTag(..)
            | Step::PutPolicy(..)
            | Step::DeletePolicy(..)
            | Step::PutRole(..)
            | Step::DeleteRole(_)
            | Step::PutProfile(_)
            | Step::DeleteProfile(_)
            | Step::AddRole(_)
            | Step::RemoveRole(_)
            | Step::DeletionTask(_)
            | Step::PutManaged(_)
            | Step::DeleteManaged(_)
            | Step::PutVersion(..)
            | Step::DeleteVersion(..)
            | Step::Attach(..)
            | Step::Detach(..) => {}
        }
    }

    fn refresh_effective(&mut self, user_id: &str) {
        let Some(u) = self.users.get(user_id) else {
            return;
        };
        let mut set: Vec<Arc<CompiledPolicy>> =
            u.policies.values().map(|p| p.compiled.clone()).collect();
        set.extend(self.attached_compiled(&u.attached));
        for gid in &u.groups {
            if let Some(g) = self.groups.get(gid) {
                set.extend(g.policies.values().map(|p| p.compiled.clone()));
                set.extend(self.attached_compiled(&g.attached));
            }
        }
        let boundary = self.boundary_compiled(u.rec.boundary_arn.as_deref());
        if let Some(u) = self.users.get_mut(user_id) {
            u.effective = Arc::from(set);
            u.boundary = boundary;
        }
    }

    fn refresh_role(&mut self, role_id: &str) {
        let Some(r) = self.roles.get(role_id) else {
            return;
        };
        let mut set: Vec<Arc<CompiledPolicy>> =
            r.policies.values().map(|p| p.compiled.clone()).collect();
        set.extend(self.attached_compiled(&r.attached));
        let boundary = self.boundary_compiled(r.rec.boundary_arn.as_deref());
        if let Some(r) = self.roles.get_mut(role_id) {
            r.effective = Arc::from(set);
            r.boundary = boundary;
        }
    }

    /// The attached policy ARNs of the user, group or role `holder` names.
    fn attached_mut(&mut self, holder: &Holder) -> Option<&mut BTreeSet<String>> {
        match holder {
            Holder::User(id) => self.users.get_mut(id).map(|u| &mut u.attached),
            Holder::Group(id) => self.groups.get_mut(id).map(|g| &mut g.attached),
            Holder::Role(id) => self.roles.get_mut(id).map(|r| &mut r.attached),
        }
    }

    /// The compiled default document of a permissions boundary. A boundary whose
    /// policy cannot be found (`prepare` refuses one, so never) binds to a policy that
    /// allows nothing: fail closed.
    fn boundary_compiled(&self, arn: Option<&str>) -> Option<Arc<CompiledPolicy>> {
        let arn = arn?;
        Some(
            self.managed_compiled(arn)
                .unwrap_or_else(|| allows_nothing(PolicyType::Managed, arn)),
        )
    }

    /// Forgets that `holder` holds the managed policy `arn` (and the compiled AWS-managed
    /// document once no one holds it).
    fn unhold(&mut self, arn: &str, holder: &Holder) {
        if let Some(set) = self.attached_to.get_mut(arn) {
            set.remove(holder);
            if set.is_empty() {
                self.attached_to.remove(arn);
                self.release_aws(arn);
            }
        }
    }

    /// Drops the compiled AWS-managed document `arn` once no one has it attached or as
    /// permissions boundary.
    fn release_aws(&mut self, arn: &str) {
        if !self.attached_to.contains_key(arn) && !self.bound_by.contains_key(arn) {
            self.aws_compiled.remove(arn);
        }
    }

    /// Records that `holder` (a user or role) has the boundary `new` instead of `old`;
    /// `compiled` is `new`'s AWS-managed document when `prepare` compiled it.
    fn rebound(
        &mut self,
        holder: &Holder,
        old: Option<String>,
        new: Option<&str>,
        compiled: Option<Arc<CompiledPolicy>>,
    ) {
        if old.as_deref() == new {
            return;
        }
        if let Some(arn) = new {
            if let Some(c) = compiled {
                self.aws_compiled.entry(arn.to_string()).or_insert(c);
            }
            self.bound_by
                .entry(arn.to_string())
                .or_default()
                .insert(holder.clone());
        }
        if let Some(arn) = old {
            if let Some(set) = self.bound_by.get_mut(&arn) {
                set.remove(holder);
                if set.is_empty() {
                    self.bound_by.remove(&arn);
                    self.release_aws(&arn);
                }
            }
        }
    }

    fn put_entity<E: Entity>(&mut self, rec: E::Rec) {
        let (by_id, names) = E::table_mut(self);
        let id = E::rec_id(&rec).to_string();
        let lower = E::rec_name(&rec).to_lowercase();
        match by_id.get_mut(&id) {
            Some(existing) => {
                names.remove(&existing.name().to_lowercase());
                existing.set_rec(rec);
            }
            None => {
                by_id.insert(id.clone(), E::from_rec(rec));
            }
        }
        names.insert(lower, id);
    }

    fn remove_entity<E: Entity>(&mut self, id: &str) -> Option<E> {
        let (by_id, names) = E::table_mut(self);
        let e = by_id.remove(id)?;
        names.remove(&e.name().to_lowercase());
        Some(e)
    }

    /// Applies one prepared change. What it refers to exists (checked by `prepare`,
    /// under the same write lock); a delete of something absent does nothing.
    fn apply_step(&mut self, step: Step) {
        match step {
            Step::Account(a) => self.account = Some(a),
            Step::PutUser(u, compiled) => {
                let holder = Holder::User(u.id.clone());
                let old = self
                    .users
                    .get(&u.id)
                    .and_then(|o| o.rec.boundary_arn.clone());
                let new = u.boundary_arn.clone();
                self.put_entity::<User>(u);
                self.rebound(&holder, old, new.as_deref(), compiled);
            }
            Step::DeleteUser(id) => {
                if let Some(u) = self.remove_entity::<User>(&id) {
                    self.rebound(
                        &Holder::User(id.clone()),
                        u.rec.boundary_arn.clone(),
                        None,
                        None,
                    );
                    for arn in &u.attached {
                        self.unhold(arn, &Holder::User(id.clone()));
                    }
                    for g in &u.groups {
                        if let Some(g) = self.groups.get_mut(g) {
                            g.members.remove(&id);
                        }
                    }
                    for k in &u.keys {
                        self.keys.remove(k);
                    }
                }
            }
            Step::PutGroup(g) => self.put_entity::<Group>(g),
            Step::DeleteGroup(id) => {
                if let Some(g) = self.remove_entity::<Group>(&id) {
                    for arn in &g.attached {
                        self.unhold(arn, &Holder::Group(id.clone()));
                    }
                    for u in &g.members {
                        if let Some(u) = self.users.get_mut(u) {
                            u.groups.remove(&id);
                        }
                    }
                }
            }
            Step::Join(m) => {
                if let (Some(u), Some(g)) = (
                    self.users.get_mut(&m.user_id),
                    self.groups.get_mut(&m.group_id),
                ) {
                    u.groups.insert(m.group_id);
                    g.members.insert(m.user_id);
                }
            }
            Step::Leave(m) => {
                if let Some(u) = self.users.get_mut(&m.user_id) {
                    u.groups.remove(&m.group_id);
                }
                if let Some(g) = self.groups.get_mut(&m.group_id) {
                    g.members.remove(&m.user_id);
                }
            }
            Step::PutPolicy(owner, name, policy) => {
                on_owner!(self, &owner, |e| e.policies_mut().insert(name, policy));
            }
            Step::DeletePolicy(owner, name) => {
                on_owner!(self, &owner, |e| e.policies_mut().remove(&name));
            }
            Step::PutKey(rec, secret) => {
                if let Some(u) = rec.user_id.as_ref().and_then(|u| self.users.get_mut(u)) {
                    u.keys.insert(rec.id.clone());
                }
                let usage = self
                    .keys
                    .get(&rec.id)
                    .map(|old| old.usage.clone())
                    .unwrap_or_default();
                self.keys.insert(rec.id.clone(), Key { rec, secret, usage });
            }
            Step::DeleteKey(id) => {
                if let Some(k) = self.keys.remove(&id) {
                    if let Some(u) = k
                        .rec
                        .user_id
                        .as_ref()
                        .and_then(|uid| self.users.get_mut(uid))
                    {
                        u.keys.remove(&id);
                    }
                }
            }
            Step::Usage(u) => {
                if let Some(k) = self.keys.get(&u.access_key_id) {
                    let mut last = k.usage.last.lock().unwrap_or_else(|p| p.into_inner());
                    if last.as_ref().is_none_or(|l| l.last_used <= u.last_used) {
                        *last = Some(u);
                    }
                }
            }
            Step::PutTag(owner, key, value) => {
                on_owner!(self, &owner, |e| put_tag(e.tags_mut(), key, value));
            }
            Step::DeleteTag(owner, key) => {
                on_owner!(self, &owner, |e| e
                    .tags_mut()
                    .retain(|(k, _)| !k.eq_ignore_ascii_case(&key)));
            }
            Step::PutRole(rec, trust, compiled) => {
                let id = rec.id.clone();
                let holder = Holder::Role(id.clone());
                let old = self.roles.get(&id).and_then(|o| o.rec.boundary_arn.clone());
                let new = rec.boundary_arn.clone();
                // The same trust policy and bindings (another field changed): the view
                // stays, with what it knows of other accounts' principals.
                let kept = self
                    .roles
                    .get(&id)
                    .filter(|o| {
                        o.rec.trust_policy == rec.trust_policy
                            && o.rec.trust_bindings == rec.trust_bindings
                    })
                    .map(|o| o.trust.clone());
                self.put_entity::<Role>(rec);
                if let Some(r) = self.roles.get_mut(&id) {
                    r.trust = kept.unwrap_or(trust);
                }
                self.rebound(&holder, old, new.as_deref(), compiled);
            }
            Step::DeleteRole(id) => {
                if let Some(r) = self.remove_entity::<Role>(&id) {
                    self.rebound(
                        &Holder::Role(id.clone()),
                        r.rec.boundary_arn.clone(),
                        None,
                        None,
                    );
                    for arn in &r.attached {
                        self.unhold(arn, &Holder::Role(id.clone()));
                    }
                    for p in &r.profiles {
                        if let Some(p) = self.profiles.get_mut(p) {
                            p.roles.remove(&id);
                        }
                    }
                }
            }
            Step::PutProfile(rec) => self.put_entity::<InstanceProfile>(rec),
            Step::DeleteProfile(id) => {
                if let Some(p) = self.remove_entity::<InstanceProfile>(&id) {
                    for r in &p.roles {
                        if let Some(r) = self.roles.get_mut(r) {
                            r.profiles.remove(&id);
                        }
                    }
                }
            }
            Step::AddRole(m) => {
                if let (Some(p), Some(r)) = (
                    self.profiles.get_mut(&m.profile_id),
                    self.roles.get_mut(&m.role_id),
                ) {
                    p.roles.insert(m.role_id);
                    r.profiles.insert(m.profile_id);
                }
            }
            Step::RemoveRole(m) => {
                if let Some(p) = self.profiles.get_mut(&m.profile_id) {
                    p.roles.remove(&m.role_id);
                }
                if let Some(r) = self.roles.get_mut(&m.role_id) {
                    r.profiles.remove(&m.profile_id);
                }
            }
            Step::DeletionTask(id) => {
                self.deletion_tasks.insert(id);
            }
            Step::PutManaged(rec) => self.put_entity::<ManagedPolicy>(rec),
            Step::DeleteManaged(id) => {
                self.remove_entity::<ManagedPolicy>(&id);
            }
            Step::PutVersion(n, rec, compiled) => {
                if let Some(p) = self.policies.get_mut(&rec.policy_id) {
                    p.versions.insert(n, PolicyVersion { rec, compiled });
                }
            }
            Step::DeleteVersion(policy_id, n) => {
                if let Some(p) = self.policies.get_mut(&policy_id) {
                    p.versions.remove(&n);
                }
            }
            Step::Attach(a, holder, compiled) => {
                if let Some(set) = self.attached_mut(&holder) {
                    set.insert(a.policy_arn.clone());
                    if let Some(c) = compiled {
                        self.aws_compiled.entry(a.policy_arn.clone()).or_insert(c);
                    }
                    self.attached_to
                        .entry(a.policy_arn)
                        .or_default()
                        .insert(holder);
                }
            }
            Step::Detach(a, holder) => {
                if let Some(set) = self.attached_mut(&holder) {
                    set.remove(&a.policy_arn);
                }
                self.unhold(&a.policy_arn, &holder);
            }
        }
    }
}

/// Sets a tag: replaces the value (and the key's spelling) of a key present
/// case-insensitively, in its place; else appends it.
fn put_tag(tags: &mut Tags, key: String, value: String) {
    match tags.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(&key)) {
        Some(slot) => *slot = (key, value),
        None => tags.push((key, value)),
    }
}
