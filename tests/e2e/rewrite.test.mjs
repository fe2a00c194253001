// rewrite.test.mjs — end-to-end: the console's one-click rewrite puts the engine's whole-draft
// `rewritten` in the composer (real `huashu serve`, headless Chromium). Run through run.sh.
// Why its own file: the rewrite is a contract between the engine and the console (the console
// must not splice rule texts into the agent's words itself), so the test reads the `rewritten`
// the server sent and compares the composer with it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, watch, until, serverInfo } from './lib.mjs';

const { base, token } = serverInfo();

/** (draft, words of it the rewrite must keep, words it must not keep). */
const CASES = [
  ['这个问题我也不知道怎么办，你爱上哪告上哪告', [], ['告', '不知道']],
  ['亲，你自己看不懂说明书吗', ['亲，'], ['看不懂', '说明书吗']],
  ['好的😊你 去 告 啊', ['好的😊'], ['告']],
];

let browser, cp, dp, cw;

describe('one-click whole-draft rewrite (real server)', () => {
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
    // A conversation to draft in: a customer asks, the console selects it.
    const before = await dp.getAttribute('.phone', 'data-conversation');
    await dp.click('#new-chat');
    const conv = await until(async () => {
      const id = await dp.getAttribute('.phone', 'data-conversation');
      return id && id !== before ? id : null;
    }, 'a new demo conversation');
    await dp.fill('#chat-input', '说明书看不懂，这个怎么用？');
    await dp.press('#chat-input', 'Enter');
    const sel = `.conv[data-id="${conv}"]`;
    await cp.waitForSelector(sel, { timeout: 5000 });
    await cp.click(sel);
    await cp.waitForFunction((c) => document.getElementById('transcript').dataset.conv === c, conv);
  });

  after(async () => {
    await browser?.close();
  });

  for (const [draft, keep, gone] of CASES) {
    it(`rewrites ${JSON.stringify(draft)} into the engine's clean whole text`, async () => {
      await cp.fill('#reply', '');
      await cp.locator('#reply').pressSequentially(draft, { delay: 10 });
      await cp.waitForSelector('#mirror mark.sev-block', { timeout: 3000 });
      assert.ok(await cp.isDisabled('#send'), 'a block hit disables 发送');
      const guard = await until(() => cw.received.findLast((m) => m.type === 'guard' && m.draft
        && cw.sent.some((s) => s.type === 'draft' && s.draft === m.draft && s.text === draft)), 'the guard answer to the full draft');
      assert.equal(typeof guard.rewritten, 'string', JSON.stringify(guard));

      await cp.click('.hit-block .btn-rewrite');
      const value = await cp.inputValue('#reply');
      assert.equal(value, guard.rewritten, 'the composer holds the engine\'s rewritten');
      for (const w of keep) assert.ok(value.includes(w), `kept ${w}: ${value}`);
      for (const w of gone) assert.ok(!value.includes(w), `removed ${w}: ${value}`);
      assert.ok(!value.includes('…'), `no placeholder: ${value}`);
      // Checked again by the server: clean, and 发送 is enabled.
      await cp.waitForFunction(() => document.getElementById('guard-state').textContent.includes('未发现服务忌语')
        && !document.getElementById('send').disabled, null, { timeout: 3000 });
      assert.equal(await cp.$('#mirror mark'), null, 'no highlight left');
    });
  }
});
