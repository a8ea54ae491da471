// Shared set-up of the end-to-end tests: the real examgate binary
// (EXAMGATE_BIN, default bin/examgate) in demo mode on a free port with a
// fresh database, and the system Chromium driven through playwright-core
// (for the tests that use a browser).

import { after, before } from 'node:test';
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

export const DAY_MS = 24 * 60 * 60 * 1000;

const browserMissing = !existsSync(CHROMIUM);
/** For describe(…, { skip }): false unless Chromium is missing and not required. */
export const skipReason =
  browserMissing && !BROWSER_REQUIRED ? `${CHROMIUM} not found (apt-get install chromium)` : false;
if (skipReason) console.log(`SKIPPED browser tests: ${skipReason}`);

/** A port nobody listens on right now: bind port 0, read it, close. */
export function freePort() {
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

/**
 * Registers before/after hooks in the calling describe() that start examgate
 * and Chromium, and returns what the tests use. Fields are filled in before().
 * browser: false starts no browser; env adds EXAMGATE_* variables.
 */
export function useExamgate({ browser = true, env: extraEnv = {} } = {}) {
  const env = {
    baseURL: '',
    browser: null,
    serverOutput: '',
    withPage,
  };
  let server; // the examgate child process
  let serverExited; // resolves when it exits
  let serverExit = null; // set once the child has exited
  let tmp;

  before(async () => {
    if (browser) {
      assert.ok(!browserMissing, `${CHROMIUM} not found and EXAMGATE_REQUIRE_BROWSER=1: apt-get install chromium`);
    }
    assert.ok(existsSync(BIN), `${BIN} not found: build it with make build`);

    tmp = mkdtempSync(path.join(os.tmpdir(), 'examgate-e2e-'));
    const port = await freePort();
    env.baseURL = `http://127.0.0.1:${port}`;
    server = spawn(BIN, [], {
      env: {
        ...process.env,
        EXAMGATE_DEMO: '1',
        EXAMGATE_ADDR: `127.0.0.1:${port}`,
        EXAMGATE_BASE_URL: env.baseURL,
        EXAMGATE_DATABASE_URL: path.join(tmp, 'e2e.db'),
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk) => {
      env.serverOutput += chunk;
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
    if (!browser) return;

    env.browser = await chromium.launch({
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
    await env.browser?.close();
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
        assert.fail(`examgate exited (${JSON.stringify(serverExit)}) before it was healthy:\n${env.serverOutput}`);
      }
      try {
        const res = await fetch(`${env.baseURL}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = err.cause?.code ?? err.message;
      }
      await sleep(HEALTH_POLL_MS);
    }
    assert.fail(`GET /healthz did not answer 200 within ${HEALTH_TIMEOUT_MS} ms (last: ${last}):\n${env.serverOutput}`);
  }

  /**
   * Runs fn with a fresh page; on failure saves a screenshot to e2e/out/ and
   * adds the server log to the error, then rethrows.
   */
  async function withPage(name, contextOptions, fn) {
    const context = await env.browser.newContext({ baseURL: env.baseURL, ...contextOptions });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    try {
      await fn(page);
    } catch (err) {
      mkdirSync(OUT, { recursive: true });
      const file = path.join(OUT, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      err.message += `\n(screenshot: ${file}; page: ${page.url()})\n--- examgate output ---\n${env.serverOutput.slice(-4000)}`;
      throw err;
    } finally {
      await context.close();
    }
  }

  return env;
}

/** Collects CSP violations the page reports, which would break the app silently. */
export function watchCSP(page) {
  const violations = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  return violations;
}

/**
 * Launches a learner through the demo TI simulator and waits for their
 * dashboard. purchasedOn is YYYY-MM-DD; the simulated purchase is at 12:00 UTC.
 */
export async function launchLearner(page, { firstName, lastName, email, externalId, purchasedOn, exam = 'DEMO-101' }) {
  await page.goto('/demo');
  await page.fill('input[name=firstName]', firstName);
  await page.fill('input[name=lastName]', lastName);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=externalId]', externalId);
  await page.fill('input[name=purchasedOn]', purchasedOn);
  await page.selectOption('select[name=exam]', exam);
  await page.getByRole('button', { name: 'Launch as learner' }).click();
  await page.waitForURL((url) => url.pathname === `/exams/${exam}`);
}

/** The UTC date `days` from today, as the demo form wants it. */
export function isoDate(days) {
  return new Date(Date.now() + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The start (as the server sent it) of the earliest open slot at or after
 * `notBefore`, other than `except`, going through the days with the
 * calendar's date field.
 */
export async function findSlot(page, notBefore, except) {
  await page.locator('[data-testid=calendar][aria-busy=false]').waitFor();
  const dateField = page.getByLabel('Go to date');
  const last = await dateField.getAttribute('max');
  let date = await page.evaluate(
    ([ms]) => new Intl.DateTimeFormat('en-CA', { timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone }).format(ms),
    [notBefore],
  );
  for (let day = 0; day < 21 && date <= last; day++) {
    await dateField.fill(date);
    await page.locator(`[data-testid=calendar][aria-busy=false][data-date="${date}"]`).waitFor();
    const starts = await page.$$eval('[data-testid=calendar] button.slot[data-start]:not([disabled])', (buttons) =>
      buttons.map((b) => b.dataset.start),
    );
    const match = starts
      .filter((s) => s !== except && Date.parse(s) >= notBefore)
      .sort((a, b) => Date.parse(a) - Date.parse(b))[0];
    if (match) return match;
    date = new Date(Date.parse(`${date}T12:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
  }
  assert.fail(`no open slot from ${new Date(notBefore).toISOString()} within three weeks`);
}

/**
 * The booking link of the newest booking email to `to`, read from the demo
 * page where the demo keeps sent emails. The worker sends it within moments
 * of the booking: asked again until it is there, for at most 20 s.
 */
export async function bookingLink(baseURL, to) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const html = await (await fetch(`${baseURL}/demo`)).text();
    const mails = html.split('<details>').filter((m) => m.includes(to) && m.includes('Your exam is booked'));
    const found = mails.at(-1)?.match(/https?:\/\/[^\s<]+\/b\/[A-Za-z0-9]+/);
    if (found) return found[0];
    assert.ok(Date.now() < deadline, `no booking email with a link to ${to} on /demo`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
