// panel.js — the small panel the extension lays beside the workbench page (zh-CN): connection
// state, the customer's intent, emotion and urgency with its first action, the ranked scripts
// (click or Alt+1…5), and the draft check (hits, one-click rewrite, blocked send and override).
// It lives in a shadow root so the page's CSS cannot reach it and its CSS cannot leak out;
// every text goes in through textContent.

import { CATEGORY, EMOTION, NEGATIVE, SEVERITY, URGENT_KIND, intentLabel } from './labels.js';

const CSS_TEXT = `
  :host { all: initial; }
  :host([hidden]) { display: none; }
  .panel { position: fixed; top: 12px; right: 12px; width: 300px; max-height: calc(100vh - 24px); overflow: auto; z-index: 2147483600;
    font: 13px/1.5 "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; color: #1f2933; background: #fff;
    border: 1px solid #cbd2d9; border-radius: 10px; box-shadow: 0 6px 24px rgba(15, 23, 42, .18); }
  .panel.collapsed .body { display: none; }
  header { display: flex; align-items: center; gap: 6px; padding: 8px 10px; border-bottom: 1px solid #e4e7eb; font-weight: 600; }
  header .title { flex: 1; }
  header button { border: 0; background: none; cursor: pointer; font: inherit; color: #52606d; }
  .status { padding: 4px 10px; font-size: 12px; }
  .st-open { background: #e6f6ec; color: #17663a; }
  .st-down, .st-refused, .st-unconfigured { background: #fde8e8; color: #9b1c1c; font-weight: 600; }
  .st-idle { background: #fff4e0; color: #8a5300; }
  section { padding: 8px 10px; border-bottom: 1px solid #f0f2f5; }
  h3 { margin: 0 0 4px; font-size: 12px; color: #52606d; font-weight: 600; }
  .chip { display: inline-block; padding: 0 7px; border-radius: 9px; background: #eef2f7; margin: 0 4px 3px 0; }
  .chip-neg { background: #fde8e8; color: #9b1c1c; }
  .urgent { background: #9b1c1c; color: #fff; border-radius: 8px; padding: 6px 8px; margin-top: 4px; }
  .threat { background: #fff7ed; color: #9a3412; border-radius: 8px; padding: 6px 8px; margin-top: 4px; }
  ol { margin: 0; padding: 0; list-style: none; }
  li.script { display: flex; gap: 6px; padding: 5px 4px; border-radius: 6px; cursor: pointer; }
  li.script:hover { background: #eef2f7; }
  li.script .n { color: #7b8794; min-width: 3.2em; font-size: 11px; padding-top: 1px; }
  .hit { margin: 3px 0; }
  .sev-block { color: #9b1c1c; font-weight: 600; }
  .sev-warn { color: #8a5300; font-weight: 600; }
  .sev-hint { color: #52606d; }
  .blocked { background: #fde8e8; color: #9b1c1c; border-radius: 8px; padding: 6px 8px; margin-top: 4px; font-weight: 600; }
  .actions { display: flex; gap: 6px; margin-top: 6px; flex-wrap: wrap; }
  .actions button { font: inherit; border: 1px solid #cbd2d9; background: #fff; border-radius: 6px; padding: 2px 10px; cursor: pointer; }
  .actions button.primary { background: #17663a; color: #fff; border-color: #17663a; }
  .actions button.danger { background: #fff; color: #9b1c1c; border-color: #9b1c1c; }
  .muted { color: #7b8794; }
`;

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids.flat()) if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

const STATUS_TEXT = {
  open: '话术助手已连接',
  down: '话术助手未连接，正在重连…（暂无分析和忌语检查）',
  refused: '话术助手：令牌被拒绝，请在扩展选项中检查令牌',
  unconfigured: '话术助手未配置：请在扩展选项中填写服务器地址和令牌',
  idle: '话术助手连接中…',
};

export class Panel {
  /** @param {{onInsert, onRewrite, onOverride}} handlers */
  constructor(handlers) {
    this.handlers = handlers;
    this.host = h('huashu-panel', { 'data-huashu': 'panel', hidden: true });
    this.root = this.host.attachShadow({ mode: 'open' });
    this.status = h('div', { class: 'status st-idle', 'data-part': 'status' }, STATUS_TEXT.idle);
    this.analysis = h('div', { 'data-part': 'analysis', class: 'muted' }, '暂无客户消息');
    this.scripts = h('ol', { 'data-part': 'scripts' });
    this.guard = h('div', { 'data-part': 'guard', class: 'muted' }, '输入回复时自动检查服务忌语');
    this.frame = h('div', { class: 'panel', 'data-part': 'frame' },
      h('header', null, h('span', { class: 'title' }, '话术助手'),
        h('button', { type: 'button', title: '收起/展开', onclick: () => this.frame.classList.toggle('collapsed') }, '—')),
      this.status,
      h('div', { class: 'body' },
        h('section', null, h('h3', null, '客户分析'), this.analysis),
        h('section', null, h('h3', null, '推荐话术（点击或 Alt+1…5 插入）'), this.scripts),
        h('section', null, h('h3', null, '回复检查'), this.guard)));
    this.root.append(h('style', null, CSS_TEXT), this.frame);
    document.documentElement.append(this.host);
    this.items = [];
  }

  setStatus(state, detail) {
    this.status.className = `status st-${state}`;
    this.status.dataset.state = state;
    this.status.textContent = STATUS_TEXT[state] + (detail && state === 'down' ? ` ${detail}` : '');
  }

  reset() {
    this.setAnalysis(null);
    this.setSuggestions([]);
    this.setGuard({});
  }

  setAnalysis(a, first) {
    this.analysis.dataset.turn = a?.turn ?? '';
    if (!a) {
      this.analysis.className = 'muted';
      this.analysis.replaceChildren('暂无客户消息');
      return;
    }
    const emo = a.emotion?.label;
    this.analysis.className = '';
    this.analysis.dataset.urgent = String(Boolean(a.urgent));
    this.analysis.replaceChildren(...[
      h('div', null, '意图：', ...(a.intents ?? []).map((i) => h('span', { class: 'chip', 'data-intent': i.id }, intentLabel(i.id)))),
      emo ? h('div', null, '情绪：', h('span', { class: `chip${NEGATIVE.has(emo) ? ' chip-neg' : ''}`, 'data-emotion': emo }, EMOTION[emo] ?? emo)) : null,
      a.urgent ? h('div', { class: 'urgent', 'data-part': 'urgent' }, `紧急：${URGENT_KIND[a.urgent_kind] ?? '安全问题'}，请优先处理`,
        first ? h('div', null, '首要动作：', first) : null) : null,
      !a.urgent && a.threat ? h('div', { class: 'threat' }, '投诉风险：先倾听致歉，尽快给出解决方案') : null,
    ].filter(Boolean));
  }

  setSuggestions(items) {
    this.items = items.slice(0, 5);
    this.scripts.replaceChildren(...(this.items.length ? this.items.map((s, i) =>
      h('li', { class: 'script', 'data-suggestion': s.id, title: '点击插入到回复框', onclick: () => this.handlers.onInsert(i) },
        h('span', { class: 'n' }, `Alt+${i + 1}`), h('span', null, s.text)))
      : [h('li', { class: 'muted' }, '暂无推荐')]));
  }

  /** @param {{hits?, fixed?, blocked?, offline?, empty?, checked?, marked?, overridden?}} g */
  setGuard(g) {
    const hits = g.hits ?? [];
    this.guard.dataset.blocked = String(Boolean(g.blocked));
    this.guard.dataset.hits = String(hits.length);
    this.guard.dataset.marked = String(g.marked ?? 0);
    const kids = [];
    if (g.offline) kids.push(h('div', { class: 'sev-warn', 'data-part': 'unchecked' }, '话术未连接：本条回复未经忌语检查'));
    for (const x of hits) {
      kids.push(h('div', { class: `hit sev-${x.severity}`, 'data-rule': x.rule },
        `${SEVERITY[x.severity] ?? x.severity}：「${x.text}」 ${CATEGORY[x.category] ?? x.category}`));
    }
    if (g.blocked) kids.push(h('div', { class: 'blocked', 'data-part': 'blocked' }, '已拦截发送：回复含禁止发送的服务忌语'));
    if (g.overridden) kids.push(h('div', { class: 'sev-warn', 'data-part': 'overridden' }, '已强制发送，已记录到质检'));
    const actions = [];
    if (g.fixed) actions.push(h('button', { type: 'button', class: 'primary', 'data-action': 'rewrite', onclick: () => this.handlers.onRewrite() }, '一键改写'));
    if (g.blocked) actions.push(h('button', { type: 'button', class: 'danger', 'data-action': 'override', onclick: () => this.handlers.onOverride() }, '仍然发送（记录）'));
    if (actions.length) kids.push(h('div', { class: 'actions' }, actions));
    this.guard.className = kids.length ? '' : 'muted';
    this.guard.replaceChildren(...(kids.length ? kids : [g.empty ? '输入回复时自动检查服务忌语' : g.checked ? '未发现服务忌语' : '检查中…']));
  }
}

/** A short two-tone beep for urgent turns (WebAudio; silently nothing when audio is blocked). */
export function beep() {
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.08;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.frequency.setValueAtTime(660, ctx.currentTime + 0.15);
    osc.stop(ctx.currentTime + 0.3);
  } catch { /* no audio */ }
}
