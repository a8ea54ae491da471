import { describe, expect, it } from 'vitest';
import { formatCountdown } from './countdown';

const now = Date.parse('2026-11-27T09:00:00Z');
const at = (minutes: number, seconds = 0) => now + minutes * 60_000 + seconds * 1000;

describe('formatCountdown', () => {
  it('counts days and hours when a day or more away', () => {
    expect(formatCountdown(at(2 * 1440 + 3 * 60), now)).toBe('Starts in 2 days 3 h');
    expect(formatCountdown(at(2 * 1440 + 3 * 60 + 59), now)).toBe('Starts in 2 days 3 h');
    expect(formatCountdown(at(1440), now)).toBe('Starts in 1 day');
  });

  it('counts hours and minutes within a day', () => {
    expect(formatCountdown(at(3 * 60 + 20), now)).toBe('Starts in 3 h 20 min');
    expect(formatCountdown(at(60), now)).toBe('Starts in 1 h');
  });

  it('rounds the last minutes up so it never says 0 before the start', () => {
    expect(formatCountdown(at(12), now)).toBe('Starts in 12 min');
    expect(formatCountdown(at(11, 1), now)).toBe('Starts in 12 min');
    expect(formatCountdown(at(0, 1), now)).toBe('Starts in 1 min');
  });

  it('says how long ago it started', () => {
    expect(formatCountdown(now, now)).toBe('Started just now');
    expect(formatCountdown(at(-0, -59), now)).toBe('Started just now');
    expect(formatCountdown(at(-5), now)).toBe('Started 5 min ago');
    expect(formatCountdown(at(-5, -30), now)).toBe('Started 5 min ago');
    expect(formatCountdown(at(-90), now)).toBe('Started 1 h 30 min ago');
  });
});
