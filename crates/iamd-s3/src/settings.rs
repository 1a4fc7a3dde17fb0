//! Bucket settings: what S3 answers for settings iamd keeps (tagging, CORS, lifecycle,
//! public access block, object ownership: one stored document each, in S3's XML) and for those it only answers with AWS's defaults (ACLs, request
//! payment, versioning of a never-versioned bucket).
//!
//! ACLs: iamd keeps none. A bucket's Object Ownership is `BucketOwnerEnforced` unless
//! set otherwise (AWS's default for new buckets): ACLs are disabled, the owner has
//! FULL_CONTROL of the bucket and every object, and only requests setting no ACL, or one
//! that grants the owner alone (`private`, `bucket-owner-full-control`, or that grant
//! in XML), are accepted; others are `AccessControlListNotSupported`. With ACLs
//! enabled (ownership `ObjectWriter` / `BucketOwnerPreferred`, or the controls deleted)
//! the same ACLs are accepted and any other one is `NotImplemented`.

use s3s::dto::*;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};
use sha2::Digest as _;

use iamd_store::{ObjectMeta, StoreError};

use crate::access::internal;
use crate::Core;

pub(crate) const TAGGING: &str = "tagging";
pub(crate) const CORS: &str = "cors";
pub(crate) const LIFECYCLE: &str = "lifecycle";
pub(crate) const PUBLIC_ACCESS_BLOCK: &str = "public-access-block";
pub(crate) const OWNERSHIP: &str = "ownership-controls";

/// A stored setting's kind and S3's 404 when a bucket has none.
pub(crate) struct Missing {
    pub kind: &'static str,
    pub code: &'static str,
    pub message: &'static str,
}

pub(crate) const NO_TAGGING: Missing = Missing {
    kind: TAGGING,
    code: "NoSuchTagSet",
    message: "The TagSet does not exist",
};
pub(crate) const NO_CORS: Missing = Missing {
    kind: CORS,
    code: "NoSuchCORSConfiguration",
    message: "The CORS configuration does not exist",
};
pub(crate) const NO_LIFECYCLE: Missing = Missing {
    kind: LIFECYCLE,
    code: "NoSuchLifecycleConfiguration",
    message: "The lifecycle configuration does not exist",
};
pub(crate) const NO_PUBLIC_ACCESS_BLOCK: Missing = Missing {
    kind: PUBLIC_ACCESS_BLOCK,
    code: "NoSuchPublicAccessBlockConfiguration",
    message: "The public access block configuration was not found",
};

/// The stored document of deleted ownership controls (ACLs enabled, as after AWS's
/// DeleteBucketOwnershipControls); no document at all is the default (enforced).
const NO_OWNERSHIP_CONTROLS: &str = "null";

/// An account's canonical user id (64 hex digits, as S3's): the same for the account
/// everywhere (ListBuckets, ACLs, listings).
pub(crate) fn canonical_id(account: &str) -> String {
    let mut h = sha2::Sha256::new();
    h.update(b"iamd canonical user id\0");
    h.update(account.as_bytes());
    crate::blobs::hex(&h.finalize())
}

pub(crate) fn owner(account: &str) -> Owner {
    Owner {
        display_name: None,
        id: Some(canonical_id(account)),
    }
}

/// The only grant there is: the owner's FULL_CONTROL.
pub(crate) fn owner_grants(account: &str) -> Grants {
    vec![Grant {
        grantee: Some(Grantee {
            display_name: None,
            email_address: None,
            id: Some(canonical_id(account)),
            type_: Type::from_static(Type::CANONICAL_USER),
            uri: None,
        }),
        permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
    }]
}

fn bad_request(code: &str, message: &'static str) -> S3Error {
    let mut e = S3Error::with_message(S3ErrorCode::Custom(code.to_string().into()), message);
    e.set_status_code(http::StatusCode::BAD_REQUEST);
    e
}

pub(crate) fn not_found(code: S3ErrorCode, message: &str) -> S3Error {
    let mut e = S3Error::with_message(code, message.to_string());
    e.set_status_code(http::StatusCode::NOT_FOUND);
    e
}

/// A settings body must come with its digest (`Content-MD5` or `x-amz-checksum-*`,
/// checked on the way in), as S3 requires.
pub(crate) fn require_digest(h: &http::HeaderMap) -> S3Result<()> {
    if !crate::integrity::carries_digest(h) {
        return Err(crate::integrity::missing_digest());
    }
    crate::integrity::refuse_unchecked(h)
}

pub(crate) fn malformed_xml() -> S3Error {
    s3_error!(
        MalformedXML,
        "The XML you provided was not well-formed or did not validate against our published schema"
    )
}

fn to_xml<T: s3s::xml::Serialize>(value: &T) -> S3Result<String> {
    let mut buf = Vec::with_capacity(256);
    value
        .serialize(&mut s3s::xml::Serializer::new(&mut buf))
        .map_err(|e| internal(format!("{e:?}")))?;
    String::from_utf8(buf).map_err(internal)
}

fn from_xml<T: for<'x> s3s::xml::Deserialize<'x>>(doc: &str) -> S3Result<T> {
    T::deserialize(&mut s3s::xml::Deserializer::new(doc.as_bytes())).map_err(internal)
}

impl Core {
    /// A bucket's stored setting of `kind`; `NoSuchBucket` if the bucket is missing.
    pub(crate) async fn setting<T: for<'x> s3s::xml::Deserialize<'x>>(
        &self,
        bucket: &str,
        kind: &str,
    ) -> S3Result<Option<T>> {
        let v = self.stored_setting(bucket, kind).await?;
        if v.is_none() {
            self.require_bucket(bucket).await?;
        }
        Ok(v)
    }

    /// A bucket's stored setting; S3's 404 for it when there is none.
    pub(crate) async fn required_setting<T: for<'x> s3s::xml::Deserialize<'x>>(
        &self,
        bucket: &str,
        m: &Missing,
    ) -> S3Result<T> {
        self.setting(bucket, m.kind)
            .await?
            .ok_or_else(|| not_found(S3ErrorCode::Custom(m.code.into()), m.message))
    }

    /// Deletes a bucket's setting (`NoSuchBucket` if the bucket is missing).
    pub(crate) async fn delete_setting(&self, bucket: &str, kind: &str) -> S3Result<()> {
        self.set_setting_doc(bucket, kind, None).await
    }

    /// A bucket's stored setting of `kind`, if any (whether the bucket exists or not).
    pub(crate) async fn stored_setting<T: for<'x> s3s::xml::Deserialize<'x>>(
        &self,
        bucket: &str,
        kind: &str,
    ) -> S3Result<Option<T>> {
        match self
            .store
            .get_bucket_setting(bucket, kind)
            .await
            .map_err(internal)?
        {
            Some(doc) => from_xml(&doc).map(Some),
            None => Ok(None),
        }
    }

    /// Stores (`Some`) or deletes (`None`) a bucket's setting of `kind`.
    pub(crate) async fn set_setting<T: s3s::xml::Serialize>(
        &self,
        bucket: &str,
        kind: &str,
        value: Option<&T>,
    ) -> S3Result<()> {
        let doc = value.map(to_xml).transpose()?;
        self.set_setting_doc(bucket, kind, doc.as_deref()).await
    }

    async fn set_setting_doc(&self, bucket: &str, kind: &str, doc: Option<&str>) -> S3Result<()> {
        self.require_bucket(bucket).await?;
        let r = self.store.set_bucket_setting(bucket, kind, doc).await;
        // The cached bucket entry holds the settings requests are judged by.
        self.forget_bucket(bucket);
        r.map_err(|e| match e {
            StoreError::Reference(_) => crate::service::no_such_bucket(),
            e => internal(e),
        })
    }

    /// The bucket's Object Ownership (`None`: the controls were deleted).
    pub(crate) async fn object_ownership(&self, bucket: &str) -> S3Result<Option<String>> {
        match self
            .store
            .get_bucket_setting(bucket, OWNERSHIP)
            .await
            .map_err(internal)?
        {
            None => {
                self.require_bucket(bucket).await?;
                Ok(Some(ObjectOwnership::BUCKET_OWNER_ENFORCED.to_string()))
            }
            Some(doc) if doc == NO_OWNERSHIP_CONTROLS => Ok(None),
            Some(doc) => {
                let c: OwnershipControls = from_xml(&doc)?;
                Ok(c.rules
                    .first()
                    .map(|r| r.object_ownership.as_str().to_string()))
            }
        }
    }

    pub(crate) async fn delete_ownership_controls(&self, bucket: &str) -> S3Result<()> {
        self.set_setting_doc(bucket, OWNERSHIP, Some(NO_OWNERSHIP_CONTROLS))
            .await
    }

    /// Refuses an ACL the bucket cannot take (see the module docs): the canned ACL and
    /// grant headers of the request, and the grants of an XML `AccessControlPolicy`.
    pub(crate) async fn check_acl(
        &self,
        bucket: &str,
        headers: &http::HeaderMap,
        policy: Option<&AccessControlPolicy>,
    ) -> S3Result<()> {
        if policy.is_none() && !sets_acl(headers) {
            return Ok(());
        }
        let ownership = self.object_ownership(bucket).await?;
        let owner = match self.bucket(bucket).await? {
            Some(b) => b.owner.clone(),
            None => return Err(crate::service::no_such_bucket()),
        };
        acl_verdict(ownership.as_deref(), &owner, headers, policy)
    }
}

/// Whether the request sets an ACL by header (canned or grants).
fn sets_acl(headers: &http::HeaderMap) -> bool {
    headers
        .keys()
        .any(|k| k.as_str() == "x-amz-acl" || k.as_str().starts_with("x-amz-grant-"))
}

/// Whether a request's ACL can be taken by a bucket of this ownership and owner.
pub(crate) fn acl_verdict(
    ownership: Option<&str>,
    owner_account: &str,
    headers: &http::HeaderMap,
    policy: Option<&AccessControlPolicy>,
) -> S3Result<()> {
    let canned_ok = match headers.get("x-amz-acl").map(|v| v.to_str().unwrap_or("")) {
        None => true,
        Some(acl) => matches!(acl, "private" | "bucket-owner-full-control"),
    };
    let grants_ok = !headers
        .keys()
        .any(|k| k.as_str().starts_with("x-amz-grant-"));
    let owner_id = canonical_id(owner_account);
    let policy_ok = policy.is_none_or(|p| {
        p.grants.as_deref().unwrap_or_default().iter().all(|g| {
            g.permission.as_ref().map(|p| p.as_str()) == Some(Permission::FULL_CONTROL)
                && g.grantee.as_ref().is_some_and(|e| {
                    e.type_.as_str() == Type::CANONICAL_USER && e.id.as_deref() == Some(&owner_id)
                })
        })
    });
    if canned_ok && grants_ok && policy_ok {
        return Ok(());
    }
    if ownership.is_none_or(|o| o == ObjectOwnership::BUCKET_OWNER_ENFORCED) {
        return Err(bad_request(
            "AccessControlListNotSupported",
            "The bucket does not allow ACLs",
        ));
    }
    Err(S3Error::with_message(
        S3ErrorCode::NotImplemented,
        "This server keeps no ACLs: only an ACL granting the bucket owner FULL_CONTROL is accepted.",
    ))
}

// -- validation ---------------------------------------------------------------

/// Bucket tags as S3 checks them (at most 50, keys 1–128 characters and not `aws:`,
/// values at most 256, keys unique).
pub(crate) fn check_bucket_tags(tags: &TagSet) -> S3Result<()> {
    let invalid = |m: &str| S3Error::with_message(S3ErrorCode::InvalidTag, m.to_string());
    if tags.len() > 50 {
        return Err(invalid("Bucket tag count cannot be greater than 50"));
    }
    for (i, t) in tags.iter().enumerate() {
        let k = t.key.as_deref().unwrap_or("");
        let v = t.value.as_deref().unwrap_or("");
        if k.is_empty() || k.chars().count() > 128 {
            return Err(invalid("The TagKey you have provided is invalid"));
        }
        if v.chars().count() > 256 {
            return Err(invalid("The TagValue you have provided is invalid"));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid("Your TagKey cannot be prefixed with aws:"));
        }
        if tags[..i].iter().any(|o| o.key.as_deref() == Some(k)) {
            return Err(invalid("Cannot provide multiple Tags with the same key"));
        }
    }
    Ok(())
}

pub(crate) fn check_ownership(c: &OwnershipControls) -> S3Result<()> {
    let [rule] = c.rules.as_slice() else {
        return Err(malformed_xml());
    };
    match rule.object_ownership.as_str() {
        ObjectOwnership::BUCKET_OWNER_ENFORCED
        | ObjectOwnership::BUCKET_OWNER_PREFERRED
        | ObjectOwnership::OBJECT_WRITER => Ok(()),
        _ => Err(malformed_xml()),
    }
}

const CORS_METHODS: [&str; 5] = ["GET", "PUT", "HEAD", "POST", "DELETE"];

/// A CORS configuration as S3 checks it: 1–100 rules, methods among GET, PUT, HEAD,
/// POST and DELETE, at least one origin, at most one `*` per origin and header.
pub(crate) fn check_cors(c: &CORSConfiguration) -> S3Result<()> {
    if c.cors_rules.is_empty() || c.cors_rules.len() > 100 {
        return Err(malformed_xml());
    }
    for r in &c.cors_rules {
        if r.allowed_methods.is_empty() || r.allowed_origins.is_empty() {
            return Err(malformed_xml());
        }
        for m in &r.allowed_methods {
            if !CORS_METHODS.contains(&m.as_str()) {
                return Err(s3_error!(
                    InvalidRequest,
                    "Found unsupported HTTP method in CORS config. Unsupported method is {m}"
                ));
            }
        }
        for o in &r.allowed_origins {
            if o.matches('*').count() > 1 {
                return Err(s3_error!(
                    InvalidRequest,
                    "AllowedOrigin \"{o}\" can not have more than one wildcard."
                ));
            }
        }
        for h in r.allowed_headers.as_deref().unwrap_or_default() {
            if h.matches('*').count() > 1 {
                return Err(s3_error!(
                    InvalidRequest,
                    "AllowedHeader \"{h}\" can not have more than one wildcard."
                ));
            }
        }
        if r.id.as_ref().is_some_and(|id| id.chars().count() > 255) {
            return Err(s3_error!(
                InvalidArgument,
                "ID length should not exceed allowed limit of 255"
            ));
        }
    }
    Ok(())
}

/// A lifecycle configuration as S3 checks it: 1–1000 rules with unique ids of at most
/// 255 characters, each with at least one action, positive day counts, expiration
/// dates at midnight UTC, and not both `Prefix` and `Filter`.
pub(crate) fn check_lifecycle(c: &BucketLifecycleConfiguration) -> S3Result<()> {
    if c.rules.is_empty() || c.rules.len() > 1000 {
        return Err(malformed_xml());
    }
    for (i, r) in c.rules.iter().enumerate() {
        let status = r.status.as_str();
        if status != ExpirationStatus::ENABLED && status != ExpirationStatus::DISABLED {
            return Err(malformed_xml());
        }
        if let Some(id) = &r.id {
            if id.chars().count() > 255 {
                return Err(s3_error!(
                    InvalidArgument,
                    "ID length should not exceed allowed limit of 255"
                ));
            }
            if c.rules[..i].iter().any(|o| o.id.as_deref() == Some(id)) {
                return Err(s3_error!(
                    InvalidArgument,
                    "Rule ID must be unique. Found same ID for more than one rule"
                ));
            }
        }
        if r.prefix.is_some() && r.filter.is_some() {
            return Err(malformed_xml());
        }
        let has_action = r.expiration.is_some()
            || r.abort_incomplete_multipart_upload.is_some()
            || r.transitions.as_ref().is_some_and(|t| !t.is_empty())
            || r.noncurrent_version_expiration.is_some()
            || r.noncurrent_version_transitions
                .as_ref()
                .is_some_and(|t| !t.is_empty());
        if !has_action {
            return Err(s3_error!(
                InvalidRequest,
                "At least one action needs to be specified in a rule"
            ));
        }
        if let Some(e) = &r.expiration {
            let set = usize::from(e.days.is_some())
                + usize::from(e.date.is_some())
                + usize::from(e.expired_object_delete_marker.is_some());
            if set != 1 {
                return Err(malformed_xml());
            }
            if e.days.is_some_and(|d| d <= 0) {
                return Err(s3_error!(
                    InvalidArgument,
                    "'Days' for Expiration action must be a positive integer"
                ));
            }
            if let Some(d) = &e.date {
                let t: time::OffsetDateTime = d.clone().into();
                if t.time() != time::Time::MIDNIGHT || t.offset() != time::UtcOffset::UTC {
                    return Err(s3_error!(InvalidArgument, "'Date' must be at midnight GMT"));
                }
            }
        }
        if let Some(a) = &r.abort_incomplete_multipart_upload {
            if a.days_after_initiation.is_none_or(|d| d <= 0) {
                return Err(s3_error!(
                    InvalidArgument,
                    "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"
                ));
            }
        }
    }
    Ok(())
}

// -- CORS answers ------------------------------------------------------------

/// The `Access-Control-*` headers a matching CORS rule gives a request from
/// `origin` with `method` (the preflight's `Access-Control-Request-Method`) and
/// `request_headers` (lower-cased, the preflight's `Access-Control-Request-Headers`);
/// `None` if no rule matches.
pub fn cors_headers(
    config: &CORSConfiguration,
    origin: &str,
    method: &str,
    request_headers: &[String],
    preflight: bool,
) -> Option<Vec<(&'static str, String)>> {
    let rule = config.cors_rules.iter().find(|r| {
        r.allowed_origins.iter().any(|o| wildcard_match(o, origin))
            && r.allowed_methods.iter().any(|m| m.as_str() == method)
            && request_headers.iter().all(|h| {
                r.allowed_headers
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .any(|a| wildcard_match(&a.to_ascii_lowercase(), h))
            })
    })?;
    let any_origin = rule.allowed_origins.iter().any(|o| o == "*");
    let mut out = Vec::new();
    if any_origin {
        out.push(("access-control-allow-origin", "*".to_string()));
    } else {
        out.push(("access-control-allow-origin", origin.to_string()));
        out.push(("access-control-allow-credentials", "true".to_string()));
    }
    out.push((
        "access-control-allow-methods",
        rule.allowed_methods
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    ));
    if preflight && !request_headers.is_empty() {
        out.push(("access-control-allow-headers", request_headers.join(", ")));
    }
    if let Some(expose) = rule.expose_headers.as_ref().filter(|e| !e.is_empty()) {
        out.push(("access-control-expose-headers", expose.join(", ")));
    }
    if let Some(age) = rule.max_age_seconds {
        out.push(("access-control-max-age", age.to_string()));
    }
    out.push((
        "vary",
        "Origin, Access-Control-Request-Headers, Access-Control-Request-Method".to_string(),
    ));
    Some(out)
}

/// `pattern` with at most one `*` (any run of characters) against `s`.
fn wildcard_match(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((head, tail)) => {
            s.len() >= head.len() + tail.len() && s.starts_with(head) && s.ends_with(tail)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ids_are_stable_hex() {
        let a = canonical_id("123456789012");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, canonical_id("123456789012"));
        assert_ne!(a, canonical_id("210987654321"));
    }

    #[test]
    fn acls_with_ownership_enforced() {
        let enforced = Some(ObjectOwnership::BUCKET_OWNER_ENFORCED);
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = http::HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, http::HeaderValue::from_static(v));
            }
            m
        };
        assert!(acl_verdict(enforced, "1", &h(&[]), None).is_ok());
        assert!(acl_verdict(enforced, "1", &h(&[("x-amz-acl", "private")]), None).is_ok());
        assert!(acl_verdict(
            enforced,
            "1",
            &h(&[("x-amz-acl", "bucket-owner-full-control")]),
            None
        )
        .is_ok());
        let e = acl_verdict(enforced, "1", &h(&[("x-amz-acl", "public-read")]), None).unwrap_err();
        assert_eq!(e.code().as_str(), "AccessControlListNotSupported");
        assert_eq!(e.status_code(), Some(http::StatusCode::BAD_REQUEST));
        assert_eq!(e.message(), Some("The bucket does not allow ACLs"));
        let e = acl_verdict(None, "1", &h(&[("x-amz-grant-read", "uri=\"x\"")]), None).unwrap_err();
        assert_eq!(e.code().as_str(), "AccessControlListNotSupported");
        let writer = Some(ObjectOwnership::OBJECT_WRITER);
        let e = acl_verdict(writer, "1", &h(&[("x-amz-acl", "public-read")]), None).unwrap_err();
        assert_eq!(e.code().as_str(), "NotImplemented");
        // The owner's FULL_CONTROL in XML is the equivalent of `private`.
        let mine = AccessControlPolicy {
            grants: Some(owner_grants("1")),
            owner: Some(owner("1")),
        };
        assert!(acl_verdict(enforced, "1", &h(&[]), Some(&mine)).is_ok());
        let theirs = AccessControlPolicy {
            grants: Some(owner_grants("2")),
            owner: Some(owner("1")),
        };
        assert!(acl_verdict(enforced, "1", &h(&[]), Some(&theirs)).is_err());
    }

    #[test]
    fn cors_matching() {
        let cfg = CORSConfiguration {
            cors_rules: vec![CORSRule {
                allowed_headers: Some(vec!["x-amz-*".into(), "content-type".into()]),
                allowed_methods: vec!["GET".into(), "PUT".into()],
                allowed_origins: vec!["https://*.example.com".into()],
                expose_headers: Some(vec!["ETag".into()]),
                id: None,
                max_age_seconds: Some(60),
            }],
        };
        let h = cors_headers(
            &cfg,
            "https://app.example.com",
            "PUT",
            &["x-amz-meta-a".into(), "content-type".into()],
            true,
        )
        .unwrap();
        let get = |k: &str| h.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(
            get("access-control-allow-origin"),
            Some("https://app.example.com")
        );
        assert_eq!(get("access-control-allow-methods"), Some("GET, PUT"));
        assert_eq!(
            get("access-control-allow-headers"),
            Some("x-amz-meta-a, content-type")
        );
        assert_eq!(get("access-control-expose-headers"), Some("ETag"));
        assert_eq!(get("access-control-max-age"), Some("60"));
        assert!(cors_headers(&cfg, "https://example.org", "GET", &[], true).is_none());
        assert!(cors_headers(&cfg, "https://a.example.com", "DELETE", &[], true).is_none());
        assert!(cors_headers(
            &cfg,
            "https://a.example.com",
            "GET",
            &["authorization".into()],
            true
        )
        .is_none());
        assert!(wildcard_match("*", "anything"));
        assert!(!wildcard_match("a*a", "a"));
    }

    #[test]
    fn lifecycle_validation() {
        let rule = |days: Option<i32>| LifecycleRule {
            abort_incomplete_multipart_upload: None,
            expiration: Some(LifecycleExpiration {
                date: None,
                days,
                expired_object_delete_marker: None,
            }),
            filter: Some(LifecycleRuleFilter {
                prefix: Some("logs/".into()),
                ..Default::default()
            }),
            id: Some("r".into()),
            noncurrent_version_expiration: None,
            noncurrent_version_transitions: None,
            prefix: None,
            status: ExpirationStatus::from_static(ExpirationStatus::ENABLED),
            transitions: None,
        };
        let ok = BucketLifecycleConfiguration {
            rules: vec![rule(Some(3))],
        };
        assert!(check_lifecycle(&ok).is_ok());
        let zero = BucketLifecycleConfiguration {
            rules: vec![rule(Some(0))],
        };
        assert_eq!(
            check_lifecycle(&zero).unwrap_err().code().as_str(),
            "InvalidArgument"
        );
        let twice = BucketLifecycleConfiguration {
            rules: vec![rule(Some(1)), rule(Some(2))],
        };
        assert!(check_lifecycle(&twice).is_err());
        let mut none = rule(None);
        none.expiration = None;
        assert_eq!(
            check_lifecycle(&BucketLifecycleConfiguration { rules: vec![none] })
                .unwrap_err()
                .code()
                .as_str(),
            "InvalidRequest"
        );
    }
}
