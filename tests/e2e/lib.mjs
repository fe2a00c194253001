// lib.mjs — shared helpers for the browser end-to-end tests: launching Debian's Chromium through
// playwright-core, watching every page for console errors and off-origin requests, recording the
// WebSocket frames a page sends and receives, and restarting the real server started by run.sh.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = path.join(HERE, 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-quic', '--no-first-run', '--disable-sync'];

export function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/**
 * Records, for one page: console errors/warnings, page errors, requests that leave `origin`,
 * and the JSON WebSocket frames sent/received. `allowNetworkErrors` lets a test excuse the
 * browser's own "WebSocket connection failed" lines while it has stopped the server on purpose.
 */
export function watch(page, origin, label) {
  const w = { label, problems: [], external: [], requests: [], sent: [], received: [], allowNetworkErrors: false };
  const wsOrigin = origin.replace(/^http/, 'ws');
  page.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warning') return;
    const text = msg.text();
    if (w.allowNetworkErrors && /WebSocket connection to|ERR_CONNECTION_REFUSED|Failed to load resource/.test(text)) return;
    w.problems.push(`${label} console.${msg.type()}: ${text}`);
  });
  page.on('pageerror', (err) => w.problems.push(`${label} pageerror: ${err.message}`));
  page.on('request', (req) => {
    const url = req.url();
    w.requests.push({ url, type: req.resourceType(), navigation: req.isNavigationRequest() });
    if (url.startsWith(`${origin}/`) || url === origin || url.startsWith(`${wsOrigin}/`) || url.startsWith('data:')) return;
    w.external.push(url);
  });
  page.on('websocket', (ws) => {
    w.requests.push({ url: ws.url(), type: 'websocket', navigation: false });
    if (!ws.url().startsWith(`${wsOrigin}/`)) w.external.push(ws.url());
    ws.on('framesent', (f) => { try { w.sent.push(JSON.parse(f.payload)); } catch { /* binary */ } });
    ws.on('framereceived', (f) => { try { w.received.push(JSON.parse(f.payload)); } catch { /* binary */ } });
  });
  return w;
}

/** Polls `fn` until it returns a truthy value (returned) or `ms` elapse (throws with `what`). */
export async function until(fn, what, ms = 5000, every = 25) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

// ---- the real server (started by run.sh) ----------------------------------------------------

export function serverInfo() {
  const base = process.env.HUASHU_BASE;
  const token = process.env.HUASHU_TOKEN;
  if (!base || !token) throw new Error('HUASHU_BASE/HUASHU_TOKEN not set: run the tests through run.sh');
  return { base, token, port: Number(new URL(base).port) };
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** SIGKILLs the server run.sh started (a crash, not a graceful stop) and waits until its port is closed. */
export async function killServer() {
  const pidFile = process.env.HUASHU_PID_FILE;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  const { port } = serverInfo();
  await until(async () => !(await portOpen(port)), 'the server port to close', 10000, 50);
}

/**
 * Starts the server again with the same arguments (same --db and port), records its pid for
 * run.sh's cleanup, and resolves with the token of its `console:` line.
 */
export async function startServerAgain() {
  const bin = process.env.HUASHU_BIN;
  const args = JSON.parse(process.env.HUASHU_SERVE_ARGS);
  const logPath = path.join(process.env.HUASHU_WORK ?? ARTIFACTS, 'server-restarted.log');
  const log = fs.openSync(logPath, 'w');
  const child = spawn(bin, args, { stdio: ['ignore', log, log], detached: true });
  child.unref();
  fs.closeSync(log);
  fs.writeFileSync(process.env.HUASHU_PID_FILE, String(child.pid));
  let exited = null;
  child.once('exit', (code) => { exited = code; });
  const line = await until(() => {
    if (exited !== null) throw new Error(`restarted server exited with ${exited}: ${fs.readFileSync(logPath, 'utf8')}`);
    return /console: (http\S+)/.exec(fs.readFileSync(logPath, 'utf8'))?.[1];
    // A debug build compiles the book (and trains its model) at start: on a loaded machine
    // that takes well over 15 s, and the server is useless to the test until it is done.
  }, 'the restarted server to print its console line', 60000, 50);
  return new URL(line).searchParams.get('token');
}

/**
 * Reads the server's SQLite database (WAL: safe beside the running writer) with python3's
 * sqlite3 module; null when python3 is not there. Used only to check that what the protocol
 * acknowledged is really stored (nothing in the HTTP API exposes suggestion feedback).
 */
export function dbQuery(sql, params = []) {
  const args = JSON.parse(process.env.HUASHU_SERVE_ARGS ?? '[]');
  const db = args[args.indexOf('--db') + 1];
  const py = 'import json,sqlite3,sys\nc=sqlite3.connect("file:"+sys.argv[1]+"?mode=ro",uri=True)\nprint(json.dumps(c.execute(sys.argv[2],json.loads(sys.argv[3])).fetchall()))';
  try {
    return JSON.parse(execFileSync('python3', ['-c', py, db, sql, JSON.stringify(params)], { encoding: 'utf8' }));
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
}

/** The value of a counter in the server's Prometheus text (`GET /metrics`), e.g. huashu_feedback_total. */
export async function metric(name) {
  const { base } = serverInfo();
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}
