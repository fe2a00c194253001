// safety.test.mjs — end-to-end: an urgent conversation in safety mode (real `huashu serve`,
// headless Chromium). Run through run.sh.
// Why its own file: safety mode is a server decision (seed 004) that the console only shows; the
// test plays the demo's "紧急安全问题" customer over several turns and checks, on every turn,
// the kind banner, the kind's first action as suggestion #1 and no compensation, keep-using,
// coupon, promotion or review script — then that using the first action refreshes the list and
// 标记已处理 ends safety mode.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, watch, until, serverInfo } from './lib.mjs';

const { base, token } = serverInfo();
const UNSAFE = ['compensation', 'keep_using', 'coupon', 'promotion', 'review_request'];

let browser, cp, dp, cw, conv;

/** The suggestions as rendered: [{safety, tags, text}], top first. */
function rendered(page) {
  return page.$$eval('#suggestions li.sugg', (lis) => lis.map((li) => ({
    safety: li.dataset.safety, tags: li.dataset.tags.split(' ').filter(Boolean), text: li.querySelector('.sugg-text')?.textContent ?? '',
    title: li.querySelector('.sugg-title')?.textContent ?? '',
  })));
}

/** Waits for the `suggestions` event of customer turn number `n` (1-based) of the conversation. */
function suggestionsOfTurn(n) {
  return until(() => {
    const turnIds = [...new Set(cw.received.filter((m) => m.type === 'analysis' && m.conversation === conv).map((m) => m.turn))];
    const id = turnIds[n - 1];
    return id && cw.received.find((m) => m.type === 'suggestions' && m.conversation === conv && m.turn === id && !m.refresh);
  }, `suggestions of customer turn ${n}`, 10000);
}

async function checkSafetyMode(n) {
  const ev = await suggestionsOfTurn(n);
  assert.equal(ev.items[0]?.safety, 'first_action', `turn ${n}: ${JSON.stringify(ev.items[0])}`);
  await cp.waitForFunction((text) => document.querySelector('#suggestions li.sugg .sugg-text')?.textContent === text, ev.items[0].text, { timeout: 5000 });
  const items = await rendered(cp);
  assert.equal(items[0].safety, 'first_action', `turn ${n}: first rendered suggestion`);
  assert.match(items[0].title, /误食\/窒息/);
  for (const it of items) {
    for (const t of it.tags) assert.ok(!UNSAFE.includes(t), `turn ${n}: unsafe suggestion ${t}: ${it.text}`);
    assert.ok(!/补偿|继续使用|优惠券|好评/.test(it.text), `turn ${n}: ${it.text}`);
  }
  const banner = await cp.textContent('#alerts .alert-safety');
  assert.ok(banner.includes('误食/窒息'), banner);
  assert.ok(banner.includes(`第一步：${ev.items[0].text}`), banner);
  const list = await cp.textContent(`.conv[data-id="${conv}"]`);
  assert.ok(list.includes('误食/窒息'), `conversation list shows the kind: ${list}`);
}

describe('safety mode (real server)', () => {
  before(async () => {
    browser = await launch();
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    cp = await ctx.newPage();
    cw = watch(cp, base, 'console');
    dp = await ctx.newPage();
    await cp.goto(`${base}/?token=${token}`);
    await cp.waitForFunction(() => document.getElementById('conn')?.textContent === '在线', null, { timeout: 15000 });
    await dp.goto(`${base}/demo?token=${token}`);
    await dp.waitForFunction(() => document.getElementById('status').textContent === '顾客端在线', null, { timeout: 10000 });
  });

  after(async () => {
    await browser?.close();
    assert.deepEqual(cw?.problems ?? [], []);
  });

  it('keeps the kind and its first action first on every turn, with nothing unsafe', async () => {
    const prev = await dp.getAttribute('.phone', 'data-conversation');
    await dp.click('[data-sample=urgent]');
    conv = await until(async () => {
      const id = await dp.getAttribute('.phone', 'data-conversation');
      return id && id !== prev ? id : null;
    }, 'the sample conversation');
    const sel = `.conv[data-id="${conv}"]`;
    await cp.waitForSelector(sel, { timeout: 5000 });
    await cp.click(sel);
    await cp.waitForFunction((c) => document.getElementById('transcript').dataset.conv === c, conv);
    // The sample's two turns: the swallowed bead, then "现在孩子一直咳嗽，怎么办" (not urgent by itself).
    await checkSafetyMode(1);
    await checkSafetyMode(2);
    const second = cw.received.filter((m) => m.type === 'analysis' && m.conversation === conv)[1];
    assert.equal(second.urgent_kind, null, 'the second turn is calm by itself');
    assert.equal(second.safety?.kind, 'swallow_choke');
    // A third turn the customer types: still safety mode.
    await dp.fill('#chat-input', '你们这个东西怎么能给小孩玩，我要你们赔钱');
    await dp.press('#chat-input', 'Enter');
    await checkSafetyMode(3);
  });

  it('refreshes the list when the first action is used, and 标记已处理 ends safety mode', async () => {
    await cp.click('#suggestions li.sugg:first-child .sugg-use');
    const refreshed = await until(() => cw.received.find((m) => m.type === 'suggestions' && m.conversation === conv && m.refresh), 'the refreshed list');
    assert.notEqual(refreshed.items[0]?.safety, 'first_action', JSON.stringify(refreshed.items[0]));
    await cp.waitForFunction(() => document.querySelector('#suggestions li.sugg')?.dataset.safety !== 'first_action', null, { timeout: 5000 });
    for (const it of await rendered(cp)) for (const t of it.tags) assert.ok(!UNSAFE.includes(t), t);

    await cp.click('#alerts .safety-resolve');
    await until(() => cw.received.find((m) => m.type === 'resolved' && m.conversation === conv), 'the resolved reply');
    await cp.waitForFunction(() => !document.querySelector('#alerts .alert-safety'), null, { timeout: 5000 });
    const list = await cp.textContent(`.conv[data-id="${conv}"]`);
    assert.ok(!list.includes('误食/窒息'), list);
  });
});
