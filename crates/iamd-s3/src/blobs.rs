//! Object bytes: [`Blobs`], the storage interface the S3 operations write and read
//! through, over one of two backends: the local blob directory ([`Local`], the
//! default) or an upstream S3-compatible store ([`crate::upstream`]). Either way a
//! blob is named by a generated id (never by S3 key: `a//b`, `../x` and `dir/` are
//! legal keys), is complete before the metadata naming it is committed, and is
//! removed once no metadata names it.
//!
//! Local: one file per object or part under `<data>/s3/blobs/`.
//!
//! Durability: a body is streamed to `<data>/s3/tmp/<id>`, fsynced, renamed into
//! `blobs/`, and the directory fsynced; only then is the metadata committed. A crash
//! before the commit leaves an orphan file (removed at startup by
//! [`Blobs::remove_orphans`]), never a visible partial object.
//!
//! Privacy: every file is created `0600` and every directory `0700`, whatever the
//! process umask (the modes are set explicitly after creation, and pre-existing `s3/`
//! directories are tightened at open).

use std::collections::HashSet;
use std::fmt::Display;
use std::fs::Permissions;
use std::future::Future;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncSeekExt, AsyncWriteExt, ReadBuf};

use crate::upstream::{Upstream, UpstreamStream};

/// Read chunk size when streaming a blob out.
const READ_CHUNK: usize = 256 * 1024;
/// Reads up to this size are served from one buffer.
const SMALL_READ: u64 = 64 * 1024;
/// Blob and temp files: readable and writable by the server's user only.
const FILE_MODE: u32 = 0o600;
/// `s3/`, `s3/blobs/`, `s3/tmp/`.
const DIR_MODE: u32 = 0o700;

/// Where object bytes live (cheap to clone).
#[derive(Debug, Clone)]
pub struct Blobs(Backend);

#[derive(Debug, Clone)]
enum Backend {
    Local(Local),
    Upstream(Arc<Upstream>),
}

/// The local blob directory.
#[derive(Debug, Clone)]
pub struct Local {
    blobs: PathBuf,
    tmp: PathBuf,
}

/// A fully written, synced blob not yet referenced by metadata.
#[derive(Debug)]
pub struct Written {
    pub id: String,
    pub size: u64,
    pub md5: [u8; 16],
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("io: {0}")]
    Io(#[from] io::Error),
    #[error("request body: {0}")]
    Body(String),
    #[error("body larger than {0} bytes")]
    TooLarge(u64),
    /// The [`Sink`] refused the body (digest or declared length): the S3 error to answer.
    #[error("refused: {0:?}")]
    Refused(s3s::S3Error),
}

/// Checks a body while [`Blobs::write`] streams it (see `integrity::BodyCheck`): an
/// error from either method removes the temp file; nothing is stored.
pub trait Sink {
    fn update(&mut self, chunk: &[u8]) -> Result<(), BlobError>;
    /// After the last chunk, before the file is sealed; `md5` is the body's MD5.
    fn finish(&mut self, md5: &[u8; 16]) -> Result<(), BlobError>;
}

/// No check (copies of stored bytes).
impl Sink for () {
    fn update(&mut self, _: &[u8]) -> Result<(), BlobError> {
        Ok(())
    }

    fn finish(&mut self, _: &[u8; 16]) -> Result<(), BlobError> {
        Ok(())
    }
}

/// A request body (or a blob read back): chunks, or the error that cut it.
pub trait Body<E>: Stream<Item = Result<Bytes, E>> + Unpin {}

impl<E, S: Stream<Item = Result<Bytes, E>> + Unpin> Body<E> for S {}

/// Where [`drain`] puts a body's chunks (a temp file, an upstream writer).
pub(crate) trait Put: Send {
    fn put(&mut self, chunk: Bytes) -> impl Future<Output = Result<(), BlobError>> + Send;
}

/// Writes a body's chunks to a file on a blocking thread of its own while the request's
/// task reads and hashes the next ones (a 64 MiB PUT: receiving and MD5 on one core,
/// writing on the other). Chunks are written as they come, with no copy; the data is
/// synced every [`SYNC_EVERY`] bytes as it goes, so the sync before the commit has
/// little left to flush.
struct FileWriter {
    tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
    /// Set once every chunk was sent: the writer syncs only a complete body.
    complete: Arc<std::sync::atomic::AtomicBool>,
    done: tokio::task::JoinHandle<io::Result<std::fs::File>>,
}

/// Chunks queued for the writer (hyper hands over reads of up to ≈400 KiB).
const WRITE_QUEUE: usize = 8;
/// Bytes written between two syncs of an upload in progress.
const SYNC_EVERY: u64 = 16 << 20;

impl FileWriter {
    fn start(mut f: std::fs::File) -> FileWriter {
        use std::io::Write;
        use std::sync::atomic::Ordering;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(WRITE_QUEUE);
        let complete = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done_flag = complete.clone();
        let done = tokio::task::spawn_blocking(move || {
            let mut unsynced = 0u64;
            while let Some(chunk) = rx.blocking_recv() {
                f.write_all(&chunk)?;
                unsynced += chunk.len() as u64;
                if unsynced >= SYNC_EVERY {
                    f.sync_data()?;
                    unsynced = 0;
                }
            }
            if done_flag.load(Ordering::Acquire) {
                f.sync_all()?;
            }
            Ok(f)
        });
        FileWriter {
            tx: Some(tx),
            complete,
            done,
        }
    }

    /// Waits for the writer: the file, written (and synced if `complete`).
    async fn finish(mut self, complete: bool) -> io::Result<std::fs::File> {
        self.complete
            .store(complete, std::sync::atomic::Ordering::Release);
        drop(self.tx.take());
        self.done.await.map_err(io::Error::other)?
    }
}

impl Put for FileWriter {
    async fn put(&mut self, chunk: Bytes) -> Result<(), BlobError> {
        let sent = match &self.tx {
            Some(tx) => tx.send(chunk).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The writer stopped: its error is the one to report.
        drop(self.tx.take());
        match (&mut self.done).await {
            Ok(Err(e)) => Err(e.into()),
            Ok(Ok(_)) => Err(io::Error::other("blob writer stopped").into()),
            Err(e) => Err(io::Error::other(e).into()),
        }
    }
}

/// Feeds `body` to `to` up to `limit` bytes, through `check` and an MD5; returns the
/// size and MD5 once `check` has accepted the whole body.
pub(crate) async fn drain<E: Display>(
    mut body: impl Body<E>,
    limit: u64,
    check: &mut impl Sink,
    to: &mut impl Put,
) -> Result<(u64, [u8; 16]), BlobError> {
    let mut md5 = Md5::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| BlobError::Body(e.to_string()))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(BlobError::TooLarge(limit));
        }
        check.update(&chunk)?;
        md5.update(&chunk);
        to.put(chunk).await?;
    }
    let md5: [u8; 16] = md5.finalize().into();
    check.finish(&md5)?;
    Ok((size, md5))
}

/// Creates `dir` (and missing parents) `0700` and sets `0700` on `dir` itself if it
/// existed with another mode.
fn private_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
}

/// A new file `0600` (created with that mode so it is never wider, then set
/// explicitly so the umask cannot narrow it either).
async fn private_file(path: &Path) -> io::Result<tokio::fs::File> {
    let f = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
        .await?;
    f.set_permissions(Permissions::from_mode(FILE_MODE)).await?;
    Ok(f)
}

impl Blobs {
    /// The local backend: creates the directories under `data_dir`.
    pub fn open(data_dir: &Path) -> io::Result<Blobs> {
        Ok(Blobs(Backend::Local(Local::open(data_dir)?)))
    }

    /// The upstream backend.
    pub fn upstream(u: Upstream) -> Blobs {
        Blobs(Backend::Upstream(Arc::new(u)))
    }

    /// The upstream backend, if this is it.
    /// The bytes of a small blob (`len`: its size), local store only (the fast path
    /// reads small objects whole; `None` on an upstream store).
    pub async fn read_small(&self, id: &str, len: u64) -> Option<io::Result<Bytes>> {
        match &self.0 {
            Backend::Local(l) => Some(l.read_bytes(id, 0, len).await),
            Backend::Upstream(_) => None,
        }
    }

    /// Blobs are local files (not an upstream store).
    pub fn is_local(&self) -> bool {
        matches!(self.0, Backend::Local(_))
    }

    pub fn as_upstream(&self) -> Option<&Upstream> {
        match &self.0 {
            Backend::Upstream(u) => Some(u),
            Backend::Local(_) => None,
        }
    }

    /// Streams `body` to a new blob; fails with [`BlobError::TooLarge`] past `limit`
    /// and with whatever `check` refuses (nothing is stored then).
    pub async fn write<E: Display>(
        &self,
        body: impl Body<E>,
        limit: u64,
        check: &mut impl Sink,
    ) -> Result<Written, BlobError> {
        match &self.0 {
            Backend::Local(l) => l.write(body, limit, check).await,
            Backend::Upstream(u) => u.write(body, limit, check).await,
        }
    }

    /// Writes the concatenation of `sources` (byte ranges of existing blobs) to a new
    /// blob; returns its id and size (the md5 is not meaningful: multipart ETags are
    /// computed from parts).
    pub async fn concat(&self, sources: &[(String, u64, u64)]) -> Result<Written, BlobError> {
        match &self.0 {
            Backend::Local(l) => l.concat(sources).await,
            Backend::Upstream(u) => u.concat(sources).await,
        }
    }

    /// A stream of `len` bytes of blob `id` from `start`.
    pub async fn read(&self, id: &str, start: u64, len: u64) -> io::Result<BlobStream> {
        Ok(match &self.0 {
            Backend::Local(l) => BlobStream::Local(l.read(id, start, len).await?),
            Backend::Upstream(u) => BlobStream::Upstream(u.read(id, start, len).await?),
        })
    }

    /// Removes blobs no longer referenced (best effort: a leftover is an orphan that
    /// a later startup removes).
    pub async fn remove(&self, ids: &[String]) {
        match &self.0 {
            Backend::Local(l) => l.remove(ids).await,
            Backend::Upstream(u) => u.remove(ids).await,
        }
    }

    /// Startup: removes the blobs not in `known` (and, locally, temp files; upstream,
    /// only those older than [`crate::upstream::ORPHAN_GRACE`]). Returns how many.
    pub async fn remove_orphans(&self, known: HashSet<String>) -> io::Result<usize> {
        match &self.0 {
            Backend::Local(l) => {
                let l = l.clone();
                tokio::task::spawn_blocking(move || l.remove_orphans(&known))
                    .await
                    .map_err(io::Error::other)?
            }
            Backend::Upstream(u) => u
                .remove_orphans(&known, crate::upstream::ORPHAN_GRACE)
                .await
                .map_err(io::Error::other),
        }
    }
}

/// A blob's bytes, from either backend.
pub enum BlobStream {
    Local(FileStream),
    Upstream(UpstreamStream),
}

impl Stream for BlobStream {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut() {
            BlobStream::Local(s) => Pin::new(s).poll_next(cx),
            BlobStream::Upstream(s) => Pin::new(s).poll_next(cx),
        }
    }
}

impl Local {
    /// Creates the directories under `data_dir`.
    pub fn open(data_dir: &Path) -> io::Result<Local> {
        let root = data_dir.join("s3");
        let b = Local {
            blobs: root.join("blobs"),
            tmp: root.join("tmp"),
        };
        private_dir(&b.blobs)?;
        private_dir(&b.tmp)?;
        std::fs::set_permissions(&root, Permissions::from_mode(DIR_MODE))?;
        Ok(b)
    }

    pub fn path(&self, id: &str) -> PathBuf {
        self.blobs.join(id)
    }

    /// Streams `body` to a new blob; fails with [`BlobError::TooLarge`] past `limit`
    /// and with whatever `check` refuses.
    pub async fn write<E: Display>(
        &self,
        body: impl Body<E>,
        limit: u64,
        check: &mut impl Sink,
    ) -> Result<Written, BlobError> {
        let id = new_id()?;
        let tmp = self.tmp.join(&id);
        let result = async {
            let f = private_file(&tmp).await?.into_std().await;
            let mut to = FileWriter::start(f);
            let drained = drain(body, limit, check, &mut to).await;
            // The writer stops without syncing when the body was refused.
            let f = to.finish(drained.is_ok()).await;
            let (size, md5) = drained?;
            drop(f?);
            self.publish(&tmp, &id).await?;
            Ok(Written {
                id: id.clone(),
                size,
                md5,
            })
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    /// Writes the concatenation of `sources` (byte ranges of existing blobs) to a new
    /// blob; returns its id and size (no md5: multipart ETags are computed from parts).
    pub async fn concat(&self, sources: &[(String, u64, u64)]) -> Result<Written, BlobError> {
        let id = new_id()?;
        let tmp = self.tmp.join(&id);
        let result = async {
            let mut f = private_file(&tmp).await?;
            let mut size = 0u64;
            for (src, start, len) in sources {
                let mut s = tokio::fs::File::open(self.path(src)).await?;
                s.seek(io::SeekFrom::Start(*start)).await?;
                let mut s = tokio::io::AsyncReadExt::take(s, *len);
                size += tokio::io::copy(&mut s, &mut f).await?;
            }
            self.seal(f, &tmp, &id).await?;
            Ok(Written {
                id: id.clone(),
                size,
                md5: [0; 16],
            })
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    async fn seal(&self, mut f: tokio::fs::File, tmp: &Path, id: &str) -> io::Result<()> {
        f.flush().await?;
        f.sync_all().await?;
        drop(f);
        self.publish(tmp, id).await
    }

    /// Moves the synced temp file `tmp` into `blobs/` as `id`, durably.
    async fn publish(&self, tmp: &Path, id: &str) -> io::Result<()> {
        tokio::fs::rename(tmp, self.path(id)).await?;
        let dir = self.blobs.clone();
        tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
            .await
            .map_err(io::Error::other)?
    }

    /// `len` bytes of blob `id` from `start`, in one blocking call (open + read).
    pub async fn read_bytes(&self, id: &str, start: u64, len: u64) -> io::Result<Bytes> {
        let path = self.path(id);
        tokio::task::spawn_blocking(move || -> io::Result<Bytes> {
            use std::io::{Read, Seek};
            let mut f = std::fs::File::open(path)?;
            if start > 0 {
                f.seek(io::SeekFrom::Start(start))?;
            }
            let mut buf = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
            f.read_exact(&mut buf)?;
            Ok(Bytes::from(buf))
        })
        .await
        .map_err(io::Error::other)?
    }

    /// A stream of `len` bytes of blob `id` from `start`. Small reads are done in
    /// one blocking call (open + read), larger ones stream in chunks.
    pub async fn read(&self, id: &str, start: u64, len: u64) -> io::Result<FileStream> {
        let path = self.path(id);
        if len <= SMALL_READ {
            let bytes = self.read_bytes(id, start, len).await?;
            return Ok(FileStream {
                file: None,
                small: Some(bytes),
                remaining: 0,
            });
        }
        let mut f = tokio::fs::File::open(path).await?;
        if start > 0 {
            f.seek(io::SeekFrom::Start(start)).await?;
        }
        Ok(FileStream {
            file: Some(f),
            small: None,
            remaining: len,
        })
    }

    /// Removes blobs no longer referenced (best effort: a leftover is an orphan that
    /// the next startup removes).
    pub async fn remove(&self, ids: &[String]) {
        for id in ids {
            if let Err(e) = tokio::fs::remove_file(self.path(id)).await {
                tracing::warn!(blob = %id, error = %e, "could not remove blob");
            }
        }
    }

    /// Startup: removes temp files and every blob not in `known`. Returns how many.
    pub fn remove_orphans(&self, known: &HashSet<String>) -> io::Result<usize> {
        let mut n = 0;
        for entry in std::fs::read_dir(&self.tmp)? {
            std::fs::remove_file(entry?.path())?;
            n += 1;
        }
        for entry in std::fs::read_dir(&self.blobs)? {
            let entry = entry?;
            let name = entry.file_name();
            if !known.contains(name.to_string_lossy().as_ref()) {
                std::fs::remove_file(entry.path())?;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// A random 128-bit hex id.
pub fn new_id() -> io::Result<String> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).map_err(io::Error::other)?;
    Ok(hex(&b))
}

pub fn hex(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(H[usize::from(x >> 4)] as char);
        s.push(H[usize::from(x & 15)] as char);
    }
    s
}

/// A blob's bytes as a stream of chunks.
pub struct FileStream {
    file: Option<tokio::fs::File>,
    small: Option<Bytes>,
    remaining: u64,
}

impl Stream for FileStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(b) = self.small.take() {
            return Poll::Ready(if b.is_empty() { None } else { Some(Ok(b)) });
        }
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let remaining = self.remaining;
        let Some(file) = self.file.as_mut() else {
            return Poll::Ready(None);
        };
        let n = usize::try_from(remaining).map_or(READ_CHUNK, |r| r.min(READ_CHUNK));
        let mut buf = vec![0u8; n];
        let mut rb = ReadBuf::new(&mut buf);
        match Pin::new(file).poll_read(cx, &mut rb) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => {
                let got = rb.filled().len();
                if got == 0 {
                    return Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "blob shorter than its metadata",
                    ))));
                }
                self.remaining -= got as u64;
                buf.truncate(got);
                Poll::Ready(Some(Ok(Bytes::from(buf))))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).map(|m| m.mode() & 0o777).unwrap_or(0)
    }

    fn body(data: &'static [u8]) -> impl Stream<Item = io::Result<Bytes>> + Unpin {
        futures_util::stream::iter(vec![Ok(Bytes::from_static(data))])
    }

    fn scratch() -> PathBuf {
        let root = std::env::temp_dir().join(format!("iamd-blobs-test-{}", new_id().unwrap()));
        std::fs::create_dir_all(&root).unwrap();
        root
    }

    #[tokio::test]
    async fn files_are_0600_and_directories_0700() {
        let root = scratch();
        // A pre-existing, world-readable blobs directory is tightened.
        std::fs::create_dir_all(root.join("s3/blobs")).unwrap();
        std::fs::set_permissions(root.join("s3/blobs"), Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(root.join("s3"), Permissions::from_mode(0o777)).unwrap();
        let b = Local::open(&root).unwrap();
        for d in ["s3", "s3/blobs", "s3/tmp"] {
            assert_eq!(mode(&root.join(d)), 0o700, "{d}");
        }
        let w = b.write(body(b"data"), 100, &mut ()).await.unwrap();
        assert_eq!(mode(&b.path(&w.id)), 0o600);
        let c = b.concat(&[(w.id.clone(), 0, 4)]).await.unwrap();
        assert_eq!(mode(&b.path(&c.id)), 0o600);
        std::fs::remove_dir_all(&root).unwrap();
    }

    struct Refuse;

    impl Sink for Refuse {
        fn update(&mut self, _: &[u8]) -> Result<(), BlobError> {
            Ok(())
        }

        fn finish(&mut self, _: &[u8; 16]) -> Result<(), BlobError> {
            Err(BlobError::Refused(s3s::s3_error!(BadDigest)))
        }
    }

    #[tokio::test]
    async fn a_refused_body_leaves_no_file() {
        let root = scratch();
        let b = Local::open(&root).unwrap();
        let r = b.write(body(b"data"), 100, &mut Refuse).await;
        assert!(matches!(r, Err(BlobError::Refused(_))));
        for d in ["s3/blobs", "s3/tmp"] {
            assert_eq!(std::fs::read_dir(root.join(d)).unwrap().count(), 0, "{d}");
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A body of many chunks, past the in-progress sync interval: stored byte for byte,
    /// with its MD5; a body cut midway (or too large) leaves nothing behind.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_bodies_are_written_whole_or_not_at_all() {
        let root = scratch();
        let b = Local::open(&root).unwrap();
        let chunk: Vec<u8> = (0..(300 * 1024)).map(|i| (i % 251) as u8).collect();
        let n = usize::try_from(SYNC_EVERY).unwrap() / chunk.len() + 3;
        let data = Bytes::from(chunk.clone());
        let chunks = |k: usize| {
            (0..k)
                .map(|_| Ok::<_, io::Error>(data.clone()))
                .collect::<Vec<_>>()
        };
        let w = b
            .write(futures_util::stream::iter(chunks(n)), u64::MAX, &mut ())
            .await
            .unwrap();
        let stored = std::fs::read(b.path(&w.id)).unwrap();
        assert_eq!(stored.len(), n * chunk.len());
        assert!(stored.chunks(chunk.len()).all(|c| c == chunk.as_slice()));
        assert_eq!(w.size, stored.len() as u64);
        assert_eq!(w.md5, <[u8; 16]>::from(Md5::digest(&stored)));

        let mut cut = chunks(4);
        cut.push(Err(io::Error::other("connection reset")));
        let r = b
            .write(futures_util::stream::iter(cut), u64::MAX, &mut ())
            .await;
        assert!(matches!(r, Err(BlobError::Body(_))), "{r:?}");
        let r = b
            .write(futures_util::stream::iter(chunks(4)), 1 << 20, &mut ())
            .await;
        assert!(matches!(r, Err(BlobError::TooLarge(_))), "{r:?}");
        assert_eq!(std::fs::read_dir(root.join("s3/tmp")).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(root.join("s3/blobs")).unwrap().count(), 1);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
