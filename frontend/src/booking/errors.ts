import { GraphQLRequestError } from '../graphql/client';
import { language, t, type Key } from '../i18n';

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

// Codes with a sentence of their own in the catalogue (err.CODE).
const KNOWN = new Set([
  'SLOT_FULL',
  // The server uses it for "after your eligibility" and "already started" alike.
  'OUTSIDE_ELIGIBILITY',
  'CUTOFF_PASSED',
  'TOO_MANY_RESCHEDULES',
  'NOT_IN_CHECKIN_WINDOW',
  'CONFLICT',
  'NO_ATTEMPTS_LEFT',
  'ALREADY_PASSED',
  'UNAUTHENTICATED',
  'NOT_FOUND',
  'INVALID',
  'UNAVAILABLE',
  'INTERNAL',
]);

const sentence = (code: string) => (code === 'INTERNAL' ? t('err.generic') : t(`err.${code}` as Key));

/**
 * Why an action is not allowed (a Permission), in the page's language: the
 * server's reason, which it words in English only, on English pages; else
 * the catalogue's sentence for its code, else `fallback`.
 */
export function permissionReason(p: { code?: string | null; reason?: string | null }, fallback: string): string {
  if (language() === 'en' && p.reason) return p.reason;
  return p.code && KNOWN.has(p.code) ? sentence(p.code) : fallback;
}

const RETRYABLE = new Set(['UNAVAILABLE', 'INTERNAL']);

interface Context {
  /** What the learner tried; CONFLICT means different things for each. */
  action?: 'book' | 'reschedule' | 'cancel' | 'start';
  /** The formatted time of the booking being moved, for SLOT_FULL on reschedule. */
  oldTime?: string;
}

export function describeError(error: unknown, { action, oldTime }: Context = {}): Problem {
  if (!(error instanceof GraphQLRequestError)) {
    return { code: null, message: t('err.generic'), detail: null, retry: true, sessionEnded: false };
  }
  if (error.kind !== 'graphql') {
    // The client already words transport failures for learners.
    return { code: null, message: error.message, detail: null, retry: true, sessionEnded: false };
  }
  const code = error.codes.find((c) => c === 'UNAUTHENTICATED') ?? error.codes[0] ?? null;
  const known = code !== null && KNOWN.has(code) ? sentence(code) : undefined;
  let message = known ?? t('err.generic');
  if (code === 'SLOT_FULL' && oldTime) message += ` ${t('err.slotFullUnchanged', { when: oldTime })}`;
  if (code === 'CONFLICT' && action === 'book') message = t('book.alreadyBooked');
  const server = error.errors.find((e) => e.extensions?.code === code)?.message ?? error.message;
  // The server words its messages in English only: a page in another
  // language keeps to the catalogue's sentence.
  const detail = language() === 'en' && code !== 'INTERNAL' && server && !message.includes(server) ? server : null;
  return {
    code,
    message,
    detail,
    retry: known === undefined || RETRYABLE.has(code!),
    sessionEnded: code === 'UNAUTHENTICATED',
  };
}
