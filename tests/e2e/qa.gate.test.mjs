// qa.gate.test.mjs — end-to-end: the publishing gate on the QA page. Starts its own
// `huashu serve` on a copy of the shipped default book (the test edits the candidate on disk),
// then: a clean check shows the eval deltas side by side and can be published; a damaging
// candidate (a block rule on "不知道"/"催一下", an emptied forbidden.toml) is refused on the
// page with its reason, the publish button stays disabled, and `POST /api/reload` refuses it too.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { launch, watch, until, ARTIFACTS, HERE } from './lib.mjs';

const BOOK_SRC = path.join(HERE, '../../phrasebooks/default');
const DAMAGING = '\n[[rule]]\nid = "dismissive.too_broad"\ncategory = "dismissive"\nseverity = "block"\n'
  + 'phrases = ["不知道", "催一下"]\nrewrite = "这个问题我帮您确认一下，请您稍等。"\n';

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

describe('QA page: the publishing gate', () => {
  let work, book, forbidden, original, child, base, browser, page, w;
  const TOKEN = 'gate-test-admin-token-0123456789';
  const api = async (method, p) => {
    const r = await fetch(`${base}${p}`, { method, headers: { Authorization: `Bearer ${TOKEN}` } });
    return { status: r.status, body: await r.json() };
  };

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'huashu-gate-'));
    book = path.join(work, 'book');
    fs.cpSync(BOOK_SRC, book, { recursive: true });
    forbidden = path.join(book, 'forbidden.toml');
    original = fs.readFileSync(forbidden, 'utf8');
    fs.writeFileSync(path.join(work, 'tokens.toml'),
      `admin = "${TOKEN}"\n[[token]]\ntoken = "${TOKEN}"\nrole = "any"\nshop = "default"\n`);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const logPath = path.join(work, 'server.log');
    const log = fs.openSync(logPath, 'w');
    child = spawn(process.env.HUASHU_BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--db', path.join(work, 'h.db'),
      '--phrasebooks', book, '--tokens', path.join(work, 'tokens.toml')], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    await until(() => /console: http/.test(fs.readFileSync(logPath, 'utf8')), 'the gate server to start', 20000, 50);
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    w = watch(page, base, 'qa-gate');
    await page.goto(`${base}/qa?token=${TOKEN}`);
    await page.waitForFunction(() => document.body.dataset.loaded, null, { timeout: 15000 });
  });

  after(async () => {
    await browser?.close();
    child?.kill('SIGTERM');
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  async function runCheck() {
    await page.evaluate(() => { document.getElementById('publish-out').replaceChildren(); });
    await page.click('#check');
    await page.waitForSelector('#check-verdict', { timeout: 60000 });
    return page.textContent('#check-verdict');
  }

  it('a clean candidate shows the eval deltas side by side and can be published', async () => {
    fs.writeFileSync(forbidden, `${original}\n# a comment changes the hash only\n`);
    const verdict = await runCheck();
    assert.match(verdict, /检查通过/);
    const rows = await page.$$('#eval-deltas tbody tr[data-metric]');
    assert.ok(rows.length >= 4, `eval rows: ${rows.length}`);
    const cells = await page.$$eval('#eval-deltas tr[data-metric="guard_false_alarm_rate"] td', (t) => t.map((x) => x.textContent));
    assert.equal(cells.length, 4, 'label, published, candidate, delta');
    assert.ok(!(await page.isDisabled('#publish-btn')));
    await page.click('#publish-btn');
    await page.waitForSelector('#published', { timeout: 60000 });
  });

  it('the labelling queue saves confirmed labels into the candidate, which checks and publishes', async () => {
    // Seed customer turns the model cannot place (they land in the queue).
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws`);
    const frames = [];
    ws.on('message', (d) => frames.push(JSON.parse(String(d))));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(JSON.stringify({ type: 'hello', token: TOKEN, shop: 'default', role: 'widget' }));
    await until(() => frames.find((m) => m.type === 'welcome'), 'welcome');
    const texts = ['嗯那个呢', '所以呢我那个', '喂喂那边'];
    for (const [i, text] of texts.entries()) {
      ws.send(JSON.stringify({ type: 'turn', conversation: `lq-${i}`, id: `lq-${i}-1`, role: 'customer', text }));
      await until(() => frames.find((m) => m.type === 'ack' && m.id === `lq-${i}-1`), 'ack');
    }
    ws.close();
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.loaded, null, { timeout: 15000 });
    await page.waitForSelector('#label-text', { timeout: 10000 });
    const shown = (await page.textContent('#label-text')).replace(/^顾客：/, '');
    // Keys: 5 = shipping (物流配送), S = anxiety (焦急), Enter saves.
    await page.keyboard.press('5');
    await page.keyboard.press('s');
    assert.equal(await page.getAttribute('#label-card [data-kind="intent"][aria-pressed="true"]', 'data-label'), 'shipping');
    assert.equal(await page.getAttribute('#label-card [data-kind="emotion"][aria-pressed="true"]', 'data-label'), 'anxiety');
    await page.keyboard.press('Enter');
    await until(async () => /已写入|已有/.test(await page.textContent('#label-status')), 'the label to be saved', 10000, 50);
    const file = path.join(book, 'corpus', 'labelled.tsv');
    const written = fs.readFileSync(file, 'utf8');
    assert.match(written, /^# by 质检 \d{4}-\d{2}-\d{2}$/m);
    assert.ok(written.includes(`shipping\tanxiety\t${shown}\n`), written);
    await page.screenshot({ path: path.join(ARTIFACTS, 'qa-label-queue.png'), fullPage: true });
    // The candidate with the new example passes the gate and is published.
    assert.match(await runCheck(), /检查通过/);
    await page.click('#publish-btn');
    await page.waitForSelector('#published', { timeout: 60000 });
  });

  const refused = [
    ['a block rule on 不知道/催一下', () => `${original}${DAMAGING}`, /正常回复开始被拦截/, 'benign_flagged'],
    ['an emptied forbidden.toml', () => '# 全部删除\n', /没有任何忌语规则/, 'no_rules'],
  ];
  for (const [what, content, reason, kind] of refused) {
    it(`refuses ${what} on the page and on reload, with the reason`, async () => {
      fs.writeFileSync(forbidden, content());
      const verdict = await runCheck();
      assert.match(verdict, /不能发布/);
      assert.match(await page.textContent('#refusals'), reason);
      assert.ok(await page.$(`#refusals li[data-kind="${kind}"]`), kind);
      assert.ok(await page.isDisabled('#publish-btn'), 'publish stays disabled');
      await page.screenshot({ path: path.join(ARTIFACTS, `qa-gate-${kind}.png`), fullPage: true });
      const r = await api('POST', '/api/reload');
      assert.equal(r.status, 422);
      assert.match(r.body.error, reason);
    });
  }

  it('a candidate changed into a damaging one after its check is refused by the publish button', async () => {
    fs.writeFileSync(forbidden, original);
    assert.match(await runCheck(), /检查通过/);
    fs.writeFileSync(forbidden, `${original}${DAMAGING}`);
    await page.click('#publish-btn');
    await until(async () => /发布失败/.test(await page.textContent('#publish-status')), 'the refusal', 60000, 100);
    assert.match(await page.textContent('#publish-status'), /正常回复开始被拦截/);
    fs.writeFileSync(forbidden, original);
    // The refused reload answers 422, which Chromium logs as a failed resource.
    assert.deepEqual(w.problems.filter((x) => !/status of 422/.test(x)), []);
  });
});
