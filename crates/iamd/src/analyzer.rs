//! IAM Access Analyzer's `ValidatePolicy` over REST-JSON (`POST /policy/validation`,
//! signing service `access-analyzer`): the transport only. Reads the body, authenticates
//! through [`Iam::authenticate`], decodes the JSON and hands the operation to
//! [`Iam::validate_policy`] (authorization, input rules, lint), then encodes its page of
//! findings. `App::handle` routes here first.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use iamd_api::json::string as js;
use iamd_iam::{Iam, IamError, ValidatePolicyInput};
use iamd_policy::json::JsonKind;
use iamd_policy::lint::{offset_of, LintFinding, PathElement};
use iamd_policy::Pos;
use iamd_sigv4::{Payload, RequestParts, SigningKeyCache};
use iamd_store::AnyStore;

use crate::http::{response, Body};

const PATH: &str = "/policy/validation";
const MAX_BODY: usize = 256 * 1024;

/// `POST /policy/validation` with a JSON body, signed for `access-analyzer`.
pub fn is_analyzer(req: &Request<Incoming>) -> bool {
    // Method and path first: every request asks this, and almost none is one.
    if req.method() != http::Method::POST || req.uri().path() != PATH {
        return false;
    }
    let json = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    let scope = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().windows(17).any(|w| w == b"/access-analyzer/"));
    json && scope
}

fn error(status: u16, ty: &str, message: &str) -> Response<Body> {
    let mut body = String::from("{\"message\":");
    js(&mut body, message);
    body.push('}');
    let mut r = response(status, "application/json", body);
    if let Ok(v) = http::HeaderValue::from_str(ty) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

fn validation(message: &str) -> Response<Body> {
    error(400, "ValidationException", message)
}

pub async fn handle(
    iam: &Iam<AnyStore>,
    cache: &SigningKeyCache,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let request_id = iamd_iam::ids::request_id();
    let mut resp = handle_inner(iam, cache, req, peer).await;
    if let Ok(v) = http::HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

async fn handle_inner(
    iam: &Iam<AnyStore>,
    cache: &SigningKeyCache,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = match tokio::time::timeout(
        Duration::from_secs(10),
        Limited::new(body, MAX_BODY).collect(),
    )
    .await
    {
        Ok(Ok(c)) => c.to_bytes(),
        _ => return validation("The request body could not be read or is too large."),
    };
    // Authenticate.
    let raw_query = parts.uri.query().unwrap_or("");
    let headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect();
    let rp = RequestParts::new(parts.method.as_str(), parts.uri.path(), raw_query, &headers)
        .with_payload(Payload::Bytes(&body));
    let parsed = match iamd_sigv4::parse(&rp) {
        Ok(p) => p,
        Err(e) => return error(403, "InvalidSignatureException", &e.to_string()),
    };
    if let Err(e) = parsed.require_signed_amz_headers() {
        return error(403, "InvalidSignatureException", &e.to_string());
    }
    let token = parsed.security_token().map(|t| &*t.token);
    let (principal, secret, any_secret) = match iam.authenticate(parsed.access_key_id(), token) {
        Ok(a) => (a.principal, a.secret, a.any_secret),
        Err(iamd_iam::KeyProblem::ExpiredToken) => {
            return error(
                403,
                "ExpiredTokenException",
                "The security token included in the request is expired",
            )
        }
        Err(_) => {
            return error(
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        }
    };
    // Test mode's root for a key this server does not hold: any secret.
    let verified = if any_secret {
        Ok(())
    } else {
        parsed
            .verify(secret.as_bytes(), SystemTime::now(), Some(cache))
            .map(drop)
    };
    if let Err(e) = verified {
        return error(403, "InvalidSignatureException", &e.to_string());
    }
    // Decode.
    let Ok(text) = std::str::from_utf8(&body) else {
        return validation("The request body is not UTF-8.");
    };
    let Ok(json) = iamd_policy::json::parse(text) else {
        return validation("The request body is not valid JSON.");
    };
    let JsonKind::Object(members) = &json.kind else {
        return validation("The request body must be a JSON object.");
    };
    let field = |name: &str| {
        members
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_str())
    };
    let mut input = ValidatePolicyInput {
        policy_document: field("policyDocument"),
        policy_type: field("policyType"),
        validate_policy_resource_type: field("validatePolicyResourceType"),
        ..Default::default()
    };
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "maxResults" => input.max_results = Some(v),
            "nextToken" => input.next_token = Some(v),
            _ => {}
        }
    }
    // Authorize and run.
    let mut ctx = iamd_iam::request_context(&crate::app::origin(&parts.headers, peer), 16);
    iam.add_principal_keys(&principal, &mut ctx);
    let page = match iam.validate_policy(&principal, &input, &ctx) {
        Ok(page) => page,
        Err(IamError::AccessDenied(m)) => return error(403, "AccessDeniedException", &m),
        Err(IamError::Validation(m)) => return validation(&m),
        Err(e) => return error(500, "InternalServerException", &e.to_string()),
    };
    // Encode.
    let document = input.policy_document.unwrap_or_default();
    let mut out = String::from("{\"findings\":[");
    for (i, f) in page.findings.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_finding(&mut out, document, f);
    }
    out.push(']');
    if let Some(next) = &page.next_token {
        out.push_str(",\"nextToken\":");
        js(&mut out, next);
    }
    out.push('}');
    response(200, "application/json", out)
}

fn write_pos(out: &mut String, src: &str, p: Pos) {
    // Access Analyzer counts columns from 0.
    let _ = write!(
        out,
        "{{\"line\":{},\"column\":{},\"offset\":{}}}",
        p.line,
        p.column.saturating_sub(1),
        offset_of(src, p)
    );
}

fn write_finding(out: &mut String, src: &str, f: &LintFinding) {
    out.push_str("{\"findingDetails\":");
    js(out, &f.details);
    out.push_str(",\"findingType\":");
    js(out, f.finding_type.as_str());
    out.push_str(",\"issueCode\":");
    js(out, f.issue_code);
    out.push_str(",\"learnMoreLink\":");
    js(out, &f.learn_more_link());
    out.push_str(",\"locations\":[{\"path\":[");
    for (i, e) in f.path.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match e {
            PathElement::Value(v) => {
                out.push_str("{\"value\":");
                js(out, v);
                out.push('}');
            }
            PathElement::Key(k) => {
                out.push_str("{\"key\":");
                js(out, k);
                out.push('}');
            }
            PathElement::Index(n) => {
                let _ = write!(out, "{{\"index\":{n}}}");
            }
        }
    }
    out.push_str("],\"span\":{\"start\":");
    write_pos(out, src, f.span.start);
    out.push_str(",\"end\":");
    write_pos(out, src, f.span.end);
    out.push_str("}}]}");
}
