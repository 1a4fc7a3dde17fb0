//! Prints README's table of supported S3 operations, generated from the operations
//! the authorizer admits; with `--write`, rewrites it in README.md between the markers.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() != Some("--write") {
        print!("{}", iamd_s3::op_table::table());
        return ExitCode::SUCCESS;
    }
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let text = match std::fs::read_to_string(&readme) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("README.md: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(new) = iamd_s3::op_table::with_table(&text) else {
        eprintln!(
            "README.md lacks the markers:\n{}\n{}",
            iamd_s3::op_table::BEGIN,
            iamd_s3::op_table::END
        );
        return ExitCode::FAILURE;
    };
    if let Err(e) = std::fs::write(&readme, new) {
        eprintln!("README.md: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
