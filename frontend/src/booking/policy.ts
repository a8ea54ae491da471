import { t, tn } from '../i18n';

// What a learner agrees to when booking: the exam's real length and the
// cancel/reschedule rules, worded once for the confirm dialog (the emails
// say the same, from the server's own wording).

export interface PolicyMinutes {
  checkInOpensMinutesBefore: number;
  cancelCutoffMinutes: number;
  rescheduleCutoffMinutes: number;
  maxReschedules: number;
}

/** "20 minutes", "1 hour", "90 minutes", "24 hours": whole hours as hours, like the server's emails. */
export function minutesWords(total: number): string {
  return total > 0 && total % 60 === 0 ? tn('unit.hours', total / 60) : tn('unit.minutes', total);
}

/** The length of the exam itself; the seat may be longer. */
export function lengthSentence(durationMinutes: number | null | undefined, slotMinutes: number | null | undefined): string | null {
  if (durationMinutes != null) return t('policy.length', { length: minutesWords(durationMinutes) });
  if (slotMinutes != null) return t('policy.seat', { length: minutesWords(slotMinutes) });
  return null;
}

/** The rules of a booking in two or three short sentences. */
export function rulesSentences(p: PolicyMinutes): string[] {
  const out = [t('policy.checkIn', { time: minutesWords(p.checkInOpensMinutesBefore) })];
  const cancel = minutesWords(p.cancelCutoffMinutes);
  if (p.maxReschedules === 0) {
    out.push(t('policy.cancelNoMove', { cancel }));
  } else if (p.cancelCutoffMinutes === p.rescheduleCutoffMinutes) {
    out.push(t('policy.cancelOrMove', { cancel, times: times(p.maxReschedules) }));
  } else {
    out.push(t('policy.cancel', { cancel }));
    out.push(t('policy.move', { move: minutesWords(p.rescheduleCutoffMinutes), times: times(p.maxReschedules) }));
  }
  return out;
}

const times = (n: number) => (n === 1 ? t('times.one') : n === 2 ? t('times.two') : t('times.other', { n }));

/**
 * A warning when the slot starts inside a cutoff: once booked it cannot be
 * cancelled or moved (or one of the two). Null when both stay possible.
 */
export function cutoffWarning(startMs: number, nowMs: number, p: PolicyMinutes): string | null {
  const left = (startMs - nowMs) / 60_000;
  const noCancel = left < p.cancelCutoffMinutes;
  const noMove = p.maxReschedules > 0 && left < p.rescheduleCutoffMinutes;
  if (!noCancel && !noMove) return null;
  const within = minutesWords(Math.max(p.cancelCutoffMinutes, noMove ? p.rescheduleCutoffMinutes : 0));
  const key = noCancel && (noMove || p.maxReschedules === 0) ? 'policy.warnCancelOrMove' : noCancel ? 'policy.warnCancel' : 'policy.warnMove';
  return t(key, { within });
}
