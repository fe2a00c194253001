//! One WebSocket connection: `hello`, then a loop over inbound frames, pushed frames, heartbeat
//! and shutdown. Written against `Sink`/`Stream` of tungstenite `Message`s so unit tests drive it
//! through channels (STYLE.md); `http.rs` hands it the two halves of a real socket.
//!
//! Requests on one connection are handled one after another (acks come back in send order);
//! replies go straight to the sink, pushed events come through the connection's bounded
//! `Inbox`. A subscribe replays stored events directly to the sink while live events wait in the
//! inbox, so the client sees replay, then `subscribed`, then live, with no gap and no duplicate.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

use crate::admission::Refusal;
use crate::auth::{Role, TokenRole};
use crate::claim::{self, Claim, MAX_VISITOR_KEY, MIN_VISITOR_KEY, VisitorDigest};
use crate::outbox::{Inbox, Outbox, outbox};
use crate::protocol::{self, ClientError, ErrorCode, Hello, Inbound, Outbound, Speaker, close};
use crate::ratelimit::TokenBucket;
use crate::shared::{Session, Shared, now_ms};
use crate::turn::TurnInput;

/// Events read per replay page.
const REPLAY_PAGE: usize = 512;
/// Summaries sent in the `conversations` snapshot.
const WATCH_SNAPSHOT: usize = 500;

/// Why the loop stops.
#[derive(Debug)]
enum Stop {
    /// Close with this code and reason.
    Close(u16, &'static str),
    /// The peer is gone or the socket failed: nothing more to send.
    Gone,
}

struct Conn<Si> {
    shared: Arc<Shared>,
    sink: Si,
    session: Option<Session>,
    conn_id: u64,
    outbox: Outbox,
    subscriptions: HashSet<String>,
    watching: bool,
    bucket: TokenBucket,
    /// The token may send agent turns (an integration or the generated token), not only
    /// customer turns (a public widget token).
    agent_turns: bool,
}

/// Serves one connection until it closes, the client misbehaves fatally, or `shutdown` fires.
/// `refused`: the admission refused the connection (server or address at its limit); the
/// client is told so and closed with 1013.
pub(crate) async fn serve<St, Si>(
    shared: Arc<Shared>,
    mut stream: St,
    sink: Si,
    mut shutdown: watch::Receiver<bool>,
    refused: Option<Refusal>,
) where
    St: Stream<Item = Result<Message, WsError>> + Unpin,
    Si: Sink<Message, Error = WsError> + Unpin,
{
    let limits = shared.config.limits.clone();
    let conn_id = shared.next_conn_id();
    let (outbox, mut inbox) = outbox(conn_id, limits.outbound_queue);
    let mut conn = Conn {
        bucket: TokenBucket::new(limits.rate),
        shared: Arc::clone(&shared),
        sink,
        session: None,
        conn_id,
        outbox,
        subscriptions: HashSet::new(),
        watching: false,
        agent_turns: false,
    };
    shared.metrics.connection_opened(None);
    let stop = if let Some(why) = refused {
        let e = ClientError::new(ErrorCode::Overloaded, why.message());
        match conn.error(e).await {
            Ok(()) => Stop::Close(1013, "overloaded"),
            Err(s) => s,
        }
    } else {
        match conn.hello(&mut stream, &mut shutdown).await {
            Ok(()) => conn.run(&mut stream, &mut inbox, &mut shutdown).await,
            Err(stop) => stop,
        }
    };
    if let Stop::Close(code, reason) = stop {
        // Whatever is still queued for this connection is dropped first: the close frame must
        // not wait behind up to `outbound_queue` pushed frames (a kicked slow consumer).
        drop(inbox);
        conn.close(&mut stream, code, reason).await;
    }
    conn.cleanup().await;
}

impl<Si> Conn<Si>
where
    Si: Sink<Message, Error = WsError> + Unpin,
{
    async fn send_text(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), Stop> {
        let limit = self.shared.config.limits.write_timeout;
        match tokio::time::timeout(limit, self.sink.send(Message::Text(text.into()))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(Stop::Gone),
        }
    }

    async fn send(&mut self, frame: &Outbound<'_>) -> Result<(), Stop> {
        self.send_text(frame.frame()).await
    }

    /// A frame the WebSocket layer refused: RFC 6455 says how the connection ends. Invalid
    /// UTF-8 in a text frame is 1007, a frame over the hard limit 1009, any other protocol
    /// violation (RSV bits, reserved opcodes, control frames over 125 bytes or fragmented, a
    /// stray continuation) 1002; each with an error frame first, then the close frame.
    async fn read_failed(&mut self, e: WsError) -> Stop {
        use tokio_tungstenite::tungstenite::error::ProtocolError;
        let (code, close, reason, message) = match e {
            WsError::Utf8(_) => (
                ErrorCode::BadFrame,
                1007,
                "invalid UTF-8",
                "text frame is not valid UTF-8",
            ),
            WsError::Capacity(_) => (
                ErrorCode::TooLarge,
                1009,
                "too large",
                "frame over the hard size limit",
            ),
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)
            | WsError::ConnectionClosed
            | WsError::AlreadyClosed
            | WsError::Io(_) => return Stop::Gone,
            WsError::Protocol(_) => (
                ErrorCode::BadFrame,
                1002,
                "protocol error",
                "WebSocket protocol violation",
            ),
            _ => return Stop::Gone,
        };
        self.shared
            .metrics
            .protocol_violations
            .fetch_add(1, Relaxed);
        tracing::debug!(conn = self.conn_id, close, "WebSocket frame refused");
        match self.error(ClientError::new(code, message)).await {
            Ok(()) => Stop::Close(close, reason),
            Err(stop) => stop,
        }
    }

    async fn error(&mut self, e: ClientError) -> Result<(), Stop> {
        self.shared.metrics.error(e.code);
        // Not the message: serde's messages quote the client's input (customer text, tokens).
        tracing::debug!(conn = self.conn_id, code = e.code.as_str(), "client error");
        self.send_text(e.frame()).await
    }

    /// Sends a close frame and waits (briefly) for the peer's, so unread input does not turn
    /// the TCP close into a reset that would swallow the close frame.
    async fn close<St>(&mut self, stream: &mut St, code: u16, reason: &'static str)
    where
        St: Stream<Item = Result<Message, WsError>> + Unpin,
    {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from_static(reason),
        };
        let limit = self.shared.config.limits.close_timeout;
        if tokio::time::timeout(limit, self.sink.send(Message::Close(Some(frame))))
            .await
            .is_ok_and(|r| r.is_ok())
        {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
                while let Some(Ok(m)) = stream.next().await {
                    if m.is_close() {
                        break;
                    }
                }
            })
            .await;
        }
    }

    /// Waits for a valid `hello` (within the handshake timeout) and answers `welcome`.
    async fn hello<St>(
        &mut self,
        stream: &mut St,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop>
    where
        St: Stream<Item = Result<Message, WsError>> + Unpin,
    {
        let limits = self.shared.config.limits.clone();
        let deadline = tokio::time::sleep(limits.hello_timeout);
        tokio::pin!(deadline);
        let unauthorized = |m: &str| ClientError::new(ErrorCode::Unauthorized, m.to_string());
        let hello = loop {
            tokio::select! {
                _ = &mut deadline => {
                    self.error(unauthorized("no hello within the handshake timeout")).await?;
                    return Err(Stop::Close(close::UNAUTHORIZED, "hello timeout"));
                }
                _ = shutdown.changed() => return Err(Stop::Close(1001, "server shutting down")),
                msg = stream.next() => match msg {
                    Some(Ok(Message::Text(t))) => {
                        if t.len() > limits.max_frame {
                            self.error(unauthorized("send hello first")).await?;
                            return Err(Stop::Close(close::UNAUTHORIZED, "unauthorized"));
                        }
                        match protocol::parse(&t) {
                            Ok(Inbound::Hello(h)) => break h,
                            Ok(_) | Err(_) => {
                                self.error(unauthorized("send hello first")).await?;
                                return Err(Stop::Close(close::UNAUTHORIZED, "unauthorized"));
                            }
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        self.error(unauthorized("send hello first")).await?;
                        return Err(Stop::Close(close::UNAUTHORIZED, "unauthorized"));
                    }
                    Some(Err(e)) => return Err(self.read_failed(e).await),
                    Some(Ok(Message::Close(_))) | None => return Err(Stop::Gone),
                    Some(Ok(_)) => {}
                }
            }
        };
        let session = match self.authenticate(hello) {
            Ok(s) => s,
            Err(e) => {
                self.error(e).await?;
                return Err(Stop::Close(close::UNAUTHORIZED, "unauthorized"));
            }
        };
        let engine = self.shared.engine();
        let meta = engine.meta();
        let limits = &self.shared.config.limits;
        let sla = &self.shared.config.sla;
        let tz = &self.shared.config.tz;
        let welcome = Outbound::Welcome(protocol::Welcome {
            protocol: protocol::PROTOCOL_VERSION,
            role: session.role.as_str(),
            shop: &session.shop,
            agent: session.agent.as_deref(),
            book: protocol::BookRef::of(meta),
            limits: protocol::WelcomeLimits {
                max_frame: limits.max_frame,
                max_text: limits.max_text,
                rate: protocol::Rate {
                    per_sec: limits.rate.per_sec,
                    burst: limits.rate.burst,
                },
                outbound_queue: limits.outbound_queue,
                heartbeat_ms: limits.heartbeat.as_millis() as u64,
            },
            sla: protocol::SlaLimits {
                warn_ms: sla.warn.as_millis() as u64,
                breach_ms: sla.breach.as_millis() as u64,
            },
            server_time: now_ms(),
            tz: protocol::Tz {
                name: &tz.name,
                offset_min: tz.offset_min,
                label: tz.label(),
            },
        })
        .frame();
        self.shared.metrics.connection_closed(None);
        self.shared.metrics.connection_opened(Some(session.role));
        tracing::debug!(conn = self.conn_id, role = session.role.as_str(), shop = %session.shop, "hello");
        self.session = Some(session);
        self.send_text(welcome).await
    }

    fn authenticate(&mut self, h: Hello) -> Result<Session, ClientError> {
        let unauthorized = |m: &str| ClientError::new(ErrorCode::Unauthorized, m.to_string());
        let grant = self
            .shared
            .config
            .auth
            .check(&h.token, h.role)
            .ok_or_else(|| unauthorized("invalid token for this role"))?;
        if h.shop.as_ref().is_some_and(|s| s != &grant.shop) {
            return Err(unauthorized("token is not valid for this shop"));
        }
        let agent = match (&grant.agent, h.agent) {
            (Some(pinned), Some(a)) if pinned != &a => {
                return Err(unauthorized("token is bound to another agent"));
            }
            (Some(pinned), _) => Some(pinned.clone()),
            (None, a) => a,
        };
        if agent
            .as_ref()
            .is_some_and(|a| a.len() > self.shared.config.limits.max_id)
        {
            return Err(ClientError::new(ErrorCode::BadField, "agent id too long"));
        }
        self.agent_turns = grant.role.sends_agent_turns();
        let claim = match (grant.role, &grant.signing) {
            (TokenRole::Widget, Some(key)) => Claim::Signed(key.clone()),
            (TokenRole::Widget, None) => {
                let visitor = h.visitor.as_deref().map(visitor_digest).transpose()?;
                Claim::Visitor(visitor)
            }
            _ => Claim::Any,
        };
        Ok(Session {
            role: h.role,
            shop: grant.shop.clone(),
            agent,
            claim,
        })
    }

    async fn run<St>(
        &mut self,
        stream: &mut St,
        inbox: &mut Inbox,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Stop
    where
        St: Stream<Item = Result<Message, WsError>> + Unpin,
    {
        let hb = self.shared.config.limits.heartbeat;
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + hb, hb);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_seen = tokio::time::Instant::now();
        let kick = Arc::clone(&inbox.kick);
        loop {
            let step = tokio::select! {
                biased;
                _ = kick.notified() => {
                    self.shared.metrics.slow_consumers.fetch_add(1, Relaxed);
                    tracing::info!(conn = self.conn_id, "slow consumer closed");
                    Err(Stop::Close(close::SLOW_CONSUMER, "slow_consumer"))
                }
                _ = shutdown.changed() => Err(Stop::Close(1001, "server shutting down")),
                Some(frame) = inbox.rx.recv() => self.flush_pushed(frame, inbox).await,
                msg = stream.next() => {
                    last_seen = tokio::time::Instant::now();
                    match msg {
                        Some(Ok(m)) => self.on_message(m).await,
                        Some(Err(e)) => Err(self.read_failed(e).await),
                        None => Err(Stop::Gone),
                    }
                }
                _ = heartbeat.tick() => {
                    if last_seen.elapsed() > hb * 2 {
                        Err(Stop::Close(close::HEARTBEAT_TIMEOUT, "heartbeat timeout"))
                    } else {
                        let limit = self.shared.config.limits.write_timeout;
                        match tokio::time::timeout(limit, self.sink.send(Message::Ping(Default::default()))).await {
                            Ok(Ok(())) => Ok(()),
                            _ => Err(Stop::Gone),
                        }
                    }
                }
            };
            if let Err(stop) = step {
                return stop;
            }
        }
    }

    /// Writes one pushed frame and whatever else is queued, with one flush.
    /// The write races the kick: a client that stopped reading is closed as a slow consumer
    /// instead of holding its task in a blocked write until the write timeout.
    async fn flush_pushed(&mut self, first: Utf8Bytes, inbox: &mut Inbox) -> Result<(), Stop> {
        let limit = self.shared.config.limits.write_timeout;
        let kick = Arc::clone(&inbox.kick);
        let write = async {
            self.sink.feed(Message::Text(first)).await?;
            for _ in 0..64 {
                match inbox.rx.try_recv() {
                    Ok(f) => self.sink.feed(Message::Text(f)).await?,
                    Err(_) => break,
                }
            }
            self.sink.flush().await
        };
        tokio::select! {
            r = tokio::time::timeout(limit, write) => match r {
                Ok(Ok(())) => Ok(()),
                _ => Err(Stop::Gone),
            },
            _ = kick.notified() => {
                self.shared.metrics.slow_consumers.fetch_add(1, Relaxed);
                tracing::info!(conn = self.conn_id, "slow consumer closed");
                Err(Stop::Close(close::SLOW_CONSUMER, "slow_consumer"))
            }
        }
    }

    async fn on_message(&mut self, m: Message) -> Result<(), Stop> {
        match m {
            Message::Text(t) => {
                // Every data frame costs a token, oversized ones included: refusing them costs
                // the server a write too.
                if !self.bucket.allow() {
                    let e =
                        ClientError::new(ErrorCode::RateLimited, "too many messages; slow down");
                    // Tell the client which message was dropped (small frames only).
                    let r = (t.len() <= self.shared.config.limits.max_frame)
                        .then(|| peek_ref(&t))
                        .flatten();
                    return self.error(e.with_ref(r)).await;
                }
                let limits = &self.shared.config.limits;
                if t.len() > limits.max_frame {
                    let max = limits.max_frame;
                    let e =
                        ClientError::new(ErrorCode::TooLarge, format!("frame over {max} bytes"));
                    return self.error(e.with_ref(peek_ref(&t))).await;
                }
                match protocol::parse(&t) {
                    Ok(msg) => {
                        let r = msg.reference().map(str::to_string);
                        match self.dispatch(msg).await {
                            Ok(()) => Ok(()),
                            Err(Reply::Client(e)) => self.error(e.with_ref(r)).await,
                            Err(Reply::Stop(s)) => Err(s),
                        }
                    }
                    Err(e) => self.error(e).await,
                }
            }
            Message::Binary(_) => {
                if !self.bucket.allow() {
                    let e =
                        ClientError::new(ErrorCode::RateLimited, "too many messages; slow down");
                    return self.error(e).await;
                }
                self.error(ClientError::new(
                    ErrorCode::BinaryUnsupported,
                    "binary frames are not supported; send JSON text",
                ))
                .await
            }
            Message::Close(_) => Err(Stop::Gone),
            // Pings are answered by tungstenite; pongs only prove liveness.
            _ => Ok(()),
        }
    }

    fn session(&self) -> Result<&Session, Reply> {
        self.session.as_ref().ok_or_else(|| {
            Reply::Client(ClientError::new(
                ErrorCode::Unauthorized,
                "send hello first",
            ))
        })
    }

    fn require(&self, roles: &[Role], what: &str) -> Result<Session, Reply> {
        let s = self.session()?;
        if roles.contains(&s.role) {
            Ok(s.clone())
        } else {
            Err(Reply::Client(ClientError::new(
                ErrorCode::Forbidden,
                format!("a {} may not {what}", s.role.as_str()),
            )))
        }
    }

    fn check_id(&self, name: &str, value: &str) -> Result<(), Reply> {
        let max = self.shared.config.limits.max_id;
        if value.is_empty() || value.len() > max || value.chars().any(char::is_control) {
            return Err(Reply::Client(ClientError::new(
                ErrorCode::BadField,
                format!("`{name}` must be 1..={max} bytes without control characters"),
            )));
        }
        Ok(())
    }

    fn check_text(&self, text: &str) -> Result<(), Reply> {
        let max = self.shared.config.limits.max_text;
        if text.trim().is_empty() {
            return Err(Reply::Client(ClientError::new(
                ErrorCode::BadField,
                "`text` is empty",
            )));
        }
        if text.len() > max && text.chars().count() > max {
            return Err(Reply::Client(ClientError::new(
                ErrorCode::TooLarge,
                format!("`text` over {max} characters"),
            )));
        }
        Ok(())
    }

    async fn dispatch(&mut self, msg: Inbound) -> Result<(), Reply> {
        let received = Instant::now();
        match msg {
            Inbound::Hello(_) => Err(Reply::Client(ClientError::new(
                ErrorCode::Forbidden,
                "already authenticated",
            ))),
            Inbound::Ping => Ok(self.send(&Outbound::Pong).await?),
            Inbound::Turn(t) => {
                let session = self.require(&[Role::Widget], "send turns (agents use `send`)")?;
                let r = Some(t.id.clone());
                if !self.agent_turns && (t.role == Speaker::Agent || t.agent.is_some()) {
                    return Err(Reply::Client(
                        ClientError::new(
                            ErrorCode::Forbidden,
                            "a widget token sends customer turns only; agent turns need an integration token",
                        )
                        .with_ref(r),
                    ));
                }
                if let Claim::Signed(key) = &session.claim
                    && !t
                        .sig
                        .as_deref()
                        .is_some_and(|sig| key.verify(&session.shop, &t.conversation, sig))
                {
                    return Err(Reply::Client(
                        ClientError::new(ErrorCode::Forbidden, claim::BAD_SIGNATURE).with_ref(r),
                    ));
                }
                let input = TurnInput {
                    conversation: t.conversation,
                    id: t.id,
                    speaker: t.role,
                    text: t.text,
                    at: t.at,
                    customer: t.customer,
                    agent: t.agent,
                    product: t.product,
                };
                self.turn(&session, input, received)
                    .await
                    .map_err(|e| e.with_ref(r))
            }
            Inbound::Send(t) => {
                let session = self.require(&[Role::Agent], "send agent replies")?;
                let r = Some(t.id.clone());
                let input = TurnInput {
                    conversation: t.conversation,
                    id: t.id,
                    speaker: Speaker::Agent,
                    text: t.text,
                    at: t.at,
                    customer: None,
                    agent: session.agent.clone(),
                    product: None,
                };
                self.turn(&session, input, received)
                    .await
                    .map_err(|e| e.with_ref(r))
            }
            Inbound::Subscribe(s) => {
                let session = self.require(&[Role::Agent, Role::Supervisor], "subscribe")?;
                self.check_id("conversation", &s.conversation)?;
                self.subscribe(&session, s.conversation, s.since).await
            }
            Inbound::Unsubscribe(u) => {
                let session = self.require(&[Role::Agent, Role::Supervisor], "unsubscribe")?;
                if self.subscriptions.remove(&u.conversation) {
                    self.shared
                        .unsubscribe(&session.shop, &u.conversation, self.conn_id)
                        .await;
                }
                Ok(self
                    .send(&Outbound::Unsubscribed(protocol::Unsubscribed {
                        conversation: &u.conversation,
                    }))
                    .await?)
            }
            Inbound::Draft(d) => {
                let session = self.require(&[Role::Agent], "check drafts")?;
                let r = Some(d.draft.clone());
                let checked = async {
                    self.check_id("conversation", &d.conversation)?;
                    self.check_id("draft", &d.draft)?;
                    self.check_text(&d.text)?;
                    self.shared
                        .draft(&session, &d.conversation, &d.draft, &d.text)
                        .await
                        .map_err(Reply::Client)
                };
                let check = checked.await.map_err(|e| e.with_ref(r))?;
                self.send(&Outbound::DraftGuard(protocol::DraftGuard {
                    conversation: &d.conversation,
                    draft: &d.draft,
                    hits: &check.hits,
                    rewritten: check.rewritten.as_deref(),
                }))
                .await?;
                self.shared.metrics.draft_guard.observe(received.elapsed());
                Ok(())
            }
            Inbound::Feedback(f) => {
                let session = self.require(&[Role::Agent], "give feedback")?;
                let r = Some(f.suggestion.clone());
                let stored = async {
                    self.check_id("conversation", &f.conversation)?;
                    self.check_id("suggestion", &f.suggestion)?;
                    self.shared
                        .feedback(&session, &f.conversation, &f.suggestion, f.action)
                        .await
                        .map_err(Reply::Client)
                };
                stored.await.map_err(|e| e.with_ref(r))?;
                Ok(self
                    .send(&Outbound::Noted(protocol::Noted {
                        conversation: &f.conversation,
                        suggestion: &f.suggestion,
                        action: f.action.as_str(),
                    }))
                    .await?)
            }
            Inbound::Reveal(r) => {
                let session = self.require(&[Role::Agent], "reveal personal data")?;
                let rf = Some(r.turn.clone());
                let revealed = async {
                    self.check_id("conversation", &r.conversation)?;
                    self.check_id("turn", &r.turn)?;
                    // Only a console that has the conversation open: it already shows the turn.
                    if !self.subscriptions.contains(&r.conversation) {
                        return Err(Reply::Client(ClientError::new(
                            ErrorCode::Forbidden,
                            "subscribe to the conversation before revealing its data",
                        )));
                    }
                    self.shared
                        .reveal(&session, &r.conversation, &r.turn, r.entity)
                        .await
                        .map_err(Reply::Client)
                };
                let v = revealed.await.map_err(|e| e.with_ref(rf))?;
                Ok(self
                    .send(&Outbound::Revealed(protocol::Revealed {
                        conversation: &r.conversation,
                        turn: &r.turn,
                        entity: r.entity,
                        kind: v.kind,
                        value: &v.value,
                    }))
                    .await?)
            }
            Inbound::Resolve(r) => {
                let session = self.require(&[Role::Agent, Role::Supervisor], "resolve")?;
                let reference = Some(r.conversation.clone());
                let done = async {
                    self.check_id("conversation", &r.conversation)?;
                    self.shared
                        .resolve(&session, &r.conversation)
                        .await
                        .map_err(Reply::Client)
                };
                let changed = done.await.map_err(|e| e.with_ref(reference))?;
                Ok(self
                    .send(&Outbound::Resolved(protocol::Resolved {
                        conversation: &r.conversation,
                        changed,
                    }))
                    .await?)
            }
            Inbound::Watch => {
                let session = self.require(&[Role::Agent, Role::Supervisor], "watch the shop")?;
                self.watch(&session).await
            }
            Inbound::Unwatch => {
                let session = self.require(&[Role::Agent, Role::Supervisor], "watch the shop")?;
                if self.watching {
                    self.shared
                        .conversations
                        .unwatch(&session.shop, self.conn_id);
                    self.watching = false;
                }
                Ok(self.send(&Outbound::Unwatched).await?)
            }
        }
    }

    async fn turn(
        &mut self,
        session: &Session,
        t: TurnInput,
        received: Instant,
    ) -> Result<(), Reply> {
        self.check_id("conversation", &t.conversation)?;
        self.check_id("id", &t.id)?;
        self.check_text(&t.text)?;
        if t.at.is_some_and(|at| at < 0) {
            return Err(Reply::Client(ClientError::new(
                ErrorCode::BadField,
                "`at` must be ms since the epoch",
            )));
        }
        // The same rule as `hello`'s agent id.
        if t.agent
            .as_ref()
            .is_some_and(|a| a.len() > self.shared.config.limits.max_id)
        {
            return Err(Reply::Client(ClientError::new(
                ErrorCode::BadField,
                format!(
                    "agent id too long (`agent` over {} bytes)",
                    self.shared.config.limits.max_id
                ),
            )));
        }
        if t.customer.as_ref().is_some_and(|c| c.chars().count() > 32) {
            return Err(Reply::Client(ClientError::new(
                ErrorCode::BadField,
                "`customer` over 32 characters",
            )));
        }
        let conversation = t.conversation.clone();
        let id = t.id.clone();
        let ack = self
            .shared
            .accept_turn(session, t, received)
            .await
            .map_err(Reply::Client)?;
        Ok(self
            .send(&Outbound::Ack(protocol::Ack {
                conversation: &conversation,
                id: &id,
                seq: ack.seq,
                duplicate: ack.duplicate,
            }))
            .await?)
    }

    async fn subscribe(
        &mut self,
        session: &Session,
        conversation: String,
        since: u64,
    ) -> Result<(), Reply> {
        let max = self.shared.config.limits.max_subscriptions;
        if !self.subscriptions.contains(&conversation) && self.subscriptions.len() >= max {
            return Err(Reply::Client(
                ClientError::new(
                    ErrorCode::Forbidden,
                    format!("at most {max} subscriptions per connection"),
                )
                .with_ref(Some(conversation)),
            ));
        }
        let (last, already) = self
            .shared
            .subscribe(session, &conversation, &self.outbox)
            .await
            .map_err(|e| Reply::Client(e.with_ref(Some(conversation.clone()))))?;
        if !already {
            self.subscriptions.insert(conversation.clone());
            // Replay (since, last] from the database; live events > last wait in the inbox.
            let mut after = since;
            while after < last {
                let c = huashu_store::conversation_key(&session.shop, &conversation);
                let page = self
                    .shared
                    .db
                    .read(move |s| s.events(&c, after, Some(last), REPLAY_PAGE))
                    .await;
                let page = match page {
                    Ok(p) => p,
                    Err(e) => {
                        // Without the replay the client would see a gap: undo the subscription.
                        self.subscriptions.remove(&conversation);
                        self.shared
                            .unsubscribe(&session.shop, &conversation, self.conn_id)
                            .await;
                        return Err(Reply::Client(
                            crate::shared::internal(e).with_ref(Some(conversation)),
                        ));
                    }
                };
                let Some(end) = page.last().map(|e| e.seq) else {
                    break;
                };
                let limit = self.shared.config.limits.write_timeout;
                let write = async {
                    for e in page {
                        self.sink.feed(Message::Text(e.payload.into())).await?;
                    }
                    self.sink.flush().await
                };
                match tokio::time::timeout(limit, write).await {
                    Ok(Ok(())) => {}
                    _ => return Err(Reply::Stop(Stop::Gone)),
                }
                after = end;
            }
        }
        Ok(self
            .send(&Outbound::Subscribed(protocol::Subscribed {
                conversation: &conversation,
                seq: last,
            }))
            .await?)
    }

    async fn watch(&mut self, session: &Session) -> Result<(), Reply> {
        // Register first, then snapshot: an update racing the snapshot is queued behind it, and
        // clients keep the summary with the highest seq per conversation.
        self.shared.conversations.watch(&session.shop, &self.outbox);
        self.watching = true;
        let shop = session.shop.clone();
        let items = self
            .shared
            .db
            .read(move |s| s.summaries(&shop, WATCH_SNAPSHOT))
            .await
            .map_err(|e| Reply::Client(crate::shared::internal(e)))?;
        // Stored summaries are JSON objects written by us; one that is not is left out.
        let items: Vec<_> = items
            .into_iter()
            .filter_map(|s| serde_json::value::RawValue::from_string(s).ok())
            .collect();
        Ok(self
            .send(&Outbound::Conversations(protocol::Conversations {
                items: &items,
            }))
            .await?)
    }

    async fn cleanup(&mut self) {
        let shop = self.session.as_ref().map(|s| s.shop.clone());
        for c in std::mem::take(&mut self.subscriptions) {
            if let Some(shop) = &shop {
                self.shared.unsubscribe(shop, &c, self.conn_id).await;
            }
        }
        let role = self.session.as_ref().map(|s| s.role);
        if let Some(s) = self.session.as_ref().filter(|_| self.watching) {
            self.shared.conversations.unwatch(&s.shop, self.conn_id);
        }
        self.shared.metrics.connection_closed(role);
    }
}

/// The outcome of a request that did not succeed.
#[derive(Debug)]
enum Reply {
    /// Answer with an error frame, keep the connection.
    Client(ClientError),
    Stop(Stop),
}

impl From<Stop> for Reply {
    fn from(s: Stop) -> Reply {
        Reply::Stop(s)
    }
}

impl Reply {
    fn with_ref(self, r: Option<String>) -> Reply {
        match self {
            Reply::Client(e) => Reply::Client(e.with_ref(r)),
            other => other,
        }
    }
}

/// The `id`/`draft` of a frame, found without a full parse (for `rate_limited` errors).
fn peek_ref(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Ids {
        id: Option<String>,
        draft: Option<String>,
    }
    serde_json::from_str::<Ids>(text)
        .ok()
        .and_then(|i| i.id.or(i.draft))
}

/// The digest of a `hello`'s visitor key, or `bad_field` when it is too short or too long
/// to be one of ours (the SDK's keys hold 128 random bits).
fn visitor_digest(key: &str) -> Result<VisitorDigest, ClientError> {
    if !(MIN_VISITOR_KEY..=MAX_VISITOR_KEY).contains(&key.len())
        || key.chars().any(char::is_control)
    {
        return Err(ClientError::new(
            ErrorCode::BadField,
            format!(
                "`visitor` must be {MIN_VISITOR_KEY}..={MAX_VISITOR_KEY} bytes without control characters"
            ),
        ));
    }
    Ok(VisitorDigest::of(key))
}
