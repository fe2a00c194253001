// extension.test.mjs — the browser extension (extension/) loaded unpacked into headless Chromium
// against the real server: on a generic workbench page (tests/e2e/fixtures/workbench.html) and on
// a page in Chatwoot's dashboard structure (fixtures/chatwoot.html): turns reach huashu, scripts
// go into the real composer (the page's own input handling notices), a forbidden draft is marked
// and its send stopped (Enter and the button), the rewrite replaces the composer text, an
// override is recorded, urgent turns raise the banner, and the extension survives a server
// restart. Also the Chatwoot Dashboard App (/chatwoot/app) inside a parent page that plays
// Chatwoot's appContext side.

import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ARTIFACTS, HERE, dbQuery, killServer, metric, serverInfo, startServerAgain, until, watch } from './lib.mjs';

const EXTENSION = path.resolve(HERE, '../../extension');
const FIXTURES = path.join(HERE, 'fixtures');

/** Serves the fixture pages on 127.0.0.1 (another origin than huashu's, like a real workbench). */
function fixtureServer() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file = null;
    if (/^\/app\/accounts\/\d+\/conversations\/\d+$/.test(url.pathname)) file = 'chatwoot.html';
    else if (/^\/[a-z-]+\.html$/.test(url.pathname)) file = url.pathname.slice(1);
    const full = file && path.join(FIXTURES, file);
    if (!full || !fs.existsSync(full)) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(fs.readFileSync(full));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, base: `http://127.0.0.1:${server.address().port}` })));
}

async function webhook(body) {
  const { base } = serverInfo();
  const res = await fetch(`${base}/integrations/chatwoot?secret=${process.env.HUASHU_CHATWOOT_SECRET}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

function chatwootMessage(id, conversation, content) {
  return {
    event: 'message_created', id, content, created_at: new Date().toISOString(), message_type: 'incoming', private: false,
    content_type: 'text', content_attributes: {}, source_id: null,
    sender: { id: 5, name: '张女士', type: 'contact' }, inbox: { id: 2, name: '官网客服' },
    conversation: { id: conversation, inbox_id: 2, status: 'open', channel: 'Channel::WebWidget' }, account: { id: 1, name: '示例小店' },
  };
}

let ctx;
let sw;
let fixtures;
let userDir;

test.before(async () => {
  fixtures = await fixtureServer();
  userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'huashu-ext-'));
  ctx = await chromium.launchPersistentContext(userDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: false,
    viewport: { width: 1280, height: 800 },
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', `--disable-extensions-except=${EXTENSION}`, `--load-extension=${EXTENSION}`],
  });
  sw = ctx.serviceWorkers()[0] ?? await ctx.waitForEvent('serviceworker', { timeout: 15000 });
  assert.match(sw.url(), /^chrome-extension:\/\/aepledhdanakbalffjmeaffcedjajkaj\//, 'the manifest key pins the id the server allows');
  const { base, token } = serverInfo();
  await sw.evaluate(async (cfg) => chrome.storage.local.set(cfg), {
    url: `${base.replace(/^http/, 'ws')}/ws`, token, shop: 'default', agent: 'a-ext',
    sites: [`${fixtures.base}/`], sound: true, notify: true,
  });
});

test.after(async () => {
  await ctx?.close();
  fixtures?.server.close();
  if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
});

const panel = (page) => page.locator('huashu-panel');
const part = (page, name) => panel(page).locator(`[data-part="${name}"]`);
const state = (page) => page.evaluate(() => window.state);

async function openPage(url, label) {
  const page = await ctx.newPage();
  const w = watch(page, fixtures.base, label);
  await page.goto(url);
  await until(async () => (await part(page, 'status').getAttribute('data-state')) === 'open', `${label}: panel connected`, 15000);
  return { page, w };
}

test('generic workbench: turns, scripts, guard, rewrite, override, urgent, reconnect', async () => {
  const { page, w } = await openPage(`${fixtures.base}/workbench.html`, 'workbench');

  // The customer's turn went to huashu and its analysis and scripts came back.
  await until(async () => (await part(page, 'analysis').getAttribute('data-turn')) === 'm-1', 'analysis of m-1', 10000);
  assert.equal(await part(page, 'analysis').locator('[data-intent="shipping"]').count(), 1, 'shipping intent shown');
  assert.doesNotMatch(await panel(page).locator('[data-part="frame"]').innerText(), /null|undefined|NaN/);
  const scripts = part(page, 'scripts').locator('li.script');
  await until(async () => (await scripts.count()) >= 2, 'scripts listed');
  await page.screenshot({ path: path.join(ARTIFACTS, 'extension-workbench.png') });

  // Click inserts into the real textarea, through an input event the page's state saw.
  const feedbackBefore = await metric('huashu_feedback_total');
  const first = (await scripts.nth(0).locator('span').nth(1).textContent()).trim();
  await scripts.nth(0).click();
  assert.equal(await page.inputValue('#reply'), first);
  assert.equal((await state(page)).draft, first, 'the page noticed the insertion');
  await until(async () => (await metric('huashu_feedback_total')) > feedbackBefore, 'feedback "used" stored');
  // Alt+2 inserts the second one.
  const second = (await scripts.nth(1).locator('span').nth(1).textContent()).trim();
  await page.focus('#reply');
  await page.keyboard.press('Alt+Digit2');
  assert.equal((await state(page)).draft, second, 'Alt+2 inserted the second script');

  // A forbidden draft: marked in place, Enter and the button both stopped.
  const bad = '你问我我怎么知道，你去告啊';
  await page.fill('#reply', bad);
  const guard = part(page, 'guard');
  await until(async () => Number(await guard.getAttribute('data-hits')) > 0, 'guard hits for the draft');
  assert.ok(await page.locator('.huashu-mirror mark.sev-block').count() >= 1, 'block span marked on the composer');
  await page.focus('#reply');
  await page.keyboard.press('Enter');
  await until(async () => (await guard.getAttribute('data-blocked')) === 'true', 'send blocked (Enter)');
  await page.click('#send');
  assert.deepEqual((await state(page)).sent, [], 'nothing was sent');
  await page.screenshot({ path: path.join(ARTIFACTS, 'extension-blocked.png') });

  // One-click rewrite replaces the composer text; the clean reply then goes out with Enter.
  await guard.locator('[data-action="rewrite"]').click();
  const rewritten = await page.inputValue('#reply');
  assert.notEqual(rewritten, bad);
  assert.ok(!rewritten.includes('你去告'), rewritten);
  assert.equal((await state(page)).draft, rewritten, 'the page noticed the rewrite');
  await until(async () => (await guard.getAttribute('data-hits')) === '0' && /未发现服务忌语/.test(await guard.textContent()), 'the rewrite checks clean');
  await page.focus('#reply');
  await page.keyboard.press('Enter');
  await until(async () => (await state(page)).sent.length === 1, 'clean reply sent');
  assert.equal((await state(page)).sent[0], rewritten);

  // Override: blocked, then sent anyway through the panel; QA sees a flagged draft not rewritten.
  await page.fill('#reply', '你去告啊，爱上哪告上哪告');
  await until(async () => Number(await guard.getAttribute('data-hits')) > 0, 'hits for the second bad draft');
  await page.click('#send');
  await until(async () => (await guard.getAttribute('data-blocked')) === 'true', 'send blocked (button)');
  await guard.locator('[data-action="override"]').click();
  await until(async () => (await state(page)).sent.length === 2, 'overridden reply sent');
  await until(async () => (await part(page, 'overridden').count()) === 1, 'override shown as recorded');
  const rows = await until(() => {
    const r = dbQuery("SELECT rewritten FROM drafts WHERE conversation LIKE '%wb-1001' AND text LIKE '%爱上哪告%'");
    return r === null || (r.length && r.every((x) => x[0] !== null)) ? (r ?? 'no python') : null;
  }, 'the overridden draft resolved by the sent turn', 10000);
  if (rows !== 'no python') assert.deepEqual(rows.map((x) => x[0]), [0], 'recorded as sent without rewriting');

  // An urgent customer turn: the banner with its first action.
  const urgentId = await page.evaluate(() => window.receive('孩子把玩具上的小零件吞下去了，现在一直咳嗽'));
  await until(async () => (await part(page, 'analysis').getAttribute('data-turn')) === urgentId, 'urgent turn analysed', 10000);
  await until(async () => (await part(page, 'urgent').count()) === 1, 'urgent banner');
  assert.match(await part(page, 'urgent').textContent(), /紧急/);
  const notes = await sw.evaluate(() => new Promise((resolve) => chrome.notifications.getAll((all) => resolve(Object.keys(all ?? {}).length))));
  assert.ok(notes >= 1, 'a desktop notification was raised for the urgent turn');

  // The server goes away: the panel says so; a turn that arrives meanwhile is delivered later.
  w.allowNetworkErrors = true;
  await killServer();
  await until(async () => (await part(page, 'status').getAttribute('data-state')) === 'down', 'degraded state shown', 15000);
  assert.match(await part(page, 'status').textContent(), /未连接/);
  await page.fill('#reply', '你去告啊');
  await until(async () => (await part(page, 'unchecked').count()) === 1, 'draft shown as unchecked while offline');
  await page.fill('#reply', '');
  const lateId = await page.evaluate(() => window.receive('那退款什么时候能到账？'));
  await startServerAgain();
  await until(async () => (await part(page, 'status').getAttribute('data-state')) === 'open', 'reconnected', 20000);
  await until(async () => (await part(page, 'analysis').getAttribute('data-turn')) === lateId, 'the turn sent while down was analysed', 15000);
  w.allowNetworkErrors = false;
  assert.deepEqual(w.problems, []);
  await page.close();
});

test('Chatwoot dashboard structure: same ids as the webhook, composer guarded', async () => {
  const { page, w } = await openPage(`${fixtures.base}/app/accounts/1/conversations/42`, 'chatwoot');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.huashuAdapter), 'chatwoot');
  await until(async () => (await part(page, 'analysis').getAttribute('data-turn')) === 'cw-2001', 'analysis of cw-2001', 10000);
  // The page's turn and the webhook's delivery of the same message are one turn on the server.
  const dup = await webhook(chatwootMessage(2001, 42, '你好，我买的衣服到现在还没发货，能不能快点'));
  assert.equal(dup.status, 200, JSON.stringify(dup.body));
  assert.deepEqual([dup.body.conversation, dup.body.id, dup.body.duplicate], ['chatwoot:1:42', 'cw-2001', true]);
  // The private note and the activity line were not sent as turns.
  for (const id of ['cw-2000', 'cw-2002']) {
    const again = await webhook({ ...chatwootMessage(Number(id.slice(3)), 42, '探测'), message_type: 'incoming' });
    assert.equal(again.body.duplicate, false, `${id} was not streamed from the page`);
  }

  const scripts = part(page, 'scripts').locator('li.script');
  await until(async () => (await scripts.count()) >= 1, 'scripts listed');
  const first = (await scripts.nth(0).locator('span').nth(1).textContent()).trim();
  await scripts.nth(0).click();
  assert.equal((await state(page)).draft, first, 'inserted into the contenteditable editor');

  await page.evaluate(() => { document.querySelector('.ProseMirror').innerHTML = '<p><br></p>'; });
  await page.click('.ProseMirror');
  await page.keyboard.type('你问我我怎么知道');
  const guard = part(page, 'guard');
  await until(async () => Number(await guard.getAttribute('data-hits')) > 0, 'hits in the Chatwoot editor');
  await until(async () => Number(await guard.getAttribute('data-marked')) > 0, 'span highlighted in the editor');
  await page.keyboard.press('Enter');
  await until(async () => (await guard.getAttribute('data-blocked')) === 'true', 'Enter blocked in the Chatwoot editor');
  assert.deepEqual((await state(page)).sent, []);
  await page.screenshot({ path: path.join(ARTIFACTS, 'extension-chatwoot.png') });
  await guard.locator('[data-action="rewrite"]').click();
  const fixed = (await state(page)).draft;
  assert.ok(fixed && !fixed.includes('你问我我怎么知道'), fixed);
  await page.click('.reply-box__bottom button');
  await until(async () => (await state(page)).sent.length === 1, 'clean reply sent with the button');
  assert.deepEqual(w.problems, []);
  await page.close();
});

test('Chatwoot Dashboard App: appContext → subscription, analysis, scripts, draft check', async () => {
  const conversation = 77;
  const hook = await webhook(chatwootMessage(7701, conversation, '再不给我处理我就去12315投诉你们，还要给差评'));
  assert.equal(hook.status, 200, JSON.stringify(hook.body));
  const { base, token } = serverInfo();
  const app = `${base}/chatwoot/app?token=${encodeURIComponent(token)}&shop=default`;
  const page = await ctx.newPage();
  const w = watch(page, fixtures.base, 'dashboard-app');
  await page.goto(`${fixtures.base}/dashboard-parent.html?conversation=${conversation}&app=${encodeURIComponent(app)}`);
  const frame = page.frameLocator('#app');
  await until(async () => (await page.evaluate(() => window.asked)) >= 1, 'the app asked for appContext');
  await until(async () => /已连接/.test(await frame.locator('#status').textContent()), 'app connected', 10000);
  await until(async () => (await frame.locator('#analysis .chip').count()) > 0, 'analysis shown', 10000);
  assert.match(await frame.locator('#analysis').textContent(), /投诉威胁/);
  assert.match(await frame.locator('#alert').textContent(), /投诉风险/);
  assert.doesNotMatch(await frame.locator('body').innerText(), /null|undefined|NaN/);
  await until(async () => (await frame.locator('#scripts .script').count()) > 0, 'scripts shown');
  const before = await metric('huashu_feedback_total');
  await frame.locator('#scripts .script button').first().click();
  await until(async () => (await metric('huashu_feedback_total')) > before, 'copy recorded as used');
  await frame.locator('#draft').fill('你去告啊');
  await until(async () => (await frame.locator('#hits .hit').count()) > 0, 'draft checked in the app');
  await frame.locator('#hits button.rewrite').click();
  assert.ok(!(await frame.locator('#draft').inputValue()).includes('你去告'));
  // A new appContext (the agent opened another conversation) switches the subscription.
  await page.evaluate(() => { window.context.conversation.id = 78; window.sendContext(); });
  await until(async () => /暂无客户消息/.test(await frame.locator('#analysis').textContent()), 'switched to the empty conversation');
  assert.equal(await frame.locator('#alert').isVisible(), false, 'the old alert is gone');
  assert.equal(await panel(page).isVisible(), false, 'no extension panel where no conversation is open');
  await page.screenshot({ path: path.join(ARTIFACTS, 'chatwoot-dashboard-app.png') });
  assert.deepEqual(w.problems, []);
  await page.close();
});

test('options page: shows the settings, the origin to allow and the connection state', async () => {
  const page = await ctx.newPage();
  await page.goto('chrome-extension://aepledhdanakbalffjmeaffcedjajkaj/options.html');
  const { base } = serverInfo();
  await until(async () => (await page.inputValue('#url')) === `${base.replace(/^http/, 'ws')}/ws`, 'settings filled in');
  assert.equal(await page.textContent('#origin'), 'chrome-extension://aepledhdanakbalffjmeaffcedjajkaj');
  assert.equal(await page.inputValue('#sites'), `${fixtures.base}/`);
  assert.equal(await page.getAttribute('#token', 'type'), 'password');
  await until(async () => /消息流：已连接/.test(await page.textContent('#state')), 'connection state shown');
  await page.fill('#sel-composer', 'textarea#reply');
  await page.click('#save');
  await until(async () => (await sw.evaluate(async () => (await chrome.storage.local.get('selectors')).selectors?.composer)) === 'textarea#reply', 'selector saved');
  await page.close();
});
