// console.js — the agent console (客服工作台) served at `/`.
//
// Why it is shaped like this: no framework and no build step (the server embeds these files), so
// the page is one module with a small state model (`state.convs`) fed by protocol events and a
// few render functions that rebuild only the part that changed. Everything the customer wrote is
// untrusted: text reaches the DOM through textContent only (see `h`), never innerHTML.
//
// Token policy: the token is read from this page's URL (`?token=`) and kept in memory only (the
// SDK holds it); it is never written to localStorage/sessionStorage/cookies and never logged. It
// stays in the address bar so that a reload keeps working; `<meta name="referrer"
// content="no-referrer">` keeps it out of Referer headers.

import { Huashu, defaultUrl, newId } from '/sdk/huashu.js';

// ---------------------------------------------------------------------------------------------
// Labels (fixed taxonomy ids → zh-CN)

import {
  INTENT, EMOTION, NEGATIVE, STYLE, STAGE, TAG, ENTITY, CARRIER, CATEGORY, SEVERITY, SEVERITY_RANK,
} from '/assets/labels.js';
import { PERSONAL as PERSONAL_KINDS } from '/assets/protocol.js';

/** Personal entity kinds: masked by the server, revealable by this agent (`reveal`). */
const PERSONAL = new Set(PERSONAL_KINDS);
/** The suggestion tags shown as badges (the others steer the ranking only). */
const SHOWN_TAGS = new Set(['empathy', 'apology', 'solution', 'compensation', 'faq', 'safety']);

// ---------------------------------------------------------------------------------------------
// Small DOM helpers

const $ = (id) => document.getElementById(id);

/** Creates an element; strings become text nodes (never HTML). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Replaces `el`'s children, dropping null/undefined/false (never rendered as the word "null"). */
function fill(el, ...kids) {
  el.replaceChildren(...kids.flat().filter((k) => k !== undefined && k !== null && k !== false)
    .map((k) => (k instanceof Node ? k : String(k))));
  return el;
}

/** 0.72 → 72; null for anything that is not a finite number (no "NaN%" on screen). */
function pct(x) {
  return Number.isFinite(x) ? Math.round(Math.max(0, Math.min(1, x)) * 100) : null;
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/** UTF-16 index of the code point offset `cp` in `str` (server spans are code-point offsets). */
export function cpToUtf16(str, cp) {
  let i = 0;
  for (let n = 0; n < cp && i < str.length; n++) i += str.codePointAt(i) > 0xffff ? 2 : 1;
  return i;
}

function fmtWait(ms) {
  const sec = Math.max(0, Math.floor(ms / 1000));
  if (sec < 60) return `${sec}秒`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m}:${String(sec % 60).padStart(2, '0')}`;
  return `${Math.floor(m / 60)}时${m % 60}分`;
}
/**
 * The server's one time zone (`huashu serve --tz`, sent in `welcome`): clocks here show the same
 * times as the QA page. Until the welcome arrives, the browser's own zone.
 */
let tzOffsetMs = null;
/** The wall-clock fields of `at` in the server's zone (UTC getters on a shifted date). */
function wall(at) {
  if (tzOffsetMs === null) {
    const d = new Date(at);
    return { y: d.getFullYear(), mo: d.getMonth(), d: d.getDate(), h: d.getHours(), mi: d.getMinutes() };
  }
  const d = new Date(at + tzOffsetMs);
  return { y: d.getUTCFullYear(), mo: d.getUTCMonth(), d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes() };
}
/** "今天 18:30" / "明天 09:00" / "12月2日 09:00": when a promised follow-up falls due. */
function fmtDue(at) {
  const w = wall(at);
  const day = (x) => Date.UTC(x.y, x.mo, x.d);
  const diff = Math.round((day(w) - day(wall(now()))) / 86400000);
  const prefix = diff === 0 ? '今天' : diff === 1 ? '明天' : `${w.mo + 1}月${w.d}日`;
  return `${prefix} ${fmtClock(at)} `;
}
function fmtClock(at) {
  const w = wall(at);
  return `${String(w.h).padStart(2, '0')}:${String(w.mi).padStart(2, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Connection

const params = new URLSearchParams(location.search);
const TOKEN = params.get('token');
const SHOP = params.get('shop') || 'default';
const AGENT = params.get('agent') || 'a-1';
const EMBED = params.get('embed') === '1';
if (EMBED) document.documentElement.classList.add('embed');

const state = {
  convs: new Map(),
  selected: null,
  skew: 0, // server_time - Date.now()
  sla: { warn_ms: 8000, breach_ms: 30000 },
  online: false,
  // draft check
  checked: { text: '', hits: [] },
  pendingDraft: null,
  draftWaiters: [],
  inserted: null, // {conversation, suggestion, text}
  revealing: new Map(), // `${turn}:${entity}` → conversation, while a `reveal` is on its way
  locked: false, // the token was refused: nothing works until a new one is given
};
const now = () => Date.now() + state.skew;

const hs = TOKEN
  ? new Huashu({ url: defaultUrl(), token: TOKEN, shop: SHOP, agent: AGENT, role: 'agent', backoff: { initial: 300, max: 8000 } })
  : null;

function conv(id) {
  let c = state.convs.get(id);
  if (!c) {
    c = {
      id, customer: '', lastText: '', lastAt: 0, waitingSince: null,
      urgent: false, threat: false, escalation: false, escalationReasons: [], emotion: null, intent: null,
      safety: null, // {kind, name} while the conversation is in safety mode (server-decided)
      items: new Map(), // turn id (or `sys-<seq>`) → transcript item, in arrival order
      suggestions: [], dismissed: new Set(), trend: [], entities: new Map(), followUps: [],
      emotionTrend: null, // 'rising' | 'steady' | 'falling': the server's `flags.trend`
      slaLevel: null, subscribed: false, style: null, draft: '',
      revealed: new Map(), // `${turn}:${entity}` → value the agent asked to see (memory only)
    };
    state.convs.set(id, c);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Protocol events → state

/** Merges a ConversationSummary (`conversations` items, live `conversation` frames). */
function applySummary(sm) {
  const id = sm.conversation ?? sm.id;
  if (!id) return;
  const c = conv(id);
  // Keep, per conversation, the summary with the highest seq (PROTOCOL.md); events seen through
  // a subscription are at least as fresh as a summary with the same seq.
  if (Number.isFinite(sm.seq)) {
    if (sm.seq < (c.summarySeq ?? 0) || sm.seq < (c.eventSeq ?? 0)) return;
    c.summarySeq = sm.seq;
  }
  if (sm.customer) c.customer = sm.customer;
  if (typeof sm.last_text === 'string') c.lastText = sm.last_text;
  const lastAt = sm.last_at ?? sm.updated_at;
  if (Number.isFinite(lastAt)) c.lastAt = Math.max(c.lastAt, lastAt);
  if ('waiting_since' in sm) c.waitingSince = Number.isFinite(sm.waiting_since) ? sm.waiting_since : null;
  // The flags are the server's (the engine decides them once); the console only shows them.
  if (typeof sm.urgent === 'boolean') c.urgent = sm.urgent;
  if ('safety' in sm) c.safety = sm.safety ? { kind: sm.safety, name: sm.safety_name ?? '' } : null;
  if (typeof sm.threat === 'boolean') c.threat = sm.threat;
  if (typeof sm.escalation === 'boolean') c.escalation = sm.escalation;
  if (Array.isArray(sm.escalation_reasons)) c.escalationReasons = sm.escalation_reasons;
  if (typeof sm.trend === 'string') c.emotionTrend = sm.trend;
  if (sm.intent) c.intent = sm.intent;
  const emo = sm.emotion;
  if (emo) c.emotion = typeof emo === 'string' ? { label: emo, intensity: Number.isFinite(sm.intensity) ? sm.intensity : null } : emo;
  if (typeof sm.sla === 'string') c.slaLevel = sm.sla === 'warn' || sm.sla === 'breach' ? sm.sla : null;
}

/**
 * A turn event's `flags` (PROTOCOL.md): the conversation's urgent, threat, escalation (and why)
 * and emotion trend after the turn, as the server decided them.
 */
function applyFlags(c, f) {
  c.urgent = !!f.urgent;
  c.threat = !!f.threat;
  c.escalation = !!f.escalation;
  c.escalationReasons = Array.isArray(f.escalation_reasons) ? f.escalation_reasons : [];
  if (typeof f.trend === 'string') c.emotionTrend = f.trend;
}

function onAnalysis(ev) {
  const c = conv(ev.conversation);
  const at = ev.at ?? now();
  c.eventSeq = Math.max(c.eventSeq ?? 0, ev.seq ?? 0);
  c.items.set(ev.turn, {
    kind: 'turn', role: 'customer', turn: ev.turn, seq: ev.seq, text: ev.text ?? '', at,
    intents: ev.intents ?? [], emotion: ev.emotion, urgent: !!ev.urgent, threat: !!ev.threat, entities: ev.entities ?? [],
  });
  if (ev.customer) c.customer = ev.customer;
  c.lastText = ev.text ?? c.lastText;
  c.lastAt = Math.max(c.lastAt, at);
  if (c.waitingSince === null) c.waitingSince = at;
  const intents = (ev.intents ?? []).map((i) => i.id);
  if (ev.flags) applyFlags(c, ev.flags);
  else {
    // An event stored before turn events carried `flags`: show the turn's own alerts.
    if (ev.urgent) c.urgent = true;
    if (ev.threat) c.threat = true;
  }
  if (ev.emotion) {
    c.emotion = ev.emotion;
    const k = Number.isFinite(ev.emotion.intensity) ? ev.emotion.intensity : 0;
    const v = NEGATIVE.has(ev.emotion.label) ? k : ev.emotion.label === 'positive' ? -k : 0;
    c.trend.push({ v, label: ev.emotion.label, seq: ev.seq });
  }
  if ('safety' in ev) c.safety = ev.safety ?? null;
  c.intent = intents[0] ?? c.intent;
  c.style = ev.style ?? c.style;
  // A personal entity keeps where it came from (turn, index): that is what `reveal` names.
  (ev.entities ?? []).forEach((e, index) => c.entities.set(`${e.kind}\u0000${e.text}`, { ...e, turn: ev.turn, index }));
  c.slaLevel = null;
  changed(c, { transcript: true, list: true, insight: true });
}

function onSuggestions(ev) {
  const c = conv(ev.conversation);
  c.suggestions = ev.items ?? [];
  c.suggestionsTurn = ev.turn ?? '';
  changed(c, { suggestions: true });
  if (c.id === state.selected && c.safety) renderAlerts(c); // the safety banner shows the first action
}

/** `safety` event: safety mode ended (resolved) or changed. */
function onSafety(ev) {
  const c = conv(ev.conversation);
  c.eventSeq = Math.max(c.eventSeq ?? 0, ev.seq ?? 0);
  c.safety = ev.safety ?? null;
  changed(c, { list: true, insight: true });
  if (c.id === state.selected) renderAlerts(c);
}

/**
 * The safety banner: the incident kind and the kind's first action (the server puts it first
 * in the list; the console only shows it), with the one way to end safety mode.
 */
function safetyBanner(c) {
  if (!c.safety) return null;
  const first = c.suggestions.find((s) => s.safety === 'first_action');
  return h('div', { class: 'alert alert-safety', role: 'alert', dataset: { kind: c.safety.kind } },
    h('strong', {}, `安全事件 · ${c.safety.name || '紧急情况'}`),
    h('span', { class: 'safety-first' }, first ? `第一步：${first.text}` : '先确认人身安全，再处理商品问题。'),
    h('span', { class: 'muted' }, '安全处理期间不推荐补偿、继续使用、优惠券和评价类话术。'),
    h('button', { type: 'button', class: 'btn btn-small safety-resolve', onclick: () => hs.request({ type: 'resolve', conversation: c.id }) }, '标记已处理'));
}

function onGuard(ev) {
  if (ev.draft) {
    onDraftGuard(ev);
    return;
  }
  const c = conv(ev.conversation);
  const at = ev.at ?? now();
  c.eventSeq = Math.max(c.eventSeq ?? 0, ev.seq ?? 0);
  c.items.delete(ev.turn); // replaces the optimistic "sending" bubble, keeping arrival order honest
  c.items.set(ev.turn, { kind: 'turn', role: 'agent', turn: ev.turn, seq: ev.seq, text: ev.text ?? '', at, hits: ev.hits ?? [] });
  c.lastText = ev.text ?? c.lastText;
  c.lastAt = Math.max(c.lastAt, at);
  c.waitingSince = null;
  // Answered: the server's flags no longer have it jump the queue (the alert history stays in
  // the transcript); an event stored before `flags` existed means the same.
  if (ev.flags) applyFlags(c, ev.flags);
  else c.urgent = false;
  c.slaLevel = null;
  // The agent promised something ("24小时内答复您"): track it until it falls due (`follow_up`).
  if (ev.follow_up && !c.followUps.some((f) => f.turn === ev.turn)) {
    c.followUps.push({ turn: ev.turn, text: ev.follow_up.text, due_at: at + (ev.follow_up.due_in_ms ?? 0), due: false, done: false });
  }
  changed(c, { transcript: true, list: true, insight: true });
}

function onSla(ev) {
  const c = conv(ev.conversation);
  c.slaLevel = ev.level;
  c.items.set(`sys-${ev.seq}`, { kind: 'sys', level: ev.level, seq: ev.seq, text: ev.level === 'breach' ? `顾客已等待 ${fmtWait(ev.waiting_ms)}，超过响应时限` : `顾客已等待 ${fmtWait(ev.waiting_ms)}，请尽快回复` });
  changed(c, { transcript: true, list: true });
}

function onFollowUp(ev) {
  const c = conv(ev.conversation);
  const f = c.followUps.find((x) => x.turn && x.turn === ev.turn);
  if (f) Object.assign(f, { due: true, due_at: ev.due_at ?? f.due_at });
  else c.followUps.push({ turn: ev.turn, text: ev.text, due_at: ev.due_at, due: true, done: false });
  c.items.set(`sys-${ev.seq}`, { kind: 'sys', level: 'follow', seq: ev.seq, text: `跟进到期：您曾承诺「${ev.text}」` });
  changed(c, { transcript: true, list: true, insight: true });
}

// Batched rendering: events mark what changed and one task repaints. A MessageChannel task, not
// requestAnimationFrame or setTimeout: both are paused or throttled to 1 Hz in a background tab,
// and a console beside the shop's chat window is often not the focused tab.
const dirty = { list: false };
let scheduled = false;
const tick = new MessageChannel();
tick.port1.onmessage = flush;
function changed(c, what) {
  dirty.list ||= !!what.list;
  if (c && c.id === state.selected) {
    for (const k of Object.keys(what)) dirty[k] = true;
  }
  if (!scheduled) {
    scheduled = true;
    tick.port2.postMessage(null);
  }
}
function flush() {
  scheduled = false;
  if (dirty.list) renderList();
  if (dirty.transcript) renderTranscript();
  if (dirty.suggestions) renderSuggestions();
  if (dirty.insight) renderInsight();
  if (dirty.insight || dirty.order) renderOrder();
  if (dirty.transcript || dirty.insight || dirty.list) renderHead();
  dirty.list = dirty.transcript = dirty.suggestions = dirty.insight = dirty.order = false;
}

// ---------------------------------------------------------------------------------------------
// Order card: the shop's order API answered for an order number of this conversation (`order`
// events, docs/ORDERS.md). The server sends display-ready Chinese; the card shows it as given.

function onOrder(ev) {
  const c = conv(ev.conversation);
  c.eventSeq = Math.max(c.eventSeq ?? 0, ev.seq ?? 0);
  if (ev.order) c.order = ev.order;
  changed(c, { order: true });
}

function renderOrder() {
  const c = state.convs.get(state.selected);
  const o = c?.order;
  $('order-card').hidden = !o;
  if (!o) {
    $('order-body').replaceChildren();
    return;
  }
  const facts = [
    ['发货', o.shipped_at], ['签收', o.signed_at],
    ['快递', [o.carrier, o.tracking].filter(Boolean).join(' ')], ['物流', o.logistics],
  ].filter(([, v]) => v);
  $('order-body').replaceChildren(
    h('div', { class: 'order-head' },
      h('span', { class: 'order-id' }, `订单 ${o.id}`),
      h('span', { class: 'order-status', dataset: { status: o.status } }, o.status_text ?? '')),
    (o.items ?? []).length
      ? h('ul', { class: 'order-items' }, o.items.map((it) =>
        h('li', {}, h('span', {}, it.title), h('span', { class: 'qty' }, `×${it.quantity ?? 1}`))))
      : null,
    facts.length ? h('dl', { class: 'order-facts' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])) : null,
  );
}

// ---------------------------------------------------------------------------------------------
// Conversation list

/** Queue tier: 0 urgent (safety), 1 waiting with a complaint/escalation risk, 2 waiting, 3 answered. */
function tier(c) {
  if (c.urgent) return 0;
  if (c.waitingSince === null) return 3;
  return c.threat || c.escalation ? 1 : 2;
}

function sortedConvs() {
  return [...state.convs.values()].sort((a, b) =>
    (tier(a) - tier(b))
    || (a.waitingSince !== null && b.waitingSince !== null ? a.waitingSince - b.waitingSince : 0)
    || (b.lastAt - a.lastAt)
    || a.id.localeCompare(b.id));
}

function badges(c) {
  const out = [];
  if (c.urgent) out.push(h('span', { class: 'badge badge-urgent' }, '紧急'));
  if (c.safety) out.push(h('span', { class: 'badge badge-safety', title: '安全处理中，待客服标记已处理' }, c.safety.name || '安全事件'));
  if (c.threat) out.push(h('span', { class: 'badge badge-threat' }, '投诉风险'));
  if (c.escalation) out.push(h('span', { class: 'badge badge-escalate' }, '升级风险'));
  if (c.followUps.some((f) => f.due && !f.done)) out.push(h('span', { class: 'badge badge-follow' }, '跟进到期'));
  return out;
}

function displayName(c) {
  return c.customer || `访客 ${c.id.slice(-4)}`;
}

function renderList() {
  const list = $('conv-list');
  // Conversations known only because they were selected (no turn yet) stay out of the list.
  const items = sortedConvs().filter((c) => c.lastAt || c.lastText || c.items.size || c.id === state.selected);
  $('conv-count').textContent = String(items.length);
  // The tab title carries the queue, so a console in a background tab still shows who waits.
  const waiting = items.filter((c) => c.waitingSince !== null).length;
  const urgent = items.filter((c) => c.urgent).length;
  document.title = `${urgent ? `【紧急 ${urgent}】` : ''}${waiting ? `(${waiting}) ` : ''}话术 · 客服工作台`;
  renderFavicon(urgent, waiting);
  $('conv-empty').hidden = items.length > 0;
  list.replaceChildren(...items.map((c) => {
    const emo = c.emotion && c.emotion.label !== 'neutral' && EMOTION[c.emotion.label] ? h('span', { class: `emo-dot emo-${c.emotion.label}` }, EMOTION[c.emotion.label]) : null;
    return h('li', {
      class: `conv${c.id === state.selected ? ' selected' : ''}${c.urgent ? ' is-urgent' : ''}`,
      dataset: { id: c.id }, tabindex: '0', role: 'button', 'aria-current': c.id === state.selected ? 'true' : null,
      onclick: () => select(c.id),
      onkeydown: (e) => { if (e.key === 'Enter') select(c.id); },
    },
    h('span', { class: 'avatar' }, displayName(c).slice(0, 1)),
    h('div', { class: 'conv-body' },
      h('div', { class: 'conv-row' },
        h('span', { class: 'conv-name' }, displayName(c)),
        h('span', { class: 'wait', dataset: { since: c.waitingSince ?? '' } }, c.waitingSince ? (state.locked ? '—' : fmtWait(now() - c.waitingSince)) : (c.lastAt ? fmtClock(c.lastAt) : ''))),
      h('div', { class: 'conv-last' }, c.lastText || '（暂无消息）'),
      h('div', { class: 'conv-tags' }, ...badges(c), emo, c.intent && INTENT[c.intent] && !['other', 'complaint', 'escalation'].includes(c.intent) ? h('span', { class: 'tag' }, INTENT[c.intent]) : null)));
  }));
  tickTimers();
}

function select(id) {
  if (!id) return;
  const prev = state.selected ? state.convs.get(state.selected) : null;
  if (prev) prev.draft = $('reply').value;
  const c = conv(id);
  state.selected = id;
  if (!c.subscribed && hs) {
    c.subscribed = true;
    hs.subscribe(id);
  }
  $('reply').value = c.draft;
  state.checked = { text: '', hits: [] };
  state.inserted = null;
  $('override').checked = false;
  for (const el of [$('transcript'), $('composer'), $('conv-head')]) el.hidden = false;
  $('no-conv').hidden = true;
  document.body.classList.add('has-conv');
  changed(c, { list: true, transcript: true, suggestions: true, insight: true });
  renderGuard();
  scheduleDraft(0);
}

// ---------------------------------------------------------------------------------------------
// Selected conversation: head, alerts, transcript

function renderHead() {
  const c = state.convs.get(state.selected);
  if (!c) return;
  $('head-avatar').textContent = displayName(c).slice(0, 1);
  $('head-name').textContent = displayName(c);
  $('head-badges').replaceChildren(...badges(c));
  // The conversation id is an integrator's key, not something an agent reads: it stays in the
  // tooltip. The line says what the customer is about and how long the chat has run.
  const turns = [...c.items.values()].filter((it) => it.kind === 'turn').length;
  const sub = [];
  if (c.intent && INTENT[c.intent]) sub.push(INTENT[c.intent]);
  if (turns) sub.push(`${turns} 条消息`);
  if (c.lastAt) sub.push(`最近 ${fmtClock(c.lastAt)}`);
  $('head-sub').textContent = sub.join(' · ') || '新会话';
  $('head-sub').title = `会话 ${c.id}`;
  renderAlerts(c);
  tickTimers();
}

/** The causes the server gave for the escalation flag, worded for the agent (none: generic). */
export function escalationCauses(reasons) {
  const out = [];
  for (const r of reasons ?? []) {
    if (r?.kind === 'asked_human') out.push('顾客要求主管或人工处理');
    else if (r?.kind === 'complaint_threat') out.push('顾客扬言投诉（12315/差评/投诉）');
    else if (r?.kind === 'risk') {
      const p = pct(r.risk);
      const score = p === null ? '' : `（风险 ${p}%）`;
      out.push(Number.isFinite(r.turns) && r.turns >= 2 ? `情绪与风险已连续 ${r.turns} 轮上升${score}` : `升级风险偏高${score}`);
    }
  }
  return out;
}

function renderAlerts(c) {
  const alerts = [];
  if (c.urgent) alerts.push(['urgent', '紧急', '涉及人身安全或重大损失，请立即优先处理：先确认安全，再给出处理方案。']);
  if (c.threat) alerts.push(['threat', '投诉风险', '顾客提到投诉/差评/12315：先倾听道歉，再给方案，切勿争辩。']);
  if (c.escalation) {
    const causes = escalationCauses(c.escalationReasons);
    const asked = (c.escalationReasons ?? []).some((r) => r?.kind === 'asked_human');
    const advice = asked ? '及时回应，必要时转接主管。' : '先安抚、给出明确方案，防止升级。';
    alerts.push(['escalate', '升级风险', `${causes.length ? causes.join('；') : '会话有升级风险'}：${advice}`,
      (c.escalationReasons ?? []).map((r) => r?.kind).filter(Boolean).join(' ')]);
  }
  if (c.slaLevel === 'breach') alerts.push(['breach', '已超时', '顾客等待已超过响应时限，请马上回复。']);
  for (const f of c.followUps.filter((x) => x.due && !x.done)) alerts.push(['follow', '跟进到期', `您曾承诺「${f.text}」，请及时回复顾客。`]);
  fill($('alerts'), safetyBanner(c), alerts.map(([kind, title, text, reasons]) =>
    h('div', { class: `alert alert-${kind}`, role: 'alert', dataset: reasons === undefined ? undefined : { reasons } }, h('strong', {}, title), h('span', {}, text))));
}

// Items are immutable once rendered (a changed item is a new object), so the transcript is
// patched in place: O(n) cheap checks per repaint instead of rebuilding every bubble, which keeps
// a replay of a long conversation linear.
const rendered = new WeakMap();
function renderTranscript() {
  const c = state.convs.get(state.selected);
  const ol = $('transcript');
  if (!c) return;
  const switched = ol.dataset.conv !== c.id;
  const atBottom = switched || ol.scrollHeight - ol.scrollTop - ol.clientHeight < 40;
  if (switched) ol.replaceChildren();
  const want = [];
  for (const it of c.items.values()) {
    let li = rendered.get(it);
    if (!li) {
      li = renderItem(it);
      rendered.set(it, li);
    }
    want.push(li);
  }
  if (!want.length) want.push(h('li', { class: 'sys' }, '暂无消息'));
  want.forEach((li, i) => {
    if (ol.children[i] !== li) ol.insertBefore(li, ol.children[i] ?? null);
  });
  while (ol.children.length > want.length) ol.lastElementChild.remove();
  ol.dataset.conv = c.id;
  if (atBottom) ol.scrollTop = ol.scrollHeight;
}

function markSpans(text, spans) {
  // spans: [{start,end,cls}] in code points, not overlapping (see strongestHits)
  if (!spans.length) return [text];
  const out = [];
  let pos = 0;
  for (const sp of [...spans].sort((a, b) => a.start - b.start)) {
    const a = cpToUtf16(text, sp.start);
    const b = cpToUtf16(text, sp.end);
    if (a < pos) continue;
    out.push(text.slice(pos, a), h('mark', { class: sp.cls, title: sp.title ?? null }, text.slice(a, b)));
    pos = b;
  }
  out.push(text.slice(pos));
  return out;
}

/** The emotion badge: label, and for a non-neutral emotion its intensity as a small bar. */
function emoBadge(e) {
  const p = pct(e.intensity);
  return h('span', { class: `emo emo-${e.label}`, title: p === null ? null : `强度 ${p}%` },
    EMOTION[e.label], e.label !== 'neutral' && p !== null ? h('i', { style: `--w:${p}%` }) : null);
}

function renderItem(it) {
  if (it.kind === 'sys') return h('li', { class: `sys sys-${it.level}` }, it.text);
  if (it.role === 'customer') {
    const emo = it.emotion;
    const spans = it.entities.map((e) => ({ start: e.start, end: e.end, cls: 'ent', title: ENTITY[e.kind] ?? e.kind }));
    return h('li', { class: `msg msg-customer${it.urgent ? ' msg-urgent' : ''}`, dataset: { turn: it.turn, seq: it.seq } },
      h('div', { class: 'bubble' }, ...markSpans(it.text, spans)),
      h('div', { class: 'msg-meta' },
        h('time', {}, fmtClock(it.at)),
        it.urgent ? h('span', { class: 'badge badge-urgent' }, '紧急') : null,
        ...it.intents.filter((i) => INTENT[i.id]).slice(0, 2).map((i) => h('span', { class: `tag intent intent-${i.id}`, title: pct(i.score) === null ? null : `置信度 ${pct(i.score)}%` }, INTENT[i.id])),
        emo && EMOTION[emo.label] ? emoBadge(emo) : null,
        it.threat ? h('span', { class: 'badge badge-threat' }, '投诉风险') : null));
  }
  const hits = it.hits ?? [];
  return h('li', { class: `msg msg-agent${it.pending ? ' pending' : ''}${it.failed ? ' failed' : ''}`, dataset: { turn: it.turn, seq: it.seq ?? '' } },
    h('div', { class: 'bubble' }, ...markSpans(it.text, strongestHits(hits).map((x) => ({ start: x.start, end: x.end, cls: `sev-${x.severity}`, title: CATEGORY[x.category] ?? null })))),
    h('div', { class: 'msg-meta' },
      it.failed ? h('span', { class: 'err' }, `发送失败：${it.failed}`) : it.pending ? h('span', {}, '发送中…') : h('time', {}, fmtClock(it.at)),
      hits.length ? h('span', { class: 'badge badge-threat' }, `含忌语 ${hits.length} 处`) : null));
}

// ---------------------------------------------------------------------------------------------
// Suggestions

function visibleSuggestions(c) {
  return c ? c.suggestions.filter((x) => !c.dismissed.has(x.id)).slice(0, 5) : [];
}

function renderSuggestions() {
  const c = state.convs.get(state.selected);
  const items = visibleSuggestions(c);
  $('sugg-empty').hidden = items.length > 0;
  $('suggestions').dataset.turn = c?.suggestionsTurn ?? '';
  $('suggestions').replaceChildren(...items.map((sg, i) => {
    const tags = (sg.tags ?? []).filter((t) => SHOWN_TAGS.has(t)).map((t) => TAG[t]).filter(Boolean);
    return h('li', { class: `sugg${sg.safety === 'first_action' ? ' sugg-first-action' : ''}`, dataset: { id: sg.id, script: sg.script ?? '', stage: sg.stage ?? '', tags: (sg.tags ?? []).join(' '), safety: sg.safety ?? '' } },
      h('button', { type: 'button', class: 'sugg-use', title: `插入回复框（Alt+${i + 1}）`, onclick: () => useSuggestion(sg) },
        h('kbd', {}, String(i + 1)),
        // Stage and tags lead the text on its first line: five suggestions fit above the fold.
        h('span', { class: 'sugg-body' },
          h('span', { class: 'sugg-meta' },
            sg.title ? h('span', { class: 'sugg-title' }, sg.title)
              : sg.stage ? h('span', { class: `stage stage-${sg.stage}` }, STAGE[sg.stage] ?? sg.stage) : null,
            ...tags.slice(0, 2).map((t) => h('span', { class: 'tag' }, t)),
            sourceLabel(sg.source) ? h('span', { class: 'src' }, sourceLabel(sg.source)) : null),
          h('span', { class: 'sugg-text' }, sg.text))),
      h('button', { type: 'button', class: 'sugg-dismiss', title: '不合适，隐藏', 'aria-label': '隐藏这条推荐', onclick: () => dismissSuggestion(sg) }, '×'));
  }));
}

/** What an FAQ answer's `source` says to an agent: "faq:<id> · 运费政策" → "运费政策" (the id is internal). */
export function sourceLabel(source) {
  if (typeof source !== 'string') return '';
  return source.replace(/^faq:\S*\s*(·\s*)?/, '').trim();
}

function useSuggestion(sg) {
  const c = state.convs.get(state.selected);
  if (!c) return;
  const reply = $('reply');
  reply.value = sg.text;
  reply.focus();
  reply.setSelectionRange(reply.value.length, reply.value.length);
  state.inserted = { conversation: c.id, suggestion: sg.id, text: sg.text };
  hs.feedback({ conversation: c.id, suggestion: sg.id, action: 'used' }).catch(() => {});
  // Used: it leaves the list at once (the server's refreshed list, which follows, agrees).
  c.dismissed.add(sg.id);
  renderSuggestions();
  onReplyInput();
}

function dismissSuggestion(sg) {
  const c = state.convs.get(state.selected);
  if (!c) return;
  c.dismissed.add(sg.id);
  hs.feedback({ conversation: c.id, suggestion: sg.id, action: 'dismissed' }).catch(() => {});
  renderSuggestions();
}

// ---------------------------------------------------------------------------------------------
// Insight panel: intent, emotion, style, trend, entities, follow-ups

function renderInsight() {
  const c = state.convs.get(state.selected);
  if (!c) return;
  fill($('ins-intent'), c.intent && INTENT[c.intent] ? h('span', { class: `tag intent intent-${c.intent}` }, INTENT[c.intent]) : '—');
  const e = c.emotion && EMOTION[c.emotion.label] ? c.emotion : null;
  const p = e ? pct(e.intensity) : null;
  fill($('ins-emotion'), e ? emoBadge(e) : '—', e && e.label !== 'neutral' && p !== null ? h('span', { class: 'muted' }, ` 强度 ${p}%`) : null);
  $('ins-style').textContent = STYLE[c.style] ?? '—';
  renderTrend(c);
  const ents = [...c.entities.values()].filter((en) => ENTITY[en.kind]);
  $('ent-empty').hidden = ents.length > 0;
  fill($('entities'), ents.map((en) => entityChip(c, en)));
  const fus = c.followUps;
  $('fu-empty').hidden = fus.length > 0;
  $('followups').replaceChildren(...fus.map((f) => h('li', { class: f.done ? 'done' : f.due ? 'due' : '' },
    h('span', {}, `「${f.text}」`),
    h('span', { class: 'muted' }, f.done ? ' 已跟进' : f.due ? ' 已到期' : f.due_at ? ` ${fmtDue(f.due_at)}到期` : ''),
    f.done ? null : h('button', { type: 'button', class: 'btn btn-small', onclick: () => { f.done = true; changed(c, { insight: true, list: true }); renderAlerts(c); } }, '已跟进'))));
}

/**
 * One key-info chip. Personal values (phone, address, name) arrive masked; 查看 asks the server
 * for the value (`reveal`, recorded for QA), which then stays in this page's memory only
 * (never storage) and can be copied or inserted; 隐藏 masks it again.
 */
function entityChip(c, en) {
  const label = (en.carrier ? `${CARRIER[en.carrier] ?? ''}` : '') + ENTITY[en.kind];
  const personal = PERSONAL.has(en.kind) && en.turn !== undefined;
  const key = `${en.turn}:${en.index}`;
  const value = personal ? c.revealed.get(key) : undefined;
  const shown = value ?? en.text;
  const body = h('button', { type: 'button', class: 'chip-main', title: '插入回复框', onclick: () => insertAtCursor(shown) },
    h('span', { class: 'chip-k' }, label), h('span', { class: 'chip-v' }, shown));
  if (!personal) return h('span', { class: `chip chip-${en.kind}`, dataset: { kind: en.kind } }, body);
  const actions = value === undefined
    ? [h('button', { type: 'button', class: 'chip-act', 'aria-label': `查看完整${ENTITY[en.kind]}`, disabled: state.revealing.has(key) || !state.online, onclick: () => reveal(c, en) }, state.revealing.has(key) ? '查看中…' : '查看')]
    : [h('button', { type: 'button', class: 'chip-act', onclick: () => copyText(value) }, '复制'),
      h('button', { type: 'button', class: 'chip-act', onclick: () => { c.revealed.delete(key); changed(c, { insight: true }); } }, '隐藏')];
  return h('span', { class: `chip chip-${en.kind} chip-personal${value !== undefined ? ' is-revealed' : ''}`, dataset: { kind: en.kind, turn: en.turn, entity: String(en.index) } }, body, ...actions);
}

function reveal(c, en) {
  const key = `${en.turn}:${en.index}`;
  if (!hs || state.revealing.has(key)) return;
  if (!hs.request({ type: 'reveal', conversation: c.id, turn: en.turn, entity: en.index })) {
    toast('离线中：恢复连接后再查看');
    return;
  }
  state.revealing.set(key, c.id);
  changed(c, { insight: true });
}

function onRevealed(m) {
  const key = `${m.turn}:${m.entity}`;
  state.revealing.delete(key);
  const c = state.convs.get(m.conversation);
  if (!c || typeof m.value !== 'string') return;
  c.revealed.set(key, m.value);
  changed(c, { insight: true });
}

/** A refused reveal (`ref` is the turn): forget the pending ones of that turn and say why. */
function onRevealRefused(e) {
  let hit = false;
  for (const [key, conversation] of state.revealing) {
    if (!key.startsWith(`${e.ref}:`)) continue;
    state.revealing.delete(key);
    changed(state.convs.get(conversation), { insight: true });
    hit = true;
  }
  if (!hit) return false;
  toast(e.code === 'not_found' ? '原文已不可查看：服务重启后不再保留，请向顾客确认' : '无权查看该信息');
  return true;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast('已复制');
  } catch {
    // No clipboard permission (e.g. an embedding frame): copy through a selected text field.
    const ta = h('textarea', { class: 'copy-buffer', 'aria-hidden': 'true' });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    toast(ok ? '已复制' : '复制失败，请手动选择');
  }
}

const TREND_WORDS = { rising: ' · 情绪在升温', falling: ' · 情绪在缓和', steady: ' · 平稳' };

function renderTrend(c) {
  const svg = $('trend');
  const pts = c.trend.slice(-24);
  const W = 240, H = 48, pad = 5;
  const y = (v) => H / 2 - v * (H / 2 - pad);
  const x = (i) => (pts.length <= 1 ? W / 2 : pad + (i * (W - 2 * pad)) / (pts.length - 1));
  const kids = [
    s('rect', { x: 0, y: 0, width: W, height: H / 2, class: 'zone-neg' }),
    s('line', { x1: 0, x2: W, y1: H / 2, y2: H / 2, class: 'base' }),
  ];
  if (pts.length > 1) kids.push(s('polyline', { points: pts.map((p, i) => `${x(i)},${y(p.v)}`).join(' '), class: 'line' }));
  pts.forEach((p, i) => kids.push(s('circle', { cx: x(i), cy: y(p.v), r: 3, class: `dot dot-${p.label}` })));
  svg.replaceChildren(...kids);
  let legend = pts.length ? `${pts.length} 条` : '暂无';
  // The direction is the server's (`flags.trend`), not re-derived from the points drawn.
  if (pts.length > 1) legend += TREND_WORDS[c.emotionTrend] ?? '';
  $('trend-legend').textContent = legend;
}

// ---------------------------------------------------------------------------------------------
// Timers: list waiting times and the SLA countdown of the selected conversation

function tickTimers() {
  if (state.locked) return; // stopped: the page no longer sees what happens
  const t = now();
  for (const el of document.querySelectorAll('.wait[data-since]')) {
    const since = Number(el.dataset.since);
    if (!since) continue;
    const ms = t - since;
    el.textContent = fmtWait(ms);
    el.classList.toggle('wait-warn', ms >= state.sla.warn_ms && ms < state.sla.breach_ms);
    el.classList.toggle('wait-breach', ms >= state.sla.breach_ms);
  }
  const c = state.convs.get(state.selected);
  const box = $('sla');
  if (!c || c.waitingSince === null) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const ms = t - c.waitingSince;
  const { warn_ms: warn, breach_ms: breach } = state.sla;
  let label, cls;
  if (ms < warn) [label, cls] = [`请在 ${Math.ceil((warn - ms) / 1000)} 秒内回复`, 'sla-ok'];
  else if (ms < breach) [label, cls] = [`超时预警 · 还剩 ${Math.ceil((breach - ms) / 1000)} 秒`, 'sla-warn'];
  else [label, cls] = [`已超时 · 顾客等待 ${fmtWait(ms)}`, 'sla-breach'];
  $('sla-label').textContent = label;
  box.className = `sla ${cls}`;
  $('sla-fill').style.width = `${Math.min(100, (ms / breach) * 100)}%`;
}
let timerHandle = setInterval(tickTimers, 1000);

// ---------------------------------------------------------------------------------------------
// Composer: live guard with an in-place highlight layer, rewrite, block gating, send

let draftTimer = 0;
function scheduleDraft(delay = 150) {
  clearTimeout(draftTimer);
  draftTimer = setTimeout(checkDraft, delay);
}

function checkDraft() {
  if (state.locked) return;
  const c = state.convs.get(state.selected);
  const text = $('reply').value;
  if (!c || !text.trim()) {
    state.pendingDraft = null;
    state.checked = { text, hits: [] };
    resolveDraftWaiters();
    renderGuard();
    return;
  }
  if (state.checked.text === text && !state.pendingDraft) return;
  const draft = hs.draft({ conversation: c.id, text });
  state.pendingDraft = draft ? { draft, text, conversation: c.id } : null;
}

function onDraftGuard(ev) {
  const p = state.pendingDraft;
  if (!p || ev.draft !== p.draft) return; // a stale answer: a newer draft is on its way
  state.pendingDraft = null;
  state.checked = { text: p.text, hits: ev.hits ?? [], rewritten: ev.rewritten ?? null };
  if ($('reply').value !== p.text) scheduleDraft(0);
  resolveDraftWaiters();
  renderGuard();
}

function resolveDraftWaiters() {
  const w = state.draftWaiters;
  state.draftWaiters = [];
  for (const fn of w) fn();
}

/**
 * The hits to paint where hits overlap: the strongest one wins its span (block over warn over
 * hint, then the longer one, then the earlier one); a hit overlapping a stronger one is not
 * painted but stays in the list. `hits` carry `start`/`end`; returned sorted by `start`. The one
 * place that decides highlighting, for the draft mirror and for sent turns alike.
 */
export function strongestHits(hits) {
  const rank = (x) => SEVERITY_RANK[x.severity] ?? 3;
  const byStrength = [...hits].sort((x, y) => rank(x) - rank(y) || (y.end - y.start) - (x.end - x.start) || x.start - y.start);
  const kept = [];
  for (const hit of byStrength) {
    if (kept.every((k) => hit.end <= k.start || hit.start >= k.end)) kept.push(hit);
  }
  return kept.sort((x, y) => x.start - y.start);
}

/** Hits of the last check that still sit at the same place in the current text (UTF-16 ranges). */
function liveHits() {
  const text = $('reply').value;
  const out = [];
  for (const hit of state.checked.hits) {
    const a = cpToUtf16(text, hit.start);
    const b = cpToUtf16(text, hit.end);
    if (text.slice(a, b) === hit.text) out.push({ ...hit, a, b });
  }
  // Strongest first, then by position: the list reads from what must change to what may.
  return out.sort((x, y) => (SEVERITY_RANK[x.severity] ?? 3) - (SEVERITY_RANK[y.severity] ?? 3) || x.a - y.a);
}

function renderGuard() {
  if (state.locked) {
    fill($('hits'));
    $('send').disabled = true;
    $('override-wrap').hidden = true;
    [$('guard-state').textContent, $('guard-state').className] = ['未授权：无法检查或发送回复', 'guard-state gs-block'];
    return;
  }
  const text = $('reply').value;
  const hits = liveHits();
  // Mirror layer behind the textarea: same text, transparent, with marks where the hits are.
  const mirror = $('mirror');
  const parts = [];
  let pos = 0;
  for (const hit of strongestHits(hits)) {
    parts.push(text.slice(pos, hit.a), h('mark', { class: `sev-${hit.severity}`, dataset: { rule: hit.rule } }, text.slice(hit.a, hit.b)));
    pos = hit.b;
  }
  parts.push(text.slice(pos), '\u200b');
  fill(mirror, parts);
  mirror.scrollTop = $('reply').scrollTop;

  fill($('hits'), hits.map((hit) =>
    h('div', { class: `hit hit-${hit.severity}`, dataset: { rule: hit.rule } },
      h('span', { class: 'hit-sev' }, SEVERITY[hit.severity] ?? hit.severity),
      h('span', { class: 'hit-body' },
        h('span', { class: 'hit-line' }, h('q', { class: 'hit-text' }, hit.text), h('span', { class: 'hit-cat' }, CATEGORY[hit.category] ?? hit.category)),
        hit.rewrite ? h('span', { class: 'hit-rewrite', title: hit.rewrite }, '建议：', hit.rewrite) : null),
      hit.rewrite ? h('button', { type: 'button', class: 'btn btn-small btn-rewrite', onclick: () => applyRewrite(hit) }, '一键改写') : null)));

  const blocked = hits.some((x) => x.severity === 'block');
  const override = $('override');
  $('override-wrap').hidden = !blocked;
  if (!blocked) override.checked = false;
  const send = $('send');
  const empty = !text.trim();
  send.disabled = empty || (blocked && !override.checked);
  send.classList.toggle('btn-danger', blocked && override.checked);
  send.textContent = blocked && override.checked ? '仍然发送' : '发送';
  const gs = $('guard-state');
  if (empty) [gs.textContent, gs.className] = ['', 'guard-state'];
  else if (state.pendingDraft || state.checked.text !== text) [gs.textContent, gs.className] = ['检查中…', 'guard-state'];
  else if (blocked) [gs.textContent, gs.className] = ['含禁止发送的忌语，请改写后再发', 'guard-state gs-block'];
  else if (hits.length) [gs.textContent, gs.className] = [`${hits.length} 处建议修改`, 'guard-state gs-warn'];
  else [gs.textContent, gs.className] = ['✓ 未发现服务忌语', 'guard-state gs-ok'];
}

/** One-click rewrite: the engine's whole-draft `rewritten` when it belongs to the text in the
 *  composer (it replaces every flagged clause and is clean when checked again); otherwise, for a
 *  server without it, the hit's own rewrite in place of its span. */
function applyRewrite(hit) {
  const reply = $('reply');
  const text = reply.value;
  let next, caret;
  if (state.checked.rewritten && state.checked.text === text) {
    next = state.checked.rewritten;
    caret = next.length;
  } else {
    const a = cpToUtf16(text, hit.start);
    const b = cpToUtf16(text, hit.end);
    if (text.slice(a, b) !== hit.text) return;
    next = text.slice(0, a) + hit.rewrite + text.slice(b);
    caret = a + hit.rewrite.length;
  }
  reply.value = next;
  reply.focus();
  reply.setSelectionRange(caret, caret);
  onReplyInput(0);
}

function insertAtCursor(str) {
  const reply = $('reply');
  const { selectionStart: a, selectionEnd: b, value } = reply;
  reply.value = value.slice(0, a) + str + value.slice(b);
  reply.focus();
  reply.setSelectionRange(a + str.length, a + str.length);
  onReplyInput();
}

function onReplyInput(delay = 150) {
  renderGuard();
  scheduleDraft(delay);
}

/** Makes sure the current text was checked (waits ≤ 800 ms); resolves to the live hits. */
function ensureChecked() {
  const text = $('reply').value;
  if (state.checked.text === text && !state.pendingDraft) return Promise.resolve(liveHits());
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 800);
    state.draftWaiters.push(() => {
      clearTimeout(timer);
      resolve(state.checked.text === $('reply').value ? liveHits() : null);
    });
    clearTimeout(draftTimer);
    checkDraft();
  });
}

async function sendReply() {
  const c = state.convs.get(state.selected);
  const reply = $('reply');
  const text = reply.value.trim();
  if (!c || !text || !hs || state.locked) return;
  const hits = await ensureChecked();
  if (hits === null && !state.online) {
    toast('离线中：恢复连接后再发送');
    return;
  }
  if ((hits ?? []).some((x) => x.severity === 'block') && !$('override').checked) {
    renderGuard();
    toast('回复含禁止发送的忌语，请先改写');
    return;
  }
  const id = newId('a');
  const ins = state.inserted;
  if (ins && ins.conversation === c.id && ins.text.trim() !== text) {
    hs.feedback({ conversation: c.id, suggestion: ins.suggestion, action: 'edited' }).catch(() => {});
  }
  state.inserted = null;
  c.items.set(id, { kind: 'turn', role: 'agent', turn: id, text, at: now(), hits: [], pending: true });
  reply.value = '';
  c.draft = '';
  $('override').checked = false;
  state.checked = { text: '', hits: [] };
  renderGuard();
  changed(c, { transcript: true });
  hs.send({ conversation: c.id, id, text }).then(() => {
    const it = c.items.get(id);
    if (it && it.pending) {
      c.items.set(id, { ...it, pending: false });
      changed(c, { transcript: true });
    }
  }, (err) => {
    const it = c.items.get(id);
    if (it) c.items.set(id, { ...it, failed: err.code === 'unknown_type' ? '服务器不支持发送' : (err.message || err.code) });
    changed(c, { transcript: true });
  });
}

// ---------------------------------------------------------------------------------------------
// Urgent turns: a short beep, a desktop notification (opt-in), the tab title and a favicon badge.
// The settings are the agent's, remembered in localStorage (never the token: see the top).

const ALERT_KEY = 'huashu.alerts';
const alertPrefs = (() => {
  try {
    const v = JSON.parse(localStorage.getItem(ALERT_KEY) ?? '{}');
    return { sound: v.sound !== false, notify: v.notify === true };
  } catch {
    return { sound: true, notify: false };
  }
})();
function saveAlertPrefs() {
  try { localStorage.setItem(ALERT_KEY, JSON.stringify(alertPrefs)); } catch { /* private mode: session only */ }
}

let audio = null;
/** Two short tones (WebAudio, nothing to download). */
function beep() {
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return;
  try {
    audio ??= new AC();
    if (audio.state === 'suspended') audio.resume().catch(() => {});
    const t0 = audio.currentTime + 0.01;
    for (const [i, freq] of [[0, 880], [1, 1175]]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      const t = t0 + i * 0.18;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.15);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + 0.16);
    }
  } catch { /* no audio device: the title, favicon and notification still say it */ }
}

/** A conversation just became urgent (live, not replayed): tell the agent, wherever they are. */
function notifyUrgent(c) {
  if (alertPrefs.sound) beep();
  toast(`紧急会话：${displayName(c)}`);
  if (!alertPrefs.notify || !('Notification' in window) || Notification.permission !== 'granted') return;
  try {
    const n = new Notification(`紧急：${displayName(c)}`, {
      body: c.lastText ? `「${c.lastText}」请立即处理` : '涉及人身安全或重大损失，请立即处理',
      tag: `huashu-urgent-${c.id}`,
      requireInteraction: true,
    });
    n.onclick = () => { window.focus(); select(c.id); n.close(); };
  } catch { /* some browsers only allow notifications from a service worker */ }
}

function renderAlertSettings(note = '') {
  $('set-sound').checked = alertPrefs.sound;
  $('set-notify').checked = alertPrefs.notify && 'Notification' in window && Notification.permission === 'granted';
  $('settings-state').textContent = alertPrefs.sound ? '提醒' : '已静音';
  $('settings-btn').classList.toggle('muted-on', !alertPrefs.sound);
  if (!note && alertPrefs.notify && 'Notification' in window && Notification.permission === 'denied') note = '浏览器已拒绝通知权限：请在地址栏的网站设置中允许通知。';
  $('set-note').textContent = note;
}

function initAlertSettings() {
  const btn = $('settings-btn');
  const box = $('settings');
  btn.addEventListener('click', () => {
    box.hidden = !box.hidden;
    btn.setAttribute('aria-expanded', String(!box.hidden));
  });
  document.addEventListener('click', (e) => {
    if (!box.hidden && !box.contains(e.target) && !btn.contains(e.target)) {
      box.hidden = true;
      btn.setAttribute('aria-expanded', 'false');
    }
  });
  $('set-sound').addEventListener('change', (e) => {
    alertPrefs.sound = e.target.checked;
    saveAlertPrefs();
    renderAlertSettings();
    if (alertPrefs.sound) beep(); // what it will sound like (and unlocks audio on this gesture)
  });
  $('set-notify').addEventListener('change', async (e) => {
    if (!e.target.checked) {
      alertPrefs.notify = false;
      saveAlertPrefs();
      renderAlertSettings();
      return;
    }
    if (!('Notification' in window)) {
      renderAlertSettings('此浏览器不支持桌面通知。');
      return;
    }
    const perm = Notification.permission === 'default' ? await Notification.requestPermission() : Notification.permission;
    alertPrefs.notify = perm === 'granted';
    saveAlertPrefs();
    renderAlertSettings(perm === 'granted' ? '已开启：紧急会话会弹出桌面通知。' : '浏览器未允许通知：请在地址栏的网站设置中允许。');
  });
  // Browsers start audio only after a user gesture: the first click anywhere unlocks it.
  document.addEventListener('pointerdown', () => {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC || audio) return;
    try { audio = new AC(); } catch { /* no audio */ }
  }, { once: true });
  renderAlertSettings();
}

let faviconKey = '';
/** The tab icon: the 话 logo, with a red badge counting urgent conversations (amber: waiting). */
function renderFavicon(urgent, waiting) {
  const key = `${urgent}/${waiting}`;
  if (key === faviconKey) return;
  faviconKey = key;
  const cv = document.createElement('canvas');
  cv.width = cv.height = 32;
  const g = cv.getContext('2d');
  if (!g) return;
  g.fillStyle = '#0f766e';
  g.beginPath();
  g.roundRect ? g.roundRect(0, 0, 32, 32, 7) : g.rect(0, 0, 32, 32);
  g.fill();
  g.fillStyle = '#fff';
  g.font = 'bold 20px sans-serif';
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.fillText('话', 16, 17);
  const n = urgent || waiting;
  if (n) {
    g.fillStyle = urgent ? '#d92d20' : '#dc6803';
    g.beginPath();
    g.arc(23, 9, 9, 0, Math.PI * 2);
    g.fill();
    g.fillStyle = '#fff';
    g.font = 'bold 12px sans-serif';
    g.fillText(n > 9 ? '9+' : String(n), 23, 10);
  }
  const link = $('favicon');
  link.href = cv.toDataURL('image/png');
  link.dataset.badge = urgent ? `urgent:${urgent}` : waiting ? `waiting:${waiting}` : '';
}

// ---------------------------------------------------------------------------------------------
// Toast, connection banner

let toastTimer = 0;
function toast(msg) {
  const t = $('toast');
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 2600);
}

function setConn(kind, text) {
  const el = $('conn');
  el.className = `conn conn-${kind}`;
  el.textContent = text;
}

function offline(detail, title = '连接已断开') {
  $('offline').hidden = false;
  $('offline-title').textContent = title;
  $('offline-detail').textContent = detail;
  document.body.classList.add('is-offline');
}

/**
 * The token was refused (expired, or rotated by a restart): nothing this page does can work any
 * more. Stop the clocks (they would count waits the page no longer sees), grey the composer, and
 * offer the two ways out: paste a new token, or reload.
 */
function lockOut(detail) {
  state.locked = true;
  state.online = false;
  clearInterval(timerHandle);
  clearTimeout(draftTimer);
  state.pendingDraft = null;
  resolveDraftWaiters();
  document.body.classList.add('is-locked');
  $('reply').disabled = true;
  $('sla').hidden = true;
  for (const el of document.querySelectorAll('.wait[data-since]')) {
    if (el.dataset.since) el.textContent = '—';
  }
  setConn('down', '未授权');
  offline(detail, '令牌无效或已过期');
  $('reauth').hidden = false;
  renderGuard();
}

// ---------------------------------------------------------------------------------------------
// Wiring

function init() {
  $('top-shop').textContent = `店铺 ${SHOP}`;
  $('top-agent').textContent = `客服 ${AGENT}`;
  renderList();
  renderGuard();
  initAlertSettings();
  $('reauth').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = $('new-token').value.trim();
    if (!t) return;
    // The token lives in the page URL only (see the top): open this page again with the new one.
    const u = new URL(location.href);
    u.searchParams.set('token', t);
    location.replace(u.href);
  });
  $('reload').addEventListener('click', () => location.reload());
  if (!hs) {
    lockOut('链接缺少令牌：粘贴 huashu serve 打印的令牌，或用它打印的控制台链接打开本页。');
    return;
  }

  hs.on('open', (w) => {
    state.online = true;
    if (Number.isFinite(w.server_time)) state.skew = w.server_time - Date.now();
    if (w.sla) state.sla = { warn_ms: w.sla.warn_ms ?? 8000, breach_ms: w.sla.breach_ms ?? 30000 };
    if (Number.isFinite(w.tz?.offset_min)) tzOffsetMs = w.tz.offset_min * 60000;
    if (w.book) {
      const el = $('top-book');
      const zone = w.tz?.label ? ` · 时区 ${w.tz.label}` : '';
      el.textContent = `话术库 ${w.book.name ?? ''} ${w.book.version ?? ''} · ${(w.book.hash ?? '').slice(0, 8)}${zone}`.trim();
      el.title = `话术库版本哈希 ${w.book.hash ?? ''}；时间均按 ${w.tz?.label ?? '浏览器时区'} 显示`;
    }
    setConn('up', '在线');
    changed(state.convs.get(state.selected), { insight: true });
    $('offline').hidden = true;
    document.body.classList.remove('is-offline');
    scheduleDraft(0);
  });
  hs.on('close', ({ willReconnect, delay, attempt, code }) => {
    state.online = false;
    state.pendingDraft = null;
    resolveDraftWaiters();
    state.revealing.clear(); // their answers went with the connection
    changed(state.convs.get(state.selected), { insight: true });
    if (!willReconnect) {
      if (code === 4401) {
        lockOut('服务可能已重启并更换了令牌。粘贴新的令牌继续，或重新加载页面。');
        return;
      }
      setConn('down', '已断开');
      offline('连接已关闭。');
      return;
    }
    setConn('wait', '重连中');
    offline(`正在重连（第 ${attempt} 次，${Math.max(1, Math.round(delay / 1000))} 秒内）… 已发出但未确认的回复会在恢复后自动补发。`);
  });
  hs.on('revealed', onRevealed);
  hs.on('error', (e) => {
    if (e.ref && onRevealRefused(e)) return;
    if (e.code === 'forbidden') toast('无权访问该会话');
    else if (e.code === 'rate_limited') toast('操作太频繁，请稍候');
  });
  hs.on('conversations', (m) => {
    for (const it of m.items ?? []) {
      applySummary(it);
      // Urgent before this page opened (or while it was offline): in the list, no new beep.
      const c = state.convs.get(it.conversation ?? it.id);
      if (c) c.urgentAlerted = c.urgent;
    }
    changed(null, { list: true });
    if (!state.selected) {
      const want = params.get('conversation');
      if (want) select(want);
    }
  });
  hs.on('conversation', (m) => {
    applySummary(m);
    const c = state.convs.get(m.conversation ?? m.id);
    if (c) {
      // A live summary that turns a conversation urgent: once per wait (an answer re-arms it).
      if (c.urgent && !c.urgentAlerted) notifyUrgent(c);
      c.urgentAlerted = c.urgent;
    }
    changed(c, { list: true, insight: true });
  });
  hs.on('analysis', onAnalysis);
  hs.on('suggestions', onSuggestions);
  hs.on('safety', onSafety);
  hs.on('guard', onGuard);
  hs.on('sla', onSla);
  hs.on('follow_up', onFollowUp);
  hs.on('order', onOrder);
  hs.connect();
  hs.watch();
  const want = params.get('conversation');
  if (want) select(want);

  const reply = $('reply');
  reply.addEventListener('input', () => onReplyInput());
  reply.addEventListener('scroll', () => { $('mirror').scrollTop = reply.scrollTop; });
  reply.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      if (!$('send').disabled) sendReply();
    }
  });
  $('override').addEventListener('change', renderGuard);
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    sendReply();
  });
  document.addEventListener('keydown', (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    const m = /^Digit([1-5])$/.exec(e.code) || /^Numpad([1-5])$/.exec(e.code);
    if (!m) return;
    const sg = visibleSuggestions(state.convs.get(state.selected))[Number(m[1]) - 1];
    if (sg && !state.locked) {
      e.preventDefault();
      useSuggestion(sg);
    }
  });
  // The demo shop (same origin, parent frame) selects the conversation it just started.
  window.addEventListener('message', (e) => {
    if (e.origin !== location.origin || !e.data || e.data.type !== 'huashu:select') return;
    select(String(e.data.conversation));
  });
}

init();
