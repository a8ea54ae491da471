import { describe, expect, it } from 'vitest';
import { itemPoints, nextStep, resultHeading, scoreSentence } from './result';

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
    expect(nextStep(true)).toMatch(/sent to your course/);
    expect(nextStep(false)).toMatch(/reset/);
    expect(itemPoints(1, 1)).toBe('1 of 1 point');
  });
});
