//! The S3 operations (s3s `S3` trait). Every operation here runs only after
//! `access.rs` had the engine allow it (see the crate docs).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iamd_policy::{CompiledPolicy, PolicyType};
use iamd_store::{
    BucketRecord, DeleteBucket, ObjectMeta, ObjectRecord, PartRecord, Precondition, Put,
    StoreError, UploadRecord, Version, Versioning, NULL_VERSION,
};
use md5::{Digest, Md5};
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};

use crate::access::{internal, Authn};
use crate::authz;
use crate::blobs::{hex, BlobError, Written};
use crate::integrity::{self, Algorithm, BodyCheck, ChecksumKind, Keep, ObjectChecksum};
use crate::settings::{
    self, CORS, LIFECYCLE, NO_CORS, NO_LIFECYCLE, NO_PUBLIC_ACCESS_BLOCK, NO_TAGGING,
    PUBLIC_ACCESS_BLOCK, TAGGING,
};
use crate::Core;

/// Largest single PutObject / UploadPart body (S3: 5 GiB).
const MAX_PUT: u64 = 5 * 1024 * 1024 * 1024;
/// Smallest part but the last (S3: 5 MiB).
const MIN_PART: i64 = 5 * 1024 * 1024;
const MAX_TAGS: usize = 10;
/// Largest bucket policy (S3: 20 KB), counted by [`policy_size`].
const MAX_POLICY: usize = 20 * 1024;
const INVALID_PRINCIPAL: &str = "Invalid principal in policy";

pub struct Service(pub Arc<Core>);

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn ts(ms: i64) -> Timestamp {
    Timestamp::from(UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

fn ts_ms(t: &Timestamp) -> i64 {
    let t: time::OffsetDateTime = t.clone().into();
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn etag(s: &str) -> ETag {
    ETag::Strong(s.trim_matches('"').to_string())
}

/// The Content-Type an object answers with: the one it was stored with, else S3's
/// default for an upload that named none (AWS: "binary/octet-stream").
pub(crate) fn object_type(stored: Option<String>) -> Option<String> {
    Some(stored.unwrap_or_else(|| "binary/octet-stream".to_owned()))
}

fn store_err(e: StoreError) -> S3Error {
    crate::access::store_error(e)
}

fn blob_err(e: BlobError) -> S3Error {
    match e {
        BlobError::TooLarge(_) => s3_error!(
            EntityTooLarge,
            "Your proposed upload exceeds the maximum allowed object size."
        ),
        BlobError::Body(m) => body_error(m),
        BlobError::Refused(e) => e,
        BlobError::Io(e) => internal(e),
    }
}

/// An error the request body stream yielded (its text).
pub(crate) fn body_error(m: String) -> S3Error {
    match m {
        // s3s reports chunk-signature and payload-hash failures through the body
        // stream; its error type is private, so they are told apart by their text.
        m if m.contains("SignatureMismatch") => S3Error::with_message(
            S3ErrorCode::SignatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        ),
        m if m.contains("Sha256Mismatch") => {
            let mut e = S3Error::with_message(
                S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            );
            e.set_status_code(http::StatusCode::BAD_REQUEST);
            e
        }
        m => S3Error::with_message(S3ErrorCode::IncompleteBody, format!("Request body: {m}")),
    }
}

pub(crate) fn no_such_bucket() -> S3Error {
    s3_error!(NoSuchBucket, "The specified bucket does not exist")
}

fn no_such_key() -> S3Error {
    s3_error!(NoSuchKey, "The specified key does not exist.")
}

fn no_such_version() -> S3Error {
    s3_error!(NoSuchVersion, "The specified version does not exist.")
}

/// An error with S3's delete-marker headers (`x-amz-delete-marker: true` and the
/// marker's version id).
fn with_marker_headers(mut e: S3Error, version_id: &str) -> S3Error {
    let mut h = http::HeaderMap::new();
    h.insert(
        "x-amz-delete-marker",
        http::HeaderValue::from_static("true"),
    );
    if let Ok(v) = http::HeaderValue::from_str(version_id) {
        h.insert("x-amz-version-id", v);
    }
    e.set_headers(h);
    e
}

/// A request naming a delete marker by version id where only objects are (GET,
/// HEAD, tagging): 405, as S3 answers.
fn method_not_allowed(version_id: &str) -> S3Error {
    let mut e = s3_error!(
        MethodNotAllowed,
        "The specified method is not allowed against this resource."
    );
    e.set_status_code(http::StatusCode::METHOD_NOT_ALLOWED);
    with_marker_headers(e, version_id)
}

/// A version id as a request names it: `null`, or shaped like S3's (ours are 32 hex
/// digits; AWS's 32 or more URL-safe base64 characters); S3 refuses any other with
/// `InvalidArgument`, and a well-formed unknown one is `NoSuchVersion`.
fn check_version_id(v: &str) -> S3Result<()> {
    let shaped = (32..=1024).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+/=".contains(&b));
    if v == NULL_VERSION || shaped {
        Ok(())
    } else {
        Err(s3_error!(InvalidArgument, "Invalid version id specified"))
    }
}

/// A new version id (used only if the bucket's versioning is enabled).
fn new_version_id() -> S3Result<String> {
    crate::blobs::new_id().map_err(internal)
}

/// The version id S3 names in an answer: a versioned bucket's versions (the null
/// one included); none for an unversioned bucket's objects.
fn shown_version(versioned: bool, version_id: &str) -> Option<String> {
    (versioned || version_id != NULL_VERSION).then(|| version_id.to_string())
}

/// `If-None-Match: *` / `If-Match: <etag>` of a PutObject or CompleteMultipartUpload.
fn write_precondition<'a>(
    if_match: &'a Option<ETagCondition>,
    if_none_match: &'a Option<ETagCondition>,
) -> S3Result<Precondition<'a>> {
    match (if_match, if_none_match) {
        (None, None) => Ok(Precondition::Always),
        (None, Some(ETagCondition::Any)) => Ok(Precondition::IfAbsent),
        (Some(ETagCondition::ETag(e)), None) => Ok(Precondition::IfMatch(e.value())),
        // If-None-Match with an ETag, If-Match: *, both: S3 does not implement them.
        _ => Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            "A header you provided implies functionality that is not implemented",
        )),
    }
}

fn no_such_upload() -> S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

/// Stored object attributes beside the content type (opaque to the store).
fn encode_meta(meta: &Option<Metadata>, extra: &[(&str, &Option<String>)]) -> String {
    let mut m = serde_json::Map::new();
    let mut user = serde_json::Map::new();
    if let Some(meta) = meta {
        for (k, v) in meta {
            user.insert(k.to_ascii_lowercase(), serde_json::Value::String(v.clone()));
        }
    }
    m.insert("meta".into(), serde_json::Value::Object(user));
    for (k, v) in extra {
        if let Some(v) = v {
            m.insert((*k).into(), serde_json::Value::String(v.clone()));
        }
    }
    serde_json::Value::Object(m).to_string()
}

/// [`encode_meta`] of the attributes a request sets (PutObject, CopyObject with
/// REPLACE, CreateMultipartUpload: their inputs name the fields alike).
macro_rules! request_meta {
    ($i:expr) => {
        encode_meta(
            &$i.metadata,
            &[
                ("cc", &$i.cache_control),
                ("cd", &$i.content_disposition),
                ("ce", &$i.content_encoding),
                ("cl", &$i.content_language),
            ],
        )
    };
}

pub(crate) struct Meta {
    pub user: Metadata,
    /// The object's checksum (none for objects stored before checksums were kept).
    pub(crate) checksum: Option<ObjectChecksum>,
    /// A multipart object's parts: (number, size, checksum in the object's algorithm).
    parts: Vec<(i32, i64, Option<String>)>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
}

pub(crate) fn decode_meta(s: &str) -> Meta {
    let v: serde_json::Value = serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
    let get = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let mut user = Metadata::new();
    if let Some(obj) = v.get("meta").and_then(|m| m.as_object()) {
        for (k, val) in obj {
            if let Some(val) = val.as_str() {
                user.insert(k.clone(), val.to_string());
            }
        }
    }
    let checksum = v.get("ck").and_then(|c| {
        Some(ObjectChecksum {
            algorithm: Algorithm::by_name(c.get("a")?.as_str()?)?,
            kind: ChecksumKind::by_name(c.get("t")?.as_str()?)?,
            value: c.get("v")?.as_str()?.to_string(),
            parts: usize::try_from(c.get("n")?.as_u64()?).ok()?,
        })
    });
    let parts = v
        .get("parts")
        .and_then(|p| p.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    Some((
                        i32::try_from(p.get(0)?.as_i64()?).ok()?,
                        p.get(1)?.as_i64()?,
                        p.get(2).and_then(|c| c.as_str()).map(str::to_string),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Meta {
        user,
        checksum,
        parts,
        cache_control: get("cc"),
        content_disposition: get("cd"),
        content_encoding: get("ce"),
        content_language: get("cl"),
    }
}

/// `metadata` (an [`encode_meta`] text) with the object's checksum and, for a
/// multipart object, its parts (number, size, checksum) set; a copy passes none.
fn with_checksum(
    metadata: &str,
    checksum: Option<&ObjectChecksum>,
    parts: &[(i32, i64, Option<String>)],
) -> String {
    let mut v: serde_json::Value = serde_json::from_str(metadata).unwrap_or_default();
    let Some(m) = v.as_object_mut() else {
        return metadata.to_string();
    };
    m.remove("ck");
    m.remove("parts");
    if let Some(c) = checksum {
        m.insert(
            "ck".into(),
            serde_json::json!({
                "a": c.algorithm.name(),
                "t": c.kind.name(),
                "v": c.value,
                "n": c.parts,
            }),
        );
    }
    if !parts.is_empty() {
        m.insert("parts".into(), serde_json::json!(parts));
    }
    v.to_string()
}

/// Sets an output's `checksum_<algorithm>` field to `$value` (a checksum's [`wire`]
/// form or its value) for the checksum's algorithm.
///
/// [`wire`]: ObjectChecksum::wire
macro_rules! set_checksum_value {
    ($out:expr, $algorithm:expr, $value:expr) => {{
        let v = Some($value);
        match $algorithm {
            Algorithm::Crc32 => $out.checksum_crc32 = v,
            Algorithm::Crc32c => $out.checksum_crc32c = v,
            Algorithm::Crc64Nvme => $out.checksum_crc64nvme = v,
            Algorithm::Sha1 => $out.checksum_sha1 = v,
            Algorithm::Sha256 => $out.checksum_sha256 = v,
        }
    }};
}

/// Sets an output's checksum field and `checksum_type` from a stored checksum.
macro_rules! set_checksum {
    ($out:expr, $checksum:expr) => {{
        if let Some(c) = $checksum {
            set_checksum_value!($out, c.algorithm, c.wire());
            $out.checksum_type = Some(ChecksumType::from(c.kind.name().to_string()));
        }
    }};
}

/// The checksum a request's `x-amz-checksum-mode: ENABLED` asks to be returned.
fn checksum_mode(mode: &Option<ChecksumMode>) -> bool {
    mode.as_ref()
        .is_some_and(|m| m.as_str().eq_ignore_ascii_case(ChecksumMode::ENABLED))
}

/// The account of the request's caller (the server's first account for an anonymous
/// caller, whom a bucket policy let through).
fn caller_account<T>(core: &Core, req: &S3Request<T>) -> S3Result<String> {
    Ok(match &authn(req)?.principal {
        Some(p) => p.account().to_string(),
        None => core.iam.first_account_id().to_string(),
    })
}

fn authn<T>(req: &S3Request<T>) -> S3Result<&Authn> {
    // Fail closed: without the access seam's stash nothing is decided here.
    req.extensions
        .get::<Authn>()
        .ok_or_else(|| s3_error!(AccessDenied, "Access Denied"))
}

fn parse_tags(header: &Option<String>) -> S3Result<Vec<(String, String)>> {
    let tags = header
        .as_deref()
        .map(authz::parse_tagging_header)
        .unwrap_or_default();
    check_tags(&tags)?;
    Ok(tags)
}

fn check_tags(tags: &[(String, String)]) -> S3Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(s3_error!(
            InvalidTag,
            "Object tags cannot be greater than 10"
        ));
    }
    for (i, (k, v)) in tags.iter().enumerate() {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(s3_error!(
                InvalidTag,
                "The TagKey you have provided is invalid"
            ));
        }
        if tags[..i].iter().any(|(k2, _)| k2 == k) {
            return Err(s3_error!(
                InvalidTag,
                "Cannot provide multiple Tags with the same key"
            ));
        }
    }
    Ok(())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// S3 `encoding-type=url`: everything but unreserved characters and `/`.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a listing resumes after `marker`, the last entry of the previous page: past
/// every key under it when it was a common prefix.
fn past_common_prefix(marker: String, prefix: &str, delimiter: Option<&str>) -> String {
    match delimiter {
        Some(d)
            if !d.is_empty()
                && marker.ends_with(d)
                && marker
                    .get(prefix.len()..)
                    .is_some_and(|rest| rest.contains(d)) =>
        {
            format!("{marker}{}", char::MAX)
        }
        _ => marker,
    }
}

/// The page size a listing request asks for: 1000 unless given, at most 1000.
fn page_size(requested: Option<i32>) -> i32 {
    requested.unwrap_or(1000).clamp(0, 1000)
}

/// A key or common prefix as a listing returns it: URL-encoded when the request asked
/// for `encoding-type=url`.
fn list_key(url: bool, s: String) -> String {
    if url {
        url_encode(&s)
    } else {
        s
    }
}

/// One page of ListObjects or ListObjectsV2 as [`Core::list`] returns it: keys and
/// common prefixes in key order, encoded as the request asked.
struct Listing {
    url: bool,
    contents: Vec<Object>,
    common_prefixes: Vec<CommonPrefix>,
    key_count: i32,
    truncated: bool,
    /// The last key or common prefix returned, not encoded.
    last: Option<String>,
}

/// [`Core::list`]'s page as it fills: objects and common prefixes in key order.
struct Page {
    objects: Vec<ObjectRecord>,
    prefixes: Vec<String>,
    truncated: bool,
    /// The last key or common prefix returned.
    last: Option<String>,
}

/// [`Core::list_versions`]' page.
struct VersionPage {
    entries: Vec<Version>,
    prefixes: Vec<String>,
    truncated: bool,
    /// The last key (with its version id) or common prefix returned.
    last: Option<(String, Option<String>)>,
}

impl Core {
    pub(crate) async fn require_bucket(&self, bucket: &str) -> S3Result<()> {
        match self.bucket(bucket).await? {
            Some(_) => Ok(()),
            None => Err(no_such_bucket()),
        }
    }

    /// The object's current version (`version: None`) or the version named: S3's
    /// errors for a missing key or version, and for a delete marker (`NoSuchKey` with
    /// the marker's headers when current, `MethodNotAllowed` when named).
    async fn object(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> S3Result<ObjectRecord> {
        if let Some(v) = version {
            check_version_id(v)?;
        }
        match self
            .store
            .get_object(bucket, key, version)
            .await
            .map_err(store_err)?
        {
            Some(Version::Object(o)) => Ok(o),
            Some(Version::DeleteMarker(m)) => Err(match version {
                None => with_marker_headers(no_such_key(), &m.version_id),
                Some(_) => method_not_allowed(&m.version_id),
            }),
            None => {
                self.require_bucket(bucket).await?;
                Err(match version {
                    None => no_such_key(),
                    Some(_) => no_such_version(),
                })
            }
        }
    }

    /// Whether the bucket is versioned (Enabled or Suspended).
    async fn versioned(&self, bucket: &str) -> S3Result<bool> {
        match self.bucket(bucket).await? {
            Some(b) => Ok(b.versioning != Versioning::Unversioned),
            None => Err(no_such_bucket()),
        }
    }

    /// The bucket's owner account; `NoSuchBucket` if it is missing.
    async fn bucket_owner(&self, bucket: &str) -> S3Result<String> {
        match self.bucket(bucket).await? {
            Some(b) => Ok(b.owner.clone()),
            None => Err(no_such_bucket()),
        }
    }

    /// [`Core::object`] for the reads of an object (GetObject, HeadObject,
    /// GetObjectAcl, GetObjectAttributes, the source of CopyObject and UploadPartCopy):
    /// a missing key is `NoSuchKey` (404) only to a caller allowed `s3:ListBucket` on
    /// the bucket, else `AccessDenied` (403), as S3 answers (one more decision, only
    /// on a miss).
    async fn object_for_read(
        &self,
        extensions: &http::Extensions,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> S3Result<ObjectRecord> {
        match self.object(bucket, key, version).await {
            Err(e)
                if matches!(
                    e.code(),
                    S3ErrorCode::NoSuchKey | S3ErrorCode::NoSuchVersion
                ) =>
            {
                let authn = extensions
                    .get::<Authn>()
                    .ok_or_else(|| s3_error!(AccessDenied, "Access Denied"))?;
                self.authorize(authn, &[authz::on_bucket("s3:ListBucket", bucket)])
                    .await?;
                Err(e)
            }
            r => r,
        }
    }

    /// Replaces the tags of an object version (`None`: the current one); the version
    /// tagged. S3's errors when it is missing or a delete marker.
    async fn set_object_tags(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        tags: &[(String, String)],
    ) -> S3Result<String> {
        let o = self.object(bucket, key, version).await?;
        match self
            .store
            .set_object_tags(bucket, key, Some(&o.version_id), tags)
            .await
            .map_err(store_err)?
        {
            Some(v) => Ok(v),
            // Removed meanwhile.
            None => Err(if version.is_some() {
                no_such_version()
            } else {
                no_such_key()
            }),
        }
    }

    /// [`Core::list`] after ListObjects' `Marker`; a marker naming a common prefix
    /// skips the whole prefix ([`past_common_prefix`], as ListObjectVersions'
    /// `KeyMarker` does in [`Core::list_versions`]).
    async fn list_past_marker(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        marker: Option<String>,
        max_keys: i32,
        encoding_type: &Option<EncodingType>,
    ) -> S3Result<Listing> {
        let start = past_common_prefix(marker.unwrap_or_default(), prefix, delimiter);
        self.list(bucket, prefix, delimiter, &start, max_keys, encoding_type)
            .await
    }

    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        start_after: &str,
        max_keys: i32,
        encoding_type: &Option<EncodingType>,
    ) -> S3Result<Listing> {
        let max_keys = usize::try_from(max_keys).unwrap_or(1000);
        let delimiter = delimiter.filter(|d| !d.is_empty());
        let mut page = Page {
            objects: Vec::new(),
            prefixes: Vec::new(),
            truncated: false,
            last: None,
        };
        let mut after = start_after.to_string();
        let batch = u32::try_from(max_keys.clamp(100, 1000) + 1).unwrap_or(1001);
        'outer: loop {
            let rows = self
                .store
                .list_objects(bucket, prefix, &after, batch)
                .await
                .map_err(store_err)?;
            if rows.is_empty() {
                break;
            }
            let full = rows.len() as u32 == batch;
            for o in rows {
                let count = page.objects.len() + page.prefixes.len();
                if count >= max_keys {
                    page.truncated = true;
                    break 'outer;
                }
                let rest = o.key.get(prefix.len()..).unwrap_or("");
                if let Some(pos) = delimiter.and_then(|d| rest.find(d).map(|p| p + d.len())) {
                    let cp = o.key[..prefix.len() + pos].to_string();
                    after = format!("{cp}{}", char::MAX);
                    page.last = Some(cp.clone());
                    page.prefixes.push(cp);
                    continue 'outer;
                }
                after.clone_from(&o.key);
                page.last = Some(o.key.clone());
                page.objects.push(o);
            }
            if !full {
                break;
            }
        }
        let url = encoding_type
            .as_ref()
            .is_some_and(|e| e.as_str() == EncodingType::URL);
        Ok(Listing {
            url,
            key_count: (page.objects.len() + page.prefixes.len()) as i32,
            truncated: page.truncated,
            last: page.last,
            contents: page
                .objects
                .into_iter()
                .map(|o| object_dto(o, url))
                .collect(),
            common_prefixes: page
                .prefixes
                .into_iter()
                .map(|p| CommonPrefix {
                    prefix: Some(list_key(url, p)),
                })
                .collect(),
        })
    }

    /// One page of ListObjectVersions: versions and delete markers by key then newest
    /// first, after (`key_marker`, `version_marker`), keys under a delimiter rolled
    /// into common prefixes (each counts once against `max`).
    async fn list_versions(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        key_marker: String,
        version_marker: Option<String>,
        max: i32,
    ) -> S3Result<VersionPage> {
        let max = usize::try_from(max).unwrap_or(1000);
        let delimiter = delimiter.filter(|d| !d.is_empty());
        let mut page = VersionPage {
            entries: Vec::new(),
            prefixes: Vec::new(),
            truncated: false,
            last: None,
        };
        // A key marker without a version id resumes after the key (or after the
        // common prefix it names).
        let (mut after_key, mut after_version) = match version_marker {
            Some(v) => (key_marker, Some(v)),
            None => (past_common_prefix(key_marker, prefix, delimiter), None),
        };
        let batch = u32::try_from(max.clamp(100, 1000) + 1).unwrap_or(1001);
        'outer: loop {
            let rows = self
                .store
                .list_versions(bucket, prefix, &after_key, after_version.as_deref(), batch)
                .await
                .map_err(store_err)?;
            let full = rows.len() as u32 == batch;
            for v in rows {
                if page.entries.len() + page.prefixes.len() >= max {
                    page.truncated = true;
                    break 'outer;
                }
                let key = v.key();
                let rest = key.get(prefix.len()..).unwrap_or("");
                if let Some(pos) = delimiter.and_then(|d| rest.find(d).map(|p| p + d.len())) {
                    let cp = key[..prefix.len() + pos].to_string();
                    after_key = format!("{cp}{}", char::MAX);
                    after_version = None;
                    page.last = Some((cp.clone(), None));
                    page.prefixes.push(cp);
                    continue 'outer;
                }
                after_key = key.to_string();
                after_version = Some(v.version_id().to_string());
                page.last = Some((after_key.clone(), after_version.clone()));
                page.entries.push(v);
            }
            if !full {
                break;
            }
        }
        Ok(page)
    }

    /// Writes a PutObject / UploadPart body, checked against what the request
    /// declared (`expect`: digests, aws-chunked decoded length) before it is sealed.
    async fn put_bytes(
        &self,
        body: Option<StreamingBlob>,
        mut check: BodyCheck,
        limit: u64,
    ) -> S3Result<(Written, Option<ObjectChecksum>)> {
        let w = match body {
            Some(b) => self.blobs.write(b, limit, &mut check).await,
            None => {
                self.blobs
                    .write(
                        futures_util::stream::empty::<Result<bytes::Bytes, std::io::Error>>(),
                        limit,
                        &mut check,
                    )
                    .await
            }
        }
        .map_err(blob_err)?;
        Ok((w, check.kept()))
    }

    /// Copies `len` bytes of a stored blob from `start` to a new blob, computing the
    /// copy's checksum in `a`.
    async fn copy_bytes(
        &self,
        blob: &str,
        start: u64,
        len: u64,
        a: Algorithm,
    ) -> S3Result<(Written, Option<ObjectChecksum>)> {
        let stream = self.blobs.read(blob, start, len).await.map_err(internal)?;
        let mut check = integrity::compute(a);
        let w = self
            .blobs
            .write(stream, MAX_PUT, &mut check)
            .await
            .map_err(blob_err)?;
        Ok((w, check.kept()))
    }

    /// Commits an object whose blob is written (a new version, or the null version
    /// replaced, as the bucket's versioning says) if `when` holds; deletes the blobs
    /// no longer referenced after, or the new blob if nothing was written.
    async fn commit_object(
        &self,
        o: &ObjectRecord,
        tags: &[(String, String)],
        when: Precondition<'_>,
    ) -> S3Result<iamd_store::Written> {
        let r = self.store.put_object(o, tags, when).await;
        self.committed(&o.blob_id, r.map(Some)).await
    }

    /// What a put or a completion's outcome means for the caller: the blobs the
    /// store let go of deleted (or `blob`, the new one, if nothing was written), and
    /// S3's error for a refusal.
    async fn committed(
        &self,
        blob: &str,
        r: Result<Option<Put>, StoreError>,
    ) -> S3Result<iamd_store::Written> {
        let refused = match r {
            Ok(Some(Put::Written(w))) => {
                self.blobs.remove(&w.unused).await;
                return Ok(w);
            }
            Ok(Some(Put::PreconditionFailed)) => precondition_failed(),
            Ok(Some(Put::NoSuchKey)) => no_such_key(),
            Ok(None) => no_such_upload(),
            Err(StoreError::Reference(_)) => no_such_bucket(),
            Err(e) => store_err(e),
        };
        self.blobs.remove(&[blob.to_string()]).await;
        Err(refused)
    }

    /// A DELETE of the key (`version: None`) or of one version; the blob the store
    /// let go of is deleted after.
    async fn delete_object(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> S3Result<iamd_store::Deleted> {
        if let Some(v) = version {
            check_version_id(v)?;
        }
        let d = self
            .store
            .delete_object(bucket, key, version, &new_version_id()?)
            .await
            .map_err(|e| match e {
                StoreError::Reference(_) => no_such_bucket(),
                e => store_err(e),
            })?;
        if let Some(b) = &d.unused {
            self.blobs.remove(std::slice::from_ref(b)).await;
        }
        Ok(d)
    }

    /// The source of a CopyObject or UploadPartCopy (`x-amz-copy-source`, with its
    /// `?versionId=`): S3 refuses a delete marker named by version id.
    async fn copy_source(
        &self,
        req_headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> S3Result<(ObjectRecord, Option<String>)> {
        let (sb, sk) = authz::copy_source(req_headers)
            .map_err(|e| S3Error::with_message(S3ErrorCode::InvalidArgument, e.to_string()))?;
        let version = authz::copy_source_version(req_headers);
        let src = self
            .object_for_read(extensions, &sb, &sk, version.as_deref())
            .await
            .map_err(|e| {
                if *e.code() == S3ErrorCode::MethodNotAllowed {
                    s3_error!(
                        InvalidRequest,
                        "The source of a copy request may not specifically refer to a delete marker by version id."
                    )
                } else {
                    e
                }
            })?;
        let shown = shown_version(self.versioned(&sb).await?, &src.version_id);
        Ok((src, shown))
    }

    async fn upload(&self, bucket: &str, key: &str, id: &str) -> S3Result<UploadRecord> {
        match self.store.get_upload(id).await.map_err(store_err)? {
            Some(u) if u.bucket == bucket && u.key == key => Ok(u),
            _ => {
                self.require_bucket(bucket).await?;
                Err(no_such_upload())
            }
        }
    }

    async fn commit_part(
        &self,
        upload_id: &str,
        number: i32,
        w: Written,
        checksum: Option<&ObjectChecksum>,
    ) -> S3Result<String> {
        let tag = format!("\"{}\"", hex(&w.md5));
        let p = PartRecord {
            upload_id: upload_id.to_string(),
            part_number: i64::from(number),
            blob_id: w.id.clone(),
            size: w.size as i64,
            etag: tag.clone(),
            last_modified: now_ms(),
            checksum: checksum.map(|c| c.value.clone()),
        };
        match self.store.put_part(&p).await {
            Ok(old) => {
                if let Some(old) = old {
                    self.blobs.remove(&[old]).await;
                }
                Ok(tag)
            }
            Err(e) => {
                self.blobs.remove(&[w.id]).await;
                match e {
                    StoreError::Reference(_) => Err(no_such_upload()),
                    e => Err(store_err(e)),
                }
            }
        }
    }
}

/// GetObjectAttributes' ObjectParts of a multipart object (`None` for one stored by a
/// single PUT or copy): the parts count, and for a composite checksum the parts with
/// theirs, paged by part number like ListParts (S3 lists no parts otherwise).
fn object_parts(
    o: &ObjectRecord,
    meta: &Meta,
    marker: Option<i32>,
    max: Option<i32>,
) -> Option<GetObjectAttributesParts> {
    // Objects completed before parts were recorded: the count from the ETag's `-N`.
    let count = match meta.parts.len() {
        0 => o
            .etag
            .trim_matches('"')
            .rsplit_once('-')
            .and_then(|(_, n)| n.parse().ok())?,
        n => i32::try_from(n).ok()?,
    };
    let mut out = GetObjectAttributesParts {
        total_parts_count: Some(count),
        ..Default::default()
    };
    let Some(c) = meta
        .checksum
        .as_ref()
        .filter(|c| c.kind == ChecksumKind::Composite)
    else {
        return Some(out);
    };
    let max = page_size(max);
    let marker = marker.unwrap_or(0);
    let after: Vec<_> = meta.parts.iter().filter(|p| p.0 > marker).collect();
    let page = &after[..after.len().min(max as usize)];
    let truncated = after.len() > page.len();
    out.part_number_marker = Some(marker);
    out.max_parts = Some(max);
    out.is_truncated = Some(truncated);
    out.next_part_number_marker = page.last().map(|p| p.0).filter(|_| truncated);
    out.parts = Some(
        page.iter()
            .map(|(n, size, sum)| {
                let mut part = ObjectPart {
                    part_number: Some(*n),
                    size: Some(*size),
                    ..Default::default()
                };
                if let Some(v) = sum {
                    set_checksum_value!(part, c.algorithm, v.clone());
                }
                part
            })
            .collect(),
    );
    Some(out)
}

/// One part of an object, as GET/HEAD `?partNumber=N` read it.
#[derive(Debug)]
struct PartSlice {
    start: u64,
    len: u64,
    /// A multipart object's number of parts (`x-amz-mp-parts-count`).
    count: Option<i32>,
    /// The checksum returned for the part with `x-amz-checksum-mode: ENABLED`: a
    /// composite object's part checksum, or the whole object's when the part is the
    /// object (S3 returns none for a part of a full-object multipart checksum).
    checksum: Option<(Algorithm, String, ChecksumKind)>,
}

fn invalid_part_number() -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("InvalidPartNumber".into()),
        "The requested partnumber is not satisfiable",
    );
    e.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
    e
}

/// Part `n` of `o`: a multipart object's part by its number; an object stored whole
/// is its own part 1 (S3 serves it for `partNumber=1`, refuses any other).
fn part_slice(o: &ObjectRecord, meta: &Meta, n: i32) -> S3Result<PartSlice> {
    check_part_number(n)?;
    if meta.parts.is_empty() {
        if o.etag.contains('-') {
            // Completed before part sizes were recorded: its parts cannot be located.
            return Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                "partNumber is not supported for this object",
            ));
        }
        if n != 1 {
            return Err(invalid_part_number());
        }
        return Ok(PartSlice {
            start: 0,
            len: o.size as u64,
            count: None,
            checksum: meta
                .checksum
                .as_ref()
                .map(|c| (c.algorithm, c.value.clone(), c.kind)),
        });
    }
    let mut start = 0u64;
    for (number, size, sum) in &meta.parts {
        let len = u64::try_from(*size).unwrap_or(0);
        if *number == n {
            let composite = meta
                .checksum
                .as_ref()
                .filter(|c| c.kind == ChecksumKind::Composite);
            return Ok(PartSlice {
                start,
                len,
                count: i32::try_from(meta.parts.len()).ok(),
                checksum: composite
                    .zip(sum.as_ref())
                    .map(|(c, v)| (c.algorithm, v.clone(), c.kind)),
            });
        }
        start += len;
    }
    Err(invalid_part_number())
}

/// Sets a GET/HEAD output's checksum for a part read with `?partNumber=`.
macro_rules! set_part_checksum {
    ($out:expr, $part:expr) => {{
        if let Some((a, v, kind)) = $part.checksum.clone() {
            set_checksum_value!($out, a, v);
            $out.checksum_type = Some(ChecksumType::from(kind.name().to_string()));
        }
    }};
}

/// S3's default checksum for what a client sends without one.
const DEFAULT_CHECKSUM: Algorithm = Algorithm::Crc64Nvme;

/// An upload's checksum algorithm and type, and whether the client chose them: else
/// S3's default, a CRC64NVME of each part combined into a full-object checksum.
fn upload_checksum(u: &UploadRecord) -> (Algorithm, ChecksumKind, bool) {
    let chosen = u
        .checksum_algorithm
        .as_deref()
        .and_then(Algorithm::by_name)
        .zip(u.checksum_type.as_deref().and_then(ChecksumKind::by_name));
    match chosen {
        Some((a, k)) => (a, k, true),
        None => (DEFAULT_CHECKSUM, ChecksumKind::FullObject, false),
    }
}

/// The checksum a CompleteMultipartUpload request lists for a part, in `a`.
fn part_checksum(p: &CompletedPart, a: Algorithm) -> Option<&str> {
    match a {
        Algorithm::Crc32 => p.checksum_crc32.as_deref(),
        Algorithm::Crc32c => p.checksum_crc32c.as_deref(),
        Algorithm::Crc64Nvme => p.checksum_crc64nvme.as_deref(),
        Algorithm::Sha1 => p.checksum_sha1.as_deref(),
        Algorithm::Sha256 => p.checksum_sha256.as_deref(),
    }
}

fn check_part_number(n: i32) -> S3Result<()> {
    if !(1..=10_000).contains(&n) {
        return Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ));
    }
    Ok(())
}

/// GET/HEAD preconditions (RFC 9110 order, as S3).
fn preconditions(
    o: &ObjectRecord,
    if_match: &Option<ETagCondition>,
    if_none_match: &Option<ETagCondition>,
    if_modified_since: &Option<Timestamp>,
    if_unmodified_since: &Option<Timestamp>,
) -> S3Result<()> {
    let current = o.etag.trim_matches('"');
    let matches = |c: &ETagCondition| match c {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == current,
    };
    let modified_s = o.last_modified / 1000;
    if let Some(c) = if_match {
        if !matches(c) {
            return Err(precondition_failed());
        }
    } else if let Some(t) = if_unmodified_since {
        if modified_s > ts_ms(t) / 1000 {
            return Err(precondition_failed());
        }
    }
    if let Some(c) = if_none_match {
        if matches(c) {
            return Err(not_modified());
        }
    } else if let Some(t) = if_modified_since {
        if modified_s <= ts_ms(t) / 1000 {
            return Err(not_modified());
        }
    }
    Ok(())
}

fn precondition_failed() -> S3Error {
    s3_error!(
        PreconditionFailed,
        "At least one of the pre-conditions you specified did not hold"
    )
}

fn not_modified() -> S3Error {
    let mut e = s3_error!(NotModified);
    e.set_status_code(http::StatusCode::NOT_MODIFIED);
    e
}

#[async_trait::async_trait]
impl s3s::S3 for Service {
    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let core = &self.0;
        let page = crate::bucket_list::ListBucketsPage::of(&req.input)?;
        let buckets = core.store.list_buckets().await.map_err(store_err)?;
        // The caller's account's buckets (S3 lists the buckets the caller owns).
        let account = caller_account(core, &req)?;
        let (buckets, continuation_token) = page.select(
            buckets
                .into_iter()
                .filter(|b| b.owner_account == account)
                .map(|b| (b.name, b.created)),
        );
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(
                buckets
                    .into_iter()
                    .map(|(name, created)| Bucket {
                        name: Some(name),
                        creation_date: Some(ts(created)),
                        bucket_region: page
                            .paged
                            .then(|| crate::bucket_list::BUCKET_REGION.to_string()),
                    })
                    .collect(),
            ),
            owner: Some(settings::owner(&account)),
            continuation_token,
            prefix: req.input.prefix.clone(),
        }))
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        integrity::refuse_unchecked(&req.headers)?;
        let core = &self.0;
        let name = req.input.bucket.clone();
        if !crate::bucket_name::is_valid(&name) {
            return Err(s3_error!(
                InvalidBucketName,
                "The specified bucket is not valid."
            ));
        }
        let rec = BucketRecord {
            name: name.clone(),
            owner_account: caller_account(core, &req)?,
            created: now_ms(),
            versioning: Versioning::Unversioned,
        };
        // Object Ownership: BucketOwnerEnforced unless the request says otherwise;
        // the ACL the request sets must suit it.
        let ownership = match &req.input.object_ownership {
            None => None,
            Some(o) => {
                let c = OwnershipControls {
                    rules: vec![OwnershipControlsRule {
                        object_ownership: o.clone(),
                    }],
                };
                settings::check_ownership(&c).map_err(|_| {
                    s3_error!(
                        InvalidArgument,
                        "Invalid x-amz-object-ownership header: {}",
                        o.as_str()
                    )
                })?;
                Some(c)
            }
        };
        let effective = ownership
            .as_ref()
            .and_then(|c| c.rules.first())
            .map_or(ObjectOwnership::BUCKET_OWNER_ENFORCED, |r| {
                r.object_ownership.as_str()
            });
        settings::acl_verdict(Some(effective), &rec.owner_account, &req.headers, None)?;
        let store_ownership = effective != ObjectOwnership::BUCKET_OWNER_ENFORCED;
        match core.store.create_bucket(&rec).await {
            Ok(()) => {
                if let Some(c) = ownership.as_ref().filter(|_| store_ownership) {
                    core.set_setting(&name, settings::OWNERSHIP, Some(c))
                        .await?;
                }
            }
            Err(StoreError::Conflict(_)) => {
                // Bucket names are global: ours, or another account's.
                let owner = core.store.get_bucket(&name).await.map_err(store_err)?;
                if owner.is_some_and(|b| b.owner_account != rec.owner_account) {
                    return Err(s3_error!(
                        BucketAlreadyExists,
                        "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."
                    ));
                }
                // us-east-1's legacy behaviour: creating a bucket you already own there
                // succeeds (and changes nothing); other regions answer 409.
                let region = req
                    .input
                    .create_bucket_configuration
                    .as_ref()
                    .and_then(|c| c.location_constraint.as_ref())
                    .map(|l| l.as_str());
                if matches!(region, None | Some("" | "us-east-1")) {
                    return Ok(S3Response::new(CreateBucketOutput {
                        location: Some(format!("/{name}")),
                    }));
                }
                return Err(s3_error!(
                    BucketAlreadyOwnedByYou,
                    "Your previous request to create the named bucket succeeded and you already own it."
                ));
            }
            Err(e) => return Err(store_err(e)),
        }
        core.forget_bucket(&name);
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{name}")),
        }))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.0.require_bucket(&req.input.bucket).await?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some("us-east-1".into()),
            ..Default::default()
        }))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let core = &self.0;
        let name = &req.input.bucket;
        let r = core.store.delete_bucket(name).await.map_err(store_err)?;
        core.forget_bucket(name);
        match r {
            DeleteBucket::Deleted(part_blobs) => {
                // The aborted uploads' parts, deleted after the store let go of them.
                core.blobs.remove(&part_blobs).await;
                Ok(S3Response::new(DeleteBucketOutput {}))
            }
            DeleteBucket::NoSuchBucket => Err(no_such_bucket()),
            DeleteBucket::NotEmpty => Err(s3_error!(
                BucketNotEmpty,
                "The bucket you tried to delete is not empty"
            )),
        }
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.0.require_bucket(&req.input.bucket).await?;
        Ok(S3Response::new(GetBucketLocationOutput {
            location_constraint: None,
        }))
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let core = &self.0;
        let check = integrity::stream_check(
            &req.headers,
            req.trailing_headers.clone(),
            Keep::DeclaredOr(DEFAULT_CHECKSUM),
        )?;
        let i = req.input;
        if i.content_length.is_some_and(|n| n as u64 > MAX_PUT) {
            return Err(s3_error!(
                EntityTooLarge,
                "Your proposed upload exceeds the maximum allowed object size."
            ));
        }
        let tags = parse_tags(&i.tagging)?;
        let when = write_precondition(&i.if_match, &i.if_none_match)?;
        core.require_bucket(&i.bucket).await?;
        core.check_acl(&i.bucket, &req.headers, None).await?;
        let (w, checksum) = core.put_bytes(i.body, check, MAX_PUT).await?;
        let tag = format!("\"{}\"", hex(&w.md5));
        let o = ObjectRecord {
            bucket: i.bucket.clone(),
            key: i.key.clone(),
            version_id: new_version_id()?,
            latest: true,
            blob_id: w.id,
            size: w.size as i64,
            etag: tag.clone(),
            content_type: i.content_type,
            metadata: with_checksum(&request_meta!(i), checksum.as_ref(), &[]),
            last_modified: now_ms(),
        };
        let written = core.commit_object(&o, &tags, when).await?;
        let mut out = PutObjectOutput {
            e_tag: Some(etag(&tag)),
            version_id: shown_version(written.versioned, &written.version_id),
            ..Default::default()
        };
        set_checksum!(out, checksum);
        Ok(S3Response::new(out))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let core = &self.0;
        let i = req.input;
        let o = core
            .object_for_read(&req.extensions, &i.bucket, &i.key, i.version_id.as_deref())
            .await?;
        preconditions(
            &o,
            &i.if_match,
            &i.if_none_match,
            &i.if_modified_since,
            &i.if_unmodified_since,
        )?;
        let version_id = shown_version(core.versioned(&i.bucket).await?, &o.version_id);
        let size = o.size as u64;
        let meta = decode_meta(&o.metadata);
        let part = match (i.part_number, &i.range) {
            (Some(_), Some(_)) => {
                return Err(s3_error!(
                    InvalidRequest,
                    "Cannot specify both Range header and partNumber query parameter."
                ))
            }
            (Some(n), None) => Some(part_slice(&o, &meta, n)?),
            (None, _) => None,
        };
        let (start, len, content_range) = match (&part, &i.range) {
            (Some(p), _) => (
                p.start,
                p.len,
                Some(format!(
                    "bytes {}-{}/{size}",
                    p.start,
                    (p.start + p.len).saturating_sub(1)
                )),
            ),
            (None, None) => (0, size, None),
            (None, Some(r)) => {
                let rg = r.check(size).map_err(|_| {
                    s3_error!(InvalidRange, "The requested range is not satisfiable")
                })?;
                (
                    rg.start,
                    rg.end - rg.start,
                    Some(format!(
                        "bytes {}-{}/{size}",
                        rg.start,
                        rg.end.saturating_sub(1)
                    )),
                )
            }
        };
        let stream = core
            .blobs
            .read(&o.blob_id, start, len)
            .await
            .map_err(internal)?;
        let partial = content_range.is_some();
        let mode = checksum_mode(&i.checksum_mode);
        // The checksum covers the whole object: not returned with a range (as S3).
        let checksum = meta.checksum.filter(|_| !partial && mode);
        let mut out = GetObjectOutput {
            body: Some(StreamingBlob::wrap(stream)),
            content_length: Some(len as i64),
            content_range,
            content_type: i.response_content_type.or(object_type(o.content_type)),
            e_tag: Some(etag(&o.etag)),
            last_modified: Some(ts(o.last_modified)),
            metadata: Some(meta.user),
            accept_ranges: Some("bytes".into()),
            cache_control: i.response_cache_control.or(meta.cache_control),
            content_disposition: i.response_content_disposition.or(meta.content_disposition),
            content_encoding: i.response_content_encoding.or(meta.content_encoding),
            content_language: i.response_content_language.or(meta.content_language),
            version_id,
            ..Default::default()
        };
        set_checksum!(out, checksum);
        if let Some(p) = &part {
            out.parts_count = p.count;
            if mode {
                set_part_checksum!(out, p);
            }
        }
        let mut resp = S3Response::new(out);
        if partial {
            resp.status = Some(http::StatusCode::PARTIAL_CONTENT);
        }
        Ok(resp)
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let core = &self.0;
        let i = req.input;
        let o = core
            .object_for_read(&req.extensions, &i.bucket, &i.key, i.version_id.as_deref())
            .await?;
        preconditions(
            &o,
            &i.if_match,
            &i.if_none_match,
            &i.if_modified_since,
            &i.if_unmodified_since,
        )?;
        let version_id = shown_version(core.versioned(&i.bucket).await?, &o.version_id);
        let meta = decode_meta(&o.metadata);
        if i.part_number.is_some() && i.range.is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "Cannot specify both Range header and partNumber query parameter."
            ));
        }
        let part = i
            .part_number
            .map(|n| part_slice(&o, &meta, n))
            .transpose()?;
        let mode = checksum_mode(&i.checksum_mode);
        let checksum = meta
            .checksum
            .clone()
            .filter(|_| mode && part.is_none() && i.range.is_none());
        let mut out = HeadObjectOutput {
            content_length: Some(part.as_ref().map_or(o.size, |p| p.len as i64)),
            content_type: object_type(o.content_type),
            e_tag: Some(etag(&o.etag)),
            last_modified: Some(ts(o.last_modified)),
            metadata: Some(meta.user),
            accept_ranges: Some("bytes".into()),
            cache_control: meta.cache_control,
            content_disposition: meta.content_disposition,
            content_encoding: meta.content_encoding,
            content_language: meta.content_language,
            version_id,
            ..Default::default()
        };
        set_checksum!(out, checksum);
        // A Range: the headers of that range, as a GET of it (206 with Content-Range;
        // the listener sets the status, see below).
        if let Some(r) = &i.range {
            let size = o.size as u64;
            let rg = r
                .check(size)
                .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable"))?;
            out.content_length = Some((rg.end - rg.start) as i64);
            out.content_range = Some(format!(
                "bytes {}-{}/{size}",
                rg.start,
                rg.end.saturating_sub(1)
            ));
        }
        let Some(p) = part else {
            return Ok(S3Response::new(out));
        };
        // A part: its range, as a GET of it (AWS answers 206; s3s 0.14's HeadObject
        // serializer answers 200 whatever the operation returns).
        out.parts_count = p.count;
        out.content_range = Some(format!(
            "bytes {}-{}/{}",
            p.start,
            (p.start + p.len).saturating_sub(1),
            o.size
        ));
        if mode {
            set_part_checksum!(out, p);
        }
        Ok(S3Response::new(out))
    }

    async fn get_object_attributes(
        &self,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        let core = &self.0;
        let i = req.input;
        let o = core
            .object_for_read(&req.extensions, &i.bucket, &i.key, i.version_id.as_deref())
            .await?;
        // One header, comma-separated (s3s hands it over as one element).
        let want = |a: &str| {
            i.object_attributes
                .iter()
                .flat_map(|x| x.as_str().split(','))
                .any(|x| x.trim() == a)
        };
        let meta = decode_meta(&o.metadata);
        let mut out = GetObjectAttributesOutput {
            last_modified: Some(ts(o.last_modified)),
            version_id: shown_version(core.versioned(&i.bucket).await?, &o.version_id),
            ..Default::default()
        };
        if want(ObjectAttributes::ETAG) {
            out.e_tag = Some(etag(&o.etag));
        }
        if want(ObjectAttributes::OBJECT_SIZE) {
            out.object_size = Some(o.size);
        }
        if want(ObjectAttributes::STORAGE_CLASS) {
            out.storage_class = Some(StorageClass::from_static(StorageClass::STANDARD));
        }
        if want(ObjectAttributes::CHECKSUM) {
            if let Some(c) = &meta.checksum {
                // The value without a composite's `-N` (the count is in ObjectParts).
                let mut sum = Checksum {
                    checksum_type: Some(ChecksumType::from(c.kind.name().to_string())),
                    ..Default::default()
                };
                set_checksum_value!(sum, c.algorithm, c.value.clone());
                out.checksum = Some(sum);
            }
        }
        if want(ObjectAttributes::OBJECT_PARTS) {
            out.object_parts = object_parts(&o, &meta, i.part_number_marker, i.max_parts);
        }
        Ok(S3Response::new(out))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let core = &self.0;
        let i = req.input;
        let d = core
            .delete_object(&i.bucket, &i.key, i.version_id.as_deref())
            .await?;
        Ok(S3Response::new(DeleteObjectOutput {
            delete_marker: d.delete_marker.then_some(true),
            version_id: d.version_id,
            ..Default::default()
        }))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        // S3 requires a digest of the list (checked on the way in: CheckedBody).
        if !integrity::carries_digest(&req.headers) {
            return Err(integrity::missing_digest());
        }
        integrity::refuse_unchecked(&req.headers)?;
        let core = &self.0;
        let authn = authn(&req)?.clone();
        let i = req.input;
        if i.delete.objects.len() > 1000 {
            return Err(s3_error!(MalformedXML, "The XML you provided was not well-formed or did not validate against our published schema"));
        }
        core.require_bucket(&i.bucket).await?;
        let quiet = i.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for obj in i.delete.objects {
            let check = authz::delete_check(&i.bucket, &obj.key, obj.version_id.as_deref());
            let done = match core.authorize(&authn, std::slice::from_ref(&check)).await {
                Ok(()) => {
                    core.delete_object(&i.bucket, &obj.key, obj.version_id.as_deref())
                        .await
                }
                Err(e) => Err(e),
            };
            match done {
                Ok(d) => {
                    if !quiet {
                        // A marker added: DeleteMarker and its id; a version removed:
                        // its id (and DeleteMarker if it was one), as S3 answers.
                        let marker_id = d.delete_marker.then(|| d.version_id.clone()).flatten();
                        deleted.push(DeletedObject {
                            key: Some(obj.key),
                            delete_marker: d.delete_marker.then_some(true),
                            delete_marker_version_id: marker_id,
                            version_id: obj.version_id,
                        });
                    }
                }
                Err(e) => errors.push(Error {
                    code: Some(e.code().as_str().to_string()),
                    key: Some(obj.key),
                    message: e.message().map(str::to_string),
                    version_id: obj.version_id,
                }),
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: Some(errors),
            ..Default::default()
        }))
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let core = &self.0;
        let (src, src_version) = core.copy_source(&req.headers, &req.extensions).await?;
        let (sb, sk) = (src.bucket.clone(), src.key.clone());
        let i = req.input;
        core.require_bucket(&i.bucket).await?;
        core.check_acl(&i.bucket, &req.headers, None).await?;
        if let Some(c) = &i.copy_source_if_match {
            if !matches!(c, ETagCondition::Any)
                && !matches!(c, ETagCondition::ETag(e) if e.value() == src.etag.trim_matches('"'))
            {
                return Err(precondition_failed());
            }
        }
        if let Some(ETagCondition::ETag(e)) = &i.copy_source_if_none_match {
            if e.value() == src.etag.trim_matches('"') {
                return Err(precondition_failed());
            }
        }
        let replace = i
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        // Copying a version named by id onto its own key restores it (S3 allows it).
        let named = authz::copy_source_version(&req.headers).is_some();
        if !replace && !named && sb == i.bucket && sk == i.key {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let (content_type, metadata) = if replace {
            (i.content_type, request_meta!(i))
        } else {
            (src.content_type.clone(), src.metadata.clone())
        };
        let tags = match i.tagging_directive.as_ref().map(|d| d.as_str()) {
            Some("REPLACE") => parse_tags(&i.tagging)?,
            _ => core
                .store
                .get_object_tags(&sb, &sk, Some(&src.version_id))
                .await
                .map_err(store_err)?,
        };
        // The copy's checksum: in the algorithm the request names, else the source's,
        // else S3's default; always of the whole copy (a single PUT's type).
        let algorithm = match &i.checksum_algorithm {
            Some(a) => Algorithm::by_name(a.as_str()).ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::InvalidRequest,
                    "Value for x-amz-checksum-algorithm header is invalid.",
                )
            })?,
            None => decode_meta(&src.metadata)
                .checksum
                .map_or(DEFAULT_CHECKSUM, |c| c.algorithm),
        };
        let (w, checksum) = core
            .copy_bytes(&src.blob_id, 0, src.size as u64, algorithm)
            .await?;
        let metadata = with_checksum(&metadata, checksum.as_ref(), &[]);
        let tag = if src.etag.contains('-') {
            format!("\"{}\"", hex(&w.md5))
        } else {
            src.etag.clone()
        };
        let now = now_ms();
        let o = ObjectRecord {
            bucket: i.bucket,
            key: i.key,
            version_id: new_version_id()?,
            latest: true,
            blob_id: w.id,
            size: w.size as i64,
            etag: tag.clone(),
            content_type,
            metadata,
            last_modified: now,
        };
        let written = core.commit_object(&o, &tags, Precondition::Always).await?;
        let mut result = CopyObjectResult {
            e_tag: Some(etag(&tag)),
            last_modified: Some(ts(now)),
            ..Default::default()
        };
        set_checksum!(result, checksum);
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(result),
            copy_source_version_id: src_version,
            version_id: shown_version(written.versioned, &written.version_id),
            ..Default::default()
        }))
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let core = &self.0;
        let i = req.input;
        core.require_bucket(&i.bucket).await?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let max = page_size(i.max_keys);
        // A Marker naming a common prefix (the NextMarker of a page that ended on
        // one) skips the whole prefix, as V2's token and ListObjectVersions' marker do.
        let l = core
            .list_past_marker(
                &i.bucket,
                &prefix,
                i.delimiter.as_deref(),
                i.marker.clone(),
                max,
                &i.encoding_type,
            )
            .await?;
        let enc = |s: String| list_key(l.url, s);
        let next_marker = if l.truncated && i.delimiter.is_some() {
            l.last.map(enc)
        } else {
            None
        };
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(i.bucket),
            prefix: Some(enc(prefix)),
            marker: Some(enc(i.marker.unwrap_or_default())),
            max_keys: Some(max),
            is_truncated: Some(l.truncated),
            contents: Some(l.contents),
            common_prefixes: Some(l.common_prefixes),
            delimiter: i.delimiter.map(enc),
            next_marker,
            encoding_type: i.encoding_type,
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let core = &self.0;
        let i = req.input;
        core.require_bucket(&i.bucket).await?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let max = page_size(i.max_keys);
        let after_token = match &i.continuation_token {
            Some(t) => Some(
                unhex(t)
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        s3_error!(
                            InvalidArgument,
                            "The continuation token provided is incorrect"
                        )
                    })?,
            ),
            None => None,
        };
        let start = match (&after_token, &i.start_after) {
            (Some(t), Some(s)) => t.clone().max(s.clone()),
            (Some(t), None) => t.clone(),
            (None, Some(s)) => s.clone(),
            (None, None) => String::new(),
        };
        // A continuation token or StartAfter naming a common prefix skips the whole
        // prefix, as ListObjects' Marker does; one inside a prefix lists the prefix.
        let start = past_common_prefix(start, &prefix, i.delimiter.as_deref());
        let l = core
            .list(
                &i.bucket,
                &prefix,
                i.delimiter.as_deref(),
                &start,
                max,
                &i.encoding_type,
            )
            .await?;
        let enc = |s: String| list_key(l.url, s);
        let next = if l.truncated {
            l.last.as_deref().map(|last| hex(last.as_bytes()))
        } else {
            None
        };
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(i.bucket),
            prefix: Some(enc(prefix)),
            max_keys: Some(max),
            key_count: Some(l.key_count),
            continuation_token: i.continuation_token,
            is_truncated: Some(l.truncated),
            next_continuation_token: next,
            contents: Some(l.contents),
            common_prefixes: Some(l.common_prefixes),
            delimiter: i.delimiter.map(enc),
            encoding_type: i.encoding_type,
            start_after: i.start_after.map(enc),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let core = &self.0;
        let i = req.input;
        parse_tags(&i.tagging)?;
        let checksum = integrity::upload_checksum(
            i.checksum_algorithm.as_ref().map(|a| a.as_str()),
            i.checksum_type.as_ref().map(|t| t.as_str()),
        )?;
        core.require_bucket(&i.bucket).await?;
        core.check_acl(&i.bucket, &req.headers, None).await?;
        let id = crate::blobs::new_id().map_err(internal)?;
        let u = UploadRecord {
            upload_id: id.clone(),
            bucket: i.bucket.clone(),
            key: i.key.clone(),
            created: now_ms(),
            content_type: i.content_type,
            metadata: request_meta!(i),
            tagging: i.tagging,
            checksum_algorithm: checksum.map(|c| c.0.name().to_string()),
            checksum_type: checksum.map(|c| c.1.name().to_string()),
        };
        core.store.create_upload(&u).await.map_err(|e| match e {
            StoreError::Reference(_) => no_such_bucket(),
            e => store_err(e),
        })?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(id),
            checksum_algorithm: checksum.map(|c| ChecksumAlgorithm::from(c.0.name().to_string())),
            checksum_type: checksum.map(|c| ChecksumType::from(c.1.name().to_string())),
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let core = &self.0;
        let i = req.input;
        check_part_number(i.part_number)?;
        let u = core.upload(&i.bucket, &i.key, &i.upload_id).await?;
        let keep = match upload_checksum(&u) {
            (a, ChecksumKind::Composite, true) => Keep::Required(a),
            (a, ChecksumKind::FullObject, true) => Keep::Only(a),
            (a, _, false) => Keep::Also(a),
        };
        let check = integrity::stream_check(&req.headers, req.trailing_headers.clone(), keep)?;
        let (w, checksum) = core.put_bytes(i.body, check, MAX_PUT).await?;
        let tag = core
            .commit_part(&i.upload_id, i.part_number, w, checksum.as_ref())
            .await?;
        let mut out = UploadPartOutput {
            e_tag: Some(etag(&tag)),
            ..Default::default()
        };
        if let Some(c) = checksum {
            set_checksum_value!(out, c.algorithm, c.value);
        }
        Ok(S3Response::new(out))
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let core = &self.0;
        let i = req.input;
        check_part_number(i.part_number)?;
        let u = core.upload(&i.bucket, &i.key, &i.upload_id).await?;
        let (src, src_version) = core.copy_source(&req.headers, &req.extensions).await?;
        let size = src.size as u64;
        let (start, len) = match &i.copy_source_range {
            None => (0, size),
            Some(r) => {
                let bad = || s3_error!(InvalidRange, "The requested range is not satisfiable");
                let spec = r.strip_prefix("bytes=").ok_or_else(bad)?;
                let (a, b) = spec.split_once('-').ok_or_else(bad)?;
                let a: u64 = a.parse().map_err(|_| bad())?;
                let b: u64 = b.parse().map_err(|_| bad())?;
                if a > b || b >= size {
                    return Err(bad());
                }
                (a, b - a + 1)
            }
        };
        let (w, checksum) = core
            .copy_bytes(&src.blob_id, start, len, upload_checksum(&u).0)
            .await?;
        let tag = core
            .commit_part(&i.upload_id, i.part_number, w, checksum.as_ref())
            .await?;
        let mut result = CopyPartResult {
            e_tag: Some(etag(&tag)),
            last_modified: Some(ts(now_ms())),
            ..Default::default()
        };
        if let Some(c) = checksum {
            set_checksum_value!(result, c.algorithm, c.value);
        }
        Ok(S3Response::new(UploadPartCopyOutput {
            copy_part_result: Some(result),
            copy_source_version_id: src_version,
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        integrity::refuse_unchecked_complete(&req.headers)?;
        let core = &self.0;
        let i = req.input;
        let when = write_precondition(&i.if_match, &i.if_none_match)?;
        let u = core.upload(&i.bucket, &i.key, &i.upload_id).await?;
        let wanted = i.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
        if wanted.is_empty() {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        let stored = core
            .store
            .list_parts(&i.upload_id, 0, 10_000)
            .await
            .map_err(store_err)?;
        let invalid_part = || {
            s3_error!(
                InvalidPart,
                "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
            )
        };
        let (algorithm, kind, chosen) = upload_checksum(&u);
        let mut sources = Vec::with_capacity(wanted.len());
        let mut md5s = Vec::with_capacity(wanted.len() * 16);
        let mut summary = Vec::with_capacity(wanted.len());
        let mut last = 0;
        for w in &wanted {
            let n = w.part_number.unwrap_or(0);
            if n <= last {
                return Err(s3_error!(
                    InvalidPartOrder,
                    "The list of parts was not in ascending order. The parts list must be specified in order by part number."
                ));
            }
            last = n;
        }
        for (idx, w) in wanted.iter().enumerate() {
            let n = w.part_number.unwrap_or(0);
            let p = stored
                .iter()
                .find(|p| p.part_number == i64::from(n))
                .ok_or_else(invalid_part)?;
            let stored_tag = p.etag.trim_matches('"');
            if let Some(e) = &w.e_tag {
                if e.value().trim_matches('"') != stored_tag {
                    return Err(invalid_part());
                }
            }
            // A composite upload's Complete lists every part's checksum (S3 refuses it
            // otherwise), and a part checksum the client lists must be the stored one.
            if chosen && kind == ChecksumKind::Composite && part_checksum(w, algorithm).is_none() {
                return Err(S3Error::with_message(
                    S3ErrorCode::InvalidRequest,
                    format!(
                        "The upload was created using a {} checksum. The complete request must include the checksum for each part. It was missing for part {n} in the request.",
                        algorithm.name().to_ascii_lowercase()
                    ),
                ));
            }
            if let (Some(listed), Some(stored)) = (part_checksum(w, algorithm), &p.checksum) {
                if listed.trim() != stored {
                    return Err(invalid_part());
                }
            }
            summary.push((n, p.size, p.checksum.clone()));
            if idx + 1 < wanted.len() && p.size < MIN_PART {
                return Err(s3_error!(
                    EntityTooSmall,
                    "Your proposed upload is smaller than the minimum allowed object size."
                ));
            }
            md5s.extend(unhex(stored_tag).ok_or_else(|| internal("bad part etag"))?);
            sources.push((p.blob_id.clone(), 0, p.size as u64));
        }
        // The object's checksum from its parts' (none if a part has none: parts
        // stored before checksums were kept).
        let part_sums: Option<Vec<(&str, u64)>> = summary
            .iter()
            .map(|(_, size, c)| Some((c.as_deref()?, *size as u64)))
            .collect();
        let checksum = part_sums.and_then(|p| integrity::combine(algorithm, kind, &p));
        if let Some(c) = &checksum {
            integrity::check_declared(
                c,
                &[
                    (Algorithm::Crc32, i.checksum_crc32.as_deref()),
                    (Algorithm::Crc32c, i.checksum_crc32c.as_deref()),
                    (Algorithm::Crc64Nvme, i.checksum_crc64nvme.as_deref()),
                    (Algorithm::Sha1, i.checksum_sha1.as_deref()),
                    (Algorithm::Sha256, i.checksum_sha256.as_deref()),
                ],
                i.checksum_type.as_ref().map(|t| t.as_str()),
            )?;
        }
        let whole = core.blobs.concat(&sources).await.map_err(blob_err)?;
        let tag = format!("\"{}-{}\"", hex(&Md5::digest(&md5s)), wanted.len());
        let tags = parse_tags(&u.tagging)?;
        let o = ObjectRecord {
            bucket: i.bucket.clone(),
            key: i.key.clone(),
            version_id: new_version_id()?,
            latest: true,
            blob_id: whole.id.clone(),
            size: whole.size as i64,
            etag: tag.clone(),
            content_type: u.content_type,
            metadata: with_checksum(&u.metadata, checksum.as_ref(), &summary),
            last_modified: now_ms(),
        };
        let r = core
            .store
            .complete_upload(&i.upload_id, &o, &tags, when)
            .await;
        let written = core.committed(&whole.id, r).await?;
        let mut out = CompleteMultipartUploadOutput {
            bucket: Some(i.bucket.clone()),
            key: Some(i.key.clone()),
            e_tag: Some(etag(&tag)),
            location: Some(format!("/{}/{}", i.bucket, i.key)),
            version_id: shown_version(written.versioned, &written.version_id),
            ..Default::default()
        };
        set_checksum!(out, checksum);
        Ok(S3Response::new(out))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let core = &self.0;
        let i = req.input;
        core.upload(&i.bucket, &i.key, &i.upload_id).await?;
        match core
            .store
            .delete_upload(&i.upload_id)
            .await
            .map_err(store_err)?
        {
            Some(blobs) => core.blobs.remove(&blobs).await,
            None => return Err(no_such_upload()),
        }
        let mut resp = S3Response::new(AbortMultipartUploadOutput::default());
        resp.status = Some(http::StatusCode::NO_CONTENT);
        Ok(resp)
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let core = &self.0;
        let i = req.input;
        let u = core.upload(&i.bucket, &i.key, &i.upload_id).await?;
        let (algorithm, kind, chosen) = upload_checksum(&u);
        let max = page_size(i.max_parts);
        let marker = i64::from(i.part_number_marker.unwrap_or(0));
        let mut parts = core
            .store
            .list_parts(&i.upload_id, marker, u32::try_from(max).unwrap_or(1000) + 1)
            .await
            .map_err(store_err)?;
        let truncated = parts.len() > max as usize;
        parts.truncate(max as usize);
        let next = parts.last().and_then(|p| i32::try_from(p.part_number).ok());
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(i.upload_id),
            max_parts: Some(max),
            is_truncated: Some(truncated),
            part_number_marker: i.part_number_marker,
            next_part_number_marker: if truncated { next } else { None },
            checksum_algorithm: chosen
                .then(|| ChecksumAlgorithm::from(algorithm.name().to_string())),
            checksum_type: chosen.then(|| ChecksumType::from(kind.name().to_string())),
            parts: Some(
                parts
                    .into_iter()
                    .map(|p| {
                        let mut part = Part {
                            e_tag: Some(etag(&p.etag)),
                            last_modified: Some(ts(p.last_modified)),
                            part_number: i32::try_from(p.part_number).ok(),
                            size: Some(p.size),
                            ..Default::default()
                        };
                        if let Some(c) = p.checksum {
                            set_checksum_value!(part, algorithm, c);
                        }
                        part
                    })
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let core = &self.0;
        let i = req.input;
        core.require_bucket(&i.bucket).await?;
        let max = page_size(i.max_uploads);
        let prefix = i.prefix.clone().unwrap_or_default();
        let mut ups = core
            .store
            .list_uploads(&i.bucket, &prefix, u32::try_from(max).unwrap_or(1000) + 1)
            .await
            .map_err(store_err)?;
        let truncated = ups.len() > max as usize;
        ups.truncate(max as usize);
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(i.bucket),
            prefix: i.prefix,
            max_uploads: Some(max),
            is_truncated: Some(truncated),
            next_key_marker: if truncated {
                ups.last().map(|u| u.key.clone())
            } else {
                None
            },
            next_upload_id_marker: if truncated {
                ups.last().map(|u| u.upload_id.clone())
            } else {
                None
            },
            uploads: Some(
                ups.into_iter()
                    .map(|u| MultipartUpload {
                        initiated: Some(ts(u.created)),
                        key: Some(u.key),
                        upload_id: Some(u.upload_id),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    async fn put_bucket_policy(
        &self,
        req: S3Request<PutBucketPolicyInput>,
    ) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        integrity::refuse_unchecked(&req.headers)?;
        let core = &self.0;
        let i = req.input;
        core.require_bucket(&i.bucket).await?;
        if policy_size(&i.policy) > MAX_POLICY {
            let mut e = S3Error::with_message(
                S3ErrorCode::Custom("PolicyTooLarge".into()),
                "Policy exceeds the maximum allowed document size.",
            );
            e.set_status_code(http::StatusCode::BAD_REQUEST);
            return Err(e);
        }
        let authn = req
            .extensions
            .get::<Authn>()
            .ok_or_else(|| s3_error!(AccessDenied, "Access Denied"))?;
        if let Err(findings) =
            CompiledPolicy::from_json(&i.policy, PolicyType::Resource, "bucket-policy")
        {
            // S3 names no value: "Invalid principal in policy" alone.
            let msg = match findings.first() {
                Some(f) if f.message.starts_with(INVALID_PRINCIPAL) => INVALID_PRINCIPAL.into(),
                Some(f) => f.message.clone(),
                None => "Policies must be valid JSON".into(),
            };
            return Err(S3Error::with_message(S3ErrorCode::MalformedPolicy, msg));
        }
        // A user or role of an account this server holds must exist (AWS's answer).
        // Bound to their unique ids now, stored with the policy (AWS's binding).
        let Ok(bindings) = core.iam.bind_principals(&i.policy) else {
            return Err(S3Error::with_message(
                S3ErrorCode::MalformedPolicy,
                INVALID_PRINCIPAL,
            ));
        };
        let block: Option<PublicAccessBlockConfiguration> =
            core.setting(&i.bucket, PUBLIC_ACCESS_BLOCK).await?;
        if block.is_some_and(|b| b.block_public_policy == Some(true))
            && crate::public::is_public(&i.policy)
        {
            let who = authn
                .principal
                .as_ref()
                .map_or_else(|| "anonymous".to_string(), |p| p.arn().into_owned());
            return Err(S3Error::with_message(
                S3ErrorCode::AccessDenied,
                format!(
                    "User: {who} is not authorized to perform: s3:PutBucketPolicy on resource: \"{}\" because public policies are blocked by the BlockPublicPolicy block public access setting.",
                    authz::bucket_arn(&i.bucket)
                ),
            ));
        }
        core.store
            .set_bucket_policy(&i.bucket, Some((&i.policy, &bindings)))
            .await
            .map_err(|e| match e {
                StoreError::Reference(_) => no_such_bucket(),
                e => store_err(e),
            })?;
        core.forget_bucket(&i.bucket);
        let mut resp = S3Response::new(PutBucketPolicyOutput {});
        resp.status = Some(http::StatusCode::NO_CONTENT);
        Ok(resp)
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        let core = &self.0;
        core.require_bucket(&req.input.bucket).await?;
        // From the database (what another node just put shows), rebound now.
        match core.policy_view(&req.input.bucket).await? {
            Some(view) => Ok(S3Response::new(GetBucketPolicyOutput {
                policy: Some(view.bound.shown.to_string()),
            })),
            None => Err(s3_error!(
                NoSuchBucketPolicy,
                "The bucket policy does not exist"
            )),
        }
    }

    async fn delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
        let core = &self.0;
        core.require_bucket(&req.input.bucket).await?;
        core.store
            .set_bucket_policy(&req.input.bucket, None)
            .await
            .map_err(store_err)?;
        core.forget_bucket(&req.input.bucket);
        let mut resp = S3Response::new(DeleteBucketPolicyOutput {});
        resp.status = Some(http::StatusCode::NO_CONTENT);
        Ok(resp)
    }

    async fn get_bucket_policy_status(
        &self,
        req: S3Request<GetBucketPolicyStatusInput>,
    ) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
        let core = &self.0;
        core.require_bucket(&req.input.bucket).await?;
        let doc = core
            .store
            .get_bucket_policy(&req.input.bucket)
            .await
            .map_err(store_err)?;
        let Some(policy) = doc else {
            return Err(s3_error!(
                NoSuchBucketPolicy,
                "The bucket policy does not exist"
            ));
        };
        Ok(S3Response::new(GetBucketPolicyStatusOutput {
            policy_status: Some(PolicyStatus {
                is_public: Some(crate::public::is_public(&policy.document)),
            }),
        }))
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let core = &self.0;
        let i = req.input;
        let o = core
            .object(&i.bucket, &i.key, i.version_id.as_deref())
            .await?;
        let tags = core
            .store
            .get_object_tags(&i.bucket, &i.key, Some(&o.version_id))
            .await
            .map_err(store_err)?;
        Ok(S3Response::new(GetObjectTaggingOutput {
            tag_set: tags
                .into_iter()
                .map(|(k, v)| Tag {
                    key: Some(k),
                    value: Some(v),
                })
                .collect(),
            version_id: shown_version(core.versioned(&i.bucket).await?, &o.version_id),
        }))
    }

    async fn put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        integrity::refuse_unchecked(&req.headers)?;
        let core = &self.0;
        let authn = authn(&req)?.clone();
        let i = req.input;
        let tags: Vec<(String, String)> = i
            .tagging
            .tag_set
            .into_iter()
            .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
            .collect();
        let check = authz::put_tagging_check(&i.bucket, &i.key, i.version_id.as_deref(), &tags);
        core.authorize(&authn, std::slice::from_ref(&check)).await?;
        check_tags(&tags)?;
        let v = core
            .set_object_tags(&i.bucket, &i.key, i.version_id.as_deref(), &tags)
            .await?;
        Ok(S3Response::new(PutObjectTaggingOutput {
            version_id: shown_version(core.versioned(&i.bucket).await?, &v),
        }))
    }

    async fn delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        let core = &self.0;
        let i = req.input;
        let v = core
            .set_object_tags(&i.bucket, &i.key, i.version_id.as_deref(), &[])
            .await?;
        let mut resp = S3Response::new(DeleteObjectTaggingOutput {
            version_id: shown_version(core.versioned(&i.bucket).await?, &v),
        });
        resp.status = Some(http::StatusCode::NO_CONTENT);
        Ok(resp)
    }

    // -- versioning ------------------------------------------------------------------

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        let core = &self.0;
        let b = core
            .store
            .get_bucket(&req.input.bucket)
            .await
            .map_err(store_err)?
            .ok_or_else(no_such_bucket)?;
        // Never versioned: an empty VersioningConfiguration, as S3 answers.
        let status = match b.versioning {
            Versioning::Unversioned => None,
            Versioning::Enabled => Some(BucketVersioningStatus::ENABLED),
            Versioning::Suspended => Some(BucketVersioningStatus::SUSPENDED),
        };
        Ok(S3Response::new(GetBucketVersioningOutput {
            status: status.map(BucketVersioningStatus::from_static),
            mfa_delete: None,
        }))
    }

    async fn put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        settings::require_digest(&req.headers)?;
        let core = &self.0;
        let i = &req.input;
        let c = &i.versioning_configuration;
        // MFA delete needs the root user's MFA device, which no caller here has.
        if c.mfa_delete
            .as_ref()
            .is_some_and(|m| m.as_str() == MFADelete::ENABLED)
        {
            return Err(s3_error!(
                InvalidRequest,
                "MFA Delete cannot be enabled: this server cannot verify the root user's MFA device (x-amz-mfa)."
            ));
        }
        if c.mfa_delete
            .as_ref()
            .is_some_and(|m| m.as_str() != MFADelete::DISABLED)
        {
            return Err(settings::malformed_xml());
        }
        let state = match c.status.as_ref().map(|s| s.as_str()) {
            Some(BucketVersioningStatus::ENABLED) => Versioning::Enabled,
            Some(BucketVersioningStatus::SUSPENDED) => Versioning::Suspended,
            Some(_) => return Err(settings::malformed_xml()),
            // No status: nothing changes.
            None => {
                core.require_bucket(&i.bucket).await?;
                return Ok(S3Response::new(PutBucketVersioningOutput {}));
            }
        };
        let done = core
            .store
            .set_bucket_versioning(&i.bucket, state)
            .await
            .map_err(store_err)?;
        core.forget_bucket(&i.bucket);
        if !done {
            return Err(no_such_bucket());
        }
        Ok(S3Response::new(PutBucketVersioningOutput {}))
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let core = &self.0;
        let i = req.input;
        let owner_account = core.bucket_owner(&i.bucket).await?;
        let version_marker = i.version_id_marker.clone().filter(|m| !m.is_empty());
        if version_marker.is_some() && i.key_marker.as_deref().unwrap_or("").is_empty() {
            return Err(s3_error!(
                InvalidArgument,
                "A version-id marker cannot be specified without a key marker."
            ));
        }
        if let Some(v) = &version_marker {
            check_version_id(v)?;
        }
        let prefix = i.prefix.clone().unwrap_or_default();
        let max = page_size(i.max_keys);
        let page = core
            .list_versions(
                &i.bucket,
                &prefix,
                i.delimiter.as_deref(),
                i.key_marker.clone().unwrap_or_default(),
                version_marker,
                max,
            )
            .await?;
        let url = i
            .encoding_type
            .as_ref()
            .is_some_and(|e| e.as_str() == EncodingType::URL);
        let enc = |s: String| list_key(url, s);
        let owner = settings::owner(&owner_account);
        let mut versions = Vec::new();
        let mut delete_markers = Vec::new();
        for v in page.entries {
            match v {
                Version::Object(o) => {
                    let checksum = decode_meta(&o.metadata).checksum;
                    versions.push(ObjectVersion {
                        checksum_algorithm: checksum
                            .as_ref()
                            .map(|c| vec![ChecksumAlgorithm::from(c.algorithm.name().to_string())]),
                        checksum_type: checksum
                            .map(|c| ChecksumType::from(c.kind.name().to_string())),
                        e_tag: Some(etag(&o.etag)),
                        is_latest: Some(o.latest),
                        key: Some(enc(o.key)),
                        last_modified: Some(ts(o.last_modified)),
                        owner: Some(owner.clone()),
                        size: Some(o.size),
                        storage_class: Some(ObjectVersionStorageClass::from_static(
                            ObjectVersionStorageClass::STANDARD,
                        )),
                        version_id: Some(o.version_id),
                        ..Default::default()
                    });
                }
                Version::DeleteMarker(m) => delete_markers.push(DeleteMarkerEntry {
                    is_latest: Some(m.latest),
                    key: Some(enc(m.key)),
                    last_modified: Some(ts(m.last_modified)),
                    owner: Some(owner.clone()),
                    version_id: Some(m.version_id),
                }),
            }
        }
        let (next_key_marker, next_version_id_marker) = match (page.truncated, page.last) {
            (true, Some((key, version))) => (Some(enc(key)), version),
            _ => (None, None),
        };
        Ok(S3Response::new(ListObjectVersionsOutput {
            name: Some(i.bucket),
            prefix: Some(enc(prefix)),
            key_marker: Some(enc(i.key_marker.unwrap_or_default())),
            version_id_marker: Some(i.version_id_marker.unwrap_or_default()),
            max_keys: Some(max),
            is_truncated: Some(page.truncated),
            versions: Some(versions),
            delete_markers: Some(delete_markers),
            common_prefixes: Some(
                page.prefixes
                    .into_iter()
                    .map(|p| CommonPrefix {
                        prefix: Some(enc(p)),
                    })
                    .collect(),
            ),
            delimiter: i.delimiter.map(enc),
            next_key_marker,
            next_version_id_marker,
            encoding_type: i.encoding_type,
            ..Default::default()
        }))
    }

    // -- ACLs and AWS's defaults -------------------------------------------------

    async fn get_bucket_acl(
        &self,
        req: S3Request<GetBucketAclInput>,
    ) -> S3Result<S3Response<GetBucketAclOutput>> {
        let owner = self.0.bucket_owner(&req.input.bucket).await?;
        Ok(S3Response::new(GetBucketAclOutput {
            grants: Some(settings::owner_grants(&owner)),
            owner: Some(settings::owner(&owner)),
        }))
    }

    async fn put_bucket_acl(
        &self,
        req: S3Request<PutBucketAclInput>,
    ) -> S3Result<S3Response<PutBucketAclOutput>> {
        settings::require_digest(&req.headers)?;
        let i = &req.input;
        self.0
            .check_acl(&i.bucket, &req.headers, i.access_control_policy.as_ref())
            .await?;
        Ok(S3Response::new(PutBucketAclOutput::default()))
    }

    async fn get_object_acl(
        &self,
        req: S3Request<GetObjectAclInput>,
    ) -> S3Result<S3Response<GetObjectAclOutput>> {
        let core = &self.0;
        let i = &req.input;
        // The bucket owner owns every object (BucketOwnerEnforced).
        core.object_for_read(&req.extensions, &i.bucket, &i.key, i.version_id.as_deref())
            .await?;
        let owner = core.bucket_owner(&i.bucket).await?;
        Ok(S3Response::new(GetObjectAclOutput {
            grants: Some(settings::owner_grants(&owner)),
            owner: Some(settings::owner(&owner)),
            ..Default::default()
        }))
    }

    async fn put_object_acl(
        &self,
        req: S3Request<PutObjectAclInput>,
    ) -> S3Result<S3Response<PutObjectAclOutput>> {
        settings::require_digest(&req.headers)?;
        let core = &self.0;
        let i = &req.input;
        core.object(&i.bucket, &i.key, i.version_id.as_deref())
            .await?;
        core.check_acl(&i.bucket, &req.headers, i.access_control_policy.as_ref())
            .await?;
        Ok(S3Response::new(PutObjectAclOutput::default()))
    }

    async fn get_bucket_request_payment(
        &self,
        req: S3Request<GetBucketRequestPaymentInput>,
    ) -> S3Result<S3Response<GetBucketRequestPaymentOutput>> {
        self.0.require_bucket(&req.input.bucket).await?;
        Ok(S3Response::new(GetBucketRequestPaymentOutput {
            payer: Some(Payer::from_static(Payer::BUCKET_OWNER)),
        }))
    }

    async fn get_bucket_ownership_controls(
        &self,
        req: S3Request<GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
        match self.0.object_ownership(&req.input.bucket).await? {
            Some(o) => Ok(S3Response::new(GetBucketOwnershipControlsOutput {
                ownership_controls: Some(OwnershipControls {
                    rules: vec![OwnershipControlsRule {
                        object_ownership: ObjectOwnership::from(o),
                    }],
                }),
            })),
            None => Err(settings::not_found(
                S3ErrorCode::Custom("OwnershipControlsNotFoundError".into()),
                "The bucket ownership controls were not found",
            )),
        }
    }

    async fn put_bucket_ownership_controls(
        &self,
        req: S3Request<PutBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
        settings::require_digest(&req.headers)?;
        let i = &req.input;
        settings::check_ownership(&i.ownership_controls)?;
        self.0
            .set_setting(&i.bucket, settings::OWNERSHIP, Some(&i.ownership_controls))
            .await?;
        Ok(S3Response::new(PutBucketOwnershipControlsOutput::default()))
    }

    async fn delete_bucket_ownership_controls(
        &self,
        req: S3Request<DeleteBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
        self.0.delete_ownership_controls(&req.input.bucket).await?;
        Ok(no_content(DeleteBucketOwnershipControlsOutput::default()))
    }

    // -- stored settings -----------------------------------------------------------

    async fn get_bucket_tagging(
        &self,
        req: S3Request<GetBucketTaggingInput>,
    ) -> S3Result<S3Response<GetBucketTaggingOutput>> {
        let t: Tagging = self
            .0
            .required_setting(&req.input.bucket, &NO_TAGGING)
            .await?;
        Ok(S3Response::new(GetBucketTaggingOutput {
            tag_set: t.tag_set,
        }))
    }

    async fn put_bucket_tagging(
        &self,
        req: S3Request<PutBucketTaggingInput>,
    ) -> S3Result<S3Response<PutBucketTaggingOutput>> {
        settings::require_digest(&req.headers)?;
        let i = &req.input;
        settings::check_bucket_tags(&i.tagging.tag_set)?;
        let tags = Some(&i.tagging).filter(|t| !t.tag_set.is_empty());
        self.0.set_setting(&i.bucket, TAGGING, tags).await?;
        Ok(no_content(PutBucketTaggingOutput::default()))
    }

    async fn delete_bucket_tagging(
        &self,
        req: S3Request<DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
        self.0.delete_setting(&req.input.bucket, TAGGING).await?;
        Ok(no_content(DeleteBucketTaggingOutput::default()))
    }

    async fn get_public_access_block(
        &self,
        req: S3Request<GetPublicAccessBlockInput>,
    ) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
        let c = self
            .0
            .required_setting(&req.input.bucket, &NO_PUBLIC_ACCESS_BLOCK)
            .await?;
        Ok(S3Response::new(GetPublicAccessBlockOutput {
            public_access_block_configuration: Some(c),
        }))
    }

    async fn put_public_access_block(
        &self,
        req: S3Request<PutPublicAccessBlockInput>,
    ) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
        settings::require_digest(&req.headers)?;
        let i = &req.input;
        // Unset members are false, as S3 stores them.
        let c = &i.public_access_block_configuration;
        let c = PublicAccessBlockConfiguration {
            block_public_acls: Some(c.block_public_acls.unwrap_or(false)),
            block_public_policy: Some(c.block_public_policy.unwrap_or(false)),
            ignore_public_acls: Some(c.ignore_public_acls.unwrap_or(false)),
            restrict_public_buckets: Some(c.restrict_public_buckets.unwrap_or(false)),
        };
        self.0
            .set_setting(&i.bucket, PUBLIC_ACCESS_BLOCK, Some(&c))
            .await?;
        Ok(S3Response::new(PutPublicAccessBlockOutput::default()))
    }

    async fn delete_public_access_block(
        &self,
        req: S3Request<DeletePublicAccessBlockInput>,
    ) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
        self.0
            .delete_setting(&req.input.bucket, PUBLIC_ACCESS_BLOCK)
            .await?;
        Ok(no_content(DeletePublicAccessBlockOutput::default()))
    }

    async fn get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        let c: CORSConfiguration = self.0.required_setting(&req.input.bucket, &NO_CORS).await?;
        Ok(S3Response::new(GetBucketCorsOutput {
            cors_rules: Some(c.cors_rules),
        }))
    }

    async fn put_bucket_cors(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        settings::require_digest(&req.headers)?;
        let i = &req.input;
        settings::check_cors(&i.cors_configuration)?;
        self.0
            .set_setting(&i.bucket, CORS, Some(&i.cors_configuration))
            .await?;
        Ok(S3Response::new(PutBucketCorsOutput::default()))
    }

    async fn delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        self.0.delete_setting(&req.input.bucket, CORS).await?;
        Ok(no_content(DeleteBucketCorsOutput::default()))
    }

    async fn get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        let c: BucketLifecycleConfiguration = self
            .0
            .required_setting(&req.input.bucket, &NO_LIFECYCLE)
            .await?;
        Ok(S3Response::new(GetBucketLifecycleConfigurationOutput {
            rules: Some(c.rules),
            ..Default::default()
        }))
    }

    async fn put_bucket_lifecycle_configuration(
        &self,
        req: S3Request<PutBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
        settings::require_digest(&req.headers)?;
        let i = &req.input;
        let Some(c) = &i.lifecycle_configuration else {
            return Err(settings::malformed_xml());
        };
        settings::check_lifecycle(c)?;
        self.0.set_setting(&i.bucket, LIFECYCLE, Some(c)).await?;
        Ok(S3Response::new(
            PutBucketLifecycleConfigurationOutput::default(),
        ))
    }

    async fn delete_bucket_lifecycle(
        &self,
        req: S3Request<DeleteBucketLifecycleInput>,
    ) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
        self.0.delete_setting(&req.input.bucket, LIFECYCLE).await?;
        Ok(no_content(DeleteBucketLifecycleOutput::default()))
    }
}

/// A response S3 sends as 204 No Content.
fn no_content<T>(out: T) -> S3Response<T> {
    let mut resp = S3Response::new(out);
    resp.status = Some(http::StatusCode::NO_CONTENT);
    resp
}

fn object_dto(o: ObjectRecord, url: bool) -> Object {
    // Listings name each object's checksum algorithm and type (not its value), as S3.
    let checksum = decode_meta(&o.metadata).checksum;
    Object {
        checksum_algorithm: checksum
            .as_ref()
            .map(|c| vec![ChecksumAlgorithm::from(c.algorithm.name().to_string())]),
        checksum_type: checksum.map(|c| ChecksumType::from(c.kind.name().to_string())),
        e_tag: Some(etag(&o.etag)),
        key: Some(list_key(url, o.key)),
        last_modified: Some(ts(o.last_modified)),
        size: Some(o.size),
        storage_class: Some(ObjectStorageClass::from_static(
            ObjectStorageClass::STANDARD,
        )),
        ..Default::default()
    }
}

/// A bucket policy's size as S3 counts it against its 20 KB cap: UTF-8 bytes, without
/// the whitespace between JSON tokens (whitespace inside strings counts). A scan, not
/// a parse, so an oversized document is refused before any JSON work.
fn policy_size(doc: &str) -> usize {
    let (mut n, mut in_string, mut escaped) = (0, false, false);
    for b in doc.bytes() {
        if in_string {
            n += 1;
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            n += 1;
            in_string = b == b'"';
        }
    }
    n
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_located_by_number() {
        let o = |etag: &str, metadata: &str| ObjectRecord {
            bucket: "b".into(),
            key: "k".into(),
            version_id: NULL_VERSION.into(),
            latest: true,
            blob_id: "x".into(),
            size: 15,
            etag: etag.into(),
            content_type: None,
            metadata: metadata.into(),
            last_modified: 0,
        };
        let ck = ObjectChecksum {
            algorithm: Algorithm::Sha1,
            kind: ChecksumKind::Composite,
            value: "v".into(),
            parts: 2,
        };
        let parts = [(1, 10, Some("p1".into())), (3, 5, Some("p3".into()))];
        let mp = o("\"e-2\"", &with_checksum("{}", Some(&ck), &parts));
        let meta = decode_meta(&mp.metadata);
        let p = part_slice(&mp, &meta, 3).unwrap();
        assert_eq!((p.start, p.len, p.count), (10, 5, Some(2)));
        assert_eq!(
            p.checksum,
            Some((Algorithm::Sha1, "p3".into(), ChecksumKind::Composite))
        );
        assert_eq!(
            part_slice(&mp, &meta, 2).unwrap_err().code().as_str(),
            "InvalidPartNumber"
        );
        assert_eq!(
            part_slice(&mp, &meta, 0).unwrap_err().code().as_str(),
            "InvalidArgument"
        );
        // Stored whole: part 1 only. Completed before parts were recorded: refused.
        let whole = o("\"e\"", "{}");
        let p = part_slice(&whole, &decode_meta("{}"), 1).unwrap();
        assert_eq!((p.start, p.len, p.count), (0, 15, None));
        assert!(part_slice(&whole, &decode_meta("{}"), 2).is_err());
        let legacy = o("\"e-2\"", "{}");
        assert_eq!(
            part_slice(&legacy, &decode_meta("{}"), 1)
                .unwrap_err()
                .code()
                .as_str(),
            "NotImplemented"
        );
    }

    #[test]
    fn hex_decoding() {
        assert_eq!(unhex("00ff"), Some(vec![0, 255]));
        assert_eq!(unhex("0"), None);
    }

    #[test]
    fn policy_size_ignores_whitespace_between_tokens() {
        assert_eq!(policy_size(r#"{"a": "b c"}"#), r#"{"a":"b c"}"#.len());
        assert_eq!(
            policy_size("{\n\t\"a\" :\r\n [ 1 , 2 ] }"),
            r#"{"a":[1,2]}"#.len()
        );
        // An escaped quote does not end the string; its spaces still count.
        assert_eq!(policy_size(r#"{"a\" b": 1}"#), r#"{"a\" b":1}"#.len());
        assert_eq!(policy_size(r#"{"é": "ü"}"#), r#"{"é":"ü"}"#.len());
        assert_eq!(policy_size(&format!("{{{}}}", " ".repeat(50_000))), 2);
    }

    #[test]
    fn url_encoding() {
        assert_eq!(url_encode("a b/ü+"), "a%20b/%C3%BC%2B");
    }
}
