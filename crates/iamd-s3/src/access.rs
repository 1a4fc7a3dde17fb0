//! The seam between s3s and the policy engine.
//!
//! - [`Auth`] (s3s `S3Auth`): access key → secret, from IAM's in-memory view; s3s then
//!   verifies the SigV4 header / presigned query / streaming chunk signatures (and
//!   SigV2), clock skew and presigned expiry, with S3's error codes.
//! - [`Access`] (s3s `S3Access::check`, run for every request before its body is
//!   read): resolves the principal through IAM's one authenticator
//!   (`Iam::authenticate`, which judges session tokens) or
//!   anonymous, builds the condition-key context
//!   (docs/policy-semantics.md §5.1–5.3), maps the request
//!   with [`crate::authz::plan`] and asks the engine for every check. Operations that
//!   decide per item (DeleteObjects, PutObjectTagging) get the caller stashed in the
//!   request extensions ([`Authn`]) and call [`Core::authorize`] themselves.

use std::net::SocketAddr;
use std::sync::Arc;

use iamd_iam::{KeyProblem, Principal};
use iamd_policy::{Caller, Context, Request, Resource};
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::{s3_error, S3Error, S3Result};

use crate::authz::{self, Check, MapError, Plan, Target};
use crate::Core;

/// Inserted by the listener into each request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct ClientInfo {
    pub peer: SocketAddr,
    /// The connection is TLS (`aws:SecureTransport`).
    pub secure: bool,
}

/// The authenticated caller and the request-wide context keys.
#[derive(Debug, Clone)]
pub struct Authn {
    pub principal: Option<Principal>,
    pub ctx: Context,
}

pub struct Auth(pub Arc<Core>);

#[async_trait::async_trait]
impl S3Auth for Auth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        // Temporary credentials answer only once their token was verified
        // (`admit`, before s3s): s3s asks by key id alone.
        match self.0.iam.secret_for(access_key) {
            Some(secret) => Ok(SecretKey::from(&*secret)),
            None => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
        }
    }
}

pub struct Access(pub Arc<Core>);

/// Test mode (`iamd serve --test-mode`): the request was signed with a key the server
/// does not hold (or came under `reset-auth`), and [`iamd_iam::Iam::authenticate`]
/// made it this root; the listener removed its signature, and the access check uses
/// this principal instead of treating the request as anonymous.
#[derive(Debug, Clone)]
pub struct TestRoot(pub Principal);

fn invalid_token() -> S3Error {
    s3_error!(
        InvalidToken,
        "The provided token is malformed or otherwise invalid."
    )
}

/// S3's error for an access key or session token that cannot be used.
pub(crate) fn key_problem(e: KeyProblem) -> S3Error {
    match e {
        KeyProblem::InvalidToken => invalid_token(),
        KeyProblem::ExpiredToken => S3Error::with_message(
            s3s::S3ErrorCode::ExpiredToken,
            "The provided token has expired.",
        ),
        KeyProblem::Unknown | KeyProblem::Inactive => s3_error!(
            InvalidAccessKeyId,
            "The AWS Access Key Id you provided does not exist in our records."
        ),
    }
}

/// The session token sent with the request (header, or presigned query, decoded).
pub(crate) fn session_token<'a>(
    headers: &'a http::HeaderMap,
    query: Option<&'a str>,
) -> Option<std::borrow::Cow<'a, str>> {
    if let Some(v) = headers.get("x-amz-security-token") {
        return Some(v.to_str().unwrap_or("").into());
    }
    query.and_then(|q| {
        q.split('&').find_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            k.eq_ignore_ascii_case("X-Amz-Security-Token").then(
                || match iamd_text::percent::decode(v.as_bytes(), false) {
                    std::borrow::Cow::Borrowed(_) => std::borrow::Cow::Borrowed(v),
                    std::borrow::Cow::Owned(b) => String::from_utf8_lossy(&b).into_owned().into(),
                },
            )
        })
    })
}

#[async_trait::async_trait]
impl S3Access for Access {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let admitted = cx.extensions_mut().remove::<AdmittedSession>();
        let test_root = cx.extensions_mut().remove::<TestRoot>();
        let client = cx.extensions_mut().get::<ClientInfo>().copied();
        let authn = self
            .0
            .check_access(AccessRequest {
                op: cx.s3_op().name(),
                path: cx.s3_path(),
                query: cx.uri().query(),
                headers: cx.headers(),
                access_key: cx.credentials().map(|c| c.access_key.as_str()),
                admitted,
                test_root,
                client,
            })
            .await?;
        cx.extensions_mut().insert(authn);
        Ok(())
    }
}

/// What the access check of a request reads (s3s's [`S3AccessContext`], or the fast
/// path's own parse of a GetObject / HeadObject: `crate::fast`).
pub(crate) struct AccessRequest<'a> {
    /// The S3 operation's name (`GetObject`, …).
    pub op: &'a str,
    pub path: &'a s3s::path::S3Path,
    /// The raw query string.
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    /// The access key whose signature was verified (`None`: no signature checked).
    pub access_key: Option<&'a str>,
    /// A session (or key) already authenticated for this request.
    pub admitted: Option<AdmittedSession>,
    pub test_root: Option<TestRoot>,
    pub client: Option<ClientInfo>,
}

impl Core {
    /// The access check of every S3 request s3s handles (`S3Access::check`): resolves
    /// the principal, builds the condition-key context, maps the request to its checks
    /// and has the engine decide each. The caller, for the operation.
    pub(crate) async fn check_access(&self, mut r: AccessRequest<'_>) -> S3Result<Authn> {
        let query = authz::parse_query(r.query.unwrap_or(""));
        let (principal, plan) = self.access_plan(&mut r, &query)?;
        let ctx = self.access_context(&r, &query, principal.as_ref());
        let authn = Authn { principal, ctx };
        if let Plan::Checks(checks) = &plan {
            self.authorize(&authn, checks).await?;
        }
        Ok(authn)
    }

    /// The fast path's access check (`crate::fast`): the same steps and decisions as
    /// [`Core::check_access`], but the context built only if a decision reads it (no
    /// operation needs it afterwards).
    pub(crate) async fn allows(&self, mut r: AccessRequest<'_>) -> S3Result<()> {
        let query = authz::parse_query(r.query.unwrap_or(""));
        let (principal, plan) = self.access_plan(&mut r, &query)?;
        if let Plan::Checks(checks) = &plan {
            let build = || self.access_context(&r, &query, principal.as_ref());
            let ctx = iamd_iam::LazyContext::new(&build);
            self.authorize_with(principal.as_ref(), &ctx, checks)
                .await?;
        }
        Ok(())
    }

    /// The caller (authenticated, its key's use recorded) and the request's checks.
    fn access_plan(
        &self,
        r: &mut AccessRequest<'_>,
        query: &[(String, String)],
    ) -> S3Result<(Option<Principal>, Plan)> {
        let core = self;
        let token = session_token(r.headers, r.query).map(|t| t.into_owned());
        let token = token.as_deref();
        let principal = match r.access_key {
            None if token.is_some() => return Err(invalid_token()),
            // Test mode's root (its signature parsed, then removed, by the listener).
            None => r.test_root.take().map(|t| t.0),
            Some(access_key) => {
                // A session was authenticated by `admit` before s3s verified its
                // signature: that authentication is used, not made again.
                let a = match r.admitted.take() {
                    Some(AdmittedSession {
                        access_key_id,
                        authenticated,
                    }) if access_key_id == access_key => authenticated,
                    _ => core
                        .iam
                        .authenticate(access_key, token)
                        .map_err(key_problem)?,
                };
                if let Some(usage) = &a.usage {
                    core.iam
                        .record_key_use(usage, access_key, "s3", "us-east-1");
                }
                Some(a.principal)
            }
        };
        let plan = authz::plan(r.op, r.path, query, r.headers).map_err(|e| match e {
            MapError::Unsupported(_) => {
                S3Error::with_message(s3s::S3ErrorCode::NotImplemented, e.to_string())
            }
            MapError::InvalidRequest(m) => {
                S3Error::with_message(s3s::S3ErrorCode::InvalidRequest, m)
            }
        })?;
        Ok((principal, plan))
    }

    /// The request-wide condition keys (docs/policy-semantics.md §5.1–5.3).
    fn access_context(
        &self,
        r: &AccessRequest<'_>,
        query: &[(String, String)],
        principal: Option<&Principal>,
    ) -> Context {
        let client = r.client;
        let mut ctx = iamd_iam::request_context(
            &iamd_iam::RequestOrigin {
                source_ip: client.map(|c| c.peer.ip()),
                secure: client.is_some_and(|c| c.secure),
                user_agent: r.headers.get("user-agent").map(|v| v.as_bytes()),
                referer: r.headers.get("referer").map(|v| v.as_bytes()),
            },
            24,
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        match principal {
            Some(p) => {
                self.iam.add_principal_keys(p, &mut ctx);
                for (k, v) in authz::signature_keys(r.headers, query, now) {
                    ctx.insert(k, v);
                }
            }
            None => {
                ctx.insert("aws:userid", "anonymous");
                ctx.insert("aws:PrincipalType", "Anonymous");
            }
        }
        ctx
    }
}

impl Core {
    /// Decides every check with the engine (identity policies + the bucket's policy,
    /// resource account = the bucket owner); the first denial is S3's `AccessDenied`.
    pub async fn authorize(&self, authn: &Authn, checks: &[Check]) -> S3Result<()> {
        let ctx = iamd_iam::LazyContext::ready(&authn.ctx);
        self.authorize_with(authn.principal.as_ref(), &ctx, checks)
            .await
    }

    /// [`Core::authorize`] with the request-wide keys in `base`, built only when a
    /// decision reads them: an allow from policies that read no context is taken
    /// without them (while DEBUG logging, which shows every decision with its keys, is
    /// off); everything else is decided with them.
    async fn authorize_with(
        &self,
        principal: Option<&Principal>,
        base: &iamd_iam::LazyContext<'_>,
        checks: &[Check],
    ) -> S3Result<()> {
        let identity = match principal {
            Some(p) => self.iam.identity_policies(p),
            None => iamd_iam::Identity::default(),
        };
        for check in checks {
            let (resource, bucket) = match &check.target {
                Target::Wildcard => (Resource::Wildcard, None),
                // A bucket being created is the caller's: an existing one of the same
                // name (another account's) neither grants nor refuses it, and the
                // request then fails with BucketAlreadyExists, as on AWS.
                Target::Arn { arn, .. } if check.action == "s3:CreateBucket" => {
                    (Resource::Arn(arn), None)
                }
                Target::Arn { arn, bucket } => (Resource::Arn(arn), self.bucket(bucket).await?),
            };
            let (owner, policy) = match &bucket {
                // RestrictPublicBuckets: a public policy grants (and denies) nothing
                // to anonymous callers and other accounts.
                Some(b)
                    if b.restrict_public && principal.is_none_or(|p| p.account() != b.owner) =>
                {
                    (Some(b.owner.as_str()), None)
                }
                Some(b) => (Some(b.owner.as_str()), b.policy()),
                None => (None, None),
            };
            let caller = match principal {
                Some(p) => p.caller(),
                None => Caller::Anonymous,
            };
            let mut ctx_owned;
            let wants_tags = check.existing_object.is_some()
                && identity
                    .iter()
                    .chain(identity.boundary.as_ref())
                    .chain(policy)
                    .any(|p| {
                        p.condition_keys()
                            .any(|k| k.to_ascii_lowercase().starts_with("s3:existingobjecttag/"))
                    });
            if !wants_tags && !tracing::enabled!(tracing::Level::DEBUG) {
                let empty = Context::new();
                let req = Request {
                    action: check.action,
                    resource,
                    resource_account: owner,
                    caller,
                    context: &empty,
                };
                if self
                    .iam
                    .allows_regardless_of_context(principal, &identity, policy, &req)
                {
                    continue;
                }
            }
            let mut ctx = base.get();
            if !check.keys.is_empty() || wants_tags {
                ctx_owned = ctx.clone();
                for (k, vs) in &check.keys {
                    ctx_owned.insert_multi(k, vs.iter().map(String::as_str));
                }
                if let (true, Some((b, k, v))) = (wants_tags, &check.existing_object) {
                    use iamd_store::ObjectMeta;
                    let tags = self
                        .store
                        .get_object_tags(b, k, v.as_deref())
                        .await
                        .map_err(internal)?;
                    for (tk, tv) in tags {
                        ctx_owned.insert(&format!("s3:ExistingObjectTag/{tk}"), tv);
                    }
                }
                ctx = &ctx_owned;
            }
            let req = Request {
                action: check.action,
                resource,
                resource_account: owner,
                caller,
                context: ctx,
            };
            let shown = match &check.target {
                Target::Wildcard => "*",
                Target::Arn { arn, .. } => arn.as_str(),
            };
            let (decided, message) = iamd_iam::capture_denial_sync(|| {
                self.iam.decide(principal, &identity, policy, &req, shown)
            });
            decided.map_err(|msg| access_denied(msg, message))?;
        }
        Ok(())
    }
}

/// S3's `AccessDenied` with the encoded authorization message of the denial in the
/// `x-iamd-authorization-message` header (as on the Query API).
fn access_denied(msg: String, encoded: Option<String>) -> S3Error {
    let mut e = S3Error::with_message(s3s::S3ErrorCode::AccessDenied, msg);
    if let Some(v) = encoded.and_then(|m| http::HeaderValue::from_str(&m).ok()) {
        let mut headers = http::HeaderMap::new();
        headers.insert(iamd_iam::AUTHORIZATION_MESSAGE_HEADER, v);
        e.set_headers(headers);
    }
    e
}

/// A store error as S3 answers it: the database unreachable (or not answering in time)
/// is S3's `ServiceUnavailable` (503, the client retries); anything else is internal.
pub(crate) fn store_error(e: iamd_store::StoreError) -> S3Error {
    match e {
        iamd_store::StoreError::Database(m) => {
            tracing::error!(error = %m, "s3: the database failed");
            S3Error::with_message(
                s3s::S3ErrorCode::ServiceUnavailable,
                "Service is unable to handle request.",
            )
        }
        other => internal(other),
    }
}

pub(crate) fn internal(e: impl std::fmt::Display) -> S3Error {
    tracing::error!(error = %e, "s3 internal error");
    S3Error::with_message(
        s3s::S3ErrorCode::InternalError,
        "We encountered an internal error. Please try again.",
    )
}

/// The guard's checks ([`crate::guard::precheck`]) and then, on the same parse of the
/// request's SigV4 authentication, the session token of a request signed with temporary
/// credentials (`ASIA…`, SigV4 header or presigned), before s3s checks its signature: s3s asks for
/// the secret by access key id alone, and [`iamd_iam::Iam::secret_for`] answers for a
/// session only once its token was verified here. An expired token is S3's
/// `ExpiredToken`, a damaged or forged one `InvalidToken`. Other requests pass through
/// (s3s and the access check judge them). SigV2 with temporary credentials is not
/// admitted (s3s then answers `InvalidAccessKeyId`).
///
/// The session it authenticated is returned, for the request's extensions: the access
/// check ([`S3Access::check`]) then uses it instead of authenticating again.
pub fn admit(
    iam: &iamd_iam::Iam<iamd_store::AnyStore>,
    method: &str,
    path: &str,
    query: &str,
    headers: &http::HeaderMap,
) -> Result<Option<AdmittedSession>, crate::guard::Refusal> {
    crate::guard::precheck_then(method, path, query, headers, |parsed| {
        if !iamd_iam::is_session_key(parsed.access_key_id()) {
            return Ok(None);
        }
        let Some(token) = session_token(headers, Some(query)) else {
            return Ok(None);
        };
        iam.authenticate(parsed.access_key_id(), Some(&token))
            .map(|authenticated| {
                Some(AdmittedSession {
                    access_key_id: parsed.access_key_id().to_owned(),
                    authenticated,
                })
            })
            .map_err(|e| crate::guard::Refusal::from_s3(&key_problem(e)))
    })
}

/// A session [`admit`] authenticated, carried in the request's extensions to
/// the access check.
#[derive(Debug, Clone)]
pub struct AdmittedSession {
    pub(crate) access_key_id: String,
    pub(crate) authenticated: iamd_iam::Authenticated,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_token_errors_are_s3s() {
        let e = key_problem(KeyProblem::ExpiredToken);
        assert_eq!(e.code().as_str(), "ExpiredToken");
        assert_eq!(e.status_code().map(|s| s.as_u16()), Some(400));
        assert_eq!(e.message(), Some("The provided token has expired."));
        let e = key_problem(KeyProblem::InvalidToken);
        assert_eq!(e.code().as_str(), "InvalidToken");
        assert_eq!(e.status_code().map(|s| s.as_u16()), Some(400));
        assert_eq!(
            e.message(),
            Some("The provided token is malformed or otherwise invalid.")
        );
        // The presigned token is percent-decoded.
        let h = http::HeaderMap::new();
        assert_eq!(
            session_token(&h, Some("a=1&X-Amz-Security-Token=ab%2Bc%2F%3D&b=2")).as_deref(),
            Some("ab+c/=")
        );
    }

    #[test]
    fn amz_dates() {
        // aws:CurrentTime is formatted by iamd_api::Timestamp (tested there).
        assert_eq!(authz::parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(
            authz::parse_amz_date("20240229T120000Z"),
            Some(1_709_208_000)
        );
        assert_eq!(
            authz::parse_amz_date("20991231T235959Z"),
            Some(4_102_444_799)
        );
    }
}
