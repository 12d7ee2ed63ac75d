use std::path::Path;
use std::process::ExitCode;

use selfbrake::config::Config;

/// `selfbrake check-config FILE`: one line per problem, with the key path.
pub fn run(file: &Path) -> ExitCode {
    let issues = match Config::load(file) {
        Ok(config) => config.validate(),
        Err(error) => error.0,
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
