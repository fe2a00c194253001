// options.js — the extension's settings page: the huashu server and tokens, where the extension
// attaches, the adapter and its selectors, and urgent-turn alerts. Settings live in
// chrome.storage.local (this profile only); the service worker reconnects when they change.

import { DEFAULTS, load } from './lib/settings.js';

const $ = (id) => document.getElementById(id);
const FIELDS = ['url', 'token', 'shop', 'agent', 'turnToken', 'adapter'];
const CHECKS = ['streamTurns', 'sound', 'notify'];

async function fill() {
  const s = await load();
  for (const k of FIELDS) $(k).value = s[k] ?? '';
  for (const k of CHECKS) $(k).checked = Boolean(s[k]);
  $('sites').value = (s.sites ?? []).join('\n');
  for (const k of Object.keys(DEFAULTS.selectors)) $(`sel-${k}`).value = s.selectors[k] ?? '';
  $('origin').textContent = `chrome-extension://${chrome.runtime.id}`;
}

async function save() {
  const out = {};
  for (const k of FIELDS) out[k] = $(k).value.trim();
  for (const k of CHECKS) out[k] = $(k).checked;
  out.sites = $('sites').value.split('\n').map((x) => x.trim()).filter(Boolean);
  out.selectors = {};
  for (const k of Object.keys(DEFAULTS.selectors)) out.selectors[k] = $(`sel-${k}`).value.trim();
  await chrome.storage.local.set(out);
  $('saved').textContent = '已保存';
  setTimeout(() => { $('saved').textContent = ''; refresh(); }, 1200);
}

async function refresh() {
  try {
    const r = await chrome.runtime.sendMessage({ type: 'status?' });
    const word = { open: '已连接', down: '未连接（重连中）', refused: '令牌被拒绝', closed: '已断开', idle: '连接中' };
    $('state').textContent = r.configured
      ? `消息流：${word[r.status.turns] ?? r.status.turns} · 客服连接：${word[r.status.agent] ?? r.status.agent}`
      : '未配置：请填写服务器地址和令牌';
  } catch {
    $('state').textContent = '后台未响应';
  }
}

$('save').addEventListener('click', save);
fill();
refresh();
