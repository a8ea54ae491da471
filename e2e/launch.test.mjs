// Browser tests of the whole launch flow: the demo TI simulator signs a launch
// link, the Go server turns it into a session, and the SPA shows the exam.
// Runs the real binary (EXAMGATE_BIN, default bin/examgate) in demo mode and
// drives the system Chromium through playwright-core.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = path.join(ROOT, 'e2e', 'out');
const CHROMIUM = '/usr/bin/chromium';
const BIN = process.env.EXAMGATE_BIN ? path.resolve(process.env.EXAMGATE_BIN) : path.join(ROOT, 'bin', 'examgate');
const BROWSER_REQUIRED = process.env.EXAMGATE_REQUIRE_BROWSER === '1';
const HEALTH_POLL_MS = 100;
const HEALTH_TIMEOUT_MS = 15_000;
const DAY_MS = 24 * 60 * 60 * 1000;

const browserMissing = !existsSync(CHROMIUM);
const skipReason = browserMissing && !BROWSER_REQUIRED ? `${CHROMIUM} not found (apt-get install chromium)` : false;
if (skipReason) console.log(`SKIPPED browser tests: ${skipReason}`);

/** A port nobody listens on right now: bind port 0, read it, close. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe('examgate in a browser', { skip: skipReason }, () => {
  let server; // the examgate child process
  let serverExited; // resolves when it exits
  let serverOutput = '';
  let serverExit = null; // set once the child has exited
  let tmp;
  let baseURL;
  let browser;

  before(async () => {
    assert.ok(!browserMissing, `${CHROMIUM} not found and EXAMGATE_REQUIRE_BROWSER=1: apt-get install chromium`);
    assert.ok(existsSync(BIN), `${BIN} not found: build it with make build`);

    tmp = mkdtempSync(path.join(os.tmpdir(), 'examgate-e2e-'));
    const port = await freePort();
    baseURL = `http://127.0.0.1:${port}`;
    server = spawn(BIN, [], {
      env: {
        ...process.env,
        EXAMGATE_DEMO: '1',
        EXAMGATE_ADDR: `127.0.0.1:${port}`,
        EXAMGATE_BASE_URL: baseURL,
        EXAMGATE_DATABASE_URL: path.join(tmp, 'e2e.db'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk) => {
      serverOutput += chunk;
    };
    server.stdout.setEncoding('utf8').on('data', collect);
    server.stderr.setEncoding('utf8').on('data', collect);
    server.once('error', (err) => {
      serverExit = { error: err.message }; // could not start at all
    });
    serverExited = new Promise((resolve) =>
      server.once('exit', (code, signal) => {
        serverExit = { code, signal };
        resolve();
      }),
    );

    await waitForHealthy();

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    if (server && !serverExit) {
      server.kill('SIGTERM');
      const killed = await Promise.race([serverExited.then(() => true), sleep(5000).then(() => false)]);
      if (!killed) {
        server.kill('SIGKILL');
        await serverExited;
      }
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** Polls GET /healthz until it answers 200, the server dies, or time runs out. */
  async function waitForHealthy() {
    const tries = HEALTH_TIMEOUT_MS / HEALTH_POLL_MS;
    let last = 'no answer';
    for (let i = 0; i < tries; i++) {
      if (serverExit) {
        assert.fail(`examgate exited (${JSON.stringify(serverExit)}) before it was healthy:\n${serverOutput}`);
      }
      try {
        const res = await fetch(`${baseURL}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = err.cause?.code ?? err.message;
      }
      await sleep(HEALTH_POLL_MS);
    }
    assert.fail(`GET /healthz did not answer 200 within ${HEALTH_TIMEOUT_MS} ms (last: ${last}):\n${serverOutput}`);
  }

  /**
   * Runs fn with a fresh page; on failure saves a screenshot to e2e/out/ and
   * adds the server log to the error, then rethrows.
   */
  async function withPage(name, contextOptions, fn) {
    const context = await browser.newContext({ baseURL, ...contextOptions });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    try {
      await fn(page);
    } catch (err) {
      mkdirSync(OUT, { recursive: true });
      const file = path.join(OUT, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      err.message += `\n(screenshot: ${file}; page: ${page.url()})\n--- examgate output ---\n${serverOutput.slice(-4000)}`;
      throw err;
    } finally {
      await context.close();
    }
  }

  /** Collects CSP violations the page reports, which would break the app silently. */
  function watchCSP(page) {
    const violations = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) violations.push(msg.text());
    });
    return violations;
  }

  it('launches a learner from the demo TI into the exam dashboard', async () => {
    await withPage('dashboard', { timezoneId: 'Pacific/Auckland', locale: 'en-GB' }, async (page) => {
      const csp = watchCSP(page);
      const purchasedOn = new Date(Date.now() - 10 * DAY_MS).toISOString().slice(0, 10); // YYYY-MM-DD in UTC

      await page.goto('/demo');
      await page.fill('input[name=firstName]', 'Aroha');
      await page.fill('input[name=lastName]', 'Ngata');
      await page.fill('input[name=email]', 'aroha.ngata@example.com');
      await page.fill('input[name=externalId]', 'e2e-learner-1');
      await page.fill('input[name=purchasedOn]', purchasedOn);
      await page.selectOption('select[name=exam]', 'DEMO-101');
      await page.getByRole('button', { name: 'Launch as learner' }).click();

      await page.waitForURL((url) => url.pathname === '/exams/DEMO-101');
      assert.ok(!page.url().includes('jwt='), `the launch token must not stay in the URL: ${page.url()}`);

      const heading = page.locator('h1');
      await heading.filter({ hasText: 'Demo Certification Exam' }).waitFor();
      assert.match(await heading.innerText(), /Demo Certification Exam/);
      assert.match(await page.locator('main').innerText(), /Aroha Ngata/);

      // The simulated purchase is at 12:00 UTC on purchasedOn; DEMO-101 allows 90 days.
      const endsAt = Date.parse(`${purchasedOn}T12:00:00Z`) + 90 * DAY_MS;
      // Formatted with the browser's own Intl (explicit locale and zone, not the
      // app's code) so Node's and Chromium's ICU versions cannot disagree.
      const expectedDate = await page.evaluate(
        (ms) =>
          new Intl.DateTimeFormat('en-GB', {
            dateStyle: 'long',
            timeStyle: 'short',
            timeZone: 'Pacific/Auckland',
          }).format(new Date(ms)),
        endsAt,
      );
      const eligibility = page.locator('[data-testid=eligibility-end]');
      await eligibility.waitFor();
      assert.equal((await eligibility.innerText()).trim(), `Book before ${expectedDate} (Pacific/Auckland)`);
      assert.deepEqual(csp, [], 'the dashboard must run under the server CSP');

      // The launch made examgate look the purchase up in (simulated) TI.
      await page.goto('/demo');
      const rows = await page.$$eval('[data-testid=ti-calls] tr', (trs) =>
        trs.map((tr) => Array.from(tr.cells, (cell) => cell.textContent.trim())),
      );
      assert.ok(
        rows.some((cells) => cells.includes('GET') && cells.some((c) => c.startsWith('/incoming/v2/events/coursePurchase'))),
        `expected a GET of /incoming/v2/events/coursePurchase among the TI calls:\n${JSON.stringify(rows, null, 1)}`,
      );
    });
  });

  it('tells a visitor without a session to go back to their course', async () => {
    await withPage('no-session', {}, async (page) => {
      await page.goto('/exams/DEMO-101');
      await page.getByRole('heading', { name: 'Your session has ended' }).waitFor();
      assert.match(await page.locator('main').innerText(), /Go back to your course and open the exam again\./);
    });
  });

  it('serves GraphiQL at /playground without other origins', async () => {
    await withPage('playground', {}, async (page) => {
      const origin = new URL(baseURL).origin;
      const foreign = [];
      const failed = [];
      page.on('request', (req) => {
        const url = new URL(req.url());
        // data: and blob: URLs never leave the page; everything else must be ours.
        if (url.protocol !== 'data:' && url.protocol !== 'blob:' && url.origin !== origin) foreign.push(req.url());
      });
      page.on('requestfailed', (req) => failed.push(`${req.url()}: ${req.failure()?.errorText}`));

      await page.goto('/playground');
      await page.locator('.graphiql-container').waitFor();
      await page.waitForLoadState('networkidle');
      assert.deepEqual(foreign, [], 'GraphiQL must be fully bundled');
      assert.deepEqual(failed, [], 'no request may fail');
    });
  });
});
