//! The request pipeline: route → read → authenticate → decode → authorize →
//! execute → encode. Holds no business rules: those are in `iamd-iam`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use iamd_api::{iam, sts, Params};
use iamd_iam::{request_context, Iam, LazyContext, RequestOrigin};
use iamd_sigv4::{Payload, RequestParts, SigError, SigningKeyCache};
use iamd_store::AnyStore;

use crate::errors::RequestError;
use crate::http::{response, Body};

/// The largest Query-protocol request body accepted.
pub const MAX_QUERY_BODY: usize = 1024 * 1024;
/// How long a client may take to send a Query-protocol body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Iam,
    Sts,
}

impl Service {
    fn xmlns(self) -> &'static str {
        match self {
            Service::Iam => iam::XMLNS,
            Service::Sts => sts::XMLNS,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Service::Iam => "iam",
            Service::Sts => "sts",
        }
    }
}

/// What serves requests: IAM/STS and S3 over one store. Test mode's reset swaps in
/// a fresh one.
pub struct Served {
    pub iam: Iam<AnyStore>,
    /// The S3 service: every request that is not Query protocol goes there.
    pub s3: Option<iamd_s3::S3>,
}

pub struct App {
    served: std::sync::RwLock<Arc<Served>>,
    sig_cache: SigningKeyCache,
    /// `--ephemeral`: how to build a fresh store (test mode's reset).
    ephemeral: Option<Arc<crate::test_mode::Ephemeral>>,
}

impl App {
    pub fn new(iam: Iam<AnyStore>) -> Self {
        Self::from_served(Served { iam, s3: None })
    }

    pub fn from_served(served: Served) -> Self {
        App {
            served: std::sync::RwLock::new(Arc::new(served)),
            sig_cache: SigningKeyCache::default(),
            ephemeral: None,
        }
    }

    pub fn with_s3(self, s3: iamd_s3::S3) -> Self {
        let iam = self.served().iam.clone();
        self.replace(Served { iam, s3: Some(s3) });
        self
    }

    pub fn with_ephemeral(mut self, ephemeral: Arc<crate::test_mode::Ephemeral>) -> Self {
        self.ephemeral = Some(ephemeral);
        self
    }

    pub(crate) fn ephemeral(&self) -> Option<Arc<crate::test_mode::Ephemeral>> {
        self.ephemeral.clone()
    }

    /// What serves requests now.
    pub(crate) fn served(&self) -> Arc<Served> {
        match self.served.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Serves later requests with `new` (requests under way finish with the old one).
    pub(crate) fn replace(&self, new: Served) -> Arc<Served> {
        let new = Arc::new(new);
        let old = match self.served.write() {
            Ok(mut s) => std::mem::replace(&mut *s, new),
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), new),
        };
        self.sig_cache.clear();
        old
    }

    pub async fn shutdown(&self) {
        self.served().iam.flush_usage().await;
        if let Some(e) = &self.ephemeral {
            e.finish().await;
        }
    }

    pub async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let served = self.served();
        let iam = &served.iam;
        // Health checks for load balancers, unsigned, before routing.
        if let Some(probe) = health_probe(&req) {
            return health(iam, probe).await;
        }
        // Test mode's control endpoints (moto's `/moto-api/…`).
        let test_mode = iam.test_mode();
        if crate::test_mode::is_control(&req, test_mode) {
            return if test_mode {
                crate::test_mode::control(self, req).await
            } else {
                crate::test_mode::not_found()
            };
        }
        // IAM Access Analyzer's ValidatePolicy (REST-JSON, signed for `access-analyzer`).
        if crate::analyzer::is_analyzer(&req) {
            return crate::analyzer::handle(iam, &self.sig_cache, req, peer).await;
        }
        if let Some(s3) = &served.s3 {
            if !is_query_protocol(&req) {
                return crate::s3::handle(s3, iam, req, peer).await;
            }
        }
        let request_id = iamd_iam::ids::request_id();
        let (parts, body) = req.into_parts();
        // Which service's namespace errors use: set once the request names it.
        let mut service = None;
        let result = self
            .query(
                served.clone(),
                &parts,
                body,
                peer,
                &request_id,
                &mut service,
            )
            .await;
        let mut resp = match result {
            Ok(xml) => response(200, "text/xml", xml),
            Err(e) => {
                // Before the request named its service, a guess from what we have.
                let service = service.unwrap_or_else(|| guess_service(&parts));
                let (status, xml) = e.to_xml(service.xmlns(), &request_id);
                match &e {
                    RequestError::Iam(
                        iamd_iam::IamError::Store(_) | iamd_iam::IamError::Internal(_),
                    ) => tracing::error!(request_id = %request_id, error = %e, "request failed"),
                    _ => tracing::debug!(request_id = %request_id, error = %e, "request refused"),
                }
                let mut r = response(status, "text/xml", xml);
                if let Some(v) = e
                    .authorization_message()
                    .and_then(|m| http::HeaderValue::from_str(m).ok())
                {
                    r.headers_mut()
                        .insert(iamd_iam::AUTHORIZATION_MESSAGE_HEADER, v);
                }
                if matches!(
                    e,
                    RequestError::BodyTimeout
                        | RequestError::BodyTooLarge
                        | RequestError::BodyRead(_)
                ) {
                    // The rest of the body is unread: do not reuse the connection.
                    r.headers_mut().insert(
                        http::header::CONNECTION,
                        http::HeaderValue::from_static("close"),
                    );
                }
                r
            }
        };
        if let Ok(v) = http::HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert("x-amzn-requestid", v);
        }
        resp
    }

    async fn query(
        &self,
        served: Arc<Served>,
        parts: &http::request::Parts,
        body: Incoming,
        peer: SocketAddr,
        request_id: &str,
        service_out: &mut Option<Service>,
    ) -> Result<String, RequestError> {
        let iam = &served.iam;
        let is_form = is_form_encoded(&parts.headers);
        let body = if parts.method == http::Method::POST || parts.method == http::Method::PUT {
            read_body(body).await?
        } else {
            Bytes::new()
        };
        let raw_query = parts.uri.query().unwrap_or("");
        let mut params = Params::from_form(raw_query.as_bytes())?;
        if is_form {
            params.extend_form(&body)?;
        }
        // Routing sent only Query-protocol requests here (an Action, or a form body).
        if params.action().is_none() {
            return Err(iamd_api::ApiError::missing_action().into());
        }
        // The API version names the service (AWS's Query protocol): an unknown one
        // names no operation at all.
        let service = match params.version() {
            Some(sts::API_VERSION) => Service::Sts,
            Some(iam::API_VERSION) => Service::Iam,
            Some(other) => {
                return Err(iamd_api::ApiError::invalid_action(
                    params.action().unwrap_or_default(),
                    other,
                )
                .into())
            }
            None => return Err(iamd_api::ApiError::missing_parameter("Version").into()),
        };
        *service_out = Some(service);

        // Authenticate.
        let mut header_buf = HeaderBuf::default();
        let headers = header_buf.collect(&parts.headers);
        let path = parts.uri.path();
        let req_parts = RequestParts::new(parts.method.as_str(), path, raw_query, headers)
            .with_payload(Payload::Bytes(&body));
        let parsed = iamd_sigv4::parse(&req_parts)?;
        // An unsigned x-amz-* header (a session token above all) must not ride along
        // on a signed request.
        parsed.require_signed_amz_headers()?;
        let token = parsed.security_token().map(|t| &*t.token);
        let iamd_iam::Authenticated {
            principal,
            secret,
            usage,
            any_secret,
        } = iam
            .authenticate(parsed.access_key_id(), token)
            .map_err(|e| {
                RequestError::Sig(match e {
                    iamd_iam::KeyProblem::ExpiredToken => SigError::ExpiredToken,
                    _ => SigError::InvalidClientTokenId,
                })
            })?;
        // Test mode's root for a key this server does not hold: any secret.
        if !any_secret {
            parsed.verify(secret.as_bytes(), SystemTime::now(), Some(&self.sig_cache))?;
        }

        // The condition keys, built only if a decision reads them.
        let origin = origin(&parts.headers, peer);
        let build = || {
            let mut ctx = request_context(&origin, 16);
            iam.add_principal_keys(&principal, &mut ctx);
            ctx
        };
        let ctx = LazyContext::new(&build);

        let (xmlns, op, out) = match service {
            Service::Iam => {
                let action = params.action().unwrap_or_default();
                let req = iam::decode(action, &params)?;
                let op = req.operation_name();
                let (out, message) =
                    iamd_iam::capture_denial(std::pin::pin!(iam.handle(&principal, req, &ctx)))
                        .await;
                let out = out.map_err(|e| {
                    RequestError::from_operation(e, message, || {
                        iam.encode_refusal(&principal, &format!("iam:{op}"))
                    })
                })?;
                (iam::XMLNS, op, out)
            }
            Service::Sts => {
                let req = sts::decode_request(&params)?;
                let op = req.operation_name();
                let (out, message) =
                    iamd_iam::capture_denial(std::pin::pin!(iam.handle_sts(&principal, req, &ctx)))
                        .await;
                let out = out.map_err(|e| {
                    RequestError::from_operation(e, message, || {
                        iam.encode_refusal(&principal, &format!("sts:{op}"))
                    })
                })?;
                (sts::XMLNS, op, out)
            }
        };
        let mut xml = String::with_capacity(512);
        iamd_api::xml::encode_response(
            xmlns,
            op,
            out.as_deref().map(|o| o as _),
            request_id,
            &mut xml,
        );
        if let Some(usage) = &usage {
            iam.record_key_use(
                usage,
                parsed.access_key_id(),
                service.name(),
                &parsed.scope().region,
            );
        }
        Ok(xml)
    }
}

/// Query protocol (IAM/STS): an `Action` query parameter, or a form-encoded POST.
/// Everything else is S3.
/// How long `/readyz` allows since memory was last at the change log's head, and for
/// the database to answer.
const READY_BOUND: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// `/healthz`: the process answers.
    Alive,
    /// `/readyz`: the database answers and memory is current (on a cluster: it was at
    /// the change log's head within [`READY_BOUND`]).
    Ready,
}

/// `GET`/`HEAD` `/healthz` or `/readyz` with no query and no credentials (a signed
/// request for a bucket of that name still goes to S3).
fn health_probe(req: &Request<Incoming>) -> Option<Probe> {
    if !matches!(*req.method(), http::Method::GET | http::Method::HEAD)
        || req.uri().query().is_some()
        || req.headers().contains_key(http::header::AUTHORIZATION)
    {
        return None;
    }
    match req.uri().path() {
        "/healthz" => Some(Probe::Alive),
        "/readyz" => Some(Probe::Ready),
        _ => None,
    }
}

async fn health(iam: &Iam<AnyStore>, probe: Probe) -> Response<Body> {
    let not_ready = match probe {
        Probe::Alive => None,
        Probe::Ready if !iam.database_reachable(READY_BOUND).await => {
            Some("not ready: the database does not answer\n")
        }
        Probe::Ready if !iam.view_current(READY_BOUND) => {
            Some("not ready: not current with the change log\n")
        }
        Probe::Ready => None,
    };
    match not_ready {
        None => response(200, "text/plain", Bytes::from_static(b"ok\n")),
        Some(why) => response(503, "text/plain", Bytes::from_static(why.as_bytes())),
    }
}

fn is_query_protocol(req: &Request<Incoming>) -> bool {
    let action_param = req.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|p| p == "Action" || p.starts_with("Action="))
    });
    let form_post = req.method() == http::Method::POST && is_form_encoded(req.headers());
    action_param || form_post
}

/// Whether the body is a form (`Content-Type: application/x-www-form-urlencoded`, any
/// case, parameters allowed).
fn is_form_encoded(headers: &http::HeaderMap) -> bool {
    const FORM: &[u8] = b"application/x-www-form-urlencoded";
    headers
        .get(http::header::CONTENT_TYPE)
        .filter(|v| v.to_str().is_ok())
        .and_then(|v| v.as_bytes().get(..FORM.len()))
        .is_some_and(|p| p.eq_ignore_ascii_case(FORM))
}

/// The request headers as SigV4 reads them, `(name, value)` in arrival order, without
/// a heap allocation for the usual few dozen.
struct HeaderBuf<'a> {
    inline: [(&'a str, &'a [u8]); 32],
    spilled: Vec<(&'a str, &'a [u8])>,
}

impl Default for HeaderBuf<'_> {
    fn default() -> Self {
        HeaderBuf {
            inline: [("", b""); 32],
            spilled: Vec::new(),
        }
    }
}

impl<'a> HeaderBuf<'a> {
    fn collect(&mut self, headers: &'a http::HeaderMap) -> &[(&'a str, &'a [u8])] {
        let all = headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes()));
        if headers.len() > self.inline.len() {
            self.spilled = all.collect();
            return &self.spilled;
        }
        let mut n = 0;
        for (slot, h) in self.inline.iter_mut().zip(all) {
            *slot = h;
            n += 1;
        }
        self.inline.get(..n).unwrap_or_default()
    }
}

/// Before the body is read: STS if the query string or the signing scope says so.
fn guess_service(parts: &http::request::Parts) -> Service {
    let q = parts.uri.query().unwrap_or("");
    let auth = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .unwrap_or(b"");
    let scope_sts =
        auth.windows(5).any(|w| w == b"/sts/") || q.contains("%2Fsts%2F") || q.contains("/sts/");
    if q.contains("Version=2011-06-15") || scope_sts {
        Service::Sts
    } else {
        Service::Iam
    }
}

async fn read_body(body: Incoming) -> Result<Bytes, RequestError> {
    let limited = Limited::new(body, MAX_QUERY_BODY);
    let mut collect = std::pin::pin!(limited.collect());
    // A small body usually came with the head: then it is read without arming a timer.
    let first = std::future::poll_fn(|cx| Poll::Ready(collect.as_mut().poll(cx))).await;
    let read = match first {
        Poll::Ready(r) => Ok(r),
        Poll::Pending => tokio::time::timeout(BODY_TIMEOUT, collect).await,
    };
    match read {
        Err(_) => Err(RequestError::BodyTimeout),
        Ok(Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(RequestError::BodyTooLarge)
            } else {
                Err(RequestError::BodyRead(format!(
                    "The request body could not be read: {e}"
                )))
            }
        }
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// The request's origin for [`request_context`] (plain HTTP: `aws:SecureTransport` false).
pub(crate) fn origin(headers: &http::HeaderMap, peer: SocketAddr) -> RequestOrigin<'_> {
    RequestOrigin {
        source_ip: Some(peer.ip()),
        secure: false,
        user_agent: headers.get(http::header::USER_AGENT).map(|v| v.as_bytes()),
        referer: headers.get(http::header::REFERER).map(|v| v.as_bytes()),
    }
}
