//! STS: GetCallerIdentity (a wildcard-only action) answers who is calling; AssumeRole
//! issues a role session (`sessions.rs` seals its token).

use std::sync::Arc;

use iamd_api::sts;
use iamd_policy::CompiledPolicy;
use iamd_session::{SecretAccessKey, SessionClaims, SessionPrincipal, SessionTag};
use iamd_store::{Change, Store};

use super::{Cx, Operation, Output};
use crate::core::{now_ms, now_secs, Iam};
use crate::entity::Entity;
use crate::error::IamError;
use crate::principal::{Check, Principal};
use crate::sessions::{
    compile_catalog_policy, compile_session_policy, federated_arn, root_issuer, IssueError,
};
use crate::state::{is_aws_managed, Role, State};

impl Operation for sts::GetCallerIdentityRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.wildcard())
    }

    async fn run<S: Store>(self, _: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        Ok(Some(Box::new(sts::GetCallerIdentityResult {
            user_id: Some(p.user_id().to_string()),
            account: Some(p.account().to_string()),
            arn: Some(p.arn().into_owned()),
        })))
    }
}

/// The longest session of a role assumed by role chaining (seconds).
const CHAINED_MAX_SECONDS: i64 = 3600;
/// AssumeRole's default duration (seconds).
const DEFAULT_DURATION: i64 = 3600;
/// Characters of an inline session policy: STS's model (`sessionPolicyDocumentType`).
pub(crate) fn session_policy_max() -> u64 {
    sts::RULE_SESSION_POLICY_DOCUMENT_TYPE.max.unwrap_or(0)
}
/// How often a role's last use is written at most (milliseconds).
const LAST_USED_EVERY_MS: i64 = 60_000;

/// The role `arn` names in this account (its ARN with its path, exactly).
fn role_by_arn<'a>(state: &'a State, account: &str, arn: &str) -> Option<&'a Role> {
    Role::by_arn(state, account, arn)
}

/// A trust policy that trusts nobody: what an unknown role (or another account's,
/// until several accounts exist) is decided against, so it is refused like a role
/// whose trust does not name the caller.
fn nobody() -> Arc<CompiledPolicy> {
    crate::binding::BoundPolicy::nobody("").compiled
}

fn denied(p: &Principal, role_arn: &str) -> IamError {
    IamError::AccessDenied(format!(
        "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        p.arn()
    ))
}

impl Operation for sts::AssumeRoleRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        // The root user (its keys or a GetSessionToken session of them) cannot assume a
        // role, whatever the trust policy says (AWS: 403 AccessDenied, before the trust
        // policy or the ExternalId are looked at).
        if matches!(cx.principal.long_term(), Principal::Root { .. }) {
            return Err(IamError::AccessDenied(
                "Roles may not be assumed by root accounts.".to_string(),
            ));
        }
        // The MFA code is authenticated before the request is authorized: its result is
        // what `aws:MultiFactorAuthPresent` says to the trust policy. No MFA device
        // exists on this server, so every serial number is unknown.
        if self.serial_number.is_some() || self.token_code.is_some() {
            return Err(mfa_failed());
        }
        let trust = role_by_arn(cx.state, cx.account, &self.role_arn)
            .map(|r| r.trust.compiled.clone())
            .unwrap_or_else(nobody);
        let mut keys = vec![(
            "sts:RoleSessionName".to_string(),
            vec![self.role_session_name.clone()],
        )];
        if let Some(e) = &self.external_id {
            keys.push(("sts:ExternalId".to_string(), vec![e.clone()]));
        }
        if let Some(si) = &self.source_identity {
            keys.push(("sts:SourceIdentity".to_string(), vec![si.clone()]));
        }
        let tags = self.tags.as_deref().unwrap_or_default();
        keys.extend(request_tag_keys(tags));
        if let Some(tk) = &self.transitive_tag_keys {
            keys.push(("sts:TransitiveTagKeys".to_string(), tk.clone()));
        }
        let on_role = |action: &'static str| {
            let mut c = Check::on(action, self.role_arn.clone(), keys.clone());
            c.trust = Some(trust.clone());
            c
        };
        let mut checks = vec![on_role(cx.action)];
        // Session tags and a source identity need their own permission in the trust
        // policy (and, same account without a direct trust grant, the identity policy).
        if !tags.is_empty() || self.transitive_tag_keys.is_some() {
            checks.push(on_role("sts:TagSession"));
        }
        if self.source_identity.is_some() {
            checks.push(on_role("sts:SetSourceIdentity"));
        }
        Ok(checks)
    }

    async fn run<S: Store>(self, iam: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        assume_role(self, iam, p, now_secs()).await
    }
}

/// AssumeRole at `now` (unix seconds), once authorized.
pub(crate) async fn assume_role<S: Store>(
    this: sts::AssumeRoleRequest,
    iam: &Iam<S>,
    p: &Principal,
    now: u64,
) -> Result<Output, IamError> {
    let account = iam.account_id().to_string();
    if this.serial_number.is_some() || this.token_code.is_some() {
        return Err(mfa_failed());
    }
    let policy_arns = session_policies(iam, this.policy.as_deref(), this.policy_arns.as_deref())?;
    let (role_id, role_name, role_path, max) = {
        let state = iam.read();
        let r = role_by_arn(&state, &account, &this.role_arn)
            .ok_or_else(|| denied(p, &this.role_arn))?;
        (
            r.rec.id.clone(),
            r.rec.name.clone(),
            r.rec.path.clone(),
            r.rec.max_session_duration,
        )
    };
    let chained = p.is_session();
    let duration = this.duration_seconds.map_or(DEFAULT_DURATION, i64::from);
    if chained && duration > CHAINED_MAX_SECONDS {
        return Err(IamError::Validation(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".to_string(),
            ));
    }
    if duration > max {
        return Err(IamError::Validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_string(),
        ));
    }
    let source_identity = match p {
        // Immutable along a chain.
        Principal::AssumedRole(s) if s.source_identity.is_some() => {
            if this
                .source_identity
                .as_ref()
                .is_some_and(|si| Some(si) != s.source_identity.as_ref())
            {
                return Err(IamError::AccessDenied(format!(
                    "User: {} is not authorized to perform: sts:SetSourceIdentity on resource: {}",
                    p.arn(),
                    this.role_arn
                )));
            }
            s.source_identity.clone()
        }
        _ => this.source_identity.clone(),
    };
    let (tags, transitive_tag_keys) = chained_tags(p, &this)?;
    let duration = u64::try_from(duration).unwrap_or(3600);
    let principal = SessionPrincipal::AssumedRole {
        role_id: role_id.clone(),
        role_name: role_name.clone(),
        role_path,
        session_name: this.role_session_name.clone(),
    };
    let claims = SessionClaims {
        source_identity: source_identity.clone(),
        role_chained: matches!(p, Principal::AssumedRole(_)),
        from_session_credentials: matches!(p, Principal::Session(_)),
        session_policy: this.policy.clone(),
        session_policy_arns: policy_arns,
        tags,
        transitive_tag_keys,
        ..claims(account.clone(), principal, now, duration)?
    };
    let issued = issue(iam, &claims)?;
    record_role_use(iam, &role_id).await;
    let packed = packed_size(&claims, issued.percent);
    Ok(Some(Box::new(sts::AssumeRoleResult {
        credentials: Some(issued.credentials),
        assumed_role_user: Some(sts::AssumedRoleUser {
            assumed_role_id: format!("{role_id}:{}", this.role_session_name),
            arn: format!(
                "arn:aws:sts::{account}:assumed-role/{role_name}/{}",
                this.role_session_name
            ),
        }),
        packed_policy_size: packed,
        source_identity,
        session_token_utilization: Some(issued.percent),
        session_token_size: Some(issued.size),
    })))
}

/// The session tags and transitive tag keys of a new role session: the caller's
/// transitive session tags (role chaining) and the request's. An inherited transitive
/// tag cannot be passed again (AWS fails the request, whatever the value).
fn chained_tags(
    p: &Principal,
    this: &sts::AssumeRoleRequest,
) -> Result<(Vec<SessionTag>, Vec<String>), IamError> {
    let mut tags = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    if let Principal::AssumedRole(s) = p {
        for (k, v) in &s.tags {
            if s.transitive_tag_keys
                .iter()
                .any(|t| t.eq_ignore_ascii_case(k))
            {
                tags.push(SessionTag {
                    key: k.clone(),
                    value: v.clone(),
                });
                keys.push(k.clone());
            }
        }
    }
    for t in this.tags.iter().flatten() {
        if let Some(k) = keys.iter().find(|k| k.eq_ignore_ascii_case(&t.key)) {
            return Err(IamError::Modeled(
                INVALID_PARAMETER_VALUE,
                format!("The transitive session tag {k} inherited from the calling session cannot be overridden."),
            ));
        }
        tags.push(session_tag(t));
    }
    for k in this.transitive_tag_keys.iter().flatten() {
        if !keys.iter().any(|x| x.eq_ignore_ascii_case(k)) {
            keys.push(k.clone());
        }
    }
    if tags.len() > iamd_session::MAX_TAGS {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to {}",
            iamd_session::MAX_TAGS
        )));
    }
    Ok((tags, keys))
}

/// The request's session tags as condition keys: `aws:RequestTag/k` for each, and
/// `aws:TagKeys` (none without tags).
fn request_tag_keys(tags: &[sts::Tag]) -> Vec<(String, Vec<String>)> {
    super::tag_keys(tags.iter().map(|t| (t.key.as_str(), t.value.as_str())))
}

fn session_tag(t: &sts::Tag) -> SessionTag {
    SessionTag {
        key: t.key.clone(),
        value: t.value.clone(),
    }
}

/// `PackedPolicySize`: present when the session carries session policies or tags.
fn packed_size(claims: &SessionClaims, percent: i32) -> Option<i32> {
    (claims.session_policy.is_some()
        || !claims.session_policy_arns.is_empty()
        || !claims.tags.is_empty())
    .then_some(percent)
}

/// Validates the session policies of AssumeRole or GetFederationToken: the inline
/// `Policy` (at most 2,048 characters, valid as a session policy) and the `PolicyArns`
/// (at most 10, each an existing customer-managed policy of this account or an
/// AWS-managed policy). Returns the ARNs the token carries.
fn session_policies<S: Store>(
    iam: &Iam<S>,
    policy: Option<&str>,
    arns: Option<&[sts::PolicyDescriptorType]>,
) -> Result<Vec<String>, IamError> {
    if let Some(policy) = policy {
        let max = session_policy_max();
        if u64::try_from(policy.chars().count()).unwrap_or(u64::MAX) > max {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value '{policy}' at 'policy' failed to satisfy constraint: Member must have length less than or equal to {max}"
            )));
        }
        compile_session_policy(policy)
            .map_err(|m| IamError::Modeled(sts::errors::MALFORMED_POLICY_DOCUMENT, m))?;
    }
    let arns = arns.unwrap_or_default();
    if arns.len() > iamd_session::MAX_POLICY_ARNS {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to {}",
            iamd_session::MAX_POLICY_ARNS
        )));
    }
    let state = iam.read();
    let mut out = Vec::with_capacity(arns.len());
    for (i, d) in arns.iter().enumerate() {
        let arn = d.arn.as_deref().unwrap_or_default();
        if arn.is_empty() {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value null at 'policyArns.{}.member.arn' failed to satisfy constraint: Member must not be null",
                i + 1
            )));
        }
        let exists = if is_aws_managed(arn) {
            compile_catalog_policy(arn).is_some()
        } else {
            state.policy_by_arn(arn).is_some()
        };
        if !exists {
            return Err(IamError::Modeled(
                INVALID_PARAMETER_VALUE,
                format!("Policy {arn} does not exist or is not attachable."),
            ));
        }
        out.push(arn.to_string());
    }
    Ok(out)
}

/// STS's common error for a parameter value it cannot use (not in the model's
/// operation errors; AWS's common errors list it as 400).
const INVALID_PARAMETER_VALUE: iamd_api::ModeledError = iamd_api::ModeledError {
    shape: "InvalidParameterValue",
    code: "InvalidParameterValue",
    status: 400,
    sender_fault: true,
};

/// AWS's answer to `SerialNumber`/`TokenCode` naming no MFA device of the caller
/// (GetSessionToken and AssumeRole alike; a wrong code for a device that exists is
/// "MultiFactorAuthentication failed with invalid MFA one time pass code."). No MFA
/// device exists here yet, so every serial number is unknown.
fn mfa_failed() -> IamError {
    IamError::AccessDenied(
        "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."
            .to_string(),
    )
}

fn issue_error(e: IssueError) -> IamError {
    match e {
        IssueError::TooLarge { size, limit } => IamError::Modeled(
            sts::errors::PACKED_POLICY_TOO_LARGE,
            format!(
                "The session token is {size} bytes, larger than the {limit}-byte limit. Use a smaller session policy or fewer session tags."
            ),
        ),
        IssueError::Internal => {
            IamError::Internal("a session token could not be sealed".to_string())
        }
    }
}

/// The claims of a new session of `principal` in `account`, from `now` for `duration`
/// seconds, with a new secret; nothing else set (no MFA, source identity, chaining,
/// session policies or tags): the caller sets what its operation carries.
fn claims(
    account: String,
    principal: SessionPrincipal,
    now: u64,
    duration: u64,
) -> Result<SessionClaims, IamError> {
    Ok(SessionClaims::new(
        account,
        principal,
        SecretAccessKey::new(crate::ids::secret_access_key()?),
        now,
        now + duration,
    ))
}

/// Issued temporary credentials, with `SessionTokenSize` (bytes) and
/// `SessionTokenUtilization` (percent of the limit).
struct Issued {
    credentials: sts::Credentials,
    size: i32,
    percent: i32,
}

/// Seals `claims` into a session token and answers the credentials.
fn issue<S: Store>(iam: &Iam<S>, claims: &SessionClaims) -> Result<Issued, IamError> {
    let (access_key_id, session_token) = iam.issue_token(claims).map_err(issue_error)?;
    let percent = iamd_session::packed_size_percent(session_token.len());
    let expiration = i64::try_from(claims.expires_at).unwrap_or(i64::MAX);
    Ok(Issued {
        size: i32::try_from(session_token.len()).unwrap_or(i32::MAX),
        percent: i32::try_from(percent).unwrap_or(i32::MAX),
        credentials: sts::Credentials {
            access_key_id,
            secret_access_key: claims.secret_access_key.expose().to_string(),
            session_token,
            expiration: iamd_api::Timestamp::from_secs(expiration),
        },
    })
}

/// GetSessionToken's default duration (seconds), and the root's longest.
const SESSION_TOKEN_DEFAULT: u64 = 43_200;
const ROOT_SESSION_MAX: u64 = 3600;

/// AWS's refusal of an STS operation to temporary credentials.
pub(crate) fn session_credentials_refused(operation: &str) -> IamError {
    IamError::AccessDenied(format!("Cannot call {operation} with session credentials"))
}

impl Operation for sts::GetSessionTokenRequest {
    /// No policy can deny GetSessionToken (AWS): nothing to authorize.
    fn checks(&self, _: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(Vec::new())
    }

    async fn run<S: Store>(self, iam: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        get_session_token(self, iam, p, now_secs())
    }
}

/// GetSessionToken at `now` (unix seconds): long-term credentials of a user or the root.
pub(crate) fn get_session_token<S: Store>(
    this: sts::GetSessionTokenRequest,
    iam: &Iam<S>,
    p: &Principal,
    now: u64,
) -> Result<Output, IamError> {
    if p.is_session() {
        return Err(session_credentials_refused("GetSessionToken"));
    }
    if this.serial_number.is_some() || this.token_code.is_some() {
        return Err(mfa_failed());
    }
    let requested = this
        .duration_seconds
        .and_then(|d| u64::try_from(d).ok())
        .unwrap_or(SESSION_TOKEN_DEFAULT);
    let (principal, duration) = match p {
        // The root's session is at most an hour: a longer request gets an hour (AWS).
        Principal::Root { .. } => (
            SessionPrincipal::RootSession,
            requested.min(ROOT_SESSION_MAX),
        ),
        Principal::User { id, name, .. } => {
            let path = iam
                .read()
                .users
                .get(id)
                .map(|u| u.rec.path.clone())
                .unwrap_or_else(|| "/".to_string());
            let user = SessionPrincipal::UserSession {
                user_id: id.clone(),
                user_name: name.clone(),
                user_path: path,
            };
            (user, requested)
        }
        Principal::AssumedRole(_) | Principal::Session(_) | Principal::FederatedUser(_) => {
            return Err(session_credentials_refused("GetSessionToken"))
        }
    };
    let claims = claims(iam.account_id().to_string(), principal, now, duration)?;
    let issued = issue(iam, &claims)?;
    Ok(Some(Box::new(sts::GetSessionTokenResult {
        credentials: Some(issued.credentials),
        session_token_utilization: Some(issued.percent),
        session_token_size: Some(issued.size),
    })))
}

/// GetFederationToken's longest duration for the root (seconds).
const ROOT_FEDERATION_MAX: u64 = 3600;

impl Operation for sts::GetFederationTokenRequest {
    /// `sts:GetFederationToken` on the federated user's ARN (and `sts:TagSession` with
    /// session tags), with the request's tags as condition keys. Session credentials
    /// are refused before any authorization.
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        if cx.principal.is_session() {
            return Err(session_credentials_refused("GetFederationToken"));
        }
        let arn = federated_arn(cx.account, &self.name);
        let tags = self.tags.as_deref().unwrap_or_default();
        let keys = request_tag_keys(tags);
        let mut checks = vec![Check::on(cx.action, arn.clone(), keys.clone())];
        if !tags.is_empty() {
            checks.push(Check::on("sts:TagSession", arn, keys));
        }
        Ok(checks)
    }

    async fn run<S: Store>(self, iam: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        get_federation_token(self, iam, p, now_secs())
    }
}

/// GetFederationToken at `now` (unix seconds): an IAM user's (or the root's) long-term
/// credentials federate a user named by the caller.
pub(crate) fn get_federation_token<S: Store>(
    this: sts::GetFederationTokenRequest,
    iam: &Iam<S>,
    p: &Principal,
    now: u64,
) -> Result<Output, IamError> {
    let account = iam.account_id().to_string();
    let requested = this
        .duration_seconds
        .and_then(|d| u64::try_from(d).ok())
        .unwrap_or(SESSION_TOKEN_DEFAULT);
    let (issuer_id, duration) = match p {
        // The root's session is at most an hour (AWS).
        Principal::Root { .. } => (root_issuer(&account), requested.min(ROOT_FEDERATION_MAX)),
        Principal::User { id, .. } => (id.clone(), requested),
        Principal::AssumedRole(_) | Principal::Session(_) | Principal::FederatedUser(_) => {
            return Err(session_credentials_refused("GetFederationToken"))
        }
    };
    let policy_arns = session_policies(iam, this.policy.as_deref(), this.policy_arns.as_deref())?;
    let principal = SessionPrincipal::FederatedUser {
        name: this.name.clone(),
        issuer_id,
    };
    let claims = SessionClaims {
        session_policy: this.policy.clone(),
        session_policy_arns: policy_arns,
        tags: this.tags.iter().flatten().map(session_tag).collect(),
        ..claims(account.clone(), principal, now, duration)?
    };
    let issued = issue(iam, &claims)?;
    Ok(Some(Box::new(sts::GetFederationTokenResult {
        credentials: Some(issued.credentials),
        federated_user: Some(sts::FederatedUser {
            federated_user_id: format!("{account}:{}", this.name),
            arn: federated_arn(&account, &this.name),
        }),
        packed_policy_size: packed_size(&claims, issued.percent),
        session_token_utilization: Some(issued.percent),
        session_token_size: Some(issued.size),
    })))
}

impl Operation for sts::GetAccessKeyInfoRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.wildcard())
    }

    /// The account of an access key id: a long-term key this server holds (whatever its
    /// status) answers its account; any other id is decoded as AWS decodes its key ids
    /// (the account in bits 7–46 of the body; `ASIA…` ids minted here carry it), as AWS
    /// answers for any key id, even a deleted key's or another account's. An id that
    /// does not have that shape cannot name an account: `InvalidParameterValue`.
    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        // Whichever account of this server holds it.
        let account = match iam.key_account(&self.access_key_id) {
            Some(owner) => Some(owner.account_id().to_string()),
            None => crate::sessions::account_of_key_id(&self.access_key_id),
        };
        let account = account.ok_or_else(|| {
            IamError::Modeled(
                INVALID_PARAMETER_VALUE,
                "The specified access key ID is not valid.".to_string(),
            )
        })?;
        Ok(Some(Box::new(sts::GetAccessKeyInfoResult {
            account: Some(account),
        })))
    }
}

impl Operation for sts::DecodeAuthorizationMessageRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.wildcard())
    }

    /// The JSON document an encoded authorization message holds (`authz_message.rs`);
    /// a message this server did not seal, or damaged: `InvalidAuthorizationMessageException`.
    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let decoded = iam.open_message(&self.encoded_message).ok_or_else(|| {
            IamError::Modeled(
                sts::errors::INVALID_AUTHORIZATION_MESSAGE_EXCEPTION,
                "The encoded authorization message is invalid.".to_string(),
            )
        })?;
        Ok(Some(Box::new(sts::DecodeAuthorizationMessageResult {
            decoded_message: Some(decoded),
        })))
    }
}

/// Records that the role was assumed now (`RoleLastUsed`), at most once a minute per
/// role. A failure to record does not fail the AssumeRole: it is logged.
async fn record_role_use<S: Store>(iam: &Iam<S>, role_id: &str) {
    let now = now_ms();
    let due = iam.read().roles.get(role_id).is_some_and(|r| {
        r.rec
            .last_used
            .is_none_or(|t| now - t >= LAST_USED_EVERY_MS)
    });
    if !due {
        return;
    }
    let written = iam
        .write(|state| {
            let Some(r) = state.roles.get(role_id) else {
                return Ok((Vec::new(), ()));
            };
            if r.rec
                .last_used
                .is_some_and(|t| now - t < LAST_USED_EVERY_MS)
            {
                return Ok((Vec::new(), ()));
            }
            let mut rec = r.rec.clone();
            rec.last_used = Some(now);
            rec.last_used_region = Some("us-east-1".to_string());
            Ok((vec![Change::PutRole(rec)], ()))
        })
        .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, "recording a role's last use failed");
    }
}
