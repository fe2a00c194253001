// content-main.js — the extension inside a workbench page: reads the open conversation through an
// adapter (adapters.js), streams its turns and the composer's draft to the service worker (which
// talks to huashu), shows the panel (panel.js) and guards the real composer (composer.js).
//
// The send guard: capture-phase listeners on the window see Enter in the composer and clicks on
// the send button before the page's own handlers. A draft whose latest check has a `block` hit is
// stopped there (the panel offers the rewrite and a recorded override); a draft not yet checked
// is held until its check answers (at most CHECK_WAIT ms) and then sent or stopped. When huashu is
// unreachable nothing is blocked, and the panel says plainly that the reply was not checked.

import { pick } from './adapters.js';
import { getText, mark, setText } from './composer.js';
import { rewriteDraft } from './labels.js';
import { Panel, beep } from './panel.js';
import { load } from './settings.js';

const CHECK_DELAY = 150;
const CHECK_WAIT = 1500;

export async function start() {
  const settings = await load();
  const here = location.href;
  if (!settings.sites.some((s) => s && here.startsWith(s))) return;
  const adapter = pick(settings);
  const s = {
    conversation: null,
    seen: new Set(),
    suggestions: [],
    analysis: null,
    online: false,
    text: '',
    draftId: null,
    asked: [],          // texts of draft checks not yet answered, in order
    checked: null,      // {text, guard}
    held: null,         // {trigger, timer} a send waiting for its check
    bypass: false,
    overridden: false,
  };
  let port = null;
  const panel = new Panel({ onInsert: insert, onRewrite: rewrite, onOverride: override });
  document.documentElement.dataset.huashuAdapter = adapter.name;

  function post(msg) {
    try { port?.postMessage(msg); } catch { /* reconnected below */ }
  }

  function connectPort() {
    port = chrome.runtime.connect({ name: 'huashu' });
    port.onMessage.addListener(onMessage);
    port.onDisconnect.addListener(() => {
      // The service worker restarted (or the extension reloaded): connect again.
      port = null;
      s.online = false;
      panel.setStatus('down', '');
      setTimeout(() => { connectPort(); const c = s.conversation; s.conversation = null; if (c) attach(c); }, 500);
    });
  }

  function onMessage(msg) {
    switch (msg.type) {
      case 'status':
        s.online = msg.state === 'open';
        panel.setStatus(msg.state, msg.detail);
        renderGuard();
        break;
      case 'event': onEvent(msg.event); break;
      case 'urgent': if (msg.sound) beep(); break;
      case 'draft-offline': s.asked = []; renderGuard(); release(); break;
      default:
    }
  }

  function onEvent(ev) {
    if (ev.conversation !== s.conversation) return;
    if (ev.type === 'analysis') {
      s.analysis = ev;
      panel.setAnalysis(ev, null);
    } else if (ev.type === 'suggestions') {
      s.suggestions = (ev.items ?? []).slice(0, 5);
      panel.setSuggestions(s.suggestions);
      if (s.analysis?.turn === ev.turn && s.analysis.urgent) panel.setAnalysis(s.analysis, s.suggestions[0]?.text);
    } else if (ev.type === 'guard' && ev.draft && ev.draft === s.draftId) {
      const text = s.asked.shift();
      if (text !== undefined) s.checked = { text, guard: ev };
      renderGuard();
      if (s.held && s.checked?.text === currentText()) release();
    }
  }

  function currentText() { return getText(adapter.composer()); }

  function blockedNow() {
    const text = currentText();
    if (!text.trim() || adapter.isPrivate() || s.checked?.text !== text) return false;
    return (s.checked.guard.hits ?? []).some((x) => x.severity === 'block');
  }

  function renderGuard() {
    const text = currentText();
    const fresh = s.checked && s.checked.text === text ? s.checked.guard : null;
    const hits = fresh?.hits ?? [];
    const marked = mark(adapter.composer(), text, hits);
    panel.setGuard({
      hits,
      fixed: fresh ? rewriteDraft(text, fresh) : null,
      blocked: Boolean(s.held?.stopped) && blockedNow(),
      offline: !s.online && Boolean(text.trim()),
      marked,
      overridden: s.overridden,
      empty: !text.trim(),
      checked: Boolean(fresh),
    });
  }

  function attach(conversation) {
    if (conversation === s.conversation) return;
    s.conversation = conversation;
    s.analysis = null;
    s.suggestions = [];
    s.checked = null;
    s.asked = [];
    s.draftId = null;
    panel.reset();
    // No conversation open (a list view, a settings page): no panel in the way.
    panel.host.hidden = !conversation;
    document.documentElement.dataset.huashuConversation = conversation ?? '';
    if (conversation) post({ type: 'attach', conversation });
  }

  function scan() {
    const conversation = adapter.conversationId();
    if (conversation !== s.conversation) attach(conversation);
    if (!conversation) return;
    if (settings.streamTurns) {
      for (const m of adapter.messages(conversation)) {
        const key = `${conversation}\u0000${m.id}`;
        if (s.seen.has(key)) continue;
        s.seen.add(key);
        post({ type: 'turn', conversation, id: m.id, role: m.role, text: m.text });
      }
    }
    const text = currentText();
    if (text !== s.text) onDraftChanged(text);
  }

  let checkTimer = null;
  function onDraftChanged(text) {
    s.text = text;
    // The "sent anyway" notice stays until the agent starts the next reply.
    if (text.trim()) s.overridden = false;
    else s.draftId = null;
    renderGuard();
    clearTimeout(checkTimer);
    checkTimer = setTimeout(() => check(text), CHECK_DELAY);
  }

  function check(text) {
    if (!s.conversation || !text.trim()) return;
    if (s.checked?.text === text || s.asked.at(-1) === text) return;
    s.draftId ??= `d-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    s.asked.push(text);
    post({ type: 'draft', conversation: s.conversation, draft: s.draftId, text });
  }

  // ---- the send guard ----------------------------------------------------------------------

  function perform(trigger) {
    s.bypass = true;
    try {
      if (trigger === 'button') adapter.sendButton()?.click();
      else adapter.composer()?.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', code: 'Enter', keyCode: 13, which: 13, bubbles: true, cancelable: true }));
    } finally {
      s.bypass = false;
    }
    sent();
  }

  /** The draft went out: the next one is a new draft (id) with no checks in flight. */
  function sent() {
    s.draftId = null;
    s.asked = [];
  }

  /** A held send: go on if its check came back clean (or never came), else stop it. */
  function release() {
    const held = s.held;
    if (!held) return;
    clearTimeout(held.timer);
    if (blockedNow()) {
      held.stopped = true;
      renderGuard();
      return;
    }
    s.held = null;
    perform(held.trigger);
  }

  function intercept(e, trigger) {
    if (s.bypass || !s.conversation) return;
    const text = currentText();
    if (!text.trim() || adapter.isPrivate()) return;
    if (!s.online) { renderGuard(); return; } // degraded: never block, the panel says "未经检查"
    if (s.checked?.text === text && !blockedNow()) { sent(); return; }
    e.preventDefault();
    e.stopImmediatePropagation();
    if (s.held) clearTimeout(s.held.timer);
    s.held = { trigger, stopped: false, timer: null };
    if (s.checked?.text === text) { release(); return; }
    clearTimeout(checkTimer);
    check(text);
    // No answer in time: let it go (the panel shows the draft as unchecked) rather than hang.
    s.held.timer = setTimeout(release, CHECK_WAIT);
  }

  window.addEventListener('keydown', (e) => {
    if (e.altKey && /^Digit[1-5]$/.test(e.code)) {
      const i = Number(e.code.slice(5)) - 1;
      if (s.suggestions[i]) { e.preventDefault(); e.stopImmediatePropagation(); insert(i); }
      return;
    }
    const composer = adapter.composer();
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing || !composer) return;
    if (e.target === composer || composer.contains(e.target)) intercept(e, 'enter');
  }, true);

  window.addEventListener('click', (e) => {
    const button = adapter.sendButton();
    if (button && (e.target === button || button.contains(e.target))) intercept(e, 'button');
  }, true);

  window.addEventListener('input', (e) => {
    const composer = adapter.composer();
    if (composer && (e.target === composer || composer.contains(e.target))) {
      if (s.held?.stopped) s.held = null;
      onDraftChanged(currentText());
    }
  }, true);

  // ---- panel actions --------------------------------------------------------------------------

  function insert(i) {
    const item = s.suggestions[i];
    const composer = adapter.composer();
    if (!item || !composer) return;
    setText(composer, item.text);
    onDraftChanged(currentText());
    post({ type: 'feedback', conversation: s.conversation, suggestion: item.id, action: 'used' });
  }

  function rewrite() {
    const composer = adapter.composer();
    const text = currentText();
    const fixed = s.checked?.text === text ? rewriteDraft(text, s.checked.guard) : null;
    if (!fixed || !composer) return;
    s.held = null;
    setText(composer, fixed);
    onDraftChanged(currentText());
  }

  function override() {
    const held = s.held;
    if (!held) return;
    // Recorded: the flagged draft is checked (and stored) once more under its id, and the reply
    // that goes out is then a sent turn that did not rewrite it (QA: "sent despite the warning").
    post({ type: 'draft', conversation: s.conversation, draft: s.draftId ?? `d-${Date.now().toString(36)}`, text: currentText() });
    s.held = null;
    s.overridden = true;
    perform(held.trigger);
    renderGuard();
  }

  connectPort();
  post({ type: 'status' });
  const observer = new MutationObserver(() => { clearTimeout(scanTimer); scanTimer = setTimeout(scan, 60); });
  let scanTimer = null;
  observer.observe(document.body, { childList: true, subtree: true, characterData: true });
  // Programmatic composer changes (a page clearing its box after sending) fire no input event.
  setInterval(() => { const t = currentText(); if (t !== s.text) onDraftChanged(t); }, 400);
  scan();
}
