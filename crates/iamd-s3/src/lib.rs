//! iamd-s3: the S3 API (via the `s3s` crate) over files, guarded by IAM decisions.
//!
//! - [`access`]: authentication (s3s verifies SigV4/SigV2 header, presigned and
//!   streaming-chunk signatures with the secret IAM gives it) and authorization
//!   (every request → engine; [`authz`] maps requests to actions, ARNs and keys).
//! - [`guard`]: what a request must satisfy before s3s sees it (one auth mechanism,
//!   scope service `s3`, every `x-amz-*` header signed).
//! - [`service`]: the S3 operations (s3s `S3` trait) over [`iamd_store::ObjectMeta`]
//!   (metadata in the database) and [`blobs`] (bytes in files named by generated ids).
//! - `integrity`: `Content-MD5`, `x-amz-checksum-*` and aws-chunked decoded-length
//!   checks for every body ([`CheckedBody`] wraps plain bodies before s3s reads them).
//!
//! Invariant: this crate never authorizes by itself; an operation runs only after the
//! engine allowed it (or, for DeleteObjects and PutObjectTagging, decides per item
//! through [`Core::authorize`]). Unmapped operations are refused (`NotImplemented`).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, RwLock};

use iamd_iam::Iam;
use iamd_policy::{CompiledPolicy, PolicyType};
use iamd_store::{AnyStore, ObjectMeta};
use s3s::S3Result;

pub mod access;
pub mod authz;
pub mod blobs;
mod bucket_name;
pub mod guard;
mod integrity;
mod service;

pub use access::{admit_session, AdmittedSession, ClientInfo};
pub use guard::{precheck, Refusal};
pub use integrity::{carries_digest, CheckedBody, Verdict};

/// Shared state of the S3 service.
pub struct Core {
    pub(crate) iam: Iam<AnyStore>,
    pub(crate) store: AnyStore,
    pub(crate) blobs: blobs::Blobs,
    /// Bucket owner and compiled policy, by name (filled on first use, updated by
    /// this node's writes).
    buckets: RwLock<HashMap<String, Arc<BucketEntry>>>,
}

#[derive(Debug)]
pub(crate) struct BucketEntry {
    pub owner: String,
    pub policy: Option<Arc<CompiledPolicy>>,
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
        if let Some(b) = self.cache().get(name) {
            return Ok(Some(b.clone()));
        }
        let Some(rec) = self
            .store
            .get_bucket(name)
            .await
            .map_err(access::internal)?
        else {
            return Ok(None);
        };
        let doc = self
            .store
            .get_bucket_policy(name)
            .await
            .map_err(access::internal)?;
        let policy = match doc {
            None => None,
            // A stored policy was validated when put; if it no longer compiles, deny
            // everything it could have granted by failing the request (fail closed).
            Some(d) => Some(Arc::new(
                CompiledPolicy::from_json(&d, PolicyType::Resource, format!("bucket/{name}"))
                    .map_err(|_| access::internal("stored bucket policy does not compile"))?,
            )),
        };
        let entry = Arc::new(BucketEntry {
            owner: rec.owner_account,
            policy,
        });
        self.buckets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), entry.clone());
        Ok(Some(entry))
    }

    pub(crate) fn forget_bucket(&self, name: &str) {
        self.buckets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
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

/// Builds the S3 service (not yet routed anywhere: the listener calls it).
pub fn service(
    iam: Iam<AnyStore>,
    store: AnyStore,
    data_dir: &Path,
    domain: Option<&str>,
) -> Result<s3s::service::S3Service, S3InitError> {
    let domain = match domain {
        Some(d) if d.is_empty() || d.contains(['/', ':', ' ']) => {
            return Err(S3InitError::Domain(d.to_string()))
        }
        d => d.map(str::to_ascii_lowercase),
    };
    let core = Arc::new(Core {
        iam,
        store,
        blobs: blobs::Blobs::open(data_dir)?,
        buckets: RwLock::new(HashMap::new()),
    });
    let mut b = s3s::service::S3ServiceBuilder::new(service::Service(core.clone()));
    b.set_auth(access::Auth(core.clone()));
    b.set_access(access::Access(core));
    if let Some(domain) = domain {
        b.set_host(Host { domain });
    }
    Ok(b.build())
}

/// Startup: removes blobs no metadata references (left by a crash between writing
/// a file and committing its metadata) and temp files. Returns how many.
pub async fn remove_orphans(store: &AnyStore, data_dir: &Path) -> Result<usize, S3InitError> {
    let b = blobs::Blobs::open(data_dir)?;
    let known: HashSet<String> = store.all_blob_ids().await?.into_iter().collect();
    Ok(
        tokio::task::spawn_blocking(move || b.remove_orphans(&known))
            .await
            .map_err(std::io::Error::other)??,
    )
}
