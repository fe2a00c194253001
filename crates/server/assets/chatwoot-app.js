// chatwoot-app.js — the huashu sidebar as a Chatwoot Dashboard App (`/chatwoot/app`).
//
// Chatwoot shows a Dashboard App as an iframe beside the conversation and hands it the
// conversation, the contact and the current agent through `postMessage` (`{event:'appContext',
// data}`, as a JSON string), on load and whenever the agent asks with
// 'chatwoot-dashboard-app:fetch-info'. This page maps that conversation to huashu's id
// (`chatwoot:{account}:{conversation}`, the id the webhook stores turns under), subscribes with
// an agent token from its own URL (`?token=…&shop=…`), and shows analysis and scripts. The
// iframe cannot reach Chatwoot's composer (another origin), so scripts are copied, and drafts are
// checked in the box below; the extension is what checks the real composer.
//
// Token policy as in the console: read from this page's URL, kept in memory by the SDK, never
// stored or logged; `no-referrer` keeps it out of Referer headers. Every text goes through
// textContent.

import { Huashu, defaultUrl, newId } from '/sdk/huashu.js';
import { EMOTION, NEGATIVE, SEVERITY, CATEGORY, URGENT_KIND, intentLabel, rewriteDraft } from '/assets/labels.js';

const params = new URLSearchParams(location.search);
const token = params.get('token');
const shop = params.get('shop') || 'default';
// Optional: only accept appContext from this origin (Chatwoot's own), e.g. https://chat.example.
const parentOrigin = params.get('parent');
const $ = (id) => document.getElementById(id);

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const c of kids.flat()) if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

const state = { hs: null, conversation: null, agent: null, analysis: null, suggestions: null, draftId: null };

function setStatus(kind, text) {
  $('status').className = `status st-${kind}`;
  $('status').textContent = text;
}

/** The huashu conversation id of a Chatwoot appContext, or null. */
export function conversationId(data) {
  const c = data?.conversation;
  if (!c || c.id == null) return null;
  const account = c.account_id ?? c.messages?.[0]?.account_id ?? params.get('account');
  if (account == null) return null;
  return `chatwoot:${account}:${c.id}`;
}

function onContext(data) {
  const id = conversationId(data);
  if (!id) {
    setStatus('down', '话术助手：Chatwoot 没有提供会话编号');
    return;
  }
  const agentId = params.get('agent') || (data.currentAgent?.id != null ? `cw-${data.currentAgent.id}` : undefined);
  if (!state.hs || state.agent !== agentId) {
    state.hs?.close();
    state.agent = agentId;
    state.hs = connect(agentId);
  }
  if (state.conversation !== id) {
    if (state.conversation) state.hs.unsubscribe(state.conversation);
    state.conversation = id;
    state.analysis = null;
    state.suggestions = null;
    state.draftId = null;
    $('hits').replaceChildren();
    render();
    state.hs.subscribe(id);
  }
}

function connect(agent) {
  const hs = new Huashu({ url: defaultUrl(), token, shop, role: 'agent', agent });
  hs.on('open', () => setStatus('ok', '话术助手已连接'));
  hs.on('close', ({ willReconnect, code }) => {
    if (code === 4401) setStatus('down', '话术助手：令牌无效或无权访问，请检查 Dashboard App 地址中的 token');
    else setStatus('down', willReconnect ? '话术助手未连接，正在重连…（分析和话术暂停更新）' : '话术助手已断开');
  });
  hs.on('analysis', (ev) => { if (ev.conversation === state.conversation) { state.analysis = ev; render(); } });
  hs.on('suggestions', (ev) => { if (ev.conversation === state.conversation) { state.suggestions = ev; render(); } });
  hs.on('guard', (ev) => { if (ev.draft && ev.draft === state.draftId) renderHits(ev); });
  hs.connect();
  return hs;
}

function render() {
  const a = state.analysis;
  const alert = $('alert');
  alert.hidden = true;
  if (!a) {
    $('analysis').replaceChildren('暂无客户消息');
    $('analysis').className = 'muted';
  } else {
    const emo = a.emotion?.label;
    $('analysis').className = '';
    $('analysis').replaceChildren(...[
      h('div', null, '意图：', ...(a.intents ?? []).map((i) => h('span', { class: 'chip' }, intentLabel(i.id)))),
      emo ? h('div', null, '情绪：', h('span', { class: `chip${NEGATIVE.has(emo) ? ' chip-neg' : ''}` }, EMOTION[emo] ?? emo)) : null,
      h('div', { class: 'muted' }, '客户：', a.text ?? ''),
    ].filter(Boolean));
    const first = state.suggestions?.items?.[0];
    if (a.urgent) {
      alert.className = 'card urgent';
      alert.replaceChildren(...[h('h2', null, `紧急：${URGENT_KIND[a.urgent_kind] ?? '安全问题'}，请优先处理`),
        first ? h('div', null, '首要动作：', first.text) : null].filter(Boolean));
      alert.hidden = false;
    } else if (a.threat) {
      alert.className = 'card threat';
      alert.replaceChildren(h('h2', null, '投诉风险：先倾听致歉，尽快给出解决方案'));
      alert.hidden = false;
    }
  }
  const items = state.suggestions?.items ?? [];
  $('scripts').className = items.length ? '' : 'muted';
  $('scripts').replaceChildren(...(items.length ? items.slice(0, 5).map((s, i) =>
    h('div', { class: 'script', 'data-suggestion': s.id },
      h('span', { class: 'n' }, String(i + 1)),
      h('span', { class: 't' }, s.text),
      h('button', { type: 'button', onclick: () => copy(s) }, '复制'))) : ['暂无推荐']));
}

/** Copies without the async Clipboard API when the host iframe does not allow clipboard-write. */
function copyText(text) {
  const policy = document.permissionsPolicy ?? document.featurePolicy;
  if (navigator.clipboard && policy?.allowsFeature?.('clipboard-write')) {
    return navigator.clipboard.writeText(text).catch(() => {});
  }
  const area = h('textarea', { style: 'position:fixed;left:-9999px;top:0', 'aria-hidden': 'true' });
  area.value = text;
  document.body.append(area);
  area.select();
  try { document.execCommand('copy'); } catch { /* the text stays on screen to copy by hand */ }
  area.remove();
  return Promise.resolve();
}

async function copy(s) {
  await copyText(s.text);
  state.hs?.feedback({ conversation: state.conversation, suggestion: s.id, action: 'used' }).catch(() => {});
}

let draftTimer = null;
$('draft').addEventListener('input', () => {
  clearTimeout(draftTimer);
  draftTimer = setTimeout(() => {
    const text = $('draft').value;
    if (!text.trim() || !state.hs || !state.conversation) { $('hits').replaceChildren(); return; }
    state.draftId = state.hs.draft({ conversation: state.conversation, text, draft: state.draftId ?? newId('d') });
    if (!state.draftId) $('hits').replaceChildren(h('div', { class: 'sev-warn' }, '未连接，无法检查'));
  }, 200);
});

function renderHits(ev) {
  const hits = ev.hits ?? [];
  if (!hits.length) { $('hits').replaceChildren(h('div', { class: 'muted' }, '未发现服务忌语')); return; }
  const fixed = rewriteDraft($('draft').value, ev);
  $('hits').replaceChildren(...[
    ...hits.map((x) => h('div', { class: `hit sev-${x.severity}`, 'data-rule': x.rule },
      `${SEVERITY[x.severity] ?? x.severity}：「${x.text}」 ${CATEGORY[x.category] ?? x.category}`)),
    fixed ? h('button', { type: 'button', class: 'rewrite', onclick: () => {
      $('draft').value = fixed;
      $('draft').dispatchEvent(new Event('input'));
    } }, '一键改写') : null,
  ].filter(Boolean));
}

window.addEventListener('message', (event) => {
  if (event.source !== window.parent) return;
  if (parentOrigin && event.origin !== parentOrigin) return;
  let msg = event.data;
  if (typeof msg === 'string') {
    try { msg = JSON.parse(msg); } catch { return; }
  }
  if (msg?.event === 'appContext') onContext(msg.data);
});

if (!token) setStatus('down', '话术助手：Dashboard App 地址缺少 token 参数');
else if (window.parent === window) setStatus('down', '话术助手：请在 Chatwoot 的 Dashboard App 中打开本页');
else window.parent.postMessage('chatwoot-dashboard-app:fetch-info', parentOrigin || '*');
