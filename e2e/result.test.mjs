// Browser test of a result's way back to the course, at 360 px: an on-demand
// exam (DEMO-QUICK) started from the dashboard and passed; the result page
// follows the delivery to the simulated TI until it is sent, the simulator
// received the grade, and "Back to your course" signs the learner in to TI.
// Set E2E_SCREENSHOTS=1 to keep screenshots of each screen in e2e/out/.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isoDate, launchLearner, skipReason, useExamgate, watchCSP } from './harness.mjs';

const LEARNER = {
  firstName: 'Hemi',
  lastName: 'Walker',
  email: 'hemi.walker@example.com',
  externalId: 'e2e-learner-result',
  exam: 'DEMO-QUICK',
};
const EXAM = '/exams/DEMO-QUICK';
const SENDING = 'Sending your result to your course…';
const SENT = 'Sent to your course.';
const OUT = fileURLToPath(new URL('./out/', import.meta.url));

describe('result delivery in a browser', { skip: skipReason }, () => {
  const { withPage } = useExamgate();

  it('sends a passed result to the course and leads back to it', async (t) => {
    const context = { timezoneId: 'Europe/Amsterdam', locale: 'en-GB', viewport: { width: 360, height: 740 } };
    await withPage('result-delivery', context, async (page) => {
      const csp = watchCSP(page);
      await launchLearner(page, { ...LEARNER, purchasedOn: isoDate(-10) });

      // An on-demand exam: no booking, a Start button with what the exam takes.
      await page.getByRole('heading', { name: 'Your exam' }).waitFor();
      const facts = await page.getByTestId('exam-facts').innerText();
      assert.match(facts, /2 questions/);
      assert.match(facts, /1 minute to answer them/);
      assert.equal(await page.getByRole('link', { name: 'Book a time slot' }).count(), 0);
      await assertNoSidewaysScroll(page);
      await snap(page, 'dashboard-on-demand-360');

      // The app never reloads from here to the result, so this sees every delivery text.
      await recordDeliveryTexts(page);

      await page.getByRole('button', { name: 'Start exam' }).click();
      await page.waitForURL((url) => /^\/attempts\/[^/]+$/.test(url.pathname));
      const attempt = new URL(page.url()).pathname.split('/')[2];

      await page.getByRole('heading', { name: 'Question 1 of 2' }).waitFor();
      assert.match(await question(page, 1).innerText(), /examgate scores answers on the server\./);
      await question(page, 1).getByRole('radio', { name: 'True' }).check();
      await saveStatus(page, 'Saved');
      await page.getByRole('button', { name: 'Next', exact: true }).click();
      await page.getByRole('heading', { name: 'Question 2 of 2' }).waitFor();
      assert.match(await question(page, 2).innerText(), /What does the timer follow\?/);
      await question(page, 2).getByRole('radio', { name: 'The server clock' }).check();
      await saveStatus(page, 'Saved');

      await page.getByRole('button', { name: 'Review answers', exact: true }).click();
      await page.getByRole('button', { name: 'Submit exam' }).click();
      await page.getByRole('dialog', { name: 'Submit now?' }).getByRole('button', { name: 'Submit exam' }).click();

      await page.waitForURL((url) => url.pathname === `/attempts/${attempt}/result`);
      const resultPath = new URL(page.url()).pathname;
      await page.getByRole('heading', { name: 'You passed' }).waitFor();
      assert.match(await page.locator('main').innerText(), /Your course will show this exam as completed\./);

      // The worker posts the grade within seconds; the page asks every 2 s.
      const delivery = page.getByTestId('delivery');
      await delivery.filter({ hasText: SENT }).waitFor({ timeout: 30_000 });
      assert.equal(await delivery.getAttribute('role'), 'status');
      assert.equal(await delivery.getAttribute('aria-live'), 'polite');
      const seen = await page.evaluate(() => window.__deliveryTexts);
      t.diagnostic(`delivery texts seen: ${JSON.stringify(seen)}`);
      // "Sending…" may be over before the page loads; when it was shown, it came first.
      assert.ok(seen.length === 1 || (seen.length === 2 && seen[0] === SENDING), `unexpected sequence ${JSON.stringify(seen)}`);
      assert.equal(seen.at(-1), SENT);

      const back = page.getByRole('link', { name: 'Back to your course' });
      assert.equal(await back.getAttribute('href'), `${EXAM}/course`);
      await assertNoSidewaysScroll(page);
      await snap(page, 'result-delivery-360');

      // The simulated TI received the grade.
      await page.goto('/demo');
      const calls = await page.$$eval('[data-testid=ti-calls] tbody tr', (rows) =>
        rows.map((row) => Array.from(row.cells, (cell) => cell.textContent.trim())),
      );
      assert.ok(
        calls.some(([, method, path]) => method === 'POST' && path === '/incoming/v2/assignmentExternalActivity'),
        `no POST of the grade among the TI calls: ${JSON.stringify(calls)}`,
      );

      // Back on the result page, the way back signs the learner in to TI with a token TI verified.
      await page.goBack();
      await page.waitForURL((url) => url.pathname === resultPath);
      await back.click();
      await page.waitForURL((url) => url.pathname === '/ti-sim/access/jwt');
      const signedIn = await page.locator('body').innerText();
      assert.match(signedIn, new RegExp(`Signed in to the simulated TI as ${escape(LEARNER.email)}\\.`));
      assert.match(signedIn, /\/learn\/course\/demo-course/);

      // The dashboard sums up the result, already sent; a passed exam is not started again.
      await page.goto(EXAM);
      const summary = page.getByTestId('result-summary');
      await summary.getByText('You passed with 100 %.').waitFor();
      await summary.getByTestId('delivery').filter({ hasText: SENT }).waitFor();
      assert.equal(await summary.getByRole('link', { name: 'See your result' }).getAttribute('href'), resultPath);
      assert.equal(await page.getByRole('button', { name: 'Start exam' }).count(), 0);
      await assertNoSidewaysScroll(page);
      await snap(page, 'dashboard-result-360');

      // A link straight to the start page says so too, instead of offering Start.
      await page.goto(`${EXAM}/start`);
      await page.getByText('You have passed this exam, so there is nothing more to book or take.').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Start exam' }).count(), 0);

      assert.deepEqual(csp, [], 'the result page must run under the server CSP');
    });
  });
});

/** Keeps, in window.__deliveryTexts, each text the delivery region shows, in order. */
function recordDeliveryTexts(page) {
  return page.evaluate(() => {
    const seen = (window.__deliveryTexts = []);
    const record = () => {
      const text = document.querySelector('[data-testid=delivery]')?.textContent ?? null;
      if (text !== null && seen.at(-1) !== text) seen.push(text);
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

const question = (page, n) => page.getByRole('group', { name: `Question ${n} of 2` });

const saveStatus = (page, text) => page.getByTestId('save-status').filter({ hasText: new RegExp(`^${text}$`) }).waitFor();

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function assertNoSidewaysScroll(page) {
  assert.ok(
    await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
    'nothing scrolls sideways at 360 px',
  );
}

async function snap(page, name) {
  if (process.env.E2E_SCREENSHOTS !== '1') return;
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}
