use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench_live;
mod check;
mod eval;
mod serve;

/// A proxy that stops reasoning models from overthinking.
#[derive(Parser)]
#[command(name = "selfbrake", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy.
    Serve {
        /// Config file (TOML).
        #[arg(long, env = "SELFBRAKE_CONFIG")]
        config: Option<PathBuf>,
        /// Listen address; overrides `server.listen`.
        #[arg(long)]
        listen: Option<String>,
        /// Log as JSON lines.
        #[arg(long)]
        json_logs: bool,
    },
    /// Replay recorded reasoning traces through a policy and report the savings.
    Eval(eval::EvalArgs),
    /// Run questions through a backend twice, unbraked and braked, and
    /// report tokens, accuracy, latency and probes both ways.
    BenchLive(bench_live::BenchLiveArgs),
    /// Validate a config file as the server would; exit 1 on any error.
    CheckConfig { file: PathBuf },
    /// Print the `sha256:<hex>` form of an API key, for `tenants.*.api_keys`.
    /// Without KEY the key is read from standard input (one line), which
    /// keeps it out of shell history and `ps`: `selfbrake hash-key < key.txt`.
    HashKey { key: Option<String> },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            config,
            listen,
            json_logs,
        } => serve::run(config, listen, json_logs),
        Command::Eval(args) => eval::run(args),
        Command::BenchLive(args) => bench_live::run(args),
        Command::CheckConfig { file } => return check::run(&file),
        Command::HashKey { key } => hash_key(key),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `selfbrake hash-key [KEY]`
fn hash_key(key: Option<String>) -> anyhow::Result<()> {
    let key = match key {
        Some(key) => key,
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    anyhow::ensure!(
        !key.is_empty(),
        "no key given (pass KEY, or one line on standard input)"
    );
    println!("{}", selfbrake::gateway::hash_key(&key));
    Ok(())
}
