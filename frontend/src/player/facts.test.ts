import { describe, expect, it } from 'vitest';
import { examFacts } from './facts';

describe('examFacts', () => {
  it('lists questions, time and pass mark', () => {
    expect(examFacts({ itemCount: 2, durationMinutes: 1, passMark: 50 })).toEqual([
      '2 questions',
      '1 minute to answer them',
      'Pass mark: 50 %',
    ]);
    expect(examFacts({ itemCount: 1, durationMinutes: 20 })).toEqual(['1 question', '20 minutes to answer them']);
  });

  it('leaves out what the server does not know', () => {
    expect(examFacts({ itemCount: null, durationMinutes: null, passMark: null })).toEqual([]);
  });
});
