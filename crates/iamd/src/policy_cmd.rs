//! `iamd policy …`: offline tools over the policy engine (no server, no data dir).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use iamd_policy::PolicyType;

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy document; prints `line:col: message` per finding.
    Validate {
        /// The policy file, or `-` for standard input.
        file: PathBuf,
        /// identity | managed | trust | resource | boundary | session
        #[arg(long = "type", default_value = "identity")]
        kind: String,
    },
}

pub fn run(cmd: PolicyCommand) -> ExitCode {
    match cmd {
        PolicyCommand::Validate { file, kind } => validate(&file, &kind),
    }
}

fn validate(file: &PathBuf, kind: &str) -> ExitCode {
    let Some(ty) = PolicyType::from_name(kind) else {
        eprintln!("iamd: unknown policy type {kind:?} (identity, managed, trust, resource, boundary, session)");
        return ExitCode::from(2);
    };
    let mut bytes = Vec::new();
    let read = if file.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(file).map(|b| bytes = b)
    };
    if let Err(e) = read {
        eprintln!("iamd: cannot read {}: {e}", file.display());
        return ExitCode::from(2);
    }
    let findings = match std::str::from_utf8(&bytes) {
        Ok(text) => iamd_policy::validate(text, ty),
        Err(_) => iamd_policy::parse_bytes(&bytes).err().into_iter().collect(),
    };
    let name = if file.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        file.display().to_string()
    };
    for f in &findings {
        match &f.detail {
            Some(d) => println!("{name}:{f} ({d})"),
            None => println!("{name}:{f}"),
        }
    }
    if findings.is_empty() {
        println!("{name}: valid {kind} policy");
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
