//! `iamd serve --ephemeral` and `--test-mode`, for test suites.
//!
//! - [`Ephemeral`]: the database in memory (SQLite, one connection) and S3 objects in
//!   a private temporary directory removed at exit; a fresh master key each build.
//!   Test mode's reset builds a new one and swaps it in ([`crate::app::App::replace`]).
//! - moto_server's control endpoints, in test mode only: `POST /moto-api/reset`
//!   (everything back to a fresh default account) and `POST /moto-api/reset-auth`
//!   with `{"value": N}` (the next N requests authenticate as the root whatever their
//!   key: [`iamd_iam::Iam::grant_root_passes`]).
//! - S3 in test mode ([`admit_s3`]): s3s checks signatures itself, with the secret of
//!   the key; a request whose key `Iam::authenticate` made test mode's root (any
//!   secret) has its signature removed after parsing, and the root goes to the access
//!   check with the request ([`iamd_s3::TestRoot`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use iamd_iam::crypto::MasterKey;
use iamd_iam::Iam;
use iamd_store::AnyStore;

use crate::app::{App, Served};
use crate::config::Config;
use crate::http::{response, Body};
use crate::startup::StartError;

/// A server that keeps nothing on disk but S3 objects, in its own temporary directory.
pub struct Ephemeral {
    /// The private temporary directory (one subdirectory per build).
    dir: PathBuf,
    generation: AtomicU64,
    /// The subdirectory of the build now serving, removed when a reset replaces it.
    current: Mutex<Option<PathBuf>>,
    account_id: Option<String>,
    root_key: Option<(String, String)>,
    rotation_secs: u64,
    domain: Option<String>,
    lifecycle_interval: Duration,
    test_mode: bool,
    lifecycle: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The next reset's server, prepared in the background.
    spare: Mutex<Option<tokio::task::JoinHandle<Result<Fresh, StartError>>>>,
}

/// A server built and not yet serving, with its objects directory.
struct Fresh {
    served: Served,
    dir: PathBuf,
}

impl Ephemeral {
    /// Creates the private temporary directory (mode 0700, a new name under the
    /// system's temporary directory).
    pub fn create(
        config: &Config,
        root_key: Option<(String, String)>,
    ) -> Result<Ephemeral, StartError> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = base.join(format!("iamd-ephemeral-{}-{nanos:09}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|source| StartError::DataDir {
                path: dir.clone(),
                source,
            })?;
        Ok(Ephemeral {
            dir,
            generation: AtomicU64::new(0),
            current: Mutex::new(None),
            account_id: config.account_id.clone(),
            root_key,
            rotation_secs: config.session_key_rotation.as_secs(),
            domain: config.domain.clone(),
            lifecycle_interval: config.s3_lifecycle_interval,
            test_mode: config.test_mode,
            lifecycle: Mutex::new(None),
            spare: Mutex::new(None),
        })
    }

    /// The temporary directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh server, serving from now on: an empty in-memory store with the default
    /// account, and S3 over a new subdirectory (startup).
    pub async fn build(&self) -> Result<Served, StartError> {
        let fresh = self.prepare().await?;
        Ok(self.activate(fresh))
    }

    /// A fresh server, not yet serving (no effect on the one that serves).
    async fn prepare(&self) -> Result<Fresh, StartError> {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let dir = self.dir.join(generation.to_string());
        let master = MasterKey::generate_rotating(self.rotation_secs)
            .map(|(k, _)| k)
            .map_err(|e| StartError::MasterKey(e.to_string()))?;
        let store = AnyStore::open_memory()
            .await
            .map_err(|e| StartError::Store(e.to_string()))?;
        let init = iamd_iam::InitOptions {
            account_id: self.account_id.clone(),
            root_key: self.root_key.clone(),
            ..Default::default()
        };
        let (iam, _) = Iam::open(store.clone(), master, init)
            .await
            .map_err(|e| StartError::Account(e.to_string()))?;
        if self.test_mode {
            iam.enable_test_mode();
        }
        let blobs = iamd_s3::blobs::Blobs::open(&dir).map_err(|e| StartError::S3(e.to_string()))?;
        let s3 = iamd_s3::service(iam.clone(), store, blobs, self.domain.as_deref())
            .map_err(|e| StartError::S3(e.to_string()))?;
        Ok(Fresh {
            served: Served { iam, s3: Some(s3) },
            dir,
        })
    }

    /// Makes `fresh` the server: its lifecycle task replaces the previous one's, whose
    /// objects directory is removed.
    fn activate(&self, fresh: Fresh) -> Served {
        if let Some(s3) = &fresh.served.s3 {
            let task = tokio::spawn(s3.lifecycle_task(self.lifecycle_interval));
            if let Some(old) = lock(&self.lifecycle).replace(task) {
                old.abort();
            }
        }
        if let Some(old) = lock(&self.current).replace(fresh.dir) {
            // Off the reset's answer: the old server's objects can be many.
            tokio::task::spawn_blocking(move || {
                let _ = std::fs::remove_dir_all(old);
            });
        }
        fresh.served
    }

    /// Prepares the next reset's server in the background (on a blocking thread of
    /// the runtime: opening a store is a future rustc cannot prove `Send`, sqlx's
    /// executors, so it is not awaited inside a request's future).
    pub fn start_spare(self: &Arc<Self>) {
        let runtime = tokio::runtime::Handle::current();
        let me = self.clone();
        let task = tokio::task::spawn_blocking(move || runtime.block_on(me.prepare()));
        if let Some(old) = lock(&self.spare).replace(task) {
            old.abort();
        }
    }

    /// A fresh server for a reset, serving from now on: the spare prepared in the
    /// background (waited for if still in the making), and the next spare started.
    pub async fn reset(self: &Arc<Self>) -> Result<Served, StartError> {
        let spare = lock(&self.spare).take();
        let started = std::time::Instant::now();
        let ready = spare.as_ref().is_some_and(|t| t.is_finished());
        let fresh = match spare {
            Some(task) => task.await,
            None => {
                let runtime = tokio::runtime::Handle::current();
                let me = self.clone();
                tokio::task::spawn_blocking(move || runtime.block_on(me.prepare())).await
            }
        }
        .map_err(|e| StartError::Store(format!("reset task: {e}")))??;
        tracing::debug!(
            ready,
            waited_micros = started.elapsed().as_micros() as u64,
            "test mode reset: spare server"
        );
        let served = self.activate(fresh);
        self.start_spare();
        Ok(served)
    }

    /// At exit: waits for a spare in the making (a blocking task cannot be stopped,
    /// and would create its directory again), then removes the temporary directory.
    pub async fn finish(&self) {
        let spare = lock(&self.spare).take();
        if let Some(task) = spare {
            let _ = task.await;
        }
        self.remove();
    }

    /// Removes the temporary directory (at exit).
    pub fn remove(&self) {
        if let Some(task) = lock(&self.lifecycle).take() {
            task.abort();
        }
        if let Some(task) = lock(&self.spare).take() {
            task.abort();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Ephemeral {
    fn drop(&mut self) {
        self.remove();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

const CONTROL_PREFIX: &str = "/moto-api/";
/// The largest control request body read.
const MAX_CONTROL_BODY: usize = 4096;

/// A request for a control endpoint: in test mode anything under `/moto-api/`;
/// otherwise a `POST` of `/moto-api/reset` or `/moto-api/reset-auth` (no S3
/// operation), answered 404.
pub fn is_control(req: &Request<Incoming>, test_mode: bool) -> bool {
    let path = req.uri().path();
    if test_mode {
        return path.starts_with(CONTROL_PREFIX);
    }
    req.method() == http::Method::POST
        && req.uri().query().is_none()
        && matches!(
            path.strip_prefix(CONTROL_PREFIX),
            Some("reset" | "reset-auth")
        )
}

/// A control endpoint outside test mode.
pub fn not_found() -> Response<Body> {
    json(404, r#"{"message": "Not Found"}"#.into())
}

fn json(status: u16, body: String) -> Response<Body> {
    response(status, "application/json", Bytes::from(body))
}

/// Answers a control endpoint (test mode).
pub async fn control(app: &App, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let name = path.strip_prefix(CONTROL_PREFIX).unwrap_or("");
    if !matches!(name, "reset" | "reset-auth") {
        return not_found();
    }
    if req.method() != http::Method::POST {
        return json(405, r#"{"message": "Method Not Allowed"}"#.into());
    }
    if name == "reset" {
        let Some(ephemeral) = app.ephemeral() else {
            return json(
                409,
                r#"{"message": "reset needs --ephemeral: this server's store is on disk"}"#.into(),
            );
        };
        let started = std::time::Instant::now();
        return match ephemeral.reset().await {
            Ok(fresh) => {
                let old = app.replace(fresh);
                // The old server's last key-usage records go to its own store, which
                // is being dropped: flushed off the answer's path.
                tokio::spawn(async move { old.iam.flush_usage().await });
                tracing::debug!(
                    micros = started.elapsed().as_micros() as u64,
                    "test mode reset"
                );
                json(200, r#"{"status": "ok"}"#.into())
            }
            Err(e) => {
                tracing::error!(error = %e, "test mode reset failed");
                json(500, format!(r#"{{"message": {:?}}}"#, e.to_string()))
            }
        };
    }
    // reset-auth: {"value": N}.
    let body = match Limited::new(req.into_body(), MAX_CONTROL_BODY)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => return json(400, r#"{"message": "body too large or unreadable"}"#.into()),
    };
    let Some(n) = reset_auth_value(&body) else {
        return json(
            400,
            r#"{"message": "expected a JSON object {\"value\": N}, N a whole number"}"#.into(),
        );
    };
    app.served().iam.grant_root_passes(n);
    json(200, format!(r#"{{"status": "ok", "value": {n}}}"#))
}

/// N of `{"value": N}`.
fn reset_auth_value(body: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct ResetAuth {
        value: u64,
    }
    serde_json::from_slice::<ResetAuth>(body)
        .ok()
        .map(|r| r.value)
}

/// Query parameters that carry a presigned URL's signature (SigV4, SigV2).
const SIGNATURE_PARAMS: &[&str] = &[
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-signedheaders",
    "x-amz-signature",
    "x-amz-security-token",
    "awsaccesskeyid",
    "signature",
    "expires",
];

/// The access key id and session token of a signed S3 request (SigV4 parsed in full;
/// SigV2 by its `AWS id:signature` header or `AWSAccessKeyId`/`Signature` query);
/// `None` when unsigned or malformed (then s3s answers as always).
fn s3_key(parts: &http::request::Parts) -> Option<(String, Option<String>)> {
    let query = parts.uri.query().unwrap_or("");
    let headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect();
    let req =
        iamd_sigv4::RequestParts::new(parts.method.as_str(), parts.uri.path(), query, &headers);
    if let Ok(parsed) = iamd_sigv4::parse(&req) {
        let token = parsed.security_token().map(|t| t.token.to_string());
        return Some((parsed.access_key_id().to_owned(), token));
    }
    let header_token = parts
        .headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(auth) = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (id, signature) = auth.strip_prefix("AWS ")?.split_once(':')?;
        return (!id.is_empty() && !signature.is_empty()).then(|| (id.to_owned(), header_token));
    }
    let param = |name: &str| {
        query.split('&').find_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            k.eq_ignore_ascii_case(name)
                .then(|| iamd_text::percent::decode(v.as_bytes(), false).into_owned())
        })
    };
    let id = String::from_utf8(param("AWSAccessKeyId")?).ok()?;
    param("Signature")?;
    let token = param("X-Amz-Security-Token").and_then(|t| String::from_utf8(t).ok());
    Some((id, token.or(header_token)))
}

/// Test mode, S3: a signed request whose key [`Iam::authenticate`] makes test mode's
/// root (a key this server does not hold, or a `reset-auth` pass) loses its signature
/// (header or presigned query) and carries [`iamd_s3::TestRoot`] instead; an
/// aws-chunked body of such a request (whose chunk signatures no secret here can
/// check) is to be decoded by the listener: the [`crate::s3_unchunk::Unchunk`]
/// returned. Anything else is left as it is.
pub fn admit_s3(
    iam: &Iam<AnyStore>,
    parts: &mut http::request::Parts,
) -> Option<crate::s3_unchunk::Unchunk> {
    let (id, token) = s3_key(parts)?;
    let found = iam.authenticate(&id, token.as_deref()).ok()?;
    if !found.any_secret {
        return None;
    }
    parts.headers.remove(http::header::AUTHORIZATION);
    parts.headers.remove("x-amz-security-token");
    if let Some(query) = parts.uri.query() {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| {
                let k = p.split_once('=').map_or(*p, |(k, _)| k);
                !SIGNATURE_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s))
            })
            .collect();
        let path_and_query = if kept.is_empty() {
            parts.uri.path().to_owned()
        } else {
            format!("{}?{}", parts.uri.path(), kept.join("&"))
        };
        let mut uri = parts.uri.clone().into_parts();
        if let Ok(pq) = http::uri::PathAndQuery::try_from(path_and_query) {
            uri.path_and_query = Some(pq);
            if let Ok(u) = http::Uri::from_parts(uri) {
                parts.uri = u;
            }
        }
    }
    parts.extensions.insert(iamd_s3::TestRoot(found.principal));
    crate::s3_unchunk::admit(parts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reset_auth_body() {
        assert_eq!(reset_auth_value(br#"{"value": 2}"#), Some(2));
        assert_eq!(reset_auth_value(br#"{"value": -1}"#), None);
        assert_eq!(reset_auth_value(br#"{"valeur": 2}"#), None);
        assert_eq!(reset_auth_value(b"2"), None);
    }
}
