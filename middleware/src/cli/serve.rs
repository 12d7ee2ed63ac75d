use std::path::PathBuf;

use anyhow::Context;
use selfbrake::config::Config;
use selfbrake::server::{ClientLimits, Shards};
use selfbrake::telemetry::Telemetry;
use selfbrake::{admin_router, router, AppState, Gateway};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// `selfbrake serve`
pub fn run(path: Option<PathBuf>, listen: Option<String>, json_logs: bool) -> anyhow::Result<()> {
    // The file is read before logging starts: its `[telemetry]` says where spans go.
    let loaded = match &path {
        Some(path) => {
            Some(Config::load(path).with_context(|| format!("loading {}", path.display()))?)
        }
        None => None,
    };
    let telemetry = match &loaded {
        Some(config) => Telemetry::start(&config.telemetry)?,
        None => None,
    };
    let _log_writer = init_tracing(json_logs, telemetry.as_ref());
    if let (Some(config), Some(_)) = (&loaded, &telemetry) {
        tracing::info!(otlp_endpoint = ?config.telemetry.otlp_endpoint, sample_ratio = config.telemetry.sample_ratio, "exporting traces");
    }
    let mut config = match loaded {
        Some(config) => config,
        None => default_config()?,
    };
    if let Some(listen) = listen {
        config.server.listen = listen;
    }
    let gateway = Gateway::build(&config)?;
    selfbrake_policies::prepare();
    // Background work (reloads, the admin listener, signals) runs on this
    // thread; clients are served on threads of their own (`Shards`).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = std::net::TcpListener::bind(&config.server.listen)
            .with_context(|| format!("binding {}", config.server.listen))?;
        let threads = selfbrake::server::thread_count(config.server.worker_threads);
        let shown = path.as_ref().map_or_else(
            || "(built in: embedded engine)".to_string(),
            |p| p.display().to_string(),
        );
        tracing::info!(listen = %listener.local_addr()?, config = %shown, threads, "selfbrake serving");
        let state = AppState::new(gateway);
        match &path {
            Some(p) => selfbrake::reload::spawn(
                state.gateways.clone(),
                state.metrics.clone(),
                p.clone(),
                config.server.listen.clone(),
            )
            .context("watching the config file")?,
            // SIGHUP's default action ends the process; with nothing to reload, say so instead.
            None => ignore_hangup(),
        }
        if !config.server.admin_listen.is_empty() {
            let admin = tokio::net::TcpListener::bind(&config.server.admin_listen)
                .await
                .with_context(|| {
                    format!("binding server.admin_listen {}", config.server.admin_listen)
                })?;
            tracing::info!(admin_listen = %admin.local_addr()?, "metrics on the admin listener");
            let admin_app = admin_router(state.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(admin, admin_app).await {
                    tracing::error!(error = %e, "admin listener stopped");
                }
            });
        }
        if gateway_is_anonymous(&state) {
            tracing::warn!(
                "requests without an API key are served (no [tenants], or an anonymous tenant)"
            );
        }
        let app = router(state);
        let limits = ClientLimits::from(&config.server);
        Shards::start(listener, app, limits, threads)
            .context("starting the serving threads")?
            .run_until(shutdown_signal())
            .await
            .context("serving")?;
        Ok::<_, anyhow::Error>(())
    })?;
    // Spans still queued go out before the process ends.
    drop(runtime);
    drop(telemetry);
    Ok(())
}

/// `serve` without `--config`: the embedded engine on a local GGUF model,
/// the shipped `default` policy, `127.0.0.1:8787`.
#[cfg(feature = "embedded")]
fn default_config() -> anyhow::Result<Config> {
    use selfbrake::config::{BackendConfig, MistralrsConfig};

    let model = default_model()?;
    let mut config = Config::from_toml_str("")?;
    let mut backend = MistralrsConfig::new(model.clone());
    // Models without a reasoning format (the default SmolLM2) reason inside
    // an opened think block; `SELFBRAKE_THINK_PREFILL=0` turns that off.
    backend.think_prefill = std::env::var("SELFBRAKE_THINK_PREFILL").map_or(true, |v| v != "0");
    tracing::info!(gguf = %model.display(), think_prefill = backend.think_prefill, "no --config: serving the embedded engine");
    config
        .backends
        .insert("default".into(), BackendConfig::Mistralrs(backend));
    Ok(config)
}

#[cfg(not(feature = "embedded"))]
fn default_config() -> anyhow::Result<Config> {
    anyhow::bail!(
        "no config given: pass --config FILE (see examples/vllm.toml), or set SELFBRAKE_CONFIG \
         (a build with `--features embedded` serves a local GGUF model without one)"
    )
}

/// `SELFBRAKE_MODEL`, else the first `models/*.gguf` under the working directory.
#[cfg(feature = "embedded")]
fn default_model() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("SELFBRAKE_MODEL") {
        return Ok(PathBuf::from(path));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("models")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.into_iter().next().context(
        "no model: set SELFBRAKE_MODEL=/path/to/model.gguf, or put a .gguf file in ./models \
         (`scripts/get-model.sh` downloads SmolLM2-135M-Instruct, 98 MB, into models/), \
         or pass --config FILE to use an inference server (see examples/vllm.toml)",
    )
}

fn gateway_is_anonymous(state: &AppState) -> bool {
    state.gateway().tenants.any_anonymous()
}

/// Logs SIGHUP instead of dying of it when there is no config file to reload.
fn ignore_hangup() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hup) => {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    tracing::info!(
                        "SIGHUP ignored: serving without a config file, nothing to reload"
                    );
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot handle SIGHUP"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: no new connections, finishing streams");
}

/// `RUST_LOG` (default `info`) as a static per-target filter where it can
/// be one. `EnvFilter` takes a lock on every span enter and exit to support
/// span-field directives (`[span{field=x}]=debug`); a streaming response
/// enters its request span on every poll, so only directives that need it
/// get it.
fn log_filter(rust_log: Option<&str>) -> (Option<Targets>, Option<EnvFilter>) {
    let directives = rust_log
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .unwrap_or("info");
    if !directives.contains('[') {
        if let Ok(targets) = directives.parse::<Targets>() {
            return (Some(targets), None);
        }
    }
    let filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"));
    (None, Some(filter))
}

/// Logs to stderr (as JSON with `--json-logs`), and spans to the OTLP
/// collector where `[telemetry]` names one.
///
/// Lines are formatted where they happen but written by a thread of their
/// own: a worker that wrote them itself held every stream it serves for the
/// `write`, and for as long as a full pipe to a slow log collector blocked
/// it. Nothing is dropped: past 128,000 queued lines the caller waits, as
/// it did before. The returned guard writes out what is queued when it is
/// dropped, at the end of `serve`.
fn init_tracing(json: bool, telemetry: Option<&Telemetry>) -> WorkerGuard {
    let (targets, filter) = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    // Colours only on a terminal: a log file or a collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("selfbrake-log")
        .finish(std::io::stderr());
    let text = (!json).then(|| {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(writer.clone())
    });
    let json = json.then(|| tracing_subscriber::fmt::layer().json().with_writer(writer));
    tracing_subscriber::registry()
        .with(targets)
        .with(filter)
        .with(text)
        .with(json)
        .with(telemetry.map(|t| t.layer()))
        .init();
    guard
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn plain_directives_become_a_static_filter_with_the_same_levels() {
        let (targets, filter) = log_filter(Some("warn,selfbrake=debug"));
        let targets = targets.expect("static filter");
        assert!(filter.is_none());
        assert!(targets.would_enable("selfbrake::server", &Level::DEBUG));
        assert!(!targets.would_enable("selfbrake::server", &Level::TRACE));
        assert!(!targets.would_enable("hyper::proto", &Level::INFO));
        assert!(targets.would_enable("hyper::proto", &Level::WARN));
    }

    #[test]
    fn unset_or_empty_means_info() {
        for unset in [None, Some(""), Some("  ")] {
            let (targets, _) = log_filter(unset);
            let targets = targets.expect("static filter");
            assert!(targets.would_enable("selfbrake", &Level::INFO));
            assert!(!targets.would_enable("selfbrake", &Level::DEBUG));
        }
    }

    #[test]
    fn span_directives_keep_the_dynamic_filter() {
        let (targets, filter) = log_filter(Some("info,[request{tenant=acme}]=debug"));
        assert!(targets.is_none());
        assert!(filter.is_some());
    }

    #[test]
    fn an_invalid_filter_falls_back_to_info() {
        let (targets, filter) = log_filter(Some("selfbrake=loud"));
        assert!(targets.is_none());
        let filter = filter.expect("fallback filter");
        assert_eq!(
            filter.max_level_hint(),
            Some(tracing::level_filters::LevelFilter::INFO)
        );
    }
}
