// console.test.mjs — end-to-end: the demo shop's widget (SDK) → the real `huashu serve` → the
// agent console, in headless Chromium. Run through run.sh, which starts the server and exports
// HUASHU_BASE / HUASHU_TOKEN / HUASHU_PID_FILE / HUASHU_SERVE_ARGS. The tests share one browser
// and run in order: each builds on the conversations the previous ones created.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launch, watch, until, serverInfo, killServer, startServerAgain, dbQuery, metric, ARTIFACTS, HERE } from './lib.mjs';

const { base, token } = serverInfo();
const APOLOGY = /抱歉|歉意|对不起|不好意思/;

let browser, ctx, cp, dp, cw, dw;
const watchers = [];
const convs = {};

async function onlineConsole(page) {
  await page.waitForFunction(() => document.getElementById('conn')?.textContent === '在线', null, { timeout: 15000 });
}

/** Starts a fresh conversation in the demo shop; returns its id. */
async function newDemoConversation() {
  const before = await dp.getAttribute('.phone', 'data-conversation');
  await dp.click('#new-chat');
  return until(async () => {
    const id = await dp.getAttribute('.phone', 'data-conversation');
    return id && id !== before ? id : null;
  }, 'a new demo conversation');
}

/** Types a customer message in the demo shop; resolves once the widget has it acked (or queued). */
async function customerSays(text, { waitAck = true } = {}) {
  await dp.fill('#chat-input', text);
  await dp.press('#chat-input', 'Enter');
  if (!waitAck) return;
  await dp.waitForFunction((t) => [...document.querySelectorAll('.cmsg-customer')]
    .some((li) => li.textContent.includes(t) && li.dataset.state === 'sent'), text, { timeout: 5000 });
}

async function selectInConsole(conversation) {
  const sel = `.conv[data-id="${conversation}"]`;
  await cp.waitForSelector(sel, { timeout: 5000 });
  await cp.click(sel);
  await cp.waitForFunction((c) => document.getElementById('transcript').dataset.conv === c, conversation);
}

/** Turn ids of the console transcript, in order. */
function transcriptTurns(page) {
  return page.$$eval('#transcript .msg', (lis) => lis.map((li) => li.dataset.turn));
}

describe('huashu console end to end (real server)', () => {
  before(async () => {
    browser = await launch();
    ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    cp = await ctx.newPage();
    cw = watch(cp, base, 'console');
    dp = await ctx.newPage();
    dw = watch(dp, base, 'demo');
    watchers.push(cw, dw);
    await cp.goto(`${base}/?token=${token}`);
    await onlineConsole(cp);
    await dp.goto(`${base}/demo?token=${token}`);
    await dp.waitForFunction(() => document.getElementById('status').textContent === '顾客端在线', null, { timeout: 10000 });
  });

  after(async () => {
    await browser?.close();
  });

  it('angry complaint → 愤怒 + intent badges and an apology-first suggestion within 1 s', async (t) => {
    convs.angry = await newDemoConversation();
    await customerSays('你好，在吗？');
    await selectInConsole(convs.angry);
    await cp.waitForSelector('#transcript .msg-customer');

    const text = '你们这什么破质量！杯子收到就碎了，气死我了！';
    await dp.fill('#chat-input', text);
    const t0 = Date.now();
    await dp.press('#chat-input', 'Enter');
    await cp.waitForFunction((t) => {
      const li = [...document.querySelectorAll('#transcript .msg-customer')].find((x) => x.textContent.includes(t));
      return li && li.querySelector('.emo-anger') && document.querySelectorAll('#suggestions .sugg').length >= 3;
    }, text.slice(0, 8), { timeout: 3000, polling: 10 });
    const elapsed = Date.now() - t0;
    t.diagnostic(`customer Enter → anger badge + suggestions on the console: ${elapsed} ms`);
    assert.ok(elapsed <= 1000, `analysis + suggestions took ${elapsed} ms`);

    const badge = await cp.textContent('#transcript .msg-customer:last-child .emo-anger');
    assert.match(badge, /愤怒/);
    const suggestions = await cp.$$eval('#suggestions .sugg', (lis) => lis.map((li) => ({ text: li.querySelector('.sugg-text').textContent, stage: li.dataset.stage, tags: (li.dataset.tags || '').split(' ') })));
    assert.ok(suggestions.length >= 3 && suggestions.length <= 5, `got ${suggestions.length} suggestions`);
    // Complaint handling is 倾听→道歉→解决→跟进: soothing comes first, and a suggestion that opens
    // with an apology is among the top two (one keystroke: Alt+1 or Alt+2).
    assert.equal(suggestions[0].stage, 'soothe', `first suggestion should soothe: ${JSON.stringify(suggestions[0])}`);
    const apology = suggestions.findIndex((sg) => APOLOGY.test(sg.text.slice(0, 12)));
    assert.ok(apology >= 0 && apology <= 1, `no apology-first suggestion in the top two: ${JSON.stringify(suggestions)}`);
    const firstSolve = suggestions.findIndex((sg) => sg.stage === 'solve');
    assert.ok(firstSolve === -1 || firstSolve > apology, 'the apology comes before any solution');
    // The turn carries its intent badge.
    assert.ok(await cp.$('#transcript .msg-customer:last-child .intent-quality_issue'), 'quality_issue intent badge');
    // The list shows the conversation with its risk badges.
    assert.match(await cp.textContent(`.conv[data-id="${convs.angry}"]`), /愤怒/);
  });

  it('typing "你 去 告 啊" highlights the span in place; one click rewrites it', async () => {
    // An emoji before the span: server offsets are code points, the textarea counts UTF-16 units.
    await cp.fill('#reply', '好的😊');
    await cp.press('#reply', 'End');
    const d0 = cw.sent.length;
    await cp.locator('#reply').pressSequentially('你 去 告 啊', { delay: 30 });
    const mark = await cp.waitForSelector('#mirror mark.sev-block', { timeout: 2000 });
    assert.equal(await mark.textContent(), '你 去 告 啊');
    // Checked live but debounced: fewer `draft` frames than keystrokes, the last one the full text.
    const drafts = cw.sent.slice(d0).filter((m) => m.type === 'draft');
    assert.ok(drafts.length >= 1 && drafts.length < 7, `${drafts.length} draft frames for 7 keystrokes`);
    assert.equal(drafts.at(-1).text, '好的😊你 去 告 啊');
    assert.ok(await cp.isDisabled('#send'), 'send must be disabled while a block hit is present');
    assert.ok(await cp.isVisible('#override-wrap'), 'an explicit override is offered');
    const rewrite = await cp.textContent('.hit-block .hit-rewrite');

    await cp.click('.hit-block .btn-rewrite');
    const value = await cp.inputValue('#reply');
    assert.ok(value.startsWith('好的😊'), `prefix kept: ${value}`);
    assert.ok(!/告/.test(value), `span replaced: ${value}`);
    assert.ok(value.includes(rewrite.replace(/^建议：/, '')), 'the rule rewrite was inserted');
    await cp.waitForFunction(() => !document.querySelector('#mirror mark.sev-block') && !document.getElementById('send').disabled, null, { timeout: 2000 });
    await cp.fill('#reply', '');
  });

  it('a suggestion click fills the reply box and its feedback is stored; edits send "edited", × dismisses', async () => {
    const stored0 = await metric('huashu_feedback_total');
    const first = await cp.waitForSelector('#suggestions .sugg');
    const id = await first.getAttribute('data-id');
    const text = await cp.textContent('#suggestions .sugg:first-child .sugg-text');
    await cp.click('#suggestions .sugg:first-child .sugg-use');
    assert.equal(await cp.inputValue('#reply'), text);
    await until(() => cw.sent.find((m) => m.type === 'feedback' && m.suggestion === id && m.action === 'used'), 'feedback used sent');
    await until(() => cw.received.find((m) => m.type === 'noted' && m.suggestion === id), 'noted reply');

    // Alt+2 replaces it with the second suggestion (keyboard path).
    const second = await cp.getAttribute('#suggestions .sugg:nth-child(2)', 'data-id');
    await cp.keyboard.press('Alt+Digit2');
    await until(() => cw.sent.find((m) => m.type === 'feedback' && m.suggestion === second && m.action === 'used'), 'Alt+2 feedback');

    // Edit before sending → `edited`, then the reply goes out through the protocol (`send`).
    await cp.focus('#reply');
    await cp.keyboard.press('End');
    await cp.keyboard.type('我马上为您处理。');
    const reply = await cp.inputValue('#reply');
    await cp.waitForFunction(() => !document.getElementById('send').disabled);
    await cp.click('#send');
    await until(() => cw.sent.find((m) => m.type === 'feedback' && m.suggestion === second && m.action === 'edited'), 'feedback edited sent');
    await until(() => cw.received.find((m) => m.type === 'noted' && m.suggestion === second), 'noted for edited');
    const sent = await until(() => cw.sent.find((m) => m.type === 'send' && m.text === reply), 'send message');
    await until(() => cw.received.find((m) => m.type === 'ack' && m.id === sent.id), 'ack of the agent reply');
    await cp.waitForSelector(`#transcript .msg-agent[data-turn="${sent.id}"]:not(.pending)`);

    // The customer threatens 12315 and asks for a manager: both alerts, and the list badge.
    await customerSays('叫你们主管来处理，不然我就打12315投诉你们');
    await cp.waitForSelector('#alerts .alert-threat', { timeout: 2000 });
    await cp.waitForSelector('#alerts .alert-escalate', { timeout: 2000 });
    await cp.waitForSelector(`.conv[data-id="${convs.angry}"] .badge-threat`, { timeout: 2000 });

    // × on a suggestion of that turn hides it and records `dismissed`.
    await cp.waitForFunction((t) => {
      const li = [...document.querySelectorAll('#transcript .msg-customer')].find((x) => x.textContent.includes(t));
      return li && document.getElementById('suggestions').dataset.turn === li.dataset.turn && document.querySelectorAll('#suggestions .sugg').length >= 3;
    }, '主管来处理', { timeout: 3000 });
    const shown = await cp.$$eval('#suggestions .sugg', (lis) => lis.map((li) => li.dataset.id));
    const turnOfList = await cp.getAttribute('#suggestions', 'data-turn');
    const r0 = cw.received.length;
    await cp.click('#suggestions .sugg:first-child .sugg-dismiss');
    await until(() => cw.received.find((m) => m.type === 'noted' && m.suggestion === shown[0]), 'noted for dismissed');
    assert.ok(!(await cp.$(`#suggestions .sugg[data-id="${shown[0]}"]`)), 'the dismissed suggestion is hidden');
    // The server re-ranks that turn with the feedback and pushes the list again (`refresh`): the
    // console shows exactly that list, without the dismissed one.
    const refreshed = await until(() => cw.received.slice(r0).find((m) => m.type === 'suggestions' && m.refresh && m.turn === turnOfList), 'the refreshed list');
    assert.ok(refreshed.items.every((x) => x.id !== shown[0]), 'the server list drops the dismissed one');
    const want = refreshed.items.map((x) => x.id).filter((x) => x !== shown[0]).slice(0, 5);
    await cp.waitForFunction((ids) => JSON.stringify([...document.querySelectorAll('#suggestions .sugg')].map((li) => li.dataset.id)) === JSON.stringify(ids), want, { timeout: 3000 });

    // Stored on the server: its feedback counter moved by exactly the four actions…
    assert.equal(await metric('huashu_feedback_total'), stored0 + 4, 'huashu_feedback_total after used, used, edited, dismissed');
    // …and (when python3 is there to read SQLite) the rows are in its database, in order.
    const rows = await until(() => {
      const r = dbQuery('SELECT suggestion, action FROM feedback WHERE conversation LIKE ? ORDER BY rowid', [`%${convs.angry}`]);
      return r === null || r.length >= 4 ? r ?? [] : null;
    }, 'feedback rows in the database');
    if (rows.length) {
      assert.deepEqual(rows.filter(([s]) => s === id || s === second || s === shown[0]), [[id, 'used'], [second, 'used'], [second, 'edited'], [shown[0], 'dismissed']]);
    }
    // The customer sees it in the shop window too.
    await dp.waitForSelector(`.cmsg-agent[data-turn="${sent.id}"]`, { timeout: 5000 });
    assert.equal(await cp.inputValue('#reply'), '');
  });

  it('an urgent turn jumps to the top of the list', async () => {
    // A waiting, non-urgent conversation first…
    convs.late = await newDemoConversation();
    await customerSays('我的快递怎么还没到？都五天了，急死了');
    await cp.waitForSelector(`.conv[data-id="${convs.late}"]`);
    // …then an urgent one arrives later, and must still come first.
    convs.urgent = await newDemoConversation();
    await customerSays('急！孩子把玩具上的小零件吞下去了！');
    await cp.waitForFunction((c) => {
      const top = document.querySelector('#conv-list .conv');
      return top && top.dataset.id === c && top.querySelector('.badge-urgent');
    }, convs.urgent, { timeout: 3000 });
    await selectInConsole(convs.urgent);
    await cp.waitForSelector('#alerts .alert-urgent', { timeout: 3000 });
  });

  it('server restart mid-conversation: console and widget reconnect, no turn lost or doubled', async () => {
    // The demo's current conversation is the urgent one: the customer goes on there.
    await selectInConsole(convs.urgent);
    const before = await transcriptTurns(cp);
    assert.ok(before.length >= 1);
    for (const w of watchers) w.allowNetworkErrors = true;

    await killServer();
    await cp.waitForSelector('#offline:not([hidden])', { timeout: 5000 });
    assert.match(await cp.textContent('#conn'), /重连/);
    await cp.screenshot({ path: path.join(ARTIFACTS, 'console-offline-1280x800.png') });
    await dp.waitForFunction(() => document.getElementById('status').textContent.includes('重连'), null, { timeout: 5000 });

    // The customer keeps typing while the server is down: the SDK's outbox holds the turn.
    const offlineText = '人呢？怎么不回复了？订单号2023112245678';
    await customerSays(offlineText, { waitAck: false });
    await dp.waitForFunction((t) => [...document.querySelectorAll('.cmsg-customer')].some((li) => li.textContent.includes(t) && li.dataset.state === 'queued'), offlineText);

    const newToken = await startServerAgain();
    assert.equal(newToken ?? token, token, 'the restarted server printed a different token: consoles cannot resume (needs a token file or a persisted token)');

    await onlineConsole(cp);
    await cp.waitForSelector('#offline', { state: 'hidden' });
    await dp.waitForFunction((t) => [...document.querySelectorAll('.cmsg-customer')].some((li) => li.textContent.includes(t) && li.dataset.state === 'sent'), offlineText, { timeout: 15000 });
    await cp.waitForFunction((t) => [...document.querySelectorAll('#transcript .msg-customer')].some((li) => li.textContent.includes(t.slice(0, 6))), offlineText, { timeout: 5000 });

    // And the agent can answer over the new connection.
    const answer = '非常抱歉让您久等了，我们会在24小时内答复您。';
    await cp.fill('#reply', answer);
    await cp.waitForFunction(() => !document.getElementById('send').disabled);
    await cp.click('#send');
    await cp.waitForFunction((t) => [...document.querySelectorAll('#transcript .msg-agent:not(.pending)')].some((li) => li.textContent.includes(t)), answer, { timeout: 5000 });

    // The promise in the reply is tracked as a follow-up (due in 24 h).
    await cp.waitForFunction(() => [...document.querySelectorAll('#followups li')].some((li) => li.textContent.includes('24小时内')), null, { timeout: 3000 });

    // The console resumed its subscription where it was (since > 0), not from scratch…
    assert.ok(cw.sent.some((m) => m.type === 'subscribe' && m.conversation === convs.urgent && m.since > 0), 'resubscribed with since');
    // …and the widget's queued turn went out under one id, acked with one seq however often it was sent.
    const offlineTurns = dw.sent.filter((m) => m.type === 'turn' && m.text === offlineText);
    assert.equal(new Set(offlineTurns.map((m) => m.id)).size, 1, 'one message id for the offline turn');
    const acks = dw.received.filter((m) => m.type === 'ack' && m.id === offlineTurns[0].id);
    assert.ok(acks.length >= 1 && new Set(acks.map((m) => m.seq)).size === 1, `acks: ${JSON.stringify(acks)}`);

    const live = await transcriptTurns(cp);
    assert.equal(new Set(live).size, live.length, `doubled turn in the live transcript: ${live}`);
    assert.deepEqual(live.slice(0, before.length), before, 'turns before the restart are kept, in order');
    assert.equal(live.length, before.length + 2, `expected exactly the offline turn and the reply to be added: ${live}`);
    for (const w of watchers) w.allowNetworkErrors = false;

    // A fresh console (full replay from the database) shows exactly the same transcript.
    await cp.goto(`${base}/?token=${token}&conversation=${convs.urgent}`);
    await onlineConsole(cp);
    await cp.waitForFunction((n) => document.querySelectorAll('#transcript .msg').length >= n, live.length, { timeout: 5000 });
    assert.deepEqual(await transcriptTurns(cp), live);
    await cp.waitForFunction(() => [...document.querySelectorAll('#followups li')].some((li) => li.textContent.includes('24小时内')), null, { timeout: 3000 });
  });

  it('screenshots at 1280×800 and 360×800', async () => {
    await cp.setViewportSize({ width: 1280, height: 800 });
    // The demo's one-click sample customers: each opens a new conversation with scripted turns
    // (a newer sample stops the previous script, so these three keep their first turn only)…
    for (const key of ['live', 'refund', 'late']) {
      const prev = await dp.getAttribute('.phone', 'data-conversation');
      await dp.click(`[data-sample=${key}]`);
      await dp.waitForFunction((p) => document.querySelector('.phone').dataset.conversation !== p
        && document.querySelectorAll('.cmsg-customer[data-state=sent]').length >= 1, prev, { timeout: 5000 });
      convs[key] = await dp.getAttribute('.phone', 'data-conversation');
    }
    // …and the angry complaint plays all three turns.
    await dp.click('[data-sample=angry]');
    convs.sample = await dp.getAttribute('.phone', 'data-conversation');
    await dp.waitForFunction(() => document.querySelectorAll('.cmsg-customer[data-state=sent]').length === 3, null, { timeout: 10000 });
    await selectInConsole(convs.sample);
    await cp.waitForFunction(() => document.querySelectorAll('#transcript .msg-customer').length === 3);
    await cp.waitForSelector('#suggestions .sugg');
    await cp.fill('#reply', '你去告啊，我也不知道怎么办');
    await cp.waitForFunction(() => /忌语|修改|提示/.test(document.getElementById('guard-state').textContent), null, { timeout: 3000 });
    // At 1280×800 the three columns fit the window: no page scroll; the send button and the
    // first suggestion are on screen.
    const fit = await cp.evaluate(() => ({
      x: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      y: document.documentElement.scrollHeight - document.documentElement.clientHeight,
      send: document.getElementById('send').getBoundingClientRect().bottom,
      sugg: document.querySelector('#suggestions .sugg')?.getBoundingClientRect().bottom,
    }));
    assert.ok(fit.x <= 0 && fit.y <= 0, `page scrolls at 1280×800: ${JSON.stringify(fit)}`);
    assert.ok(fit.send <= 800 && fit.sugg <= 800, `composer or suggestions off screen: ${JSON.stringify(fit)}`);
    const shot = path.join(ARTIFACTS, 'console-1280x800.png');
    await cp.screenshot({ path: shot });
    if (process.env.HUASHU_DOCS_SCREENSHOT === '1') fs.copyFileSync(shot, path.join(HERE, '../../docs/console.png'));

    await cp.setViewportSize({ width: 360, height: 800 });
    await cp.waitForFunction(() => window.innerWidth === 360);
    await cp.screenshot({ path: path.join(ARTIFACTS, 'console-360x800.png') });
    await cp.screenshot({ path: path.join(ARTIFACTS, 'console-360x800-full.png'), fullPage: true });
    // The narrow layout keeps everything inside 360 px (no horizontal page scroll).
    const overflow = await cp.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `page scrolls horizontally by ${overflow}px at 360 px`);
    await cp.fill('#reply', '');
    await cp.setViewportSize({ width: 1280, height: 800 });

    await dp.bringToFront();
    await dp.screenshot({ path: path.join(ARTIFACTS, 'demo-1280x800.png') });
    await dp.setViewportSize({ width: 360, height: 800 });
    await dp.screenshot({ path: path.join(ARTIFACTS, 'demo-360x800.png') });
    await dp.setViewportSize({ width: 1280, height: 800 });
  });

  it('SLA: a customer left waiting gets the server\'s warning; the countdown and list timer turn amber', async () => {
    // The live-stream viewer of the screenshot test has waited since then (warn at 8 s by default).
    // (Not a conversation from before the restart: the server does not re-arm SLA clocks of
    // conversations that were waiting when it stopped.)
    await cp.bringToFront();
    await selectInConsole(convs.live);
    await cp.waitForSelector('#transcript .sys-warn, #transcript .sys-breach', { timeout: 12000 });
    assert.match(await cp.getAttribute('#sla', 'class'), /sla-(warn|breach)/);
    assert.match(await cp.textContent('#sla-label'), /超时/);
    assert.match(await cp.getAttribute(`.conv[data-id="${convs.live}"] .wait`, 'class'), /wait-(warn|breach)/);
  });

  it('the SDK is served as an ES module', async () => {
    const res = await fetch(`${base}/sdk/huashu.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
    assert.match(await res.text(), /export class Huashu/);
  });

  it('the token is only where it was given: page URLs, never storage, other URLs or the page text', async () => {
    // Documented (docs/SDK.md): the console and the demo read it from their own URL, the demo
    // hands it to the embedded console iframe's URL, the SDK sends it in `hello` only.
    const frames = [cp.mainFrame(), dp.mainFrame(), ...dp.frames().filter((f) => f !== dp.mainFrame())];
    assert.ok(frames.length >= 3, 'the demo embeds the console');
    for (const f of frames) {
      const leak = await f.evaluate((t) => {
        const bits = [JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage }), document.cookie, document.body.innerText,
          document.title, ...[...document.querySelectorAll('a[href],img[src],link[href],script[src]')].map((e) => e.href || e.src)];
        return bits.some((b) => b.includes(t));
      }, token);
      assert.ok(!leak, `token found in storage, cookies, links or text of ${f.url().replace(token, '<token>')}`);
      assert.equal(await f.getAttribute('meta[name=referrer]', 'content'), 'no-referrer');
    }
    const withToken = watchers.flatMap((w) => w.requests.filter((r) => r.url.includes(token)).map((r) => ({ ...r, page: w.label })));
    const bad = withToken.filter((r) => !(r.navigation && r.type === 'document' && /^\/(demo)?\?/.test(r.url.slice(base.length))));
    assert.deepEqual(bad.map((r) => `${r.page} ${r.type} ${r.url.replace(token, '<token>')}`), []);
    assert.ok(withToken.length >= 3, 'the pages were opened with the token in their URL');
    // The SDK does send it, once per connection, inside `hello`.
    const hellos = watchers.flatMap((w) => w.sent.filter((m) => m.type === 'hello'));
    assert.ok(hellos.length >= 2 && hellos.every((m) => m.token === token));
    assert.ok(watchers.every((w) => w.sent.filter((m) => m.type !== 'hello').every((m) => !JSON.stringify(m).includes(token))), 'token only in hello frames');
  });

  it('no console errors on any page and nothing loaded from outside the server', () => {
    const problems = watchers.flatMap((w) => w.problems);
    const external = watchers.flatMap((w) => w.external);
    assert.deepEqual(problems, []);
    assert.deepEqual(external, []);
  });
});
