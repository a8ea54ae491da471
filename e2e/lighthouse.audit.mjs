// Lighthouse (mobile, its default throttling) on the learner's pages of the
// demo: dashboard, booking, exam and result. Run with `make lighthouse`
// (it builds first); not part of `make test`, as each page takes a Lighthouse
// run of several seconds and the scores move with the machine's load.
// Prints the scores, writes e2e/out/lighthouse.json, and fails when a page
// is under 95 performance or 100 accessibility.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import lighthouse from 'lighthouse';
import { chromium } from 'playwright-core';
import { findSlot, freePort, isoDate, launchLearner, skipReason, useExamgate } from './harness.mjs';

const TARGET = { performance: 95, accessibility: 100 };
const OUT = fileURLToPath(new URL('./out/', import.meta.url));

describe('lighthouse on the learner pages', { skip: skipReason }, () => {
  const env = useExamgate({ browser: false });

  it(`scores at least ${TARGET.performance} performance and ${TARGET.accessibility} accessibility`, { timeout: 600_000 }, async (t) => {
    // One browser for the sign-in and for Lighthouse, so its tabs share the session cookie.
    const port = await freePort();
    const browser = await chromium.launchPersistentContext(mkdtempSync(path.join(os.tmpdir(), 'examgate-lh-')), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      baseURL: env.baseURL,
      locale: 'en-GB',
      timezoneId: 'Europe/Amsterdam',
      args: ['--no-sandbox', '--disable-gpu', `--remote-debugging-port=${port}`],
    });
    const scores = [];
    const audit = async (name, url) => {
      const { lhr } = await lighthouse(url, { port, output: 'json', logLevel: 'error', onlyCategories: ['performance', 'accessibility'] });
      const row = {
        page: name,
        performance: Math.round(lhr.categories.performance.score * 100),
        accessibility: Math.round(lhr.categories.accessibility.score * 100),
        fcpMs: Math.round(lhr.audits['first-contentful-paint'].numericValue),
        lcpMs: Math.round(lhr.audits['largest-contentful-paint'].numericValue),
        tbtMs: Math.round(lhr.audits['total-blocking-time'].numericValue),
        cls: Number(lhr.audits['cumulative-layout-shift'].numericValue.toFixed(3)),
        transferKB: Math.round(lhr.audits['total-byte-weight'].numericValue / 1024),
      };
      scores.push(row);
      t.diagnostic(JSON.stringify(row));
    };
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      page.setDefaultTimeout(15_000);
      await launchLearner(page, { firstName: 'Ana', lastName: 'Lima', email: 'ana.lima@example.com', externalId: 'lh-learner', purchasedOn: isoDate(-3) });
      await audit('dashboard', `${env.baseURL}/exams/DEMO-101`);
      await audit('booking', `${env.baseURL}/exams/DEMO-101/book`);

      await page.goto('/exams/DEMO-101/book');
      const soon = await findSlot(page, Date.now());
      await page.locator(`button[data-start="${soon}"]`).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Confirm', exact: true }).click();
      await page.getByRole('button', { name: 'Start', exact: true }).click();
      await page.waitForURL((url) => /^\/attempts\/[^/]+$/.test(url.pathname));
      const attempt = page.url();
      await audit('exam', attempt);

      await page.goto(attempt);
      await page.getByRole('button', { name: 'Review answers', exact: true }).click();
      await page.getByRole('button', { name: 'Submit exam' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Submit exam' }).click();
      await page.waitForURL((url) => url.pathname.endsWith('/result'));
      await audit('result', page.url());
    } finally {
      await browser.close();
    }
    mkdirSync(OUT, { recursive: true });
    writeFileSync(path.join(OUT, 'lighthouse.json'), JSON.stringify(scores, null, 2) + '\n');
    console.table(scores);
    const under = scores.filter((s) => s.performance < TARGET.performance || s.accessibility < TARGET.accessibility);
    assert.deepEqual(under, [], 'pages under target');
  });
});
