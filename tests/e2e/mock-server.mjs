// mock-server.mjs — a stand-in for `huashu serve` that speaks protocol v1 (docs/PROTOCOL.md)
// with canned, keyword-based analysis. It exists so the console, SDK and demo can be developed
// and their pure-UI behaviour tested without the Rust server; the required end-to-end tests run
// against the real binary (see run.sh).
//
//   node mock-server.mjs [--listen 127.0.0.1:0]      → prints `console: http://HOST:PORT/?token=T`
//   import { startMock } from './mock-server.mjs'     → { url, token, port, close() }

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

const ASSETS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../crates/server/assets');
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

// ---- canned understanding -------------------------------------------------------------------
const INTENTS = [
  ['complaint', /投诉|差评|12315|消协|曝光|举报|告你/],
  ['escalation', /主管|领导|经理|人工|换个客服/],
  ['quality_issue', /碎|破损|坏了|质量|假货|吞|零件/],
  ['shipping', /快递|物流|发货|单号|还没到|送到/],
  ['return_refund', /退款|退货|换货|无理由|运费/],
  ['price_promo', /优惠|便宜|券|打折|价格/],
  ['product_inquiry', /有吗|还有|能用吗|尺码|敏感肌|适合/],
  ['greeting', /^(你好|您好|在吗)/],
  ['thanks_closing', /谢谢|感谢/],
];
const EMOTIONS = [
  ['anger', /气死|什么破|垃圾|坑人|骗子|投诉|差评|！！|太差/, 0.86],
  ['anxiety', /急|怎么还没|赶紧|快点|马上|怎么办/, 0.74],
  ['disappointment', /失望|算了|唉/, 0.6],
  ['positive', /谢谢|满意|不错|太好了/, 0.62],
];
const URGENT = /吞|冒烟|起火|着火|触电|过敏|受伤|流血/;
const SCRIPTS = {
  anger: [
    ['soothe', ['empathy', 'apology'], '{称呼}，非常抱歉给您带来这么不好的体验，您的心情我完全理解，这件事我来负责跟进到底。'],
    ['solve', ['solution'], '麻烦您提供一下破损处的照片，我马上为您登记补发或全额退款，您看哪种方式更方便？'],
    ['follow_up', [], '我已为您加急处理，24小时内一定给您答复，请您放心。'],
  ],
  anxiety: [
    ['soothe', ['empathy'], '{称呼}，理解您着急的心情，我这就帮您查询最新进度。'],
    ['solve', ['solution'], '已经帮您联系快递加急派送，有任何更新我第一时间通知您。'],
    ['clarify', [], '麻烦您提供一下订单号，我帮您核实一下。'],
  ],
  urgent: [
    ['soothe', ['urgent', 'safety'], '请先确保孩子的安全！如有呼吸困难，请立即拨打120或尽快就医。'],
    ['solve', ['safety'], '我已将情况紧急上报，专人会马上联系您，所有费用我们会负责到底。'],
    ['clarify', [], '请问孩子现在情况怎么样？有没有咳嗽或呼吸不畅？'],
  ],
  neutral: [
    ['greet', [], '{称呼}您好，很高兴为您服务，请问有什么可以帮您？'],
    ['solve', ['solution'], '好的，我这就为您处理，请您稍等。'],
    ['clarify', [], '麻烦您提供一下订单号，我帮您查询。'],
  ],
};
const RULES = [
  ['provoke.go_sue', '你去告啊', 'provoke', 'block', '非常抱歉让您不满意，我们一定会认真处理您的问题'],
  ['provoke.anywhere', '爱上哪告都行', 'provoke', 'block', '非常抱歉，我们会尽力为您解决'],
  // Overlaps provoke.go_sue from the left ("随便你去告啊"): the console must paint the block.
  ['dismissive.whatever', '随便你去', 'dismissive', 'warn', '您看这样处理可以吗'],
  ['impatience.rush', '催什么催', 'impatience', 'warn', '我理解您着急，我马上帮您催促'],
  ['dismissive.dunno', '不知道', 'dismissive', 'warn', '这个问题我帮您确认一下，稍后回复您'],
  ['command_tone.speak', '你说清楚点', 'command_tone', 'warn', '麻烦您再详细描述一下，好吗'],
  ['blame_shift.not_me', '又不是我处理的', 'blame_shift', 'block', '这个问题我来帮您跟进处理'],
];

/** Maps the kept (letter/number) code points to their index in the original code points. */
function skeleton(text) {
  const cps = Array.from(text);
  const kept = [];
  cps.forEach((ch, i) => { if (/[\p{L}\p{N}]/u.test(ch)) kept.push([ch, i]); });
  return { s: kept.map((k) => k[0]).join(''), idx: kept.map((k) => k[1]), cps };
}

export function guard(text) {
  const { s, idx, cps } = skeleton(text);
  const sk = Array.from(s);
  const hits = [];
  for (const [rule, phrase, category, severity, rewrite] of RULES) {
    const ph = Array.from(phrase);
    for (let i = 0; i + ph.length <= sk.length; i++) {
      if (sk.slice(i, i + ph.length).join('') !== phrase) continue;
      if (phrase === '不知道' && sk[i + 3] === '您') continue; // allow-context: 不知道您方便…
      const start = idx[i];
      const end = idx[i + ph.length - 1] + 1;
      hits.push({ rule, category, severity, start, end, text: cps.slice(start, end).join(''), rewrite });
    }
  }
  return hits.sort((a, b) => a.start - b.start);
}

export function understand(text) {
  const intents = INTENTS.filter(([, re]) => re.test(text)).map(([id], i) => ({ id, score: Math.max(0.5, 0.92 - i * 0.1) }));
  if (!intents.length) intents.push({ id: 'other', score: 0.3 });
  const emo = EMOTIONS.find(([, re]) => re.test(text));
  const emotion = emo ? { label: emo[0], intensity: emo[2] } : { label: 'neutral', intensity: 0.1 };
  if (/不生气|没生气/.test(text)) Object.assign(emotion, { label: 'neutral', intensity: 0.1 });
  const entities = [];
  const cps = Array.from(text);
  const find = (re, kind, extra = {}) => {
    for (const m of text.matchAll(re)) {
      const start = Array.from(text.slice(0, m.index)).length;
      entities.push({ kind, text: m[0], start, end: start + Array.from(m[0]).length, ...extra });
    }
  };
  find(/SF\d{12,13}/g, 'tracking_no', { carrier: 'SF' });
  find(/(?<!\d)1[3-9]\d{9}(?!\d)/g, 'phone');
  find(/(?<=改成|地址是)[\u4e00-\u9fa5]{2,6}市[\u4e00-\u9fa5]{1,6}区[\u4e00-\u9fa5]{1,8}路\d+号/g, 'address');
  find(/(?<![A-Z\d])\d{12,20}(?!\d)/g, 'order_id');
  entities.sort((a, b) => a.start - b.start);
  void cps;
  const threat = /投诉|差评|12315|曝光|举报/.test(text);
  return { intents, emotion, urgent: URGENT.test(text), style: emotion.label === 'neutral' ? 'rational' : 'emotional', entities, threat };
}

function suggest(u, customer) {
  const key = u.urgent ? 'urgent' : SCRIPTS[u.emotion.label] ? u.emotion.label : 'neutral';
  return SCRIPTS[key].map(([stage, tags, text], i) => ({
    id: `s-${crypto.randomBytes(4).toString('hex')}`, script: `mock.${key}.${i}`, intent: u.intents[0].id, stage, tags,
    text: text.replace('{称呼}', customer || '亲'),
  }));
}

// ---- server ---------------------------------------------------------------------------------
export function startMock({ host = '127.0.0.1', port = 0, token = crypto.randomBytes(8).toString('hex'), sla = { warn_ms: 8000, breach_ms: 30000 } } = {}) {
  const convs = new Map();
  /** Every `hello` and `turn` received, as sent (the SDK's frames, for shape checks). */
  const frames = [];
  const watchers = new Set();
  const feedback = [];
  const reveals = [];
  const sockets = new Set();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const route = { '/': 'console.html', '/demo': 'demo.html', '/sdk/huashu.js': 'huashu.js', '/qa': 'qa.html' }[url.pathname]
      ?? (url.pathname.startsWith('/assets/') ? path.basename(url.pathname) : null);
    if (url.pathname === '/healthz') { res.end('ok'); return; }
    if (url.pathname === '/api/feedback') { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(feedback)); return; }
    if (!route) { res.statusCode = 404; res.end('not found'); return; }
    fs.readFile(path.join(ASSETS, route), (err, data) => {
      if (err) { res.statusCode = 404; res.end('not found'); return; }
      res.setHeader('content-type', TYPES[path.extname(route)] ?? 'application/octet-stream');
      res.setHeader('cache-control', 'no-store');
      res.end(data);
    });
  });
  const wss = new WebSocketServer({ server, path: '/ws' });

  const conv = (id) => {
    if (!convs.has(id)) convs.set(id, { id, seq: 0, events: [], acks: new Map(), subs: new Set(), customer: '', last_text: '', last_at: 0, waiting_since: null, urgent: false, threat: false, escalation: false, reasons: [], personal: new Map(), rising: 0, emotion: null, intent: null, timers: [] });
    return convs.get(id);
  };
  // Same shape as the real server's Summary (crates/server/src/shared.rs).
  const summary = (c) => ({ conversation: c.id, shop: 'default', seq: c.seq, customer: c.customer || null, last_text: c.last_text, last_at: c.last_at, intent: c.intent, emotion: c.emotion?.label ?? null, intensity: c.emotion?.intensity ?? null, urgent: c.urgent, threat: c.threat, escalation: c.reasons.length > 0, escalation_reasons: c.reasons, waiting_since: c.waiting_since, sla: 'ok', updated_at: c.last_at });
  const send = (ws, m) => { if (ws.readyState === 1) ws.send(JSON.stringify(m)); };
  const publish = (c, ev) => {
    ev.seq = ++c.seq;
    c.events.push(ev);
    for (const ws of c.subs) send(ws, ev);
  };
  const announce = (c) => { for (const ws of watchers) send(ws, { type: 'conversation', ...summary(c) }); };

  function acceptTurn(ws, m, role) {
    const c = conv(m.conversation);
    if (c.acks.has(m.id)) { send(ws, { type: 'ack', conversation: c.id, id: m.id, seq: c.acks.get(m.id), duplicate: true }); return; }
    const at = m.at ?? Date.now();
    const first = c.seq + 1;
    c.acks.set(m.id, first);
    if (m.customer) c.customer = m.customer;
    c.last_text = m.text; c.last_at = at;
    for (const t of c.timers) clearTimeout(t);
    c.timers = [];
    if (role === 'customer') {
      const u = understand(m.text);
      // Personal values as the real server treats them (crates/server/src/personal.rs): masked
      // in what is pushed, the value kept aside for `reveal`.
      const cps = Array.from(m.text);
      u.entities.forEach((e, i) => {
        if (e.kind !== 'phone' && e.kind !== 'address') return;
        c.personal.set(`${m.id}:${i}`, { kind: e.kind, value: e.text });
        const masked = Array.from(e.text).map((ch, k) => (e.kind === 'phone' ? (k < 3 || k > 6 ? ch : '*') : k === 0 ? ch : '*')).join('');
        e.text = masked;
        cps.splice(e.start, e.end - e.start, ...Array.from(masked));
      });
      m = { ...m, text: cps.join('') };
      c.last_text = m.text;
      publish(c, { type: 'analysis', conversation: c.id, turn: m.id, role, text: m.text, at, customer: c.customer || undefined, ...u, state: {} });
      publish(c, { type: 'suggestions', conversation: c.id, turn: m.id, items: suggest(u, c.customer) });
      // Escalation reasons as the real server words them (crates/server/src/escalation.rs),
      // from canned signals: asking for a human, or a threat (which makes the risk high).
      if (c.waiting_since === null) c.reasons = [];
      c.rising = u.emotion.label === 'anger' || u.threat ? c.rising + 1 : 0;
      const add = (r) => { if (!c.reasons.some((x) => x.kind === r.kind)) c.reasons.push(r); };
      if (u.intents.some((i) => i.id === 'escalation')) add({ kind: 'asked_human' });
      if (u.threat || c.threat) {
        add({ kind: 'complaint_threat' });
        c.reasons = c.reasons.filter((x) => x.kind !== 'risk');
        c.reasons.push({ kind: 'risk', risk: 0.78, turns: Math.max(1, c.rising) });
      }
      c.waiting_since ??= at;
      c.urgent ||= u.urgent; c.threat ||= u.threat;
      c.emotion = u.emotion; c.intent = u.intents[0].id;
      const since = c.waiting_since;
      c.timers.push(setTimeout(() => publish(c, { type: 'sla', conversation: c.id, level: 'warn', turn: m.id, waiting_ms: Date.now() - since }), sla.warn_ms));
      c.timers.push(setTimeout(() => publish(c, { type: 'sla', conversation: c.id, level: 'breach', turn: m.id, waiting_ms: Date.now() - since }), sla.breach_ms));
    } else {
      publish(c, { type: 'guard', conversation: c.id, turn: m.id, role: 'agent', text: m.text, at, hits: guard(m.text) });
      c.waiting_since = null; c.urgent = false;
    }
    send(ws, { type: 'ack', conversation: c.id, id: m.id, seq: first });
    announce(c);
  }

  wss.on('connection', (ws) => {
    sockets.add(ws);
    let hello = null;
    ws.on('close', () => { sockets.delete(ws); watchers.delete(ws); for (const c of convs.values()) c.subs.delete(ws); });
    ws.on('message', (data) => {
      let m;
      try { m = JSON.parse(String(data)); } catch { send(ws, { type: 'error', code: 'bad_json', message: 'not JSON' }); return; }
      if (!hello) {
        if (m.type !== 'hello' || m.token !== token) { send(ws, { type: 'error', code: 'unauthorized', message: 'bad token' }); ws.close(4401, 'unauthorized'); return; }
        hello = m;
        frames.push(m);
        send(ws, { type: 'welcome', protocol: 1, role: m.role, shop: m.shop ?? 'default', agent: m.agent, book: { name: 'mock', version: 'mock', hash: '0' }, limits: { max_frame: 65536, max_text: 2000, rate: { per_sec: 20, burst: 40 } }, sla, server_time: Date.now() });
        return;
      }
      const need = (...f) => { const miss = f.find((k) => m[k] === undefined); if (miss) send(ws, { type: 'error', code: 'missing_field', message: miss, ref: m.id }); return !miss; };
      switch (m.type) {
        case 'ping': send(ws, { type: 'pong' }); break;
        case 'turn': frames.push(m); if (need('conversation', 'id', 'text')) acceptTurn(ws, m, m.role === 'agent' ? 'agent' : 'customer'); break;
        case 'send': if (need('conversation', 'id', 'text')) acceptTurn(ws, m, 'agent'); break;
        case 'watch': watchers.add(ws); send(ws, { type: 'conversations', items: [...convs.values()].map(summary) }); break;
        case 'subscribe': {
          if (!need('conversation')) break;
          const c = conv(m.conversation);
          for (const ev of c.events) if (ev.seq > (m.since ?? 0)) send(ws, ev);
          send(ws, { type: 'subscribed', conversation: c.id, seq: c.seq });
          c.subs.add(ws);
          break;
        }
        case 'unsubscribe': conv(m.conversation).subs.delete(ws); send(ws, { type: 'unsubscribed', conversation: m.conversation }); break;
        case 'draft': if (need('conversation', 'draft', 'text')) send(ws, { type: 'guard', conversation: m.conversation, draft: m.draft, hits: guard(m.text) }); break;
        case 'reveal': {
          if (!need('conversation', 'turn', 'entity')) break;
          const c = conv(m.conversation);
          const v = c.personal.get(`${m.turn}:${m.entity}`);
          if (!c.subs.has(ws)) send(ws, { type: 'error', code: 'forbidden', message: 'subscribe first', ref: m.turn });
          else if (!v) send(ws, { type: 'error', code: 'not_found', message: 'no personal value', ref: m.turn });
          else { reveals.push({ conversation: c.id, turn: m.turn, entity: m.entity, kind: v.kind }); send(ws, { type: 'revealed', conversation: c.id, turn: m.turn, entity: m.entity, kind: v.kind, value: v.value }); }
          break;
        }
        case 'feedback': if (need('conversation', 'suggestion', 'action')) { feedback.push({ conversation: m.conversation, suggestion: m.suggestion, action: m.action }); send(ws, { type: 'noted', conversation: m.conversation, suggestion: m.suggestion }); } break;
        default: send(ws, { type: 'error', code: 'unknown_type', message: String(m.type), ref: m.id });
      }
    });
  });

  return new Promise((resolve) => {
    server.listen(port, host, () => {
      const addr = server.address();
      const base = `http://${host}:${addr.port}`;
      resolve({
        base, token, port: addr.port, feedback, reveals, frames,
        /** Drops every WebSocket connection (a network cut; the state is kept). */
        dropAll: () => { for (const ws of sockets) ws.terminate(); },
        url: `${base}/?token=${token}`,
        close: () => new Promise((r) => {
          for (const ws of sockets) ws.terminate();
          for (const c of convs.values()) for (const t of c.timers) clearTimeout(t);
          wss.close();
          server.close(() => r());
        }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--listen');
  const [host, port] = (i > 0 ? process.argv[i + 1] : '127.0.0.1:0').split(':');
  const m = await startMock({ host, port: Number(port) });
  console.log(`console: ${m.url}`);
}
