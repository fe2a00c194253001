//! `huashu serve`: the service. Validates the book and tokens before binding, binds, prints the
//! one stdout line integrations wait for (`console: http://HOST:PORT/?token=TOKEN`), then runs
//! until SIGTERM / Ctrl-C (graceful: connections closed, queued writes committed). SIGHUP
//! reloads the phrasebook. Logs go to stderr (`RUST_LOG` filters, default `info`).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use huashu_server::{Auth, Config, Durability, RateLimit};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on. A non-loopback address requires --tokens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Phrasebook directory (default: the shipped `phrasebooks/default`).
    #[arg(long, value_name = "DIR")]
    phrasebooks: Option<PathBuf>,
    /// SQLite database file (created if missing).
    #[arg(long, value_name = "PATH", default_value = "huashu.db")]
    db: PathBuf,
    /// Token file (TOML: `admin = "…"` and `[[token]]` entries with token, role, shop, agent).
    /// Without it, one random token valid for every role of shop `default` is generated
    /// (loopback only).
    #[arg(long, value_name = "FILE")]
    tokens: Option<PathBuf>,
    /// Warn when a customer has waited this long for an answer.
    #[arg(long, value_name = "MS", default_value_t = 8_000)]
    sla_warn_ms: u64,
    /// Breach when a customer has waited this long.
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    sla_breach_ms: u64,
    /// Extra browser origin allowed to open WebSockets (repeatable), e.g. https://shop.example.
    #[arg(long, value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// Most simultaneous connections.
    #[arg(long, value_name = "N", default_value_t = 30_000)]
    max_connections: usize,
    /// Messages per second allowed per connection (token bucket; burst is twice this).
    #[arg(long, value_name = "N", default_value_t = 50.0)]
    rate: f64,
    /// Longest turn or draft text, in characters.
    #[arg(long, value_name = "CHARS", default_value_t = 2000)]
    max_text: usize,
    /// fsync every commit (survives power loss; the default survives process crashes).
    #[arg(long)]
    sync_full: bool,
    /// Seconds a connection has to send its HTTP request and `hello`.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    hello_timeout: u64,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    if args.sla_breach_ms <= args.sla_warn_ms {
        bail!("--sla-breach-ms must be greater than --sla-warn-ms");
    }
    if args.rate.is_nan() || args.rate <= 0.0 {
        bail!("--rate must be positive");
    }
    let (auth, token) = match &args.tokens {
        Some(path) => (Auth::load(path)?, None),
        None if args.listen.ip().is_loopback() => {
            let (auth, token) = Auth::generated()?;
            (auth, Some(token))
        }
        None => bail!(
            "refusing to listen on {} without --tokens: a non-loopback address needs configured tokens",
            args.listen
        ),
    };
    if auth.is_empty() {
        bail!("the token file grants nothing");
    }
    let dir = args
        .phrasebooks
        .clone()
        .unwrap_or_else(crate::books::default_book);
    let engine =
        huashu_engine::Engine::load(&dir).with_context(|| format!("loading {}", dir.display()))?;
    tracing::info!(book = %engine.meta().name, hash = %engine.meta().hash, "phrasebook compiled");

    let mut config = Config::new(&dir, &args.db, auth);
    config.engine = Some(Arc::new(engine));
    config.durability = if args.sync_full {
        Durability::Full
    } else {
        Durability::Normal
    };
    config.allowed_origins = args.allow_origin.clone();
    config.limits.max_connections = args.max_connections;
    config.limits.max_text = args.max_text;
    config.limits.rate = RateLimit {
        per_sec: args.rate,
        burst: args.rate * 2.0,
    };
    config.limits.hello_timeout = Duration::from_secs(args.hello_timeout);
    config.sla.warn = Duration::from_millis(args.sla_warn_ms);
    config.sla.breach = Duration::from_millis(args.sla_breach_ms);
    config.reload_on_sighup = true;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr()?;
        let mut out = std::io::stdout().lock();
        match &token {
            Some(t) => writeln!(out, "console: http://{addr}/?token={t}")?,
            None => writeln!(out, "console: http://{addr}/")?,
        }
        out.flush()?;
        drop(out);
        huashu_server::run(listener, config, shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutdown requested");
}
