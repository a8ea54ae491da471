// Browser tests of LTI 1.3 launches: the demo's LTI platform simulator sends
// the login initiation, examgate redirects to the platform's authorization
// endpoint, the platform posts a signed id_token back, and the learner lands
// on the same exam dashboard as from TI. The simulator's score service (AGS)
// receives the scores of an exam sat after such a launch; /demo lists them.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { skipReason, useExamgate, watchCSP } from './harness.mjs';

async function launchFromPlatform(page, { sub, givenName = '', familyName = '', email = '', exam = 'DEMO-101', courseSource = 'course_id', where = 'window', as = 'learner', locale = '' }) {
  await page.goto('/demo');
  // By id: the TI form on the same page has fields of the same names.
  await page.fill('#lti-sub', sub);
  await page.fill('#lti-given', givenName);
  await page.fill('#lti-family', familyName);
  await page.fill('#lti-email', email);
  await page.selectOption('#lti-exam', exam);
  await page.selectOption('#lti-course', courseSource);
  await page.selectOption('#lti-as', as);
  await page.selectOption('#lti-where', where);
  await page.selectOption('#lti-locale', locale);
  await page.getByRole('button', { name: 'Launch from the LTI platform' }).click();
}

describe('LTI 1.3 launches in a browser', { skip: skipReason }, () => {
  const examgate = useExamgate();
  const { withPage } = examgate;

  it('launches from the demo platform into the exam dashboard', async () => {
    await withPage('lti-window', { timezoneId: 'Europe/Amsterdam', locale: 'en-GB' }, async (page) => {
      const csp = watchCSP(page);
      await launchFromPlatform(page, { sub: 'e2e-lti-1', givenName: 'Grace', familyName: 'Hopper', email: 'grace.e2e@example.com' });
      await page.waitForURL((url) => url.pathname === '/exams/DEMO-101');
      assert.ok(!page.url().includes('id_token') && !page.url().includes('state='), `nothing of the launch stays in the URL: ${page.url()}`);
      await page.locator('h1').filter({ hasText: 'Demo Certification Exam' }).waitFor();
      assert.match(await page.locator('main').innerText(), /Grace Hopper/);
      // LTI has no purchase date: eligibility starts now and lasts 90 days.
      await page.locator('[data-testid=eligibility-end]').waitFor();
      assert.match(await page.locator('[data-testid=eligibility-end]').innerText(), /^Book before /);
      assert.deepEqual(csp, [], 'the LTI pages and the dashboard must run under their CSP');
    });
  });

  it("speaks the platform's language, even to a browser set to English", async () => {
    await withPage('lti-dutch', { timezoneId: 'Europe/Amsterdam', locale: 'en-GB' }, async (page) => {
      await launchFromPlatform(page, { sub: 'e2e-lti-nl', givenName: 'Sanne', familyName: 'Bakker', locale: 'nl-NL' });
      await page.waitForURL((url) => url.pathname === '/exams/DEMO-101');
      await page.getByRole('heading', { name: 'Uw examenrecht' }).waitFor();
      assert.equal(await page.getAttribute('html', 'lang'), 'nl');
      assert.match(await page.getByTestId('eligibility-end').innerText(), /^Boek vóór \d+ [a-z]+ \d{4}/);
      // A reload starts in Dutch, before the page has asked the server again.
      await page.reload();
      await page.getByRole('heading', { name: 'Uw examenrecht' }).waitFor();
      assert.equal(await page.getAttribute('html', 'lang'), 'nl');
    });
  });

  it('shows an instructor a preview that records nothing', async () => {
    await withPage('lti-preview', {}, async (page) => {
      const csp = watchCSP(page);
      await launchFromPlatform(page, { sub: 'e2e-lti-teacher', givenName: 'Tia', familyName: 'Teacher', as: 'instructor' });
      await page.getByText('Preview for course staff').waitFor();
      await page.getByRole('heading', { name: 'Demo Certification Exam' }).waitFor();
      assert.match(await page.locator('main').innerText(), /no eligibility window starts, no seat is booked and no score goes to the gradebook/);
      assert.ok(!page.url().includes('/exams/'), `a preview does not open the dashboard: ${page.url()}`);
      assert.deepEqual(csp, [], 'the preview must run under its CSP');
    });
  });

  it('lets an instructor try an exam in the preview, recording nothing', async () => {
    await withPage('lti-preview-try', {}, async (page) => {
      const csp = watchCSP(page);
      await launchFromPlatform(page, { sub: 'e2e-lti-teacher-2', as: 'instructor', exam: 'DEMO-QUICK' });
      await page.getByRole('heading', { name: 'Try the exam' }).waitFor();
      await page.getByRole('button', { name: 'See the score' }).click();
      const score = page.getByTestId('preview-score');
      await score.waitFor();
      assert.match(await score.innerText(), /0 questions answered\): not passed/);
      assert.match(await page.locator('main').innerText(), /This score is not recorded and goes nowhere/);
      assert.deepEqual(csp, [], 'the preview try must run under its CSP');
    });
  });

  it('lets an instructor add an exam through the Deep Linking picker', async () => {
    await withPage('lti-picker', {}, async (page) => {
      const csp = watchCSP(page);
      await launchFromPlatform(page, { sub: 'e2e-lti-author', as: 'picker' });
      await page.getByRole('heading', { name: 'Add an exam from examgate' }).waitFor();
      await page.getByRole('button', { name: 'Add “One-Minute Practice Quiz”' }).click();
      // The simulated platform verifies the signed response with examgate's JWKS.
      await page.getByText('Activity added to the course: One-Minute Practice Quiz').waitFor();
      assert.deepEqual(csp, [], 'the picker must run under its CSP');
    });
  });

  it('launches a learner without email or names to an exam named by custom exam_code', async () => {
    await withPage('lti-anonymous', {}, async (page) => {
      await launchFromPlatform(page, { sub: 'e2e-lti-anon', courseSource: 'target_link_uri', exam: 'DEMO-QUICK' });
      await page.waitForURL((url) => url.pathname === '/exams/DEMO-QUICK');
      await page.locator('h1').filter({ hasText: 'One-Minute Practice Quiz' }).waitFor();
    });
  });

  it('opens from the course page iframe without third-party cookies, through platform storage and a new window', async () => {
    await withPage('lti-iframe', {}, async (page) => {
      const csp = watchCSP(page);
      // The browser drops examgate's state cookie between the login and the
      // launch, as Safari does in a third-party iframe: the launch must find
      // the login's binding in the platform's postMessage storage instead.
      let cleared = false;
      await page.context().route('**/lti-sim/auth?*', async (route) => {
        await page.context().clearCookies();
        cleared = true;
        await route.continue();
      });
      await launchFromPlatform(page, { sub: 'e2e-lti-2', givenName: 'Ada', familyName: 'Byron', email: 'ada.e2e@example.com', where: 'iframe' });
      await page.waitForURL((url) => url.pathname === '/lti-sim/course');
      const frame = page.frameLocator('iframe[name=tool]');
      const open = frame.getByRole('button', { name: 'Open the exam', exact: true }); // not the fallback's 'in a new window'
      await open.waitFor();
      assert.ok(cleared, 'the cookies were cleared before the launch');
      const [popup] = await Promise.all([page.waitForEvent('popup'), open.click()]);
      await popup.waitForURL((url) => url.pathname === '/exams/DEMO-101');
      await popup.locator('h1').filter({ hasText: 'Demo Certification Exam' }).waitFor();
      assert.match(await popup.locator('main').innerText(), /Ada Byron/);
      assert.deepEqual(csp, [], 'the course page and the LTI pages in its frame must run under their CSP');
    });
  });

  it('sends the platform the in-progress score at the start and the completed score at the end', async () => {
    const sub = 'e2e-lti-score';
    await withPage('lti-score', { timezoneId: 'Europe/Amsterdam', locale: 'en-GB' }, async (page) => {
      const csp = watchCSP(page);
      await launchFromPlatform(page, { sub, givenName: 'Mary', familyName: 'Jackson', exam: 'DEMO-QUICK' });
      await page.waitForURL((url) => url.pathname === '/exams/DEMO-QUICK');

      // The platform's side, in a second tab: /demo with the scores it received.
      const platform = await page.context().newPage();
      const scores = await watchPlatformScores(platform, sub);

      await page.getByRole('button', { name: 'Start exam' }).click();
      await page.waitForURL((url) => /^\/attempts\/[^/]+$/.test(url.pathname));
      const attempt = new URL(page.url()).pathname.split('/')[2];
      // Starting sends "in progress, nothing scored yet" while the learner answers.
      await scores.filter({ hasText: 'InProgress' }).waitFor();

      await page.getByRole('heading', { name: 'Question 1 of 2' }).waitFor();
      await page.getByRole('group', { name: 'Question 1 of 2' }).getByRole('radio', { name: 'True' }).check();
      await page.getByTestId('save-status').filter({ hasText: /^Saved$/ }).waitFor();
      await page.getByRole('button', { name: 'Next', exact: true }).click();
      await page.getByRole('group', { name: 'Question 2 of 2' }).getByRole('radio', { name: 'The server clock' }).check();
      await page.getByTestId('save-status').filter({ hasText: /^Saved$/ }).waitFor();
      await page.getByRole('button', { name: 'Review answers', exact: true }).click();
      await page.getByRole('button', { name: 'Submit exam' }).click();
      await page.getByRole('dialog', { name: 'Submit now?' }).getByRole('button', { name: 'Submit exam' }).click();

      await page.waitForURL((url) => url.pathname === `/attempts/${attempt}/result`);
      await page.getByRole('heading', { name: 'You passed' }).waitFor();
      // Sent once the platform accepted both scores; the page asks every 2 s.
      await page.getByTestId('delivery').filter({ hasText: 'Sent to your course.' }).waitFor({ timeout: 30_000 });

      await scores.filter({ hasText: 'Completed' }).waitFor();
      const rows = await scores.evaluateAll((trs) => trs.map((tr) => Array.from(tr.cells, (cell) => cell.textContent.trim())));
      // Received, user, line item, progress, grading, score, timestamp; oldest first.
      assert.equal(rows.length, 2, `two scores for ${sub}: ${JSON.stringify(rows)}`);
      const [started, completed] = rows;
      assert.deepEqual(started.slice(1, 6), [sub, 'DEMO-QUICK', 'InProgress', 'Pending', 'no score yet']);
      assert.deepEqual(completed.slice(1, 6), [sub, 'DEMO-QUICK', 'Completed', 'FullyGraded', '2 / 2']);
      const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+(Z|[+-]\d{2}:\d{2})$/; // ISO 8601 with fractions
      assert.match(started[6], iso);
      assert.match(completed[6], iso);
      assert.ok(Date.parse(started[6]) <= Date.parse(completed[6]), `the start's timestamp ${started[6]} comes before the end's ${completed[6]}`);
      assert.deepEqual(csp, [], 'the exam and result pages must run under their CSP');
    });
  });
});

/**
 * Opens /demo in page and keeps its table of received scores up to date, as
 * a person pressing reload would (the page is rendered on the server), so
 * that waits on the returned rows of user sub see scores arrive.
 */
async function watchPlatformScores(page, sub) {
  await page.goto('/demo');
  await page.evaluate(() => {
    const refresh = async () => {
      const html = await (await fetch('/demo', { cache: 'no-store' })).text();
      const fresh = new DOMParser().parseFromString(html, 'text/html').querySelector('[data-testid=lti-scores]');
      document.querySelector('[data-testid=lti-scores]').replaceWith(fresh);
      setTimeout(refresh, 250);
    };
    refresh();
  });
  return page.getByTestId('lti-scores').locator('tbody tr').filter({ has: page.locator(`td:nth-child(2)`, { hasText: new RegExp(`^${sub}$`) }) });
}
