import { describe, expect, it } from 'vitest';
import { addDays, firstDayOfWeek, isoWeekday, localDate, startOfDay, toRFC3339, weekDays, weekStart } from './calendar';

const iso = (ms: number) => toRFC3339(ms);
const hours = (d: { start: number; end: number }) => (d.end - d.start) / 3_600_000;

describe('weekDays across DST', () => {
  it('Europe/Amsterdam: the week ending Sunday 2026-10-25 has a 25-hour Sunday', () => {
    const days = weekDays(weekStart('2026-10-25'), 'Europe/Amsterdam');
    expect(days.map((d) => d.date)).toEqual([
      '2026-10-19',
      '2026-10-20',
      '2026-10-21',
      '2026-10-22',
      '2026-10-23',
      '2026-10-24',
      '2026-10-25',
    ]);
    // CEST (UTC+2) until 03:00 on the 25th, then CET (UTC+1).
    expect(iso(days[0]!.start)).toBe('2026-10-18T22:00:00Z');
    expect(iso(days[6]!.start)).toBe('2026-10-24T22:00:00Z');
    expect(iso(days[6]!.end)).toBe('2026-10-25T23:00:00Z');
    expect(days.map(hours)).toEqual([24, 24, 24, 24, 24, 24, 25]);
  });

  it('America/New_York: the week ending Sunday 2026-03-08 has a 23-hour Sunday', () => {
    const days = weekDays(weekStart('2026-03-08'), 'America/New_York');
    expect(days[0]!.date).toBe('2026-03-02');
    expect(days[6]!.date).toBe('2026-03-08');
    // EST (UTC-5) until 02:00 on the 8th, then EDT (UTC-4).
    expect(iso(days[0]!.start)).toBe('2026-03-02T05:00:00Z');
    expect(iso(days[6]!.start)).toBe('2026-03-08T05:00:00Z');
    expect(iso(days[6]!.end)).toBe('2026-03-09T04:00:00Z');
    expect(days.map(hours)).toEqual([24, 24, 24, 24, 24, 24, 23]);
  });

  it('days tile the week without gaps', () => {
    for (const zone of ['Europe/Amsterdam', 'America/New_York', 'Pacific/Auckland', 'Asia/Kolkata']) {
      const days = weekDays('2026-03-30', zone);
      for (let i = 1; i < 7; i++) expect(days[i]!.start).toBe(days[i - 1]!.end);
    }
  });
});

describe('civil dates', () => {
  it('finds the Monday of a week, across months and years', () => {
    expect(weekStart('2026-10-19')).toBe('2026-10-19');
    expect(weekStart('2026-10-25')).toBe('2026-10-19');
    expect(weekStart('2027-01-01')).toBe('2026-12-28');
  });

  it('starts weeks as the locale says', () => {
    expect(firstDayOfWeek('en-US')).toBe(7);
    expect(firstDayOfWeek('en-GB')).toBe(1);
    expect(firstDayOfWeek('nl-NL')).toBe(1);
    // Sunday weeks: Sunday 25 October starts its own week, Saturday the 24th the one before.
    expect(weekStart('2026-10-25', 7)).toBe('2026-10-25');
    expect(weekStart('2026-10-24', 7)).toBe('2026-10-18');
    expect(isoWeekday('2026-10-25')).toBe(7);
  });

  it('adds days', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });

  it('reads the local date of an instant', () => {
    const ms = Date.parse('2026-11-30T23:30:00Z');
    expect(localDate(ms, 'UTC')).toBe('2026-11-30');
    expect(localDate(ms, 'Europe/Amsterdam')).toBe('2026-12-01');
    expect(localDate(ms, 'America/New_York')).toBe('2026-11-30');
  });

  it('starts a day after the gap where clocks skip midnight', () => {
    // America/Santiago springs forward from 00:00 to 01:00 in early September;
    // check the property, not the date, so a tzdata change cannot break it.
    for (const date of ['2026-09-05', '2026-09-06', '2026-09-07']) {
      const start = startOfDay(date, 'America/Santiago');
      expect(localDate(start, 'America/Santiago')).toBe(date);
      expect(localDate(start - 60_000, 'America/Santiago')).toBe(addDays(date, -1));
    }
  });
});
