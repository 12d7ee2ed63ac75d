use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use selfbrake::config::Config;
use selfbrake_policies::eval::{
    evaluate, parse_traces, question_folds, source_folds, Fold, FoldReport, Miss, Report, Trace,
    TraceRow,
};

/// Traces shorter than this many (approximate) tokens form the "short
/// reasoning" subset reported with the folds.
const SHORT_TOKENS: u64 = 1000;

/// Arguments of `selfbrake eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// JSONL traces: {"id","source","question","reasoning","answer","final","gold"} a line.
    /// Repeat to evaluate several files as one set.
    #[arg(long, required = true)]
    pub traces: Vec<PathBuf>,
    /// Config whose policies to use; without it, the shipped default policy.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Policy name (default: `default`).
    #[arg(long)]
    pub policy: Option<String>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also write one JSON row per trace here (with `miss`, the class of a
    /// lost answer).
    #[arg(long)]
    pub per_trace: Option<PathBuf>,
    /// Also report every figure per held-out fold: K folds by question (all
    /// traces of a question in one fold) and one fold per source, with the
    /// mean over folds of each split.
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=100))]
    pub folds: Option<u32>,
}

/// Replays recorded traces through a policy and reports what braking would save.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let mut traces: Vec<Trace> = Vec::new();
    for path in &args.traces {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        traces.extend(parse_traces(&text).with_context(|| format!("parsing {}", path.display()))?);
    }
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
    let folds = args
        .folds
        .map(|k| FoldFigures::new(&traces, &evaluation.rows, k as usize));
    let files: Vec<String> = args
        .traces
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if args.json {
        let mut json = serde_json::to_value(&evaluation.report)?;
        json["misses"] = miss_counts(&evaluation.rows)
            .into_iter()
            .map(|(k, n)| (k.to_string(), serde_json::Value::from(n)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        if let Some(f) = &folds {
            json["folds"] = f.json()?;
        }
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("policy `{name}` on {}", files.join(" + "));
        print!("{}", evaluation.report.table());
        let misses: Vec<String> = miss_counts(&evaluation.rows)
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        println!("lost answers by class: {}", misses.join(", "));
        if let Some(f) = &folds {
            print!("{}", f.table());
        }
    }
    Ok(())
}

/// Lost answers per class, every class listed (zeros included).
fn miss_counts(rows: &[TraceRow]) -> Vec<(&'static str, usize)> {
    Miss::ALL
        .iter()
        .map(|&c| (c.name(), rows.iter().filter(|r| r.miss == Some(c)).count()))
        .collect()
}

/// Held-out figures of one policy: per fold, per split, and their means.
struct FoldFigures {
    splits: Vec<(&'static str, Vec<FoldReport>, Report, Report)>,
}

impl FoldFigures {
    fn new(traces: &[Trace], rows: &[TraceRow], k: usize) -> Self {
        let splits = [
            ("question", question_folds(traces, k)),
            ("source", source_folds(traces)),
        ];
        let splits = splits
            .into_iter()
            .map(|(name, folds)| {
                let reports: Vec<FoldReport> = folds.iter().map(|f| f.report(rows)).collect();
                let plain: Vec<Report> = reports.iter().map(|r| r.report.clone()).collect();
                let short = short_report(&folds, rows);
                (name, reports, Report::mean(&plain), short)
            })
            .collect();
        Self { splits }
    }

    fn json(&self) -> anyhow::Result<serde_json::Value> {
        let mut out = serde_json::Map::new();
        for (name, reports, mean, short) in &self.splits {
            out.insert(
                (*name).to_string(),
                serde_json::json!({
                    "folds": reports,
                    "mean": mean,
                    "short": short,
                }),
            );
        }
        Ok(serde_json::Value::Object(out))
    }

    fn table(&self) -> String {
        let mut out = String::new();
        for (name, reports, mean, short) in &self.splits {
            out.push_str(&format!(
                "\nheld-out folds by {name}:\n{:<44} {:>6} {:>7} {:>7} {:>8} {:>8} {:>8} {:>7}\n",
                "fold", "traces", "saved", "oracle", "reached", "acc full", "acc brk", "prem"
            ));
            let rows = reports.iter().map(|r| (r.fold.as_str(), &r.report)).chain([
                ("mean of folds", mean),
                ("short reasoning (< 1,000 tokens)", short),
            ]);
            for (fold, r) in rows {
                let pct = |x: Option<f64>| x.map_or("n/a".into(), |v| format!("{:.1}%", 100.0 * v));
                out.push_str(&format!(
                    "{:<44} {:>6} {:>6.1}% {:>6.1}% {:>7.1}% {:>8} {:>8} {:>6.1}%\n",
                    fold,
                    r.traces,
                    100.0 * r.saved_fraction,
                    100.0 * r.oracle_saved_fraction,
                    100.0 * r.answer_reached,
                    pct(r.accuracy_full),
                    pct(r.accuracy_braked),
                    100.0 * r.premature_fraction
                ));
            }
        }
        out
    }
}

/// The short traces of every held-out fold (each trace is held out once).
fn short_report(folds: &[Fold], rows: &[TraceRow]) -> Report {
    Report::from_rows(
        folds
            .iter()
            .flat_map(|f| f.held_out.iter().map(|&i| &rows[i]))
            .filter(|r| r.full_tokens < SHORT_TOKENS),
    )
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

fn write_rows(path: &Path, rows: &[TraceRow]) -> anyhow::Result<()> {
    let mut out = String::new();
    for row in rows {
        out.push_str(&serde_json::to_string(row)?);
        out.push('\n');
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(id: &str, source: &str, question: &str, reasoning: &str) -> Trace {
        let line = serde_json::json!({"id": id, "source": source, "question": question,
            "reasoning": reasoning, "final": "540", "gold": "540"});
        parse_traces(&line.to_string()).unwrap().remove(0)
    }

    /// `--folds`: every trace held out exactly once per split, the JSON
    /// carries each fold's full report and the means, and the figures are
    /// those of the traces in the fold.
    #[test]
    fn fold_figures_cover_every_trace_once_per_split() {
        let braking = "So 9 x 60 = 540.\n\nWait, let me check: 9 x 60 = 540.\n\nLet me verify once more.\n\nYes.";
        let traces = vec![
            trace("a", "s1", "q1", braking),
            trace("b", "s1", "q2", "It is 540."),
            trace("c", "s2", "q1", braking),
            trace("d", "s2", "q3", "It is 540."),
        ];
        let rules = selfbrake_policies::default_rules();
        let rows = evaluate(&traces, &rules, |_, _| {}).unwrap().rows;
        assert!(rows[0].braked && !rows[1].braked);
        let json = FoldFigures::new(&traces, &rows, 2).json().unwrap();
        for split in ["question", "source"] {
            let folds = json[split]["folds"].as_array().unwrap();
            let held: u64 = folds.iter().map(|f| f["traces"].as_u64().unwrap()).sum();
            assert_eq!(held, 4, "{split}");
            assert_eq!(json[split]["mean"]["traces"], 4);
            assert!(folds
                .iter()
                .all(|f| f["fold"].is_string() && f["saved_fraction"].is_f64()));
        }
        // By source, each fold holds one braked and one unbraked trace.
        for f in json["source"]["folds"].as_array().unwrap() {
            assert_eq!(f["braked_fraction"], 0.5);
        }
        assert_eq!(json["source"]["short"]["traces"], 4);
    }
}
