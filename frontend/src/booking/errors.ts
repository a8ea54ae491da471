import { GraphQLRequestError } from '../graphql/client';

// One friendly sentence per server error code. The server's own message is
// also meant for learners, so it is kept as a detail when it says more.

export interface Problem {
  code: string | null;
  message: string;
  detail: string | null;
  /** The outcome is unknown or the failure passing: the same request may be sent again. */
  retry: boolean;
  sessionEnded: boolean;
}

const GENERIC = 'Something went wrong on our side. Please try again.';

const SENTENCES: Record<string, string> = {
  SLOT_FULL: 'That time was just taken. Choose another time.',
  // The server uses it for "after your eligibility" and "already started" alike.
  OUTSIDE_ELIGIBILITY: 'That time cannot be booked. Choose another time.',
  CUTOFF_PASSED: 'It is too late to change this booking.',
  TOO_MANY_RESCHEDULES: 'You have already moved this booking as many times as allowed.',
  NOT_IN_CHECKIN_WINDOW: 'You can only start the exam during check-in, shortly before your booked time.',
  CONFLICT: 'This booking was changed in the meantime.',
  NO_ATTEMPTS_LEFT: 'You have no attempts left for this exam. Contact support if you need another.',
  ALREADY_PASSED: 'You have already passed this exam.',
  UNAUTHENTICATED: 'Your session has ended. Go back to your course and open the exam again.',
  NOT_FOUND: 'This booking no longer exists. Go back to your exam and try again.',
  INVALID: 'That request was not accepted. Reload the page and try again.',
  UNAVAILABLE: 'Booking is not available right now. Please try again in a minute.',
  INTERNAL: GENERIC,
};

const RETRYABLE = new Set(['UNAVAILABLE', 'INTERNAL']);

interface Context {
  /** What the learner tried; CONFLICT means different things for each. */
  action?: 'book' | 'reschedule' | 'cancel' | 'start';
  /** The formatted time of the booking being moved, for SLOT_FULL on reschedule. */
  oldTime?: string;
}

export function describeError(error: unknown, { action, oldTime }: Context = {}): Problem {
  if (!(error instanceof GraphQLRequestError)) {
    return { code: null, message: GENERIC, detail: null, retry: true, sessionEnded: false };
  }
  if (error.kind !== 'graphql') {
    // The client already words transport failures for learners.
    return { code: null, message: error.message, detail: null, retry: true, sessionEnded: false };
  }
  const code = error.codes.find((c) => c === 'UNAUTHENTICATED') ?? error.codes[0] ?? null;
  const known = code !== null ? SENTENCES[code] : undefined;
  let message = known ?? GENERIC;
  if (code === 'SLOT_FULL' && oldTime) message += ` Your booking at ${oldTime} is unchanged.`;
  if (code === 'CONFLICT' && action === 'book') message = 'You already have a booking for this exam.';
  const server = error.errors.find((e) => e.extensions?.code === code)?.message ?? error.message;
  const detail = code !== 'INTERNAL' && server && !message.includes(server) ? server : null;
  return {
    code,
    message,
    detail,
    retry: known === undefined || RETRYABLE.has(code!),
    sessionEnded: code === 'UNAUTHENTICATED',
  };
}
