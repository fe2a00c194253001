// demo.js — the demo shop (`/demo?token=…`): a fake store "话术小店" whose customer chat sends
// turns through the widget SDK, next to the real agent console in an iframe.
//
// The customer window also shows the agent's replies: in a real shop the chat platform delivers
// them; here a second SDK connection (agent role, read-only use) subscribes to the conversation.
// The token stays in memory and in the URLs it was given in (this page's and the iframe's).

import { Huashu, defaultUrl, newId, visitorKey } from '/sdk/huashu.js';

const params = new URLSearchParams(location.search);
const TOKEN = params.get('token');
const SHOP = params.get('shop') || 'default';
const $ = (id) => document.getElementById(id);

/**
 * The demo shop's products: the skus of `phrasebooks/default/catalog_demo.toml`. Every customer
 * turn carries the sku of the product being viewed (as a shop's chat widget opened from a
 * product page would), so FAQ answers and scripts fit that product.
 */
const PRODUCTS = [
  { sku: 'demo-mug', icon: '☕', tab: '马克杯', name: '手绘陶瓷马克杯 · 350ml 礼盒装', price: '59.00', was: '89.00' },
  { sku: 'demo-case', icon: '📱', tab: '手机壳', name: '磨砂防摔手机壳 · iPhone 15 / 15 Pro', price: '39.00', was: '59.00' },
  { sku: 'demo-blocks', icon: '🧱', tab: '积木', name: '大颗粒益智积木 · 120 粒', price: '129.00', was: '169.00' },
  { sku: 'demo-cream', icon: '🧴', tab: '面霜', name: '积雪草修护面霜 · 50g', price: '168.00', was: '218.00' },
];
let product = PRODUCTS[0];

function showProduct(p) {
  product = p;
  $('product-img').textContent = p.icon;
  $('product-name').textContent = p.name;
  $('product-price').replaceChildren(`¥ ${p.price} `, h('s', {}, `¥ ${p.was}`));
  $('product').dataset.sku = p.sku;
  for (const b of document.querySelectorAll('.product-tab')) b.setAttribute('aria-selected', String(b.dataset.sku === p.sku));
}

/** One-click sample customers: each sends a few scripted turns (about `product` when given). */
const SAMPLES = [
  { key: 'angry', label: '愤怒的破损投诉', customer: '王女士', turns: [
    '你们这什么破质量！杯子收到就碎了！',
    '订单号 2023112245678，等了一个星期就收到一堆碎片，气死我了',
    '今天不给我解决，我就去12315投诉你们，再给差评！',
  ] },
  { key: 'late', label: '焦急的快递延误', customer: '李先生', turns: [
    '我的快递怎么还没到？都五天了',
    '顺丰单号 SF1234567890123，明天就要送人了，急死了',
    '能不能帮我催一下，今天能到吗？',
  ] },
  { key: 'refund', label: '理性的退款申请', customer: '陈先生', turns: [
    '你好，我想申请退款。',
    '订单号 2023120198765，杯子颜色和图片不一样，还没拆封，符合七天无理由退货。',
    '请问退货运费谁承担？退款几天到账？',
  ] },
  { key: 'live', label: '直播间观众', customer: '小鱼', turns: [
    '主播刚才说的那款马克杯还有货吗？',
    '直播间的优惠券怎么领？还能再便宜点吗',
    '送人的话有礼盒包装吗？',
  ] },
  { key: 'mug', label: '商品咨询：马克杯', customer: '周女士', product: 'demo-mug', turns: [
    '這個杯子可以用洗碗機洗嗎',
    '那能放微波炉加热吗？',
  ] },
  { key: 'toy', label: '商品咨询：积木', customer: '孙先生', product: 'demo-blocks', turns: [
    '这个积木两岁能玩吗',
    '脏了怎么洗？能用开水烫吗',
  ] },
  { key: 'urgent', label: '紧急安全问题', customer: '赵女士', turns: [
    '急！孩子把杯子礼盒里的小零件吞下去了！',
    '就是盒子里那个装饰小珠子，现在孩子一直咳嗽，怎么办',
  ] },
];

let conversation = null;
let customer = '顾客';
let running = 0; // generation counter: starting a new sample stops the previous script
const bubbles = new Map(); // turn id → <li>

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c);
  return el;
}

function status(kind, text) {
  const el = $('status');
  el.className = `status status-${kind}`;
  el.textContent = text;
}

function bubble(id, role, text, state) {
  let li = bubbles.get(id);
  if (!li) {
    li = h('li', { class: `cmsg cmsg-${role}`, dataset: { turn: id } },
      role === 'agent' ? h('span', { class: 'cavatar' }, '客') : null,
      h('div', { class: 'cbubble' }, text),
      h('span', { class: 'cstate' }));
    bubbles.set(id, li);
    $('chat').append(li);
    $('chat').scrollTop = $('chat').scrollHeight;
  }
  if (state !== undefined) {
    li.dataset.state = state;
    li.querySelector('.cstate').textContent = { sending: '发送中', queued: '等待网络', sent: '已送达', failed: '发送失败' }[state] ?? '';
  }
  return li;
}

/** A walk-in customer without a sample script: "访客4821". */
function visitorName() {
  return `访客${1000 + Math.floor(Math.random() * 9000)}`;
}

function newConversation(name) {
  conversation = newId('demo');
  customer = name;
  bubbles.clear();
  $('chat').replaceChildren(h('li', { class: 'csys' }, `${name} 进入了话术小店的客服会话`));
  $('shop-sub').textContent = `官方旗舰店 · 会话 ${conversation.slice(-6)}`;
  document.querySelector('.phone').dataset.conversation = conversation;
  viewer?.subscribe(conversation);
  // Tell the console (same origin) to open this conversation.
  $('console').contentWindow?.postMessage({ type: 'huashu:select', conversation }, location.origin);
}

async function sendAsCustomer(text) {
  if (!conversation) newConversation(visitorName());
  const id = newId('m');
  bubble(id, 'customer', text, widget.ready ? 'sending' : 'queued');
  try {
    await widget.sendTurn({ conversation, id, role: 'customer', text, customer, product: product.sku });
    bubble(id, 'customer', text, 'sent');
  } catch (err) {
    bubble(id, 'customer', text, 'failed');
    $('chat-foot').textContent = `发送失败：${err.message}`;
  }
}

async function runSample(sample) {
  const gen = ++running;
  for (const b of document.querySelectorAll('.sample')) b.classList.toggle('active', b.dataset.sample === sample.key);
  if (sample.product) showProduct(PRODUCTS.find((p) => p.sku === sample.product) ?? product);
  newConversation(sample.customer);
  for (const [i, text] of sample.turns.entries()) {
    if (gen !== running) return;
    if (i > 0) await new Promise((r) => setTimeout(r, 1400));
    if (gen !== running) return;
    sendAsCustomer(text);
  }
}

let widget = null;
let viewer = null;

function init() {
  $('product-tabs').replaceChildren(...PRODUCTS.map((p) =>
    h('button', { type: 'button', class: 'product-tab', role: 'tab', dataset: { sku: p.sku }, onclick: () => showProduct(p) }, p.tab)));
  showProduct(product);
  $('sample-buttons').replaceChildren(...SAMPLES.map((sp) =>
    h('button', { type: 'button', class: `sample sample-${sp.key}`, dataset: { sample: sp.key }, onclick: () => runSample(sp) }, sp.label)));
  if (!TOKEN) {
    status('down', '缺少 token');
    $('chat-foot').textContent = '请使用 huashu serve 打印的链接，把 “/?token=” 换成 “/demo?token=” 打开本页。';
    return;
  }
  const url = defaultUrl();
  // A shop's public widget token binds the conversations this browser starts to its visitor key.
  widget = new Huashu({ url, token: TOKEN, shop: SHOP, role: 'widget', visitor: visitorKey(), backoff: { initial: 300, max: 8000 } });
  viewer = new Huashu({ url, token: TOKEN, shop: SHOP, agent: 'demo-shop', role: 'agent', backoff: { initial: 300, max: 8000 } });
  widget.on('open', () => { status('up', '顾客端在线'); $('chat-foot').textContent = ''; });
  widget.on('close', ({ willReconnect }) => {
    status(willReconnect ? 'wait' : 'down', willReconnect ? '重连中…' : '已断开');
    if (willReconnect) $('chat-foot').textContent = '网络中断，消息会在恢复后自动补发';
    for (const li of bubbles.values()) if (li.dataset.state === 'sending') li.dataset.state = 'queued';
  });
  viewer.on('guard', (ev) => {
    if (ev.draft || ev.conversation !== conversation || !ev.turn) return;
    bubble(ev.turn, 'agent', ev.text ?? '');
  });
  widget.connect();
  viewer.connect();

  const iframe = $('console');
  iframe.src = `/?token=${encodeURIComponent(TOKEN)}&shop=${encodeURIComponent(SHOP)}&agent=a-1&embed=1`;
  $('chat-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('chat-input');
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    sendAsCustomer(text);
  });
  $('new-chat').addEventListener('click', () => {
    running++;
    for (const b of document.querySelectorAll('.sample')) b.classList.remove('active');
    newConversation(visitorName());
  });
  // The iframe may not be listening yet: select again once it has loaded.
  iframe.addEventListener('load', () => {
    if (conversation) iframe.contentWindow.postMessage({ type: 'huashu:select', conversation }, location.origin);
  });
}

init();
