// Calendar days in an arbitrary IANA zone, computed with Intl only. A day is
// named by its civil date ("2026-10-25") and bounded by two instants; around
// DST changes a day lasts 23 or 25 hours, so bounds are never "start + 24 h".

/** A civil date, "YYYY-MM-DD". */
export type CivilDate = string;

/** One calendar day in a zone: [start, end) as epoch milliseconds. */
export interface Day {
  date: CivilDate;
  start: number;
  end: number;
}

const MINUTE = 60_000;
const partsFormats = new Map<string, Intl.DateTimeFormat>();

function partsFormat(timeZone: string): Intl.DateTimeFormat {
  let format = partsFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    partsFormats.set(timeZone, format);
  }
  return format;
}

/** The wall-clock time at `ms` in `timeZone`, expressed as if it were UTC. */
function wallClock(ms: number, timeZone: string): number {
  const p: Record<string, number> = {};
  for (const { type, value } of partsFormat(timeZone).formatToParts(ms)) p[type] = Number(value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function civil(ms: number): CivilDate {
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

function civilToUTC(date: CivilDate): number {
  const [y, m, d] = date.split('-').map(Number);
  return Date.UTC(y!, m! - 1, d!);
}

/** The civil date at instant `ms` in `timeZone`. */
export function localDate(ms: number, timeZone: string): CivilDate {
  return civil(wallClock(ms, timeZone));
}

export function addDays(date: CivilDate, days: number): CivilDate {
  return civil(civilToUTC(date) + days * 24 * 60 * MINUTE);
}

/** ISO weekday of `date`: 1 = Monday … 7 = Sunday. */
export function isoWeekday(date: CivilDate): number {
  return new Date(civilToUTC(date)).getUTCDay() || 7;
}

/**
 * The first day of the week (1 = Monday … 7 = Sunday) as `locale` says:
 * Sunday for en-US, Monday for en-GB and nl-NL. Intl.Locale's week info where
 * the browser has it; Monday, the ISO default, where it does not.
 */
export function firstDayOfWeek(locale: string): number {
  try {
    const l = new Intl.Locale(locale) as Intl.Locale & {
      getWeekInfo?: () => { firstDay: number };
      weekInfo?: { firstDay: number };
    };
    return (l.getWeekInfo?.() ?? l.weekInfo)?.firstDay ?? 1;
  } catch {
    return 1;
  }
}

/** The first day of the week holding `date`, weeks starting on `firstDay` (1 = Monday … 7 = Sunday). */
export function weekStart(date: CivilDate, firstDay = 1): CivilDate {
  return addDays(date, -((isoWeekday(date) - firstDay + 7) % 7));
}

/**
 * The first instant of `date` in `timeZone`: local midnight, or the end of
 * the DST gap in zones whose clocks skip midnight.
 */
export function startOfDay(date: CivilDate, timeZone: string): number {
  const wall = civilToUTC(date);
  const offset = (ms: number) => wallClock(ms, timeZone) - ms;
  // The offsets a day before and after bracket any change around midnight.
  const candidates = [wall - offset(wall - 86_400_000), wall - offset(wall + 86_400_000)];
  const exact = candidates.filter((ms) => wallClock(ms, timeZone) === wall);
  if (exact.length > 0) return Math.min(...exact);
  // Midnight does not exist: find the first minute whose wall clock is past it.
  let [lo, hi] = [Math.min(...candidates), Math.max(...candidates)];
  while (hi - lo > MINUTE) {
    const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
    if (wallClock(mid, timeZone) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

export function day(date: CivilDate, timeZone: string): Day {
  return { date, start: startOfDay(date, timeZone), end: startOfDay(addDays(date, 1), timeZone) };
}

/** The seven days of the week starting on `first`. */
export function weekDays(first: CivilDate, timeZone: string): Day[] {
  return Array.from({ length: 7 }, (_, i) => day(addDays(first, i), timeZone));
}

/** An instant as RFC 3339 in UTC without fractional seconds: "2026-11-27T09:00:00Z". */
export function toRFC3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
