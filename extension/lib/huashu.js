/**
 * huashu.js — the huashu (话术) client SDK, protocol v1 (see docs/PROTOCOL.md).
 *
 * One small ES module, no dependencies, no build step. A shop's chat widget uses it to stream
 * chat turns to `huashu serve`; the agent console and the demo shop use the same class with the
 * `agent` role to watch conversations, subscribe to their events and check drafts.
 *
 * What it takes care of, so the integrator does not have to:
 * - the `hello` → `welcome` handshake, sent again after every reconnect;
 * - reconnecting by itself with exponential backoff and jitter (each delay uniform in [d/2, d]:
 *   no thundering herd when a server restarts under thousands of widgets); it stops only on
 *   `close()` or a rejected token;
 * - an outbox: every turn (and agent `send`) stays queued until the server acks it, and is
 *   re-sent after a reconnect. The server deduplicates on (conversation, id), so a turn whose ack
 *   was lost in the disconnect is acked again with the same `seq` — nothing lost, nothing doubled;
 * - resuming subscriptions with `since` = the last seq seen, and dropping events already seen.
 *
 * The token is kept in memory only: the SDK never stores or logs it.
 *
 * @example Widget (customer chat)
 *   import { Huashu } from '/sdk/huashu.js';
 *   const hs = new Huashu({ url: 'ws://127.0.0.1:8080/ws', token: TOKEN, shop: 'default', role: 'widget' });
 *   hs.on('open', (welcome) => console.log('protocol', welcome.protocol));
 *   hs.on('close', ({ willReconnect, delay }) => showOffline(willReconnect, delay));
 *   hs.connect();
 *   const ack = await hs.sendTurn({ conversation: 'c-1', role: 'customer', text: '快递怎么还没到？' });
 *   // ack = { type: 'ack', conversation: 'c-1', id: 'm-…', seq: 17 }
 *   hs.close();
 *
 * @example Agent (console)
 *   const hs = new Huashu({ url, token, shop, agent: 'a-7', role: 'agent' });
 *   hs.on('analysis', (ev) => …); hs.on('suggestions', (ev) => …); hs.on('guard', (ev) => …);
 *   hs.connect();
 *   hs.watch();                       // conversation list, kept after reconnects
 *   hs.subscribe('c-1');              // replay + live events, resumed with `since` after reconnects
 *   const draftId = hs.draft({ conversation: 'c-1', text: '你去告啊' });  // → 'guard' event with draft id
 *   await hs.feedback({ conversation: 'c-1', suggestion: 's-…', action: 'used' });
 *   await hs.send({ conversation: 'c-1', text: '非常抱歉给您带来不便' });  // → ack
 */

/** @typedef {'widget'|'agent'|'supervisor'} Role */

/**
 * @typedef {object} HuashuOptions
 * @property {string} url WebSocket URL of the service, e.g. `ws://127.0.0.1:8080/ws`.
 * @property {string} token Token printed by `huashu serve` or configured for the shop.
 * @property {string} [shop='default'] Shop id.
 * @property {string} [agent] Agent id (agent role).
 * @property {string} [conversation] Default conversation for `sendTurn`.
 * @property {string} [sig] The shop backend's signature of `conversation` (widget tokens with a
 *   signing secret; see docs/SDK.md), sent with turns of that conversation.
 * @property {string} [visitor] Widget role with a public widget token: this visitor's own secret
 *   (`visitorKey()`); the conversations it starts are bound to it, so nobody else holding the
 *   page's token can write into them. Kept in memory, sent only inside `hello`.
 * @property {Role} [role='widget']
 * @property {{initial?: number, max?: number, factor?: number}} [backoff] Reconnect delays in ms
 *   (defaults 300, 10000, 2). Each delay is drawn uniformly in [d/2, d] ("equal jitter").
 * @property {number} [handshakeTimeout=8000] Ms to wait for `welcome` before retrying.
 * @property {number} [pingInterval=20000] Ms between application `ping`s; a connection silent for
 *   three intervals is considered dead and replaced.
 * @property {typeof WebSocket} [WebSocket] WebSocket implementation (defaults to the global one;
 *   pass the `ws` package in Node).
 */

/**
 * @typedef {object} Turn
 * @property {string} [conversation] Defaults to the `conversation` option.
 * @property {string} [id] Message id, unique in the conversation; generated when absent.
 * @property {'customer'|'agent'} role
 * @property {string} text
 * @property {number} [at] Epoch ms; the server uses its own time when absent.
 * @property {string} [customer] Customer's name (fills the `{称呼}` slot).
 * @property {string} [agent] Agent turns: id of the agent who sent it (≤ 128 bytes), stored with
 *   the turn so the QA figures credit it to that agent.
 * @property {string} [product] Customer turns: sku of the catalogue product the customer is
 *   looking at (the product page the chat was opened from), so answers fit that product.
 * @property {string} [sig] The shop backend's signature of the conversation id (defaults to the
 *   `sig` option for the default conversation).
 */

/**
 * The server's frames are typed in protocol.js, generated from the Rust definitions (served at
 * /assets/protocol.js; the SDK itself imports nothing, so a shop can host this one file).
 * `ack`: `seq` is the turn's first event; `duplicate` is true when the server had already
 * stored this (conversation, id).
 * @typedef {import('./protocol.js').Ack} Ack
 * @typedef {import('./protocol.js').Welcome} Welcome
 * @typedef {import('./protocol.js').Outbound} Outbound
 */

/** Errors after which re-sending the same message cannot succeed. */
const FATAL_FOR_MESSAGE = new Set(['bad_json', 'missing_field', 'bad_field', 'too_large', 'forbidden', 'unknown_type']);
/** Event types that belong to a conversation's ordered stream (carry a per-conversation seq). */
const STREAM_EVENTS = new Set(['analysis', 'suggestions', 'guard', 'sla', 'follow_up', 'order']);

/**
 * A random id such as `m-lq2x9c-8f3k1z0a`. Works outside secure contexts too (no randomUUID).
 * @param {string} [prefix='m']
 * @returns {string}
 */
export function newId(prefix = 'm') {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  let rand = '';
  for (const b of bytes) rand += (b % 36).toString(36);
  return `${prefix}-${Date.now().toString(36)}-${rand}`;
}

/**
 * This browser's visitor key for huashu: 128 random bits (32 hex characters), created on first
 * use and kept in `storage` under `name`, so a returning visitor can go on writing into the
 * conversations it started. Falls back to a key for this page load when storage is unavailable.
 * The key is a secret of this visitor: pass it as the `visitor` option, never put it in a URL.
 * @param {Storage} [storage=localStorage]
 * @param {string} [name='huashu.visitor']
 * @returns {string}
 */
export function visitorKey(storage = globalThis.localStorage, name = 'huashu.visitor') {
  try {
    const kept = storage?.getItem(name);
    if (kept && /^[0-9a-f]{32}$/.test(kept)) return kept;
  } catch { /* storage disabled: a key for this page load */ }
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  const key = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  try { storage?.setItem(name, key); } catch { /* see above */ }
  return key;
}

/**
 * The WebSocket URL of the server that served this page (`ws(s)://<host>/ws`).
 * @param {Location} [loc=location]
 * @returns {string}
 */
export function defaultUrl(loc = globalThis.location) {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}

export class Huashu {
  /** @param {HuashuOptions} options */
  constructor(options) {
    if (!options || !options.url || !options.token) throw new TypeError('Huashu: url and token are required');
    const { url, token, shop = 'default', agent, conversation, role = 'widget', backoff = {} } = options;
    this.url = url;
    this.shop = shop;
    this.agent = agent;
    this.role = role;
    this.conversation = conversation;
    // Not public properties: keep the token and the visitor key out of casual inspection and
    // serialisation.
    Object.defineProperty(this, '_token', { value: token, enumerable: false });
    Object.defineProperty(this, '_visitor', { value: options.visitor, enumerable: false });
    this._sig = options.sig;
    this._backoff = { initial: backoff.initial ?? 300, max: backoff.max ?? 10000, factor: backoff.factor ?? 2 };
    this._handshakeTimeout = options.handshakeTimeout ?? 8000;
    this._pingInterval = options.pingInterval ?? 20000;
    this._WS = options.WebSocket ?? globalThis.WebSocket;
    /** @type {Map<string, Set<Function>>} */
    this._handlers = new Map();
    /** Unacked turns/sends, in insertion order: key `${conversation}\u0000${id}`. */
    this._outbox = new Map();
    /** Pending feedback promises by suggestion id. */
    this._feedback = new Map();
    /** conversation → last seq seen (subscriptions to resume). */
    this._subs = new Map();
    this._watching = false;
    this._ws = null;
    this._ready = false;
    this._closed = true;
    this._attempt = 0;
    this._timer = null;
    this._pingTimer = null;
    this._lastRx = 0;
    /** @type {'idle'|'connecting'|'open'|'reconnecting'|'closed'} */
    this.state = 'idle';
    /** The last `welcome` message (limits, sla, book, server_time). */
    this.welcome = null;
  }

  /**
   * Listen to a message type (`ack`, `analysis`, `suggestions`, `guard`, `sla`, `follow_up`,
   * `conversations`, `conversation`, `subscribed`, `noted`, `pong`, …), to every message
   * (`message`), or to the life-cycle events `open` (payload: welcome), `close`
   * (`{code, reason, willReconnect, delay, attempt}`) and `error` (an `error` message from the
   * server, or `{code:'socket'}`).
   * @param {string} type
   * @param {(payload: any) => void} fn
   * @returns {() => void} a function that removes the listener
   */
  on(type, fn) {
    if (!this._handlers.has(type)) this._handlers.set(type, new Set());
    this._handlers.get(type).add(fn);
    return () => this.off(type, fn);
  }

  /** @param {string} type @param {Function} fn */
  off(type, fn) {
    this._handlers.get(type)?.delete(fn);
  }

  _emit(type, payload) {
    for (const fn of this._handlers.get(type) ?? []) {
      try {
        fn(payload);
      } catch (err) {
        // A faulty listener must not break the connection loop; surface it asynchronously.
        setTimeout(() => { throw err; });
      }
    }
  }

  /** Opens the connection (and keeps it open until `close()`). Idempotent. */
  connect() {
    if (!this._closed) return this;
    this._closed = false;
    this._open();
    return this;
  }

  /** Closes the connection for good; pending `sendTurn` promises stay pending in the outbox. */
  close() {
    this._closed = true;
    clearTimeout(this._timer);
    clearInterval(this._pingTimer);
    this._ready = false;
    this.state = 'closed';
    const ws = this._ws;
    this._ws = null;
    if (ws && ws.readyState <= 1) ws.close(1000, 'bye');
  }

  /** True once `welcome` was received on the current socket. */
  get ready() {
    return this._ready;
  }

  /** Number of turns waiting for their ack. */
  get pending() {
    return this._outbox.size;
  }

  _open() {
    clearTimeout(this._timer);
    this.state = this._attempt === 0 ? 'connecting' : 'reconnecting';
    let ws;
    try {
      ws = new this._WS(this.url);
    } catch (err) {
      this._emit('error', { type: 'error', code: 'socket', message: String(err) });
      this._scheduleReconnect(1006, 'construct failed');
      return;
    }
    this._ws = ws;
    this._ready = false;
    const handshake = setTimeout(() => {
      if (this._ws === ws && !this._ready) ws.close(4000, 'handshake timeout');
    }, this._handshakeTimeout);
    ws.onopen = () => {
      const hello = { type: 'hello', role: this.role, token: this._token, shop: this.shop };
      if (this.agent) hello.agent = this.agent;
      if (this._visitor) hello.visitor = this._visitor;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (ev) => {
      if (this._ws !== ws) return;
      this._lastRx = Date.now();
      let msg;
      try {
        msg = JSON.parse(typeof ev.data === 'string' ? ev.data : String(ev.data));
      } catch {
        return;
      }
      if (msg && msg.type === 'welcome') clearTimeout(handshake);
      this._onMessage(msg);
    };
    ws.onerror = () => {
      if (this._ws === ws) this._emit('error', { type: 'error', code: 'socket', message: 'WebSocket error' });
    };
    ws.onclose = (ev) => {
      clearTimeout(handshake);
      if (this._ws !== ws) return;
      this._ws = null;
      this._ready = false;
      clearInterval(this._pingTimer);
      this._scheduleReconnect(ev.code, ev.reason);
    };
  }

  _scheduleReconnect(code, reason) {
    // 4401: the token was refused — retrying cannot help.
    const willReconnect = !this._closed && code !== 4401;
    let delay = 0;
    if (willReconnect) {
      const { initial, max, factor } = this._backoff;
      const ceiling = Math.min(max, initial * factor ** this._attempt);
      delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      this._attempt += 1;
      this.state = 'reconnecting';
      this._timer = setTimeout(() => this._open(), delay);
    } else {
      this.state = 'closed';
      this._closed = true;
    }
    this._emit('close', { code, reason, willReconnect, delay, attempt: this._attempt });
  }

  _raw(msg) {
    if (this._ws && this._ws.readyState === 1 && (this._ready || msg.type === 'hello')) {
      this._ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  _onMessage(msg) {
    if (!msg || typeof msg.type !== 'string') return;
    switch (msg.type) {
      case 'welcome':
        this._ready = true;
        this._attempt = 0;
        this.state = 'open';
        this.welcome = msg;
        this._startPing();
        // Resume: list, subscriptions (since = last seen), then the outbox in order.
        if (this._watching) this._raw({ type: 'watch' });
        for (const [conversation, since] of this._subs) this._raw({ type: 'subscribe', conversation, since });
        for (const entry of this._outbox.values()) this._raw(entry.msg);
        this._emit('open', msg);
        break;
      case 'ack': {
        const key = `${msg.conversation}\u0000${msg.id}`;
        const entry = this._outbox.get(key);
        if (entry) {
          this._outbox.delete(key);
          entry.resolve(msg);
        }
        break;
      }
      case 'noted': {
        const waiters = this._feedback.get(msg.suggestion);
        if (waiters) {
          this._feedback.delete(msg.suggestion);
          for (const w of waiters) w.resolve(msg);
        }
        break;
      }
      case 'subscribed':
        if (this._subs.has(msg.conversation) && Number.isFinite(msg.seq)) {
          this._subs.set(msg.conversation, Math.max(this._subs.get(msg.conversation), msg.seq));
        }
        break;
      case 'error':
        this._onError(msg);
        break;
      default:
        if (STREAM_EVENTS.has(msg.type) && this._subs.has(msg.conversation) && Number.isFinite(msg.seq)) {
          // Drop what was already delivered (a replay overlapping live events after a resume).
          if (msg.seq <= this._subs.get(msg.conversation)) return;
          this._subs.set(msg.conversation, msg.seq);
        }
    }
    this._emit(msg.type, msg);
    this._emit('message', msg);
  }

  _onError(msg) {
    if (!msg.ref) return;
    for (const [key, entry] of this._outbox) {
      if (entry.msg.id !== msg.ref) continue;
      if (FATAL_FOR_MESSAGE.has(msg.code)) {
        this._outbox.delete(key);
        const err = new Error(msg.message || msg.code);
        err.code = msg.code;
        err.response = msg;
        entry.reject(err);
      } else if (msg.code === 'rate_limited' || msg.code === 'internal') {
        // Transient: try this message again a little later (still in the outbox).
        setTimeout(() => {
          if (this._outbox.get(key) === entry) this._raw(entry.msg);
        }, 1000 + Math.random() * 1000);
      }
    }
  }

  _startPing() {
    clearInterval(this._pingTimer);
    this._lastRx = Date.now();
    this._pingTimer = setInterval(() => {
      if (!this._ws) return;
      if (Date.now() - this._lastRx > 3 * this._pingInterval) {
        this._ws.close(4000, 'silent');
        return;
      }
      this._raw({ type: 'ping' });
    }, this._pingInterval);
  }

  _enqueue(msg) {
    const key = `${msg.conversation}\u0000${msg.id}`;
    const existing = this._outbox.get(key);
    if (existing) return existing.promise;
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    this._outbox.set(key, { msg, resolve, reject, promise });
    this._raw(msg);
    return promise;
  }

  /**
   * Sends one chat turn; resolves with the server's `ack` once the turn is durable. While
   * offline the turn waits in the outbox and goes out after the reconnect.
   * @param {Turn} turn
   * @returns {Promise<Ack>}
   */
  sendTurn(turn) {
    const conversation = turn.conversation ?? this.conversation;
    if (!conversation) return Promise.reject(new TypeError('sendTurn: conversation is required'));
    if (typeof turn.text !== 'string') return Promise.reject(new TypeError('sendTurn: text is required'));
    const msg = { type: 'turn', conversation, id: turn.id ?? newId('m'), role: turn.role ?? 'customer', text: turn.text };
    msg.at = turn.at ?? Date.now();
    if (turn.customer) msg.customer = turn.customer;
    if (turn.agent) msg.agent = turn.agent;
    if (turn.product) msg.product = turn.product;
    const sig = turn.sig ?? (conversation === this.conversation ? this._sig : undefined);
    if (sig) msg.sig = sig;
    return this._enqueue(msg);
  }

  /**
   * Agent role: sends a reply through huashu (`send`); resolves with the `ack`. Queued like turns.
   * @param {{conversation: string, id?: string, text: string}} reply
   * @returns {Promise<Ack>}
   */
  send(reply) {
    const msg = { type: 'send', conversation: reply.conversation, id: reply.id ?? newId('a'), text: reply.text };
    return this._enqueue(msg);
  }

  /** Agent role: receive the conversation list and its live updates (kept across reconnects). */
  watch() {
    this._watching = true;
    this._raw({ type: 'watch' });
  }

  /**
   * Agent role: replay and follow one conversation's events. Resumed after reconnects with
   * `since` = last seq seen.
   * @param {string} conversation
   * @param {{since?: number}} [opts]
   */
  subscribe(conversation, opts = {}) {
    const since = opts.since ?? this._subs.get(conversation) ?? 0;
    this._subs.set(conversation, since);
    this._raw({ type: 'subscribe', conversation, since });
  }

  /** @param {string} conversation */
  unsubscribe(conversation) {
    this._subs.delete(conversation);
    this._raw({ type: 'unsubscribe', conversation });
  }

  /** Last seq seen for a subscribed conversation (0 when none). @param {string} conversation */
  lastSeq(conversation) {
    return this._subs.get(conversation) ?? 0;
  }

  /**
   * Agent role: asks the server to check a draft. Not queued (a stale draft is worthless):
   * returns the draft id, or null when offline. The answer is a `guard` event with that `draft`.
   * @param {{conversation: string, text: string, draft?: string}} d
   * @returns {string|null}
   */
  draft(d) {
    const draft = d.draft ?? newId('d');
    return this._raw({ type: 'draft', conversation: d.conversation, draft, text: d.text }) ? draft : null;
  }

  /**
   * Agent role: records what the agent did with a suggestion. Resolves with the `noted` reply
   * (or rejects after 5 s / when offline).
   * @param {{conversation: string, suggestion: string, action: 'used'|'edited'|'dismissed'}} f
   * @returns {Promise<object>}
   */
  feedback(f) {
    const msg = { type: 'feedback', conversation: f.conversation, suggestion: f.suggestion, action: f.action };
    return new Promise((resolve, reject) => {
      if (!this._raw(msg)) {
        reject(new Error('offline'));
        return;
      }
      const entry = { resolve, reject };
      if (!this._feedback.has(f.suggestion)) this._feedback.set(f.suggestion, new Set());
      this._feedback.get(f.suggestion).add(entry);
      setTimeout(() => {
        const set = this._feedback.get(f.suggestion);
        if (set?.delete(entry)) reject(new Error('feedback: no reply'));
      }, 5000);
    });
  }

  /**
   * Sends any protocol message as is (returns false when not connected).
   * @param {object} msg
   */
  request(msg) {
    return this._raw(msg);
  }
}

export default Huashu;
