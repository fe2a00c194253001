//! `huashu loadgen`: drives a running server with simulated widgets and agent consoles over
//! loopback and reports what the performance targets ask for: turn→push and draft→guard
//! latencies (hdrhistogram), sent/acked/received/lost counts, sequence gaps and duplicates seen by
//! consoles, sustained turns/s, and the server's RSS per idle connection (`/proc/PID/status`).
//!
//! Timing needs no shared clock map: every turn and draft id carries its send time in
//! microseconds since the run started, and the analysis / guard frames echo the id back.
//!
//! Bounded in count and time, and loopback only: `--url` must name a loopback host (this is a
//! load generator, not a way to flood someone else's server), connection and chat counts are
//! capped, sending stops after `--duration` (at most ten minutes), and the whole run, connecting
//! and draining included, is cut off by a hard deadline.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[derive(clap::Args, Debug)]
pub struct LoadgenArgs {
    /// WebSocket URL of the server.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// A token valid for the widget and agent roles of `--shop` (the generated one is).
    #[arg(long)]
    token: String,
    /// Shop the token belongs to.
    #[arg(long, default_value = "default")]
    shop: String,
    /// Live conversations.
    #[arg(long, default_value_t = 2000)]
    chats: usize,
    /// Each conversation sends one turn this often (two customer turns, then an agent turn).
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    interval_ms: u64,
    /// How long to send (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Conversations multiplexed on one widget connection (and on one console connection).
    #[arg(long, default_value_t = 20)]
    chats_per_conn: usize,
    /// Consoles also send a draft per conversation at this interval (0: no drafts).
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    draft_interval_ms: u64,
    /// Open this many idle (authenticated) connections first and report the server's RSS per
    /// connection (needs --server-pid). They stay open during the load phase.
    #[arg(long, default_value_t = 0)]
    idle: usize,
    /// Server process id, to read its VmRSS.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Prefix of conversation ids (distinct runs against one database need distinct ids).
    #[arg(long, default_value = "lg")]
    prefix: String,
}

/// Most connections (idle + 2 per `--chats-per-conn` group) and chats one run may open.
const MAX_CONNECTIONS: usize = 60_000;
const MAX_CHATS: usize = 100_000;
const MAX_DURATION: Duration = Duration::from_secs(600);

/// Refuses any URL whose host is not a loopback address.
fn check_loopback(url: &str) -> anyhow::Result<()> {
    let rest = url
        .strip_prefix("ws://")
        .with_context(|| format!("--url must start with ws:// (got {url})"))?;
    let authority = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!("loadgen only targets loopback servers (127.0.0.0/8, ::1, localhost), not `{host}`");
    }
    Ok(())
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| format!("bad duration `{s}`"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("bad duration unit in `{s}` (use ms, s or m)")),
    }
}

/// Small client buffers: the loadgen may hold 20k sockets itself.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str, token: &str, role: &str) -> anyhow::Result<Ws> {
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(ws_config()), true)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    ws.send(Message::Text(
        json!({"type":"hello","role":role,"token":token})
            .to_string()
            .into(),
    ))
    .await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t)?;
                if v["type"] == "welcome" {
                    return Ok(ws);
                }
                bail!("hello refused: {v}");
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => bail!("closed during hello"),
        }
    }
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn histogram() -> Histogram<u64> {
    // 1 µs .. 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant, valid bounds")
}

#[derive(Debug, Default)]
struct WidgetStats {
    sent_customer: u64,
    sent_agent: u64,
    acked_customer: u64,
    acked_agent: u64,
    errors: u64,
    ack: Option<Histogram<u64>>,
}

#[derive(Debug, Default)]
struct ConsoleStats {
    analysis: u64,
    suggestions: u64,
    guard_events: u64,
    sla_events: u64,
    drafts_sent: u64,
    drafts_answered: u64,
    gaps: u64,
    duplicates: u64,
    errors: u64,
    push: Option<Histogram<u64>>,
    draft: Option<Histogram<u64>>,
}

fn micros(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The send time encoded as the last `-`-separated part of an id.
fn sent_at(id: &str) -> Option<u64> {
    id.rsplit('-').next()?.parse().ok()
}

struct Plan {
    url: String,
    token: String,
    interval: Duration,
    draft_interval: Option<Duration>,
    start: Instant,
    stop_at: Instant,
    drain: Duration,
}

/// A ticker of period `tick` whose first tick is offset by `phase` (0..1) of a period: the
/// connections' tickers are spread over the period instead of all firing together, so the
/// server sees the steady arrival rate the flags describe rather than synchronised bursts.
fn staggered(tick: Duration, phase: f64) -> tokio::time::Interval {
    let tick = tick.max(Duration::from_micros(100));
    let first = tokio::time::Instant::now() + tick.mul_f64(phase.clamp(0.0, 1.0));
    let mut t = tokio::time::interval_at(first, tick);
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}

async fn widget(plan: Arc<Plan>, chats: Vec<String>, phase: f64) -> anyhow::Result<WidgetStats> {
    let mut ws = connect(&plan.url, &plan.token, "widget").await?;
    let mut stats = WidgetStats {
        ack: Some(histogram()),
        ..WidgetStats::default()
    };
    let tick = plan.interval / u32::try_from(chats.len().max(1)).unwrap_or(1);
    let mut ticker = staggered(tick, phase);
    let mut next = 0usize;
    let mut round: HashMap<usize, u64> = HashMap::new();
    let mut sending = true;
    let mut drain_deadline = None;
    loop {
        tokio::select! {
            _ = ticker.tick(), if sending => {
                if Instant::now() >= plan.stop_at {
                    sending = false;
                    drain_deadline = Some(tokio::time::Instant::now() + plan.drain);
                    continue;
                }
                let i = next % chats.len();
                next += 1;
                let n = round.entry(i).or_insert(0);
                *n += 1;
                let agent = n.is_multiple_of(3);
                let text = if agent { "亲，您的订单已经发货了，我们会在24小时内答复您" } else { "我的快递怎么还没到？订单号2023112245678，急用" };
                let id = format!("m-{}-{}", n, micros(plan.start));
                let frame = json!({"type":"turn","conversation":chats[i],"id":id,
                    "role": if agent { "agent" } else { "customer" },"text":text});
                ws.send(Message::Text(frame.to_string().into())).await?;
                if agent { stats.sent_agent += 1 } else { stats.sent_customer += 1 }
            }
            _ = async { match drain_deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => break,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t)?;
                    match v["type"].as_str() {
                        Some("ack") => {
                            let id = v["id"].as_str().unwrap_or("");
                            if let (Some(sent), Some(h)) = (sent_at(id), stats.ack.as_mut()) {
                                let _ = h.record(micros(plan.start).saturating_sub(sent).max(1));
                            }
                            // Every third turn of a chat is the agent's.
                            let n: u64 = id.split('-').nth(1).and_then(|s| s.parse().ok()).unwrap_or(1);
                            if n.is_multiple_of(3) { stats.acked_agent += 1 } else { stats.acked_customer += 1 }
                        }
                        Some("error") => {
                            stats.errors += 1;
                            tracing::warn!(%v, "widget got an error");
                        }
                        _ => {}
                    }
                    if !sending && stats.acked_customer + stats.acked_agent >= stats.sent_customer + stats.sent_agent {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => bail!("widget connection closed by the server"),
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(stats)
}

async fn console(plan: Arc<Plan>, chats: Vec<String>, phase: f64) -> anyhow::Result<ConsoleStats> {
    let mut ws = connect(&plan.url, &plan.token, "agent").await?;
    let mut stats = ConsoleStats {
        push: Some(histogram()),
        draft: Some(histogram()),
        ..ConsoleStats::default()
    };
    let mut last_seq: HashMap<String, u64> = HashMap::new();
    for c in &chats {
        ws.feed(Message::Text(
            json!({"type":"subscribe","conversation":c,"since":0})
                .to_string()
                .into(),
        ))
        .await?;
    }
    ws.flush().await?;
    let mut pending_subs = chats.len();
    while pending_subs > 0 {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t)?;
                if v["type"] == "subscribed" {
                    pending_subs -= 1;
                    last_seq.insert(
                        v["conversation"].as_str().unwrap_or("").to_string(),
                        v["seq"].as_u64().unwrap_or(0),
                    );
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("console closed while subscribing"),
        }
    }
    let draft_tick = plan
        .draft_interval
        .map(|d| d / u32::try_from(chats.len().max(1)).unwrap_or(1))
        .unwrap_or(Duration::from_secs(3600))
        .max(Duration::from_micros(100));
    let mut ticker = staggered(draft_tick, phase);
    let drain_until = plan.stop_at + plan.drain + Duration::from_millis(500);
    let mut next = 0usize;
    loop {
        tokio::select! {
            _ = ticker.tick(), if plan.draft_interval.is_some() && Instant::now() < plan.stop_at => {
                let i = next % chats.len();
                next += 1;
                let text = if next.is_multiple_of(2) { "你去告啊，我又不是不给你退" } else { "您好，我马上为您查询物流" };
                let frame = json!({"type":"draft","conversation":chats[i],"draft":format!("d-{}", micros(plan.start)),"text":text});
                ws.send(Message::Text(frame.to_string().into())).await?;
                stats.drafts_sent += 1;
            }
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(drain_until)) => break,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t)?;
                    let kind = v["type"].as_str().unwrap_or("");
                    if let (Some(seq), Some(conv)) = (v["seq"].as_u64(), v["conversation"].as_str())
                        && kind != "subscribed"
                    {
                        {
                            let last = last_seq.entry(conv.to_string()).or_insert(0);
                            if seq <= *last { stats.duplicates += 1 } else if seq > *last + 1 { stats.gaps += seq - *last - 1 }
                            *last = (*last).max(seq);
                        }
                    }
                    match kind {
                        "analysis" => {
                            stats.analysis += 1;
                            if let (Some(sent), Some(h)) = (v["turn"].as_str().and_then(sent_at), stats.push.as_mut()) {
                                let _ = h.record(micros(plan.start).saturating_sub(sent).max(1));
                            }
                        }
                        "suggestions" => stats.suggestions += 1,
                        "guard" if v.get("draft").is_some() => {
                            stats.drafts_answered += 1;
                            if let (Some(sent), Some(h)) = (v["draft"].as_str().and_then(sent_at), stats.draft.as_mut()) {
                                let _ = h.record(micros(plan.start).saturating_sub(sent).max(1));
                            }
                        }
                        "guard" => stats.guard_events += 1,
                        "sla" | "follow_up" => stats.sla_events += 1,
                        "error" => {
                            stats.errors += 1;
                            tracing::warn!(%v, "console got an error");
                        }
                        _ => {}
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => bail!("console connection closed by the server"),
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(stats)
}

async fn open_idle(url: &str, token: &str, n: usize) -> anyhow::Result<Vec<Ws>> {
    let mut out = Vec::with_capacity(n);
    let mut opened = futures_util::stream::iter(0..n)
        .map(|_| connect(url, token, "widget"))
        .buffer_unordered(64);
    while let Some(ws) = opened.next().await {
        out.push(ws?);
    }
    Ok(out)
}

fn report(name: &str, h: &Histogram<u64>) {
    if h.is_empty() {
        println!("{name}: no samples");
        return;
    }
    let ms = |v: u64| v as f64 / 1000.0;
    println!(
        "{name}: n={} p50={:.3}ms p90={:.3}ms p99={:.3}ms max={:.3}ms",
        h.len(),
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.9)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max())
    );
}

pub fn run(args: LoadgenArgs) -> anyhow::Result<ExitCode> {
    if args.chats == 0 || args.chats_per_conn == 0 || args.interval_ms == 0 {
        bail!("--chats, --chats-per-conn and --interval-ms must be positive");
    }
    check_loopback(&args.url)?;
    let conns = args.idle + 2 * args.chats.div_ceil(args.chats_per_conn);
    if args.chats > MAX_CHATS || conns > MAX_CONNECTIONS {
        bail!(
            "at most {MAX_CHATS} chats and {MAX_CONNECTIONS} connections per run (asked: {} chats, {conns} connections)",
            args.chats
        );
    }
    if args.duration > MAX_DURATION {
        bail!("--duration is at most {}s", MAX_DURATION.as_secs());
    }
    // Connecting (idle ones at >= ~1000/s), warm-up, sending, draining, plus slack.
    let deadline = args.duration
        + Duration::from_secs(60)
        + Duration::from_millis(u64::try_from(conns).unwrap_or(u64::MAX));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match tokio::time::timeout(deadline, run_async(args)).await {
            Ok(r) => r,
            Err(_) => bail!(
                "run did not finish within its {}s deadline",
                deadline.as_secs()
            ),
        }
    })
}

async fn run_async(args: LoadgenArgs) -> anyhow::Result<ExitCode> {
    let mut idle = Vec::new();
    if args.idle > 0 {
        let before = args.server_pid.and_then(rss_kb);
        let t = Instant::now();
        idle = open_idle(&args.url, &args.token, args.idle).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = args.server_pid.and_then(rss_kb);
        println!(
            "idle: {} connections open in {:.1}s",
            idle.len(),
            t.elapsed().as_secs_f64()
        );
        if let (Some(b), Some(a)) = (before, after) {
            println!(
                "idle: server RSS {b} kB -> {a} kB, {:.1} KB per connection",
                (a.saturating_sub(b)) as f64 / idle.len() as f64
            );
        } else {
            println!("idle: pass --server-pid to measure the server's RSS per connection");
        }
    }
    let ids: Vec<String> = (0..args.chats)
        .map(|i| format!("{}-{i}", args.prefix))
        .collect();
    let groups: Vec<Vec<String>> = ids
        .chunks(args.chats_per_conn)
        .map(<[String]>::to_vec)
        .collect();
    let start = Instant::now();
    // Consoles subscribe before widgets start; allow a few seconds for that.
    let warmup = Duration::from_secs(2);
    let plan = Arc::new(Plan {
        url: args.url.clone(),
        token: args.token.clone(),
        interval: Duration::from_millis(args.interval_ms),
        draft_interval: (args.draft_interval_ms > 0)
            .then(|| Duration::from_millis(args.draft_interval_ms)),
        start,
        stop_at: start + warmup + args.duration,
        drain: Duration::from_secs(2),
    });
    let rss_before = args.server_pid.and_then(rss_kb);
    let consoles: Vec<_> = groups
        .iter()
        .cloned()
        .enumerate()
        .map(|(k, g)| {
            // Half a slot after the widget of the same index.
            let phase = (k as f64 + 0.5) / groups.len() as f64;
            tokio::spawn(console(Arc::clone(&plan), g, phase))
        })
        .collect();
    tokio::time::sleep(warmup).await;
    let widgets: Vec<_> = groups
        .iter()
        .cloned()
        .enumerate()
        .map(|(k, g)| {
            let phase = k as f64 / groups.len() as f64;
            tokio::spawn(widget(Arc::clone(&plan), g, phase))
        })
        .collect();
    let mut w = WidgetStats::default();
    let mut ack = histogram();
    for t in widgets {
        let s = t.await??;
        w.sent_customer += s.sent_customer;
        w.sent_agent += s.sent_agent;
        w.acked_customer += s.acked_customer;
        w.acked_agent += s.acked_agent;
        w.errors += s.errors;
        if let Some(h) = &s.ack {
            ack.add(h)?;
        }
    }
    let send_secs = args.duration.as_secs_f64();
    let mut c = ConsoleStats::default();
    let (mut push, mut draft) = (histogram(), histogram());
    for t in consoles {
        let s = t.await??;
        c.analysis += s.analysis;
        c.suggestions += s.suggestions;
        c.guard_events += s.guard_events;
        c.sla_events += s.sla_events;
        c.drafts_sent += s.drafts_sent;
        c.drafts_answered += s.drafts_answered;
        c.gaps += s.gaps;
        c.duplicates += s.duplicates;
        c.errors += s.errors;
        if let Some(h) = &s.push {
            push.add(h)?;
        }
        if let Some(h) = &s.draft {
            draft.add(h)?;
        }
    }
    let rss_after = args.server_pid.and_then(rss_kb);
    let sent = w.sent_customer + w.sent_agent;
    let acked = w.acked_customer + w.acked_agent;
    println!(
        "load: {} chats on {} widget + {} console connections, one turn per {} ms per chat, {:.1}s",
        args.chats,
        groups.len(),
        groups.len(),
        args.interval_ms,
        args.duration.as_secs_f64()
    );
    println!(
        "turns: sent={sent} (customer {} agent {}) acked={acked} -> {:.0} turns/s acked over the sending period",
        w.sent_customer,
        w.sent_agent,
        acked as f64 / send_secs
    );
    // Every acked customer turn must reach its console as one analysis and one suggestions
    // event, every acked agent turn as one guard event.
    let lost = w.acked_customer.saturating_sub(c.analysis)
        + w.acked_customer.saturating_sub(c.suggestions)
        + w.acked_agent.saturating_sub(c.guard_events);
    println!(
        "received at consoles: analysis={} suggestions={} guard={} sla/follow_up={} | lost={} gaps={} duplicates={} errors={}",
        c.analysis,
        c.suggestions,
        c.guard_events,
        c.sla_events,
        lost,
        c.gaps,
        c.duplicates,
        w.errors + c.errors
    );
    println!(
        "drafts: sent={} answered={}",
        c.drafts_sent, c.drafts_answered
    );
    report("turn->ack", &ack);
    report("turn->push (analysis at console)", &push);
    report("draft->guard", &draft);
    if let (Some(b), Some(a)) = (rss_before, rss_after) {
        println!("server RSS during load: {b} kB -> {a} kB");
    }
    drop(idle);
    let errors = w.errors + c.errors;
    let ok = lost == 0
        && c.gaps == 0
        && c.duplicates == 0
        && acked == sent
        && errors == 0
        && c.drafts_answered == c.drafts_sent;
    println!("result: {}", if ok { "OK" } else { "FAILED" });
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
