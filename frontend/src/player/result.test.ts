import { describe, expect, it } from 'vitest';
import { itemPoints, nextStep, resultHeading, scoreSentence, summarySentence } from './result';

describe('result sentences', () => {
  it('words the score, percent and pass mark', () => {
    expect(scoreSentence({ score: 2, maxScore: 3, percent: 66.67, passMark: 50, passed: true })).toBe(
      'You scored 66.67 % (2 of 3 points). The pass mark is 50 %.',
    );
    expect(scoreSentence({ score: 0.5, maxScore: 1, percent: 50, passMark: 70, passed: false })).toBe(
      'You scored 50 % (0.5 of 1 point). The pass mark is 70 %.',
    );
  });

  it('says what happens next', () => {
    expect(resultHeading(true)).toBe('You passed');
    expect(resultHeading(false)).toBe('You did not pass');
    expect(nextStep(true, 0)).toBe('Your course will show this exam as completed.');
    expect(nextStep(false, 1)).toBe(
      'Your course will be reset so you can study again before your next attempt. You have 1 attempt left.',
    );
    // Never "another attempt" when none is left.
    expect(nextStep(false, 0)).toContain('You have no attempts left');
    expect(nextStep(false, 0)).not.toContain('another attempt');
    expect(itemPoints(1, 1)).toBe('1 of 1 point');
  });

  it('sums up a result in one sentence', () => {
    expect(summarySentence({ passed: true, percent: 100 })).toBe('You passed with 100 %.');
    expect(summarySentence({ passed: false, percent: 33.33 })).toBe('You did not pass: you scored 33.33 %.');
  });
});
