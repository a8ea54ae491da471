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
  const unit = (n: number, word: string) => (n === 1 ? `1 ${word}` : `${n} ${word}s`);
  return total > 0 && total % 60 === 0 ? unit(total / 60, 'hour') : unit(total, 'minute');
}

/** The length of the exam itself; the seat may be longer. */
export function lengthSentence(durationMinutes: number | null | undefined, slotMinutes: number | null | undefined): string | null {
  if (durationMinutes != null) return `The exam takes ${minutesWords(durationMinutes)}.`;
  if (slotMinutes != null) return `Your seat is booked for ${minutesWords(slotMinutes)}.`;
  return null;
}

/** The rules of a booking in two or three short sentences. */
export function rulesSentences(p: PolicyMinutes): string[] {
  const out = [`Start opens ${minutesWords(p.checkInOpensMinutesBefore)} before the booked time.`];
  const cancel = minutesWords(p.cancelCutoffMinutes);
  if (p.maxReschedules === 0) {
    out.push(`You can cancel until ${cancel} before it starts; it cannot be moved.`);
  } else if (p.cancelCutoffMinutes === p.rescheduleCutoffMinutes) {
    out.push(`You can cancel or move it until ${cancel} before it starts (move it at most ${times(p.maxReschedules)}).`);
  } else {
    out.push(`You can cancel until ${cancel} before it starts.`);
    out.push(`You can move it until ${minutesWords(p.rescheduleCutoffMinutes)} before it starts, at most ${times(p.maxReschedules)}.`);
  }
  return out;
}

const times = (n: number) => (n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`);

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
  const what = noCancel && (noMove || p.maxReschedules === 0) ? 'cancel or move it' : noCancel ? 'cancel it' : 'move it';
  return `This time starts in less than ${within}: once booked, you cannot ${what}.`;
}
