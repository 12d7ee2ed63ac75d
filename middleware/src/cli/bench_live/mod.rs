//! `selfbrake bench-live`: the same questions through the same backend
//! twice, unbraked and braked, to decide on one's own model and traffic
//! before turning braking on.
//!
//! Both runs go through selfbrake itself, started in-process on loopback
//! (one server with no rules, one with the policy), so reasoning is read
//! and counted the same way on both sides whatever the engine's reasoning
//! format; the unbraked server adds nothing but that reading.
mod plot;
mod report;
mod run;

use std::path::PathBuf;

use anyhow::{bail, Context};
use selfbrake::config::Config;

use report::Summary;

/// Arguments of `selfbrake bench-live`.
#[derive(clap::Args)]
pub struct BenchLiveArgs {
    /// The backend's OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1.
    #[arg(long)]
    pub base_url: String,
    /// Environment variable holding the backend's API key.
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// JSONL questions: {"id", "question", "gold"} a line (gold may be null).
    #[arg(long)]
    pub questions: PathBuf,
    /// The policy to evaluate: one of the config's (`--config`), or a
    /// shipped one (`default`, `cautious`, `aggressive`).
    #[arg(long)]
    pub policy: String,
    /// Config file whose `[policies.*]` to use.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Model to ask (default: the first the backend lists).
    #[arg(long)]
    pub model: Option<String>,
    /// At most this many questions.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Sampling temperature of both runs (default 0: greedy).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Seed of both runs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// `max_tokens` of both runs (default: the backend's).
    #[arg(long)]
    pub max_tokens: Option<u64>,
    /// Print the summary as one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Write `summary.json`, `rows.jsonl` and `plot.svg` here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One line of the questions file.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    pub question: String,
    #[serde(default)]
    pub gold: Option<String>,
}

pub fn run(args: BenchLiveArgs) -> anyhow::Result<()> {
    let questions = read_questions(&args)?;
    let config = bench_config(&args)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let rows = runtime.block_on(run::run_all(&args, &config, &questions))?;
    let summary = Summary::from_rows(&args.policy, &rows);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", report::table(&rows, &summary));
    }
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
        };
        write("summary.json", serde_json::to_string_pretty(&summary)?)?;
        let lines: Vec<String> = rows
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?;
        write("rows.jsonl", lines.join("\n") + "\n")?;
        write("plot.svg", plot::svg(&rows))?;
    }
    Ok(())
}

fn read_questions(args: &BenchLiveArgs) -> anyhow::Result<Vec<Question>> {
    let path = &args.questions;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let q: Question = serde_json::from_str(line)
            .with_context(|| format!("{} line {}: not a question", path.display(), i + 1))?;
        out.push(q);
        if args.limit.is_some_and(|n| out.len() >= n) {
            break;
        }
    }
    if out.is_empty() {
        bail!("{}: no questions", path.display());
    }
    Ok(out)
}

/// The user's config (or none) with the bench's backend and two tenants'
/// worth of policies: `--policy`, and `unbraked` (no rules, no prompt).
fn bench_config(args: &BenchLiveArgs) -> anyhow::Result<Config> {
    if args.base_url.contains(['"', '\\', '\n']) {
        bail!("--base-url {:?} is not a URL", args.base_url);
    }
    let user = match &args.config {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => String::new(),
    };
    let mut config =
        Config::from_toml_str(&user).with_context(|| "parsing the config".to_string())?;
    if !config.policies.contains_key(&args.policy) {
        let shipped = selfbrake_policies::shipped::toml_text(&args.policy)
            .map(Config::from_toml_str)
            .transpose()?;
        match shipped {
            Some(s) => config.policies.extend(s.policies),
            None => {
                let known: Vec<_> = config.policies.keys().map(String::as_str).collect();
                bail!(
                    "no policy named `{}` (known: {})",
                    args.policy,
                    known.join(", ")
                );
            }
        }
    }
    let key = match &args.api_key_env {
        Some(var) if var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            format!("api_key_env = \"{var}\"\n")
        }
        Some(var) => bail!("--api-key-env {var:?} is not a variable name"),
        None => String::new(),
    };
    let bench = format!(
        "[backends.live]\nkind = \"openai\"\nbase_url = \"{}\"\n{key}\n\
         [policies.{UNBRAKED}]\nrules = []\n\
         [tenants.bench]\nanonymous = true\nbackend = \"live\"\npolicy = \"{UNBRAKED}\"\n",
        args.base_url
    );
    let mut bench = Config::from_toml_str(&bench)?;
    let unbraked = bench.policies.remove(UNBRAKED);
    bench.policies.extend(config.policies);
    bench
        .policies
        .extend(unbraked.map(|p| (UNBRAKED.to_string(), p)));
    Ok(bench)
}

/// The policy of the unbraked run.
const UNBRAKED: &str = "bench_live_unbraked";
