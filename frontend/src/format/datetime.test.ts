import { describe, expect, it } from 'vitest';
import { formatInstant } from './datetime';

describe('formatInstant', () => {
  it('formats in the given zone and names the zone', () => {
    // 12:00 UTC is 01:00 the next day in Auckland (NZDT, UTC+13).
    expect(formatInstant('2027-02-27T12:00:00Z', 'en-GB', 'Pacific/Auckland')).toBe(
      '28 February 2027 at 01:00 (Pacific/Auckland)',
    );
  });

  it('follows the locale', () => {
    // Newer ICU puts a narrow no-break space before AM; compare spaces loosely.
    expect(formatInstant('2027-02-27T12:00:00Z', 'en-US', 'America/New_York').replace(/\s/g, ' ')).toBe(
      'February 27, 2027 at 7:00 AM (America/New_York)',
    );
  });

  it('matches Intl for any zone, so the tests do not pin one ICU version', () => {
    const iso = '2026-07-01T23:30:00Z';
    const expected = new Intl.DateTimeFormat('de-DE', {
      dateStyle: 'long',
      timeStyle: 'short',
      timeZone: 'Europe/Berlin',
    }).format(new Date(iso));
    expect(formatInstant(iso, 'de-DE', 'Europe/Berlin')).toBe(`${expected} (Europe/Berlin)`);
  });

  it('accepts offsets and fractional seconds (RFC 3339)', () => {
    expect(formatInstant('2027-02-28T01:00:00.123+13:00', 'en-GB', 'UTC')).toBe('27 February 2027 at 12:00 (UTC)');
  });

  it('rejects text that is not a time', () => {
    expect(() => formatInstant('soon', 'en-GB', 'UTC')).toThrow(RangeError);
  });
});
