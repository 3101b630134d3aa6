// Shared helpers for the browser tests: a real shopkeeper server on a free
// loopback port with a fresh demo database, a tiny API client, and Chromium
// (Debian's, driven by playwright-core).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import crypto from 'node:crypto';
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.SHOPKEEPER_BIN || join(root, 'build', 'shopkeeper');
export const SHOTS = process.env.SHOPKEEPER_SHOTS || join(root, 'build', 'screenshots');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

export async function startServer(extra = []) {
  const dir = mkdtempSync(join(tmpdir(), 'shopkeeper-browser-'));
  const db = join(dir, 'shopkeeper.db');
  execFileSync(BIN, ['demo', '--db', db], { stdio: 'ignore' });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  let proc;
  async function up() {
    proc = spawn(BIN, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`,
      '--web', join(root, 'web'), ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr.on('data', (d) => { log += d; });
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(url + '/healthz')).ok) return; } catch (e) { /* not yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('shopkeeper did not start:\n' + log);
  }
  async function down() {
    proc.kill('SIGTERM');
    const code = await new Promise((r) => proc.once('exit', (c) => r(c)));
    if (/AddressSanitizer|runtime error:/.test(log)) throw new Error('sanitizer report:\n' + log);
    return code;
  }
  await up();
  return {
    url, dir, db,
    log: () => log,
    pid: () => proc.pid, // to pause (SIGSTOP) and resume (SIGCONT) the server
    down, up,
    async stop() {
      await down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function api(base, method, path, token, body) {
  const res = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: 'Bearer ' + token } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export async function login(base, email) {
  const r = await api(base, 'POST', '/v1/sessions', null, { email, password: 'shopkeeper-demo' });
  if (r.status !== 201) throw new Error('login ' + email + ': ' + JSON.stringify(r.body));
  return r.body.token;
}

// The Eddystone-EID of an identity key (hex) with exponent k at clock t.
export function eid(ikHex, k, t) {
  const aes = (key, block) => {
    const c = crypto.createCipheriv('aes-128-ecb', key, null);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(block), c.final()]);
  };
  const ik = Buffer.from(ikHex, 'hex');
  const tkBlock = Buffer.alloc(16); tkBlock[11] = 0xff; tkBlock.writeUInt16BE((t >>> 16) & 0xffff, 14);
  const tk = aes(ik, tkBlock);
  const eBlock = Buffer.alloc(16); eBlock[11] = k; eBlock.writeUInt32BE(((t >>> k) << k) >>> 0, 12);
  return aes(tk, eBlock).subarray(0, 8).toString('hex');
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

// The same screen at phone and desktop widths, the whole page: the viewport
// is stretched to the page's height so fixed bars sit where a person sees
// them; first, nothing may be wider than the smallest phone we support.
export async function shoot(page, name) {
  const vp = page.viewportSize();
  await page.evaluate(() => { const t = document.getElementById('toast'); if (t) t.hidden = true; });
  await page.setViewportSize({ width: 360, height: 740 });
  await page.waitForTimeout(80);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 360, `${name}: the page is ${wide}px wide at 360px`);
  for (const [size, base] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    await page.setViewportSize(base);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(120);
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: base.width, height: Math.max(base.height, height) });
    await page.waitForTimeout(120);
    await page.screenshot({ path: join(SHOTS, `${name}-${size}.png`) });
  }
  await page.setViewportSize(vp);
}

// Accessibility: axe-core (pinned in package-lock.json, read from this
// tree's node_modules, never fetched) run on the page as it stands, at phone
// and at desktop width. Fails on any serious or critical violation, listing
// each rule with the elements it found; returns the violations of lesser
// impact, for a test that wants to look at them. Call it on every screen a
// test opens, once the screen has drawn:
//   await axeCheck(page, 'counter-paired');
// options.exclude: CSS selectors axe should skip (say why where you use it).
const AXE = join(root, 'tests', 'browser', 'node_modules', 'axe-core', 'axe.min.js');
export async function axeCheck(page, name, options = {}) {
  const vp = page.viewportSize();
  const minor = [];
  try {
    for (const [size, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
      await page.setViewportSize(viewport);
      await page.waitForTimeout(60);
      if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE });
      const violations = await page.evaluate(async (exclude) => {
        // colours are judged as they settle: an entrance animation (the
        // counter's card fades in) is finished first, else a loaded machine
        // catches it half transparent
        for (const a of document.getAnimations()) a.finish();
        const r = await window.axe.run(exclude.length ? { exclude: exclude.map((s) => [s]) } : document,
          { resultTypes: ['violations'] });
        return r.violations.map((v) => ({
          id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.map((n) => n.target.join(' ') + (n.failureSummary ? ' — ' + n.failureSummary.replace(/\s+/g, ' ') : '')),
        }));
      }, options.exclude || []);
      const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      minor.push(...violations.filter((v) => !bad.includes(v)).map((v) => ({ size, ...v })));
      assert.equal(bad.length, 0, `${name} (${size}, ${viewport.width}px): axe-core found\n` +
        bad.map((v) => `  [${v.impact}] ${v.id}: ${v.help}\n` + v.nodes.slice(0, 8).map((n) => '      ' + n).join('\n')).join('\n'));
    }
  } finally {
    if (vp) await page.setViewportSize(vp);
  }
  return minor;
}
