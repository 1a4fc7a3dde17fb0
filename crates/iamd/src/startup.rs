//! `iamd serve`: resolve the configuration, prepare the data directory, open the
//! store, create the account on first start, and run the listener until SIGTERM.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use iamd_iam::crypto::MasterKey;

use crate::config::{Config, ServeArgs};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("store: {0}")]
    Store(String),
    #[error("account setup: {0}")]
    Account(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("s3: {0}")]
    S3(String),
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
}

pub fn run(args: ServeArgs) -> ExitCode {
    let config = match Config::resolve(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("iamd: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("iamd: {}", StartError::Runtime(e));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("iamd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(log_directives(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(log_directives("info")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The user's filter, with s3s's own logging off unless the filter names s3s: s3s
/// logs every refused request at ERROR (twice), which any client could use to flood
/// the log; `s3.rs` logs each S3 request once, by status.
fn log_directives(filter: &str) -> String {
    let names_s3s = filter.split(',').any(|d| {
        let target = d.trim().split(['=', '[']).next().unwrap_or("");
        target == "s3s" || target.starts_with("s3s::")
    });
    if names_s3s {
        filter.to_string()
    } else {
        format!("{filter},s3s=off")
    }
}

async fn serve(config: Config) -> Result<(), StartError> {
    let dir = &config.data_dir;
    create_private_dir(dir)?;
    let master = load_master_key(dir)?;
    let url = match &config.database_url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", dir.join("iamd.db").display()),
    };
    let store = iamd_store::AnyStore::open(&url)
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    let root_env = match (
        std::env::var("IAMD_ROOT_ACCESS_KEY_ID"),
        std::env::var("IAMD_ROOT_SECRET_ACCESS_KEY"),
    ) {
        (Ok(id), Ok(secret)) => Some((id, secret)),
        _ => None,
    };
    let init = iamd_iam::InitOptions {
        account_id: config.account_id.clone(),
        root_key: root_env,
    };
    let s3_store = store.clone();
    let (iam, report) = iamd_iam::Iam::open(store, master, init)
        .await
        .map_err(|e| StartError::Account(e.to_string()))?;
    let cred_file = dir.join("root-credentials");
    if let Some((id, secret)) = &report.generated_root_key {
        write_private_file(
            &cred_file,
            format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n")
                .as_bytes(),
        )
        .map_err(|source| StartError::DataDir {
            path: cred_file.clone(),
            source,
        })?;
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
    let local = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.listen,
        source,
    })?;
    let account = iam.account_id().to_string();
    // S3: remove blobs a crash left without metadata, then build the service.
    let orphans = iamd_s3::remove_orphans(&s3_store, dir)
        .await
        .map_err(|e| StartError::S3(e.to_string()))?;
    if orphans > 0 {
        tracing::info!(orphans, "removed S3 blobs left by an interrupted write");
    }
    crate::s3::set_body_timeout(config.s3_body_timeout);
    let s3 = iamd_s3::service(iam.clone(), s3_store, dir, config.domain.as_deref())
        .map_err(|e| StartError::S3(e.to_string()))?;
    let app = Arc::new(crate::app::App::new(iam).with_s3(s3));
    tracing::info!(endpoint = %format!("http://{local}"), account = %account, data_dir = %dir.display(), "iamd listening");
    let creds_note = if report.root_key_from_env {
        "root access key from IAMD_ROOT_ACCESS_KEY_ID".to_string()
    } else {
        format!("root credentials in {}", cred_file.display())
    };
    println!("iamd listening on http://{local} (account {account}; {creds_note})");
    let _ = std::io::stdout().flush();
    crate::http::serve(listener, app.clone(), crate::http::shutdown_signal()).await;
    app.shutdown().await;
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), StartError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StartError::DataDir {
            path: dir.to_path_buf(),
            source,
        })
}

/// `IAMD_MASTER_KEY` (64 hex characters) wins; otherwise `<data-dir>/master.key`,
/// created with mode 0600 on first start.
fn load_master_key(dir: &Path) -> Result<MasterKey, StartError> {
    if let Ok(hex) = std::env::var("IAMD_MASTER_KEY") {
        return MasterKey::from_hex(&hex)
            .map_err(|e| StartError::MasterKey(format!("IAMD_MASTER_KEY: {e}")));
    }
    let path = dir.join("master.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => MasterKey::from_hex(&text)
            .map_err(|e| StartError::MasterKey(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (key, hex) =
                MasterKey::generate().map_err(|e| StartError::MasterKey(e.to_string()))?;
            write_private_file(&path, format!("{hex}\n").as_bytes()).map_err(|source| {
                StartError::DataDir {
                    path: path.clone(),
                    source,
                }
            })?;
            Ok(key)
        }
        Err(source) => Err(StartError::DataDir { path, source }),
    }
}

/// Writes a file readable only by its owner, durably (fsync of file and directory).
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::log_directives;

    #[test]
    fn s3s_logs_are_off_unless_named() {
        assert_eq!(log_directives("info"), "info,s3s=off");
        assert_eq!(log_directives("iamd=debug"), "iamd=debug,s3s=off");
        assert_eq!(log_directives("info,s3s=error"), "info,s3s=error");
        assert_eq!(log_directives("s3s::ops=debug"), "s3s::ops=debug");
        assert_eq!(log_directives("s3sx=debug"), "s3sx=debug,s3s=off");
    }
}
