// adapters.js — how the extension reads a chat workbench page: which conversation is open, its
// message items (in DOM order, with their side and a stable id), the composer and the send
// button. A generic adapter configured with CSS selectors fits most workbenches; a built-in one
// knows Chatwoot's agent dashboard. Adapters only read the page; they never change it.

/** 32-bit FNV-1a of a string, as 8 hex digits (ids for messages the page gives no id). */
export function fnv1a(str) {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) {
    h ^= str.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

const clean = (s) => String(s ?? '').replace(/\u00a0/g, ' ').trim();

/** One message the adapter read: `{id, role: 'customer'|'agent', text}`. */
function stableId(conversation, position, text, given) {
  if (given && given.trim()) return given.trim().slice(0, 120);
  return `h-${fnv1a(`${conversation}\u0000${position}\u0000${text}`)}`;
}

/**
 * The generic adapter. `sel` (see settings.js): `conversation` (element carrying the open
 * conversation's id in `conversationAttr`, or its text when that is empty), `message` (message
 * items inside it), `customer` / `agent` (what a customer's / an agent's item matches; items
 * matching neither, e.g. system lines, are skipped), `text` (the text element inside an item;
 * the item itself when absent), `messageIdAttr`, `composer`, `send`.
 */
export function genericAdapter(sel) {
  const q = (s, root = document) => {
    if (!s) return null;
    try { return root.querySelector(s); } catch { return null; }
  };
  return {
    name: 'generic',
    conversationId() {
      const el = q(sel.conversation);
      if (!el) return null;
      const v = sel.conversationAttr ? el.getAttribute(sel.conversationAttr) : el.textContent;
      return clean(v) || null;
    },
    messages(conversation) {
      const root = q(sel.conversation) ?? document;
      let items = [];
      try { items = [...root.querySelectorAll(sel.message)]; } catch { return []; }
      const out = [];
      items.forEach((item, position) => {
        const is = (s) => { try { return Boolean(s) && item.matches(s); } catch { return false; } };
        const role = is(sel.customer) ? 'customer' : is(sel.agent) ? 'agent' : null;
        if (!role) return;
        const text = clean((q(sel.text, item) ?? item).innerText);
        if (!text) return;
        out.push({ id: stableId(conversation, position, text, sel.messageIdAttr ? item.getAttribute(sel.messageIdAttr) : null), role, text });
      });
      return out;
    },
    composer() { return q(sel.composer); },
    sendButton() { return q(sel.send); },
    isPrivate() { return false; },
  };
}

/**
 * Chatwoot's agent dashboard: the conversation is in the address
 * (`/app/accounts/{account}/…/conversations/{id}`), messages are `[data-message-id]` items of
 * `.conversation-panel`, each with a `.left-bubble` (customer) or `.right-bubble` (the agent's
 * own reply) and centred activity lines; private notes are skipped. Ids are the webhook's
 * (`chatwoot:{account}:{conversation}`, `cw-{message id}`), so a turn read here and the same turn
 * from the webhook are one turn on the server. The composer is the ProseMirror editor of
 * `.reply-box` (`.is-private` while writing a private note, which is never blocked).
 */
export function chatwootAdapter() {
  const route = () => /\/app\/accounts\/(\d+)\/(?:.*\/)?conversations\/(\d+)/.exec(location.pathname);
  return {
    name: 'chatwoot',
    conversationId() {
      const m = route();
      return m ? `chatwoot:${m[1]}:${m[2]}` : null;
    },
    messages() {
      const out = [];
      for (const item of document.querySelectorAll('.conversation-panel [data-message-id]')) {
        if (item.classList.contains('justify-center')) continue;
        const bubble = item.querySelector('.left-bubble, .right-bubble');
        if (!bubble) continue;
        const cls = bubble.className;
        if (/private|amber|warning/.test(cls) || item.querySelector('.is-private')) continue;
        const textEl = bubble.querySelector('.prose-bubble, .prose, .text-content') ?? bubble;
        const text = clean(textEl.innerText);
        const id = clean(item.getAttribute('data-message-id'));
        if (!text || !id) continue;
        out.push({ id: `cw-${id}`, role: bubble.classList.contains('right-bubble') ? 'agent' : 'customer', text });
      }
      return out;
    },
    composer() {
      return document.querySelector('.reply-box .ProseMirror[contenteditable="true"], .reply-box textarea');
    },
    sendButton() {
      return [...document.querySelectorAll('.reply-box button')].find((b) => /^(发送|Send)/i.test(clean(b.textContent))) ?? null;
    },
    isPrivate() {
      return Boolean(document.querySelector('.reply-box.is-private'));
    },
  };
}

/** The adapter for this page. */
export function pick(settings) {
  if (settings.adapter === 'chatwoot') return chatwootAdapter();
  if (settings.adapter === 'generic') return genericAdapter(settings.selectors);
  const looksLikeChatwoot = /\/app\/accounts\/\d+\//.test(location.pathname) && document.querySelector('.conversation-panel, .reply-box');
  return looksLikeChatwoot ? chatwootAdapter() : genericAdapter(settings.selectors);
}
