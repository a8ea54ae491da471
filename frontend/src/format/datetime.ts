// Dates are shown in the learner's chosen time zone and language, with the
// zone named, so "Book before …" is unambiguous for someone who travels or
// shares a screenshot with support.

/** The browser's IANA time zone, e.g. "Pacific/Auckland". */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * The locale dates are written in: the browser's first English variant
 * ("en-US", "en-GB"…), so a date reads like the English sentence around it.
 * A browser that prefers another language gets British English, whose
 * day-month order and Monday weeks are closest to most of Europe's.
 */
export function browserLocale(): string {
  const preferred = typeof navigator !== 'undefined' ? (navigator.languages ?? [navigator.language]) : [];
  return preferred.find((l) => /^en(-|$)/i.test(l ?? '')) ?? 'en-GB';
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** A cached formatter: making one costs far more than using it, and a calendar uses hundreds. */
export function dateFormat(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = locale + JSON.stringify(options);
  let format = formats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, options);
    formats.set(key, format);
  }
  return format;
}

function parse(iso: string): Date {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not an RFC 3339 time: ${iso}`);
  return date;
}

/**
 * Formats an RFC 3339 instant as a long date and short time in `timeZone`,
 * followed by the zone name: "28 February 2027 at 01:00 (Pacific/Auckland)".
 */
export function formatInstant(iso: string, locale: string, timeZone: string): string {
  const text = dateFormat(locale, { dateStyle: 'long', timeStyle: 'short', timeZone }).format(parse(iso));
  return `${text} (${timeZone})`;
}

/** Like formatInstant with the weekday: "Thursday 10 December 2026 at 09:00 (Europe/Amsterdam)". */
export function formatInstantFull(iso: string, locale: string, timeZone: string): string {
  const text = dateFormat(locale, { dateStyle: 'full', timeStyle: 'short', timeZone }).format(parse(iso));
  return `${text} (${timeZone})`;
}

/** The local time of day only, e.g. "09:30"; the zone is named elsewhere on the page. */
export function formatTime(iso: string, locale: string, timeZone: string): string {
  return dateFormat(locale, { timeStyle: 'short', timeZone }).format(parse(iso));
}

/** A day heading such as "Mon 30 Nov" for the day starting at `ms`. */
export function formatDay(ms: number, locale: string, timeZone: string, long = false): string {
  const options: Intl.DateTimeFormatOptions = long
    ? { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }
    : { weekday: 'short', day: 'numeric', month: 'short' };
  return dateFormat(locale, { ...options, timeZone }).format(ms);
}
