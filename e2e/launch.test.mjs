// Browser tests of the whole launch flow: the demo TI simulator signs a launch
// link, the Go server turns it into a session, and the SPA shows the exam.
// The server and browser start-up is in harness.mjs.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DAY_MS, isoDate, launchLearner, skipReason, useExamgate, watchCSP } from './harness.mjs';

describe('examgate in a browser', { skip: skipReason }, () => {
  const examgate = useExamgate();
  const { withPage } = examgate;

  it('launches a learner from the demo TI into the exam dashboard', async () => {
    await withPage('dashboard', { timezoneId: 'Pacific/Auckland', locale: 'en-GB' }, async (page) => {
      const csp = watchCSP(page);
      const purchasedOn = isoDate(-10); // YYYY-MM-DD in UTC

      await launchLearner(page, {
        firstName: 'Aroha',
        lastName: 'Ngata',
        email: 'aroha.ngata@example.com',
        externalId: 'e2e-learner-1',
        purchasedOn,
      });
      assert.ok(!page.url().includes('jwt='), `the launch token must not stay in the URL: ${page.url()}`);

      const heading = page.locator('h1');
      await heading.filter({ hasText: 'Demo Certification Exam' }).waitFor();
      assert.match(await heading.innerText(), /Demo Certification Exam/);
      assert.match(await page.locator('main').innerText(), /Aroha Ngata/);

      // The simulated purchase is at 12:00 UTC on purchasedOn; DEMO-101 allows 90 days.
      const endsAt = Date.parse(`${purchasedOn}T12:00:00Z`) + 90 * DAY_MS;
      // Formatted with the browser's own Intl (explicit locale and zone, not the
      // app's code) so Node's and Chromium's ICU versions cannot disagree.
      const expectedDate = await page.evaluate(
        (ms) =>
          new Intl.DateTimeFormat('en-GB', {
            dateStyle: 'long',
            timeStyle: 'short',
            timeZone: 'Pacific/Auckland',
          }).format(new Date(ms)),
        endsAt,
      );
      const eligibility = page.locator('[data-testid=eligibility-end]');
      await eligibility.waitFor();
      assert.equal((await eligibility.innerText()).trim(), `Book before ${expectedDate} (Pacific/Auckland)`);
      assert.deepEqual(csp, [], 'the dashboard must run under the server CSP');

      // The launch made examgate look the purchase up in (simulated) TI.
      await page.goto('/demo');
      const rows = await page.$$eval('[data-testid=ti-calls] tr', (trs) =>
        trs.map((tr) => Array.from(tr.cells, (cell) => cell.textContent.trim())),
      );
      assert.ok(
        rows.some((cells) => cells.includes('GET') && cells.some((c) => c.startsWith('/incoming/v2/events/coursePurchase'))),
        `expected a GET of /incoming/v2/events/coursePurchase among the TI calls:\n${JSON.stringify(rows, null, 1)}`,
      );
    });
  });

  it('runs examgate ti check against the simulator from the demo page', async () => {
    await withPage('ti-check', {}, async (page) => {
      await page.goto('/demo');
      await page.getByRole('button', { name: 'Run the check' }).click();
      const table = page.locator('[data-testid=ti-check]');
      await table.waitFor();
      const rows = await table.locator('tbody tr').evaluateAll((trs) =>
        trs.map((tr) => Array.from(tr.cells, (cell) => cell.textContent.trim())),
      );
      const verdict = (check) => rows.find((cells) => cells[0] === check)?.[1];
      assert.equal(verdict('API key'), 'ok', JSON.stringify(rows, null, 1));
      assert.equal(verdict('clock'), 'ok', JSON.stringify(rows, null, 1));
      assert.equal(verdict('exam DEMO-101 course'), 'ok', JSON.stringify(rows, null, 1));
      assert.equal(verdict('purchase events'), 'ok', JSON.stringify(rows, null, 1));
      assert.ok(!rows.some((cells) => cells[1] === 'FAIL'), `no line may fail against the simulator:\n${JSON.stringify(rows, null, 1)}`);
      assert.ok(!(await page.content()).includes('demo-ti-api-key'), 'the check must not show the API key');
    });
  });

  it('rides out an outage on the dashboard without sending the learner away', async () => {
    await withPage('outage', {}, async (page) => {
      await launchLearner(page, { firstName: 'Rua', lastName: 'Outage', email: 'rua.outage@example.com', externalId: 'e2e-outage', purchasedOn: isoDate(-5) });
      await page.locator('[data-testid=eligibility-end]').waitFor();
      // The server answers 503 for a while, as during a database outage.
      let failing = true;
      await page.route('**/graphql', (route) => (failing ? route.fulfill({ status: 503, body: 'Service Unavailable' }) : route.continue()));
      await page.reload();
      await page.getByRole('heading', { name: 'Connection problem, retrying' }).waitFor();
      assert.ok(!(await page.content()).includes('Sign in through your course'), 'an outage is not a sign-out');
      failing = false; // the outage ends: the page carries on by itself
      await page.locator('[data-testid=eligibility-end]').waitFor({ timeout: 15000 });
      assert.match(await page.locator('main').innerText(), /Rua Outage/);
    });
  });

  it('tells a visitor without a session to go back to their course', async () => {
    await withPage('no-session', {}, async (page) => {
      await page.goto('/exams/DEMO-101');
      await page.getByRole('heading', { name: 'Sign in through your course' }).waitFor();
      assert.match(await page.locator('main').innerText(), /go back to it and open the exam again\./);
    });
  });

  it('serves GraphiQL at /playground without other origins', async () => {
    await withPage('playground', {}, async (page) => {
      const origin = new URL(examgate.baseURL).origin;
      const foreign = [];
      const failed = [];
      page.on('request', (req) => {
        const url = new URL(req.url());
        // data: and blob: URLs never leave the page; everything else must be ours.
        if (url.protocol !== 'data:' && url.protocol !== 'blob:' && url.origin !== origin) foreign.push(req.url());
      });
      page.on('requestfailed', (req) => failed.push(`${req.url()}: ${req.failure()?.errorText}`));

      await page.goto('/playground');
      await page.locator('.graphiql-container').waitFor();
      await page.waitForLoadState('networkidle');
      assert.deepEqual(foreign, [], 'GraphiQL must be fully bundled');
      assert.deepEqual(failed, [], 'no request may fail');
    });
  });
});
