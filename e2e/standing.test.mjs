// Browser test of a learner with nothing left to do: DEMO-101 allows one
// attempt. The learner books the next slot, starts, submits without an
// answer and fails. From then on no page offers a booking or a Start: the
// result says no attempt is left (never "another attempt"), the review shows
// their answer and the right one, "Back to your course" appears once the
// result is sent, and the dashboard, start and booking pages say why.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bookingLink, findSlot, isoDate, launchLearner, skipReason, useExamgate, watchCSP } from './harness.mjs';

const EXAM = '/exams/DEMO-101';
const NO_ATTEMPTS = /You have used all 1 attempt for this exam, so it cannot be booked or taken again\./;

describe('a learner after their last attempt', { skip: skipReason }, () => {
  const env = useExamgate();
  const { withPage } = env;

  it('is never invited to book or start again', async () => {
    const context = { timezoneId: 'Europe/Amsterdam', locale: 'en-GB', viewport: { width: 1024, height: 900 } };
    await withPage('standing-last-attempt', context, async (page) => {
      const csp = watchCSP(page);
      await launchLearner(page, {
        firstName: 'Aroha',
        lastName: 'Ngata',
        email: 'aroha.ngata@example.com',
        externalId: 'e2e-learner-last-attempt',
        purchasedOn: isoDate(-3),
      });
      await page.getByRole('link', { name: 'Book a time slot' }).click();
      await page.waitForURL((url) => url.pathname === `${EXAM}/book`);
      const soon = await findSlot(page, Date.now());
      await page.locator(`button[data-start="${soon}"]`).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Confirm', exact: true }).click();
      await page.waitForURL((url) => url.pathname === EXAM);

      // The confirmation email's link opens without a session, on another device say.
      const link = await bookingLink(env.baseURL, 'aroha.ngata@example.com');
      const other = await env.browser.newContext({ baseURL: env.baseURL, locale: 'en-GB' });
      try {
        const away = await other.newPage();
        await away.goto(link);
        await away.getByRole('heading', { name: 'Demo Certification Exam' }).waitFor();
        assert.match(await away.getByTestId('booking-when').innerText(), /^Your booking: \w+day \d+ \w+ \d{4}, \d\d:\d\d–\d\d:\d\d \(/);
        assert.doesNotMatch(await away.locator('body').innerText(), /session has ended/);
        await away.getByRole('link', { name: 'Open your course' }).click();
        await away.waitForURL((url) => url.pathname === '/demo'); // the simulated course
      } finally {
        await other.close();
      }
      // In the booking's own browser the same link goes to the dashboard.
      await page.goto(link);
      await page.waitForURL((url) => url.pathname === EXAM);

      await page.getByRole('button', { name: 'Start', exact: true }).click();
      await page.waitForURL((url) => /^\/attempts\/[^/]+$/.test(url.pathname));
      await page.getByRole('heading', { name: 'Question 1 of 5' }).waitFor();

      // Submit with nothing answered: a fail.
      await page.getByRole('button', { name: 'Review answers', exact: true }).click();
      await page.getByRole('button', { name: 'Submit exam' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Submit exam' }).click();
      await page.waitForURL((url) => /^\/attempts\/[^/]+\/result$/.test(url.pathname));
      await page.getByRole('heading', { name: 'You did not pass' }).waitFor();
      const next = await page.getByTestId('next-step').innerText();
      assert.match(next, /You have no attempts left for this exam/);
      assert.doesNotMatch(next, /another attempt|next attempt/);

      // The review shows the learner's (missing) answer and the right one.
      const reviews = page.getByTestId('item-review');
      assert.equal(await reviews.count(), 5);
      assert.equal((await reviews.first().getByTestId('chosen').innerText()).trim(), 'Not answered');
      assert.notEqual((await reviews.first().getByTestId('right-answer').innerText()).trim(), '');

      // "Back to your course" only once the course has the result.
      const back = page.getByRole('link', { name: 'Back to your course' });
      const delivery = page.getByTestId('delivery');
      if ((await delivery.getAttribute('data-state')) === 'SENDING') assert.equal(await back.count(), 0);
      await delivery.and(page.locator('[data-state=SENT]')).waitFor({ timeout: 30_000 });
      await back.waitFor();
      assert.equal(await back.getAttribute('href'), `${EXAM}/course`);

      // The dashboard says why there is nothing to book, and leads back to the course.
      await page.goto(EXAM);
      await page.getByTestId('standing').filter({ hasText: NO_ATTEMPTS }).waitFor();
      assert.equal(await page.getByRole('link', { name: 'Book a time slot' }).count(), 0);
      assert.equal(await page.getByTestId('standing').getByRole('link', { name: 'Back to your course' }).getAttribute('href'), `${EXAM}/course`);

      // A link straight to the booking or start page says the same.
      await page.goto(`${EXAM}/book`);
      await page.getByText(NO_ATTEMPTS).waitFor();
      assert.equal(await page.locator('[data-testid=calendar]').count(), 0);
      await page.goto(`${EXAM}/start`);
      await page.getByTestId('standing').filter({ hasText: NO_ATTEMPTS }).waitFor();
      assert.equal(await page.getByRole('button', { name: /Start/ }).count(), 0);

      assert.deepEqual(csp, []);
    });
  });
});
