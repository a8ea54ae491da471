// Whether a learner may still book or take an exam, and if not, why: decided
// apart from rendering so every page (dashboard, start page, result) says the
// same thing and the rules are unit-tested.

export interface StandingFacts {
  /** The eligibility window: null when the course platform reported no purchase. */
  eligibility: { active: boolean } | null;
  passed: boolean;
  /** Null for an exam taken outside examgate, which keeps no attempts here. */
  attemptsLeft: number | null;
  attemptsAllowed: number | null;
}

export type Standing = { open: true } | { open: false; reason: string };

export const attemptsWord = (n: number) => (n === 1 ? '1 attempt' : `${n} attempts`);

export function standing({ eligibility, passed, attemptsLeft, attemptsAllowed }: StandingFacts): Standing {
  if (passed) return { open: false, reason: 'You have passed this exam, so there is nothing more to book or take.' };
  if (attemptsLeft === 0) {
    return {
      open: false,
      reason: `You have used all ${attemptsWord(attemptsAllowed ?? 0)} for this exam, so it cannot be booked or taken again. Contact support if you need another attempt.`,
    };
  }
  if (!eligibility) {
    return {
      open: false,
      reason: 'We have no record of your course purchase for this exam yet. Open the exam from your course again; contact support if this stays.',
    };
  }
  if (!eligibility.active) {
    return {
      open: false,
      reason: 'Your eligibility for this exam has ended, so it can no longer be booked or taken. Contact support if you need more time.',
    };
  }
  return { open: true };
}

/** "You have 1 of 2 attempts left." — null when there is nothing to count. */
export function attemptsSentence(left: number | null, allowed: number | null): string | null {
  if (left === null || allowed === null || allowed <= 1) return null;
  return `You have ${left} of ${attemptsWord(allowed)} left.`;
}
