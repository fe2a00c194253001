// order.test.mjs — end-to-end: the order card. Starts its own `huashu serve` (the binary run.sh
// found, $HUASHU_BIN) pointed by --order-api at a stub order API (a node HTTP server on a free
// port), then, in headless Chromium: a customer in the demo shop sends a turn carrying an order
// number; the agent console shows the order card (status, items, shipped/signed times, tracking)
// and a suggestion filled from the order data. The stub also checks the bearer secret.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { launch, watch, until, ARTIFACTS } from './lib.mjs';

const ORDER = '2023112245678';
const SECRET = 'order-api-secret-for-the-test';
const requests = [];

function startStub() {
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url, auth: req.headers.authorization });
    const id = decodeURIComponent(req.url.split('/').pop());
    if (req.headers.authorization !== `Bearer ${SECRET}`) {
      res.writeHead(401).end();
      return;
    }
    if (id !== ORDER) {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.stringify({
      id, status: 'signed',
      items: [{ title: '手绘陶瓷马克杯 350ml 礼盒装', sku: 'demo-mug', quantity: 2 }],
      shipped_at: '2026-11-27 10:05', signed_at: '2026-11-29 18:20',
      carrier: '中通快递', tracking: 'ZT9876543210', logistics: '已签收，签收人：快递柜',
    });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function freePort() {
  return new Promise((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

let stub, child, work, base, token, browser;

describe('order card end to end (real server, stub order API)', () => {
  before(async () => {
    stub = await startStub();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'huashu-order-'));
    token = crypto.randomBytes(16).toString('hex');
    fs.writeFileSync(path.join(work, 'tokens.toml'), `admin = "${token}"\n[[token]]\ntoken = "${token}"\nrole = "any"\nshop = "default"\n`);
    fs.writeFileSync(path.join(work, 'order.token'), `${SECRET}\n`);
    const port = await freePort();
    const log = path.join(work, 'server-order.log');
    const out = fs.openSync(log, 'w');
    child = spawn(process.env.HUASHU_BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--db', path.join(work, 'h.db'),
      '--tokens', path.join(work, 'tokens.toml'),
      '--order-api', `http://127.0.0.1:${stub.address().port}/orders/{订单号}`,
      '--order-api-token-file', path.join(work, 'order.token')], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    await until(() => /console: http/.test(fs.readFileSync(log, 'utf8')), 'the order-API server to start', 90000, 50);
    base = `http://127.0.0.1:${port}`;
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    child?.kill();
    stub?.close();
    if (work) {
      fs.copyFileSync(path.join(work, 'server-order.log'), path.join(ARTIFACTS, 'server-order.log'));
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('a customer turn with an order number shows the order card and a script filled from the order', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const cp = await ctx.newPage();
    const cw = watch(cp, base, 'console');
    const dp = await ctx.newPage();
    const dw = watch(dp, base, 'demo');
    await cp.goto(`${base}/?token=${token}`);
    await cp.waitForFunction(() => document.getElementById('conn')?.textContent === '在线', null, { timeout: 15000 });
    await dp.goto(`${base}/demo?token=${token}`);
    await dp.waitForFunction(() => document.getElementById('status').textContent === '顾客端在线', null, { timeout: 15000 });

    await dp.click('#new-chat');
    const conversation = await until(() => dp.getAttribute('.phone', 'data-conversation'), 'a demo conversation');
    const text = `我的订单${ORDER}显示签收了，但我没收到`;
    await dp.fill('#chat-input', text);
    await dp.press('#chat-input', 'Enter');

    await cp.waitForSelector(`.conv[data-id="${conversation}"]`, { timeout: 10000 });
    await cp.click(`.conv[data-id="${conversation}"]`);
    await cp.waitForSelector('#order-card:not([hidden])', { timeout: 10000 });
    const card = await cp.$eval('#order-card', (el) => el.textContent);
    for (const part of [`订单 ${ORDER}`, '已签收', '手绘陶瓷马克杯 350ml 礼盒装', '×2', '2026-11-27 10:05', '2026-11-29 18:20', 'ZT9876543210', '中通快递']) {
      assert.ok(card.includes(part), `order card lacks ${part}: ${card}`);
    }
    // The refreshed suggestions hold a script whose facts come from the order.
    const filled = await until(async () => {
      const texts = await cp.$$eval('#suggestions .sugg .sugg-text', (els) => els.map((e) => e.textContent));
      return texts.find((t) => t.includes('2026-11-29 18:20已签收') || t.includes('最新物流是：已签收'));
    }, 'a suggestion filled from the order', 10000);
    assert.ok(!/[{}]/.test(filled), filled);
    await cp.screenshot({ path: path.join(ARTIFACTS, 'order-card.png') });

    // The stub saw the bearer secret, and one request for the order.
    assert.deepEqual(requests.map((r) => r.auth), [`Bearer ${SECRET}`]);
    assert.equal(requests[0].url, `/orders/${ORDER}`);
    // Another conversation without an order: no card.
    await dp.click('#new-chat');
    const other = await until(async () => {
      const id = await dp.getAttribute('.phone', 'data-conversation');
      return id && id !== conversation ? id : null;
    }, 'a second demo conversation');
    await dp.fill('#chat-input', '你好，在吗');
    await dp.press('#chat-input', 'Enter');
    await cp.waitForSelector(`.conv[data-id="${other}"]`, { timeout: 10000 });
    await cp.click(`.conv[data-id="${other}"]`);
    await cp.waitForFunction((c) => document.getElementById('transcript').dataset.conv === c, other);
    assert.equal(await cp.$eval('#order-card', (el) => el.hidden), true);

    assert.deepEqual([...cw.problems, ...dw.problems], []);
    assert.deepEqual([...cw.external, ...dw.external], []);
    await ctx.close();
  });
});
