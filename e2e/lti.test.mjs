// Browser tests of LTI 1.3 launches: the demo's LTI platform simulator sends
// the login initiation, examgate redirects to the platform's authorization
// endpoint, the platform posts a signed id_token back, and the learner lands
// on the same exam dashboard as from TI.
//
// The completed score arriving at the platform needs the simulator's score
// service (AGS); once /demo lists received scores in [data-testid=lti-scores],
// sit DEMO-QUICK after the launch and wait for a Completed row there.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { skipReason, useExamgate, watchCSP } from './harness.mjs';

async function launchFromPlatform(page, { sub, givenName = '', familyName = '', email = '', exam = 'DEMO-101', courseSource = 'course_id', where = 'window' }) {
  await page.goto('/demo');
  // By id: the TI form on the same page has fields of the same names.
  await page.fill('#lti-sub', sub);
  await page.fill('#lti-given', givenName);
  await page.fill('#lti-family', familyName);
  await page.fill('#lti-email', email);
  await page.selectOption('#lti-exam', exam);
  await page.selectOption('#lti-course', courseSource);
  await page.selectOption('#lti-where', where);
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
});
