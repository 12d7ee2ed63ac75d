//! The two runs of every question, against two in-process servers.
use std::io::{IsTerminal, Write};
use std::time::Instant;

use anyhow::{bail, Context};
use selfbrake::config::Config;
use selfbrake::{router, AppState, Gateway};
use selfbrake_policies::text::{last_boxed, same_answer};
use serde_json::{json, Value};

use super::report::{Row, Side};
use super::{BenchLiveArgs, Question, UNBRAKED};

/// A selfbrake server on loopback for one side of the comparison.
struct Server {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(config: &Config, policy: &str) -> anyhow::Result<Server> {
        let mut config = config.clone();
        if let Some(t) = config.tenants.get_mut("bench") {
            t.policy = policy.to_string();
        }
        let gateway = Gateway::build(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/v1/chat/completions", listener.local_addr()?);
        let app = router(AppState::new(gateway));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "bench server stopped");
            }
        });
        Ok(Server { url, task })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn run_all(
    args: &BenchLiveArgs,
    config: &Config,
    questions: &[Question],
) -> anyhow::Result<Vec<Row>> {
    let client = reqwest::Client::new();
    let model = match &args.model {
        Some(m) => m.clone(),
        None => first_model(&client, args).await?,
    };
    let unbraked = Server::start(config, UNBRAKED).await?;
    let braked = Server::start(config, &args.policy).await?;
    let progress = !args.json && std::io::stderr().is_terminal();
    let mut rows = Vec::with_capacity(questions.len());
    for (i, q) in questions.iter().enumerate() {
        let body = request(args, &model, &q.question);
        let plain = ask(&client, &unbraked.url, &body, q).await;
        let with = ask(&client, &braked.url, &body, q).await;
        rows.push(Row::new(q, plain, with));
        if progress {
            bar(i + 1, questions.len());
        }
    }
    if progress {
        eprintln!();
    }
    Ok(rows)
}

/// The model the backend lists first.
async fn first_model(client: &reqwest::Client, args: &BenchLiveArgs) -> anyhow::Result<String> {
    let url = format!("{}/models", args.base_url.trim_end_matches('/'));
    let mut rb = client.get(&url);
    if let Some(var) = &args.api_key_env {
        let key = std::env::var(var).with_context(|| format!("{var} is not set"))?;
        rb = rb.bearer_auth(key);
    }
    let models: Value = rb
        .send()
        .await
        .with_context(|| format!("GET {url}"))?
        .json()
        .await
        .with_context(|| format!("GET {url}: not JSON"))?;
    match models["data"][0]["id"].as_str() {
        Some(id) => Ok(id.to_string()),
        None => bail!("{url} lists no model; pass --model"),
    }
}

fn request(args: &BenchLiveArgs, model: &str, question: &str) -> Value {
    let mut body = json!({
        "model": model,
        "messages": [{"role": "user", "content": question}],
        "temperature": args.temperature,
        "seed": args.seed,
        "stream": false,
    });
    if let Some(max) = args.max_tokens {
        body["max_tokens"] = max.into();
    }
    body
}

/// One run of one question; an error is kept in the row, not fatal.
async fn ask(client: &reqwest::Client, url: &str, body: &Value, q: &Question) -> Side {
    let started = Instant::now();
    let reply = async {
        let resp = client.post(url).json(body).send().await?;
        let status = resp.status();
        let value: Value = resp.json().await?;
        anyhow::Ok((status, value))
    }
    .await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (status, value) = match reply {
        Ok(r) => r,
        Err(e) => return Side::failed(format!("{e:#}"), latency_ms),
    };
    if !status.is_success() {
        let message = value["error"]["message"].as_str().unwrap_or("no message");
        return Side::failed(format!("HTTP {status}: {message}"), latency_ms);
    }
    let report = &value["selfbrake"];
    let content = value["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default();
    let answer = last_boxed(content)
        .map(str::to_string)
        .or_else(|| content.lines().last().map(|l| l.trim().to_string()));
    let correct = match (&q.gold, &answer) {
        (Some(g), Some(a)) => Some(same_answer(a, g)),
        (Some(_), None) => Some(false),
        (None, _) => None,
    };
    let num = |v: &Value| v.as_u64().unwrap_or(0);
    Side {
        reasoning_tokens: num(&report["reasoning_tokens"]),
        completion_tokens: num(&value["usage"]["completion_tokens"]),
        answer,
        correct,
        latency_ms,
        braked: report["braked"].as_bool().unwrap_or(false),
        rule: report["rule"].as_str().map(str::to_string),
        probes: num(&report["probes"]),
        probe_tokens: num(&report["probe_tokens"]),
        error: None,
    }
}

/// A progress bar on standard error.
fn bar(done: usize, total: usize) {
    let width = 30;
    let filled = done * width / total.max(1);
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "\r[{}{}] {done}/{total}",
        "#".repeat(filled),
        "-".repeat(width - filled)
    );
    let _ = err.flush();
}
