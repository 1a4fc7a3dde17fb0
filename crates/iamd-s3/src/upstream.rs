//! Object bytes on an upstream S3-compatible store (AWS S3, Ceph RGW, MinIO, Garage,
//! SeaweedFS, another iamd) through Apache Arrow's `object_store` S3 client.
//!
//! iamd authenticates and authorizes every request itself; the upstream only holds
//! bytes, in one bucket, under `<prefix><id>` where `id` is the same random 128-bit
//! hex id the local backend names its files by: no key, bucket name or metadata of
//! iamd's ever reaches the upstream (object metadata, tags and policies stay in
//! iamd's database), so an upstream with weaker security never decides access.
//!
//! - Writes stream: a body up to [`PART`] bytes is one PUT; a longer one becomes an
//!   upstream multipart upload of `PART`-sized parts, at most [`IN_FLIGHT`] parts
//!   uploading while the next one fills (memory per upload is bounded by about
//!   `(IN_FLIGHT + 1) × PART`, never the object). The digest checks ([`Sink`]) run as
//!   bytes pass and before the upstream object is completed: a refused body never
//!   becomes an upstream object (its multipart upload is aborted).
//! - The upstream object exists before iamd commits the metadata naming it (as the
//!   local backend's fsync + rename), and a replaced or deleted blob is deleted
//!   upstream after the commit.
//! - Reads forward the byte range (one ranged GET) and stream the answer.
//! - Client multipart uploads: each part is its own upstream object (as a local part
//!   file); CompleteMultipartUpload streams the chosen parts, in order, into a new
//!   upstream object (through iamd, part by part: `object_store` has no UploadPartCopy
//!   for a server-side compose), then the part objects are deleted.
//! - Orphans (a crash between the upstream write and the metadata commit) are swept
//!   at startup: objects under the prefix named like a blob id, referenced by no
//!   metadata, and older than [`ORPHAN_GRACE`] (younger ones may be another node's
//!   write about to commit).

use std::collections::HashSet;
use std::fmt::Display;
use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    ClientOptions, GetOptions, ObjectStore, ObjectStoreExt, PutPayloadMut, RetryConfig,
    WriteMultipart,
};

use crate::blobs::{drain, new_id, BlobError, Body, Put, Sink, Written};

/// Upstream part size of a streamed write (S3's smallest part is 5 MiB).
pub const PART: usize = 8 * 1024 * 1024;
/// Parts of one write uploading at once.
pub const IN_FLIGHT: usize = 2;
/// Unreferenced upstream blobs younger than this are left to the next sweep.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(3600);

/// Where and as whom the upstream is reached.
#[derive(Clone)]
pub struct UpstreamConfig {
    /// `http(s)://host[:port]`; requests are path-style (`/<bucket>/<name>`).
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    /// Prepended to every blob name (`""` or segments ending with `/`).
    pub prefix: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

/// Never prints the secret or the token.
impl std::fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamConfig")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error(
        "invalid prefix {0:?}: segments of letters, digits, '.', '_' and '-', each followed by '/'"
    )]
    Prefix(String),
    #[error("upstream object store: {0}")]
    Client(#[from] object_store::Error),
}

#[derive(Debug)]
pub struct Upstream {
    store: AmazonS3,
    /// The prefix as a path (`None`: the bucket's root).
    prefix: Option<Path>,
}

fn up(e: object_store::Error) -> BlobError {
    BlobError::Io(io::Error::other(e))
}

/// A valid prefix: `""`, or `seg/` repeated with segments of `[A-Za-z0-9._-]` (no
/// `.` or `..` segment).
fn prefix_path(prefix: &str) -> Option<Option<Path>> {
    if prefix.is_empty() {
        return Some(None);
    }
    let body = prefix.strip_suffix('/')?;
    let ok = body.split('/').all(|s| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    });
    ok.then(|| Some(Path::from(body)))
}

/// A blob id as [`new_id`] makes them: 32 lowercase hex digits.
fn is_blob_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Upstream {
    pub fn new(c: &UpstreamConfig) -> Result<Upstream, UpstreamError> {
        let prefix =
            prefix_path(&c.prefix).ok_or_else(|| UpstreamError::Prefix(c.prefix.clone()))?;
        // TLS through rustls with ring (reqwest is built without a default provider;
        // ring's is deprecated for lacking post-quantum key exchange, aws-lc-rs's
        // needs a long C build); an error means a provider is installed already.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = AmazonS3Builder::new()
            .with_endpoint(c.endpoint.trim_end_matches('/'))
            .with_bucket_name(&c.bucket)
            .with_region(&c.region)
            .with_access_key_id(&c.access_key_id)
            .with_secret_access_key(&c.secret_access_key)
            .with_virtual_hosted_style_request(false)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(true)
                    .with_connect_timeout(Duration::from_secs(5))
                    // No bound on a whole request (a large GET streams to a slow
                    // client); a stalled upstream fails the request instead.
                    .with_timeout_disabled()
                    .with_read_timeout(Duration::from_secs(30)),
            )
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
                ..RetryConfig::default()
            });
        if let Some(t) = &c.session_token {
            b = b.with_token(t);
        }
        Ok(Upstream {
            store: b.build()?,
            prefix,
        })
    }

    fn path(&self, id: &str) -> Path {
        match &self.prefix {
            Some(p) => p.clone().join(id),
            None => Path::from(id),
        }
    }

    /// One listing request: the bucket is reachable with these credentials.
    pub async fn probe(&self) -> Result<(), UpstreamError> {
        let mut l = self.store.list(self.prefix.as_ref());
        if let Some(r) = l.next().await {
            r?;
        }
        Ok(())
    }

    /// Streams `body` to a new upstream blob (see the module docs).
    pub async fn write<E: Display>(
        &self,
        body: impl Body<E>,
        limit: u64,
        check: &mut impl Sink,
    ) -> Result<Written, BlobError> {
        let mut w = Writer::new(self)?;
        let result = drain(body, limit, check, &mut w).await;
        w.end(result).await
    }

    /// The concatenation of `sources` (ranges of blobs) streamed into a new blob.
    pub async fn concat(&self, sources: &[(String, u64, u64)]) -> Result<Written, BlobError> {
        let mut w = Writer::new(self)?;
        let result = async {
            let mut size = 0;
            for (id, start, len) in sources {
                let mut s = self.read(id, *start, *len).await?;
                while let Some(chunk) = s.next().await {
                    let chunk = chunk?;
                    size += chunk.len() as u64;
                    w.put(chunk).await?;
                }
            }
            Ok((size, [0; 16]))
        }
        .await;
        w.end(result).await
    }

    /// `len` bytes of blob `id` from `start`: one ranged GET, streamed.
    pub async fn read(&self, id: &str, start: u64, len: u64) -> io::Result<UpstreamStream> {
        if len == 0 {
            return Ok(UpstreamStream::new(
                futures_util::stream::empty().boxed(),
                0,
            ));
        }
        let end = start
            .checked_add(len)
            .ok_or_else(|| io::Error::other("range overflow"))?;
        let opts = GetOptions {
            range: Some((start..end).into()),
            ..GetOptions::default()
        };
        let r = self
            .store
            .get_opts(&self.path(id), opts)
            .await
            .map_err(io::Error::other)?;
        Ok(UpstreamStream::new(r.into_stream(), len))
    }

    /// Deletes blobs upstream (best effort: a leftover is an orphan for the sweep).
    pub async fn remove(&self, ids: &[String]) {
        for id in ids {
            if let Err(e) = self.store.delete(&self.path(id)).await {
                tracing::warn!(blob = %id, error = %e, "could not remove upstream blob");
            }
        }
    }

    /// Deletes upstream blobs not in `known` and older than `grace`. Returns how many.
    pub async fn remove_orphans(
        &self,
        known: &HashSet<String>,
        grace: Duration,
    ) -> Result<usize, UpstreamError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let cutoff = now - grace.as_secs() as i64;
        let depth = self.prefix.as_ref().map_or(0, Path::parts_count) + 1;
        let mut listing = self.store.list(self.prefix.as_ref());
        let mut n = 0;
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            let Some(name) = meta.location.filename() else {
                continue;
            };
            if meta.location.parts_count() != depth
                || !is_blob_id(name)
                || known.contains(name)
                || meta.last_modified.timestamp() > cutoff
            {
                continue;
            }
            self.store.delete(&meta.location).await?;
            n += 1;
        }
        Ok(n)
    }
}

/// One blob being written: the first [`PART`] bytes are held, then either PUT whole
/// (a short body) or become the first part of a multipart upload.
struct Writer<'a> {
    up: &'a Upstream,
    id: String,
    path: Path,
    first: PutPayloadMut,
    multi: Option<WriteMultipart>,
}

impl<'a> Writer<'a> {
    fn new(up: &'a Upstream) -> io::Result<Self> {
        let id = new_id()?;
        Ok(Writer {
            up,
            path: up.path(&id),
            id,
            first: PutPayloadMut::new(),
            multi: None,
        })
    }

    /// Completes the blob if `result` (size, md5) is a success, else aborts it.
    async fn end(self, result: Result<(u64, [u8; 16]), BlobError>) -> Result<Written, BlobError> {
        let (size, md5) = match result {
            Ok(r) => r,
            Err(e) => {
                if let Some(w) = self.multi {
                    if let Err(a) = w.abort().await {
                        tracing::warn!(blob = %self.id, error = %a, "could not abort an upstream upload");
                    }
                }
                return Err(e);
            }
        };
        match self.multi {
            // Aborts the upload itself on failure.
            Some(w) => w.finish().await.map_err(up)?,
            None => self
                .up
                .store
                .put(&self.path, self.first.freeze())
                .await
                .map_err(up)?,
        };
        Ok(Written {
            id: self.id,
            size,
            md5,
        })
    }
}

impl Put for Writer<'_> {
    async fn put(&mut self, chunk: Bytes) -> Result<(), BlobError> {
        if let Some(w) = self.multi.as_mut() {
            w.wait_for_capacity(IN_FLIGHT).await.map_err(up)?;
            w.put(chunk);
            return Ok(());
        }
        self.first.push(chunk);
        if self.first.content_length() >= PART {
            let upload = self.up.store.put_multipart(&self.path).await.map_err(up)?;
            let w = self
                .multi
                .insert(WriteMultipart::new_with_chunk_size(upload, PART));
            for b in std::mem::take(&mut self.first).freeze() {
                w.put(b);
            }
        }
        Ok(())
    }
}

/// An upstream GET's body: exactly the expected length (a short body is an error, as
/// a local file shorter than its metadata), `Sync` as s3s wants response bodies.
pub struct UpstreamStream {
    inner: Mutex<BoxStream<'static, object_store::Result<Bytes>>>,
    remaining: u64,
}

impl UpstreamStream {
    fn new(inner: BoxStream<'static, object_store::Result<Bytes>>, len: u64) -> Self {
        UpstreamStream {
            inner: Mutex::new(inner),
            remaining: len,
        }
    }
}

impl Stream for UpstreamStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let inner = this.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        match inner.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(io::Error::other(e)))),
            Poll::Ready(Some(Ok(b))) => match this.remaining.checked_sub(b.len() as u64) {
                Some(r) => {
                    this.remaining = r;
                    Poll::Ready(Some(Ok(b)))
                }
                None => Poll::Ready(Some(Err(io::Error::other(
                    "upstream blob longer than its metadata",
                )))),
            },
            Poll::Ready(None) if this.remaining > 0 => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "upstream blob shorter than its metadata",
            )))),
            Poll::Ready(None) => Poll::Ready(None),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_ids() {
        assert_eq!(prefix_path(""), Some(None));
        assert_eq!(prefix_path("iamd/"), Some(Some(Path::from("iamd"))));
        assert_eq!(
            prefix_path("a/b-c_d.e/"),
            Some(Some(Path::from("a/b-c_d.e")))
        );
        for bad in ["iamd", "/iamd/", "a//", "../", "a b/", "./"] {
            assert_eq!(prefix_path(bad), None, "{bad}");
        }
        assert!(is_blob_id(&new_id().unwrap()));
        assert!(!is_blob_id("0123456789abcdef0123456789ABCDEF"));
        assert!(!is_blob_id("short"));
    }

    async fn collect(parts: &[&'static [u8]], len: u64) -> Result<Vec<u8>, io::Error> {
        let chunks: Vec<object_store::Result<Bytes>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        let mut s = UpstreamStream::new(futures_util::stream::iter(chunks).boxed(), len);
        let mut out = Vec::new();
        while let Some(c) = s.next().await {
            out.extend_from_slice(&c?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn an_upstream_body_must_have_the_length_of_the_metadata() {
        assert_eq!(collect(&[b"ab", b"cd"], 4).await.unwrap(), b"abcd");
        let short = collect(&[b"ab"], 4).await.unwrap_err();
        assert_eq!(short.kind(), io::ErrorKind::UnexpectedEof);
        assert!(collect(&[b"ab", b"cde"], 4).await.is_err());
    }

    #[test]
    fn the_secret_is_not_printed() {
        let c = UpstreamConfig {
            endpoint: "http://127.0.0.1:1".into(),
            bucket: "b".into(),
            region: "us-east-1".into(),
            prefix: String::new(),
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG".into(),
            session_token: Some("token-value".into()),
        };
        let s = format!("{c:?}");
        assert!(s.contains("AKIDEXAMPLE") && !s.contains("wJalr") && !s.contains("token-value"));
    }
}
