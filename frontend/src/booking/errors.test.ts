import { afterEach, describe, expect, it } from 'vitest';
import { GraphQLRequestError } from '../graphql/client';
import { setLanguage } from '../i18n';
import { describeError, permissionReason } from './errors';

const serverError = (code: string, message = 'The server says why.') =>
  new GraphQLRequestError(message, 'graphql', [{ message, extensions: { code } }]);

describe('describeError', () => {
  it('maps each code to its sentence and keeps the server message as detail', () => {
    const cases: Record<string, RegExp> = {
      SLOT_FULL: /^That time was just taken\. Choose another time\.$/,
      OUTSIDE_ELIGIBILITY: /cannot be booked/,
      CUTOFF_PASSED: /too late to change/,
      TOO_MANY_RESCHEDULES: /as many times as allowed/,
      NOT_IN_CHECKIN_WINDOW: /during check-in/,
      CONFLICT: /changed in the meantime/,
      INVALID: /not accepted/,
    };
    for (const [code, sentence] of Object.entries(cases)) {
      const problem = describeError(serverError(code));
      expect(problem.code).toBe(code);
      expect(problem.message).toMatch(sentence);
      expect(problem.detail).toBe('The server says why.');
      expect(problem.retry).toBe(false);
      expect(problem.sessionEnded).toBe(false);
    }
  });

  it('says the old booking is kept when a reschedule hits a full slot', () => {
    expect(describeError(serverError('SLOT_FULL'), { oldTime: '1 December 2026 at 10:00 (UTC)' }).message).toBe(
      'That time was just taken. Choose another time. Your booking at 1 December 2026 at 10:00 (UTC) is unchanged.',
    );
  });

  it('words CONFLICT for what the learner tried', () => {
    expect(describeError(serverError('CONFLICT'), { action: 'book' }).message).toBe(
      'You already have a booking for this exam.',
    );
    expect(describeError(serverError('CONFLICT'), { action: 'cancel' }).message).toMatch(/changed in the meantime/);
  });

  it('ends the session on UNAUTHENTICATED, whatever else failed', () => {
    const err = new GraphQLRequestError('x', 'graphql', [
      { message: 'Slot full.', extensions: { code: 'SLOT_FULL' } },
      { message: 'Sign in.', extensions: { code: 'UNAUTHENTICATED' } },
    ]);
    expect(describeError(err)).toMatchObject({ code: 'UNAUTHENTICATED', sessionEnded: true });
  });

  it('offers a retry for passing failures, without internal detail', () => {
    expect(describeError(serverError('INTERNAL', 'Something went wrong on our side.'))).toMatchObject({
      message: 'Something went wrong on our side. Please try again.',
      detail: null,
      retry: true,
    });
    expect(describeError(serverError('UNAVAILABLE')).retry).toBe(true);
    expect(describeError(serverError('SOMETHING_NEW')).retry).toBe(true);
    const network = new GraphQLRequestError('We could not reach examgate.', 'network');
    expect(describeError(network)).toMatchObject({ message: 'We could not reach examgate.', retry: true });
    expect(describeError(new Error('bug')).retry).toBe(true);
  });

  it('drops a server message the sentence already says', () => {
    const conflict = serverError('CONFLICT', 'You already have a booking for this exam.');
    expect(describeError(conflict, { action: 'book' }).detail).toBeNull();
  });
});

describe('describeError in Dutch', () => {
  afterEach(() => setLanguage('en'));

  it("says the catalogue's sentence and leaves out the server's English detail", () => {
    setLanguage('nl');
    expect(describeError(serverError('SLOT_FULL'), { action: 'reschedule', oldTime: '2 december 2026 om 10:00' })).toMatchObject({
      message: 'Dat tijdstip is net door iemand anders geboekt. Kies een ander tijdstip. Uw boeking op 2 december 2026 om 10:00 blijft ongewijzigd.',
      detail: null,
    });
  });
});

describe('permissionReason', () => {
  afterEach(() => setLanguage('en'));
  const notYet = { code: 'NOT_IN_CHECKIN_WINDOW', reason: 'Start opens 30 minutes before your exam.' };

  it("is the server's reason on English pages", () => {
    expect(permissionReason(notYet, 'fallback')).toBe('Start opens 30 minutes before your exam.');
    expect(permissionReason({ code: null, reason: null }, 'fallback')).toBe('fallback');
  });

  it("is the catalogue's sentence for its code on Dutch pages", () => {
    setLanguage('nl');
    expect(permissionReason(notYet, 'terugval')).toBe(
      'U kunt het examen alleen starten tijdens het inchecken, kort voor het geboekte tijdstip.',
    );
    expect(permissionReason({ code: 'SOMETHING_NEW', reason: 'Why.' }, 'terugval')).toBe('terugval');
  });
});
