// qa.test.mjs — end-to-end: the QA page (质检看板) against the real `huashu serve` started by
// run.sh. Seeds a few conversations over the WebSocket protocol (a widget and an agent with an
// agent id), then checks that the page shows the same figures as `GET /api/analytics`, draws its
// charts, runs the publishing dry run (lint + diff) before publishing with `POST /api/reload`,
// and leaves a screenshot in artifacts/qa.png.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { launch, watch, until, serverInfo, ARTIFACTS, HERE } from './lib.mjs';

// The SDK is a browser ES module outside any package.json: load it from its source.
const sdkSource = fs.readFileSync(path.join(HERE, '../../crates/server/assets/huashu.js'), 'utf8');
const { Huashu } = await import(`data:text/javascript;base64,${Buffer.from(sdkSource).toString('base64')}`);

const { base, token } = serverInfo();
const AGENT = `qa-agent-${Date.now() % 100000}`;
/** An agent whose replies only reach huashu through the widget (`turn` with `agent`). */
const WIDGET_AGENT = `${AGENT}-w`;

/** A protocol client: `send(obj)`, `next(pred)` resolves with the first matching frame. */
async function client(hello) {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws`);
  const frames = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const c = {
    ws,
    frames,
    // Paced under the per-connection rate limit (50 messages/s).
    send: (m) => { ws.send(JSON.stringify(m)); return new Promise((r) => setTimeout(r, 22)); },
    next: (pred, what) => until(() => frames.find(pred), what, 5000, 10),
  };
  c.send({ type: 'hello', token, shop: 'default', ...hello });
  await c.next((m) => m.type === 'welcome', 'welcome');
  return c;
}

async function api(method, p, tok = token) {
  const r = await fetch(`${base}${p}`, { method, headers: { Authorization: `Bearer ${tok}` } });
  return { status: r.status, body: await r.json() };
}

let browser, page, w, widget, agent;

// ---- a week of history (client times in the past), so the page has something to show --------
const DAY = 86400000;
const AGENTS = ['zhang.min', 'li.hua', 'wang.fang'];
const ASKS = ['我的快递怎么还没到？都三天了', '这件衣服有M码吗？', '能便宜点吗，有优惠券吗', '收到的杯子是碎的，怎么处理',
  '我要退货，怎么操作', '地址填错了，能改一下吗', '你们客服怎么这么慢', '再不处理我就去12315投诉你们',
  '什么时候发货', '宝宝用了起红疹了，是不是过敏', '充电器冒烟了！', '颜色和图片差太多了，我要换货'];
const VAGUE = ['嗯嗯', '那个呢', '在不在'];
const REPLIES = ['亲，非常抱歉让您久等了，我马上为您查询物流进度。', '您好，M码有现货的，建议您参考详情页的尺码表。',
  '亲，目前店铺有满199减20的优惠券，可以在领券中心领取哦。', '非常抱歉给您带来不好的体验，麻烦您拍一下照片，我们马上为您处理。',
  '好的亲，已经为您登记，稍后会有专人联系您。'];
const BAD = ['催什么催，我都说了几遍了', '这个跟我们没关系，是快递的问题', '你去告啊', '不知道，你问快递吧'];

function prng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function seedHistory() {
  const rand = prng(7);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const agents = await Promise.all(AGENTS.map((a) => client({ role: 'agent', agent: a })));
  const now = Date.now();
  let n = 0;
  for (let d = 6; d >= 0; d -= 1) {
    for (let ai = 0; ai < AGENTS.length; ai += 1) {
      const ag = agents[ai];
      const convs = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < convs; k += 1) {
        n += 1;
        const c = `hist-${process.pid}-${n}`;
        let t = now - d * DAY - (ai * 4 + k) * 41 * 60000 - 60000;
        await ag.send({ type: 'subscribe', conversation: c, since: 0 });
        for (let round = 0; round < (rand() < 0.5 ? 2 : 1); round += 1) {
          const id = `c${round}`;
          await widget.send({ type: 'turn', conversation: c, id, role: 'customer', text: rand() < 0.12 ? pick(VAGUE) : pick(ASKS), at: Math.round(t) });
          const s = await ag.next((m) => m.type === 'suggestions' && m.conversation === c && m.turn === id, `suggestions ${c}`);
          const r = rand();
          if (s.items[0]) await ag.send({ type: 'feedback', conversation: c, suggestion: s.items[0].id, action: r < 0.55 ? 'used' : r < 0.75 ? 'edited' : 'dismissed' });
          if (s.items[1] && rand() < 0.3) await ag.send({ type: 'feedback', conversation: c, suggestion: s.items[1].id, action: 'dismissed' });
          if (rand() < 0.15) await ag.send({ type: 'draft', conversation: c, draft: `d${round}`, text: pick(BAD) });
          const slow = rand() < 0.15;
          t += slow ? 35000 + rand() * 60000 : 3000 + rand() * (ai === 2 ? 20000 : 9000);
          const bad = rand() < (ai === 1 ? 0.2 : 0.06);
          await ag.send({ type: 'send', conversation: c, id: `a${round}`, text: bad ? pick(BAD) : pick(REPLIES), at: Math.round(t) });
          await ag.next((m) => m.type === 'ack' && m.conversation === c && m.id === `a${round}`, `ack ${c}`);
          t += 40000 + rand() * 60000;
        }
        await ag.send({ type: 'unsubscribe', conversation: c });
      }
    }
  }
  for (const a of agents) a.ws.close();
}
const conv = (n) => `qa-${process.pid}-${n}`;

async function customer(c, id, text) {
  widget.send({ type: 'turn', conversation: c, id, role: 'customer', text });
  await widget.next((m) => m.type === 'ack' && m.id === id, `ack ${id}`);
}

/** An agent turn reported by the widget, with the agent id when given. */
async function widgetAgentTurn(c, id, text, agentId) {
  widget.send({ type: 'turn', conversation: c, id, role: 'agent', text, ...(agentId ? { agent: agentId } : {}) });
  await widget.next((m) => m.type === 'ack' && m.id === id, `ack ${id}`);
}

async function agentSends(c, id, text) {
  agent.send({ type: 'send', conversation: c, id, text });
  await agent.next((m) => m.type === 'ack' && m.id === id, `ack ${id}`);
}

describe('QA page (real server)', () => {
  before(async () => {
    widget = await client({ role: 'widget' });
    agent = await client({ role: 'agent', agent: AGENT });

    // Conversation 1: a late parcel; the agent uses a suggestion, has a provoking draft caught,
    // and sends a clean rewrite instead.
    agent.send({ type: 'subscribe', conversation: conv(1), since: 0 });
    await agent.next((m) => m.type === 'subscribed' && m.conversation === conv(1), 'subscribed');
    await customer(conv(1), 'm1', '我的快递三天了还没到，订单号2023112245678，电话13812345678');
    const sugg = await agent.next((m) => m.type === 'suggestions' && m.conversation === conv(1), 'suggestions');
    assert.ok(sugg.items.length > 0, 'the default book suggests something');
    agent.send({ type: 'feedback', conversation: conv(1), suggestion: sugg.items[0].id, action: 'used' });
    await agent.next((m) => m.type === 'noted', 'noted');
    agent.send({ type: 'draft', conversation: conv(1), draft: 'd1', text: '你去告啊' });
    const guard = await agent.next((m) => m.type === 'guard' && m.draft === 'd1', 'draft guard');
    assert.ok(guard.hits.length > 0, 'the draft is flagged');
    await agentSends(conv(1), 'm2', '非常抱歉让您久等了，我马上为您查询物流进度。');

    // Conversation 2: an urgent safety case answered, then a sent forbidden phrase.
    await customer(conv(2), 'n1', '孩子把零件误吞了，怎么办！');
    await agentSends(conv(2), 'n2', '催什么催，我都说几遍了');
    // Conversation 3: something the book does not understand, answered through the widget SDK
    // by an agent it names (`sendTurn` passes `agent` through).
    await customer(conv(3), 'k1', '嗯嗯');
    const sdk = new Huashu({ url: `${base.replace(/^http/, 'ws')}/ws`, token, shop: 'default', role: 'widget', WebSocket });
    sdk.connect();
    const ack = await sdk.sendTurn({ conversation: conv(3), id: 'k2', role: 'agent', text: '亲，请问有什么可以帮您？', agent: WIDGET_AGENT });
    assert.equal(ack.id, 'k2');
    sdk.close();
    // Conversation 4: a widget agent turn without an agent id and no other trace: unattributed.
    await customer(conv(4), 'j1', '在吗');
    await widgetAgentTurn(conv(4), 'j2', '在的亲');
    await seedHistory();

    browser = await launch();
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    page = await ctx.newPage();
    w = watch(page, base, 'qa');
  });

  after(async () => {
    widget?.ws.close();
    agent?.ws.close();
    await browser?.close();
  });

  it('the API gives the seeded figures and refuses agent-only access', async () => {
    const { status, body: a } = await api('GET', '/api/analytics?shop=default');
    assert.equal(status, 200);
    const mine = a.by_agent.find((r) => r.agent === AGENT);
    assert.ok(mine, `agent ${AGENT} has a row: ${JSON.stringify(a.by_agent.map((r) => r.agent))}`);
    // Turns are stored with their agent: both `send`s of conversations 1 and 2 are AGENT's (2 has
    // no feedback or draft), the widget's k2 is WIDGET_AGENT's; j2 (no id, no trace) lands in the
    // unattributed row ("").
    assert.ok(mine.turns >= 2, `agent turns: ${mine.turns}`);
    assert.ok(mine.hits.impatience?.sent >= 1, `conversation 2 is AGENT's: ${JSON.stringify(mine.hits)}`);
    const viaWidget = a.by_agent.find((r) => r.agent === WIDGET_AGENT);
    assert.equal(viaWidget?.turns, 1, `widget agent row: ${JSON.stringify(viaWidget)}`);
    assert.ok(a.by_agent.some((r) => r.agent === '' && r.turns >= 1), 'unattributed row');
    assert.ok(mine.hits.provoke?.drafted >= 1 && mine.hits.provoke?.rewritten >= 1, JSON.stringify(mine.hits));
    assert.ok(a.total.hits.impatience?.sent >= 1, JSON.stringify(a.total.hits));
    assert.ok(a.scripts.some((s) => s.used >= 1), 'a used script');
    assert.equal(a.book.hash.length > 0, true);
    assert.ok(a.books.some((b) => b.hash === a.book.hash), 'events carry the current book hash');
    // Stored texts are masked.
    assert.ok(!JSON.stringify(a).includes('13812345678'), 'phone number masked');
    assert.equal((await api('GET', '/api/analytics', 'wrong-token')).status, 401);
  });

  it('shows KPIs, charts and tables that match the API', async () => {
    await page.goto(`${base}/qa?token=${token}`);
    await page.waitForFunction(() => document.body.dataset.loaded, null, { timeout: 10000 });
    const { body: a } = await api('GET', `/api/analytics?shop=default`);
    const kpi = (k) => page.textContent(`[data-kpi="${k}"] .kpi-value`);
    assert.equal((await kpi('turns')).replace(/,/g, ''), String(a.total.turns));
    assert.match(await kpi('compliance'), /%$/);
    assert.ok(await page.$(`#agents tr[data-agent="${AGENT}"]`), 'agent row');
    assert.ok((await page.$$('#chart-days svg rect')).length >= 1, 'day bars');
    assert.ok((await page.$$('#chart-hits svg rect')).length >= 3, 'hit bars');
    assert.ok((await page.$$('#chart-intents svg rect')).length >= 1, 'intent bars');
    assert.ok((await page.$$('#scripts tbody tr[data-script]')).length >= 1, 'script rows');
    assert.match(await page.textContent('#book-meta'), new RegExp(a.book.hash));
    assert.match(await page.textContent('#urgent-summary'), /已回复|没有紧急/);
    assert.doesNotMatch(await page.textContent('body'), /13812345678/);
  });

  it('publishing first shows lint and the diff summary, then reloads', async () => {
    await page.click('#check');
    await page.waitForSelector('#check-verdict', { timeout: 20000 });
    const verdict = await page.textContent('#check-verdict');
    await page.screenshot({ path: path.join(ARTIFACTS, 'qa.png'), fullPage: true });
    const { body: c } = await api('POST', '/api/book/check');
    assert.ok(c.hash && c.current?.hash, JSON.stringify(c).slice(0, 300));
    assert.equal(await page.getAttribute('[data-candidate]', 'data-candidate'), c.hash);
    if (!c.ok) {
      // The shipped book is being edited by someone else: publishing must stay blocked.
      assert.match(verdict, /不能发布/);
      assert.ok(await page.isDisabled('#publish-btn'));
      return;
    }
    assert.match(verdict, /检查通过/);
    assert.ok(await page.$('#eval-deltas'), 'eval deltas shown side by side');
    assert.ok(await page.$('#diff-summary'), 'diff summary shown');
    assert.ok(!(await page.isDisabled('#publish-btn')), 'publish enabled after a clean check');
    await page.click('#publish-btn');
    await page.waitForSelector('#published', { timeout: 20000 });
    assert.match(await page.textContent('#published'), new RegExp(c.hash));
    assert.deepEqual(w.problems, []);
    assert.deepEqual(w.external, []);
  });

  it('without a token the page says how to open it', async () => {
    const p = await browser.newPage();
    await p.goto(`${base}/qa`);
    assert.ok(await p.isVisible('#no-token'));
    await p.close();
  });
});
