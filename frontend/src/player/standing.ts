import { t, tn } from '../i18n';

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

export function standing({ eligibility, passed, attemptsLeft, attemptsAllowed }: StandingFacts): Standing {
  if (passed) return { open: false, reason: t('standing.passed') };
  if (attemptsLeft === 0) return { open: false, reason: tn('standing.usedAll', attemptsAllowed ?? 0) };
  if (!eligibility) return { open: false, reason: t('standing.noPurchase') };
  if (!eligibility.active) return { open: false, reason: t('standing.ended') };
  return { open: true };
}

/** "You have 1 of 2 attempts left." — null when there is nothing to count. */
export function attemptsSentence(left: number | null, allowed: number | null): string | null {
  if (left === null || allowed === null || allowed <= 1) return null;
  return tn('standing.attemptsLeft', allowed, { left });
}
