//! STS: GetCallerIdentity (a wildcard-only action) answers who is calling; AssumeRole
//! issues a role session (`sessions.rs` seals its token).

use std::sync::Arc;

use iamd_api::sts;
use iamd_policy::CompiledPolicy;
use iamd_session::{SecretAccessKey, SessionClaims, SessionPrincipal, SessionTag};
use iamd_store::{Change, Store};

use super::{Cx, Operation, Output};
use crate::core::{now_ms, Iam};
use crate::entity::Entity;
use crate::error::IamError;
use crate::principal::{Check, Principal};
use crate::sessions::{compile_session_policy, now_secs, IssueError};
use crate::state::{Role, State};

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
/// Characters of an inline session policy.
const SESSION_POLICY_MAX: usize = 2048;
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
    crate::trust::Trust::nobody("").compiled
}

fn denied(p: &Principal, role_arn: &str) -> IamError {
    IamError::AccessDenied(format!(
        "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        p.arn()
    ))
}

impl Operation for sts::AssumeRoleRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
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
        if !tags.is_empty() {
            for t in tags {
                keys.push((format!("aws:RequestTag/{}", t.key), vec![t.value.clone()]));
            }
            keys.push((
                "aws:TagKeys".to_string(),
                tags.iter().map(|t| t.key.clone()).collect(),
            ));
        }
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
    if this.policy_arns.as_ref().is_some_and(|a| !a.is_empty()) {
        return Err(IamError::NotImplemented(
            "Managed session policies (PolicyArns) are not implemented by this server yet."
                .to_string(),
        ));
    }
    if this.serial_number.is_some() || this.token_code.is_some() {
        // No MFA device exists on this server: the code cannot be validated.
        return Err(mfa_failed());
    }
    if let Some(policy) = &this.policy {
        if policy.chars().count() > SESSION_POLICY_MAX {
            return Err(IamError::Validation(format!(
                    "1 validation error detected: Value '{policy}' at 'policy' failed to satisfy constraint: Member must have length less than or equal to {SESSION_POLICY_MAX}"
                )));
        }
    }
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
    if let Some(policy) = &this.policy {
        compile_session_policy(policy)
            .map_err(|m| IamError::Modeled(sts::errors::MALFORMED_POLICY_DOCUMENT, m))?;
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
    let secret = crate::ids::secret_access_key()?;
    let duration = u64::try_from(duration).unwrap_or(3600);
    let claims = SessionClaims {
        account_id: account.clone(),
        principal: SessionPrincipal::AssumedRole {
            role_id: role_id.clone(),
            role_name: role_name.clone(),
            role_path,
            session_name: this.role_session_name.clone(),
        },
        secret_access_key: SecretAccessKey::new(secret.clone()),
        issued_at: now,
        expires_at: now + duration,
        mfa_authenticated_at: None,
        source_identity: source_identity.clone(),
        role_chained: matches!(p, Principal::AssumedRole(_)),
        from_session_credentials: matches!(p, Principal::Session(_)),
        session_policy: this.policy.clone(),
        session_policy_arns: Vec::new(),
        tags: this
            .tags
            .iter()
            .flatten()
            .map(|t| SessionTag {
                key: t.key.clone(),
                value: t.value.clone(),
            })
            .collect(),
        transitive_tag_keys: this.transitive_tag_keys.clone().unwrap_or_default(),
    };
    let (key_id, token) = iam.issue_token(&claims).map_err(issue_error)?;
    record_role_use(iam, &role_id).await;
    let (size, percent) = token_size(&token);
    let packed = (this.policy.is_some() || !claims.tags.is_empty()).then_some(percent);
    Ok(Some(Box::new(sts::AssumeRoleResult {
        credentials: Some(credentials(key_id, secret, token, &claims)),
        assumed_role_user: Some(sts::AssumedRoleUser {
            assumed_role_id: format!("{role_id}:{}", this.role_session_name),
            arn: format!(
                "arn:aws:sts::{account}:assumed-role/{role_name}/{}",
                this.role_session_name
            ),
        }),
        packed_policy_size: packed,
        source_identity,
        session_token_utilization: Some(percent),
        session_token_size: Some(size),
    })))
}

/// AWS's answer to an MFA code it cannot validate (no MFA device exists here yet).
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

/// `SessionTokenSize` (bytes) and `SessionTokenUtilization` (percent of the limit).
fn token_size(token: &str) -> (i32, i32) {
    let percent = iamd_session::packed_size_percent(token.len());
    (
        i32::try_from(token.len()).unwrap_or(i32::MAX),
        i32::try_from(percent).unwrap_or(i32::MAX),
    )
}

fn credentials(
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    claims: &SessionClaims,
) -> sts::Credentials {
    let expiration = i64::try_from(claims.expires_at).unwrap_or(i64::MAX);
    sts::Credentials {
        access_key_id,
        secret_access_key,
        session_token,
        expiration: iamd_api::Timestamp::from_secs(expiration),
    }
}

/// GetSessionToken's default duration (seconds), and the root's longest.
const SESSION_TOKEN_DEFAULT: u64 = 43_200;
const ROOT_SESSION_MAX: u64 = 3600;

fn session_credentials_refused() -> IamError {
    IamError::AccessDenied("Cannot call GetSessionToken with session credentials".to_string())
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
        return Err(session_credentials_refused());
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
        Principal::AssumedRole(_) | Principal::Session(_) => {
            return Err(session_credentials_refused())
        }
    };
    let secret = crate::ids::secret_access_key()?;
    let claims = SessionClaims {
        account_id: iam.account_id().to_string(),
        principal,
        secret_access_key: SecretAccessKey::new(secret.clone()),
        issued_at: now,
        expires_at: now + duration,
        mfa_authenticated_at: None,
        source_identity: None,
        role_chained: false,
        from_session_credentials: false,
        session_policy: None,
        session_policy_arns: Vec::new(),
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
    };
    let (key_id, token) = iam.issue_token(&claims).map_err(issue_error)?;
    let (size, percent) = token_size(&token);
    Ok(Some(Box::new(sts::GetSessionTokenResult {
        credentials: Some(credentials(key_id, secret, token, &claims)),
        session_token_utilization: Some(percent),
        session_token_size: Some(size),
    })))
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
