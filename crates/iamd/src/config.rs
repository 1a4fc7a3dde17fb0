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
    /// session_key_rotation_hours, s3_upstream_endpoint, s3_upstream_bucket,
    /// s3_upstream_region, s3_upstream_prefix, s3_upstream_credentials_file).
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
    /// `--s3-upstream-*`: object bytes on an upstream S3-compatible store.
    #[command(flatten)]
    pub upstream: UpstreamArgs,
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

/// The `--s3-upstream-*` options (none given: object bytes in the data directory).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct UpstreamArgs {
    /// Keep S3 object bytes on this S3-compatible store instead of the data directory
    /// (`http(s)://host[:port]`, path-style requests); needs `--s3-upstream-bucket`
    /// and credentials (`IAMD_S3_UPSTREAM_ACCESS_KEY_ID` and
    /// `IAMD_S3_UPSTREAM_SECRET_ACCESS_KEY`, or `--s3-upstream-credentials-file`).
    #[arg(long, env = "IAMD_S3_UPSTREAM_ENDPOINT")]
    pub s3_upstream_endpoint: Option<String>,
    /// The upstream bucket holding the object bytes (under opaque names).
    #[arg(long, env = "IAMD_S3_UPSTREAM_BUCKET")]
    pub s3_upstream_bucket: Option<String>,
    /// The upstream's region (signing scope; default us-east-1).
    #[arg(long, env = "IAMD_S3_UPSTREAM_REGION")]
    pub s3_upstream_region: Option<String>,
    /// Prefix of every upstream name, e.g. `iamd/` (default: none).
    #[arg(long, env = "IAMD_S3_UPSTREAM_PREFIX")]
    pub s3_upstream_prefix: Option<String>,
    /// File with the upstream credentials (AWS shared-credentials format:
    /// aws_access_key_id, aws_secret_access_key, optional aws_session_token; mode 0600).
    #[arg(long, env = "IAMD_S3_UPSTREAM_CREDENTIALS_FILE")]
    pub s3_upstream_credentials_file: Option<PathBuf>,
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
    s3_upstream_endpoint: Option<String>,
    s3_upstream_bucket: Option<String>,
    s3_upstream_region: Option<String>,
    s3_upstream_prefix: Option<String>,
    s3_upstream_credentials_file: Option<PathBuf>,
}

/// Where S3 object bytes go when not in the data directory (the credentials are
/// read at startup, from the environment or the file: never part of the config).
#[derive(Debug, Clone, PartialEq)]
pub struct S3Upstream {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub prefix: String,
    pub credentials_file: Option<PathBuf>,
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
    /// S3 object bytes on an upstream store (`None`: in the data directory).
    pub s3_upstream: Option<S3Upstream>,
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
    #[error("--s3-upstream-endpoint and --s3-upstream-bucket go together (one is missing)")]
    UpstreamIncomplete,
    #[error(
        "invalid --s3-upstream-endpoint {0:?}: must be http://host[:port] or https://host[:port]"
    )]
    UpstreamEndpoint(String),
    #[error("--ephemeral cannot keep objects on an upstream store: its startup sweep would delete blobs no in-memory metadata names")]
    EphemeralUpstream,
}

impl Config {
    pub fn resolve(args: ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let s3_upstream = upstream(&args.upstream, &file)?;
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
        if args.ephemeral && s3_upstream.is_some() {
            return Err(ConfigError::EphemeralUpstream);
        }
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
            s3_upstream,
            ephemeral: args.ephemeral,
            test_mode: args.test_mode,
        })
    }
}

/// The `--s3-upstream-*` options (flag, else file), checked.
fn upstream(args: &UpstreamArgs, file: &FileConfig) -> Result<Option<S3Upstream>, ConfigError> {
    let pick = |a: &Option<String>, f: &Option<String>| a.clone().or_else(|| f.clone());
    let endpoint = pick(&args.s3_upstream_endpoint, &file.s3_upstream_endpoint);
    let bucket = pick(&args.s3_upstream_bucket, &file.s3_upstream_bucket);
    let (endpoint, bucket) = match (endpoint, bucket) {
        (None, None) => return Ok(None),
        (Some(e), Some(b)) if !b.is_empty() => (e, b),
        _ => return Err(ConfigError::UpstreamIncomplete),
    };
    let host = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .map(|h| h.trim_end_matches('/'));
    if !host.is_some_and(|h| !h.is_empty() && !h.contains(['/', '?', '#', '@', ' '])) {
        return Err(ConfigError::UpstreamEndpoint(endpoint));
    }
    Ok(Some(S3Upstream {
        endpoint,
        bucket,
        region: pick(&args.s3_upstream_region, &file.s3_upstream_region)
            .unwrap_or_else(|| "us-east-1".to_string()),
        prefix: pick(&args.s3_upstream_prefix, &file.s3_upstream_prefix).unwrap_or_default(),
        credentials_file: args
            .s3_upstream_credentials_file
            .clone()
            .or_else(|| file.s3_upstream_credentials_file.clone()),
    }))
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
            upstream: UpstreamArgs::default(),
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

    #[test]
    fn s3_upstream_from_flags_and_file() {
        assert_eq!(Config::resolve(args()).unwrap().s3_upstream, None);
        let dir = std::env::temp_dir().join(format!("iamd-cfg-up-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.toml");
        std::fs::write(
            &f,
            "s3_upstream_endpoint = \"http://127.0.0.1:9000\"\ns3_upstream_bucket = \"bytes\"\ns3_upstream_prefix = \"iamd/\"\n",
        )
        .unwrap();
        let mut a = args();
        a.config = Some(f.clone());
        a.upstream.s3_upstream_region = Some("eu-west-3".into());
        let u = Config::resolve(a).unwrap().s3_upstream.unwrap();
        assert_eq!(
            (
                u.endpoint.as_str(),
                u.bucket.as_str(),
                u.region.as_str(),
                u.prefix.as_str()
            ),
            ("http://127.0.0.1:9000", "bytes", "eu-west-3", "iamd/")
        );
        let mut a = args();
        a.upstream.s3_upstream_endpoint = Some("http://127.0.0.1:9000".into());
        assert!(matches!(
            Config::resolve(a.clone()),
            Err(ConfigError::UpstreamIncomplete)
        ));
        a.upstream.s3_upstream_bucket = Some("b".into());
        assert_eq!(
            Config::resolve(a.clone())
                .unwrap()
                .s3_upstream
                .unwrap()
                .region,
            "us-east-1"
        );
        a.ephemeral = true;
        assert!(matches!(
            Config::resolve(a.clone()),
            Err(ConfigError::EphemeralUpstream)
        ));
        a.ephemeral = false;
        for bad in ["127.0.0.1:9000", "ftp://h", "http://", "http://h/path"] {
            a.upstream.s3_upstream_endpoint = Some(bad.into());
            assert!(
                matches!(
                    Config::resolve(a.clone()),
                    Err(ConfigError::UpstreamEndpoint(_))
                ),
                "{bad}"
            );
        }
    }
}
