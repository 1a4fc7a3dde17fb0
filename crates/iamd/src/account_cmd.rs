//! `iamd account create`: another account in the server's store, with its own root
//! access key, written to a file in the data directory readable by its owner only (the
//! secret is never printed).
//!
//! It works on the database the server uses (same `--data-dir`, `--database-url`,
//! `--master-key-file`, `--config` and `IAMD_*` variables as `iamd serve`), and needs
//! the server's first start to have happened. A running server loads its accounts at
//! start: run this with the server stopped, or restart the server afterwards (the new
//! account's key is refused as unknown until then).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{Config, ServeArgs};
use crate::startup::{self, StartError};

#[derive(Debug, clap::Subcommand)]
pub enum AccountCommand {
    /// Create an account with its own root access key; prints where the key is.
    Create(CreateArgs),
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The new account's id (12 digits); random if unset. An existing id is refused.
    /// (No environment variable: `IAMD_ACCOUNT_ID` names the server's first account.)
    #[arg(long)]
    pub account_id: Option<String>,
    /// The server's data directory.
    #[arg(long, env = "IAMD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The server's database URL; default: SQLite in the data dir.
    #[arg(long, env = "IAMD_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The server's master key file; default: `<data-dir>/master.key`.
    #[arg(long, env = "IAMD_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// The server's TOML configuration file.
    #[arg(long, env = "IAMD_CONFIG")]
    pub config: Option<PathBuf>,
}

pub fn run(cmd: AccountCommand) -> ExitCode {
    let AccountCommand::Create(args) = cmd;
    let Some(runtime) = startup::runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(create(args)) {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("iamd: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn create(args: CreateArgs) -> Result<String, StartError> {
    if let Some(id) = &args.account_id {
        if !iamd_iam::is_account_id(id) {
            return Err(crate::config::ConfigError::AccountId(id.clone()).into());
        }
    }
    // The server's own configuration resolution, without its first-account id.
    let config = Config::resolve(ServeArgs {
        listen: None,
        data_dir: args.data_dir,
        database_url: args.database_url,
        account_id: None,
        master_key_file: args.master_key_file,
        config: args.config,
        log: None,
        domain: None,
        s3_body_timeout: None,
        s3_lifecycle_interval: None,
        session_key_rotation_hours: None,
        upstream: Default::default(),
        ephemeral: false,
        test_mode: false,
        i_know_this_is_insecure: false,
    })?;
    let (iam, dir) = startup::open_existing(&config).await?;
    // The secret is shown once: it is in its file before the account is committed,
    // and the file is removed if the commit fails. Nothing is committed when the
    // file cannot be written, and an existing file is never replaced (it may hold
    // another account's key).
    let pending = iam
        .begin_account(args.account_id)
        .await
        .map_err(|e| StartError::Account(e.to_string()))?;
    let new = pending.account();
    let file = dir.join(format!("root-credentials-{}", new.account_id));
    startup::write_new_private_file(
        &file,
        startup::credentials_file(&new.access_key_id, &new.secret_access_key).as_bytes(),
    )
    .map_err(|source| StartError::DataDir {
        path: file.clone(),
        source,
    })?;
    let new = match pending.commit().await {
        Ok(new) => new,
        Err(e) => {
            let _ = std::fs::remove_file(&file);
            return Err(StartError::Account(e.to_string()));
        }
    };
    iam.flush_usage().await;
    Ok(format!(
        "account {} created; its root credentials are in {} (restart a running server to serve it)",
        new.account_id,
        file.display()
    ))
}
