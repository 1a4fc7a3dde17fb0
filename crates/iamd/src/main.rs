//! `iamd`: AWS IAM, STS and an IAM-guarded S3 endpoint in one binary.

mod account_cmd;
mod analyzer;
mod app;
mod config;
mod errors;
mod http;
mod objects;
mod policy_cmd;
mod s3;
mod s3_body;
mod s3_checks;
mod s3_unchunk;
mod startup;
mod test_mode;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: a request allocates and frees a few dozen small blocks (≈13k
/// instructions per GetUser in the allocator with glibc's malloc or mimalloc alike);
/// the whole request measured 104.9k → 96.7k instructions with it (bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "iamd",
    version,
    about = "AWS Identity and Access Management you run yourself"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (IAM, STS and S3 on one address).
    Serve(config::ServeArgs),
    /// Accounts in the server's store (several accounts in one server).
    #[command(subcommand)]
    Account(account_cmd::AccountCommand),
    /// Offline policy tools (no server, no data directory).
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => startup::run(args),
        Command::Account(cmd) => account_cmd::run(cmd),
        Command::Policy(cmd) => policy_cmd::run(cmd),
    }
}
