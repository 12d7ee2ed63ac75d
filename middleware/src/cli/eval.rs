use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use selfbrake::config::Config;
use selfbrake_policies::eval::{evaluate, parse_traces};

/// Arguments of `selfbrake eval`.
pub struct EvalArgs {
    pub traces: PathBuf,
    pub config: Option<PathBuf>,
    pub policy: Option<String>,
    pub json: bool,
    pub per_trace: Option<PathBuf>,
}

/// Replays recorded traces through a policy and reports what braking would save.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.traces)
        .with_context(|| format!("reading {}", args.traces.display()))?;
    let traces =
        parse_traces(&text).with_context(|| format!("parsing {}", args.traces.display()))?;
    let config = match &args.config {
        Some(path) => Config::load(path).with_context(|| format!("loading {}", path.display()))?,
        None => Config::from_toml_str("")?,
    };
    let name = args.policy.as_deref().unwrap_or("default");
    let Some(policy) = config.policies.get(name) else {
        let known: Vec<_> = config.policies.keys().map(String::as_str).collect();
        bail!("no policy named `{name}` (known: {})", known.join(", "));
    };
    let show_progress = !args.json && std::io::stderr().is_terminal();
    let evaluation = evaluate(&traces, &policy.rules, |done, total| {
        if show_progress {
            progress(done, total);
        }
    })?;
    if show_progress {
        eprintln!();
    }
    if let Some(path) = &args.per_trace {
        write_rows(path, &evaluation.rows)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&evaluation.report)?);
    } else {
        println!("policy `{name}` on {}", args.traces.display());
        print!("{}", evaluation.report.table());
    }
    Ok(())
}

fn progress(done: usize, total: usize) {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    eprint!(
        "\r[{}{}] {done}/{total}",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled)
    );
    let _ = std::io::stderr().flush();
}

fn write_rows(path: &Path, rows: &[selfbrake_policies::eval::TraceRow]) -> anyhow::Result<()> {
    let mut out = String::new();
    for row in rows {
        out.push_str(&serde_json::to_string(row)?);
        out.push('\n');
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}
