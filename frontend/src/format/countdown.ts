// Coarse on purpose: the dashboard refreshes it every 30 s, so seconds would
// only ever be wrong.

const MINUTE = 60_000;

function span(minutes: number): string {
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return `${days} ${days === 1 ? 'day' : 'days'}${hours > 0 ? ` ${hours} h` : ''}`;
  if (hours > 0) return `${hours} h${mins > 0 ? ` ${mins} min` : ''}`;
  return `${mins} min`;
}

/** "Starts in 2 days 3 h", "Starts in 12 min", "Started 5 min ago". */
export function formatCountdown(startsAt: number, now: number): string {
  const diff = startsAt - now;
  if (diff > 0) return `Starts in ${span(Math.ceil(diff / MINUTE))}`; // never "in 0 min" before the start
  const ago = Math.floor(-diff / MINUTE);
  return ago === 0 ? 'Started just now' : `Started ${span(ago)} ago`;
}
