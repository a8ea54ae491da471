import { describe, expect, it } from 'vitest';
import { clockOffset, formatRemaining, isNewWarning, remainingMs, spokenRemaining, warningFor } from './clock';

const T = Date.parse('2026-11-27T09:00:00Z');

describe('clockOffset and remainingMs', () => {
  it('corrects a device clock that runs fast', () => {
    // The device says 09:02 when the server says 09:00.
    const offset = clockOffset('2026-11-27T09:00:00Z', T + 120_000);
    expect(offset).toBe(-120_000);
    // Deadline 09:20: 20 minutes left, not 18.
    expect(remainingMs('2026-11-27T09:20:00Z', offset, T + 120_000)).toBe(20 * 60_000);
  });

  it('corrects a device clock that runs slow', () => {
    const offset = clockOffset('2026-11-27T09:00:00Z', T - 30_000);
    expect(offset).toBe(30_000);
    expect(remainingMs('2026-11-27T09:01:00Z', offset, T - 30_000 + 60_000)).toBe(0);
  });

  it('treats an unreadable server time as no correction', () => {
    expect(clockOffset('garbage', T)).toBe(0);
  });
});

describe('warnings', () => {
  it('warns at 5 minutes and at 1 minute left', () => {
    expect(warningFor(5 * 60_000 + 1)).toBeNull();
    expect(warningFor(5 * 60_000)?.minutes).toBe(5);
    expect(warningFor(60_001)?.minutes).toBe(5);
    expect(warningFor(60_000)?.minutes).toBe(1);
    expect(warningFor(0)?.minutes).toBe(1);
  });

  it('announces only a more urgent warning', () => {
    const five = warningFor(4 * 60_000);
    const one = warningFor(30_000);
    expect(isNewWarning(null, five)).toBe(true);
    expect(isNewWarning(five, five)).toBe(false);
    expect(isNewWarning(five, one)).toBe(true);
    expect(isNewWarning(one, five)).toBe(false); // a re-sync that adds a few seconds
    expect(isNewWarning(null, null)).toBe(false);
  });
});

describe('formatting', () => {
  it('shows minutes and seconds, rounding up', () => {
    expect(formatRemaining(20 * 60_000)).toBe('20:00');
    expect(formatRemaining(65_001)).toBe('1:06');
    expect(formatRemaining(999)).toBe('0:01');
    expect(formatRemaining(-5000)).toBe('0:00');
    expect(formatRemaining(3_723_000)).toBe('1:02:03');
  });

  it('spells the time out for screen readers', () => {
    expect(spokenRemaining(61_000)).toBe('1 minute 1 second');
    expect(spokenRemaining(3_600_000 + 120_000)).toBe('1 hour 2 minutes');
    expect(spokenRemaining(0)).toBe('0 seconds');
  });
});
