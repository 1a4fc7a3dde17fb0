//! iamd-s3: the S3 API (via the `s3s` crate) over files, guarded by IAM decisions.
//!
//! - [`access`]: authentication (s3s verifies SigV4/SigV2 header, presigned and
//!   streaming-chunk signatures with the secret IAM gives it) and authorization
//!   (every request → engine; [`authz`] maps requests to actions, ARNs and keys).
//! - [`guard`]: what a request must satisfy before s3s sees it (one auth mechanism,
//!   scope service `s3`, every `x-amz-*` header signed).
//! - [`service`]: the S3 operations (s3s `S3` trait) over [`iamd_store::ObjectMeta`]
//!   (metadata in the database) and [`blobs`] (bytes named by generated ids, in local
//!   files or on an [`upstream`] S3-compatible store).
//! - `integrity`: `Content-MD5`, `x-amz-checksum-*` and aws-chunked decoded-length
//!   checks for every body ([`CheckedBody`] wraps plain bodies before s3s reads them).
//!
//! Invariant: this crate never authorizes by itself; an operation runs only after the
//! engine allowed it (or, for DeleteObjects and PutObjectTagging, decides per item
//! through [`Core::authorize`]). Unmapped operations are refused (`NotImplemented`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use iamd_iam::{BoundPolicy, Iam, Rebound};
use iamd_policy::{CompiledPolicy, PolicyType};
use iamd_store::{AnyStore, BucketPolicy, ObjectMeta, TrustBinding};
use s3s::S3Result;

pub mod access;
pub mod authz;
pub mod blobs;
mod bucket_list;
mod bucket_name;
mod cache;
pub mod fast;
pub mod guard;
mod integrity;
mod lifecycle;
pub mod op_table;
mod public;
mod service;
mod settings;
mod store;
pub mod upstream;

pub use access::{admit, AdmittedSession, ClientInfo, TestRoot};
pub use guard::{precheck, Refusal};
pub use integrity::{carries_digest, CheckedBody, TrailerSum, Verdict};

/// Shared state of the S3 service.
pub struct Core {
    pub(crate) iam: Iam<AnyStore>,
    pub(crate) store: store::CachedStore,
    pub(crate) blobs: blobs::Blobs,
    /// Bucket owner and compiled policy, by name (filled on first use, dropped by
    /// this node's writes and, through the change log, by other nodes').
    buckets: RwLock<HashMap<String, Arc<BucketEntry>>>,
    /// Bumped whenever an entry is dropped: an entry read from the database before a
    /// drop is not cached after it.
    buckets_gen: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
pub(crate) struct BucketEntry {
    pub owner: String,
    /// The bucket policy as it applies now ([`BucketEntry::policy`] is evaluated).
    pub view: Option<Arc<PolicyView>>,
    /// The public access block's RestrictPublicBuckets is on and the policy is
    /// public: the policy grants nothing to callers outside the owner's account.
    pub restrict_public: bool,
    pub cors: Option<Arc<s3s::dto::CORSConfiguration>>,
    pub versioning: iamd_store::Versioning,
}

impl BucketEntry {
    /// The policy evaluated: the view's, its principals rebound.
    pub(crate) fn policy(&self) -> Option<&Arc<CompiledPolicy>> {
        self.view.as_ref().map(|v| &v.bound.compiled)
    }
}

/// A bucket policy as it applies now: the users and roles it names bound to their
/// unique ids when it was put (AWS's binding, `iamd_iam::BoundPolicy`), rebound to
/// what IAM held at `principals` ([`Iam::principals_version`]): a principal deleted
/// (and perhaps recreated) is named by its old unique id, which nobody matches; one
/// renamed or moved by its new ARN.
#[derive(Debug)]
pub(crate) struct PolicyView {
    document: String,
    bindings: Vec<TrustBinding>,
    pub bound: BoundPolicy,
    principals: u64,
}

impl PolicyView {
    /// The view of a stored policy now.
    fn of(iam: &Iam<AnyStore>, bucket: &str, stored: BucketPolicy) -> S3Result<Self> {
        let principals = iam.principals_version();
        let mut bound = BoundPolicy::parse(
            &stored.document,
            PolicyType::Resource,
            &format!("bucket/{bucket}"),
        )
        // A stored policy was validated when put; if it no longer parses, deny
        // everything it could have granted by failing the request (fail closed).
        .map_err(|_| access::internal("stored bucket policy does not parse"))?;
        // Saved by an older build and not yet bound (`Core::policy_view` binds it):
        // bound in memory the same way, never matched by bare ARN.
        let bindings = match stored.bindings {
            Some(b) => b,
            None => iam.bind_principals_late(&stored.document),
        };
        bound.rebind(&stored.document, iam.rebound(&bindings, &Rebound::new()));
        Ok(PolicyView {
            document: stored.document,
            bindings,
            bound,
            principals,
        })
    }

    /// This view after IAM changed users or roles, if it did since it was made.
    fn refreshed(&self, iam: &Iam<AnyStore>) -> Option<PolicyView> {
        let principals = iam.principals_version();
        if principals == self.principals {
            return None;
        }
        let mut bound = self.bound.clone();
        bound.rebind(&self.document, iam.rebound(&self.bindings, bound.rebound()));
        Some(PolicyView {
            document: self.document.clone(),
            bindings: self.bindings.clone(),
            bound,
            principals,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum S3InitError {
    #[error("s3 data directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("s3 metadata: {0}")]
    Store(#[from] iamd_store::StoreError),
    #[error("--domain {0:?} is not a valid domain name")]
    Domain(String),
}

impl Core {
    pub(crate) async fn bucket(&self, name: &str) -> S3Result<Option<Arc<BucketEntry>>> {
        // Read before the cache: an entry dropped after this read is not put back.
        let generation = self.buckets_gen.load(std::sync::atomic::Ordering::SeqCst);
        let cached = self.cache().get(name).cloned();
        if let Some(b) = cached {
            return Ok(Some(self.rebound(name, b, generation)));
        }
        let Some(rec) = self
            .store
            .get_bucket(name)
            .await
            .map_err(access::store_error)?
        else {
            return Ok(None);
        };
        let view = self.policy_view(name).await?.map(Arc::new);
        let doc = view.as_ref().map(|v| v.document.clone());
        let restrict_public = match doc.as_deref() {
            Some(d) if public::is_public(d) => self
                .stored_setting::<s3s::dto::PublicAccessBlockConfiguration>(
                    name,
                    settings::PUBLIC_ACCESS_BLOCK,
                )
                .await?
                .is_some_and(|b| b.restrict_public_buckets == Some(true)),
            _ => false,
        };
        let cors = self
            .stored_setting::<s3s::dto::CORSConfiguration>(name, settings::CORS)
            .await?
            .map(Arc::new);
        let entry = Arc::new(BucketEntry {
            owner: rec.owner_account,
            versioning: rec.versioning,
            view,
            restrict_public,
            cors,
        });
        let mut cache = self.buckets.write().unwrap_or_else(|p| p.into_inner());
        if self.buckets_gen.load(std::sync::atomic::Ordering::SeqCst) == generation {
            cache.insert(name.to_string(), entry.clone());
        }
        Ok(Some(entry))
    }

    /// The bucket's policy as it applies now, from the database. A policy stored
    /// without bindings (by an older build) is bound here, once: to the principals'
    /// ids of this moment (what AWS bound at save time is unknown), stored with it
    /// unless another node did so first, whose bindings then stand.
    pub(crate) async fn policy_view(&self, name: &str) -> S3Result<Option<PolicyView>> {
        let read = || async {
            self.store
                .get_bucket_policy(name)
                .await
                .map_err(access::store_error)
        };
        let mut stored = read().await?;
        if let Some(p) = stored.as_ref().filter(|p| p.bindings.is_none()) {
            let late = self.iam.bind_principals_late(&p.document);
            self.store
                .bind_bucket_policy(name, &p.document, &late)
                .await
                .map_err(access::store_error)?;
            stored = read().await?;
        }
        stored
            .map(|p| PolicyView::of(&self.iam, name, p))
            .transpose()
    }

    /// `entry` (cached) with its policy rebound if IAM changed users or roles since it
    /// was made; the cache keeps the new one unless the entry was dropped meanwhile.
    fn rebound(&self, name: &str, entry: Arc<BucketEntry>, generation: u64) -> Arc<BucketEntry> {
        let Some(view) = entry.view.as_ref().and_then(|v| v.refreshed(&self.iam)) else {
            return entry;
        };
        let fresh = Arc::new(BucketEntry {
            owner: entry.owner.clone(),
            view: Some(Arc::new(view)),
            restrict_public: entry.restrict_public,
            cors: entry.cors.clone(),
            versioning: entry.versioning,
        });
        let mut cache = self.buckets.write().unwrap_or_else(|p| p.into_inner());
        if self.buckets_gen.load(std::sync::atomic::Ordering::SeqCst) == generation {
            cache.insert(name.to_string(), fresh.clone());
        }
        fresh
    }

    /// Drops the cached entry of `name` (`None`: of every bucket).
    pub(crate) fn forget_bucket(&self, name: &str) {
        self.forget(Some(name));
    }

    fn forget(&self, name: Option<&str>) {
        let mut cache = self.buckets.write().unwrap_or_else(|p| p.into_inner());
        self.buckets_gen
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        match name {
            Some(n) => {
                cache.remove(n);
            }
            None => cache.clear(),
        }
    }

    fn cache(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<BucketEntry>>> {
        self.buckets.read().unwrap_or_else(|p| p.into_inner())
    }
}

/// Virtual-hosted style for `--domain`: `bucket.domain` names the bucket; any other
/// host (e.g. `127.0.0.1:9000`) is path style.
struct Host {
    domain: String,
}

impl s3s::host::S3Host for Host {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<s3s::host::VirtualHost<'a>> {
        let name = match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        };
        let d = self.domain.as_str();
        if let Some(bucket) = name
            .strip_suffix(d)
            .and_then(|b| b.strip_suffix('.'))
            .filter(|b| !b.is_empty())
        {
            return Ok(s3s::host::VirtualHost::new(d).with_bucket(bucket));
        }
        Ok(s3s::host::VirtualHost::new(name))
    }
}

/// The S3 service and what the listener answers around it.
pub struct S3 {
    pub service: s3s::service::S3Service,
    pub cors: Cors,
    /// Plain GetObject / HeadObject answered without s3s ([`fast`]).
    pub fast: fast::FastPath,
}

impl S3 {
    /// The background task applying the buckets' lifecycle rules every `every`
    /// (expirations, aborted uploads); runs until the process ends.
    pub fn lifecycle_task(
        &self,
        every: std::time::Duration,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        lifecycle::run(self.cors.core.clone(), every)
    }
}

/// CORS answers from the buckets' CORS configurations: the `OPTIONS` preflight (no
/// signature, not an S3 operation) and the `Access-Control-*` headers of a request
/// that sends `Origin`.
pub struct Cors {
    core: Arc<Core>,
    domain: Option<String>,
}

fn forbidden(message: &str) -> Refusal {
    Refusal {
        status: 403,
        code: "AccessForbidden".into(),
        message: message.to_string(),
        extra: Vec::new(),
    }
}

impl Cors {
    /// The bucket a request names: `bucket.<domain>` with `--domain`, else the first
    /// path segment.
    pub fn bucket_of(&self, host: Option<&str>, path: &str) -> Option<String> {
        if let (Some(d), Some(host)) = (&self.domain, host) {
            let name = match host.rsplit_once(':') {
                Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
                _ => host,
            };
            if let Some(b) = name
                .to_ascii_lowercase()
                .strip_suffix(d.as_str())
                .and_then(|b| b.strip_suffix('.'))
                .filter(|b| !b.is_empty())
            {
                return Some(b.to_string());
            }
        }
        let first = path.trim_start_matches('/').split('/').next()?;
        (!first.is_empty()).then(|| first.to_string())
    }

    /// The answer to a preflight (`OPTIONS`) request for `bucket`: the headers of the
    /// matching rule, or S3's refusal.
    pub async fn preflight(
        &self,
        bucket: Option<&str>,
        headers: &http::HeaderMap,
    ) -> Result<Vec<(&'static str, String)>, Refusal> {
        let text = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
        let bad = |m: &str| Refusal {
            status: 400,
            code: "BadRequest".into(),
            message: m.to_string(),
            extra: Vec::new(),
        };
        let Some(origin) = text("origin") else {
            return Err(bad(
                "Insufficient information. Origin request header needed.",
            ));
        };
        let Some(method) = text("access-control-request-method") else {
            return Err(bad("Invalid Access-Control-Request-Method: null"));
        };
        let requested: Vec<String> = text("access-control-request-headers")
            .unwrap_or("")
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        let entry = match bucket {
            Some(b) => self
                .core
                .bucket(b)
                .await
                .map_err(|e| Refusal::from_s3(&e))?,
            None => None,
        };
        let Some(cors) = entry.as_ref().and_then(|e| e.cors.clone()) else {
            return Err(forbidden(
                "CORSResponse: CORS is not enabled for this bucket.",
            ));
        };
        settings::cors_headers(&cors, origin, method, &requested, true).ok_or_else(|| {
            forbidden("CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
        })
    }

    /// The `Access-Control-*` headers for a request from `origin` (none when the
    /// bucket has no matching rule).
    pub async fn response_headers(
        &self,
        bucket: &str,
        origin: &str,
        method: &str,
    ) -> Vec<(&'static str, String)> {
        let Ok(Some(entry)) = self.core.bucket(bucket).await else {
            return Vec::new();
        };
        let Some(cors) = &entry.cors else {
            return Vec::new();
        };
        settings::cors_headers(cors, origin, method, &[], false).unwrap_or_default()
    }
}

/// Builds the S3 service (not yet routed anywhere: the listener calls it).
pub fn service(
    iam: Iam<AnyStore>,
    store: AnyStore,
    blobs: blobs::Blobs,
    domain: Option<&str>,
) -> Result<S3, S3InitError> {
    let domain = match domain {
        Some(d) if d.is_empty() || d.contains(['/', ':', ' ']) => {
            return Err(S3InitError::Domain(d.to_string()))
        }
        d => d.map(str::to_ascii_lowercase),
    };
    let core = Arc::new(Core {
        iam,
        store: store::CachedStore::new(store),
        blobs,
        buckets: RwLock::new(HashMap::new()),
        buckets_gen: Default::default(),
    });
    // Another node changed a bucket (the change log, `iamd-iam`'s follower).
    let weak = Arc::downgrade(&core);
    core.iam
        .on_bucket_change(Arc::new(move |name: Option<&str>| {
            if let Some(core) = weak.upgrade() {
                core.forget(name);
            }
        }));
    let mut b = s3s::service::S3ServiceBuilder::new(service::Service(core.clone()));
    b.set_auth(access::Auth(core.clone()));
    b.set_access(access::Access(core.clone()));
    if let Some(domain) = domain.clone() {
        b.set_host(Host { domain });
    }
    Ok(S3 {
        service: b.build(),
        fast: fast::FastPath::new(core.clone(), domain.is_some()),
        cors: Cors { core, domain },
    })
}

/// Startup: removes blobs no metadata references (left by a crash between writing
/// a blob and committing its metadata) and temp files. Returns how many.
pub async fn remove_orphans(store: &AnyStore, blobs: &blobs::Blobs) -> Result<usize, S3InitError> {
    let known: HashSet<String> = store.all_blob_ids().await?.into_iter().collect();
    Ok(blobs.remove_orphans(known).await?)
}
