use std::path::Path;
use std::process::ExitCode;

use selfbrake::config::Config;
use selfbrake::ProxyError;

/// `selfbrake check-config FILE`: one line per problem, with the key path.
pub fn run(file: &Path) -> ExitCode {
    let issues = match Config::load(file) {
        Ok(config) => config.validate(),
        Err(ProxyError::Config(issues)) => issues,
        Err(other) => {
            eprintln!("{}: {other}", file.display());
            return ExitCode::FAILURE;
        }
    };
    if issues.is_empty() {
        println!("{}: ok", file.display());
        return ExitCode::SUCCESS;
    }
    for issue in &issues {
        eprintln!("{}: {issue}", file.display());
    }
    ExitCode::FAILURE
}
