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
use huashu_server::{Auth, Config, Durability, Location, OrderApi, RateLimit};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on. A non-loopback address requires --tokens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Phrasebook directory (default: the shipped `phrasebooks/default`).
    #[arg(long, value_name = "DIR")]
    phrasebooks: Option<PathBuf>,
    /// The database: an SQLite file (created if missing; also `sqlite:PATH`) or PostgreSQL
    /// (`postgres://USER@HOST/DB`, migrated on start).
    #[arg(long, value_name = "PATH|URL", default_value = "huashu.db")]
    db: Location,
    /// Token file (TOML: `admin = "…"` and `[[token]]` entries with token, role, shop, agent).
    /// Without it, one random token valid for every role of shop `default` is generated
    /// (loopback only).
    #[arg(long, value_name = "FILE")]
    tokens: Option<PathBuf>,
    /// Replace the generated token stored beside the database (`<db>.token`; with PostgreSQL
    /// `huashu-postgres.token` in the current directory) with a new one: consoles opened with
    /// the old link stop working.
    #[arg(long)]
    new_token: bool,
    /// Chatwoot connection file (TOML `[[account]]` entries: webhook secret, shop, optional
    /// account_id and write-back api_url/api_token): enables `POST /integrations/chatwoot`.
    /// See docs/INTEGRATIONS.md.
    #[arg(long, value_name = "FILE")]
    chatwoot: Option<PathBuf>,
    /// Warn when a customer has waited this long for an answer.
    #[arg(long, value_name = "MS", default_value_t = 8_000)]
    sla_warn_ms: u64,
    /// Breach when a customer has waited this long.
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    sla_breach_ms: u64,
    /// Labelled JSONL corpus (`huashu eval` format) the publishing gate (QA page, reload,
    /// SIGHUP) evaluates both books on, besides its built-in agent lines and the book's own
    /// corpus (repeatable), e.g. a held-out set such as tests/corpus/eval.jsonl.
    #[arg(long, value_name = "FILE")]
    check_corpus: Vec<PathBuf>,
    /// Time zone of the QA figures (local days) and of the console's clocks, labelled on both
    /// pages: Asia/Shanghai, UTC, another fixed-offset zone name, or an offset like +08:00.
    #[arg(long, value_name = "ZONE", default_value = "Asia/Shanghai")]
    tz: String,
    /// Extra browser origin allowed to open WebSockets (repeatable), e.g. https://shop.example.
    #[arg(long, value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// Refuse WebSocket clients that send no Origin header (non-browser clients; see
    /// docs/SECURITY.md for why they are allowed by default).
    #[arg(long)]
    require_origin: bool,
    /// Most simultaneous connections (default: the file-descriptor limit, raised to its hard
    /// maximum at start, less 96 kept for the process's own files and for answering refusals).
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// Most simultaneous connections from one IP address (0: no limit; loopback peers are
    /// not counted, see docs/SECURITY.md).
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    max_per_ip: usize,
    /// Messages per second allowed per connection (token bucket; burst is twice this).
    #[arg(long, value_name = "N", default_value_t = 50.0)]
    rate: f64,
    /// Longest turn or draft text, in characters.
    #[arg(long, value_name = "CHARS", default_value_t = 2000)]
    max_text: usize,
    /// fsync every commit (survives power loss; the default survives process crashes).
    #[arg(long)]
    sync_full: bool,
    /// Seconds a connection has to send its HTTP request head, and then its `hello`.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    hello_timeout: u64,
    /// Seconds an HTTP request has to send its declared body after the head.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    body_timeout: u64,
    /// The shop's order API: an http:// GET URL template holding {订单号} (and optionally
    /// {店铺}), e.g. 'http://127.0.0.1:9000/orders/{订单号}'. The JSON it must answer:
    /// docs/ORDERS.md. Without it no lookups are made.
    #[arg(long, value_name = "URL")]
    order_api: Option<String>,
    /// File holding the order API's bearer secret (sent as `Authorization: Bearer …`).
    #[arg(long, value_name = "FILE", requires = "order_api")]
    order_api_token_file: Option<PathBuf>,
    /// Deadline of one order lookup in ms (at most 300).
    #[arg(long, value_name = "MS", default_value_t = 300, requires = "order_api")]
    order_api_timeout_ms: u64,
}

/// File descriptors kept out of the connection limit: the database (writer and readers with
/// their WAL and shm files), the listener, the runtime's epoll and signal pipes, stdio (64),
/// plus the sockets being answered 503 / 1013 past the limit (`Limits::refusal_slots`, 32).
const FD_RESERVE: u64 = 96;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the resulting soft limit
/// (`None` when unlimited or unknown).
#[cfg(unix)]
fn raise_fd_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    if let (Some(cur), Some(max)) = (now.current, now.maximum)
        && cur < max
    {
        let raised = Rlimit {
            current: Some(max),
            maximum: Some(max),
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => tracing::info!(from = cur, to = max, "raised the open-file limit"),
            Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
        }
    }
    getrlimit(Resource::Nofile).current
}

#[cfg(not(unix))]
fn raise_fd_limit() -> Option<u64> {
    None
}

/// The connection limit for a file-descriptor limit: what is left after `FD_RESERVE`.
fn max_connections_for(fd_limit: Option<u64>) -> usize {
    match fd_limit {
        Some(n) => usize::try_from(n.saturating_sub(FD_RESERVE).max(1)).unwrap_or(usize::MAX),
        None => huashu_server::Limits::default().max_connections,
    }
}

/// The log subscriber: `RUST_LOG` (default `info`) filters, and on top of it the WebSocket
/// libraries never log below `info` whatever `RUST_LOG` says (at debug/trace they print every
/// frame, tokens and customer text included). A second filter rather than extra directives,
/// because a more specific `RUST_LOG` directive (`tungstenite::protocol=trace`) would win.
fn log_subscriber(rust_log: Option<&str>) -> impl tracing::Subscriber + Send + Sync {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    let env = tracing_subscriber::EnvFilter::try_new(rust_log.unwrap_or("info"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let quiet_ws = tracing_subscriber::filter::filter_fn(|meta| {
        let t = meta.target();
        let ws = t.starts_with("tungstenite") || t.starts_with("tokio_tungstenite");
        !ws || *meta.level() <= tracing::Level::INFO
    });
    // Colour codes only on a terminal: a log redirected to a file stays plain text.
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_filter(env)
        .with_filter(quiet_ws);
    tracing_subscriber::registry().with(fmt)
}

/// The generated token (no `--tokens`): kept in `<db>.token` (mode 0600; with PostgreSQL
/// `huashu-postgres.token` in the current directory) so that it stays the same across restarts
/// and open consoles keep working; `--new-token` rotates it.
fn stored_token(db: &Location, rotate: bool) -> anyhow::Result<String> {
    let path = match db.sqlite_path() {
        Some(db) => {
            let mut path = db.as_os_str().to_owned();
            path.push(".token");
            PathBuf::from(path)
        }
        None => PathBuf::from("huashu-postgres.token"),
    };
    if !rotate {
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let t = text.trim();
                if t.len() >= 16 && t.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Ok(t.to_string());
                }
                tracing::warn!(file = %path.display(), "stored token is malformed; generating a new one");
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
    let token = huashu_server::random_token()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    writeln!(file, "{token}").with_context(|| format!("writing {}", path.display()))?;
    // `mode` applies only when the file is created: a rotated file is narrowed too.
    #[cfg(unix)]
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .with_context(|| format!("restricting {}", path.display()))?;
    Ok(token)
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // `try_init` also bridges the `log` crate (tungstenite logs through it) into tracing.
    let _ = tracing_subscriber::util::SubscriberInitExt::try_init(log_subscriber(
        std::env::var("RUST_LOG").ok().as_deref(),
    ));
    if args.sla_breach_ms <= args.sla_warn_ms {
        bail!("--sla-breach-ms must be greater than --sla-warn-ms");
    }
    if args.rate.is_nan() || args.rate <= 0.0 {
        bail!("--rate must be positive");
    }
    let (auth, token) = match &args.tokens {
        Some(path) => (Auth::load(path)?, None),
        None if args.listen.ip().is_loopback() => {
            let token = stored_token(&args.db, args.new_token)?;
            let auth = Auth::new()
                .with_token(&token, huashu_server::TokenRole::Any, "default", None)
                .with_admin(&token);
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
    let order_api = match &args.order_api {
        None => None,
        Some(url) => {
            let mut api = OrderApi::new(url)?
                .with_timeout(Duration::from_millis(args.order_api_timeout_ms))?;
            if let Some(path) = &args.order_api_token_file {
                let token = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                api = api.with_token(&token)?;
            }
            Some(api)
        }
    };
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
    if let Some(path) = &args.chatwoot {
        config.chatwoot = huashu_server::Chatwoot::load(path)?;
    }
    config.allowed_origins = args.allow_origin.clone();
    config.require_origin = args.require_origin;
    let fd_limit = raise_fd_limit();
    let safe = max_connections_for(fd_limit);
    config.limits.max_connections = match args.max_connections {
        Some(n) if n > safe => {
            tracing::warn!(
                requested = n,
                safe,
                ?fd_limit,
                "--max-connections is above what the file limit allows; using the safe limit"
            );
            safe
        }
        Some(n) => n,
        None => safe,
    };
    tracing::info!(
        max_connections = config.limits.max_connections,
        ?fd_limit,
        "connection limit"
    );
    config.limits.max_per_ip = args.max_per_ip;
    config.limits.body_timeout = Duration::from_secs(args.body_timeout);
    config.limits.max_text = args.max_text;
    config.limits.rate = RateLimit {
        per_sec: args.rate,
        burst: args.rate * 2.0,
    };
    config.limits.hello_timeout = Duration::from_secs(args.hello_timeout);
    config.limits.head_timeout = Duration::from_secs(args.hello_timeout);
    config.sla.warn = Duration::from_millis(args.sla_warn_ms);
    config.sla.breach = Duration::from_millis(args.sla_breach_ms);
    config.reload_on_sighup = true;
    if let Some(api) = order_api {
        tracing::info!(order_api = ?api, "order lookups enabled");
        config.order_api = Some(api);
    }
    config.check_corpus = args.check_corpus.clone();
    config.tz = huashu_server::TimeZone::parse(&args.tz).map_err(anyhow::Error::msg)?;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_limit_leaves_the_reserve_free() {
        const CASES: &[(Option<u64>, usize)] = &[
            (Some(20_000), 19_904),
            (Some(1_024), 928),
            (Some(50), 1),
            (None, 10_000),
        ];
        for &(fds, want) in CASES {
            assert_eq!(max_connections_for(fds), want, "{fds:?}");
        }
    }

    #[test]
    fn websocket_libraries_never_log_below_info() {
        use tracing::Level;
        const CASES: &[Option<&str>] = &[
            None,
            Some("trace"),
            Some("tungstenite=trace,tokio_tungstenite=trace"),
            Some("debug,tungstenite::protocol=trace"),
        ];
        for rust_log in CASES {
            let subscriber = log_subscriber(*rust_log);
            tracing::subscriber::with_default(subscriber, || {
                assert!(
                    !tracing::enabled!(target: "tungstenite::protocol", Level::TRACE),
                    "{rust_log:?}"
                );
                assert!(
                    !tracing::enabled!(target: "tungstenite::protocol", Level::DEBUG),
                    "{rust_log:?}"
                );
                assert!(
                    !tracing::enabled!(target: "tokio_tungstenite", Level::TRACE),
                    "{rust_log:?}"
                );
                assert!(
                    !tracing::enabled!(target: "tokio_tungstenite::compat", Level::DEBUG),
                    "{rust_log:?}"
                );
                assert!(
                    tracing::enabled!(target: "tungstenite", Level::WARN),
                    "{rust_log:?}"
                );
            });
        }
        let subscriber = log_subscriber(Some("trace"));
        tracing::subscriber::with_default(subscriber, || {
            assert!(
                tracing::enabled!(target: "huashu_server", Level::TRACE),
                "own code still traces"
            );
        });
    }
}
