// Browser tests of the exam player with DEMO-QUICK (on demand, 2 questions,
// 1 minute): autosave survives a reload while offline, review and submit
// lead to the result, and the timer submits by itself when time is up.
// Set E2E_SCREENSHOTS=1 to keep screenshots of each screen in e2e/out/.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isoDate, launchLearner, skipReason, useExamgate, watchCSP } from './harness.mjs';

const ZONE = 'Europe/Amsterdam';
const LEARNER = {
  firstName: 'Mere',
  lastName: 'Parata',
  email: 'mere.parata@example.com',
  externalId: 'e2e-learner-player',
  exam: 'DEMO-QUICK',
};
const SECOND_LEARNER = { firstName: 'Rawiri', email: 'rawiri.parata@example.com', externalId: 'e2e-learner-player-2' };
const OUT = fileURLToPath(new URL('./out/', import.meta.url));

describe('exam player in a browser', { skip: skipReason }, () => {
  const { withPage } = useExamgate();

  it('saves answers through a reload while offline, reviews and submits', async () => {
    const context = { timezoneId: ZONE, locale: 'en-GB', viewport: { width: 1024, height: 900 } };
    await withPage('player-submit', context, async (page) => {
      const csp = watchCSP(page);
      await launchLearner(page, { ...LEARNER, purchasedOn: isoDate(-1) });
      const firstAttempt = await start(page);
      await snap(page, 'player-1024');

      // Question 1 is true/false: the answer is saved at once, and announced once.
      await page.evaluate(() => {
        const heard = (window.__heard = []);
        const region = document.querySelector('[data-testid=save-announcement]');
        new MutationObserver(() => region.textContent && heard.push(region.textContent)).observe(region, {
          subtree: true,
          childList: true,
          characterData: true,
        });
      });
      await question(page, 1).getByRole('radio', { name: 'True' }).check();
      await saveStatus(page, 'Saved');
      assert.deepEqual(await page.evaluate(() => window.__heard), ['Saved'], 'one announcement per save');
      assert.equal(await page.getByTestId('save-status').getAttribute('aria-hidden'), 'true');
      await page.getByRole('button', { name: 'Next', exact: true }).click();
      await page.getByRole('heading', { name: 'Question 2 of 2' }).waitFor();
      assert.equal(await focusedText(page), 'Question 2 of 2', 'Next moves focus to the question heading');

      // Flag question 2 while its save cannot reach the server, then reload.
      await page.route('**/graphql', (route) =>
        route.request().postData()?.includes('flagItem') ? route.abort('internetdisconnected') : route.continue(),
      );
      const flag = page.getByRole('button', { name: 'Flag for review' });
      await flag.click();
      await saveStatus(page, 'Not saved, retrying');
      assert.equal(await flag.getAttribute('aria-pressed'), 'true');
      await page.unroute('**/graphql');
      await page.reload();

      // The reload opens the same question, with the flag from the local queue, and sends it.
      await page.getByRole('heading', { name: 'Question 2 of 2' }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Flag for review' }).getAttribute('aria-pressed'), 'true');
      await saveStatus(page, 'Saved');
      await page.getByRole('button', { name: 'Question 1 Answered', exact: true }).waitFor();
      await page.getByRole('button', { name: 'Question 2 Unanswered, flagged', exact: true }).click();

      // A second reload shows what the server stored, with nothing left locally.
      assert.equal(await page.evaluate((id) => localStorage.getItem(`examgate.attempt.${id}`), firstAttempt), '{"seq":2,"queue":[]}');
      await page.reload();
      await page.getByRole('button', { name: 'Question 2 Unanswered, flagged', exact: true }).waitFor();
      await page.getByRole('button', { name: 'Question 1 Answered', exact: true }).click();
      assert.ok(await question(page, 1).getByRole('radio', { name: 'True' }).isChecked(), 'question 1 is still answered');

      // The review lists question 2 as unanswered and flagged.
      await page.getByRole('button', { name: 'Review answers', exact: true }).click();
      await page.getByRole('heading', { name: 'Review your answers' }).waitFor();
      assert.equal(await focusedText(page), 'Review your answers');
      assert.match(await page.getByTestId('review-unanswered').innerText(), /Question 2/);
      assert.match(await page.getByTestId('review-flagged').innerText(), /Question 2/);
      await snap(page, 'review-1024');

      // Back to question 2 and answer it with the keyboard: Tab into the group, arrow to the next option.
      await page.getByTestId('review-unanswered').getByRole('button', { name: 'Question 2' }).click();
      await page.getByRole('heading', { name: 'Question 2 of 2' }).waitFor();
      await page.keyboard.press('Tab');
      await page.keyboard.press('Space');
      await page.keyboard.press('ArrowDown');
      assert.ok(await question(page, 2).getByRole('radio', { name: 'The server clock' }).isChecked());
      await saveStatus(page, 'Saved');

      // Submit, after backing out of the confirmation once with Escape.
      await page.getByRole('button', { name: 'Review answers', exact: true }).click();
      await page.getByRole('button', { name: 'Submit exam' }).click();
      const dialog = page.getByRole('dialog', { name: 'Submit now?' });
      await dialog.waitFor();
      assert.match(await dialog.innerText(), /You cannot change your answers afterwards\./);
      assert.equal(await focusedText(page), 'Back', 'focus starts on the harmless choice');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      await page.getByRole('button', { name: 'Submit exam' }).click();
      await dialog.getByRole('button', { name: 'Submit exam' }).click();

      await page.waitForURL((url) => url.pathname === `/attempts/${firstAttempt}/result`);
      await page.getByRole('heading', { name: 'You passed' }).waitFor();
      assert.equal(
        (await page.getByTestId('result-score').innerText()).trim(),
        'You scored 100 % (2 of 2 points). The pass mark is 50 %.',
      );
      await page.getByTestId('status').filter({ hasText: 'Your exam was submitted.' }).waitFor();
      assert.match(await page.locator('main').innerText(), /Your course will show this exam as completed\./);
      assert.equal(
        await page.getByRole('link', { name: 'Back to exam dashboard' }).getAttribute('href'),
        '/exams/DEMO-QUICK',
      );
      await snap(page, 'result-1024');
      assert.deepEqual(csp, [], 'the player must run under the server CSP');
    });
  });

  it('submits by itself when the 1-minute timer runs out', async () => {
    const context = { timezoneId: ZONE, locale: 'en-GB', viewport: { width: 360, height: 740 } };
    await withPage('player-timeout', context, async (page) => {
      // Another learner: a passed exam is not sat again.
      await launchLearner(page, { ...LEARNER, ...SECOND_LEARNER, purchasedOn: isoDate(-1) });
      const attempt = await start(page);

      // The whole exam is under a minute, so the 1-minute warning is due at once.
      await page.getByText('Less than 1 minute left.').waitFor();
      assert.equal(await page.getByText('Less than 1 minute left.').getAttribute('aria-live'), 'assertive');
      assert.ok(
        await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        'nothing scrolls sideways at 360 px',
      );
      // The timer stays in sight when the question scrolls (a short window, say a phone in landscape).
      await page.setViewportSize({ width: 360, height: 420 });
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      assert.ok((await page.evaluate(() => window.scrollY)) > 100, 'the page scrolls');
      const timer = await page.getByTestId('timer').boundingBox();
      assert.ok(timer && timer.y >= 0 && timer.y + timer.height <= 420, `timer scrolled away: ${JSON.stringify(timer)}`);
      await page.setViewportSize({ width: 360, height: 740 });
      await snap(page, 'player-360');

      await page.getByRole('heading', { name: 'You did not pass' }).waitFor({ timeout: 100_000 });
      assert.equal(new URL(page.url()).pathname, `/attempts/${attempt}/result`);
      await page.getByTestId('status').filter({ hasText: 'Time is up. Your answers were submitted.' }).waitFor();
      assert.equal(
        (await page.getByTestId('result-score').innerText()).trim(),
        'You scored 0 % (0 of 2 points). The pass mark is 50 %.',
      );
      assert.match(await page.getByTestId('attempt-status').innerText(), /^(Submitted|Time ran out) on /);
      await snap(page, 'result-360');
    });
  });
});

/** Opens the start page, starts the exam and returns the attempt id. */
async function start(page) {
  await page.goto('/exams/DEMO-QUICK/start');
  await page.getByRole('button', { name: 'Start exam' }).click();
  await page.waitForURL((url) => /^\/attempts\/[^/]+$/.test(url.pathname));
  await page.getByRole('heading', { name: 'Question 1 of 2' }).waitFor();
  return decodeURIComponent(new URL(page.url()).pathname.split('/')[2]);
}

const question = (page, n) => page.getByRole('group', { name: `Question ${n} of 2` });

const saveStatus = (page, text) => page.getByTestId('save-status').filter({ hasText: new RegExp(`^${text}$`) }).waitFor();

const focusedText = (page) => page.evaluate(() => document.activeElement?.textContent?.trim() ?? null);

async function snap(page, name) {
  if (process.env.E2E_SCREENSHOTS !== '1') return;
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}
