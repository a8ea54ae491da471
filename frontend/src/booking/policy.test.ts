import { describe, expect, it } from 'vitest';
import { cutoffWarning, lengthSentence, minutesWords, rulesSentences } from './policy';

const policy = { checkInOpensMinutesBefore: 30, cancelCutoffMinutes: 1440, rescheduleCutoffMinutes: 1440, maxReschedules: 3 };
const HOUR = 3_600_000;

describe('booking policy sentences', () => {
  it('words durations', () => {
    expect(minutesWords(20)).toBe('20 minutes');
    expect(minutesWords(60)).toBe('1 hour');
    expect(minutesWords(90)).toBe('90 minutes');
    expect(minutesWords(1440)).toBe('24 hours');
  });

  it('gives the exam length, not the seat length, when known', () => {
    expect(lengthSentence(20, 30)).toBe('The exam takes 20 minutes.');
    expect(lengthSentence(null, 30)).toBe('Your seat is booked for 30 minutes.');
    expect(lengthSentence(null, null)).toBeNull();
  });

  it('states the rules', () => {
    expect(rulesSentences(policy)).toEqual([
      'Start opens 30 minutes before the booked time.',
      'You can cancel or move it until 24 hours before it starts (move it at most 3 times).',
    ]);
    expect(rulesSentences({ ...policy, rescheduleCutoffMinutes: 120, maxReschedules: 1 })).toEqual([
      'Start opens 30 minutes before the booked time.',
      'You can cancel until 24 hours before it starts.',
      'You can move it until 2 hours before it starts, at most once.',
    ]);
    expect(rulesSentences({ ...policy, maxReschedules: 0 })[1]).toBe('You can cancel until 24 hours before it starts; it cannot be moved.');
  });

  it('warns before booking inside a cutoff', () => {
    const now = Date.UTC(2026, 11, 4, 9);
    expect(cutoffWarning(now + 48 * HOUR, now, policy)).toBeNull();
    expect(cutoffWarning(now + 2 * HOUR, now, policy)).toBe('This time starts in less than 24 hours: once booked, you cannot cancel or move it.');
    const later = { ...policy, rescheduleCutoffMinutes: 120 };
    expect(cutoffWarning(now + 3 * HOUR, now, later)).toBe('This time starts in less than 24 hours: once booked, you cannot cancel it.');
    expect(cutoffWarning(now + 3 * HOUR, now, { ...policy, cancelCutoffMinutes: 60, rescheduleCutoffMinutes: 240 })).toBe(
      'This time starts in less than 4 hours: once booked, you cannot move it.',
    );
  });
});
