//! Configuration: flags first, then `IAMD_*` environment variables (both handled by
//! clap), then an optional TOML file for whatever is still unset. Unknown TOML keys
//! are an error.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9911";
pub const DEFAULT_DATA_DIR: &str = "./iamd-data";
/// Seconds, as for the Query protocol's body timeout.
pub const DEFAULT_S3_BODY_TIMEOUT: u64 = 10;
const MAX_S3_BODY_TIMEOUT: u64 = 3600;
/// Seconds between two passes of the S3 lifecycle rules (an hour; at most a day).
pub const DEFAULT_S3_LIFECYCLE_INTERVAL: u64 = 3600;
const MAX_S3_LIFECYCLE_INTERVAL: u64 = 86_400;
/// Hours, as for the session-token key rotation period (a day).
pub const DEFAULT_SESSION_KEY_ROTATION_HOURS: u64 = 24;
/// The longest rotation period: a year.
const MAX_SESSION_KEY_ROTATION_HOURS: u64 = 366 * 24;

/// `iamd serve` options as given on the command line or in the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (IAM, STS and S3 share it).
    #[arg(long, env = "IAMD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the database, the master key and object data.
    #[arg(long, env = "IAMD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (`sqlite:///path/iamd.db` or `postgres://…`); default: SQLite in the data dir.
    #[arg(long, env = "IAMD_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Account id used on first start (12 digits); random if unset.
    #[arg(long, env = "IAMD_ACCOUNT_ID")]
    pub account_id: Option<String>,
    /// Master key file (64 hex characters, mode 0600; created if missing); default:
    /// `<data-dir>/master.key`. Keeping it outside the data directory is recommended.
    #[arg(long, env = "IAMD_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// TOML configuration file (keys: listen, data_dir, database_url, account_id,
    /// master_key_file, log, domain, s3_body_timeout, s3_lifecycle_interval,
    /// session_key_rotation_hours).
    #[arg(long, env = "IAMD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `iamd=debug`.
    #[arg(long, env = "IAMD_LOG")]
    pub log: Option<String>,
    /// S3 virtual-hosted style: `BUCKET.DOMAIN` names the bucket (path style always
    /// works).
    #[arg(long, env = "IAMD_DOMAIN")]
    pub domain: Option<String>,
    /// Seconds an S3 request body may go without delivering a byte before the
    /// request fails with `RequestTimeout` (default 10).
    #[arg(long, env = "IAMD_S3_BODY_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..=MAX_S3_BODY_TIMEOUT))]
    pub s3_body_timeout: Option<u64>,
    /// Seconds between two passes applying the buckets' lifecycle rules (expiring
    /// objects, aborting unfinished uploads); default 3600.
    #[arg(long, env = "IAMD_S3_LIFECYCLE_INTERVAL", value_parser = clap::value_parser!(u64).range(1..=MAX_S3_LIFECYCLE_INTERVAL))]
    pub s3_lifecycle_interval: Option<u64>,
    /// Hours between session-token key rotations (default 24): the key generation is
    /// counted in whole periods since the unix epoch, so every node must use the same
    /// value; a retired key still opens its tokens for 36 h.
    #[arg(long, env = "IAMD_SESSION_KEY_ROTATION_HOURS", value_parser = clap::value_parser!(u64).range(1..=MAX_SESSION_KEY_ROTATION_HOURS))]
    pub session_key_rotation_hours: Option<u64>,
    /// Keep nothing on disk: the database in memory, S3 objects in a temporary
    /// directory removed at exit (for test suites).
    #[arg(long, env = "IAMD_EPHEMERAL", value_parser = clap::builder::BoolishValueParser::new())]
    pub ephemeral: bool,
    /// Test mode (moto's conventions, for test suites): a key this server does not
    /// hold is the root of the default account whatever its secret; keys it issued
    /// keep their identity and permissions; `/moto-api/reset` and
    /// `/moto-api/reset-auth` answer. Needs `--ephemeral` and a loopback address.
    #[arg(long, env = "IAMD_TEST_MODE", value_parser = clap::builder::BoolishValueParser::new())]
    pub test_mode: bool,
    /// Allow `--test-mode` without `--ephemeral` or on a non-loopback address.
    #[arg(long)]
    pub i_know_this_is_insecure: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    account_id: Option<String>,
    master_key_file: Option<PathBuf>,
    log: Option<String>,
    domain: Option<String>,
    s3_body_timeout: Option<u64>,
    s3_lifecycle_interval: Option<u64>,
    session_key_rotation_hours: Option<u64>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub account_id: Option<String>,
    pub master_key_file: Option<PathBuf>,
    pub log: String,
    pub domain: Option<String>,
    /// How long an S3 request body may stall (no byte received).
    pub s3_body_timeout: Duration,
    /// How often the S3 lifecycle rules are applied.
    pub s3_lifecycle_interval: Duration,
    /// The session-token key rotation period.
    pub session_key_rotation: Duration,
    /// Nothing on disk (`--ephemeral`).
    pub ephemeral: bool,
    /// Test mode (`--test-mode`).
    pub test_mode: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid account id {0:?}: must be 12 digits")]
    AccountId(String),
    #[error("invalid default listen address")]
    Listen,
    #[error("invalid s3_body_timeout {0}: must be 1 to {MAX_S3_BODY_TIMEOUT} seconds")]
    S3BodyTimeout(u64),
    #[error("invalid s3_lifecycle_interval {0}: must be 1 to {MAX_S3_LIFECYCLE_INTERVAL} seconds")]
    S3LifecycleInterval(u64),
    #[error(
        "invalid session_key_rotation_hours {0}: must be 1 to {MAX_SESSION_KEY_ROTATION_HOURS} hours"
    )]
    SessionKeyRotation(u64),
    #[error("--test-mode needs --ephemeral (or --i-know-this-is-insecure): it makes any unknown key the root of the account")]
    TestModeNotEphemeral,
    #[error("--test-mode listens on loopback addresses only, not {0} (or give --i-know-this-is-insecure): it makes any unknown key the root of the account")]
    TestModeNotLoopback(SocketAddr),
    #[error("--ephemeral keeps the database in memory: it cannot be used with a database URL")]
    EphemeralDatabase,
}

impl Config {
    pub fn resolve(args: ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let listen = match args.listen.or(file.listen) {
            Some(a) => a,
            None => DEFAULT_LISTEN.parse().map_err(|_| ConfigError::Listen)?,
        };
        let account_id = args.account_id.or(file.account_id);
        if let Some(id) = &account_id {
            if !iamd_iam::is_account_id(id) {
                return Err(ConfigError::AccountId(id.clone()));
            }
        }
        let database_url = args.database_url.or(file.database_url);
        if args.ephemeral && database_url.is_some() {
            return Err(ConfigError::EphemeralDatabase);
        }
        if args.test_mode && !args.i_know_this_is_insecure {
            if !args.ephemeral {
                return Err(ConfigError::TestModeNotEphemeral);
            }
            if !listen.ip().is_loopback() {
                return Err(ConfigError::TestModeNotLoopback(listen));
            }
        }
        let s3_body_timeout = from_one_to(
            args.s3_body_timeout.or(file.s3_body_timeout),
            DEFAULT_S3_BODY_TIMEOUT,
            MAX_S3_BODY_TIMEOUT,
            ConfigError::S3BodyTimeout,
        )?;
        let s3_lifecycle_interval = from_one_to(
            args.s3_lifecycle_interval.or(file.s3_lifecycle_interval),
            DEFAULT_S3_LIFECYCLE_INTERVAL,
            MAX_S3_LIFECYCLE_INTERVAL,
            ConfigError::S3LifecycleInterval,
        )?;
        let rotation_hours = from_one_to(
            args.session_key_rotation_hours
                .or(file.session_key_rotation_hours),
            DEFAULT_SESSION_KEY_ROTATION_HOURS,
            MAX_SESSION_KEY_ROTATION_HOURS,
            ConfigError::SessionKeyRotation,
        )?;
        Ok(Config {
            listen,
            data_dir: args
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            database_url,
            account_id,
            master_key_file: args.master_key_file.or(file.master_key_file),
            log: args.log.or(file.log).unwrap_or_else(|| "info".to_string()),
            domain: args.domain.or(file.domain),
            s3_body_timeout: Duration::from_secs(s3_body_timeout),
            s3_lifecycle_interval: Duration::from_secs(s3_lifecycle_interval),
            session_key_rotation: Duration::from_secs(rotation_hours * 3600),
            ephemeral: args.ephemeral,
            test_mode: args.test_mode,
        })
    }
}

/// A number option: `value` or `default`, which must be 1 to `max` (`error` otherwise).
fn from_one_to(
    value: Option<u64>,
    default: u64,
    max: u64,
    error: fn(u64) -> ConfigError,
) -> Result<u64, ConfigError> {
    let v = value.unwrap_or(default);
    if (1..=max).contains(&v) {
        Ok(v)
    } else {
        Err(error(v))
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args() -> ServeArgs {
        ServeArgs {
            listen: None,
            data_dir: None,
            database_url: None,
            account_id: None,
            master_key_file: None,
            config: None,
            log: None,
            domain: None,
            s3_body_timeout: None,
            s3_lifecycle_interval: None,
            session_key_rotation_hours: None,
            ephemeral: false,
            test_mode: false,
            i_know_this_is_insecure: false,
        }
    }

    #[test]
    fn test_mode_needs_ephemeral_and_loopback_unless_insecure() {
        let mut a = args();
        a.test_mode = true;
        assert!(matches!(
            Config::resolve(a.clone()),
            Err(ConfigError::TestModeNotEphemeral)
        ));
        a.ephemeral = true;
        assert!(Config::resolve(a.clone()).unwrap().test_mode);
        a.listen = Some("0.0.0.0:9911".parse().unwrap());
        assert!(matches!(
            Config::resolve(a.clone()),
            Err(ConfigError::TestModeNotLoopback(_))
        ));
        a.i_know_this_is_insecure = true;
        a.ephemeral = false;
        assert!(Config::resolve(a).unwrap().test_mode);
        let mut a = args();
        a.ephemeral = true;
        a.database_url = Some("sqlite:x.db".into());
        assert!(matches!(
            Config::resolve(a),
            Err(ConfigError::EphemeralDatabase)
        ));
    }

    #[test]
    fn flags_win_over_file_and_unknown_keys_fail() {
        let dir = std::env::temp_dir().join(format!("iamd-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:1234\"\naccount_id = \"111111111111\"\nmaster_key_file = \"/k/file\"\n",
        )
        .unwrap();
        let mut a = args();
        a.config = Some(f.clone());
        a.account_id = Some("222222222222".into());
        let c = Config::resolve(a).unwrap();
        assert_eq!(c.listen.port(), 1234);
        assert_eq!(c.account_id.as_deref(), Some("222222222222"));
        assert_eq!(c.master_key_file, Some(PathBuf::from("/k/file")));
        std::fs::write(&f, "listen = \"127.0.0.1:1234\"\nbogus = 1\n").unwrap();
        let mut a = args();
        a.config = Some(f);
        assert!(matches!(Config::resolve(a), Err(ConfigError::Parse { .. })));
        let mut a = args();
        a.account_id = Some("12ab".into());
        assert!(matches!(Config::resolve(a), Err(ConfigError::AccountId(_))));
        assert_eq!(
            Config::resolve(args()).unwrap().data_dir,
            PathBuf::from(DEFAULT_DATA_DIR)
        );
    }

    #[test]
    fn s3_body_timeout_from_file_flag_and_default() {
        let dir = std::env::temp_dir().join(format!("iamd-cfg-s3t-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.toml");
        assert_eq!(
            Config::resolve(args()).unwrap().s3_body_timeout,
            Duration::from_secs(10)
        );
        std::fs::write(&f, "s3_body_timeout = 3\n").unwrap();
        let mut a = args();
        a.config = Some(f.clone());
        assert_eq!(
            Config::resolve(a).unwrap().s3_body_timeout,
            Duration::from_secs(3)
        );
        let mut a = args();
        a.config = Some(f.clone());
        a.s3_body_timeout = Some(7);
        assert_eq!(
            Config::resolve(a).unwrap().s3_body_timeout,
            Duration::from_secs(7)
        );
        std::fs::write(&f, "s3_body_timeout = 0\n").unwrap();
        let mut a = args();
        a.config = Some(f);
        assert!(matches!(
            Config::resolve(a),
            Err(ConfigError::S3BodyTimeout(0))
        ));
    }

    #[test]
    fn session_key_rotation_from_file_flag_and_default() {
        let dir = std::env::temp_dir().join(format!("iamd-cfg-rot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.toml");
        let hours = |h: u64| Duration::from_secs(h * 3600);
        assert_eq!(
            Config::resolve(args()).unwrap().session_key_rotation,
            hours(24)
        );
        std::fs::write(&f, "session_key_rotation_hours = 6\n").unwrap();
        let mut a = args();
        a.config = Some(f.clone());
        assert_eq!(Config::resolve(a).unwrap().session_key_rotation, hours(6));
        let mut a = args();
        a.config = Some(f.clone());
        a.session_key_rotation_hours = Some(48);
        assert_eq!(Config::resolve(a).unwrap().session_key_rotation, hours(48));
        for bad in [0, MAX_SESSION_KEY_ROTATION_HOURS + 1] {
            std::fs::write(&f, format!("session_key_rotation_hours = {bad}\n")).unwrap();
            let mut a = args();
            a.config = Some(f.clone());
            assert!(matches!(
                Config::resolve(a),
                Err(ConfigError::SessionKeyRotation(h)) if h == bad
            ));
        }
    }
}
