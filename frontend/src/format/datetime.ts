// Dates are shown in the learner's own time zone and language, with the zone
// named, so "Book before …" is unambiguous for someone who travels or shares
// a screenshot with support.

/** The browser's IANA time zone, e.g. "Pacific/Auckland". */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The browser's preferred language, e.g. "en-GB". */
export function browserLocale(): string {
  return typeof navigator !== 'undefined' && navigator.language ? navigator.language : 'en';
}

/**
 * Formats an RFC 3339 instant as a long date and short time in `timeZone`,
 * followed by the zone name: "28 February 2027 at 01:00 (Pacific/Auckland)".
 */
export function formatInstant(iso: string, locale: string, timeZone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not an RFC 3339 time: ${iso}`);
  const text = new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeStyle: 'short', timeZone }).format(date);
  return `${text} (${timeZone})`;
}

/** formatInstant with the browser's locale and time zone. */
export function formatForBrowser(iso: string): string {
  return formatInstant(iso, browserLocale(), browserTimeZone());
}
