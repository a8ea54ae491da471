import { describe, expect, it } from 'vitest';
import { attemptsSentence, standing } from './standing';

const open = { eligibility: { active: true }, passed: false, attemptsLeft: 1, attemptsAllowed: 2 };

describe('standing', () => {
  it('is open with eligibility and an attempt left', () => {
    expect(standing(open)).toEqual({ open: true });
    expect(standing({ ...open, attemptsLeft: null, attemptsAllowed: null })).toEqual({ open: true });
  });

  it('closes after the last attempt and says why', () => {
    const s = standing({ ...open, attemptsLeft: 0, attemptsAllowed: 1 });
    expect(s.open).toBe(false);
    expect(!s.open && s.reason).toContain('You have used all 1 attempt for this exam');
  });

  it('puts a pass before everything else', () => {
    const s = standing({ eligibility: { active: false }, passed: true, attemptsLeft: 0, attemptsAllowed: 1 });
    expect(!s.open && s.reason).toBe('You have passed this exam, so there is nothing more to book or take.');
  });

  it('closes when eligibility ended or was never recorded', () => {
    const ended = standing({ ...open, eligibility: { active: false } });
    expect(!ended.open && ended.reason).toContain('eligibility for this exam has ended');
    const none = standing({ ...open, eligibility: null });
    expect(!none.open && none.reason).toContain('no record of your course purchase');
  });

  it('counts attempts only when there are several', () => {
    expect(attemptsSentence(1, 2)).toBe('You have 1 of 2 attempts left.');
    expect(attemptsSentence(1, 1)).toBeNull();
    expect(attemptsSentence(null, null)).toBeNull();
  });
});
