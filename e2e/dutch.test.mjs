// Browser test of a Dutch learner: with a browser whose first language is
// Dutch, the dashboard, the booking calendar and dialog, the player and the
// result speak Dutch throughout, with Dutch dates, and the page says lang=nl.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isoDate, launchLearner, skipReason, useExamgate, watchCSP } from './harness.mjs';

const ZONE = 'Europe/Amsterdam';
const CONTEXT = { timezoneId: ZONE, locale: 'nl-NL', viewport: { width: 1024, height: 900 } };
const LEARNER = { firstName: 'Sanne', lastName: 'de Vries', email: 'sanne.devries@example.com', externalId: 'e2e-learner-dutch' };
const DUTCH_MONTH = /januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december/;
const DUTCH_WEEKDAY = /maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag/;
// Words of the English catalogue that no Dutch page may show. The demo exams'
// own titles and questions are English content and are left out of the check.
const ENGLISH = /\b(Your|you|the|Book|Booked|Loading|Question|Submit|Time left|Saved|Back to|eligibility)\b/;

describe('a Dutch learner in a browser', { skip: skipReason }, () => {
  const { withPage } = useExamgate();

  it('books and takes an exam in Dutch', async () => {
    await withPage('dutch', CONTEXT, async (page) => {
      const csp = watchCSP(page);
      await launchLearner(page, { ...LEARNER, purchasedOn: isoDate(-1) });

      // The dashboard.
      await page.getByRole('heading', { name: 'Uw boeking' }).waitFor();
      assert.equal(await page.getAttribute('html', 'lang'), 'nl');
      await page.getByRole('heading', { name: 'Uw examenrecht' }).waitFor();
      const deadline = await page.getByTestId('eligibility-end').innerText();
      assert.match(deadline, /^Boek vóór /);
      assert.match(deadline, DUTCH_MONTH, 'the eligibility end is a Dutch date');
      await page.getByLabel('Tijdzone', { exact: true }).waitFor();
      await assertDutch(page);

      // The booking page and its dialog.
      await page.getByRole('link', { name: 'Tijdstip boeken' }).click();
      await page.waitForURL((url) => url.pathname === '/exams/DEMO-101/book');
      await page.locator('[data-testid=calendar][aria-busy=false]').waitFor();
      await page.getByLabel('Ga naar datum').waitFor();
      await page.getByRole('group', { name: 'Dagen van de week' }).waitFor();
      assert.match(await page.locator('.day-heading').innerText(), DUTCH_WEEKDAY, 'the day heading is Dutch');
      await assertDutch(page);
      const first = page.locator('button.first-available');
      assert.match(await first.innerText(), /^Eerste vrije tijd: /);
      await first.click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      const title = await dialog.getByRole('heading').innerText();
      assert.match(title, /^Boeken op .*\?$/);
      assert.match(title, DUTCH_WEEKDAY, 'the dialog names the weekday in Dutch');
      assert.match(title, DUTCH_MONTH);
      const said = await dialog.innerText();
      assert.match(said, /Het examen duurt 20 minuten\./);
      assert.match(said, /U kunt 30 minuten voor het geboekte tijdstip starten\./);
      assert.doesNotMatch(said, ENGLISH);
      await dialog.getByRole('button', { name: 'Bevestigen' }).click();

      // Back on the dashboard with the booking.
      await page.waitForURL((url) => url.pathname === '/exams/DEMO-101');
      await page.getByTestId('status').filter({ hasText: /^Geboekt op / }).waitFor();
      assert.match(await page.getByTestId('booking-time').innerText(), DUTCH_MONTH);
      assert.match(await page.getByTestId('countdown').innerText(), /^(Begint over|Zojuist begonnen|.* geleden begonnen)/);
      await page.getByRole('button', { name: 'Annuleren' }).waitFor();
      await assertDutch(page);

      // The player, with the on-demand quiz.
      await launchLearner(page, { ...LEARNER, purchasedOn: isoDate(-1), exam: 'DEMO-QUICK' });
      await page.getByText('Voor dit examen hoeft u niet te boeken.', { exact: false }).waitFor();
      await assertDutch(page);
      await page.getByRole('button', { name: 'Examen starten' }).click();
      await page.getByRole('heading', { name: 'Vraag 1 van 2' }).waitFor();
      assert.equal(await page.getAttribute('html', 'lang'), 'nl');
      await page.getByText('Resterende tijd').waitFor();
      await page.getByRole('radio', { name: 'Waar', exact: true }).check();
      await page.getByTestId('save-status').filter({ hasText: /^Opgeslagen$/ }).waitFor();
      await page.getByRole('button', { name: 'Vraag 1 Beantwoord', exact: true }).waitFor();
      await assertDutch(page);
      await page.getByRole('button', { name: 'Volgende', exact: true }).click();
      await page.getByRole('heading', { name: 'Vraag 2 van 2' }).waitFor();
      await page.getByRole('button', { name: 'Antwoorden nakijken', exact: true }).click();
      await page.getByRole('heading', { name: 'Uw antwoorden nakijken' }).waitFor();
      assert.match(await page.locator('.review').innerText(), /U hebt 1 van 2 vragen beantwoord\./);
      await page.getByRole('button', { name: 'Examen inleveren' }).click();
      const submit = page.getByRole('dialog', { name: 'Nu inleveren?' });
      assert.match(await submit.innerText(), /1 vraag is nog niet beantwoord\./);
      await submit.getByRole('button', { name: 'Examen inleveren' }).click();

      // The result.
      await page.waitForURL((url) => url.pathname.endsWith('/result'));
      await page.getByRole('heading', { name: 'U bent geslaagd' }).waitFor();
      assert.equal(
        (await page.getByTestId('result-score').innerText()).trim(),
        'U hebt 50 % gescoord (1 van 2 punten). De slaaggrens is 50 %.',
      );
      const ended = await page.getByTestId('attempt-status').innerText();
      assert.match(ended, /^Ingeleverd op /);
      assert.match(ended, DUTCH_MONTH, 'the submission time is a Dutch date');
      await page.getByRole('heading', { name: 'Uw antwoorden', exact: true }).waitFor();
      assert.match(await page.getByTestId('chosen').first().innerText(), /^Waar$/);
      await assertDutch(page);
      assert.deepEqual(csp, []);
    });
  });
});

/**
 * No English sentence on the page outside the exam's own content (its title
 * and questions, which the exam's author wrote).
 */
async function assertDutch(page) {
  const text = await page.evaluate(() => {
    const main = document.querySelector('main').cloneNode(true);
    main.querySelectorAll('h1, .result-exam, .stem, .option span, .item-answers dd, .exam-header .email, option').forEach((el) => el.remove());
    return main.innerText + ' ' + [...main.querySelectorAll('[aria-label]')].map((el) => el.getAttribute('aria-label')).join(' ');
  });
  const english = text.match(ENGLISH);
  assert.equal(english, null, `English on a Dutch page (${page.url()}): "${english?.[0]}" in\n${text}`);
}
