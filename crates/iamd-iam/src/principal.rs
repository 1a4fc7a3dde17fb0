//! Who is calling: the principal behind an access key, its condition-key values
//! (docs/policy-semantics.md §5.1–5.2), and the authorization decision for it.

use std::borrow::Cow;
use std::sync::Arc;

use iamd_policy::{
    decide, render_denial, Caller, CompiledPolicy, Context, DecisionKind, PolicySet, Request,
    Resource,
};
use iamd_store::Store;

use crate::core::Iam;
use crate::error::IamError;
use crate::state::UsageCell;

/// Where a request came from: what the request-level global condition keys are made of.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestOrigin<'a> {
    pub source_ip: Option<std::net::IpAddr>,
    /// Whether it arrived over TLS (`aws:SecureTransport`).
    pub secure: bool,
    /// The raw `User-Agent` and `Referer` header values.
    pub user_agent: Option<&'a [u8]>,
    pub referer: Option<&'a [u8]>,
}

/// A request's condition keys, built when a decision first needs them: [`Iam::authorize`]
/// takes an allow from a policy set that reads no context
/// ([`PolicySet::reads_context`]) without building them.
pub struct LazyContext<'a> {
    inner: LazyInner<'a>,
}

enum LazyInner<'a> {
    Ready(&'a Context),
    Lazy {
        built: std::sync::OnceLock<Context>,
        build: &'a (dyn Fn() -> Context + Sync),
    },
}

impl<'a> LazyContext<'a> {
    /// Keys `build` makes on first use.
    pub fn new(build: &'a (dyn Fn() -> Context + Sync)) -> Self {
        LazyContext {
            inner: LazyInner::Lazy {
                built: std::sync::OnceLock::new(),
                build,
            },
        }
    }

    /// Keys already built.
    pub fn ready(ctx: &'a Context) -> Self {
        LazyContext {
            inner: LazyInner::Ready(ctx),
        }
    }

    /// The keys (built now if they were not).
    pub fn get(&self) -> &Context {
        match &self.inner {
            LazyInner::Ready(c) => c,
            LazyInner::Lazy { built, build } => built.get_or_init(build),
        }
    }
}

/// A context holding the request-level global condition keys every service sets
/// (§5.1): time, transport, source IP, the service-principal flags,
/// requested region, user agent and referer. Principal keys come from
/// [`Iam::add_principal_keys`]; service keys from the service.
pub fn request_context(o: &RequestOrigin<'_>, capacity: usize) -> Context {
    // Keys in lowercase (as the context stores them), so none is copied; this runs on
    // every request.
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut ctx = Context::with_capacity(capacity);
    let (time, epoch) = now_strings();
    ctx.insert_static("aws:currenttime", time);
    ctx.insert_static("aws:epochtime", epoch);
    ctx.insert_static(
        "aws:securetransport",
        if o.secure { "true" } else { "false" },
    );
    if let Some(ip) = o.source_ip {
        ctx.insert_static("aws:sourceip", ip_string(ip));
    }
    ctx.insert_static("aws:principalisawsservice", "false");
    ctx.insert_static("aws:viaawsservice", "false");
    ctx.insert_static("aws:requestedregion", "us-east-1");
    ctx.insert_static("aws:useragent", o.user_agent.map(text).unwrap_or_default());
    if let Some(r) = o.referer {
        ctx.insert_static("aws:referer", text(r));
    }
    ctx
}

/// `aws:CurrentTime` and `aws:EpochTime` for now: formatted once a second per thread,
/// cloned for the requests within it.
fn now_strings() -> (String, String) {
    use std::cell::RefCell;
    thread_local! {
        static NOW: RefCell<(i64, String, String)> = const { RefCell::new((i64::MIN, String::new(), String::new())) };
    }
    let now = iamd_api::Timestamp::now();
    let secs = now.as_secs();
    NOW.with(|cell| {
        let mut c = cell.borrow_mut();
        if c.0 != secs {
            *c = (secs, now.to_iso8601(), secs.to_string());
        }
        (c.1.clone(), c.2.clone())
    })
}

/// An address as `aws:SourceIp` shows it (IPv4 without the formatting machinery).
fn ip_string(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut s = String::with_capacity(15);
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                if octet >= 100 {
                    s.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    s.push(char::from(b'0' + octet / 10 % 10));
                }
                s.push(char::from(b'0' + octet % 10));
            }
            s
        }
        std::net::IpAddr::V6(_) => ip.to_string(),
    }
}

/// An authenticated caller. Cheap to clone where it is built per request: a session's
/// principal is one `Arc`, built once per token (`sessions.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The account root (its own access keys).
    Root { account: String },
    /// An IAM user.
    User {
        id: String,
        name: String,
        arn: String,
        account: String,
    },
    /// A role session (AssumeRole): `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`.
    AssumedRole(Arc<RoleSession>),
    /// A GetSessionToken session of a user or the root: the same identity as its
    /// long-term credentials, with a token.
    Session(Arc<UserSession>),
    /// A GetFederationToken session: `arn:aws:sts::ACCT:federated-user/NAME`.
    FederatedUser(Arc<crate::sessions::FederatedSession>),
}

/// A GetSessionToken session.
#[derive(Debug, PartialEq, Eq)]
pub struct UserSession {
    /// The user or root it acts as.
    pub base: Principal,
    /// Unix seconds.
    pub issued_at: u64,
    /// `aws:TokenIssueTime`, ISO 8601.
    pub issued_at_text: String,
    pub expires_at: u64,
    /// MFA was authenticated (never, until MFA devices exist).
    pub mfa: bool,
}

/// A role session as its token describes it. The role's own policies are not here:
/// they are read at request time ([`Iam::identity_policies`]).
#[derive(Debug)]
pub struct RoleSession {
    pub account: String,
    /// The role's unique id (`AROA…`).
    pub role_id: String,
    pub role_name: String,
    /// `arn:aws:iam::ACCT:role/PATH/NAME` (`aws:PrincipalArn`).
    pub role_arn: String,
    pub session_name: String,
    /// `arn:aws:sts::ACCT:assumed-role/NAME/SESSION`.
    pub arn: String,
    /// `AROA…:SESSION` (`aws:userid`).
    pub user_id: String,
    /// Unix seconds.
    pub issued_at: u64,
    /// `aws:TokenIssueTime`, ISO 8601.
    pub issued_at_text: String,
    /// Unix seconds; the session is expired from this instant on.
    pub expires_at: u64,
    pub source_identity: Option<String>,
    /// The session policies (inline and managed): effective permissions are the
    /// intersection of these and the role's.
    pub session_policies: crate::sessions::SessionPolicies,
    /// Session tags (key, value).
    pub tags: Vec<(String, String)>,
    /// Keys of the session tags that pass on to a chained session (AWS: they cannot be
    /// overridden there).
    pub transitive_tag_keys: Vec<String>,
    /// Made by role chaining or from GetSessionToken credentials.
    pub chained: bool,
}

impl PartialEq for RoleSession {
    fn eq(&self, other: &Self) -> bool {
        self.arn == other.arn
            && self.role_id == other.role_id
            && self.issued_at == other.issued_at
            && self.expires_at == other.expires_at
    }
}

impl Eq for RoleSession {}

impl Principal {
    /// The policy engine's view of this caller.
    pub fn caller(&self) -> iamd_policy::Caller<'_> {
        match self {
            Principal::Root { account } => Caller::Root { account },
            Principal::User {
                arn, id, account, ..
            } => Caller::User { arn, id, account },
            Principal::AssumedRole(s) => Caller::RoleSession {
                session_arn: &s.arn,
                role_arn: &s.role_arn,
                role_id: &s.role_id,
                account: &s.account,
            },
            Principal::Session(s) => s.base.caller(),
            Principal::FederatedUser(f) => Caller::FederatedUser {
                arn: &f.arn,
                user_arn: &f.issuer_arn,
                account: &f.account,
            },
        }
    }

    pub fn arn(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Principal::Root { account } => {
                let mut arn = String::with_capacity(account.len() + 18);
                arn.push_str("arn:aws:iam::");
                arn.push_str(account);
                arn.push_str(":root");
                arn.into()
            }
            Principal::User { arn, .. } => arn.as_str().into(),
            Principal::AssumedRole(s) => s.arn.as_str().into(),
            Principal::Session(s) => s.base.arn(),
            Principal::FederatedUser(f) => f.arn.as_str().into(),
        }
    }

    /// `aws:userid` / GetCallerIdentity's `UserId`.
    pub fn user_id(&self) -> &str {
        match self {
            Principal::Root { account } => account,
            Principal::User { id, .. } => id,
            Principal::AssumedRole(s) => &s.user_id,
            Principal::Session(s) => s.base.user_id(),
            Principal::FederatedUser(f) => &f.user_id,
        }
    }

    pub fn account(&self) -> &str {
        match self {
            Principal::Root { account } | Principal::User { account, .. } => account,
            Principal::AssumedRole(s) => &s.account,
            Principal::Session(s) => s.base.account(),
            Principal::FederatedUser(f) => &f.account,
        }
    }

    /// The session policies that bind this caller (none for long-term credentials).
    pub fn session_policies(&self) -> Option<&crate::sessions::SessionPolicies> {
        match self {
            Principal::AssumedRole(s) => Some(&s.session_policies),
            Principal::FederatedUser(f) => Some(&f.session_policies),
            _ => None,
        }
    }

    /// The caller is a session (temporary credentials).
    pub fn is_session(&self) -> bool {
        matches!(
            self,
            Principal::AssumedRole(_) | Principal::Session(_) | Principal::FederatedUser(_)
        )
    }

    /// The identity a GetSessionToken session acts as; any other principal itself.
    pub fn long_term(&self) -> &Principal {
        match self {
            Principal::Session(s) => &s.base,
            other => other,
        }
    }
}

/// The policies that bind an IAM identity (a user, or a role's sessions): its
/// identity policies (inline and attached, a user's groups' included) and its
/// permissions boundary. Dereferences to the identity policies.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub policies: Arc<[Arc<CompiledPolicy>]>,
    /// The default document of its permissions boundary policy.
    pub boundary: Option<Arc<CompiledPolicy>>,
}

impl std::ops::Deref for Identity {
    type Target = [Arc<CompiledPolicy>];
    fn deref(&self) -> &Self::Target {
        &self.policies
    }
}

/// Why an access key cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    Unknown,
    Inactive,
    /// A session token with a long-term key, or a session token that does not open
    /// (damaged, forged, bound to another key id, unknown key generation): Query
    /// `InvalidClientTokenId`, S3 `InvalidToken`.
    InvalidToken,
    /// An authentic session token past its expiry: `ExpiredToken`.
    ExpiredToken,
}

/// What [`Iam::authenticate`] found: the caller, the secret its signature is checked
/// with, and (long-term keys only) the cell recording the key's last use.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub secret: Arc<str>,
    pub usage: Option<Arc<UsageCell>>,
    /// Test mode's root for a key this server does not hold: the signature is parsed
    /// but not checked (`secret` is empty). Never set unless test mode is on.
    pub any_secret: bool,
}

/// A resource of an authorization check: a specific ARN, or `*` for the
/// wildcard-only actions (§6.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Arn(String),
    Wildcard,
}

impl Target {
    pub fn display(&self) -> &str {
        match self {
            Target::Arn(a) => a,
            Target::Wildcard => "*",
        }
    }
}

/// One check: an action on a resource, with the condition keys specific to it.
#[derive(Debug, Clone)]
pub struct Check {
    /// Usually a `&'static str` (the front door's action names): no copy per request.
    pub action: Cow<'static, str>,
    pub target: Target,
    pub keys: Vec<(String, Vec<String>)>,
    /// The role trust policy the check is also decided against (`sts:AssumeRole`,
    /// resource = the role ARN); its denial carries no reason, as AWS's.
    pub trust: Option<Arc<CompiledPolicy>>,
}

impl Check {
    /// A check on a specific ARN.
    pub fn on(
        action: impl Into<Cow<'static, str>>,
        arn: String,
        keys: Vec<(String, Vec<String>)>,
    ) -> Check {
        Check {
            action: action.into(),
            target: Target::Arn(arn),
            keys,
            trust: None,
        }
    }

    /// The check's resource as the engine takes it.
    pub fn resource(&self) -> Resource<'_> {
        match &self.target {
            Target::Arn(a) => Resource::Arn(a),
            Target::Wildcard => Resource::Wildcard,
        }
    }

    /// A check of a wildcard-only action (resource `*`).
    pub fn wildcard(action: impl Into<Cow<'static, str>>) -> Check {
        Check {
            action: action.into(),
            target: Target::Wildcard,
            keys: Vec::new(),
            trust: None,
        }
    }
}

/// A long-term key's principal, plaintext secret and last-use cell.
pub type KeyCredentials = (Principal, Arc<str>, Arc<UsageCell>);

impl<S: Store> Iam<S> {
    /// The principal and the plaintext secret of an access key (memory only), and the
    /// cell that records the key's last use. Requests authenticate through
    /// [`Iam::authenticate`]; S3's signature check asks this for the secret alone.
    pub fn credentials(&self, access_key_id: &str) -> Result<KeyCredentials, KeyProblem> {
        self.with_key(access_key_id, |iam, key, user| {
            let account = iam.account_id().to_string();
            let principal = match user {
                None => Principal::Root { account },
                Some(u) => Principal::User {
                    id: u.rec.id.clone(),
                    name: u.rec.name.clone(),
                    arn: crate::ops::user_arn(&account, &u.rec.path, &u.rec.name),
                    account,
                },
            };
            (principal, key.secret.clone(), key.usage.clone())
        })
    }

    /// The plaintext secret of an active long-term key (what [`Iam::credentials`]
    /// answers, without making the principal).
    pub(crate) fn long_term_secret(&self, access_key_id: &str) -> Option<Arc<str>> {
        self.with_key(access_key_id, |_, key, _| key.secret.clone())
            .ok()
    }

    /// `f` of an active long-term key, with its account's view and its user (`None`:
    /// the root's key). This handle's account first (one lookup for the common case),
    /// else the key's own account, found through the key index.
    fn with_key<T>(
        &self,
        access_key_id: &str,
        f: impl Fn(&Iam<S>, &crate::state::Key, Option<&crate::state::User>) -> T,
    ) -> Result<T, KeyProblem> {
        if let Some(found) = self.with_key_here(access_key_id, &f) {
            return found;
        }
        self.key_account(access_key_id)
            .filter(|owner| owner.account_id() != self.account_id())
            .and_then(|owner| owner.with_key_here(access_key_id, &f))
            .unwrap_or(Err(KeyProblem::Unknown))
    }

    /// [`Iam::with_key`] for a key of this handle's account (`None`: not one).
    fn with_key_here<T>(
        &self,
        access_key_id: &str,
        f: &impl Fn(&Iam<S>, &crate::state::Key, Option<&crate::state::User>) -> T,
    ) -> Option<Result<T, KeyProblem>> {
        let state = self.read();
        let key = state.keys.get(access_key_id)?;
        if key.rec.status != iamd_store::KeyStatus::Active {
            return Some(Err(KeyProblem::Inactive));
        }
        let user = match &key.rec.user_id {
            None => None,
            Some(uid) => match state.users.get(uid) {
                Some(u) => Some(u),
                None => return Some(Err(KeyProblem::Unknown)),
            },
        };
        Some(Ok(f(self, key, user)))
    }

    /// The one authenticator, for every protocol (Query, the analyzer's REST-JSON, S3):
    /// the principal behind an access key id and the session token sent with it, with
    /// the secret the caller checks the signature with and (long-term keys) the key's
    /// last-use cell. Session tokens are judged here and only here: a long-term key
    /// with a token is refused; an `ASIA…` key needs its token (`sessions.rs`). Each
    /// protocol maps the [`KeyProblem`] to its own error code.
    pub fn authenticate(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
    ) -> Result<Authenticated, KeyProblem> {
        self.authenticate_at(access_key_id, session_token, crate::core::now_secs())
    }

    /// [`Iam::authenticate`] at `now` (unix seconds).
    pub fn authenticate_at(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
        now: u64,
    ) -> Result<Authenticated, KeyProblem> {
        self.test_mode_authenticate(access_key_id, || {
            self.authenticate_held(access_key_id, session_token, now)
        })
    }

    /// [`Iam::authenticate_at`] of the keys and tokens this server holds.
    fn authenticate_held(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
        now: u64,
    ) -> Result<Authenticated, KeyProblem> {
        match session_token {
            Some(token) if crate::sessions::is_session_key(access_key_id) => {
                self.authenticate_session(access_key_id, token, now)
            }
            Some(_) => Err(KeyProblem::InvalidToken),
            // Temporary credentials without their token: AWS answers as for a
            // key it does not know.
            None if crate::sessions::is_session_key(access_key_id) => Err(KeyProblem::Unknown),
            None => {
                let (principal, secret, usage) = self.credentials(access_key_id)?;
                Ok(Authenticated {
                    principal,
                    secret,
                    usage: Some(usage),
                    any_secret: false,
                })
            }
        }
    }

    /// Adds the principal-dependent global condition keys (§5.1, §5.2).
    pub fn add_principal_keys(&self, p: &Principal, ctx: &mut Context) {
        if self.account_id() != p.account() {
            return self.for_principal(p).add_principal_keys(p, ctx);
        }
        if let Principal::Session(s) = p {
            self.add_principal_keys(&s.base, ctx);
            ctx.insert_static("aws:tokenissuetime", s.issued_at_text.as_str());
            ctx.insert_static(
                "aws:multifactorauthpresent",
                if s.mfa { "true" } else { "false" },
            );
            return;
        }
        ctx.insert_static("aws:userid", p.user_id());
        ctx.insert_static("aws:principalarn", p.arn());
        ctx.insert_static("aws:principalaccount", p.account());
        match p {
            // Handled above: its identity's keys and the token's.
            Principal::Session(_) => {}
            Principal::Root { .. } => {
                ctx.insert_static("aws:principaltype", "Account");
            }
            Principal::User { id, name, .. } => {
                ctx.insert_static("aws:principaltype", "User");
                ctx.insert_static("aws:username", name.as_str());
                let state = self.read();
                if let Some(u) = state.users.get(id) {
                    for (k, v) in &u.tags {
                        ctx.insert(&format!("aws:PrincipalTag/{k}"), v.as_str());
                    }
                }
            }
            Principal::FederatedUser(f) => self.add_federated_keys(f, ctx),
            Principal::AssumedRole(s) => {
                // `aws:PrincipalArn` is the role's ARN; no `aws:username` for roles.
                ctx.insert_static("aws:principalarn", s.role_arn.as_str());
                ctx.insert_static("aws:principaltype", "AssumedRole");
                ctx.insert_static("aws:tokenissuetime", s.issued_at_text.as_str());
                ctx.insert_static("aws:multifactorauthpresent", "false");
                if let Some(si) = &s.source_identity {
                    ctx.insert_static("aws:sourceidentity", si.as_str());
                }
                let state = self.read();
                if let Some(r) = state.roles.get(&s.role_id) {
                    for (k, v) in &r.tags {
                        // Session tags override role tags of the same key.
                        if !s.tags.iter().any(|(sk, _)| sk.eq_ignore_ascii_case(k)) {
                            ctx.insert(&format!("aws:PrincipalTag/{k}"), v.as_str());
                        }
                    }
                }
                for (k, v) in &s.tags {
                    ctx.insert(&format!("aws:PrincipalTag/{k}"), v.as_str());
                }
            }
        }
    }

    /// The caller's identity policies and permissions boundary (none for the root,
    /// which they do not bind). A role session's are its role's now, so a change
    /// applies to live sessions at their next request; a session whose role is gone
    /// has none.
    pub fn identity_policies(&self, p: &Principal) -> Identity {
        if self.account_id() != p.account() {
            return self.for_principal(p).identity_policies(p);
        }
        let state = self.read();
        let found = match p.long_term() {
            Principal::Root { .. } | Principal::Session(_) => None,
            Principal::FederatedUser(f) => return crate::sessions::federated_identity(&state, f),
            Principal::User { id, .. } => state.users.get(id).map(|u| Identity {
                policies: u.effective.clone(),
                boundary: u.boundary.clone(),
            }),
            Principal::AssumedRole(s) => state.roles.get(&s.role_id).map(|r| Identity {
                policies: r.effective.clone(),
                boundary: r.boundary.clone(),
            }),
        };
        found.unwrap_or_default()
    }

    /// Builds the engine's request for one check (the check's condition keys over
    /// `base`) and hands it to `f`. Enforcement ([`Iam::authorize`]) and the policy
    /// simulator both decide through this one function.
    pub(crate) fn evaluate_check<R>(
        caller: Caller<'_>,
        resource_account: &str,
        check: &Check,
        base: &Context,
        f: impl FnOnce(&Request<'_>) -> R,
    ) -> R {
        let ctx_owned;
        let ctx = if check.keys.is_empty() {
            base
        } else {
            let mut c = base.clone();
            for (k, vs) in &check.keys {
                c.insert_multi(k, vs.iter().map(String::as_str));
            }
            ctx_owned = c;
            &ctx_owned
        };
        let req = Request {
            action: &check.action,
            resource: check.resource(),
            resource_account: Some(resource_account),
            caller,
            context: ctx,
        };
        f(&req)
    }

    /// The one authorizer: every enforced decision — IAM, STS, the analyzer and S3 —
    /// goes through here (the simulator decides through [`Iam::evaluate_check`] with the
    /// same policies). Decides `req` against the policies that bind the caller
    /// (`identity`, from [`Iam::identity_policies`]) and the resource's own policy, logs
    /// the decision at debug level with its evidence (deciding policy, statement, Sid,
    /// position; never a secret or a context value), and on denial returns AWS's
    /// `AccessDenied` message naming `resource` (`None` caller: anonymous, "Access
    /// Denied").
    pub fn decide(
        &self,
        caller: Option<&Principal>,
        identity: &Identity,
        resource_policy: Option<&Arc<CompiledPolicy>>,
        req: &Request<'_>,
        resource: &str,
    ) -> Result<(), String> {
        self.decide_with_trust(caller, identity, resource_policy, None, req, || {
            Cow::Borrowed(resource)
        })
    }

    /// [`Iam::decide`], also against a role's trust policy (`sts:AssumeRole`). The
    /// caller's session policies (if it is a session) always take part. `resource`
    /// names the resource in a denial (and the debug log): called only then.
    fn decide_with_trust<'r>(
        &self,
        caller: Option<&Principal>,
        identity: &Identity,
        resource_policy: Option<&Arc<CompiledPolicy>>,
        trust: Option<&Arc<CompiledPolicy>>,
        req: &Request<'_>,
        resource: impl Fn() -> Cow<'r, str>,
    ) -> Result<(), String> {
        let session = caller.and_then(|c| self.session_set(c));
        let set = decision_set(identity, resource_policy, session.as_deref(), trust);
        self.decided(caller, trust, req, decide(req, &set), resource)
    }

    /// Whether [`Iam::decide`] allows `req` whatever its context, because no policy it
    /// weighs reads the context ([`PolicySet::reads_context`]) and it allows `req` as
    /// given (the caller leaves its context empty): a service then takes the allow
    /// without building the request's keys. `false`: decide with the keys. Nothing is
    /// logged or recorded (an allow is logged only at DEBUG: callers ask only when
    /// that is off).
    pub fn allows_regardless_of_context(
        &self,
        caller: Option<&Principal>,
        identity: &Identity,
        resource_policy: Option<&Arc<CompiledPolicy>>,
        req: &Request<'_>,
    ) -> bool {
        let session = caller.and_then(|c| self.session_set(c));
        let set = decision_set(identity, resource_policy, session.as_deref(), None);
        !set.reads_context() && decide(req, &set).kind == DecisionKind::Allow
    }

    /// Logs decision `d` and, for a denial, records it and returns AWS's message.
    fn decided<'r>(
        &self,
        caller: Option<&Principal>,
        trust: Option<&Arc<CompiledPolicy>>,
        req: &Request<'_>,
        d: iamd_policy::Decision<'_>,
        resource: impl Fn() -> Cow<'r, str>,
    ) -> Result<(), String> {
        let st = d.statement;
        // The caller's ARN is built only when something shows it (a root ARN is
        // formatted): the debug log, or a denial.
        if tracing::enabled!(tracing::Level::DEBUG) {
            let arn = caller.map(Principal::arn);
            tracing::debug!(
            principal = arn.as_deref().unwrap_or("anonymous"),
            action = %req.action,
            resource = &*resource(),
            decision = ?d.kind,
            reason = ?d.reason,
            policy_kind = ?st.map(|s| s.kind),
            policy = st.map(|s| s.policy_id).unwrap_or(""),
            statement_index = st.map(|s| s.statement_index),
            sid = st.map(|s| s.sid).unwrap_or(""),
            line = st.map(|s| s.span.start.line),
            column = st.map(|s| s.span.start.column),
            "authorization decision"
            );
        }
        if d.kind == DecisionKind::Allow {
            return Ok(());
        }
        let resource = resource();
        self.record_denial(caller, req, &d, &resource);
        Err(match caller.map(Principal::arn) {
            // AWS words a refused AssumeRole without a reason.
            Some(arn) if trust.is_some() => format!(
                "User: {arn} is not authorized to perform: {} on resource: {resource}",
                req.action
            ),
            Some(arn) => render_denial(&arn, req.action, &resource, &d),
            None => "Access Denied".to_string(),
        })
    }

    /// Decides every check of an IAM, STS or analyzer request (resource account: this
    /// account; no resource policy) through [`Iam::decide`]; the first denial is
    /// `AccessDenied`.
    pub fn authorize(
        &self,
        p: &Principal,
        checks: &[Check],
        base: &LazyContext<'_>,
    ) -> Result<(), IamError> {
        // The root is bound by no identity policy: no lookup, no empty `Arc` to build.
        let identity = match p.long_term() {
            Principal::Root { .. } => Identity::default(),
            _ => self.identity_policies(p),
        };
        let account = self.account_id();
        // The caller's session policies, resolved once for all the checks.
        let session = self.session_set(p);
        for check in checks {
            let trust = check.trust.as_ref();
            let set = PolicySet {
                identity: &identity.policies,
                boundary: identity.boundary.as_ref(),
                resource: None,
                session: session.as_deref().unwrap_or(&[]),
                trust,
            };
            // No policy that takes part reads the context: the answer is the same for
            // every context, so an allow is taken without building it. (A denial is
            // decided again below with the keys, for its record; the debug log, when
            // on, shows every decision with them.)
            if !tracing::enabled!(tracing::Level::DEBUG)
                && allows_without_context(p, account, check, &set)
            {
                continue;
            }
            // A denial names an existing user, group, role or policy as AWS does
            // (`user bob`), other resources (and every `sts:AssumeRole` target) by ARN;
            // looked up only when a denial shows it.
            let shown = || match (trust, &check.target) {
                (None, Target::Arn(a)) => self
                    .read()
                    .denial_name(account, a)
                    .map_or(Cow::Borrowed(a.as_str()), Cow::Owned),
                (_, t) => Cow::Borrowed(t.display()),
            };
            Self::evaluate_check(p.caller(), account, check, base.get(), |req| {
                self.decided(Some(p), trust, req, decide(req, &set), shown)
            })
            .map_err(IamError::AccessDenied)?;
        }
        Ok(())
    }
}

/// The policies one decision weighs: the caller's identity policies and boundary, its
/// session policies, the resource's policy and a role's trust policy.
fn decision_set<'a>(
    identity: &'a Identity,
    resource: Option<&'a Arc<CompiledPolicy>>,
    session: Option<&'a [Arc<CompiledPolicy>]>,
    trust: Option<&'a Arc<CompiledPolicy>>,
) -> PolicySet<'a, Arc<CompiledPolicy>> {
    PolicySet {
        identity: &identity.policies,
        boundary: identity.boundary.as_ref(),
        resource,
        session: session.unwrap_or(&[]),
        trust,
    }
}

/// Whether `set`, which binds `p`, reads no context and allows `check` (decided with an
/// empty context, which it does not look at).
fn allows_without_context(
    p: &Principal,
    account: &str,
    check: &Check,
    set: &PolicySet<'_>,
) -> bool {
    if set.reads_context() {
        return false;
    }
    let empty = Context::new();
    let req = Request {
        action: &check.action,
        resource: check.resource(),
        resource_account: Some(account),
        caller: p.caller(),
        context: &empty,
    };
    decide(&req, set).kind == DecisionKind::Allow
}
