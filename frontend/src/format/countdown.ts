import { t, tn } from '../i18n';

// Coarse on purpose: the dashboard refreshes it every 30 s, so seconds would
// only ever be wrong.

const MINUTE = 60_000;

function span(minutes: number): string {
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const h = (n: number) => t('span.hours', { n });
  const m = (n: number) => t('span.minutes', { n });
  if (days > 0) return `${tn('span.days', days)}${hours > 0 ? ` ${h(hours)}` : ''}`;
  if (hours > 0) return `${h(hours)}${mins > 0 ? ` ${m(mins)}` : ''}`;
  return m(mins);
}

/** "Starts in 2 days 3 h", "Starts in 12 min", "Started 5 min ago". */
export function formatCountdown(startsAt: number, now: number): string {
  const diff = startsAt - now;
  if (diff > 0) return t('countdown.in', { span: span(Math.ceil(diff / MINUTE)) }); // never "in 0 min" before the start
  const ago = Math.floor(-diff / MINUTE);
  return ago === 0 ? t('countdown.justNow') : t('countdown.ago', { span: span(ago) });
}
