//! S3 request → IAM action(s), resource ARN(s) and S3 condition keys
//! (docs/policy-semantics.md §5.3, §6.1). Pure: no I/O; the access seam (`access.rs`) adds
//! the global keys, the stored-object keys and asks the engine.

use http::HeaderMap;
use s3s::path::S3Path;

/// What to authorize against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Wildcard-only action (§6.0): `*`.
    Wildcard,
    /// `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`; `bucket` owns the resource
    /// (its policy and owner account apply).
    Arn { arn: String, bucket: String },
}

/// One authorization check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub action: &'static str,
    pub target: Target,
    /// Condition keys specific to this check.
    pub keys: Vec<(String, Vec<String>)>,
    /// The object whose stored tags are `s3:ExistingObjectTag/*` (bucket, key, and
    /// the version id a request names: else the current version).
    pub existing_object: Option<(String, String, Option<String>)>,
}

/// How a request is authorized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Decide these checks before the operation runs; all must allow.
    Checks(Vec<Check>),
    /// Decided by the operation itself, per item, with the stashed caller
    /// (DeleteObjects: one `s3:DeleteObject` per key; PutObjectTagging: the request
    /// tags are in the body).
    InHandler,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("The operation {0} is not supported by this server.")]
    Unsupported(String),
    #[error("{0}")]
    InvalidRequest(String),
}

pub fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

pub fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

pub(crate) fn on_bucket(action: &'static str, bucket: &str) -> Check {
    Check {
        action,
        target: Target::Arn {
            arn: bucket_arn(bucket),
            bucket: bucket.to_string(),
        },
        keys: Vec::new(),
        existing_object: None,
    }
}

fn on_object(action: &'static str, bucket: &str, key: &str) -> Check {
    Check {
        action,
        target: Target::Arn {
            arn: object_arn(bucket, key),
            bucket: bucket.to_string(),
        },
        keys: Vec::new(),
        existing_object: None,
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Decoded query parameters, in order (`a&b=c` → `[("a",""),("b","c")]`).
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Percent-decoding with `+` → space (query strings); invalid escapes kept literally,
/// invalid UTF-8 replaced.
pub fn percent_decode(s: &str) -> String {
    String::from_utf8_lossy(&iamd_text::percent::decode(s.as_bytes(), true)).into_owned()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `k1=v1&k2=v2` (the `x-amz-tagging` header) → pairs; `None` if malformed.
pub fn parse_tagging_header(s: &str) -> Vec<(String, String)> {
    parse_query(s)
}

/// `s3:RequestObjectTag/<key>` per tag and `s3:RequestObjectTagKeys` (PutObject with
/// `x-amz-tagging`, PutObjectTagging).
pub(crate) fn request_tag_keys(tags: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut keys: Vec<(String, Vec<String>)> = tags
        .iter()
        .map(|(k, v)| (format!("s3:RequestObjectTag/{k}"), vec![v.clone()]))
        .collect();
    keys.push((
        "s3:RequestObjectTagKeys".into(),
        tags.iter().map(|(k, _)| k.clone()).collect(),
    ));
    keys
}

fn acl_keys(h: &HeaderMap, sse: bool) -> Vec<(String, Vec<String>)> {
    let mut keys = Vec::new();
    if let Some(acl) = header(h, "x-amz-acl") {
        keys.push(("s3:x-amz-acl".into(), vec![acl.to_string()]));
    }
    if sse {
        if let Some(v) = header(h, "x-amz-server-side-encryption") {
            keys.push((
                "s3:x-amz-server-side-encryption".into(),
                vec![v.to_string()],
            ));
        }
    }
    keys
}

/// The copy source (`x-amz-copy-source`: `bucket/key`, URL-encoded, optional leading
/// `/`, optional `?versionId=`).
pub fn copy_source(h: &HeaderMap) -> Result<(String, String), MapError> {
    let raw = header(h, "x-amz-copy-source")
        .ok_or_else(|| MapError::InvalidRequest("x-amz-copy-source is required".into()))?;
    let raw = raw.split_once('?').map_or(raw, |(p, _)| p);
    let decoded = percent_decode_path(raw);
    let decoded = decoded.strip_prefix('/').unwrap_or(&decoded);
    match decoded.split_once('/') {
        Some((b, k)) if !b.is_empty() && !k.is_empty() => Ok((b.to_string(), k.to_string())),
        _ => Err(MapError::InvalidRequest(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey".into(),
        )),
    }
}

/// The version id the copy source names (`x-amz-copy-source: …?versionId=`).
pub fn copy_source_version(h: &HeaderMap) -> Option<String> {
    let raw = header(h, "x-amz-copy-source")?;
    let (_, q) = raw.split_once('?')?;
    parse_query(q)
        .into_iter()
        .find(|(k, _)| k == "versionId")
        .map(|(_, v)| v)
}

/// The action on an object: `plain`, or `version` (with the `s3:versionid` key) when
/// the request names a version, as the Service Authorization Reference maps them.
fn object_action(
    plain: &'static str,
    version: &'static str,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Check {
    match version_id {
        None => on_object(plain, bucket, key),
        Some(v) => {
            let mut c = on_object(version, bucket, key);
            c.keys.push(("s3:versionid".into(), vec![v.to_string()]));
            c
        }
    }
}

/// DeleteObject, and each item of DeleteObjects: `s3:DeleteObjectVersion` when a
/// version is named.
pub(crate) fn delete_check(bucket: &str, key: &str, version_id: Option<&str>) -> Check {
    object_action(
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        bucket,
        key,
        version_id,
    )
}

/// PutObjectTagging (decided in the handler, with the tags of the body).
pub(crate) fn put_tagging_check(
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    tags: &[(String, String)],
) -> Check {
    let mut c = object_action(
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
        bucket,
        key,
        version_id,
    );
    c.keys.extend(request_tag_keys(tags));
    c.existing_object = Some((
        bucket.to_string(),
        key.to_string(),
        version_id.map(str::to_string),
    ));
    c
}

/// Percent-decoding without `+` → space (paths).
fn percent_decode_path(s: &str) -> String {
    String::from_utf8_lossy(&iamd_text::percent::decode(s.as_bytes(), false)).into_owned()
}

/// Every operation this server implements (s3s's names): [`plan`] refuses any other
/// as `NotImplemented` before mapping it, and README's table of supported operations
/// is generated from this list ([`crate::op_table`]).
pub const OPERATIONS: &[&str] = &[
    "ListBuckets",
    "CreateBucket",
    "HeadBucket",
    "DeleteBucket",
    "GetBucketLocation",
    "ListObjects",
    "ListObjectsV2",
    "ListObjectVersions",
    "ListMultipartUploads",
    "GetObject",
    "HeadObject",
    "GetObjectAttributes",
    "PutObject",
    "CopyObject",
    "UploadPartCopy",
    "DeleteObject",
    "DeleteObjects",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "ListParts",
    "PutBucketPolicy",
    "GetBucketPolicy",
    "DeleteBucketPolicy",
    "GetBucketPolicyStatus",
    "GetObjectTagging",
    "PutObjectTagging",
    "DeleteObjectTagging",
    "GetObjectAcl",
    "PutObjectAcl",
    "PutBucketAcl",
    "GetBucketVersioning",
    "PutBucketVersioning",
    "GetBucketAcl",
    "GetBucketRequestPayment",
    "GetBucketTagging",
    "PutBucketTagging",
    "DeleteBucketTagging",
    "GetBucketOwnershipControls",
    "PutBucketOwnershipControls",
    "DeleteBucketOwnershipControls",
    "GetPublicAccessBlock",
    "PutPublicAccessBlock",
    "DeletePublicAccessBlock",
    "GetBucketCors",
    "PutBucketCors",
    "DeleteBucketCors",
    "GetBucketLifecycleConfiguration",
    "PutBucketLifecycleConfiguration",
    "DeleteBucketLifecycle",
];

/// Maps one request. `op` is s3s's operation name (`GetObject`, …).
pub fn plan(
    op: &str,
    path: &S3Path,
    query: &[(String, String)],
    h: &HeaderMap,
) -> Result<Plan, MapError> {
    if !OPERATIONS.contains(&op) {
        return Err(MapError::Unsupported(op.to_string()));
    }
    let (bucket, key) = match path {
        S3Path::Root => ("", ""),
        S3Path::Bucket { bucket } => (&**bucket, ""),
        S3Path::Object { bucket, key } => (&**bucket, &**key),
    };
    let obj = |a| on_object(a, bucket, key);
    let bkt = |a| on_bucket(a, bucket);
    let version_id = param(query, "versionId");
    // An object check with the stored tags of the object (or version) it names.
    let existing = |mut c: Check| {
        c.existing_object = Some((
            bucket.to_string(),
            key.to_string(),
            version_id.map(str::to_string),
        ));
        c
    };
    let versioned = |plain, version| object_action(plain, version, bucket, key, version_id);
    // Bucket settings: the Service Authorization Reference's action for each operation
    // (a Delete is authorized as the matching Put).
    if let Some(action) = bucket_setting_action(op) {
        return Ok(Plan::Checks(vec![bkt(action)]));
    }
    let checks = match op {
        "ListBuckets" => vec![Check {
            action: "s3:ListAllMyBuckets",
            target: Target::Wildcard,
            keys: Vec::new(),
            existing_object: None,
        }],
        "CreateBucket" => {
            let mut c = bkt("s3:CreateBucket");
            c.keys = acl_keys(h, false);
            let mut v = vec![c];
            if header(h, "x-amz-acl").is_some() || has_grant(h) {
                let mut a = bkt("s3:PutBucketAcl");
                a.keys = acl_keys(h, false); // the SAR lists s3:x-amz-acl on PutBucketAcl
                v.push(a);
            }
            v
        }
        "HeadBucket" => vec![bkt("s3:ListBucket")],
        "DeleteBucket" => vec![bkt("s3:DeleteBucket")],
        "GetBucketLocation" => vec![bkt("s3:GetBucketLocation")],
        "ListObjects" | "ListObjectsV2" | "ListObjectVersions" => {
            let mut c = bkt(if op == "ListObjectVersions" {
                "s3:ListBucketVersions"
            } else {
                "s3:ListBucket"
            });
            for (p, k) in [("prefix", "s3:prefix"), ("delimiter", "s3:delimiter")] {
                if let Some(v) = param(query, p) {
                    c.keys.push((k.into(), vec![v.to_string()]));
                }
            }
            let max = param(query, "max-keys").unwrap_or("1000");
            c.keys.push(("s3:max-keys".into(), vec![max.to_string()]));
            vec![c]
        }
        "ListMultipartUploads" => vec![bkt("s3:ListBucketMultipartUploads")],
        "GetObject" | "HeadObject" => {
            vec![existing(versioned("s3:GetObject", "s3:GetObjectVersion"))]
        }
        // Both actions (AWS's API reference); the Version pair when a version is named.
        "GetObjectAttributes" => vec![
            existing(versioned("s3:GetObject", "s3:GetObjectVersion")),
            existing(versioned(
                "s3:GetObjectAttributes",
                "s3:GetObjectVersionAttributes",
            )),
        ],
        "PutObject" => {
            let mut c = obj("s3:PutObject");
            c.keys = acl_keys(h, true);
            let mut v = Vec::new();
            if let Some(t) = header(h, "x-amz-tagging") {
                let tags = parse_tagging_header(t);
                c.keys.extend(request_tag_keys(&tags));
                let mut t = obj("s3:PutObjectTagging");
                t.keys = request_tag_keys(&tags);
                v.push(t);
            }
            if header(h, "x-amz-acl").is_some() || has_grant(h) {
                let mut a = obj("s3:PutObjectAcl");
                a.keys = acl_keys(h, false); // the SAR lists s3:x-amz-acl on PutObjectAcl
                v.push(a);
            }
            v.insert(0, c);
            v
        }
        "CopyObject" | "UploadPartCopy" => {
            let (sb, sk) = copy_source(h)?;
            let source_version = copy_source_version(h);
            let mut src = object_action(
                "s3:GetObject",
                "s3:GetObjectVersion",
                &sb,
                &sk,
                source_version.as_deref(),
            );
            src.existing_object = Some((sb.clone(), sk.clone(), source_version));
            let mut dst = obj("s3:PutObject");
            if op == "CopyObject" {
                dst.keys = acl_keys(h, true);
                if let Some(v) = header(h, "x-amz-copy-source") {
                    dst.keys
                        .push(("s3:x-amz-copy-source".into(), vec![v.to_string()]));
                }
                if let Some(v) = header(h, "x-amz-metadata-directive") {
                    dst.keys
                        .push(("s3:x-amz-metadata-directive".into(), vec![v.to_string()]));
                }
                if let Some(t) = header(h, "x-amz-tagging") {
                    dst.keys.extend(request_tag_keys(&parse_tagging_header(t)));
                }
            }
            vec![dst, src]
        }
        "DeleteObject" => vec![delete_check(bucket, key, version_id)],
        "DeleteObjects" => return Ok(Plan::InHandler),
        "CreateMultipartUpload" => {
            let mut c = obj("s3:PutObject");
            c.keys = acl_keys(h, true);
            if let Some(t) = header(h, "x-amz-tagging") {
                c.keys.extend(request_tag_keys(&parse_tagging_header(t)));
            }
            vec![c]
        }
        "UploadPart" | "CompleteMultipartUpload" => vec![obj("s3:PutObject")],
        "AbortMultipartUpload" => vec![obj("s3:AbortMultipartUpload")],
        "ListParts" => vec![obj("s3:ListMultipartUploadParts")],
        "PutBucketPolicy" => vec![bkt("s3:PutBucketPolicy")],
        "GetBucketPolicy" => vec![bkt("s3:GetBucketPolicy")],
        "DeleteBucketPolicy" => vec![bkt("s3:DeleteBucketPolicy")],
        "GetBucketPolicyStatus" => vec![bkt("s3:GetBucketPolicyStatus")],
        "GetObjectTagging" => vec![existing(versioned(
            "s3:GetObjectTagging",
            "s3:GetObjectVersionTagging",
        ))],
        "PutObjectTagging" => return Ok(Plan::InHandler),
        "GetObjectAcl" => vec![existing(versioned(
            "s3:GetObjectAcl",
            "s3:GetObjectVersionAcl",
        ))],
        "PutObjectAcl" => {
            let mut c = versioned("s3:PutObjectAcl", "s3:PutObjectVersionAcl");
            c.keys.extend(acl_keys(h, false));
            vec![existing(c)]
        }
        "PutBucketAcl" => {
            let mut c = bkt("s3:PutBucketAcl");
            c.keys = acl_keys(h, false);
            vec![c]
        }
        "DeleteObjectTagging" => vec![existing(versioned(
            "s3:DeleteObjectTagging",
            "s3:DeleteObjectVersionTagging",
        ))],
        other => return Err(MapError::Unsupported(other.to_string())),
    };
    Ok(Plan::Checks(checks))
}

/// The action of a bucket-settings operation (one check on the bucket, no keys).
fn bucket_setting_action(op: &str) -> Option<&'static str> {
    Some(match op {
        "GetBucketVersioning" => "s3:GetBucketVersioning",
        "PutBucketVersioning" => "s3:PutBucketVersioning",
        "GetBucketAcl" => "s3:GetBucketAcl",
        "GetBucketRequestPayment" => "s3:GetBucketRequestPayment",
        "GetBucketTagging" => "s3:GetBucketTagging",
        "PutBucketTagging" | "DeleteBucketTagging" => "s3:PutBucketTagging",
        "GetBucketOwnershipControls" => "s3:GetBucketOwnershipControls",
        "PutBucketOwnershipControls" | "DeleteBucketOwnershipControls" => {
            "s3:PutBucketOwnershipControls"
        }
        "GetPublicAccessBlock" => "s3:GetBucketPublicAccessBlock",
        "PutPublicAccessBlock" | "DeletePublicAccessBlock" => "s3:PutBucketPublicAccessBlock",
        "GetBucketCors" => "s3:GetBucketCORS",
        "PutBucketCors" | "DeleteBucketCors" => "s3:PutBucketCORS",
        "GetBucketLifecycleConfiguration" => "s3:GetLifecycleConfiguration",
        "PutBucketLifecycleConfiguration" | "DeleteBucketLifecycle" => {
            "s3:PutLifecycleConfiguration"
        }
        _ => return None,
    })
}

fn has_grant(h: &HeaderMap) -> bool {
    h.keys().any(|k| k.as_str().starts_with("x-amz-grant-"))
}

/// The signature-derived S3 keys (§5.3) for a signed request at `now` (epoch secs).
pub fn signature_keys(
    h: &HeaderMap,
    query: &[(String, String)],
    now: i64,
) -> Vec<(&'static str, String)> {
    let mut keys = Vec::new();
    if let Some(alg) = param(query, "X-Amz-Algorithm") {
        keys.push(("s3:signatureversion", alg.to_string()));
        keys.push(("s3:authType", "REST-QUERY-STRING".to_string()));
        if let Some(t) = param(query, "X-Amz-Date").and_then(parse_amz_date) {
            keys.push(("s3:signatureAge", ((now - t).max(0) * 1000).to_string()));
        }
    } else if param(query, "Signature").is_some() {
        keys.push(("s3:signatureversion", "AWS".to_string()));
        keys.push(("s3:authType", "REST-QUERY-STRING".to_string()));
        keys.push(("s3:signatureAge", "0".to_string()));
    } else if let Some(auth) = header(h, "authorization") {
        let v = if auth.starts_with("AWS4-") {
            "AWS4-HMAC-SHA256"
        } else {
            "AWS"
        };
        keys.push(("s3:signatureversion", v.to_string()));
        keys.push(("s3:authType", "REST-HEADER".to_string()));
        if let Some(sha) = header(h, "x-amz-content-sha256") {
            keys.push(("s3:x-amz-content-sha256", sha.to_string()));
        }
    }
    keys
}

/// `20130524T000000Z` → epoch seconds.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    iamd_text::date::parse_iso_basic(s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn hm(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn checks(op: &str, path: S3Path, q: &str, h: &[(&str, &str)]) -> Vec<Check> {
        match plan(op, &path, &parse_query(q), &hm(h)).unwrap() {
            Plan::Checks(c) => c,
            Plan::InHandler => panic!("{op}: in handler"),
        }
    }

    fn arn(c: &Check) -> &str {
        match &c.target {
            Target::Arn { arn, .. } => arn,
            Target::Wildcard => "*",
        }
    }

    fn key<'a>(c: &'a Check, k: &str) -> Option<&'a [String]> {
        c.keys
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_slice())
    }

    #[test]
    fn list_buckets_is_wildcard_only() {
        let c = checks("ListBuckets", S3Path::Root, "", &[]);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].action, "s3:ListAllMyBuckets");
        assert_eq!(c[0].target, Target::Wildcard);
    }

    #[test]
    fn list_objects_is_list_bucket_on_the_bucket_with_keys() {
        let c = checks(
            "ListObjectsV2",
            S3Path::bucket("houdini"),
            "list-type=2&prefix=img%2F&delimiter=%2F&max-keys=5",
            &[],
        );
        assert_eq!(c[0].action, "s3:ListBucket");
        assert_eq!(arn(&c[0]), "arn:aws:s3:::houdini");
        assert_eq!(key(&c[0], "s3:prefix"), Some(&["img/".to_string()][..]));
        assert_eq!(key(&c[0], "s3:delimiter"), Some(&["/".to_string()][..]));
        assert_eq!(key(&c[0], "s3:max-keys"), Some(&["5".to_string()][..]));
        // Absent parameters: no s3:prefix, max-keys defaults to 1000.
        let c = checks("ListObjects", S3Path::bucket("houdini"), "", &[]);
        assert_eq!(key(&c[0], "s3:prefix"), None);
        assert_eq!(key(&c[0], "s3:max-keys"), Some(&["1000".to_string()][..]));
        // An empty prefix is present.
        let c = checks("ListObjects", S3Path::bucket("houdini"), "prefix=", &[]);
        assert_eq!(key(&c[0], "s3:prefix"), Some(&[String::new()][..]));
    }

    #[test]
    fn object_actions_use_the_raw_key() {
        for (op, action) in [
            ("GetObject", "s3:GetObject"),
            ("HeadObject", "s3:GetObject"),
            ("DeleteObject", "s3:DeleteObject"),
            ("UploadPart", "s3:PutObject"),
            ("CompleteMultipartUpload", "s3:PutObject"),
            ("AbortMultipartUpload", "s3:AbortMultipartUpload"),
            ("ListParts", "s3:ListMultipartUploadParts"),
            ("GetObjectTagging", "s3:GetObjectTagging"),
        ] {
            let c = checks(op, S3Path::object("houdini", "a//b/../x y"), "", &[]);
            assert_eq!(c.len(), 1, "{op}");
            assert_eq!(c[0].action, action, "{op}");
            assert_eq!(arn(&c[0]), "arn:aws:s3:::houdini/a//b/../x y", "{op}");
        }
        let c = checks("GetObject", S3Path::object("b", "k"), "", &[]);
        assert_eq!(c[0].existing_object, Some(("b".into(), "k".into(), None)));
    }

    #[test]
    fn object_attributes_need_both_actions() {
        let actions = |query| {
            let c = checks("GetObjectAttributes", S3Path::object("b", "k"), query, &[]);
            for c in &c {
                assert_eq!(arn(c), "arn:aws:s3:::b/k");
                assert_eq!(
                    c.existing_object.as_ref().map(|o| (&*o.0, &*o.1)),
                    Some(("b", "k"))
                );
            }
            c.iter().map(|c| c.action).collect::<Vec<_>>()
        };
        assert_eq!(
            actions("attributes"),
            ["s3:GetObject", "s3:GetObjectAttributes"]
        );
        assert_eq!(
            actions("attributes&versionId=null"),
            ["s3:GetObjectVersion", "s3:GetObjectVersionAttributes"]
        );
    }

    /// A request naming a version is authorized as the Version action, with
    /// `s3:versionid` (the Service Authorization Reference's mapping).
    #[test]
    fn version_ids_map_to_the_version_actions() {
        for (op, plain, version) in [
            ("GetObject", "s3:GetObject", "s3:GetObjectVersion"),
            ("HeadObject", "s3:GetObject", "s3:GetObjectVersion"),
            ("DeleteObject", "s3:DeleteObject", "s3:DeleteObjectVersion"),
            (
                "GetObjectTagging",
                "s3:GetObjectTagging",
                "s3:GetObjectVersionTagging",
            ),
            (
                "DeleteObjectTagging",
                "s3:DeleteObjectTagging",
                "s3:DeleteObjectVersionTagging",
            ),
            ("GetObjectAcl", "s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
            ("PutObjectAcl", "s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
        ] {
            let c = checks(op, S3Path::object("b", "k"), "", &[]);
            assert_eq!((c.len(), c[0].action), (1, plain), "{op}");
            assert_eq!(key(&c[0], "s3:versionid"), None, "{op}");
            let c = checks(op, S3Path::object("b", "k"), "versionId=abc", &[]);
            assert_eq!((c.len(), c[0].action), (1, version), "{op}");
            assert_eq!(arn(&c[0]), "arn:aws:s3:::b/k");
            assert_eq!(key(&c[0], "s3:versionid"), Some(&["abc".to_string()][..]));
            if op != "DeleteObject" {
                assert_eq!(
                    c[0].existing_object,
                    Some(("b".into(), "k".into(), Some("abc".into())))
                );
            }
        }
        let c = put_tagging_check("b", "k", Some("v"), &[("t".into(), "1".into())]);
        assert_eq!(c.action, "s3:PutObjectVersionTagging");
        assert_eq!(delete_check("b", "k", None).action, "s3:DeleteObject");
        // A copy of a version reads it as s3:GetObjectVersion.
        let c = checks(
            "CopyObject",
            S3Path::object("dst", "k"),
            "",
            &[("x-amz-copy-source", "/src/a?versionId=v1")],
        );
        assert_eq!(
            (c[1].action, arn(&c[1])),
            ("s3:GetObjectVersion", "arn:aws:s3:::src/a")
        );
        assert_eq!(key(&c[1], "s3:versionid"), Some(&["v1".to_string()][..]));
        let h = hm(&[("x-amz-copy-source", "src/a%20b?versionId=v%2B1")]);
        assert_eq!(copy_source_version(&h).as_deref(), Some("v+1"));
        for (op, action) in [
            ("GetBucketVersioning", "s3:GetBucketVersioning"),
            ("PutBucketVersioning", "s3:PutBucketVersioning"),
            ("ListObjectVersions", "s3:ListBucketVersions"),
        ] {
            let c = checks(op, S3Path::bucket("b"), "", &[]);
            assert_eq!((c[0].action, arn(&c[0])), (action, "arn:aws:s3:::b"));
        }
    }

    #[test]
    fn put_object_keys_tags_and_acl() {
        let c = checks(
            "PutObject",
            S3Path::object("houdini", "k"),
            "",
            &[
                ("x-amz-acl", "public-read"),
                ("x-amz-server-side-encryption", "AES256"),
                ("x-amz-tagging", "team=blue&env=prod%20x"),
            ],
        );
        let actions: Vec<_> = c.iter().map(|c| c.action).collect();
        assert_eq!(
            actions,
            ["s3:PutObject", "s3:PutObjectTagging", "s3:PutObjectAcl"]
        );
        assert_eq!(
            key(&c[0], "s3:x-amz-acl"),
            Some(&["public-read".to_string()][..])
        );
        assert_eq!(
            key(&c[2], "s3:x-amz-acl"),
            Some(&["public-read".to_string()][..])
        );
        assert_eq!(key(&c[2], "s3:x-amz-server-side-encryption"), None);
        assert_eq!(
            key(&c[0], "s3:x-amz-server-side-encryption"),
            Some(&["AES256".to_string()][..])
        );
        assert_eq!(
            key(&c[0], "s3:RequestObjectTag/env"),
            Some(&["prod x".to_string()][..])
        );
        assert_eq!(
            key(&c[0], "s3:RequestObjectTagKeys"),
            Some(&["team".to_string(), "env".to_string()][..])
        );
        // Without headers: only PutObject, no optional keys.
        let c = checks("PutObject", S3Path::object("houdini", "k"), "", &[]);
        assert_eq!(c.len(), 1);
        assert!(c[0].keys.is_empty());
    }

    #[test]
    fn copy_needs_get_on_source_and_put_on_destination() {
        let c = checks(
            "CopyObject",
            S3Path::object("dst", "new"),
            "",
            &[
                ("x-amz-copy-source", "/src/dir%2Fold%20file?versionId=1"),
                ("x-amz-metadata-directive", "REPLACE"),
            ],
        );
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[0].action, arn(&c[0])),
            ("s3:PutObject", "arn:aws:s3:::dst/new")
        );
        assert_eq!(
            (c[1].action, arn(&c[1])),
            ("s3:GetObjectVersion", "arn:aws:s3:::src/dir/old file")
        );
        assert_eq!(
            key(&c[0], "s3:x-amz-metadata-directive"),
            Some(&["REPLACE".to_string()][..])
        );
        let c = checks(
            "UploadPartCopy",
            S3Path::object("dst", "new"),
            "partNumber=1&uploadId=u",
            &[("x-amz-copy-source", "src/a+b")],
        );
        assert_eq!(arn(&c[1]), "arn:aws:s3:::src/a+b");
        assert!(plan(
            "CopyObject",
            &S3Path::object("d", "k"),
            &[],
            &hm(&[("x-amz-copy-source", "nokey")])
        )
        .is_err());
    }

    #[test]
    fn deferred_and_unsupported() {
        for op in ["DeleteObjects", "PutObjectTagging"] {
            assert_eq!(
                plan(op, &S3Path::bucket("b"), &[], &HeaderMap::new()),
                Ok(Plan::InHandler)
            );
        }
        for op in ["GetBucketWebsite", "Nonsense"] {
            assert!(matches!(
                plan(op, &S3Path::bucket("b"), &[], &HeaderMap::new()),
                Err(MapError::Unsupported(_))
            ));
        }
    }

    /// Every listed operation is mapped, to actions the Service Authorization
    /// Reference lists (README's table is checked by `op_table`).
    #[test]
    fn mapped_actions_are_in_the_reference() {
        let h = hm(&[("x-amz-copy-source", "/src/k"), ("x-amz-acl", "private")]);
        for op in OPERATIONS {
            let cs = match plan(op, &S3Path::object("b", "k"), &[], &h) {
                Ok(Plan::Checks(cs)) => cs,
                Ok(Plan::InHandler) => continue,
                Err(e) => panic!("{op} is not mapped: {e}"),
            };
            for c in cs {
                assert!(
                    iamd_policy::sar_resource_types(c.action).is_some(),
                    "{op}: {} is not in the reference",
                    c.action
                );
            }
        }
    }

    #[test]
    fn signature_keys_by_auth_type() {
        let now = parse_amz_date("20250101T000010Z").unwrap();
        let k = signature_keys(
            &HeaderMap::new(),
            &parse_query("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20250101T000000Z"),
            now,
        );
        assert!(k.contains(&("s3:authType", "REST-QUERY-STRING".into())));
        assert!(k.contains(&("s3:signatureversion", "AWS4-HMAC-SHA256".into())));
        assert!(k.contains(&("s3:signatureAge", "10000".into())));
        let k = signature_keys(
            &hm(&[
                ("authorization", "AWS4-HMAC-SHA256 Credential=x"),
                ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ]),
            &[],
            now,
        );
        assert!(k.contains(&("s3:authType", "REST-HEADER".into())));
        assert!(k.contains(&("s3:x-amz-content-sha256", "UNSIGNED-PAYLOAD".into())));
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20240229T120000Z"), Some(1_709_208_000));
        assert_eq!(parse_amz_date("garbage"), None);
    }
}
