// End-to-end test of the demo page: serves web/ on 127.0.0.1, drives Debian's Chromium with
// playwright-core, runs each overflow policy and checks the numbers the page shows, then
// reloads a persisted run and checks that what was pending is what gets replayed.
// Screenshots go to out/ at the repository root. Exits non-zero if any check fails.
import { createServer } from 'node:http';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = fileURLToPath(new URL('.', import.meta.url));
const webRoot = resolve(here, '..');
const outDir = resolve(here, '../../out');
const types = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json',
};

function serve() {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    let file = join(webRoot, path);
    if (!file.startsWith(webRoot)) { res.writeHead(403).end(); return; }
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` (${detail})` : ''}`);
}

async function numbers(page) {
  return page.evaluate(() => {
    const n = (id) => Number(document.getElementById(id).textContent);
    return { depth: n('depth'), pushed: n('pushed'), processed: n('processed'),
      evicted: n('evicted'), refused: n('refused'), pending: n('pending'),
      replayed: n('replayed') };
  });
}

async function setRange(page, id, value) {
  await page.$eval(`#${id}`, (el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}

async function ready(page) {
  await page.waitForSelector('body[data-ready="1"][data-state="idle"]', { timeout: 20000 });
}

async function run(page, ms) {
  await page.click('#start');
  await page.waitForSelector('body[data-state="running"]');
  await page.waitForTimeout(ms);
  await page.click('#stop');
  await page.waitForSelector('body[data-state="stopped"]', { timeout: 20000 });
  return numbers(page);
}

const server = await serve();
const base = `http://127.0.0.1:${server.address().port}/`;
const profile = mkdtempSync(join(tmpdir(), 'plover-e2e-'));
mkdirSync(outDir, { recursive: true });
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 760 },
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

try {
  const page = context.pages()[0] ?? await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base);
  await ready(page);
  check('page loads and signals ready', (await page.$('body[data-ready="1"]')) !== null);

  // A producer well above the consumer, so every policy meets a full queue.
  await setRange(page, 'rate', 1500);
  await setRange(page, 'speed', 200);
  await page.fill('#capacity', '32');
  await page.dispatchEvent('#capacity', 'change');
  await ready(page);

  for (const policy of ['block', 'drop-oldest', 'drop-newest']) {
    await page.selectOption('#policy', policy);
    await ready(page);
    const m = await run(page, 1500);
    const shown = JSON.stringify(m);
    check(`${policy}: events were processed`, m.processed > 0 && m.pushed > 0, shown);
    if (policy === 'block') {
      check('block: nothing evicted or refused', m.evicted === 0 && m.refused === 0, shown);
    } else if (policy === 'drop-oldest') {
      check('drop-oldest: events were evicted', m.evicted > 0 && m.refused === 0, shown);
    } else {
      check('drop-newest: events were refused', m.refused > 0 && m.evicted === 0, shown);
    }
    check(`${policy}: depth within capacity`, m.depth <= 32, shown);
  }
  await page.screenshot({ path: join(outDir, 'web-e2e-policies.png'), fullPage: true });

  // Persistence: a run stopped with events still queued, then a reload.
  await page.selectOption('#policy', 'block');
  await ready(page);
  await page.check('#persistence');
  await ready(page);
  await setRange(page, 'speed', 100);
  const before = await run(page, 1500);
  check('persisted run leaves events pending', before.pending > 0, JSON.stringify(before));
  await page.reload();
  await ready(page);
  const after = await numbers(page);
  check('reload replays exactly the pending events', after.replayed === before.pending,
    `pending before reload ${before.pending}, replayed ${after.replayed}`);
  const message = await page.textContent('#message');
  check('page says how many were replayed', message.includes(`Replayed ${before.pending}`),
    message);
  // Waits up to 20 s until the page shows every replayed event handled and the log empty; a
  // timeout is reported by the check, not thrown.
  const drained = await page
    .waitForFunction((replayed) => {
      const n = (id) => Number(document.getElementById(id).textContent);
      return n('processed') >= replayed && n('pending') === 0;
    }, after.replayed, { timeout: 20000 })
    .then(() => true, () => false);
  const end = await numbers(page);
  check('replayed events are handled and acknowledged',
    drained && after.replayed > 0 && end.pending === 0 && end.processed >= after.replayed,
    JSON.stringify(end));
  await page.waitForTimeout(600); // a few chart samples
  await page.screenshot({ path: join(outDir, 'web-e2e-replay.png'), fullPage: true });
  check('no uncaught page errors', errors.length === 0, errors.join('; '));
} catch (e) {
  check('test ran to the end', false, e.message);
} finally {
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}

console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
