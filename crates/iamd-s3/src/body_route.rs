//! Digest checks for the operations whose body s3s reads whole and parses before any
//! iamd code runs: DeleteObjects, PutBucketPolicy, PutObjectTagging,
//! CompleteMultipartUpload and CreateBucket. By the time the `S3` trait method is
//! called the raw bytes are gone, so nothing there can check a `Content-MD5`.
//!
//! s3s's route hook runs after the signature check and before s3s reads the body. This
//! route takes such a request when it carries a digest (always for DeleteObjects, which
//! requires one), reads the body (bounded like s3s's own XML reads), checks it with
//! [`Expect`], and hands the request, body now in memory and headers untouched, to a
//! second s3s service built like the first but without this route. That service
//! authenticates, authorizes and parses exactly as if the route were not there, so no
//! authorization decision is made or skipped here.
//!
//! The route also answers a request whose bucket name s3s's check refuses, with AWS's
//! `InvalidBucketName` message (s3s's own refusal has none): the outer service's name
//! check lets every name through to here ([`AnyBucketName`]). Names that pass s3s's
//! older check but break AWS's current rules are refused by CreateBucket itself
//! (`bucket_name`), so buckets made before those rules stay reachable.

use std::net::{IpAddr, SocketAddr};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::{HeaderMap, Method, Uri};
use s3s::path::{ParseS3PathError, S3Path};
use s3s::route::S3Route;
use s3s::service::S3Service;
use s3s::{Body, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};

use crate::integrity::{self, Expect};

/// s3s's default limit for the XML bodies it reads whole (`S3Config::xml_max_body_size`).
const MAX_BODY: usize = 20 * 1024 * 1024;

pub(crate) struct BodyRoute {
    /// The same service without this route.
    pub inner: S3Service,
    /// `--domain`, to tell `PUT /` on a virtual-hosted bucket (CreateBucket) apart.
    pub domain: Option<crate::Host>,
}

/// Query parameter names, decoded enough for subresource names.
fn query_keys(uri: &Uri) -> Vec<&str> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .map(|kv| kv.split_once('=').map_or(kv, |(k, _)| k))
        .filter(|k| !k.is_empty())
        .collect()
}

/// What s3s makes of the request's path and host, with AWS's bucket name check (the
/// outer service lets every non-empty name through to here; see [`AnyBucketName`]).
fn s3_path(
    uri: &Uri,
    headers: &HeaderMap,
    domain: Option<&crate::Host>,
) -> Result<S3Path, ParseS3PathError> {
    use s3s::host::S3Host;
    let path = urlencoding::decode(uri.path()).map_err(|_| ParseS3PathError::InvalidPath)?;
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.parse::<SocketAddr>().is_err() && h.parse::<IpAddr>().is_err());
    let vh = match (domain, host) {
        (Some(d), Some(h)) => Some(
            d.parse_host_header(h)
                .map_err(|_| ParseS3PathError::InvalidPath)?,
        ),
        _ => None,
    };
    s3s::path::parse_virtual_hosted_style(vh.as_ref().and_then(|v| v.bucket()), &path)
}

/// Which body-parsing operation this is, if any: `Some(true)` for DeleteObjects.
fn parsed_body_op(method: &Method, uri: &Uri, path: &S3Path) -> Option<bool> {
    let keys = query_keys(uri);
    let has = |k: &str| keys.contains(&k);
    if *method == Method::POST {
        if has("delete") {
            return Some(true);
        }
        // CompleteMultipartUpload (not CreateMultipartUpload's `?uploads`).
        return (has("uploadId") && !has("uploads")).then_some(false);
    }
    if *method != Method::PUT || has("partNumber") {
        return None;
    }
    // PutBucketPolicy, PutObjectTagging; CreateBucket is `PUT /bucket` bare.
    if has("policy") || has("tagging") {
        return Some(false);
    }
    let bucket = matches!(path, S3Path::Bucket { .. });
    (bucket && keys.iter().all(|k| *k == "x-id")).then_some(false)
}

/// s3s's bucket name check for the outer service: every name passes, so that the route
/// can refuse a bad one with AWS's message (s3s's own refusal has none); the inner
/// service keeps s3s's check.
pub(crate) struct AnyBucketName;

impl s3s::validation::NameValidation for AnyBucketName {
    fn validate_bucket_name(&self, name: &str) -> bool {
        !name.is_empty()
    }
}

fn invalid_bucket_name() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidBucketName,
        "The specified bucket is not valid.",
    )
}

fn carries_digest(h: &HeaderMap) -> bool {
    h.keys().any(|k| {
        let k = k.as_str();
        k == "content-md5" || k == "x-amz-trailer" || k.starts_with("x-amz-checksum-")
    })
}

async fn read_body(body: &mut Body) -> S3Result<Bytes> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| crate::service::body_error(e.to_string()))?;
        if buf.len() + chunk.len() > MAX_BODY {
            return Err(S3Error::with_message(
                S3ErrorCode::MaxMessageLengthExceeded,
                "Your request was too big.",
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

#[async_trait::async_trait]
impl S3Route for BodyRoute {
    fn is_match(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        _: &mut http::Extensions,
    ) -> bool {
        match s3_path(uri, headers, self.domain.as_ref()) {
            Err(ParseS3PathError::InvalidBucketName) => true,
            Err(_) => false,
            Ok(path) => parsed_body_op(method, uri, &path)
                .is_some_and(|delete| delete || carries_digest(headers)),
        }
    }

    /// The inner service decides (s3s's default here would refuse anonymous callers
    /// before any policy is consulted).
    async fn check_access(&self, _: &mut S3Request<Body>) -> S3Result<()> {
        Ok(())
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let S3Request {
            input: mut body,
            method,
            uri,
            headers,
            extensions,
            ..
        } = req;
        let delete = match s3_path(&uri, &headers, self.domain.as_ref()) {
            Ok(path) => parsed_body_op(&method, &uri, &path) == Some(true),
            Err(_) => return Err(invalid_bucket_name()),
        };
        if integrity::is_aws_chunked(&headers) {
            // s3s has already decoded the chunks and the signed headers still say
            // STREAMING-…, so the request cannot be handed on; SDKs send these bodies
            // plain.
            return Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                "aws-chunked request bodies are not supported for this operation",
            ));
        }
        let expect = Expect::from_headers(&headers)?;
        if delete && !expect.has_digest() {
            return Err(integrity::missing_digest());
        }
        let bytes = read_body(&mut body).await?;
        if !bytes.is_empty() && !headers.contains_key(http::header::CONTENT_LENGTH) {
            return Err(S3Error::with_message(
                S3ErrorCode::MissingContentLength,
                "You must provide the Content-Length HTTP header.",
            ));
        }
        expect.verify(&bytes)?;
        let mut forward = http::Request::new(Body::from(bytes));
        *forward.method_mut() = method;
        *forward.uri_mut() = uri;
        *forward.headers_mut() = headers;
        *forward.extensions_mut() = extensions;
        let resp = self
            .inner
            .call(forward)
            .await
            .map_err(|e| crate::access::internal(format!("{e:?}")))?;
        let (parts, body) = resp.into_parts();
        let mut out = S3Response::new(body);
        out.status = Some(parts.status);
        out.headers = parts.headers;
        out.extensions = parts.extensions;
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn op(method: Method, target: &str, host: &str, domain: Option<&str>) -> Option<bool> {
        let uri: Uri = target.parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(http::header::HOST, host.parse().unwrap());
        let d = domain.map(|d| crate::Host {
            domain: d.to_string(),
        });
        parsed_body_op(&method, &uri, &s3_path(&uri, &h, d.as_ref()).unwrap())
    }

    #[test]
    fn finds_the_operations_whose_body_s3s_parses() {
        let h = "127.0.0.1:9000";
        assert_eq!(op(Method::POST, "/bkt?delete", h, None), Some(true));
        assert_eq!(op(Method::POST, "/bkt?delete=", h, None), Some(true));
        assert_eq!(op(Method::POST, "/bkt/k?uploadId=x", h, None), Some(false));
        assert_eq!(op(Method::PUT, "/bkt?policy", h, None), Some(false));
        assert_eq!(op(Method::PUT, "/bkt/k?tagging", h, None), Some(false));
        assert_eq!(op(Method::PUT, "/bkt", h, None), Some(false));
        assert_eq!(op(Method::PUT, "/bkt/", h, None), Some(false));
        // Streaming bodies and bodiless requests are not taken.
        assert_eq!(op(Method::PUT, "/bkt/k", h, None), None);
        assert_eq!(op(Method::PUT, "/bkt/k?x-id=PutObject", h, None), None);
        assert_eq!(
            op(Method::PUT, "/bkt/k?partNumber=1&uploadId=x", h, None),
            None
        );
        assert_eq!(op(Method::POST, "/bkt/k?uploads", h, None), None);
        assert_eq!(op(Method::POST, "/bkt", h, None), None);
        assert_eq!(op(Method::GET, "/bkt?delete", h, None), None);
        assert_eq!(op(Method::DELETE, "/bkt?policy", h, None), None);
        // Virtual-hosted style: `PUT /` creates the bucket, `PUT /k` puts an object.
        let vh = "bkt.s3.example.com";
        assert_eq!(
            op(Method::PUT, "/", vh, Some("s3.example.com")),
            Some(false)
        );
        assert_eq!(op(Method::PUT, "/k", vh, Some("s3.example.com")), None);
        assert_eq!(
            op(Method::PUT, "/bkt", "127.0.0.1:1", Some("s3.example.com")),
            Some(false)
        );
    }

    #[test]
    fn bad_bucket_names_are_found_in_the_path_or_the_host() {
        let path = |target: &str, host: &str, domain: Option<&str>| {
            let mut h = HeaderMap::new();
            h.insert(http::header::HOST, host.parse().unwrap());
            let d = domain.map(|d| crate::Host {
                domain: d.to_string(),
            });
            s3_path(&target.parse().unwrap(), &h, d.as_ref())
        };
        let bad = |r: Result<S3Path, ParseS3PathError>| {
            matches!(r, Err(ParseS3PathError::InvalidBucketName))
        };
        assert!(bad(path("/Bad/k", "127.0.0.1:1", None)));
        assert!(bad(path("/xn--a", "127.0.0.1:1", None)));
        assert!(bad(path("/%41bc", "127.0.0.1:1", None)));
        assert!(bad(path(
            "/k",
            "B_d.s3.example.com",
            Some("s3.example.com")
        )));
        assert!(path("/%61bc/k", "127.0.0.1:1", None).is_ok());
        assert!(path("/", "127.0.0.1:1", None).is_ok());
    }
}
