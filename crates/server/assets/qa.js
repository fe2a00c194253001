// qa.js — the QA lead's page (质检看板): per-agent and per-script figures from
// `GET /api/analytics`, charts drawn as inline SVG, and the publishing panel (dry run with
// `POST /api/book/check`, then `POST /api/reload`). No framework, no network beyond this origin.
//
// Token policy (as in the console): the token comes from this page's URL (`?token=`), is kept in
// memory only and sent as `Authorization: Bearer`; it never goes into another URL.
'use strict';

import { INTENT as INTENTS, EMOTION as EMOTIONS, CATEGORY as CATEGORIES } from '/assets/labels.js';

const params = new URLSearchParams(location.search);
const TOKEN = params.get('token');
// The server's one time zone (`huashu serve --tz`, default Asia/Shanghai): days and times on this
// page are in it, never in the browser's zone. Replaced by the analytics answer's `tz`.
let TZ_MS = 8 * 3600 * 1000;

const EMO_COLORS = { anger: '#d92d20', anxiety: '#dc6803', disappointment: '#6d4bd0', neutral: '#98a1b0', positive: '#148a4f' };

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

/** Element helper: el('td', {class: 'x'}, 'text' | Node, …). Text always goes in as text. */
function el(tag, attrs = {}, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') n.className = v; else if (k === 'style') n.style.cssText = v; else n.setAttribute(k, v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) n.append(k instanceof Node ? k : String(k));
  return n;
}

function svg(tag, attrs = {}, text) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}

const localDate = (ms) => new Date(ms + TZ_MS).toISOString().slice(0, 10);
const localTime = (ms) => new Date(ms + TZ_MS).toISOString().slice(5, 16).replace('T', ' ');
const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(x === 1 || x === 0 ? 0 : 1)}%`);
const num = (n) => (n ?? 0).toLocaleString('zh-CN');

function dur(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} 毫秒`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} 秒`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} 分 ${Math.round(s - m * 60)} 秒`;
  return `${Math.floor(m / 60)} 小时 ${m % 60} 分`;
}

async function api(method, path) {
  const r = await fetch(path, { method, headers: { Authorization: `Bearer ${TOKEN}` }, cache: 'no-store' });
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  return { status: r.status, body };
}

// ---- filters ----------------------------------------------------------------------------

function initFilters() {
  const today = localDate(Date.now());
  $('shop').value = params.get('shop') || 'default';
  $('to').value = params.get('to') || today;
  $('from').value = params.get('from') || localDate(Date.parse(`${$('to').value}T00:00:00Z`) - 6 * 86400000);
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); load(); });
  // The console link carries the token the same way this page got it.
  $('to-console').href = `/?token=${encodeURIComponent(TOKEN)}`;
}

function showError(text) {
  $('error-bar').hidden = !text;
  $('error-text').textContent = text || '';
}

// ---- analytics --------------------------------------------------------------------------

let current = null;

async function load() {
  const q = new URLSearchParams({ shop: $('shop').value.trim(), from: $('from').value, to: $('to').value });
  $('refresh').disabled = true;
  try {
    const { status, body } = await api('GET', `/api/analytics?${q}`);
    if (status !== 200) {
      const why = { 401: 'token 无效', 403: '需要该店铺的主管或管理员 token' }[status] || '';
      showError(`（${status}）${why} ${body?.message ?? ''}`);
      return;
    }
    showError('');
    current = body;
    render(body);
    document.body.dataset.loaded = String(Date.now());
  } catch (e) {
    showError(`服务不可达：${e.message}`);
  } finally {
    $('refresh').disabled = false;
  }
}

function render(a) {
  $('book-meta').textContent = `话术库 ${a.book.name} v${a.book.version} · `;
  $('book-meta').append(el('code', { class: 'hash', title: '当前话术库哈希' }, a.book.hash));
  if (a.tz) TZ_MS = a.tz.offset_min * 60000;
  $('range-meta').textContent = `${a.from} 至 ${a.to}`;
  $('tz-meta').textContent = `时区 ${a.tz?.name ?? 'Asia/Shanghai'}`;
  $('tz-meta').title = `日期与时间均按 ${a.tz?.label ?? 'Asia/Shanghai (UTC+08:00)'} 显示（huashu serve --tz）`;
  renderKpis(a);
  renderDays(a);
  renderHits(a);
  renderAgents(a);
  renderMix($('chart-intents'), a.intents, INTENTS, () => '#0f766e');
  renderMix($('chart-emotions'), a.emotions, EMOTIONS, (k) => EMO_COLORS[k] || '#98a1b0');
  $('customer-count').textContent = num(a.customer_turns);
  renderScripts(a);
  renderLow(a);
  labelQueue(a);
  renderUrgent(a);
  renderBooks(a);
}

function kpi(label, value, sub, tone, key) {
  return el('div', { class: `kpi ${tone || ''}`, 'data-kpi': key },
    el('div', { class: 'kpi-label' }, label), el('div', { class: 'kpi-value' }, value), el('div', { class: 'kpi-sub' }, sub));
}

function renderKpis(a) {
  const t = a.total;
  const hits = Object.values(t.hits || {});
  const sent = hits.reduce((s, h) => s + h.sent, 0);
  const drafted = hits.reduce((s, h) => s + h.drafted, 0);
  const rewritten = hits.reduce((s, h) => s + h.rewritten, 0);
  const tone = (x, good, ok) => (x === null ? '' : x >= good ? 'good' : x >= ok ? 'warn' : 'bad');
  const slow = (ms, limit) => (ms === null ? '' : ms <= limit ? 'good' : 'warn');
  $('kpis').replaceChildren(
    kpi('客服回复', num(t.turns), `${num(t.conversations)} 个对话`, '', 'turns'),
    kpi('合规率', pct(t.compliance), `${num(t.compliant_turns)} 条回复未触发忌语`, tone(t.compliance, 0.98, 0.9), 'compliance'),
    kpi('首次响应（平均）', dur(t.first_response_ms), `${num(t.first_responses)} 个对话 · 目标 30 秒`, slow(t.first_response_ms, 30000), 'first'),
    kpi('响应时长中位数', dur(t.response_median_ms), `${num(t.responses)} 次回复 · 目标 ${dur(a.sla.warn_ms)}`, slow(t.response_median_ms, a.sla.warn_ms), 'median'),
    kpi('SLA 超时', num(t.sla_breaches), `超过 ${dur(a.sla.breach_ms)} 未回复 · 预警 ${num(t.sla_warnings)}`, t.sla_breaches ? 'bad' : 'good', 'breaches'),
    kpi('忌语', `${num(sent)} 发出`, `草稿拦截 ${num(drafted)} · 改写 ${num(rewritten)}`, sent ? 'bad' : 'good', 'hits'),
    kpi('紧急消息', num(a.urgent.count), `已处理 ${num(a.urgent.answered)} · 中位 ${dur(a.urgent.handling_median_ms)}`, a.urgent.count > a.urgent.answered ? 'bad' : '', 'urgent'),
    kpi('未识别/低置信', num(a.low_confidence_count), `占客户消息 ${a.customer_turns ? pct(a.low_confidence_count / a.customer_turns) : '—'}`, '', 'low'),
  );
}

/** Every local day from `from` to `to`, so days without traffic show as gaps. */
function daysOf(from, to) {
  const out = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`) && out.length < 400; t += 86400000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

function renderDays(a) {
  const byDay = new Map(a.by_day.map((d) => [d.day, d]));
  const days = daysOf(a.from, a.to);
  const W = 760, H = 220, L = 36, R = 40, T = 14, B = 28;
  const max = Math.max(4, Math.ceil(Math.max(0, ...a.by_day.map((d) => d.turns)) / 4) * 4);
  const step = (W - L - R) / Math.max(1, days.length);
  const bw = Math.max(4, Math.min(38, step * 0.6));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': '每日处理量与合规率' });
  for (let i = 0; i <= 4; i += 1) {
    const v = (max * i) / 4;
    g.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#eef1f5' }));
    g.append(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, v));
    g.append(svg('text', { x: W - R + 6, y: T + (H - T - B) * (1 - i / 4) + 4 }, `${i * 25}%`));
  }
  const pts = [];
  days.forEach((day, i) => {
    const d = byDay.get(day);
    const cx = L + step * i + step / 2;
    if (d && d.turns) {
      const bad = d.turns - d.compliant_turns;
      const bar = svg('g', { 'data-day': day });
      bar.append(svg('title', {}, `${day}：${d.turns} 条回复，合规 ${pct(d.compliance)}，SLA 超时 ${d.sla_breaches}`));
      bar.append(svg('rect', { x: cx - bw / 2, y: y(d.compliant_turns), width: bw, height: y(0) - y(d.compliant_turns), fill: '#0f766e', rx: 2 }));
      if (bad) bar.append(svg('rect', { x: cx - bw / 2, y: y(d.turns), width: bw, height: y(d.compliant_turns) - y(d.turns), fill: '#d92d20', rx: 2 }));
      g.append(bar);
      pts.push([cx, T + (H - T - B) * (1 - d.compliance)]);
    }
    if (days.length <= 16 || i % Math.ceil(days.length / 16) === 0) {
      g.append(svg('text', { x: cx, y: H - 10, 'text-anchor': 'middle' }, day.slice(5)));
    }
  });
  if (pts.length) {
    g.append(svg('polyline', { points: pts.map((p) => p.join(',')).join(' '), fill: 'none', stroke: '#2e6be6', 'stroke-width': 2 }));
    for (const [cx, cy] of pts) g.append(svg('circle', { cx, cy, r: 3.5, fill: '#fff', stroke: '#2e6be6', 'stroke-width': 2 }));
  }
  if (!a.by_day.length) g.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, '这段时间没有客服回复'));
  $('chart-days').replaceChildren(g);
}

/** Horizontal bars, several series per row. rows: [{label, values:[{v,color,title}]}]. */
function hbars(rows, { max, unit = '', W = 420, R = 36 } = {}) {
  const rowH = 14 * Math.max(1, rows[0]?.values.length || 1) + 10, L = 92;
  const H = Math.max(40, rows.length * rowH + 6);
  const top = max || Math.max(1, ...rows.flatMap((r) => r.values.map((v) => v.v)));
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
  rows.forEach((r, i) => {
    const y0 = 4 + i * rowH;
    g.append(svg('text', { x: L - 8, y: y0 + rowH / 2 + 3, 'text-anchor': 'end' }, r.label));
    r.values.forEach((v, j) => {
      const w = ((W - L - R) * v.v) / top;
      const y = y0 + 2 + j * 14;
      const bar = svg('rect', { x: L, y, width: Math.max(v.v ? 2 : 0, w), height: 11, rx: 2, fill: v.color });
      bar.append(svg('title', {}, v.title || `${r.label}：${v.v}${unit}`));
      g.append(bar);
      g.append(svg('text', { x: L + w + 4, y: y + 9 }, `${v.text ?? v.v}`));
    });
  });
  return g;
}

function renderHits(a) {
  const hits = a.total.hits || {};
  const rows = Object.entries(hits)
    .sort((x, y) => (y[1].sent + y[1].drafted) - (x[1].sent + x[1].drafted))
    .map(([cat, h]) => ({
      label: CATEGORIES[cat] || cat,
      values: [
        { v: h.sent, color: '#d92d20', title: `${cat}：已发送 ${h.sent}` },
        { v: h.drafted, color: '#dc6803', title: `${cat}：草稿拦截 ${h.drafted}` },
        { v: h.rewritten, color: '#148a4f', title: `${cat}：拦截后改写 ${h.rewritten}` },
      ],
    }));
  $('chart-hits').replaceChildren(rows.length ? hbars(rows) : el('p', { class: 'empty' }, '没有命中服务忌语 👍'));
}

function renderMix(box, pairs, labels, color) {
  const total = pairs.reduce((s, [, n]) => s + n, 0);
  const rows = pairs.slice(0, 12).map(([k, n]) => ({
    label: labels[k] || k,
    values: [{ v: n, color: color(k), text: `${n}（${pct(n / total)}）` }],
  }));
  box.replaceChildren(rows.length ? hbars(rows, { W: 620, R: 110 }) : el('p', { class: 'empty' }, '这段时间没有客户消息'));
}

function complianceCell(x) {
  const cls = x === null ? '' : x >= 0.98 ? '' : x >= 0.9 ? 'mid' : 'low';
  return el('td', {}, pct(x), el('span', { class: `bar ${cls}` }, el('span', { style: `width:${Math.round((x ?? 0) * 100)}%` })));
}

function hitsCell(hits) {
  const h = Object.values(hits || {});
  const sent = h.reduce((s, x) => s + x.sent, 0);
  const drafted = h.reduce((s, x) => s + x.drafted, 0);
  const rewritten = h.reduce((s, x) => s + x.rewritten, 0);
  const title = Object.entries(hits || {}).map(([c, x]) => `${CATEGORIES[c] || c}：发送 ${x.sent}，拦截 ${x.drafted}，改写 ${x.rewritten}`).join('\n');
  return el('td', { title: title || null },
    el('span', { class: `pill ${sent ? 'pill-red' : ''}` }, `发 ${sent}`), ' ',
    el('span', { class: 'pill pill-orange' }, `拦 ${drafted}`), ' ',
    el('span', { class: 'pill pill-green' }, `改 ${rewritten}`));
}

const expanded = new Set();

function agentRow(r, sub) {
  const name = sub ? r.day : (r.agent === '' ? '未归属' : r.agent);
  const first = sub ? el('td', {}, name)
    : el('td', {}, el('button', { class: 'toggle', type: 'button', 'aria-expanded': String(expanded.has(r.agent)), title: '按天展开' },
      expanded.has(r.agent) ? '▾' : '▸'), ' ', name);
  return el('tr', { class: sub ? 'sub' : 'agent', 'data-agent': r.agent, 'data-day': r.day || null, hidden: sub && !expanded.has(r.agent) },
    first,
    el('td', {}, num(r.turns)), el('td', {}, num(r.conversations)),
    el('td', {}, dur(r.first_response_ms)), el('td', {}, dur(r.response_median_ms)),
    el('td', {}, r.sla_breaches ? el('span', { class: 'pill pill-red' }, r.sla_breaches) : '0'),
    complianceCell(r.compliance), hitsCell(r.hits));
}

function renderAgents(a) {
  const head = el('tr', {}, ...['客服 / 日期', '回复数', '对话数', '首次响应', '响应中位数', 'SLA 超时', '合规率', '忌语（发送/拦截/改写）'].map((h) => el('th', {}, h)));
  const rows = [];
  const agents = [...a.by_agent].sort((x, y) => y.turns - x.turns);
  for (const r of agents) {
    rows.push(agentRow(r, false));
    for (const d of a.by_agent_day.filter((x) => x.agent === r.agent)) rows.push(agentRow(d, true));
  }
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 8, class: 'text' }, '这段时间没有客服回复')));
  $('agents').replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
  $('agents-count').textContent = agents.length;
  for (const b of $('agents').querySelectorAll('button.toggle')) {
    b.addEventListener('click', () => {
      const agent = b.closest('tr').dataset.agent;
      if (expanded.has(agent)) expanded.delete(agent); else expanded.add(agent);
      renderAgents(a);
    });
  }
}

function rateCell(n, r) {
  return el('td', {}, `${num(n)} `, el('span', { class: 'muted' }, `(${pct(r)})`));
}

function renderScripts(a) {
  const head = el('tr', {}, ...['话术', '展示', '采用', '修改后发送', '忽略', '采用率'].map((h) => el('th', {}, h)));
  const all = $('scripts').dataset.all === '1';
  const rows = a.scripts.slice(0, all ? 500 : 12).map((s) => el('tr', { 'data-script': s.script },
    el('td', { class: 'script-cell', title: s.text ?? '' }, el('strong', {}, s.title || (s.text === undefined ? '（已不在当前话术库）' : s.script)),
      el('div', { class: 'muted' }, s.title ? el('code', {}, s.script) : '', s.text ? ` ${s.text.length > 40 ? `${s.text.slice(0, 40)}…` : s.text}` : '')),
    el('td', {}, num(s.shown)),
    rateCell(s.used, s.used_rate), rateCell(s.edited, s.edited_rate), rateCell(s.dismissed, s.dismissed_rate),
    el('td', {}, el('span', { class: 'bar' }, el('span', { style: `width:${Math.round(((s.used_rate ?? 0) + (s.edited_rate ?? 0)) * 100)}%` })))));
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 6, class: 'text' }, '这段时间没有推荐话术')));
  if (a.scripts.length > 12) {
    const more = el('button', { class: 'btn', type: 'button', id: 'scripts-more' }, all ? '收起' : `显示全部 ${a.scripts.length} 条`);
    more.addEventListener('click', () => { $('scripts').dataset.all = all ? '0' : '1'; renderScripts(a); });
    rows.push(el('tr', {}, el('td', { colspan: 6, class: 'text' }, more)));
  }
  $('scripts').replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
  $('scripts-count').textContent = a.scripts.length;
  const unused = a.unused_scripts || [];
  $('unused-title').textContent = `当前话术库中无人采用的话术：${unused.length} / ${a.book.scripts}（橙色：展示过但未被采用；灰色：从未展示）`;
  unused.sort((x, y) => y.shown - x.shown);
  $('unused').replaceChildren(...unused.slice(0, 80).map((u) =>
    el('span', { class: `pill ${u.shown ? 'pill-orange' : ''}`, title: `${u.script} · ${INTENTS[u.intent] || u.intent} · ${u.stage} · 展示 ${u.shown} 次` }, u.title || u.script)));
}

function renderLow(a) {
  const head = el('tr', {}, ...['时间', '客户消息', '识别为', '置信度'].map((h) => el('th', {}, h)));
  const rows = a.low_confidence.map((t) => el('tr', {},
    el('td', {}, localTime(t.at)), el('td', { class: 'text' }, t.text),
    el('td', {}, el('span', { class: 'pill' }, INTENTS[t.intent] || t.intent)), el('td', {}, t.score.toFixed(2))));
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 4, class: 'text' }, '没有未识别的客户消息')));
  $('low').replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
  $('low-count').textContent = a.low_confidence_count;
}

function renderUrgent(a) {
  const u = a.urgent;
  $('urgent-count').textContent = u.count;
  $('urgent-summary').textContent = u.count
    ? `已回复 ${u.answered} / ${u.count}，处理时长中位数 ${dur(u.handling_median_ms)}，最长 ${dur(u.max_handling_ms)}。`
    : '这段时间没有紧急消息。';
  const head = el('tr', {}, ...['时间', '客户消息', '情绪', '处理时长'].map((h) => el('th', {}, h)));
  const rows = u.turns.map((t) => el('tr', {},
    el('td', {}, localTime(t.at)), el('td', { class: 'text' }, t.text),
    el('td', {}, el('span', { class: `emo emo-${t.emotion}` }, EMOTIONS[t.emotion] || t.emotion)),
    el('td', {}, t.handling_ms === undefined || t.handling_ms === null ? el('span', { class: 'pill pill-red' }, '未回复') : dur(t.handling_ms))));
  $('urgent').replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
}

function renderBooks(a) {
  const head = el('tr', {}, ...['话术库哈希', '事件数', '首次', '最后'].map((h) => el('th', {}, h)));
  const rows = a.books.map((b) => el('tr', {},
    el('td', {}, el('code', { class: 'hash' }, b.hash), b.hash === a.book.hash ? el('span', { class: 'pill pill-green', style: 'margin-left:6px' }, '当前') : ''),
    el('td', {}, num(b.events)), el('td', {}, localTime(b.first_at)), el('td', {}, localTime(b.last_at))));
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 4, class: 'text' }, '这段时间没有事件')));
  $('books').replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
}

// ---- labelling queue ----------------------------------------------------------------------
// The low-confidence customer turns of the period, one at a time with their context. Enter saves
// the chosen labels (the model's guess until changed) with `POST /api/examples` into the
// candidate book's corpus; the check below then evaluates the candidate trained on them.

const INTENT_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '='];
const EMOTION_KEYS = ['a', 's', 'd', 'f', 'g'];
const queue = { items: [], at: 0, intent: null, emotion: null, saved: 0 };

function labelQueue(a) {
  const done = new Set(queue.items.slice(0, queue.at).map((t) => `${t.conversation}/${t.turn}`));
  queue.items = (a.low_confidence || []).filter((t) => !done.has(`${t.conversation}/${t.turn}`));
  queue.at = 0;
  showLabel();
}

function showLabel() {
  const t = queue.items[queue.at];
  $('label-left').textContent = Math.max(0, queue.items.length - queue.at);
  if (!t) {
    $('label-card').replaceChildren(el('p', { class: 'text', id: 'label-empty' }, queue.saved ? `队列已完成：本次保存 ${queue.saved} 条。` : '没有待标注的消息。'));
    return;
  }
  queue.intent = queue.intent ?? (t.intent in INTENTS ? t.intent : 'other');
  queue.emotion = queue.emotion ?? (t.emotion in EMOTIONS ? t.emotion : 'neutral');
  const choice = (kind, keys, labels, current) => el('div', { class: 'choices', role: 'group' },
    Object.entries(labels).map(([id, name], i) => {
      const b = el('button', { class: 'btn', type: 'button', 'data-label': id, 'data-kind': kind, 'aria-pressed': String(id === current) },
        keys[i] ? `${keys[i].toUpperCase()} ${name}` : name);
      b.addEventListener('click', () => { queue[kind] = id; showLabel(); });
      return b;
    }));
  $('label-card').replaceChildren(
    ...(t.context || []).map((c) => el('div', { class: 'ctx' }, c)),
    el('div', { class: 'turn', id: 'label-text' }, `顾客：${t.text}`),
    el('div', { class: 'muted' }, `模型识别：${INTENTS[t.intent] || t.intent}（${t.score.toFixed(2)}）· ${EMOTIONS[t.emotion] || t.emotion}`),
    choice('intent', INTENT_KEYS, INTENTS, queue.intent),
    choice('emotion', EMOTION_KEYS, EMOTIONS, queue.emotion),
    el('div', { class: 'choices' },
      (() => { const b = el('button', { class: 'btn btn-primary', type: 'button', id: 'label-save' }, 'Enter 保存'); b.addEventListener('click', saveLabel); return b; })(),
      (() => { const b = el('button', { class: 'btn', type: 'button', id: 'label-skip' }, '→ 跳过'); b.addEventListener('click', nextLabel); return b; })()));
}

function nextLabel() {
  queue.at += 1;
  queue.intent = null;
  queue.emotion = null;
  showLabel();
}

async function saveLabel() {
  const t = queue.items[queue.at];
  if (!t) return;
  const example = { text: t.text, intents: [queue.intent], emotion: queue.emotion };
  const r = await fetch('/api/examples', {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ by: $('label-by').value, examples: [example] }),
  });
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  if (r.status !== 200) {
    $('label-status').textContent = r.status === 401 ? '需要管理员 token 才能保存标注。' : `保存失败（${r.status}）：${body?.message ?? ''}`;
    return;
  }
  if (body.conflicts?.length) {
    $('label-status').textContent = `未保存：语料中已有不同标注（${body.conflicts[0]}）`;
  } else if (body.invalid?.length) {
    $('label-status').textContent = `未保存：${body.invalid[0]}`;
  } else {
    queue.saved += body.written;
    $('label-status').textContent = body.written
      ? `已写入 ${body.file}（本次共 ${queue.saved} 条）。请检查候选版本后发布。`
      : '语料中已有同样的样例，跳过。';
  }
  nextLabel();
}

document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
  if (!queue.items[queue.at] || e.ctrlKey || e.metaKey || e.altKey) return;
  const i = INTENT_KEYS.indexOf(e.key);
  const j = EMOTION_KEYS.indexOf(e.key.toLowerCase());
  if (i >= 0 && i < Object.keys(INTENTS).length) { queue.intent = Object.keys(INTENTS)[i]; showLabel(); }
  else if (j >= 0) { queue.emotion = Object.keys(EMOTIONS)[j]; showLabel(); }
  else if (e.key === 'Enter') { e.preventDefault(); saveLabel(); }
  else if (e.key === 'ArrowRight') { nextLabel(); }
  else return;
  e.preventDefault();
});

// ---- publishing ---------------------------------------------------------------------------

let checked = null;

function changeList(title, map, limit = 5) {
  const entries = Object.entries(map || {}).sort((x, y) => y[1].count - x[1].count);
  if (!entries.length) return null;
  return el('div', {}, el('h3', {}, `${title}（${entries.length}）`),
    el('ul', { class: 'changes' }, entries.slice(0, limit).map(([k, c]) =>
      el('li', {}, el('strong', {}, k), ` × ${c.count}`, c.examples[0] ? el('div', { class: 'ex' }, `例：第 ${c.examples[0]}`) : ''))));
}

const EVAL_ROWS = [
  ['intent_macro_f1', '意图 macro-F1', (s) => s.customer_lines > 0],
  ['primary_intent_accuracy', '主意图准确率', (s) => s.customer_lines > 0],
  ['emotion_accuracy', '情绪准确率', (s) => s.customer_lines > 0],
  ['guard_recall', '忌语召回率', (s) => s.guard_flagged > 0],
  ['guard_false_alarm_rate', '正常回复误拦率', (s) => s.guard_benign > 0],
];

// Both books' figures on each corpus of the gate, side by side (published | candidate | delta).
function evalTable(evals) {
  if (!evals?.length) return null;
  const rows = [];
  for (const e of evals) {
    rows.push(el('tr', {}, el('th', { colspan: 4, scope: 'rowgroup' },
      `${e.corpus}（顾客 ${e.candidate.customer_lines} 条，客服 ${e.candidate.agent_lines} 条）`)));
    for (const [key, label, shown] of EVAL_ROWS) {
      if (!shown(e.candidate)) continue;
      const a = e.published[key], b = e.candidate[key];
      const delta = b - a;
      // A higher false-alarm rate is worse; every other figure is better when higher.
      const worse = key === 'guard_false_alarm_rate' ? delta > 1e-9 : delta < -1e-9;
      rows.push(el('tr', { 'data-metric': key },
        el('td', {}, label), el('td', {}, a.toFixed(3)), el('td', {}, b.toFixed(3)),
        el('td', { class: worse ? 'bad-line' : '' }, `${delta >= 0 ? '+' : ''}${delta.toFixed(3)}`)));
    }
    for (const line of e.newly_flagged_benign) {
      rows.push(el('tr', {}, el('td', { colspan: 4, class: 'bad-line' }, `新被拦截的正常回复：第 ${line}`)));
    }
  }
  return el('div', {}, el('h3', {}, '评测对比（当前版本 vs 候选版本）'),
    el('table', { class: 'grid', id: 'eval-deltas' },
      el('thead', {}, el('tr', {}, el('th', {}, '指标'), el('th', {}, '当前'), el('th', {}, '候选'), el('th', {}, '变化'))),
      el('tbody', {}, rows)));
}

function renderCheck(c) {
  const out = [];
  if (c.current && c.candidate) {
    out.push(el('p', {}, '当前 ', el('code', { class: 'hash' }, c.current.hash), ' → 候选 ', el('code', { class: 'hash', 'data-candidate': c.hash }, c.hash),
      c.changed ? '' : el('span', { class: 'pill', style: 'margin-left:6px' }, '与当前版本相同')));
  }
  if (c.refusals?.length) {
    out.push(el('div', { class: 'bad-line', id: 'check-verdict' }, `不能发布（${c.refusals.length} 个原因）：`));
    out.push(el('ul', { class: 'problems', id: 'refusals' }, c.refusals.map((r) => el('li', { 'data-kind': r.kind }, r.message))));
  } else {
    out.push(el('div', { class: 'ok-line', id: 'check-verdict' }, '检查通过：lint 0 个问题，评测无下降。'));
  }
  if (c.problems.length) {
    out.push(el('ul', { class: 'problems', id: 'problems' }, c.problems.map((p) => el('li', {}, p.text || p.message))));
  }
  out.push(evalTable(c.evals));
  if (c.diff) {
    const d = c.diff;
    out.push(el('h3', {}, `回放最近 ${c.replayed.conversations} 个对话（${c.replayed.turns} 条消息）的差异`));
    out.push(el('table', { class: 'grid', id: 'diff-summary' }, el('tbody', {},
      el('tr', {}, el('td', {}, '新增被拦截的客服回复'), el('td', {}, d.lines_newly_flagged)),
      el('tr', {}, el('td', {}, '不再被拦截的客服回复'), el('td', {}, d.lines_no_longer_flagged)),
      el('tr', {}, el('td', {}, '主意图变化'), el('td', {}, Object.values(d.intent_changes).reduce((s, x) => s + x.count, 0))),
      el('tr', {}, el('td', {}, '情绪变化'), el('td', {}, Object.values(d.emotion_changes).reduce((s, x) => s + x.count, 0))),
      el('tr', {}, el('td', {}, '紧急标记变化'), el('td', {}, Object.values(d.urgent_changes).reduce((s, x) => s + x.count, 0))),
      el('tr', {}, el('td', {}, '首条推荐变化'), el('td', {}, Object.values(d.top_suggestion_changes).reduce((s, x) => s + x.count, 0))))));
    out.push(changeList('新增命中（按规则）', d.hits_gained));
    out.push(changeList('不再命中（按规则）', d.hits_lost));
    out.push(changeList('主意图变化', d.intent_changes));
  }
  $('publish-out').replaceChildren(...out.filter(Boolean));
}

async function check() {
  $('check').disabled = true;
  $('publish-btn').disabled = true;
  $('publish-status').textContent = '正在校验并回放…';
  try {
    const { status, body } = await api('POST', '/api/book/check');
    if (status !== 200) {
      $('publish-status').textContent = status === 401 ? '需要管理员 token 才能发布。' : `检查失败（${status}）`;
      checked = null;
      return;
    }
    checked = body;
    renderCheck(body);
    $('publish-btn').disabled = !body.ok;
    $('publish-status').textContent = body.ok ? '检查完成，可以发布。' : '候选版本被拒绝，请先修正。';
  } catch (e) {
    $('publish-status').textContent = `服务不可达：${e.message}`;
  } finally {
    $('check').disabled = false;
  }
}

async function publish() {
  if (!checked?.ok) return;
  $('publish-btn').disabled = true;
  $('publish-status').textContent = '正在发布…';
  const { status, body } = await api('POST', '/api/reload');
  if (status === 200 && body?.ok) {
    $('publish-status').textContent = '';
    $('publish-out').prepend(el('div', { class: 'ok-line', id: 'published' }, '已发布：', el('code', { class: 'hash' }, body.book.hash),
      body.book.hash === checked.hash ? '' : '（注意：发布的版本与检查时不同，文件在检查后又被修改）'));
    checked = null;
    load();
  } else {
    $('publish-status').textContent = `发布失败（${status}）：${body?.error ?? body?.message ?? ''}`;
  }
}

// ---- start ---------------------------------------------------------------------------------

if (!TOKEN) {
  $('qa').hidden = true;
  $('filters').hidden = true;
  $('no-token').hidden = false;
} else {
  initFilters();
  $('check').addEventListener('click', check);
  $('publish-btn').addEventListener('click', publish);
  load();
}
