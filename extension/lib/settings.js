// settings.js — the extension's settings (chrome.storage.local) and their defaults, shared by the
// service worker, the content script and the options page so all three agree on every key.

export const DEFAULTS = {
  /** huashu's WebSocket URL. */
  url: 'ws://127.0.0.1:8080/ws',
  /** Agent token (role agent or any) for subscribe / draft / feedback. */
  token: '',
  shop: 'default',
  /** Optional agent id sent in hello (must match a token pinned to an agent). */
  agent: '',
  /** Token of the connection that streams turns (hello role `widget`; default: the agent
   * token). Agent turns need a token of role `integration` (or `any`) in the server's token
   * file: a plain widget token may send customer turns only. */
  turnToken: '',
  /** Address prefixes (one per line in the options page) where the extension attaches. */
  sites: [],
  /** 'auto' (Chatwoot's dashboard when recognised, else generic), 'chatwoot' or 'generic'. */
  adapter: 'auto',
  /** Read turns from the page (off when Chatwoot's webhook already streams them). */
  streamTurns: true,
  /** Generic adapter: CSS selectors of the workbench page. */
  selectors: {
    conversation: '[data-conversation-id]',
    conversationAttr: 'data-conversation-id',
    message: '.message',
    customer: '.from-customer',
    agent: '.from-agent',
    text: '.text',
    messageIdAttr: 'data-message-id',
    composer: 'textarea',
    send: 'button[type=submit]',
  },
  /** Urgent turns: sound and desktop notification. */
  sound: true,
  notify: true,
};

/** The settings with defaults filled in (selectors merged key by key). */
export async function load() {
  const got = await chrome.storage.local.get(null);
  return { ...DEFAULTS, ...got, selectors: { ...DEFAULTS.selectors, ...(got.selectors ?? {}) } };
}
