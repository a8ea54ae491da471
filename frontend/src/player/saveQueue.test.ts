import { describe, expect, it } from 'vitest';
import { enqueue, parseLocal, resume, retryDelay, withPending, type SaveEntry } from './saveQueue';

const choice = (itemId: string, seq: number, ...choices: string[]): SaveEntry => ({ kind: 'choices', itemId, seq, choices });
const flag = (itemId: string, seq: number, flagged = true): SaveEntry => ({ kind: 'flag', itemId, seq, flagged });

describe('retryDelay', () => {
  it('doubles from 1 s up to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(retryDelay)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
});

describe('enqueue', () => {
  it('keeps changes in seq order and only the newest per item and kind', () => {
    let q = enqueue([], choice('a', 1, 'x'));
    q = enqueue(q, flag('a', 2));
    q = enqueue(q, choice('b', 3, 'y'));
    q = enqueue(q, choice('a', 4, 'z'));
    expect(q).toEqual([flag('a', 2), choice('b', 3, 'y'), choice('a', 4, 'z')]);
  });

  it('keeps the change being sent, whose answer is still to come', () => {
    const q = enqueue([choice('a', 1, 'x')], choice('a', 2, 'y'), 1);
    expect(q.map((e) => e.seq)).toEqual([1, 2]);
  });
});

describe('resume', () => {
  it('keeps local changes newer than the server and drops the rest', () => {
    const local = { seq: 9, queue: [choice('a', 5, 'x'), flag('b', 7), choice('c', 9, 'z')] };
    const server = [
      { itemId: 'a', choices: ['x'], flagged: false, clientSeq: 5 }, // stored before the reload
      { itemId: 'b', choices: [], flagged: false, clientSeq: 3 },
    ];
    expect(resume(local, server)).toEqual({ seq: 9, queue: [flag('b', 7), choice('c', 9, 'z')] });
  });

  it('continues the count above every seq the server has seen', () => {
    // Another browser saved up to 12; a new save with a lower seq would be ignored.
    expect(resume(null, [{ itemId: 'a', choices: ['x'], flagged: false, clientSeq: 12 }]).seq).toBe(12);
    expect(resume({ seq: 3, queue: [] }, []).seq).toBe(3);
    expect(resume(null, []).seq).toBe(0);
  });
});

describe('withPending', () => {
  it('shows unconfirmed changes over the confirmed answers', () => {
    const confirmed = { a: { choices: ['x'], flagged: false }, b: { choices: ['y'], flagged: true } };
    expect(withPending(confirmed, [flag('a', 4), choice('b', 5), choice('c', 6, 'z')])).toEqual({
      a: { choices: ['x'], flagged: true },
      b: { choices: [], flagged: true },
      c: { choices: ['z'], flagged: false },
    });
  });
});

describe('parseLocal', () => {
  it('reads what was stored and ignores anything malformed', () => {
    const stored = { seq: 4, queue: [choice('a', 4, 'x'), { kind: 'flag', itemId: 'b' }] };
    expect(parseLocal(JSON.stringify(stored))).toEqual({ seq: 4, queue: [choice('a', 4, 'x')] });
    expect(parseLocal('not json')).toBeNull();
    expect(parseLocal('{"seq":"4"}')).toBeNull();
    expect(parseLocal(null)).toBeNull();
  });
});
