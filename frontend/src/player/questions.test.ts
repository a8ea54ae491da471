import { describe, expect, it } from 'vitest';
import { flatten, navigatorMarks, questionState, reviewLists } from './questions';

const item = (id: string, number: number) => ({ id, number, type: 'SINGLE' as const, stemHtml: '', options: [] });

describe('navigator labels', () => {
  it('says answered, unanswered and flagged in words', () => {
    expect(navigatorMarks({ number: 3, answered: true, flagged: true })).toBe('Answered, flagged');
    expect(navigatorMarks({ number: 1, answered: false, flagged: false })).toBe('Unanswered');
  });

  it('counts a cleared answer as unanswered', () => {
    const answers = { a: { choices: [], flagged: true }, b: { choices: ['x'], flagged: false } };
    expect(questionState(item('a', 1), answers)).toEqual({ number: 1, answered: false, flagged: true });
    expect(questionState(item('b', 2), answers)).toEqual({ number: 2, answered: true, flagged: false });
    expect(questionState(item('c', 3), answers)).toEqual({ number: 3, answered: false, flagged: false });
  });
});

describe('reviewLists', () => {
  it('lists unanswered and flagged question numbers', () => {
    const states = [
      { number: 1, answered: true, flagged: false },
      { number: 2, answered: false, flagged: true },
      { number: 3, answered: true, flagged: true },
      { number: 4, answered: false, flagged: false },
    ];
    expect(reviewLists(states)).toEqual({ unanswered: [2, 4], flagged: [2, 3] });
  });
});

describe('flatten', () => {
  it('keeps the order and marks where titled sections start', () => {
    const qs = flatten([
      { title: 'Basics', items: [item('a', 1), item('b', 2)] },
      { title: null, items: [item('c', 3)] },
    ]);
    expect(qs.map((q) => [q.id, q.sectionTitle, q.startsSection])).toEqual([
      ['a', 'Basics', true],
      ['b', 'Basics', false],
      ['c', null, false],
    ]);
  });
});
