// Accessibility audit with axe-core in Chromium: the learner's pages
// (dashboard, booking page and its confirm dialog, a pending booking, the
// booking link page, the exam player, the result) have no serious or
// critical violation, the label-in-name rule (voice control) included.
// Lesser findings are printed as diagnostics.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { bookingLink, findSlot, isoDate, launchLearner, skipReason, useExamgate } from './harness.mjs';

const LEARNER = {
  firstName: 'Mele',
  lastName: 'Tupou',
  email: 'mele.tupou@example.com',
  externalId: 'e2e-learner-a11y',
  purchasedOn: isoDate(-3),
};

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

describe('accessibility of the learner pages', { skip: skipReason }, () => {
  const env = useExamgate();
  const { withPage } = env;

  it('has no serious or critical axe violation', async (t) => {
    // axe is injected as an inline script, which the server's CSP forbids.
    const context = { timezoneId: 'Europe/Amsterdam', locale: 'en-GB', viewport: { width: 390, height: 844 }, bypassCSP: true };
    await withPage('a11y', context, async (page) => {
      const audit = async (name) => {
        await page.addScriptTag({ content: axeSource });
        const { violations } = await page.evaluate(() =>
          // eslint-disable-next-line no-undef
          axe.run(document, { rules: { 'label-content-name-mismatch': { enabled: true } }, resultTypes: ['violations'] }),
        );
        for (const v of violations) t.diagnostic(`${name}: ${v.impact} ${v.id} (${v.nodes.length}): ${v.help}`);
        const bad = violations
          .filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
        assert.deepEqual(bad, [], `${name}: serious or critical axe violations`);
      };

      await launchLearner(page, LEARNER);
      await page.getByRole('heading', { name: 'Your booking' }).waitFor();
      await audit('dashboard');

      await page.getByRole('link', { name: 'Book a time slot' }).click();
      await page.locator('[data-testid=calendar][aria-busy=false]').waitFor();
      await audit('booking page');
      const soon = await findSlot(page, Date.now());
      await page.locator(`button[data-start="${soon}"]`).click();
      await page.getByRole('dialog').waitFor();
      await audit('confirm dialog');
      await page.getByRole('dialog').getByRole('button', { name: 'Confirm', exact: true }).click();
      await page.getByRole('button', { name: 'Start', exact: true }).waitFor();
      await audit('dashboard with a booking');
      // The page the booking email links to, as a browser without a session sees it.
      const link = await bookingLink(env.baseURL, LEARNER.email);
      await page.context().clearCookies();
      await page.goto(link);
      await page.getByRole('link', { name: 'Open your course' }).waitFor();
      await audit('booking link page');
      await launchLearner(page, LEARNER);

      await page.getByRole('button', { name: 'Start', exact: true }).click();
      await page.getByRole('heading', { name: 'Question 1 of 5' }).waitFor();
      await audit('exam player');
      await page.getByRole('button', { name: 'Review answers', exact: true }).click();
      await page.getByRole('button', { name: 'Submit exam' }).waitFor();
      await audit('review screen');
      await page.getByRole('button', { name: 'Submit exam' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Submit exam' }).click();
      await page.getByRole('heading', { name: 'You did not pass' }).waitFor();
      await audit('result');
    });
  });
});
