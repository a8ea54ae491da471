// GraphQL-over-HTTP conformance: the graphql-http server audit against the
// real binary. Every audit that reports an error fails the test; warnings
// are printed and explained in docs/graphql-http.md (a warning not listed
// there fails too, so that a new one is looked at rather than ignored).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serverAudits } from 'graphql-http';
import { useExamgate } from './harness.mjs';

// Warnings we accept, by audit id, with the reason in docs/graphql-http.md.
const ACCEPTED_WARNINGS = new Map([]);

describe('GraphQL over HTTP audit', () => {
  const env = useExamgate({ browser: false });

  it('reports no errors and only the documented warnings', async () => {
    const audits = serverAudits({ url: () => `${env.baseURL}/graphql`, fetchFn: fetch });
    const errors = [];
    const warnings = [];
    let ok = 0;
    for (const audit of audits) {
      const result = await audit.fn();
      const line = `${result.id} ${result.name}: ${result.reason ?? ''}`;
      if (result.status === 'error') errors.push(line);
      else if (result.status === 'warn') warnings.push({ id: result.id, line });
      else ok++;
    }
    for (const w of warnings) console.log(`warning: ${w.line}`);
    console.log(`graphql-http audit: ${ok} ok, ${warnings.length} warnings, ${errors.length} errors of ${audits.length}`);
    assert.deepEqual(errors, [], 'audit errors');
    const unexplained = warnings.filter((w) => !ACCEPTED_WARNINGS.has(w.id)).map((w) => w.line);
    assert.deepEqual(unexplained, [], 'warnings not explained in docs/graphql-http.md');
  });
});
