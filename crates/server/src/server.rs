//! `run`: the accept loop, SIGHUP reloads and graceful shutdown (mini-redis style: a bound
//! listener and a shutdown future come in; every connection task holds a sender of a channel
//! whose closing tells `run` that all of them are done).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::admission::Verdict;
use crate::config::Config;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::shared::Shared;
use crate::{Error, http};

/// Serves WebSocket and HTTP on `listener` until `shutdown` completes; then stops accepting,
/// closes every connection (1001), commits what is queued and returns.
pub async fn run(
    listener: TcpListener,
    mut config: Config,
    shutdown: impl Future,
) -> Result<(), Error> {
    let addr = listener.local_addr()?;
    if config.auth.is_empty() {
        return Err(if addr.ip().is_loopback() {
            Error::NoTokens
        } else {
            Error::NoTokensOnPublicAddress(addr)
        });
    }
    let engine = match config.engine.take() {
        Some(e) => e,
        None => {
            let dir = config.phrasebooks.clone();
            let loaded = tokio::task::spawn_blocking(move || huashu_engine::Engine::load(&dir))
                .await
                .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
            Arc::new(loaded.map_err(|e| Error::Book {
                dir: config.phrasebooks.clone(),
                message: e.to_string(),
            })?)
        }
    };
    let metrics = Arc::new(Metrics::default());
    let db = Db::open(&config.db, config.durability, Arc::clone(&metrics))?;
    let drain = config.drain_timeout;
    let sighup = config.reload_on_sighup;
    let shared = Shared::new(config, engine, db, metrics);
    tracing::info!(%addr, book = %shared.engine().meta().name, "listening");
    shared.resume_timers();

    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let reloader = sighup.then(|| spawn_sighup_reloader(Arc::clone(&shared)));

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let verdict = shared.admission.admit(peer.ip(), &shared.config.limits);
                    let refusal = match verdict {
                        Verdict::Drop => {
                            shared.metrics.refused_connections.fetch_add(1, Relaxed);
                            drop(tcp);
                            continue;
                        }
                        Verdict::Serve(slot) => (slot, None),
                        Verdict::Refuse(slot, why) => (slot, Some(why)),
                    };
                    let shared = Arc::clone(&shared);
                    let stop = stop_rx.clone();
                    let done = done_tx.clone();
                    tokio::spawn(async move {
                        let (slot, refused) = refusal;
                        match refused {
                            None => http::handle(Arc::clone(&shared), tcp, peer, stop).await,
                            Some(why) => http::refuse(&shared, tcp, peer, why).await,
                        }
                        drop(slot);
                        drop(done);
                    });
                }
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning; existing connections go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    tracing::info!("shutting down: closing connections");
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_tx);
    if tokio::time::timeout(drain, done_rx.recv()).await.is_err() {
        tracing::warn!("some connections did not close in time");
    }
    if let Some(r) = reloader {
        r.abort();
    }
    shared.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(unix)]
fn spawn_sighup_reloader(shared: Arc<Shared>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!("cannot listen for SIGHUP; reload with POST /api/reload");
            return;
        };
        while hup.recv().await.is_some() {
            match shared.reload().await {
                Ok(m) => tracing::info!(hash = %m.hash, "SIGHUP: phrasebook reloaded"),
                Err(p) => tracing::error!(
                    error = %p.summary(),
                    "SIGHUP: book refused, old phrasebook kept"
                ),
            }
        }
    })
}

#[cfg(not(unix))]
fn spawn_sighup_reloader(_shared: Arc<Shared>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {})
}
