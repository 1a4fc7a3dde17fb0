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
    /// A secret-holding path that group or others may access (the ssh rule).
    #[error(
        "permissions {mode:04o} for {what} {path} are too open (it holds {holds}): it must be accessible by its owner only; refusing to start. Fix: chmod {fix} {quoted}",
        quoted = shell_quote(path)
    )]
    TooOpen {
        what: &'static str,
        holds: &'static str,
        path: PathBuf,
        mode: u32,
        fix: &'static str,
    },
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
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
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

/// The tokio runtime of a command (`None`, the error printed: none could be built).
pub(crate) fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("iamd: {}", StartError::Runtime(e));
            None
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

/// The database URL the configuration names (default: SQLite in the data dir).
fn database_url(config: &Config) -> String {
    match &config.database_url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", config.data_dir.join("iamd.db").display()),
    }
}

/// The text of a root credentials file (an aws CLI credentials profile).
pub(crate) fn credentials_file(id: &str, secret: &str) -> String {
    format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n")
}

/// The service over the store of a server that has started before (`iamd account`):
/// the data directory must exist and be private, the master key must exist (none is
/// created), and the store must hold the first account.
pub(crate) async fn open_existing(
    config: &Config,
) -> Result<(iamd_iam::Iam<iamd_store::AnyStore>, PathBuf), StartError> {
    let dir = &config.data_dir;
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => check_private(&meta, DATA_DIR, dir, "700")?,
        Ok(_) => {
            return Err(StartError::DataDir {
                path: dir.clone(),
                source: std::io::Error::other("not a directory"),
            })
        }
        Err(source) => {
            return Err(StartError::DataDir {
                path: dir.clone(),
                source,
            })
        }
    }
    let never_started = || {
        StartError::Account(
            "the store holds no account yet: start the server once (iamd serve) first".into(),
        )
    };
    // The default SQLite file is not created here.
    if config.database_url.is_none() && !dir.join("iamd.db").exists() {
        return Err(never_started());
    }
    let store = iamd_store::AnyStore::open(&database_url(config))
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    use iamd_store::Store;
    let first = store
        .load()
        .await
        .map_err(|e| StartError::Store(e.to_string()))?
        .account;
    if first.is_none() {
        return Err(never_started());
    }
    let master = config_master_key(config, false)?;
    // Nothing is written to the first account here (a root key generated now would
    // have no one to be shown to).
    let init = iamd_iam::InitOptions {
        existing_only: true,
        ..Default::default()
    };
    let (iam, _) = iamd_iam::Iam::open(store, master, init)
        .await
        .map_err(|e| StartError::Account(e.to_string()))?;
    Ok((iam, dir.clone()))
}

/// `IAMD_ROOT_ACCESS_KEY_ID` and `IAMD_ROOT_SECRET_ACCESS_KEY`, if both are set.
fn root_key_from_env() -> Option<(String, String)> {
    match (
        std::env::var("IAMD_ROOT_ACCESS_KEY_ID"),
        std::env::var("IAMD_ROOT_SECRET_ACCESS_KEY"),
    ) {
        (Ok(id), Ok(secret)) => Some((id, secret)),
        _ => None,
    }
}

async fn bind(
    config: &Config,
) -> Result<(tokio::net::TcpListener, std::net::SocketAddr), StartError> {
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
    Ok((listener, local))
}

/// `--ephemeral`: everything in memory but S3 objects, which go to a temporary
/// directory removed at exit (`test_mode.rs`).
async fn serve_ephemeral(config: Config) -> Result<(), StartError> {
    // Before the temporary directory exists: a SIGTERM from now on removes it.
    let shutdown = crate::http::shutdown_signal();
    let root_key = root_key_from_env();
    let from_env = root_key.is_some();
    let ephemeral = crate::test_mode::Ephemeral::create(&config, root_key)?;
    let served = ephemeral.build().await?;
    let (listener, local) = bind(&config).await?;
    let account = served.iam.account_id().to_string();
    crate::s3::set_body_timeout(config.s3_body_timeout);
    let app = crate::app::App::from_served(served);
    let tmp = ephemeral.dir().display().to_string();
    let ephemeral = Arc::new(ephemeral);
    if config.test_mode {
        ephemeral.start_spare();
    }
    let app = Arc::new(app.with_ephemeral(ephemeral));
    if config.test_mode {
        tracing::warn!(endpoint = %format!("http://{local}"), "TEST MODE: any access key this server does not hold is the root of account {account}, whatever its secret; /moto-api/reset and /moto-api/reset-auth answer. Never use this outside tests.");
    }
    tracing::info!(endpoint = %format!("http://{local}"), account = %account, s3_objects = %tmp, "iamd listening (ephemeral)");
    let creds_note = if from_env {
        "root access key from IAMD_ROOT_ACCESS_KEY_ID"
    } else if config.test_mode {
        "test mode: any unknown access key is the root"
    } else {
        "no root key given: set IAMD_ROOT_ACCESS_KEY_ID and IAMD_ROOT_SECRET_ACCESS_KEY"
    };
    println!("iamd listening on http://{local} (account {account}; ephemeral; {creds_note})");
    let _ = std::io::stdout().flush();
    crate::http::serve(listener, app.clone(), shutdown).await;
    app.shutdown().await;
    Ok(())
}

async fn serve(config: Config) -> Result<(), StartError> {
    if config.ephemeral {
        return serve_ephemeral(config).await;
    }
    let dir = &config.data_dir;
    create_private_dir(dir)?;
    let master = config_master_key(&config, true)?;
    let store = iamd_store::AnyStore::open(&database_url(&config))
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    let root_env = root_key_from_env();
    // A root key generated now is in its file before it is committed (shown once).
    let cred_file = dir.join("root-credentials");
    let keep = {
        let path = cred_file.clone();
        iamd_iam::KeepRootKey(Arc::new(move |id: &str, secret: &str| {
            write_private_file(&path, credentials_file(id, secret).as_bytes())
                .map_err(|e| format!("{}: {e}", path.display()))
        }))
    };
    let init = iamd_iam::InitOptions {
        account_id: config.account_id.clone(),
        root_key: root_env,
        existing_only: false,
        keep_root_key: Some(keep),
    };
    let s3_store = store.clone();
    let (iam, report) = iamd_iam::Iam::open(store, master, init)
        .await
        .map_err(|e| StartError::Account(e.to_string()))?;
    if iamd_store::Store::shared(&s3_store) {
        // Several nodes share the database: show the others' writes as they commit.
        iam.follow();
    }
    // S3: the blob backend (orphans a crash left removed; an upstream checked) before
    // listening, then the service.
    let blobs = crate::objects::open(&config, &s3_store).await?;
    let (listener, local) = bind(&config).await?;
    let account = iam.account_id().to_string();
    let accounts = iam.account_ids().len();
    crate::s3::set_body_timeout(config.s3_body_timeout);
    let s3 = iamd_s3::service(iam.clone(), s3_store, blobs, config.domain.as_deref())
        .map_err(|e| StartError::S3(e.to_string()))?;
    tokio::spawn(s3.lifecycle_task(config.s3_lifecycle_interval));
    if config.test_mode {
        iam.enable_test_mode();
        tracing::warn!(endpoint = %format!("http://{local}"), "TEST MODE on a store on disk (--i-know-this-is-insecure): any access key this server does not hold is the root of account {account}, whatever its secret. Never use this outside tests.");
    }
    let app = Arc::new(crate::app::App::new(iam).with_s3(s3));
    tracing::info!(endpoint = %format!("http://{local}"), account = %account, accounts, data_dir = %dir.display(), "iamd listening");
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

/// Creates the data directory with mode 0700 (whatever the umask), or checks that an
/// existing one is accessible by its owner only: it holds the database, usually the
/// master key, and the objects.
fn create_private_dir(dir: &Path) -> Result<(), StartError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let io_err = |source| StartError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => check_private(&meta, DATA_DIR, dir, "700"),
        Ok(_) => Err(io_err(std::io::Error::other("not a directory"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io_err)?;
            // The umask may have taken bits away (or a racing creator made it):
            // set exactly 0700.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io_err)
        }
        Err(e) => Err(io_err(e)),
    }
}

const DATA_DIR: (&str, &str) = (
    "data directory",
    "the database, the objects and by default the master key",
);
const KEY_FILE: (&str, &str) = ("master key file", "the key to every stored secret");

/// Refuses a path that group or others may read, write or enter.
pub(crate) fn check_private(
    meta: &std::fs::Metadata,
    (what, holds): (&'static str, &'static str),
    path: &Path,
    fix: &'static str,
) -> Result<(), StartError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(StartError::TooOpen {
            what,
            holds,
            path: path.to_path_buf(),
            mode,
            fix,
        });
    }
    Ok(())
}

/// `path` as a shell word (for the `chmod` hint).
fn shell_quote(path: &Path) -> String {
    let s = path.display().to_string();
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@%".contains(&b));
    if plain {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The master key `config` names ([`load_master_key`] with its data directory, key
/// file and rotation period).
fn config_master_key(config: &Config, create: bool) -> Result<MasterKey, StartError> {
    load_master_key(
        &config.data_dir,
        config.master_key_file.as_deref(),
        create,
        config.session_key_rotation.as_secs(),
    )
}

/// `IAMD_MASTER_KEY` (64 hex characters), or the key file: `key_file` if configured,
/// else `<data-dir>/master.key`. A missing key file is created (mode 0600) with a new
/// key (unless `create` is false: an error then); an existing one must be accessible
/// by its owner only. Its session-token key rotates every `period` seconds (the
/// keyring is derived once, for that period).
fn load_master_key(
    dir: &Path,
    key_file: Option<&Path>,
    create: bool,
    period: u64,
) -> Result<MasterKey, StartError> {
    if let Ok(hex) = std::env::var("IAMD_MASTER_KEY") {
        if let Some(file) = key_file {
            return Err(StartError::MasterKey(format!(
                "both IAMD_MASTER_KEY and a master key file ({}) are set: use one",
                file.display()
            )));
        }
        return MasterKey::from_hex_rotating(&hex, period)
            .map_err(|e| StartError::MasterKey(format!("IAMD_MASTER_KEY: {e}")));
    }
    let path = key_file.map_or_else(|| dir.join("master.key"), Path::to_path_buf);
    let io_err = |source| StartError::DataDir {
        path: path.clone(),
        source,
    };
    match std::fs::File::open(&path) {
        Ok(file) => {
            use std::io::Read;
            // The mode of the file actually opened (no window for a swap).
            let meta = file.metadata().map_err(io_err)?;
            if !meta.is_file() {
                return Err(io_err(std::io::Error::other("not a regular file")));
            }
            check_private(&meta, KEY_FILE, &path, "600")?;
            let mut text = String::new();
            file.take(4096).read_to_string(&mut text).map_err(io_err)?;
            MasterKey::from_hex_rotating(&text, period)
                .map_err(|e| StartError::MasterKey(format!("{}: {e}", path.display())))
        }
        Err(e) if create && e.kind() == std::io::ErrorKind::NotFound => {
            let (key, hex) = MasterKey::generate_rotating(period)
                .map_err(|e| StartError::MasterKey(e.to_string()))?;
            write_private_file(&path, format!("{hex}\n").as_bytes()).map_err(io_err)?;
            Ok(key)
        }
        Err(e) => Err(io_err(e)),
    }
}

/// Writes a file readable only by its owner (mode 0600 whatever the umask), durably
/// (fsync of file and directory).
pub(crate) fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_private(path, contents, true)
}

/// [`write_private_file`] for a file that must not exist yet: an existing `path`
/// (a file, a directory, anything) is `AlreadyExists` and left as it is.
pub(crate) fn write_new_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_private(path, contents, false)
}

fn write_private(path: &Path, contents: &[u8], replace: bool) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        // A leftover temporary file keeps its old mode: set it.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(contents)?;
        f.sync_all()?;
    }
    if replace {
        std::fs::rename(&tmp, path)?;
    } else {
        // A hard link never replaces what is there; the temporary name goes after.
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        linked?;
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn s3s_logs_are_off_unless_named() {
        assert_eq!(log_directives("info"), "info,s3s=off");
        assert_eq!(log_directives("iamd=debug"), "iamd=debug,s3s=off");
        assert_eq!(log_directives("info,s3s=error"), "info,s3s=error");
        assert_eq!(log_directives("s3s::ops=debug"), "s3s::ops=debug");
        assert_eq!(log_directives("s3sx=debug"), "s3sx=debug,s3s=off");
    }

    const DAY: u64 = 86_400;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("iamd-startup-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        d
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn data_dir_is_created_private_and_an_open_one_refused() {
        let base = scratch("dir");
        let fresh = base.join("a/b");
        create_private_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        create_private_dir(&fresh).unwrap();
        std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o750)).unwrap();
        match create_private_dir(&fresh) {
            Err(e @ StartError::TooOpen { mode: 0o750, .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.starts_with("permissions 0750 for data directory "),
                    "{msg}"
                );
                assert!(
                    msg.ends_with(&format!("Fix: chmod 700 {}", fresh.display())),
                    "{msg}"
                );
            }
            other => panic!("{other:?}"),
        }
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn private_files_are_0600_even_over_a_leftover_temporary() {
        let base = scratch("file");
        let f = base.join("root-credentials");
        let tmp = base.join("root-credentials.tmp");
        std::fs::write(&tmp, "old").unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private_file(&f, b"x").unwrap();
        assert_eq!(mode(&f), 0o600);
        assert!(!tmp.exists());
        // A key file that others may read is refused; a private one loads.
        let key = base.join("k");
        let _ = load_master_key(&base, Some(&key), true, DAY).unwrap();
        assert_eq!(mode(&key), 0o600);
        load_master_key(&base, Some(&key), true, DAY).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o604)).unwrap();
        assert!(matches!(
            load_master_key(&base, Some(&key), true, DAY),
            Err(StartError::TooOpen { mode: 0o604, .. })
        ));
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_quote(Path::new("/var/lib/iamd")), "/var/lib/iamd");
        assert_eq!(shell_quote(Path::new("/a b/it's")), "'/a b/it'\\''s'");
    }
}
