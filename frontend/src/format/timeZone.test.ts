import { describe, expect, it } from 'vitest';
import { searchZones, utcOffset, zoneOptionLabel } from './timeZone';

const winter = Date.UTC(2026, 0, 15);
const summer = Date.UTC(2026, 6, 15);

describe('time zone picker', () => {
  it('names a zone with its current offset, its place and its IANA name', () => {
    expect(zoneOptionLabel('America/New_York', winter)).toBe('UTC−05:00 · New York (America/New_York)');
    expect(zoneOptionLabel('Europe/Amsterdam', summer)).toBe('UTC+02:00 · Amsterdam (Europe/Amsterdam)');
    expect(utcOffset('UTC', winter)).toBe('UTC+00:00');
    expect(utcOffset('Asia/Kolkata', winter)).toBe('UTC+05:30');
  });

  it('finds zones by place, region or offset, west to east, keeping the selected one', () => {
    const names = ['Europe/Amsterdam', 'America/New_York', 'Asia/Kolkata', 'Europe/London', 'America/Chicago'];
    expect(searchZones(names, 'new york', 'Europe/London', winter).map((z) => z.name)).toEqual(['America/New_York', 'Europe/London']);
    expect(searchZones(names, 'america', 'Europe/London', winter).map((z) => z.name)).toEqual([
      'America/Chicago',
      'America/New_York',
      'Europe/London',
    ]);
    expect(searchZones(names, '+1', 'Europe/London', winter).map((z) => z.name)).toEqual(['Europe/London', 'Europe/Amsterdam']);
    expect(searchZones(names, 'UTC-5', 'Europe/London', winter).map((z) => z.name)).toEqual(['America/New_York', 'Europe/London']);
    expect(searchZones(names, '', 'Europe/London', winter)).toHaveLength(5);
  });
});
