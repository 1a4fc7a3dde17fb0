//! Where `iamd serve` keeps S3 object bytes: the data directory (default) or an
//! upstream S3-compatible store (`--s3-upstream-*`, [`iamd_s3::upstream`]), and the
//! startup sweep of blobs a crash left without metadata.
//!
//! The upstream credentials come from `IAMD_S3_UPSTREAM_ACCESS_KEY_ID` /
//! `IAMD_S3_UPSTREAM_SECRET_ACCESS_KEY` (/ `IAMD_S3_UPSTREAM_SESSION_TOKEN`) or from
//! `--s3-upstream-credentials-file` (owner-only, as the master key); never from a
//! flag (visible to `ps`), never logged.

use std::path::Path;

use iamd_s3::blobs::Blobs;
use iamd_s3::upstream::{Upstream, UpstreamConfig};
use iamd_store::AnyStore;

use crate::config::{Config, S3Upstream};
use crate::startup::StartError;

const CREDENTIALS_FILE: (&str, &str) = ("upstream credentials file", "a secret key");

/// The blob backend `config` names, with its orphans removed: synchronously for the
/// local directory (as before), in the background for an upstream (a listing of the
/// whole bucket may be long; a first listing request is made before serving, so a
/// wrong endpoint, bucket or key stops the start with a clear error).
pub(crate) async fn open(config: &Config, store: &AnyStore) -> Result<Blobs, StartError> {
    let s3_err = |e: &dyn std::fmt::Display| StartError::S3(e.to_string());
    let Some(up) = &config.s3_upstream else {
        let blobs = Blobs::open(&config.data_dir).map_err(|e| s3_err(&e))?;
        let orphans = iamd_s3::remove_orphans(store, &blobs)
            .await
            .map_err(|e| s3_err(&e))?;
        if orphans > 0 {
            tracing::info!(orphans, "removed S3 blobs left by an interrupted write");
        }
        return Ok(blobs);
    };
    let c = upstream_config(up)?;
    let u = Upstream::new(&c).map_err(|e| s3_err(&e))?;
    u.probe().await.map_err(|e| {
        StartError::S3(format!(
            "upstream bucket {:?} at {}: {e}",
            up.bucket, up.endpoint
        ))
    })?;
    tracing::info!(endpoint = %up.endpoint, bucket = %up.bucket, prefix = %up.prefix, "S3 object bytes on an upstream store");
    let blobs = Blobs::upstream(u);
    let (sweep, s) = (blobs.clone(), store.clone());
    tokio::spawn(async move {
        match iamd_s3::remove_orphans(&s, &sweep).await {
            Ok(orphans) => tracing::info!(
                orphans,
                "upstream orphan sweep done (removed unreferenced blobs left by interrupted writes)"
            ),
            Err(e) => tracing::warn!(error = %e, "upstream orphan sweep failed"),
        }
    });
    Ok(blobs)
}

fn upstream_config(up: &S3Upstream) -> Result<UpstreamConfig, StartError> {
    let (access_key_id, secret_access_key, session_token) = match &up.credentials_file {
        Some(path) => from_file(path)?,
        None => from_env()?,
    };
    Ok(UpstreamConfig {
        endpoint: up.endpoint.clone(),
        bucket: up.bucket.clone(),
        region: up.region.clone(),
        prefix: up.prefix.clone(),
        access_key_id,
        secret_access_key,
        session_token,
    })
}

type Credentials = (String, String, Option<String>);

fn from_env() -> Result<Credentials, StartError> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (
        var("IAMD_S3_UPSTREAM_ACCESS_KEY_ID"),
        var("IAMD_S3_UPSTREAM_SECRET_ACCESS_KEY"),
    ) {
        (Some(id), Some(secret)) => Ok((id, secret, var("IAMD_S3_UPSTREAM_SESSION_TOKEN"))),
        _ => Err(StartError::S3(
            "--s3-upstream-endpoint needs credentials: IAMD_S3_UPSTREAM_ACCESS_KEY_ID and IAMD_S3_UPSTREAM_SECRET_ACCESS_KEY, or --s3-upstream-credentials-file".into(),
        )),
    }
}

fn from_file(path: &Path) -> Result<Credentials, StartError> {
    let io_err = |source| StartError::DataDir {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    crate::startup::check_private(&meta, CREDENTIALS_FILE, path, "600")?;
    let text = std::fs::read_to_string(path).map_err(io_err)?;
    parse_credentials(&text).ok_or_else(|| {
        StartError::S3(format!(
            "{}: needs aws_access_key_id and aws_secret_access_key lines",
            path.display()
        ))
    })
}

/// `key = value` lines of the AWS shared-credentials format (section headers and
/// comments skipped; the first value of a key wins).
fn parse_credentials(text: &str) -> Option<Credentials> {
    let mut id = None;
    let mut secret = None;
    let mut token = None;
    for line in text.lines().map(str::trim) {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        if v.is_empty() || line.starts_with(['#', ';', '[']) {
            continue;
        }
        let slot = match k.trim() {
            "aws_access_key_id" => &mut id,
            "aws_secret_access_key" => &mut secret,
            "aws_session_token" => &mut token,
            _ => continue,
        };
        slot.get_or_insert_with(|| v.to_string());
    }
    Some((id?, secret?, token))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn credentials_file_format() {
        let c = parse_credentials(
            "[default]\n# note\naws_access_key_id = AKID\naws_secret_access_key=s/e=c\n",
        )
        .unwrap();
        assert_eq!(c, ("AKID".into(), "s/e=c".into(), None));
        let c = parse_credentials(
            "aws_access_key_id = A\naws_secret_access_key = B\naws_session_token = T\n",
        )
        .unwrap();
        assert_eq!(c.2.as_deref(), Some("T"));
        assert!(parse_credentials("aws_access_key_id = A\n").is_none());
        assert!(parse_credentials("aws_access_key_id = A\naws_secret_access_key =\n").is_none());
    }
}
