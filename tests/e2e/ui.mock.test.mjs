// ui.mock.test.mjs — isolated checks of the SDK and of console behaviour that the real server's
// phrasebook should not decide (offset conversion around emoji, block gating and override,
// dismiss feedback, a refused token), against mock-server.mjs. Self-contained: starts its own mock.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import WebSocket from 'ws';
import { startMock } from './mock-server.mjs';
import { launch, watch, until, HERE } from './lib.mjs';

// The SDK is a browser ES module outside any package.json: load it from its source.
const sdkSource = fs.readFileSync(path.join(HERE, '../../crates/server/assets/huashu.js'), 'utf8');
const { Huashu, visitorKey } = await import(`data:text/javascript;base64,${Buffer.from(sdkSource).toString('base64')}`);

describe('SDK (node, against the mock)', () => {
  let mock;
  before(async () => { mock = await startMock(); });
  after(async () => { await mock.close(); });

  const client = (extra = {}) => new Huashu({ url: `ws://127.0.0.1:${mock.port}/ws`, token: mock.token, role: 'widget', WebSocket, backoff: { initial: 20, max: 100 }, ...extra });

  it('queues turns before connecting, generates ids, resolves with the ack', async () => {
    const hs = client();
    const p = hs.sendTurn({ conversation: 'sdk-1', role: 'customer', text: '你好' });
    assert.equal(hs.pending, 1);
    hs.connect();
    const ack = await p;
    assert.equal(ack.type, 'ack');
    assert.equal(ack.conversation, 'sdk-1');
    assert.match(ack.id, /^m-/);
    assert.equal(hs.pending, 0);
    hs.close();
  });

  it('sends the visitor key in hello only and the conversation signature with its turns', async () => {
    const store = new Map();
    const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
    const visitor = visitorKey(storage);
    assert.match(visitor, /^[0-9a-f]{32}$/);
    assert.equal(visitorKey(storage), visitor, 'kept for a returning visitor');
    const hs = client({ visitor, conversation: 'sig-1', sig: 'ab'.repeat(32) });
    assert.ok(!JSON.stringify(hs).includes(visitor), 'not an enumerable property');
    hs.connect();
    await hs.sendTurn({ role: 'customer', text: '你好' });
    await hs.sendTurn({ conversation: 'sig-2', sig: 'cd'.repeat(32), role: 'customer', text: '在吗' });
    await hs.sendTurn({ conversation: 'sig-3', role: 'customer', text: '没签名' });
    hs.close();
    const hello = mock.frames.filter((f) => f.type === 'hello' && f.visitor === visitor);
    assert.equal(hello.length, 1);
    const turns = mock.frames.filter((f) => f.type === 'turn' && f.conversation.startsWith('sig-'));
    assert.deepEqual(turns.map((t) => [t.conversation, t.sig]), [['sig-1', 'ab'.repeat(32)], ['sig-2', 'cd'.repeat(32)], ['sig-3', undefined]]);
    assert.ok(turns.every((t) => !JSON.stringify(t).includes(visitor)), 'the key travels in hello only');
  });

  it('re-sends the outbox after a dropped connection; a re-sent id gets the same seq', async () => {
    const hs = client();
    const closes = [];
    hs.on('close', (e) => closes.push(e));
    hs.connect();
    const first = await hs.sendTurn({ conversation: 'sdk-2', id: 'm-1', role: 'customer', text: '快递到哪了' });
    // Drop every socket from the server side while a turn is queued.
    await until(() => hs.ready, 'ready');
    mock.dropAll();
    const again = hs.sendTurn({ conversation: 'sdk-2', id: 'm-1', role: 'customer', text: '快递到哪了' });
    const next = hs.sendTurn({ conversation: 'sdk-2', id: 'm-2', role: 'customer', text: '还没到' });
    const [a, b] = await Promise.all([again, next]);
    assert.equal(a.seq, first.seq);
    assert.equal(a.duplicate, true);
    assert.ok(b.seq > first.seq);
    assert.ok(closes.length >= 1 && closes[0].willReconnect);
    hs.close();
  });

  it('resumes a subscription with since = last seq and never repeats an event', async () => {
    const agent = client({ role: 'agent', agent: 'a-1' });
    const seen = [];
    agent.on('analysis', (ev) => seen.push(ev.seq));
    agent.connect();
    agent.subscribe('sdk-3');
    const widget = client();
    widget.connect();
    await widget.sendTurn({ conversation: 'sdk-3', role: 'customer', text: '在吗' });
    await until(() => seen.length === 1, 'first analysis');
    mock.dropAll();
    await widget.sendTurn({ conversation: 'sdk-3', role: 'customer', text: '人呢' });
    await until(() => seen.length === 2, 'second analysis after the resume');
    assert.equal(new Set(seen).size, seen.length);
    assert.ok(agent.lastSeq('sdk-3') >= seen[1]);
    agent.close();
    widget.close();
  });

  it('backs off exponentially with jitter while the server is unreachable, capped at max', async () => {
    // A port nobody listens on: every attempt fails at once, so only the backoff paces them.
    const dead = await new Promise((resolve) => { const srv = net.createServer().listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)); }); });
    const hs = new Huashu({ url: `ws://127.0.0.1:${dead}/ws`, token: 't', WebSocket, backoff: { initial: 20, max: 120, factor: 2 } });
    hs.on('error', () => {});
    const closes = [];
    hs.on('close', (e) => closes.push(e));
    hs.connect();
    await until(() => closes.length >= 6, 'six failed attempts', 5000);
    hs.close();
    closes.slice(0, 6).forEach((e, i) => {
      const ceiling = Math.min(120, 20 * 2 ** i);
      assert.ok(e.willReconnect, `attempt ${i + 1} reconnects`);
      assert.equal(e.attempt, i + 1);
      assert.ok(e.delay >= ceiling / 2 - 1 && e.delay <= ceiling + 1, `attempt ${i + 1}: delay ${e.delay} outside [${ceiling / 2}, ${ceiling}]`);
    });
  });

  it('stops reconnecting when the token is refused', async () => {
    const hs = new Huashu({ url: `ws://127.0.0.1:${mock.port}/ws`, token: 'wrong', WebSocket, backoff: { initial: 10, max: 20 } });
    const closes = [];
    hs.on('close', (e) => closes.push(e));
    hs.connect();
    await until(() => closes.length === 1, 'close');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(closes.length, 1);
    assert.equal(closes[0].code, 4401);
    assert.equal(closes[0].willReconnect, false);
    assert.equal(hs.state, 'closed');
  });
});

describe('console UI (browser, against the mock)', () => {
  let mock, browser, page, w, widget;
  before(async () => {
    mock = await startMock();
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    w = watch(page, mock.base, 'console(mock)');
    widget = new Huashu({ url: `ws://127.0.0.1:${mock.port}/ws`, token: mock.token, WebSocket });
    widget.connect();
    await widget.sendTurn({ conversation: 'ui-1', role: 'customer', text: '杯子碎了，气死我了', customer: '周女士' });
    await page.goto(`${mock.url}&conversation=ui-1`);
    await page.waitForSelector('#suggestions .sugg');
  });
  after(async () => {
    widget?.close();
    await browser?.close();
    await mock?.close();
  });

  it('maps code-point spans onto UTF-16 text around emoji (astral characters)', async () => {
    await page.fill('#reply', '😀😀好的👍🏻你 去.告-啊😡');
    const mark = await page.waitForSelector('#mirror mark.sev-block');
    assert.equal(await mark.textContent(), '你 去.告-啊');
    await page.click('.hit-block .btn-rewrite');
    const value = await page.inputValue('#reply');
    assert.ok(value.startsWith('😀😀好的👍🏻非常抱歉'), value);
    assert.ok(value.endsWith('😡'), value);
  });

  it('hides a highlight as soon as the text under it changes (no misplaced marks)', async () => {
    await page.fill('#reply', '你去告啊');
    await page.waitForSelector('#mirror mark.sev-block');
    await page.focus('#reply');
    await page.keyboard.press('Home');
    await page.keyboard.type('哈');
    // Immediately after the keystroke the old span no longer matches: no mark until re-checked…
    const marks = await page.$$eval('#mirror mark', (ms) => ms.map((m) => m.textContent));
    assert.ok(marks.every((t) => t === '你去告啊'), `misplaced mark: ${marks}`);
    // …and the re-check puts it back at the right place.
    await page.waitForFunction(() => document.querySelector('#mirror mark.sev-block')?.textContent === '你去告啊');
  });

  it('block hits disable sending; the explicit override sends anyway', async () => {
    await page.fill('#reply', '你去告啊');
    await page.waitForSelector('#mirror mark.sev-block');
    assert.ok(await page.isDisabled('#send'));
    await page.press('#reply', 'Enter');
    assert.equal(await page.inputValue('#reply'), '你去告啊', 'Enter must not send a blocked reply');
    await page.check('#override');
    assert.ok(!(await page.isDisabled('#send')));
    assert.equal((await page.textContent('#send')).trim(), '仍然发送');
    await page.click('#send');
    await page.waitForSelector('#transcript .msg-agent:not(.pending) mark.sev-block');
    assert.equal(await page.inputValue('#reply'), '');
  });

  it('dismissing a suggestion hides it and sends `dismissed`', async () => {
    await widget.sendTurn({ conversation: 'ui-1', id: 'm-dismiss', role: 'customer', text: '到底怎么处理？' });
    // The list of *this* turn (the previous turn's suggestions are on screen until it arrives).
    await page.waitForFunction(() => document.getElementById('suggestions').dataset.turn === 'm-dismiss'
      && document.querySelectorAll('#suggestions .sugg').length >= 3);
    const id = await page.getAttribute('#suggestions .sugg:first-child', 'data-id');
    await page.click('#suggestions .sugg:first-child .sugg-dismiss');
    await until(() => mock.feedback.find((f) => f.suggestion === id && f.action === 'dismissed'), 'dismissed feedback');
    assert.equal(await page.$(`#suggestions .sugg[data-id="${id}"]`), null);
  });

  it('shows the SLA countdown and the waiting timer', async () => {
    await widget.sendTurn({ conversation: 'ui-2', role: 'customer', text: '在吗？', at: Date.now() - 12000, customer: '吴先生' });
    await page.click('.conv[data-id="ui-2"]');
    await page.waitForFunction(() => /超时预警 · 还剩 1\d 秒/.test(document.getElementById('sla-label').textContent));
    assert.match(await page.textContent('.conv[data-id="ui-2"] .wait'), /1\d秒/);
  });

  it('a refused token shows a clear banner and does not loop', async () => {
    const p2 = await browser.newPage();
    await p2.goto(`${mock.base}/?token=nope`);
    await p2.waitForSelector('#offline:not([hidden])');
    assert.match(await p2.textContent('#offline'), /令牌无效/);
    assert.equal(await p2.textContent('#conn'), '未授权');
    await p2.close();
  });

  it('where hits overlap, the strongest is highlighted and every hit stays listed', async () => {
    // dismissive.whatever (warn) covers 随便你去, provoke.go_sue (block) 你去告啊: they share 你去.
    await page.fill('#reply', '随便你去告啊');
    await page.waitForFunction(() => document.querySelectorAll('#hits .hit').length === 2);
    const marks = await page.$$eval('#mirror mark', (ms) => ms.map((m) => [m.className, m.textContent]));
    assert.deepEqual(marks, [['sev-block', '你去告啊']], 'the block hit, not the earlier warn, is painted');
    const listed = await page.$$eval('#hits .hit', (hs) => hs.map((x) => x.dataset.rule));
    assert.deepEqual(listed, ['provoke.go_sue', 'dismissive.whatever'], 'strongest first, the other still listed');
    // Sent anyway: the transcript bubble paints the same (one function decides both).
    await page.check('#override');
    await page.click('#send');
    await page.waitForFunction(() => [...document.querySelectorAll('#transcript .msg-agent:not(.pending)')].some((li) => li.textContent.includes('随便你去告啊')));
    const sent = await page.$$eval('#transcript .msg-agent:not(.pending)', (lis) => [...lis.at(-1).querySelectorAll('mark')].map((m) => [m.className, m.textContent]));
    assert.deepEqual(sent, [['sev-block', '你去告啊']]);
  });

  it('personal values arrive masked; 查看 reveals one (recorded), 复制 and 隐藏 work', async () => {
    await widget.sendTurn({ conversation: 'ui-3', role: 'customer', text: '地址改成杭州市西湖区文三路88号，电话13812345678', customer: '钱女士' });
    await page.click('.conv[data-id="ui-3"]');
    const chip = await page.waitForSelector('.chip-address');
    assert.ok(!(await page.textContent('body')).includes('文三路88号'), 'masked everywhere before the reveal');
    assert.match(await chip.textContent(), /地址\s*杭\*+/);
    await page.click('.chip-address .chip-act');
    await page.waitForSelector('.chip-address.is-revealed');
    assert.match(await page.textContent('.chip-address .chip-v'), /^杭州市西湖区文三路88号$/);
    assert.deepEqual(mock.reveals.map((r) => [r.conversation, r.kind]), [['ui-3', 'address']]);
    const sentReveal = w.sent.find((m) => m.type === 'reveal');
    assert.deepEqual(Object.keys(sentReveal).sort(), ['conversation', 'entity', 'turn', 'type']);
    // Only the other (phone) chip is still masked; 隐藏 masks the address again.
    assert.match(await page.textContent('.chip-phone .chip-v'), /^138\*{4}5678$/);
    await page.click('.chip-address .chip-act:last-child');
    await page.waitForSelector('.chip-address:not(.is-revealed)');
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.ok(!stored.includes('文三路'), 'a revealed value is never written to storage');
  });

  it('a token rotated by a restart stops the timers, greys the composer and takes a new token', async () => {
    await widget.sendTurn({ conversation: 'ui-4', role: 'customer', text: '在吗？', customer: '孙先生' });
    await page.click('.conv[data-id="ui-4"]');
    await page.waitForSelector('#sla:not([hidden])');
    w.allowNetworkErrors = true;
    const port = mock.port;
    await mock.close();
    mock = await startMock({ port, token: 'rotated-token' });
    await page.waitForSelector('#reauth:not([hidden])', { timeout: 10000 });
    assert.match(await page.textContent('#offline'), /令牌无效或已过期/);
    assert.ok(await page.isDisabled('#reply'), 'the composer is greyed');
    assert.ok(await page.isDisabled('#send'));
    assert.ok(await page.isHidden('#sla'), 'no SLA countdown on a page that no longer sees the chat');
    const wait1 = await page.textContent('.conv[data-id="ui-4"] .wait');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await page.textContent('.conv[data-id="ui-4"] .wait'), wait1, 'the waiting timer stopped');
    assert.equal(wait1, '—');
    // Paste the new token: the page opens again with it and is back online.
    await page.fill('#new-token', 'rotated-token');
    await page.click('#reauth button[type=submit]');
    await page.waitForFunction(() => document.getElementById('conn').textContent === '在线', null, { timeout: 10000 });
    assert.equal(new URL(page.url()).searchParams.get('token'), 'rotated-token');
    assert.ok(!(await page.isDisabled('#reply')));
    w.allowNetworkErrors = false;
  });

  it('no console errors, nothing from outside', () => {
    assert.deepEqual(w.problems, []);
    assert.deepEqual(w.external, []);
  });
});
