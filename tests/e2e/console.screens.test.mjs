// console.screens.test.mjs — the console at a glance, against the real `huashu serve` (run.sh):
// every panel of calm, angry, urgent, traditional-character, order-number, livestream and
// address conversations is free of placeholder text and internal ids; alerts name the cause the
// server sent; personal values are masked and revealable; urgent turns beep, notify and badge
// the tab; the layout holds at 1,280 (three columns), 1,024 (two) and 768 px (one, composer in
// view), with screenshots saved under a temp dir.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { launch, watch, until, serverInfo, dbQuery, HERE } from './lib.mjs';

const { base, token } = serverInfo();
const sdkSource = fs.readFileSync(path.join(HERE, '../../crates/server/assets/huashu.js'), 'utf8');
const { Huashu } = await import(`data:text/javascript;base64,${Buffer.from(sdkSource).toString('base64')}`);
const SHOTS = fs.mkdtempSync(path.join(os.tmpdir(), 'huashu-console-shots-'));
const RUN = Date.now().toString(36);

/** Stubs installed before the console's own scripts: a recording Notification and AudioContext. */
function installStubs() {
  window.__notes = [];
  window.__tones = 0;
  class FakeNotification {
    static permission = 'default';
    static async requestPermission() { FakeNotification.permission = 'granted'; return 'granted'; }
    constructor(title, opts = {}) { window.__notes.push({ title, body: opts.body, tag: opts.tag }); }
    close() {}
  }
  // A granted permission survives a reload, as in a real browser.
  if (localStorage.getItem('test.notify-granted')) FakeNotification.permission = 'granted';
  const origRequest = FakeNotification.requestPermission;
  FakeNotification.requestPermission = async () => { localStorage.setItem('test.notify-granted', '1'); return origRequest(); };
  window.Notification = FakeNotification;
  class FakeAudio {
    constructor() { this.state = 'running'; this.currentTime = 0; this.destination = {}; }
    resume() { return Promise.resolve(); }
    createOscillator() { return { type: '', frequency: { value: 0 }, connect: (n) => n, start: () => { window.__tones += 1; }, stop() {} }; }
    createGain() { return { gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} }, connect: (n) => n }; }
  }
  window.AudioContext = FakeAudio;
}

const CONVS = {
  calm: { customer: '陈先生', turns: ['你好，请问这款马克杯有现货吗？'] },
  angry: { customer: '王女士', turns: ['你们这什么破质量！杯子收到就碎了，气死我了！'] },
  urgent: { customer: '赵女士', turns: ['急！孩子把杯子礼盒里的小零件吞下去了！'] },
  traditional: { customer: '林小姐', turns: ['我的訂單怎麼還沒發貨？等了好幾天了，請幫我查一下'] },
  order: { customer: '李先生', turns: ['订单号 2023112245678 的快递到哪了？顺丰单号 SF1234567890123'] },
  live: { turns: ['主播刚才说的那款杯子还有货吗？直播间的优惠券怎么领？'] },
  address: { customer: '钱女士', turns: ['地址改成杭州市西湖区文三路88号，电话13812345678'] },
  asked: { customer: '周先生', turns: ['叫你们经理出来，我要找人工'] },
  threat: { customer: '吴女士', turns: ['都第三次问了还没人管！', '你们太过分了！再不处理我就去12315投诉，给你们差评！'] },
};

let browser, page, w, widget;
const ids = {};

async function say(key) {
  const c = CONVS[key];
  ids[key] ??= `e2e-${key}-${RUN}`;
  for (const text of c.turns) await widget.sendTurn({ conversation: ids[key], role: 'customer', text, customer: c.customer });
}

async function open(key) {
  const id = ids[key];
  await page.waitForSelector(`.conv[data-id="${id}"]`, { timeout: 5000 });
  await page.click(`.conv[data-id="${id}"]`);
  await page.waitForFunction((c) => document.getElementById('transcript').dataset.conv === c, id);
  await page.waitForFunction((n) => document.querySelectorAll('#transcript .msg-customer').length >= n, CONVS[key].turns.length, { timeout: 5000 });
  await page.waitForSelector('#suggestions .sugg', { timeout: 5000 });
}

/** What an agent must never read: placeholders, and the ids the machine uses. */
function placeholderProblems(text, extraIds) {
  const out = [];
  for (const re of [/\bnull\b/, /\bundefined\b/, /\bNaN\b/, /\[object Object\]/, /faq:/, /\b[a-z][a-z0-9_]*\.[a-z0-9_]+(?:\.[a-z0-9_]+)*\b/]) {
    const m = re.exec(text);
    if (m) out.push(`${re} matched «${text.slice(Math.max(0, m.index - 20), m.index + 40)}»`);
  }
  for (const id of extraIds) if (id && text.includes(id)) out.push(`internal id ${id} on screen`);
  return out;
}

describe('the console at a glance (real server)', () => {
  before(async () => {
    browser = await launch();
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    await ctx.addInitScript(installStubs);
    page = await ctx.newPage();
    w = watch(page, base, 'console(screens)');
    await page.goto(`${base}/?token=${token}`);
    await page.waitForFunction(() => document.getElementById('conn')?.textContent === '在线', null, { timeout: 15000 });
    widget = new Huashu({ url: `${base.replace(/^http/, 'ws')}/ws`, token, role: 'widget', WebSocket });
    widget.connect();
  });
  after(async () => {
    // Answer the urgent customers: the next test file expects its own urgent chat on top.
    for (const key of ['urgent', 'urgent2', 'urgent3']) {
      if (ids[key]) await widget.sendTurn({ conversation: ids[key], role: 'agent', text: '您好，已为您紧急处理，请放心。' }).catch(() => {});
    }
    widget?.close();
    await browser?.close();
  });

  it('no null, undefined, NaN or internal id on any panel, for every kind of conversation', async () => {
    for (const key of Object.keys(CONVS)) await say(key);
    for (const key of Object.keys(CONVS)) {
      await open(key);
      // Script ids and suggestion ids are in data attributes, never in the text.
      const scripts = await page.$$eval('#suggestions .sugg', (lis) => lis.flatMap((li) => [li.dataset.script, li.dataset.id]));
      const panels = await page.evaluate(() => Object.fromEntries(
        ['conv-list', 'conv-head', 'alerts', 'transcript', 'composer', 'suggestions', 'ins-intent', 'ins-emotion', 'ins-style', 'trend-legend', 'entities', 'followups']
          .map((id) => [id, document.getElementById(id)?.innerText ?? '']).concat([['page', document.body.innerText], ['title', document.title]])));
      for (const [panel, text] of Object.entries(panels)) {
        assert.deepEqual(placeholderProblems(text, [...scripts, ...Object.values(ids)]), [], `${key}: panel ${panel}`);
      }
      // The insight panel says something real: a named intent and emotion, never an empty cell.
      assert.notEqual(panels['ins-emotion'].trim(), '', key);
      assert.ok(!/^—$/.test(panels['ins-intent'].trim()), `${key}: intent shown`);
    }
    // The calm customer's emotion reads "平静" and nothing after it.
    await open('calm');
    assert.equal((await page.innerText('#ins-emotion')).trim(), '平静');
    // Traditional characters are understood: the turn got an intent badge other than 其他.
    await open('traditional');
    assert.ok(await page.$('#transcript .msg-customer .intent:not(.intent-other)'), 'traditional text gets an intent');
    // Order and tracking numbers become chips.
    await open('order');
    assert.deepEqual(await page.$$eval('#entities .chip', (cs) => cs.map((c) => c.dataset.kind)).then((k) => k.sort()), ['order_id', 'tracking_no']);
  });

  it('alerts name the cause the server sent: a request for a manager, or a threat with rising risk', async () => {
    const lastSummary = (id) => w.received.filter((m) => m.type === 'conversation' && m.conversation === id).at(-1);
    await open('asked');
    const asked = await page.waitForSelector('#alerts .alert-escalate', { timeout: 3000 });
    assert.match(await asked.innerText(), /顾客要求主管或人工处理/);
    const askedKinds = (lastSummary(ids.asked)?.escalation_reasons ?? []).map((r) => r.kind);
    assert.ok(askedKinds.includes('asked_human'), JSON.stringify(lastSummary(ids.asked)));
    assert.deepEqual((await asked.getAttribute('data-reasons')).split(' '), askedKinds, 'the console shows what it received');

    await open('threat');
    const sm = lastSummary(ids.threat);
    assert.equal(sm?.escalation, true, `the threat conversation should be flagged: ${JSON.stringify(sm)}`);
    const kinds = sm.escalation_reasons.map((r) => r.kind);
    assert.ok(!kinds.includes('asked_human') && kinds.includes('complaint_threat') && kinds.includes('risk'), JSON.stringify(sm));
    const alert = await page.waitForSelector('#alerts .alert-escalate');
    const text = await alert.innerText();
    assert.doesNotMatch(text, /要求主管/, 'nobody asked for a supervisor');
    assert.match(text, /扬言投诉/);
    const risk = sm.escalation_reasons.find((r) => r.kind === 'risk');
    assert.match(text, new RegExp(`风险 ${Math.round(risk.risk * 100)}%`));
    if (risk.turns >= 2) assert.match(text, new RegExp(`连续 ${risk.turns} 轮上升`));
    assert.deepEqual((await alert.getAttribute('data-reasons')).split(' '), kinds);
  });

  it('address and phone arrive masked; the agent reveals one with a click (logged without the value)', async () => {
    await open('address');
    assert.ok(!(await page.innerText('body')).includes('文三路88号'), 'the address is masked on screen');
    assert.ok(!(await page.innerText('body')).includes('13812345678'), 'the phone is masked on screen');
    const chips = await page.$$eval('#entities .chip', (cs) => cs.map((c) => c.dataset.kind));
    assert.deepEqual(chips, ['address', 'phone']);
    await page.click('.chip-address .chip-act');
    await page.waitForSelector('.chip-address.is-revealed', { timeout: 3000 });
    assert.equal(await page.textContent('.chip-address .chip-v'), '杭州市西湖区文三路88号');
    await page.click('.chip-phone .chip-act');
    await page.waitForSelector('.chip-phone.is-revealed', { timeout: 3000 });
    assert.equal(await page.textContent('.chip-phone .chip-v'), '13812345678');
    // One click inserts the value into the reply box.
    await page.click('.chip-address .chip-main');
    assert.equal(await page.inputValue('#reply'), '杭州市西湖区文三路88号');
    await page.fill('#reply', '');
    // The QA record: two reveals of this conversation, no value anywhere in the database.
    // Stored conversation keys are scoped by shop (`<shop><sep><id>`): match on the id's end.
    const rows = dbQuery('SELECT kind FROM reveals WHERE conversation LIKE ? ORDER BY rowid', [`%${ids.address}`]);
    if (rows !== null) {
      assert.deepEqual(rows, [['address'], ['phone']]);
      const leaked = dbQuery("SELECT count(*) FROM turns WHERE text LIKE '%文三路88号%' OR text LIKE '%13812345678%'");
      assert.deepEqual(leaked, [[0]]);
    }
  });

  it('an urgent turn beeps, raises a desktop notification (opt-in, remembered) and badges the tab; mute silences it', async () => {
    await page.click('#settings-btn');
    assert.ok(await page.isChecked('#set-sound'), 'sound is on by default');
    assert.ok(!(await page.isChecked('#set-notify')), 'notifications are opt-in');
    await page.check('#set-notify');
    await page.waitForFunction(() => /已开启/.test(document.getElementById('set-note').textContent));
    await page.click('#settings-btn');
    const tones0 = await page.evaluate(() => window.__tones);
    ids.urgent2 = `e2e-urgent2-${RUN}`;
    await widget.sendTurn({ conversation: ids.urgent2, role: 'customer', text: '急！宝宝把小零件吞下去了，一直咳嗽', customer: '郑女士' });
    const note = await until(() => page.evaluate(() => window.__notes.at(-1)), 'a desktop notification', 5000);
    assert.match(note.title, /紧急：郑女士/);
    assert.match(note.body, /小零件/);
    assert.ok((await page.evaluate(() => window.__tones)) > tones0, 'a beep');
    assert.match(await page.title(), /【紧急 \d+】/);
    assert.match(await page.getAttribute('#favicon', 'data-badge'), /^urgent:\d+$/);
    assert.match(await page.getAttribute('#favicon', 'href'), /^data:image\/png/);

    // Mute, reload: both settings are remembered; the next urgent turn notifies without a sound.
    await page.click('#settings-btn');
    await page.uncheck('#set-sound');
    await page.reload();
    await page.waitForFunction(() => document.getElementById('conn')?.textContent === '在线', null, { timeout: 15000 });
    assert.ok(!(await page.isChecked('#set-sound')) && (await page.isChecked('#set-notify')));
    assert.equal(await page.textContent('#settings-state'), '已静音');
    await page.waitForSelector(`.conv[data-id="${ids.urgent2}"]`);
    const notes0 = await page.evaluate(() => window.__notes.length);
    assert.equal(notes0, 0, 'conversations that were urgent before the page opened do not notify again');
    ids.urgent3 = `e2e-urgent3-${RUN}`;
    await widget.sendTurn({ conversation: ids.urgent3, role: 'customer', text: '着火了！充电器冒烟了！', customer: '冯先生' });
    await until(() => page.evaluate(() => window.__notes.length === 1), 'the second notification', 5000);
    assert.equal(await page.evaluate(() => window.__tones), 0, 'muted: no sound');
  });

  it('layout: three columns at 1280, two at 1024, one at 768 with the composer always in view', async () => {
    await open('angry');
    await page.fill('#reply', '你去告啊，我也不知道怎么办');
    await page.waitForFunction(() => document.querySelectorAll('#hits .hit').length >= 1, null, { timeout: 3000 });
    const rects = () => page.evaluate(() => {
      const r = (sel) => { const b = document.querySelector(sel).getBoundingClientRect(); return { l: b.left, r: b.right, t: b.top, b: b.bottom, w: b.width, h: b.height }; };
      return { list: r('.col-list'), transcript: r('#transcript'), side: r('.card-suggest'), composer: r('#composer'), send: r('#send'), reply: r('#reply'), vw: innerWidth, vh: innerHeight,
        xscroll: document.documentElement.scrollWidth - document.documentElement.clientWidth };
    });
    const shot = async (name) => {
      const file = path.join(SHOTS, name);
      await page.screenshot({ path: file });
      return file;
    };
    const inView = (g, what) => {
      assert.ok(g.composer.t >= 0 && g.composer.b <= g.vh + 1, `${what}: composer outside the window ${JSON.stringify(g.composer)} (vh ${g.vh})`);
      assert.ok(g.send.b <= g.vh && g.send.r <= g.vw, `${what}: send button off screen`);
    };

    await page.setViewportSize({ width: 1280, height: 800 });
    let g = await rects();
    await shot('console-1280.png');
    assert.ok(g.list.r <= g.transcript.l && g.transcript.r <= g.side.l, `1280: three columns side by side ${JSON.stringify(g)}`);
    assert.ok(Math.abs(g.list.t - g.side.t) < 2, '1280: the columns start at the same height');
    assert.ok(g.transcript.w >= 500, `1280: the conversation column is wide enough (${g.transcript.w})`);
    assert.ok(await page.isVisible(`.conv[data-id="${ids.angry}"] .conv-last`), '1280: list previews shown');
    assert.equal(g.xscroll, 0);
    inView(g, '1280');

    await page.setViewportSize({ width: 1024, height: 768 });
    g = await rects();
    await shot('console-1024.png');
    assert.ok(g.transcript.r <= g.side.l && Math.abs(g.transcript.t - g.side.t) < 80, `1024: conversation | assistant side by side ${JSON.stringify(g)}`);
    assert.ok(g.list.b <= g.transcript.t, '1024: the list is a strip above them');
    assert.ok(await page.isVisible(`.conv[data-id="${ids.angry}"] .conv-last`), '1024: list previews still shown');
    assert.equal(g.xscroll, 0);
    inView(g, '1024');

    await page.setViewportSize({ width: 768, height: 1024 });
    g = await rects();
    await shot('console-768-top.png');
    assert.ok(g.side.t >= g.transcript.b && Math.abs(g.side.l - g.transcript.l) < 2, `768: one column ${JSON.stringify(g)}`);
    assert.equal(g.xscroll, 0);
    inView(g, '768 (top)');
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    g = await rects();
    await shot('console-768-bottom.png');
    inView(g, '768 (scrolled down)');
    await page.evaluate(() => window.scrollTo(0, 0));

    await page.setViewportSize({ width: 1280, height: 800 });
    await page.fill('#reply', '');
  });

  it('layout: the demo shop keeps the console reply box in view at 1440 and 1024', async () => {
    const demo = await page.context().newPage();
    const dw = watch(demo, base, 'demo(screens)');
    for (const [width, height, columns] of [[1440, 900, 3], [1024, 768, 1]]) {
      await demo.setViewportSize({ width, height });
      await demo.goto(`${base}/demo?token=${token}`);
      await demo.waitForFunction(() => document.getElementById('status').textContent === '顾客端在线', null, { timeout: 10000 });
      await demo.click('[data-sample=angry]');
      const frame = demo.frameLocator('#console');
      await frame.locator('#reply').waitFor({ state: 'visible', timeout: 10000 });
      await demo.screenshot({ path: path.join(SHOTS, `demo-${width}.png`) });
      const box = await frame.locator('#reply').boundingBox();
      assert.ok(box && box.y >= 0 && box.y + box.height <= height, `demo ${width}: reply box in view ${JSON.stringify(box)}`);
      const cols = await frame.locator('body').evaluate(() => {
        const l = document.querySelector('.col-list').getBoundingClientRect();
        const m = document.querySelector('#transcript').getBoundingClientRect();
        const s = document.querySelector('.card-suggest').getBoundingClientRect();
        return 1 + (m.left >= l.right - 1 && Math.abs(l.top - m.top) < 80 ? 1 : 0) + (s.left >= m.right - 1 ? 1 : 0);
      });
      assert.equal(cols, columns, `demo ${width}: columns of the embedded console`);
    }
    assert.deepEqual(dw.problems, []);
    await demo.close();
  });

  it('no console errors, nothing loaded from outside; screenshots saved', (t) => {
    t.diagnostic(`screenshots in ${SHOTS}`);
    assert.ok(fs.readdirSync(SHOTS).length >= 6);
    assert.deepEqual(w.problems, []);
    assert.deepEqual(w.external, []);
  });
});
