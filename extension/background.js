// background.js — the extension's service worker: the only place that talks to huashu.
//
// Why here and not in the content script: one pair of connections serves every tab of the
// workbench, the token never enters a web page's context, and the WebSocket's Origin is this
// extension's (`chrome-extension://<id>`, allowed on the server with --allow-origin) rather
// than whichever site the agent works on. Two SDK clients (lib/huashu.js, a byte-identical copy
// of the server's /sdk/huashu.js): `turns` streams the conversation's turns (outbox, resend,
// dedup on (conversation, id)); `agent` subscribes, checks drafts and records feedback. The SDK's
// 20 s ping keeps the worker alive while connected (Chrome ≥ 116). Content scripts talk to it
// over long-lived ports (one per tab); events are routed to the ports showing that
// conversation.

import { Huashu, newId } from './lib/huashu.js';
import { load } from './lib/settings.js';

let settings = null;
let agent = null;
let turns = null;
/** port → {conversation} */
const ports = new Map();
/** conversation → {analysis, suggestions} (what a second tab attaching late is shown). */
const latest = new Map();
const status = { agent: 'idle', turns: 'idle', detail: '' };

function configured() {
  return Boolean(settings?.url && settings?.token);
}

function broadcastStatus() {
  let state;
  if (!configured()) state = 'unconfigured';
  else if (status.agent === 'refused' || status.turns === 'refused') state = 'refused';
  else if (status.agent === 'open' && status.turns === 'open') state = 'open';
  else state = 'down';
  for (const port of ports.keys()) port.postMessage({ type: 'status', state, detail: status.detail });
}

function toConversation(conversation, msg) {
  for (const [port, info] of ports) if (info.conversation === conversation) port.postMessage(msg);
}

function track(client, key) {
  client.on('open', () => { status[key] = 'open'; status.detail = ''; broadcastStatus(); });
  client.on('close', ({ code, willReconnect, delay }) => {
    status[key] = code === 4401 ? 'refused' : willReconnect ? 'down' : 'closed';
    status.detail = code === 4401 ? '令牌被拒绝' : willReconnect ? `${Math.round(delay / 100) / 10} 秒后重连` : '';
    broadcastStatus();
  });
}

async function start() {
  agent?.close();
  turns?.close();
  agent = turns = null;
  settings = await load();
  status.agent = status.turns = 'idle';
  if (!configured()) { broadcastStatus(); return; }
  const common = { url: settings.url, shop: settings.shop || 'default', backoff: { initial: 300, max: 5000, factor: 2 } };
  agent = new Huashu({ ...common, token: settings.token, role: 'agent', agent: settings.agent || undefined });
  turns = new Huashu({ ...common, token: settings.turnToken || settings.token, role: 'widget' });
  track(agent, 'agent');
  track(turns, 'turns');
  for (const type of ['analysis', 'suggestions']) {
    agent.on(type, (ev) => {
      const l = latest.get(ev.conversation) ?? {};
      l[type] = ev;
      latest.set(ev.conversation, l);
      toConversation(ev.conversation, { type: 'event', event: ev });
      if (type === 'analysis' && ev.urgent && Date.now() - (ev.at ?? 0) < 120000) alertUrgent(ev);
    });
  }
  for (const type of ['guard', 'sla', 'follow_up']) {
    agent.on(type, (ev) => toConversation(ev.conversation, { type: 'event', event: ev }));
  }
  agent.connect();
  turns.connect();
  for (const info of ports.values()) if (info.conversation) agent.subscribe(info.conversation);
  broadcastStatus();
}

const notified = new Set();
function alertUrgent(ev) {
  const key = `${ev.conversation}\u0000${ev.turn}`;
  if (notified.has(key)) return;
  notified.add(key);
  toConversation(ev.conversation, { type: 'urgent', event: ev, sound: settings.sound });
  if (settings.notify) {
    chrome.notifications.create(`huashu-${newId('n')}`, {
      type: 'basic', iconUrl: 'icon.png', title: '紧急：客户提到安全问题', message: String(ev.text ?? '').slice(0, 80), priority: 2,
    }, () => void chrome.runtime.lastError);
  }
}

function onPortMessage(port, msg) {
  const info = ports.get(port);
  if (!info || !msg || typeof msg.type !== 'string') return;
  switch (msg.type) {
    case 'attach': {
      if (info.conversation === msg.conversation) return;
      info.conversation = msg.conversation;
      const cached = latest.get(msg.conversation);
      if (cached?.analysis) port.postMessage({ type: 'event', event: cached.analysis });
      if (cached?.suggestions) port.postMessage({ type: 'event', event: cached.suggestions });
      agent?.subscribe(msg.conversation);
      break;
    }
    case 'turn':
      if (!turns) return;
      turns.sendTurn({ conversation: msg.conversation, id: msg.id, role: msg.role, text: msg.text,
        agent: msg.role === 'agent' && settings.agent ? settings.agent : undefined })
        .then((ack) => port.postMessage({ type: 'ack', ack }))
        .catch((err) => port.postMessage({ type: 'turn-error', id: msg.id, code: err.code ?? 'error', message: err.message }));
      break;
    case 'draft': {
      const id = agent?.draft({ conversation: msg.conversation, text: msg.text, draft: msg.draft }) ?? null;
      if (!id) port.postMessage({ type: 'draft-offline', draft: msg.draft });
      break;
    }
    case 'feedback':
      agent?.feedback({ conversation: msg.conversation, suggestion: msg.suggestion, action: msg.action })
        .then((noted) => port.postMessage({ type: 'noted', noted }))
        .catch(() => {});
      break;
    case 'status':
      broadcastStatus();
      break;
    default:
  }
}

chrome.runtime.onConnect.addListener((port) => {
  if (port.name !== 'huashu') return;
  ports.set(port, { conversation: null });
  port.onMessage.addListener((msg) => onPortMessage(port, msg));
  port.onDisconnect.addListener(() => ports.delete(port));
  broadcastStatus();
});

chrome.storage.onChanged.addListener((_changes, area) => { if (area === 'local') start(); });
chrome.runtime.onMessage.addListener((msg, _sender, reply) => {
  // The options page asks for the connection state and this extension's origin.
  if (msg?.type === 'status?') reply({ status, configured: configured(), origin: `chrome-extension://${chrome.runtime.id}` });
});

start();
