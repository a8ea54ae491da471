// Browser test of booking: book, reschedule, cancel and start DEMO-101, which
// is open around the clock in Europe/Amsterdam with 30-minute slots, while
// the browser runs in America/New_York so every time shown is converted.
// Start opens the player, and the dashboard then leads back into the exam.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DAY_MS, findSlot, isoDate, launchLearner, skipReason, useExamgate, watchCSP } from './harness.mjs';

const ZONE = 'America/New_York';
const LOCALE = 'en-GB';
const EXAM = '/exams/DEMO-101';

describe('booking in a browser', { skip: skipReason }, () => {
  const { withPage } = useExamgate();

  it('books, reschedules, cancels and starts an exam', async () => {
    const context = { timezoneId: ZONE, locale: LOCALE, viewport: { width: 1280, height: 900 } };
    await withPage('booking', context, async (page) => {
      const csp = watchCSP(page);
      await launchLearner(page, {
        firstName: 'Wiremu',
        lastName: 'Tane',
        email: 'wiremu.tane@example.com',
        externalId: 'e2e-learner-booking',
        purchasedOn: isoDate(-10),
      });
      await page.getByRole('heading', { name: 'Your booking' }).waitFor();
      assert.equal(await page.getByLabel('Time zone', { exact: true }).inputValue(), ZONE, 'the browser zone is the default');

      // Book a slot at least two days ahead: Start waits for check-in, Cancel and Reschedule are open.
      await page.getByRole('link', { name: 'Book a time slot' }).click();
      await page.waitForURL((url) => url.pathname === `${EXAM}/book`);
      const first = await findSlot(page, Date.now() + 2 * DAY_MS);
      const firstButton = page.locator(`button[data-start="${first}"]`);
      assert.equal(
        (await firstButton.locator('.slot-time').innerText()).trim(),
        await format(page, first, { timeStyle: 'short', timeZone: ZONE }),
        'slot buttons show the local time of the slot',
      );
      await firstButton.click();
      const booked = await shown(page, first);
      // The dialog names the weekday, the exam's own length (not the 30 min seat) and the rules.
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      const said = await dialog.innerText();
      assert.match(said, /The exam takes 20 minutes\./);
      assert.match(said, /Start opens 30 minutes before the booked time\./);
      assert.match(said, /You can cancel or move it until 24 hours before it starts/);
      assert.equal(await dialog.getByTestId('cutoff-warning').count(), 0, 'two days ahead is outside every cutoff');
      await confirm(page, `Book ${await shownFull(page, first)}?`, 'Confirm');

      await page.waitForURL((url) => url.pathname === EXAM);
      await page.getByTestId('status').filter({ hasText: `Booked for ${booked}.` }).waitFor();
      await assertBookedFor(page, first);
      assert.match(await page.getByTestId('countdown').innerText(), /^Starts in \d+ days?/);
      assert.equal(
        (await page.getByTestId('exam-zone-time').innerText()).trim(),
        `In the exam's time zone: ${await format(page, first, { dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Amsterdam' })} (Europe/Amsterdam)`,
      );
      const start = page.getByRole('button', { name: 'Start', exact: true });
      assert.ok(await start.isDisabled(), 'Start waits for check-in');
      const reasonId = await start.getAttribute('aria-describedby');
      assert.ok(reasonId, 'a disabled Start is described by its reason');
      assert.notEqual((await page.locator(`[id="${reasonId}"]`).innerText()).trim(), '');
      assert.ok(await button(page, 'Cancel').isEnabled());
      assert.ok(await button(page, 'Reschedule').isEnabled());
      const calendarLink = page.getByRole('link', { name: 'Add to calendar' });
      assert.notEqual(await calendarLink.getAttribute('download'), null);

      // Move it to another slot two days ahead.
      await button(page, 'Reschedule').click();
      await page.waitForURL((url) => url.pathname.startsWith(`${EXAM}/reschedule/`));
      const second = await findSlot(page, Date.now() + 2 * DAY_MS, first);
      await page.locator(`button[data-start="${second}"]`).click();
      const moved = await shown(page, second);
      await confirm(page, `Move your booking from ${await shownFull(page, first)} to ${await shownFull(page, second)}?`, 'Confirm');
      await page.waitForURL((url) => url.pathname === EXAM);
      await page.getByTestId('status').filter({ hasText: `Booking moved to ${moved}.` }).waitFor();
      await assertBookedFor(page, second);

      // Cancel it.
      await button(page, 'Cancel').click();
      await confirm(page, `Cancel your booking on ${moved}?`, 'Cancel booking');
      await page.getByTestId('status').filter({ hasText: 'Booking cancelled.' }).waitFor();
      await page.getByRole('link', { name: 'Book a time slot' }).waitFor();
      assert.equal(await page.getByTestId('booking-time').count(), 0);
      assert.match(await page.locator('.history').innerText(), new RegExp(`${escape(moved)}: cancelled`));

      // Book the next slot to start: slots start every 30 min, so check-in is open.
      await page.getByRole('link', { name: 'Book a time slot' }).click();
      await page.waitForURL((url) => url.pathname === `${EXAM}/book`);
      const soon = await findSlot(page, Date.now());
      assert.ok(Date.parse(soon) - Date.now() <= 30 * 60_000, `${soon} should start within 30 minutes`);
      await page.locator(`button[data-start="${soon}"]`).click();
      // Inside the 24 h cutoff: the dialog says so before the seat is taken.
      await page
        .getByTestId('cutoff-warning')
        .filter({ hasText: 'This time starts in less than 24 hours: once booked, you cannot cancel or move it.' })
        .waitFor();
      await confirm(page, `Book ${await shownFull(page, soon)}?`, 'Confirm');
      await page.waitForURL((url) => url.pathname === EXAM);
      await assertBookedFor(page, soon);
      assert.ok(await start.isEnabled(), 'Start is open during check-in');
      await start.click();

      // Start opens the player on the booking's attempt.
      await page.waitForURL((url) => /^\/attempts\/[^/]+$/.test(url.pathname));
      const attempt = new URL(page.url()).pathname.split('/')[2];
      await page.getByRole('heading', { name: 'Question 1 of 5' }).waitFor();
      await page.getByTestId('status').filter({ hasText: 'Your exam has started.' }).waitFor();

      // The dashboard now leads back into it.
      await page.goto(EXAM);
      await page.getByTestId('started').filter({ hasText: 'Your exam is in progress' }).waitFor();
      const resume = page.getByRole('link', { name: 'Continue exam' });
      assert.equal(await resume.getAttribute('href'), `/attempts/${attempt}`);
      await resume.click();
      await page.waitForURL((url) => url.pathname === `/attempts/${attempt}`);
      await page.getByRole('heading', { name: 'Question 1 of 5' }).waitFor();

      assert.deepEqual(csp, [], 'booking must run under the server CSP');
    });
  });

  it('books on a phone with the keyboard alone, in weeks as the locale starts them', async () => {
    const context = { timezoneId: ZONE, locale: 'en-US', viewport: { width: 390, height: 844 } };
    await withPage('booking-keyboard', context, async (page) => {
      await launchLearner(page, {
        firstName: 'Kiri',
        lastName: 'Te Rangi',
        email: 'kiri.terangi@example.com',
        externalId: 'e2e-learner-keyboard',
        purchasedOn: isoDate(-10),
      });
      await page.getByRole('link', { name: 'Book a time slot' }).click();
      await page.waitForURL((url) => url.pathname === `${EXAM}/book`);
      await page.locator('[data-testid=calendar][aria-busy=false]').waitFor();

      // en-US weeks start on Sunday; one day's times are shown, not the week's 336.
      const days = page.getByRole('group', { name: 'Days of the week' }).getByRole('button');
      assert.equal(await days.count(), 7);
      assert.match(await days.first().innerText(), /^Sun/);
      const shown = await page.locator('[data-testid=calendar] button.slot').count();
      assert.ok(shown > 0 && shown <= 48, `${shown} slot buttons on the page`);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'nothing scrolls sideways at 390 px');
      await page.getByRole('button', { name: /^First available: / }).waitFor();

      // Three weeks ahead in one step: the date field.
      const ahead = await page.evaluate(
        ([ms]) => new Intl.DateTimeFormat('en-CA', { timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone }).format(ms),
        [Date.now() + 21 * DAY_MS],
      );
      await page.getByLabel('Go to date').fill(ahead);
      await page.locator(`[data-testid=calendar][aria-busy=false][data-date="${ahead}"]`).waitFor();

      // Tab reaches the day strip once and the times once; arrows move inside each.
      const pressed = page.locator('.day[aria-pressed=true]');
      await pressed.focus();
      await page.keyboard.press('ArrowRight');
      const nextDay = await page.evaluate(() => document.activeElement?.getAttribute('aria-pressed'));
      assert.equal(nextDay, 'true', 'ArrowRight picks the next day and keeps focus on it');
      await page.locator('[data-testid=calendar][aria-busy=false]').waitFor();
      await page.keyboard.press('Tab');
      const first = await page.evaluate(() => document.activeElement?.dataset.start);
      assert.ok(first, 'one Tab from the days lands on a time');
      await page.keyboard.press('ArrowRight');
      const second = await page.evaluate(() => document.activeElement?.dataset.start);
      assert.ok(second && Date.parse(second) > Date.parse(first), 'ArrowRight moves to the next time');
      await page.keyboard.press('Tab');
      assert.equal(
        await page.evaluate(() => document.activeElement?.classList.contains('slot')),
        false,
        'one Tab leaves the times: they are one Tab stop',
      );
      await page.keyboard.press('Shift+Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.start), second, 'the times remember the one last focused');

      // Enter chooses it; Enter again confirms (focus starts on Confirm).
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      assert.match(await dialog.getByRole('heading').innerText(), /^Book \w+day, /);
      await page.keyboard.press('Enter');
      await page.waitForURL((url) => url.pathname === EXAM);
      await page.locator(`[data-testid=booking-time][datetime="${second}"]`).waitFor();

      // The time zone picker finds a zone by place and names it with its offset.
      await page.getByRole('searchbox', { name: 'Search time zones' }).fill('tokyo');
      const zone = page.getByLabel('Time zone', { exact: true });
      assert.deepEqual(
        (await zone.locator('option').allInnerTexts()).filter((o) => o.includes('Tokyo')),
        ['UTC+09:00 · Tokyo (Asia/Tokyo)'],
      );
      await zone.selectOption('Asia/Tokyo');
      await page.getByTestId('booking-time').filter({ hasText: '(Asia/Tokyo)' }).waitFor();
    });
  });
});

const button = (page, name) => page.getByRole('button', { name, exact: true });
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Formats an instant with the browser's Intl, independently of the app's code. */
function format(page, iso, options) {
  return page.evaluate(([iso, locale, options]) => new Intl.DateTimeFormat(locale, options).format(new Date(iso)), [
    iso,
    LOCALE,
    options,
  ]);
}

/** How the app must show an instant: long date and time in the learner's zone, zone named. */
async function shown(page, iso) {
  return `${await format(page, iso, { dateStyle: 'long', timeStyle: 'short', timeZone: ZONE })} (${ZONE})`;
}

/** The confirm dialog's form of an instant: with the weekday. */
async function shownFull(page, iso) {
  return `${await format(page, iso, { dateStyle: 'full', timeStyle: 'short', timeZone: ZONE })} (${ZONE})`;
}

async function assertBookedFor(page, iso) {
  const time = page.getByTestId('booking-time');
  await time.filter({ hasText: await shown(page, iso) }).waitFor();
  assert.equal(await time.getAttribute('datetime'), iso);
}

/** Checks the dialog asks `question`, then presses `answer` in it. */
async function confirm(page, question, answer) {
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.equal((await dialog.getByRole('heading').innerText()).trim(), question);
  await dialog.getByRole('button', { name: answer, exact: true }).click();
}
